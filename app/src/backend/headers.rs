//! The security headers' values, written once: the Content-Security-Policy of a rendered page
//! (with its nonce) and of everything else, and what may not be cached.

/// What every response but a static asset carries: pages and answers may show personal data,
/// so no shared or browser cache may keep them.
pub const NO_STORE: &str = "no-store";

/// The policy of a response. A rendered page passes its `nonce` (Leptos' hydration and
/// streaming scripts carry it), the sign-in form's target origin and the sockets it may open
/// (the Web Messaging gateway; under `cargo leptos watch`, the reload websocket); other
/// responses pass none and get the strictest policy.
pub fn content_security_policy(
    nonce: Option<&str>,
    form_target: Option<&str>,
    sockets: &[String],
) -> String {
    let scripts = match nonce {
        Some(nonce) => format!("'self' 'nonce-{nonce}' 'wasm-unsafe-eval'"),
        None => "'self'".to_string(),
    };
    let connect = match (nonce, sockets) {
        (None, _) => String::new(),
        (Some(_), []) => "connect-src 'self'; ".to_string(),
        (Some(_), sockets) => format!("connect-src 'self' {}; ", sockets.join(" ")),
    };
    let forms = match (nonce, form_target) {
        (Some(_), Some(target)) => format!("form-action 'self' {target}; "),
        (Some(_), None) => "form-action 'self'; ".to_string(),
        (None, _) => String::new(),
    };
    format!(
        "default-src 'self'; script-src {scripts}; style-src 'self'; img-src 'self' data: https:; \
         {connect}object-src 'none'; base-uri 'none'; {forms}frame-ancestors 'none'"
    )
}

#[cfg(test)]
mod tests {
    use super::content_security_policy;

    #[test]
    fn pages_get_their_nonce_and_form_target_and_the_rest_the_strict_policy() {
        assert_eq!(
            content_security_policy(Some("abc"), Some("https://login.mypurecloud.ie"), &[]),
            "default-src 'self'; script-src 'self' 'nonce-abc' 'wasm-unsafe-eval'; style-src 'self'; \
             img-src 'self' data: https:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
             form-action 'self' https://login.mypurecloud.ie; frame-ancestors 'none'"
        );
        assert_eq!(
            content_security_policy(None, None, &[]),
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; \
             object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
        );
        let sockets = [
            "ws://127.0.0.1:3001".to_string(),
            "wss://webmessaging.mypurecloud.ie".to_string(),
        ];
        assert!(content_security_policy(Some("n"), None, &sockets)
            .contains("connect-src 'self' ws://127.0.0.1:3001 wss://webmessaging.mypurecloud.ie;"));
    }
}
