//! The login host: `/oauth/authorize` with its server-rendered sign-in page, `/oauth/token`
//! (authorization code with PKCE, refresh with rotation, client credentials) and `/logout`.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use genesys::secret::{AccessToken, ClientSecret, RefreshToken};
use genesys::wire::{TokenResponse, UserState};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use url::Url;

use crate::config::{ClientConfig, Grant};
use crate::respond::{error_page, escape_html, html_page, no_store, TokenError};
use crate::store::{now_ms, CodeRecord, GrantRefusal, PendingAuthorization, PENDING_LIFETIME_MS};
use crate::SandboxState;

/// How many seeded users the sign-in page offers.
const SIGN_IN_CHOICES: usize = 20;
/// Longest `state` accepted (it is echoed back in a URL).
const MAX_STATE_LEN: usize = 2048;

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

/// BASE64URL-NOPAD(SHA256(verifier)), RFC 7636 §4.2.
pub(crate) fn s256_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
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

/// `GET /`: what this is and where things are.
pub(crate) async fn home(State(s): State<SandboxState>) -> Response {
    let mut clients: Vec<&ClientConfig> = s.inner.clients.values().collect();
    clients.sort_by(|a, b| a.id.cmp(&b.id));
    let rows: String = clients
        .iter()
        .map(|c| {
            format!(
                "<li><code>{}</code>: {} ({}; scopes {})</li>",
                escape_html(&c.id),
                escape_html(&c.name),
                if c.is_public() {
                    "public, PKCE"
                } else {
                    "confidential"
                },
                escape_html(&c.scopes.join(" "))
            )
        })
        .collect();
    html_page(
        StatusCode::OK,
        "Genesys Cloud sandbox",
        &format!(
            "<h1>Genesys Cloud sandbox</h1><p>A local stand-in for a Genesys Cloud org with {} seeded \
             users. Login host: <code>/oauth/authorize</code>, <code>/oauth/token</code>, \
             <code>/logout</code>. API host: <code>/api/v2/users</code>, \
             <code>/api/v2/users/me</code>, <code>/api/v2/users/search</code>, \
             <code>/api/v2/tokens/me</code>.</p><h2>OAuth clients</h2><ul>{rows}</ul>",
            s.user_count()
        ),
    )
}

/// `GET /oauth/authorize`.
pub(crate) async fn authorize(
    State(s): State<SandboxState>,
    RawQuery(query): RawQuery,
) -> Response {
    let params = Params::parse(query.as_deref().unwrap_or("").as_bytes());
    // Until client and redirect URI are known to be right, errors stay on this host: a
    // redirect to an unchecked URI would make the sandbox an open redirector.
    let client = match params.get("client_id").and_then(|id| s.client(id)) {
        Some(c) if !params.repeated.iter().any(|k| k == "client_id") => c,
        _ => {
            return error_page(
                StatusCode::BAD_REQUEST,
                "Unknown OAuth client",
                "The client_id is missing, repeated or not registered with this sandbox.",
            )
        }
    };
    let redirect_uri = match params.get("redirect_uri") {
        Some(uri)
            if client.redirect_uris.iter().any(|r| r == uri)
                && !params.repeated.iter().any(|k| k == "redirect_uri") =>
        {
            uri.to_string()
        }
        _ => {
            return error_page(
                StatusCode::BAD_REQUEST,
                "Redirect URI mismatch",
                &format!(
                    "The redirect_uri is missing or is not one registered for the OAuth client {}.",
                    client.id
                ),
            )
        }
    };
    let state = params.get("state");
    let fail =
        |error: &str, description: &str| redirect_error(&redirect_uri, state, error, description);

    if let Some(name) = params.repeated.first() {
        return fail(
            "invalid_request",
            &format!("The parameter {name} is repeated."),
        );
    }
    if state.is_some_and(|st| st.len() > MAX_STATE_LEN) {
        return redirect_error(
            &redirect_uri,
            None,
            "invalid_request",
            "The state is too long.",
        );
    }
    if params.get("response_type") != Some("code") {
        return fail(
            "unsupported_response_type",
            "Only response_type=code is supported.",
        );
    }
    if !client.allows(Grant::AuthorizationCode) {
        return fail(
            "unauthorized_client",
            "This client may not use the authorization code grant.",
        );
    }
    let challenge = params.get("code_challenge");
    let method = params.get("code_challenge_method");
    match (challenge, method) {
        (None, None) if client.is_public() => {
            return fail(
                "invalid_request",
                "A public client must send code_challenge with code_challenge_method=S256.",
            )
        }
        (None, None) => {}
        (Some(c), Some("S256")) if is_pkce_string(c) => {}
        (Some(_), Some("S256")) => {
            return fail("invalid_request", "The code_challenge is malformed.")
        }
        (Some(_), _) => return fail("invalid_request", "code_challenge_method must be S256."),
        (None, Some(_)) => {
            return fail(
                "invalid_request",
                "code_challenge_method without code_challenge.",
            )
        }
    }
    let scopes = match granted_scopes(&client.scopes, params.get("scope")) {
        Ok(scopes) => scopes,
        Err(bad) => {
            return fail(
                "invalid_scope",
                &format!("The scope {bad} is not allowed for this client."),
            )
        }
    };
    let pending = PendingAuthorization {
        client_id: client.id.clone(),
        redirect_uri: redirect_uri.clone(),
        state: state.map(str::to_string),
        code_challenge: challenge.map(str::to_string),
        scopes,
        expires_ms: now_ms() + PENDING_LIFETIME_MS,
    };
    let Some(pending_id) = s.store().add_pending(pending.clone()) else {
        return error_page(
            StatusCode::SERVICE_UNAVAILABLE,
            "Too many sign-ins in progress",
            "Try again in a few minutes.",
        );
    };
    sign_in_page(&s, StatusCode::OK, &pending_id, &pending, None)
}

