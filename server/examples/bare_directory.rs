//! The baseline of the directory benchmark: what `/users` costs with no portal around it. A
//! bare axum handler that makes the portal's upstream call (`GET /api/v2/users`, active users,
//! by name, 25 a page, presence expanded) with the same `genesys` HTTP client against an
//! embedded sandbox seeded like the portal's, and writes the same table as a string. No
//! session, no grant, no Leptos. `scripts/bench-directory.sh` runs it next to the portal.
//! `cargo run --release -p server --example bare_directory -- PORT USERS`

use std::{fmt::Write, sync::Arc};

use axum::{extract::State, http::StatusCode, response::Html, routing::get, Router};
use genesys::{
    AccessToken, ClientId, ClientOptions, ClientSecret, Environment, GenesysClient, SortOrder,
    StateFilter, UserListQuery,
};

struct Bare {
    genesys: GenesysClient,
    token: AccessToken,
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let usage = "usage: bare_directory PORT USERS";
    let port: u16 = args.next().and_then(|a| a.parse().ok()).expect(usage);
    let users: usize = args.next().and_then(|a| a.parse().ok()).expect(usage);
    let sandbox = sandbox::spawn(sandbox::SandboxConfig {
        bind: ([127, 0, 0, 1], 0).into(),
        users,
        rate_limit_per_minute: 0,
        ..Default::default()
    })
    .await
    .expect("the sandbox starts");
    let base = sandbox.base_url();
    let env = Environment::custom(base.as_str(), base.as_str()).expect("a loopback URL");
    let genesys = GenesysClient::new(env, ClientOptions::default()).expect("the HTTP client");
    let token = genesys
        .client_credentials(
            &ClientId::new(sandbox::SERVICE_CLIENT_ID),
            &ClientSecret::new(sandbox::SERVICE_CLIENT_SECRET),
            &[],
        )
        .await
        .expect("a service token")
        .access_token;
    let app = Router::new()
        .route("/users", get(directory))
        .with_state(Arc::new(Bare { genesys, token }));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("bind");
    axum::serve(listener, app).await.expect("serve");
    drop(sandbox);
}

async fn directory(State(bare): State<Arc<Bare>>) -> Result<Html<String>, StatusCode> {
    let query = UserListQuery::by_state(StateFilter::Active, SortOrder::Ascending, 1, 25);
    let page = bare
        .genesys
        .list_users(&bare.token, &query)
        .await
        .map_err(|_| StatusCode::BAD_GATEWAY)?
        .body;
    let mut html = String::with_capacity(24 * 1024);
    html.push_str(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Directory</title>\
         </head><body><main><h1>Directory</h1><table class=\"users\"><thead><tr><th>Photo</th>\
         <th>Name</th><th>Email</th><th>Title</th><th>Department</th><th>Division</th>\
         <th>State</th><th>Presence</th></tr></thead><tbody>",
    );
    let pages = page.pages();
    for u in page.entities {
        let cell = |v: Option<&str>| escape(v.unwrap_or_default());
        let _ = write!(
            html,
            "<tr><td><span class=\"avatar\">{initial}</span></td>\
             <td><a href=\"/users/{id}\">{name}</a></td><td>{email}</td><td>{title}</td>\
             <td>{department}</td><td>{division}</td><td><span class=\"state\">{state}</span></td>\
             <td><span class=\"presence\">{presence}</span></td></tr>",
            initial = escape(&u.name.chars().next().map(String::from).unwrap_or_default()),
            id = escape(&u.id),
            name = escape(&u.name),
            email = cell(u.email.as_deref()),
            title = cell(u.title.as_deref()),
            department = cell(u.department.as_deref()),
            division = cell(u.division.as_ref().and_then(|d| d.name.as_deref())),
            state = u.state.map_or("unknown", |s| s.as_str()),
            presence = cell(u.presence.as_ref().and_then(|p| p.system_presence())),
        );
    }
    let _ = write!(
        html,
        "</tbody></table><p>{} users · page {} of {}</p></main></body></html>",
        page.total, page.page_number, pages
    );
    Ok(Html(html))
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}
