//! The login host: `/oauth/authorize` with its server-rendered sign-in page, `/oauth/token`
//! and `/logout`, one module each; here the parameter parsing and redirects they share.

mod authorize;
mod client_auth;
mod logout;
mod sign_in;
mod token;

use std::collections::HashMap;

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use url::Url;

use crate::respond::error_page;

pub(crate) use authorize::authorize;
pub(crate) use logout::logout;
pub(crate) use sign_in::decide;
pub(crate) use token::token;

/// Form or query parameters, with every repeated name remembered (RFC 6749 §3.1: parameters
/// must not repeat).
struct Params {
    values: HashMap<String, String>,
    repeated: Vec<String>,
}

impl Params {
    fn parse(raw: &[u8]) -> Params {
        let mut values = HashMap::new();
        let mut repeated = Vec::new();
        for (k, v) in url::form_urlencoded::parse(raw) {
            if values.insert(k.to_string(), v.into_owned()).is_some() {
                repeated.push(k.into_owned());
            }
        }
        Params { values, repeated }
    }

    /// A parameter's value; an empty one counts as missing.
    fn get(&self, name: &str) -> Option<&str> {
        self.values
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
}

fn is_pkce_string(s: &str) -> bool {
    (43..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// `redirect_uri` with `params` added to its query, as a 302.
fn redirect_with(redirect_uri: &str, params: &[(&str, &str)]) -> Response {
    let Ok(mut url) = Url::parse(redirect_uri) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "Invalid redirect URI",
            "The redirect URI is not a URL.",
        );
    };
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in params {
            q.append_pair(k, v);
        }
    }
    redirect_to(url.as_str())
}

fn redirect_to(location: &str) -> Response {
    (
        StatusCode::FOUND,
        [
            (header::LOCATION, location.to_string()),
            (header::CACHE_CONTROL, "no-store".to_string()),
            (header::REFERRER_POLICY, "no-referrer".to_string()),
        ],
    )
        .into_response()
}

fn redirect_error(
    redirect_uri: &str,
    state: Option<&str>,
    error: &str,
    description: &str,
) -> Response {
    let mut params = vec![("error", error), ("error_description", description)];
    if let Some(state) = state {
        params.push(("state", state));
    }
    redirect_with(redirect_uri, &params)
}

/// The scopes a request gets: all of the client's when it names none, else those it names,
/// each of which the client must have (`Err` carries the first it may not have).
fn granted_scopes(
    client_scopes: &[String],
    requested: Option<&str>,
) -> Result<Vec<String>, String> {
    let Some(requested) = requested else {
        return Ok(client_scopes.to_vec());
    };
    let requested: Vec<String> = requested
        .split(' ')
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect();
    match requested.iter().find(|x| !client_scopes.contains(x)) {
        Some(bad) => Err(bad.clone()),
        None => Ok(requested),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_params_are_noticed() {
        let p = Params::parse(b"a=1&b=2&a=3");
        assert_eq!(p.repeated, vec!["a"]);
    }
}