fn sign_in_page(
    s: &SandboxState,
    status: StatusCode,
    pending_id: &str,
    pending: &PendingAuthorization,
    error: Option<&str>,
) -> Response {
    let client_name = s
        .client(&pending.client_id)
        .map(|c| c.name.as_str())
        .unwrap_or("");
    let org = s.org();
    let choices: String = org
        .first_active(SIGN_IN_CHOICES)
        .enumerate()
        .map(|(n, i)| {
            let u = org.user(i);
            format!(
                "<label class=\"user\"><input type=\"radio\" name=\"user\" value=\"{id}\"{checked}> \
                 <span class=\"name\">{name}</span> <small>{username} · {title}, {department}</small></label>",
                id = u.id,
                checked = if n == 0 { " checked" } else { "" },
                name = escape_html(&u.name),
                username = escape_html(&u.username),
                title = escape_html(org.title(u)),
                department = escape_html(org.department(u)),
            )
        })
        .collect();
    let error = error
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", escape_html(e)))
        .unwrap_or_default();
    let body = format!(
        "<h1>Sign in</h1>{error}<p><strong>{client}</strong> asks to access your Genesys Cloud \
         account with the scopes <code>{scopes}</code>.</p>\
         <form method=\"post\" action=\"authorize\">\
         <input type=\"hidden\" name=\"pending\" value=\"{pending_id}\">\
         <fieldset><legend>Sign in as</legend>{choices}</fieldset>\
         <p><label>Or type a username: <input type=\"text\" name=\"username\" autocomplete=\"username\" \
         placeholder=\"someone@{domain}\"></label></p>\
         <button type=\"submit\" name=\"decision\" value=\"allow\">Allow</button>\
         <button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button></form>",
        client = escape_html(client_name),
        scopes = escape_html(&pending.scopes.join(" ")),
        pending_id = escape_html(pending_id),
        domain = crate::org::EMAIL_DOMAIN,
    );
    html_page(status, "Sign in", &body)
}

/// `POST /oauth/authorize`: the answer of the sign-in page.
pub(crate) async fn decide(State(s): State<SandboxState>, body: Bytes) -> Response {
    let form = Params::parse(&body);
    let expired = || {
        error_page(
            StatusCode::BAD_REQUEST,
            "Sign-in expired",
            "This sign-in expired or was already answered. Start again from the application.",
        )
    };
    let Some(pending_id) = form.get("pending") else {
        return expired();
    };
    let Some(pending) = s.store().pending(pending_id).cloned() else {
        return expired();
    };

    match form.get("decision") {
        Some("deny") => {
            if s.store().take_pending(pending_id).is_none() {
                return expired();
            }
            redirect_error(
                &pending.redirect_uri,
                pending.state.as_deref(),
                "access_denied",
                "The user denied the request.",
            )
        }
        Some("allow") => {
            let org = s.org();
            let chosen = match form
                .get("username")
                .map(str::trim)
                .filter(|u| !u.is_empty())
            {
                Some(name) => org.index_of_username(name),
                None => form.get("user").and_then(|id| org.index_of_id(id)),
            };
            let Some(index) = chosen else {
                return sign_in_page(
                    &s,
                    StatusCode::BAD_REQUEST,
                    pending_id,
                    &pending,
                    Some("No such user in this org."),
                );
            };
            let user = org.user(index);
            if user.state != UserState::Active {
                let why = format!(
                    "{} is {} and cannot sign in.",
                    user.name,
                    user.state.as_str()
                );
                return sign_in_page(
                    &s,
                    StatusCode::BAD_REQUEST,
                    pending_id,
                    &pending,
                    Some(&why),
                );
            }
            let code = {
                let mut store = s.store();
                if store.take_pending(pending_id).is_none() {
                    return expired();
                }
                store.issue_code(CodeRecord {
                    client_id: pending.client_id.clone(),
                    redirect_uri: pending.redirect_uri.clone(),
                    code_challenge: pending.code_challenge.clone(),
                    user_id: user.id.to_string(),
                    scopes: pending.scopes.clone(),
                    expires_ms: now_ms() + s.inner.code_lifetime.as_millis() as u64,
                    redeemed_grant: None,
                })
            };
            let mut params = vec![("code", code.as_str())];
            if let Some(state) = pending.state.as_deref() {
                params.push(("state", state));
            }
            redirect_with(&pending.redirect_uri, &params)
        }
        _ => error_page(
            StatusCode::BAD_REQUEST,
            "Bad request",
            "Choose Allow or Deny.",
        ),
    }
}

