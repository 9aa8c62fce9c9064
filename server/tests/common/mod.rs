//! The scripted sandbox sign-in shared by the server's integration tests: the hops a browser
//! makes, with redirects off so each one can be checked.

#![allow(dead_code)]

use reqwest::{header, Client, StatusCode};

/// The `Location` of a redirect.
pub fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get(header::LOCATION)
        .expect("a redirect")
        .to_str()
        .unwrap()
        .to_string()
}

/// The value of the hidden form field `name` in the sandbox's sign-in page.
pub fn attribute(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in the sign-in page"))
        + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_string()
}

/// Answers the sandbox's sign-in page at `authorize_url` with `decision` (`allow` or `deny`)
/// for the first seeded user it offers; returns the callback URL it redirects to.
pub async fn answer_sign_in(http: &Client, authorize_url: &str, decision: &str) -> String {
    let page = http.get(authorize_url).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    let action = reqwest::Url::parse(authorize_url)
        .unwrap()
        .join("authorize")
        .unwrap();
    let answer = http
        .post(action)
        .form(&[
            ("pending", attribute(&html, "pending")),
            ("user", attribute(&html, "user")),
            ("decision", decision.into()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::FOUND);
    location(&answer)
}

/// The whole sign-in from `base` (the portal's origin) with `http` (a client with a cookie jar
/// and redirects off); returns where the portal sent the browser at the end.
pub async fn sign_in(http: &Client, base: &str, return_to: &str) -> String {
    let started = http
        .post(format!("{base}/auth/login"))
        .header(header::ORIGIN, base)
        .form(&[("return_to", return_to)])
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), StatusCode::SEE_OTHER);
    let callback = answer_sign_in(http, &location(&started), "allow").await;
    let done = http.get(&callback).send().await.unwrap();
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    location(&done)
}
