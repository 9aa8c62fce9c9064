//! The OAuth routes of the Backend-for-Frontend: start a PKCE login (POST), finish it at the
//! callback, and sign out (POST). Tokens stay on the server; the browser only gets a cookie.

use std::sync::Arc;

use app::{
    error::AppError,
    genesys_errors::{from_api, from_oauth},
    session::{
        self, now_unix, Grant, PendingLogin, SignedIn, AUTH_FAILURE, PENDING_LOGINS, SIGNED_IN,
    },
    state::Portal,
};
use axum::{
    extract::{Form, RawQuery, State},
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Redirect, Response},
};
use genesys::{
    oauth::AuthorizeRequest, pkce::PkceChallenge, AuthorizationCode, CsrfState, PkceVerifier,
};
use serde::Deserialize;
use tower_sessions::{Expiry, Session};

use crate::limits::LoginLimiter;

/// Is `target` a path on this site, and nothing that a browser could read as another origin?
/// Rejects `//host`, `/\host`, schemes, control characters and their percent-encoded forms.
pub fn safe_return_path(target: &str) -> Option<String> {
    if target.is_empty() || target.len() > 2048 || !target.starts_with('/') {
        return None;
    }
    let decoded: String = percent_encoding::percent_decode_str(target)
        .decode_utf8()
        .ok()?
        .into_owned();
    for candidate in [target, decoded.as_str()] {
        let mut chars = candidate.chars();
        if chars.next() != Some('/') {
            return None;
        }
        if matches!(chars.next(), Some('/') | Some('\\')) {
            return None;
        }
        if candidate.chars().any(|c| c.is_control() || c == '\\') {
            return None;
        }
    }
    // A second decoding must not reveal anything new either (double encoding).
    let twice = percent_encoding::percent_decode_str(&decoded)
        .decode_utf8()
        .ok()?;
    if twice.starts_with("//") || twice.starts_with("/\\") || twice.contains('\\') {
        return None;
    }
    Some(target.to_string())
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    return_to: String,
}

fn store_error(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "session store error");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "The session store is unavailable; try again shortly.",
    )
        .into_response()
}

/// POST /auth/login: a fresh verifier, state and issuer for this browser, then off to Genesys.
pub async fn login(
    State(portal): State<Arc<Portal>>,
    State(limiter): State<LoginLimiter>,
    session: Session,
    Form(form): Form<LoginForm>,
) -> Response {
    if !limiter.try_acquire() {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, "5")],
            "Too many sign-ins are starting right now; try again in a few seconds.",
        )
            .into_response();
    }
    let return_to = safe_return_path(&form.return_to).unwrap_or_else(|| "/dashboard".to_string());
    let mut pending: Vec<PendingLogin> = match session.get(PENDING_LOGINS).await {
        Ok(p) => p.unwrap_or_default(),
        Err(e) => return store_error(e),
    };
    let now = now_unix();
    let ttl = portal.settings.pending_login_ttl.as_secs() as i64;
    pending.retain(|p| now - p.created_unix < ttl);
    while pending.len() >= portal.settings.max_pending_per_browser {
        pending.remove(0);
    }
    let state = CsrfState::generate();
    let verifier = PkceVerifier::generate();
    let challenge = PkceChallenge::s256(&verifier);
    let mut request = AuthorizeRequest::new(
        portal.oauth_client.client_id.clone(),
        portal.oauth_client.redirect_uri.clone(),
        &state,
        &challenge,
    )
    .scopes(portal.scopes.clone());
    if let Some(org) = &portal.org {
        request = request.org(org.clone());
    }
    if let Some(provider) = &portal.provider {
        request = request.provider(provider.clone());
    }
    let url = portal.genesys.authorize_url(&request);
    pending.push(PendingLogin {
        state,
        verifier,
        issuer: portal.genesys.environment().issuer(),
        return_to,
        created_unix: now,
    });
    if let Err(e) = session.insert(PENDING_LOGINS, pending).await {
        return store_error(e);
    }
    if session
        .get::<SignedIn>(SIGNED_IN)
        .await
        .ok()
        .flatten()
        .is_none()
    {
        // An anonymous pre-login session lives only as long as a pending login.
        session.set_expiry(Some(Expiry::OnInactivity(time::Duration::seconds(
            ttl.max(60),
        ))));
    }
    Redirect::to(url.as_str()).into_response()
}

/// The callback's query, read strictly: a parameter given twice is an attack, not a choice.
#[derive(Default, Debug)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
    iss: Option<String>,
}