/// Who is calling the token endpoint.
fn authenticate<'a>(
    s: &'a SandboxState,
    headers: &HeaderMap,
    form: &Params,
) -> Result<&'a ClientConfig, TokenError> {
    if form.get("client_secret").is_some() {
        return Err(TokenError::invalid_client(
            "Send the client secret with HTTP Basic authentication, not in the body.",
        ));
    }
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let value = value.to_str().unwrap_or("");
        let encoded = value
            .strip_prefix("Basic ")
            .or_else(|| value.strip_prefix("basic "))
            .ok_or_else(|| {
                TokenError::invalid_client("Only HTTP Basic client authentication is supported.")
            })?;
        let decoded = STANDARD
            .decode(encoded.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| TokenError::invalid_client("The Basic credentials are malformed."))?;
        let (id, secret) = decoded
            .split_once(':')
            .ok_or_else(|| TokenError::invalid_client("The Basic credentials are malformed."))?;
        let id = percent_decode(id);
        let secret = ClientSecret::new(percent_decode(secret));
        let client = s
            .client(&id)
            .ok_or_else(|| TokenError::invalid_client("Client authentication failed."))?;
        let expected = client
            .secret
            .as_deref()
            .ok_or_else(|| TokenError::invalid_client("Client authentication failed."))?;
        let matches: bool = expected.as_bytes().ct_eq(secret.secret().as_bytes()).into();
        if !matches {
            return Err(TokenError::invalid_client("Client authentication failed."));
        }
        if form
            .get("client_id")
            .is_some_and(|body_id| body_id != client.id)
        {
            return Err(TokenError::invalid_request(
                "client_id does not match the authenticated client.",
            ));
        }
        return Ok(client);
    }
    let id = form
        .get("client_id")
        .ok_or_else(|| TokenError::invalid_client("Client authentication is required."))?;
    let client = s
        .client(id)
        .ok_or_else(|| TokenError::invalid_client("Client authentication failed."))?;
    if !client.is_public() {
        return Err(TokenError::invalid_client(
            "This is a confidential client: authenticate with HTTP Basic.",
        ));
    }
    Ok(client)
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

fn token_answer(lifetime_secs: u64, access: String, refresh: Option<String>) -> Response {
    let body = TokenResponse {
        access_token: AccessToken::new(access),
        token_type: "bearer".into(),
        expires_in: lifetime_secs,
        refresh_token: refresh.map(RefreshToken::new),
    };
    (StatusCode::OK, no_store(), Json(body)).into_response()
}

fn refusal(r: GrantRefusal, what: &str) -> TokenError {
    TokenError::invalid_grant(r.description(what))
}

/// `POST /oauth/token`.
pub(crate) async fn token(
    State(s): State<SandboxState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let faults = s.faults().get();
    if faults.token_endpoint_down {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            no_store(),
            Json(genesys::wire::TokenErrorBody {
                error: "temporarily_unavailable".into(),
                description: Some("The login service is unavailable (sandbox fault).".into()),
                error_description: Some("The login service is unavailable (sandbox fault).".into()),
            }),
        )
            .into_response();
    }
    if faults.malformed_token_body {
        return (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            "{\"access_token\": \"trunc",
        )
            .into_response();
    }
    issue(&s, &headers, &body).unwrap_or_else(IntoResponse::into_response)
}

