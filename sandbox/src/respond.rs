//! Answers shared by every endpoint: the correlation id, Genesys' API error body, the
//! OAuth error body (RFC 6749 §5.2) and HTML pages with safe headers.

use std::collections::BTreeMap;

use axum::extract::Request;
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use genesys::{ApiErrorBody, TokenErrorBody};

pub(crate) const CORRELATION_HEADER: HeaderName = HeaderName::from_static("inin-correlation-id");

tokio::task_local! {
    static CORRELATION_ID: String;
}

/// The correlation id of the request being answered (also the `contextId` of errors).
pub(crate) fn correlation_id() -> String {
    CORRELATION_ID.try_with(Clone::clone).unwrap_or_default()
}

/// Gives every request a correlation id and every answer its `inin-correlation-id` header.
pub(crate) async fn correlation(req: Request, next: Next) -> Response {
    let id = uuid::Uuid::new_v4().to_string();
    let mut response = CORRELATION_ID.scope(id.clone(), next.run(req)).await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(CORRELATION_HEADER, v);
    }
    response
}

/// An API error in Genesys' shape.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) code: &'static str,
    pub(crate) message: String,
    pub(crate) message_with_params: Option<String>,
    pub(crate) params: BTreeMap<String, String>,
    pub(crate) headers: Vec<(HeaderName, String)>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            message_with_params: None,
            params: BTreeMap::new(),
            headers: Vec::new(),
        }
    }

    /// An error whose message is `template` with each `{key}` replaced by its value.
    pub(crate) fn templated(
        status: StatusCode,
        code: &'static str,
        template: &str,
        params: &[(&str, String)],
    ) -> Self {
        let mut message = template.to_string();
        for (k, v) in params {
            message = message.replace(&format!("{{{k}}}"), v);
        }
        let mut error = Self::new(status, code, message);
        error.message_with_params = Some(template.to_string());
        error.params = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        error
    }

    pub(crate) fn header(mut self, name: HeaderName, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad.request", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ApiErrorBody {
            message: self.message,
            code: Some(self.code.to_string()),
            status: Some(self.status.as_u16()),
            message_with_params: self.message_with_params,
            message_params: (!self.params.is_empty()).then_some(self.params),
            context_id: Some(correlation_id()),
            details: Vec::new(),
            errors: Vec::new(),
        };
        let mut response = (self.status, Json(body)).into_response();
        for (name, value) in self.headers {
            if let Ok(v) = HeaderValue::from_str(&value) {
                response.headers_mut().insert(name, v);
            }
        }
        response
    }
}

/// An error of the token endpoint (RFC 6749 §5.2), with Genesys' `description` and the
/// standard `error_description` both set.
#[derive(Debug)]
pub(crate) struct TokenError {
    pub(crate) status: StatusCode,
    pub(crate) error: &'static str,
    pub(crate) description: String,
}

impl TokenError {
    pub(crate) fn new(error: &'static str, description: impl Into<String>) -> Self {
        let status = if error == "invalid_client" {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::BAD_REQUEST
        };
        Self {
            status,
            error,
            description: description.into(),
        }
    }

    pub(crate) fn invalid_request(description: impl Into<String>) -> Self {
        Self::new("invalid_request", description)
    }

    pub(crate) fn invalid_client(description: impl Into<String>) -> Self {
        Self::new("invalid_client", description)
    }

    pub(crate) fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new("invalid_grant", description)
    }
}

impl IntoResponse for TokenError {
    fn into_response(self) -> Response {
        let body = TokenErrorBody {
            error: self.error.to_string(),
            description: Some(self.description.clone()),
            error_description: Some(self.description),
        };
        let mut response = (self.status, no_store(), Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"sandbox\""),
            );
        }
        response
    }
}

/// `Cache-Control: no-store` and `Pragma: no-cache`, as RFC 6749 §5.1 asks of token answers.
pub(crate) fn no_store() -> [(HeaderName, &'static str); 2] {
    [
        (header::CACHE_CONTROL, "no-store"),
        (header::PRAGMA, "no-cache"),
    ]
}

/// Escapes text for HTML element content and quoted attribute values.
pub(crate) fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            _ => out.push(c),
        }
    }
    out
}

/// An HTML page with headers that keep it from being framed, sniffed or leaking referrers.
pub(crate) fn html_page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · Genesys Cloud sandbox</title><style>{STYLE}</style></head>\
         <body><main><p class=\"badge\">Genesys Cloud sandbox</p>{body}</main></body></html>\n",
        title = escape_html(title),
    );
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'",
            ),
            (header::X_FRAME_OPTIONS, "DENY"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        html,
    )
        .into_response()
}

/// An error page for the login host: used whenever redirecting back would be unsafe.
pub(crate) fn error_page(status: StatusCode, title: &str, detail: &str) -> Response {
    html_page(
        status,
        title,
        &format!(
            "<h1>{}</h1><p class=\"error\">{}</p>",
            escape_html(title),
            escape_html(detail)
        ),
    )
}

const STYLE: &str =
    "body{font-family:system-ui,sans-serif;background:#f4f5f7;color:#1d2330;margin:0}\
main{max-width:40rem;margin:2rem auto;background:#fff;padding:1.5rem 2rem;border-radius:8px;\
box-shadow:0 1px 4px #0002}.badge{display:inline-block;background:#c2410c;color:#fff;\
border-radius:4px;padding:.1rem .5rem;font-size:.8rem;font-weight:600}\
.error{color:#a01010;font-weight:600}fieldset{border:1px solid #ccd;border-radius:6px}\
label.user{display:block;padding:.25rem 0}small{color:#555}\
button{font-size:1rem;padding:.5rem 1.2rem;margin:.8rem .5rem 0 0}";

#[cfg(test)]
mod tests {
    use super::escape_html;

    #[test]
    fn escapes_every_markup_character() {
        assert_eq!(
            escape_html(r#"<img src=x onerror="alert('1')">&"#),
            "&lt;img src=x onerror=&quot;alert(&#x27;1&#x27;)&quot;&gt;&amp;"
        );
    }
}
