//! `GET /end-session` (OpenID Connect RP-Initiated Logout 1.0 §2, §3): ends the guest's session
//! at the provider, clears the cookie, and returns to the client only at a registered URI.

use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::Response;
use jsonwebtoken::{decode, decode_header, Algorithm, Validation};
use serde::Deserialize;
use url::Url;

use crate::form::{cookie, Params};
use crate::pages;
use crate::secret::token_hash;
use crate::store;
use crate::Idp;

#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
struct HintClaims {
    aud: Audience,
}

pub(crate) async fn end_session(
    State(idp): State<Idp>,
    method: Method,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    if method == Method::HEAD {
        return pages::page(
            StatusCode::OK,
            "Sign out",
            "Open this link in your browser.",
        );
    }
    sign_out(&idp, query.unwrap_or_default().as_bytes(), &headers).await
}

/// `POST /end-session`, the same parameters form-encoded in the body (RP-Initiated Logout 1.0
/// §2): what the portal's own guest page sends, so no GET of its has to change state.
pub(crate) async fn end_session_post(
    State(idp): State<Idp>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    sign_out(&idp, &body, &headers).await
}

async fn sign_out(idp: &Idp, query: &[u8], headers: &HeaderMap) -> Response {
    let params = match (query.len() <= 8 * 1024).then(|| Params::parse(query)) {
        Some(Ok(p)) => p,
        _ => {
            return pages::page(
                StatusCode::BAD_REQUEST,
                "Invalid sign-out request",
                "The request is malformed.",
            )
        }
    };
    let hinted_client = params
        .get("id_token_hint")
        .and_then(|hint| idp.hint_audience(hint));
    let client_id = match (params.get("client_id"), hinted_client.as_deref()) {
        (Some(a), Some(b)) if a != b => {
            return pages::page(
                StatusCode::BAD_REQUEST,
                "Invalid sign-out request",
                "client_id and id_token_hint disagree.",
            )
        }
        (Some(a), _) => Some(a.to_owned()),
        (None, b) => b.map(str::to_owned),
    };
    if let Some(value) = cookie(headers, idp.session_cookie_name()) {
        match store::guests::delete_session(idp.pool(), &token_hash(value)).await {
            Ok(Some(guest_id)) => {
                idp.record(
                    &format!("guest:{guest_id}"),
                    "session.ended",
                    Some(&guest_id),
                    client_id.clone(),
                )
                .await;
            }
            Ok(None) => {}
            Err(e) => tracing::error!(error = %e, "guest IdP could not end a session"),
        }
    }
    let client = client_id.as_deref().and_then(|id| idp.config().client(id));
    let target = params
        .get("post_logout_redirect_uri")
        .filter(|uri| client.is_some_and(|c| c.redirect_uris.iter().any(|r| r == uri)))
        .and_then(|uri| Url::parse(uri).ok());
    let mut response = match target {
        Some(mut url) => {
            if let Some(state) = params.get("state") {
                url.query_pairs_mut().append_pair("state", state);
            }
            pages::redirect(StatusCode::SEE_OTHER, url.as_str())
        }
        None => pages::page(
            StatusCode::OK,
            "Signed out",
            "You are signed out. You can close this page.",
        ),
    };
    if let Ok(v) = HeaderValue::from_str(&idp.session_cookie("", 0)) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    response
}

impl Idp {
    /// The client an `id_token_hint` was issued to, if it is one of our ID tokens (signature
    /// and issuer checked; an expired one is fine, RP-Initiated Logout §2).
    fn hint_audience(&self, hint: &str) -> Option<String> {
        let kid = decode_header(hint).ok()?.kid?;
        let key = self.keys().decoding_key(&kid)?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.set_required_spec_claims(&["iss", "aud"]);
        validation.set_issuer(&[self.issuer().as_str()]);
        let claims = decode::<HintClaims>(hint, &key, &validation).ok()?.claims;
        match claims.aud {
            Audience::One(a) => Some(a),
            Audience::Many(mut v) if v.len() == 1 => v.pop(),
            Audience::Many(_) => None,
        }
    }
}