fn issue(s: &SandboxState, headers: &HeaderMap, body: &[u8]) -> Result<Response, TokenError> {
    let form_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    if !form_type {
        return Err(TokenError::invalid_request(
            "The body must be application/x-www-form-urlencoded.",
        ));
    }
    let form = Params::parse(body);
    if let Some(name) = form.repeated.first() {
        return Err(TokenError::invalid_request(format!(
            "The parameter {name} is repeated."
        )));
    }
    let grant_type = form
        .get("grant_type")
        .ok_or_else(|| TokenError::invalid_request("grant_type is required."))?;
    let client = authenticate(s, headers, &form)?;
    let lifetime = client.token_lifetime_secs;
    let unauthorized = |why: &str| TokenError::new("unauthorized_client", why.to_string());

    match grant_type {
        "authorization_code" => {
            if !client.allows(Grant::AuthorizationCode) {
                return Err(unauthorized(
                    "This client may not use the authorization code grant.",
                ));
            }
            let code = form
                .get("code")
                .ok_or_else(|| TokenError::invalid_request("code is required."))?;
            let redirect_uri = form
                .get("redirect_uri")
                .ok_or_else(|| TokenError::invalid_request("redirect_uri is required."))?;
            let mut store = s.store();
            let record = store
                .redeem_code(code, &client.id)
                .map_err(|r| refusal(r, "authorization code"))?;
            let mut fail = |why: &str| {
                store.burn_code(code);
                TokenError::invalid_grant(why.to_string())
            };
            if record.redirect_uri != redirect_uri {
                return Err(fail(
                    "redirect_uri does not match the authorization request.",
                ));
            }
            match (&record.code_challenge, form.get("code_verifier")) {
                (Some(_), None) => return Err(fail("code_verifier is required.")),
                (Some(challenge), Some(verifier)) => {
                    let ok = is_pkce_string(verifier)
                        && bool::from(
                            s256_challenge(verifier)
                                .as_bytes()
                                .ct_eq(challenge.as_bytes()),
                        );
                    if !ok {
                        return Err(fail("The code_verifier does not match the code_challenge."));
                    }
                }
                (None, Some(_)) => {
                    return Err(fail(
                        "code_verifier sent, but the authorization request had no code_challenge.",
                    ))
                }
                (None, None) => {}
            }
            let active = s
                .org()
                .index_of_id(&record.user_id)
                .is_some_and(|i| s.org().user(i).state == UserState::Active);
            if !active {
                return Err(fail("The user can no longer sign in."));
            }
            let with_refresh = !client.is_public() && client.allows(Grant::RefreshToken);
            let tokens = store.issue_grant(
                &client.id,
                Some(record.user_id.clone()),
                record.scopes.clone(),
                lifetime,
                with_refresh,
                Some(code),
            );
            Ok(token_answer(
                lifetime,
                tokens.access_token,
                tokens.refresh_token,
            ))
        }
        "refresh_token" => {
            if client.is_public() || !client.allows(Grant::RefreshToken) {
                return Err(unauthorized("This client may not use refresh tokens."));
            }
            let refresh = form
                .get("refresh_token")
                .ok_or_else(|| TokenError::invalid_request("refresh_token is required."))?;
            let tokens = s
                .store()
                .refresh(refresh, &client.id, lifetime)
                .map_err(|r| refusal(r, "refresh token"))?;
            Ok(token_answer(
                lifetime,
                tokens.access_token,
                tokens.refresh_token,
            ))
        }
        "client_credentials" => {
            if client.is_public() || !client.allows(Grant::ClientCredentials) {
                return Err(unauthorized(
                    "This client may not use the client credentials grant.",
                ));
            }
            let scopes = granted_scopes(&client.scopes, form.get("scope")).map_err(|bad| {
                TokenError::new(
                    "invalid_scope",
                    format!("The scope {bad} is not allowed for this client."),
                )
            })?;
            let tokens = s
                .store()
                .issue_grant(&client.id, None, scopes, lifetime, false, None);
            Ok(token_answer(lifetime, tokens.access_token, None))
        }
        other => Err(TokenError::new(
            "unsupported_grant_type",
            format!("The grant type {other} is not supported."),
        )),
    }
}

/// `GET /logout`: redirects only to a `redirect_uri` allow-listed for the client.
pub(crate) async fn logout(State(s): State<SandboxState>, RawQuery(query): RawQuery) -> Response {
    let params = Params::parse(query.as_deref().unwrap_or("").as_bytes());
    let Some(target) = params.get("redirect_uri") else {
        return html_page(
            StatusCode::OK,
            "Signed out",
            "<h1>Signed out</h1><p>You are signed out of the Genesys Cloud sandbox.</p>",
        );
    };
    let allowed = match params.get("client_id") {
        Some(id) => s
            .client(id)
            .is_some_and(|c| c.logout_redirect_uris.iter().any(|u| u == target)),
        None => s
            .inner
            .clients
            .values()
            .any(|c| c.logout_redirect_uris.iter().any(|u| u == target)),
    };
    if !allowed || !params.repeated.is_empty() {
        return error_page(
            StatusCode::BAD_REQUEST,
            "Logout redirect not allowed",
            "The redirect_uri is not registered as a logout URI for this client.",
        );
    }
    redirect_to(target)
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
    fn rfc7636_appendix_b() {
        assert_eq!(
            s256_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn repeated_params_are_noticed() {
        let p = Params::parse(b"a=1&b=2&a=3");
        assert_eq!(p.repeated, vec!["a"]);
    }
}