fn parse_callback_query(raw: &str) -> Result<CallbackQuery, &'static str> {
    let mut q = CallbackQuery::default();
    for (k, v) in url::form_urlencoded::parse(raw.as_bytes()) {
        let slot = match k.as_ref() {
            "code" => &mut q.code,
            "state" => &mut q.state,
            "error" => &mut q.error,
            "error_description" => &mut q.error_description,
            "iss" => &mut q.iss,
            _ => continue,
        };
        if slot.is_some() {
            return Err("a parameter was repeated");
        }
        *slot = Some(v.into_owned());
    }
    Ok(q)
}

/// Sends the browser to the failure page with the reason kept server-side.
async fn fail(session: &Session, error: AppError) -> Response {
    tracing::info!(reason = %error.title(), "sign-in failed");
    if let Err(e) = session.insert(AUTH_FAILURE, &error).await {
        return store_error(e);
    }
    no_referrer(Redirect::to("/auth/failed").into_response())
}

fn no_referrer(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// GET /auth/callback: checks state (one use, constant time, same issuer), exchanges the code,
/// checks the token, issues a new session id, and redirects away from the URL with the code.
pub async fn callback(
    State(portal): State<Arc<Portal>>,
    session: Session,
    RawQuery(raw): RawQuery,
) -> Response {
    let raw = raw.unwrap_or_default();
    if raw.len() > 8 * 1024 {
        return fail(&session, AppError::ForgedCallback).await;
    }
    let Ok(query) = parse_callback_query(&raw) else {
        return fail(&session, AppError::ForgedCallback).await;
    };
    let Some(state) = query.state.as_deref() else {
        return fail(&session, AppError::ForgedCallback).await;
    };
    let mut pending: Vec<PendingLogin> = match session.get(PENDING_LOGINS).await {
        Ok(p) => p.unwrap_or_default(),
        Err(e) => return store_error(e),
    };
    // Compare against every pending login in constant time, without stopping at a match.
    let mut found = None;
    for (i, p) in pending.iter().enumerate() {
        if p.state.ct_eq(state) {
            found = Some(i);
        }
    }
    let Some(index) = found else {
        // Unknown or already used: ignore whatever else the response says.
        return fail(&session, AppError::ForgedCallback).await;
    };
    let login = pending.remove(index);
    // Consumed before anything else can go wrong: a state is good for one use only.
    if let Err(e) = session.insert(PENDING_LOGINS, &pending).await {
        return store_error(e);
    }
    if let Err(e) = session.save().await {
        return store_error(e);
    }
    if now_unix() - login.created_unix >= portal.settings.pending_login_ttl.as_secs() as i64 {
        return fail(
            &session,
            AppError::InvalidGrant {
                description: format!(
                    "the sign-in took too long (more than {})",
                    minutes_text(portal.settings.pending_login_ttl)
                ),
            },
        )
        .await;
    }
    let issuer = portal.genesys.environment().issuer();
    if login.issuer != issuer || query.iss.as_deref().is_some_and(|iss| iss != issuer) {
        return fail(&session, AppError::ForgedCallback).await;
    }
    if let Some(error) = query.error {
        let description = query.error_description.unwrap_or_else(|| error.clone());
        let error = match error.as_str() {
            "access_denied" => AppError::AccessDenied { description },
            "unauthorized_client" | "invalid_client" => AppError::InvalidClient { description },
            "invalid_request"
            | "unsupported_response_type"
            | "invalid_scope"
            | "server_error"
            | "temporarily_unavailable" => AppError::OAuth {
                code: error,
                description,
            },
            _ => AppError::OAuth {
                code: "unknown_error".into(),
                description,
            },
        };
        return fail(&session, error).await;
    }
    let Some(code) = query.code.filter(|c| !c.is_empty() && c.len() <= 2048) else {
        return fail(
            &session,
            AppError::BadRequest {
                message: "the sign-in response carried no code".into(),
            },
        )
        .await;
    };
    let tokens = match portal
        .genesys
        .exchange_code(
            &portal.oauth_client,
            AuthorizationCode::new(code),
            login.verifier,
        )
        .await
    {
        Ok(t) => t,
        Err(e) => return fail(&session, from_oauth(e)).await,
    };
    let info = match portal.genesys.token_info(&tokens.access_token).await {
        Ok(r) => r.body,
        Err(e) => return fail(&session, from_api(e)).await,
    };
    if info.oauth_client.id != portal.oauth_client.client_id.as_str() {
        return fail(
            &session,
            AppError::InvalidClient {
                description: "the token was issued to another OAuth client".into(),
            },
        )
        .await;
    }
    let me = match portal.genesys.users_me(&tokens.access_token, &[]).await {
        Ok(r) => r.body,
        Err(e) => return fail(&session, from_api(e)).await,
    };
    // Signing in again replaces a previous sign-in of this browser.
    if let Ok(Some(previous)) = session.get::<SignedIn>(SIGNED_IN).await {
        let _ = portal.grants.delete(&previous.grant_id).await;
    }
    let now = now_unix();
    let grant = Grant {
        access_token: tokens.access_token,
        refresh_token: tokens.refresh_token,
        expires_at_unix: now + tokens.expires_in.as_secs() as i64,
    };
    let delete_after = now + portal.settings.absolute_timeout.as_secs() as i64;
    let grant_id = match portal.grants.insert(&grant, delete_after).await {
        Ok(id) => id,
        Err(e) => return store_error(e),
    };
    let user = SignedIn {
        grant_id,
        user_id: me.id,
        user_name: me.name,
        username: me.username,
        email: me.email,
        org_name: info
            .organization
            .name
            .unwrap_or_else(|| info.organization.id.clone()),
        issuer,
        scopes: info.authorized_scope,
        signed_in_unix: now,
    };
    // A new session id at sign-in: a cookie planted before it is worth nothing after.
    if let Err(e) = session.cycle_id().await {
        return store_error(e);
    }
    let _ = session.remove_value(PENDING_LOGINS).await;
    let _ = session.remove_value(AUTH_FAILURE).await;
    session.set_expiry(Some(Expiry::OnInactivity(time::Duration::seconds(
        portal.settings.idle_timeout.as_secs() as i64,
    ))));
    if let Err(e) = session.insert(SIGNED_IN, &user).await {
        return store_error(e);
    }
    tracing::info!(user = %user.user_id, "signed in");
    no_referrer(Redirect::to(&login.return_to).into_response())
}

/// POST /auth/logout: revoke the token at Genesys, destroy the session, and go home (or on to
/// Genesys' own logout page when configured).
pub async fn logout(State(portal): State<Arc<Portal>>, session: Session) -> Response {
    if let Ok(Some(user)) = session.get::<SignedIn>(SIGNED_IN).await {
        if let Ok(Some(grant)) = portal.grants.get(&user.grant_id).await {
            if let Err(e) = portal.genesys.revoke_token(&grant.access_token).await {
                tracing::warn!(error = %e, "token revocation failed; the session ends anyway");
            }
        }
        session::end_session(&portal, &session, &user).await;
        tracing::info!(user = %user.user_id, "signed out");
    } else if let Err(e) = session.flush().await {
        return store_error(e);
    }
    let home = format!("{}/", portal.public_origin);
    if portal.genesys_logout {
        if let Ok(home_url) = url::Url::parse(&home) {
            let url = genesys::oauth::logout_url(
                portal.genesys.environment(),
                &portal.oauth_client.client_id,
                &home_url,
            );
            return Redirect::to(url.as_str()).into_response();
        }
    }
    Redirect::to("/").into_response()
}

/// `10 minutes`, `1 minute`, `45 seconds`: a time limit as a person reads it.
fn minutes_text(limit: std::time::Duration) -> String {
    let secs = limit.as_secs();
    match (secs / 60, secs % 60) {
        (1, 0) => "1 minute".into(),
        (m, 0) if m > 0 => format!("{m} minutes"),
        _ if secs == 1 => "1 second".into(),
        _ => format!("{secs} seconds"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn limits_read_as_minutes_or_seconds() {
        use std::time::Duration;
        assert_eq!(super::minutes_text(Duration::from_secs(600)), "10 minutes");
        assert_eq!(super::minutes_text(Duration::from_secs(60)), "1 minute");
        assert_eq!(super::minutes_text(Duration::from_secs(90)), "90 seconds");
        assert_eq!(super::minutes_text(Duration::from_secs(1)), "1 second");
    }

    use super::*;

    #[test]
    fn return_paths_stay_on_this_site() {
        for ok in ["/", "/dashboard", "/users?page=2&size=50", "/users/abc#x"] {
            assert_eq!(safe_return_path(ok).as_deref(), Some(ok), "{ok}");
        }
        for bad in [
            "",
            "dashboard",
            "//evil.example",
            "/\\evil.example",
            "https://evil.example",
            "javascript:alert(1)",
            "/%2F%2Fevil.example",
            "%2F%2Fevil.example",
            "/%5Cevil.example",
            "/%252F%252Fevil.example",
            "/\t/evil",
            "/%0d%0aSet-Cookie:x=1",
        ] {
            assert_eq!(safe_return_path(bad), None, "{bad}");
        }
    }

    #[test]
    fn callback_query_rejects_repeated_parameters() {
        assert!(parse_callback_query("code=a&state=b&state=c").is_err());
        let q = parse_callback_query("code=a%20b&state=s&extra=1").unwrap();
        assert_eq!(q.code.as_deref(), Some("a b"));
        assert_eq!(q.state.as_deref(), Some("s"));
    }
}
