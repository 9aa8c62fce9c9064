//! Bounded parsing of `application/x-www-form-urlencoded` input (query strings and bodies):
//! every parameter at most once (RFC 6749 §3.1, §3.2), every value of bounded length.

use std::collections::HashMap;

/// The longest value any parameter of this provider may have.
pub(crate) const MAX_VALUE_LEN: usize = 4096;
/// The most parameters one request may carry.
const MAX_PARAMS: usize = 40;

/// Parameters by name, each present at most once.
#[derive(Debug, Default)]
pub(crate) struct Params(HashMap<String, String>);

impl Params {
    /// Parses `input`; `Err` names what is wrong, for an `invalid_request` description.
    pub(crate) fn parse(input: &[u8]) -> Result<Params, String> {
        let mut map = HashMap::new();
        for (i, (k, v)) in url::form_urlencoded::parse(input).enumerate() {
            if i >= MAX_PARAMS {
                return Err("too many parameters".into());
            }
            if k.len() > 64 || v.len() > MAX_VALUE_LEN {
                return Err(format!("parameter {} is too long", truncated(&k)));
            }
            if map.insert(k.to_string(), v.into_owned()).is_some() {
                return Err(format!("parameter {} is repeated", truncated(&k)));
            }
        }
        Ok(Params(map))
    }

    /// A parameter's value; an empty value counts as absent (RFC 6749 §3.1).
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    pub(crate) fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}

fn truncated(name: &str) -> String {
    name.chars()
        .take(32)
        .filter(|c| c.is_ascii_graphic())
        .collect()
}

/// The value of cookie `name` in the request's `Cookie` headers, if any (bounded).
pub(crate) fn cookie<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| cookie_in(v, name))
}

/// The value of cookie `name` in one `Cookie` header's text.
pub(crate) fn cookie_in<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty() && v.len() <= 256)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_repeats_and_long_values() {
        assert!(Params::parse(b"a=1&a=2").is_err());
        assert!(Params::parse(format!("a={}", "x".repeat(MAX_VALUE_LEN + 1)).as_bytes()).is_err());
        let p = Params::parse(b"a=1&b=&c=%20x").unwrap();
        assert_eq!(p.get("a"), Some("1"));
        assert_eq!(p.get("b"), None);
        assert_eq!(p.get("c"), Some(" x"));
    }

    #[test]
    fn finds_cookies() {
        let mut h = axum::http::HeaderMap::new();
        h.insert("cookie", "x=1; guest-session=abc".parse().unwrap());
        assert_eq!(cookie(&h, "guest-session"), Some("abc"));
        assert_eq!(cookie(&h, "y"), None);
        // By exact name: a longer or shorter name is another cookie.
        let header = "portal-session=abc; guest-session=xyz; xguest-session=no";
        assert_eq!(cookie_in(header, "guest-session"), Some("xyz"));
        assert_eq!(cookie_in(header, "guest"), None);
    }
}
