//! `GET /authorize` (OIDC Core §3.1.2): code flow with PKCE S256 only. Client and exact
//! redirect URI are verified before anything is redirected; later errors go back to the client.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use url::Url;

use crate::clock::{ms, now_ms, now_unix};
use crate::config::RelyingParty;
use crate::form::{cookie, Params};
use crate::limits::RemoteAddr;
use crate::oauth_error::authorize_error_redirect;
use crate::pages;
use crate::secret::{random_token, token_hash};
use crate::store;
use crate::store::grants::CodeRecord;
use crate::{Guest, Idp};

const MAX_QUERY: usize = 8 * 1024;

/// A request whose client and redirect URI are verified: errors may now be redirected.
struct Verified {
    redirect_uri: Url,
    state: Option<String>,
}

/// The checked parameters of a valid request.
struct Request {
    scope: String,
    code_challenge: String,
    nonce: Option<String>,
    max_age: Option<i64>,
    prompt_none: bool,
    prompt_login: bool,
    login_hint: Option<String>,
}

pub(crate) async fn authorize(
    State(idp): State<Idp>,
    addr: RemoteAddr,
    method: Method,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    // axum answers HEAD with the GET route: a prefetch must not issue a code.
    if method == Method::HEAD {
        return pages::page(StatusCode::OK, "Sign in", "Open this link in your browser.");
    }
    let query = query.unwrap_or_default();
    let bad = |text: &str| pages::page(StatusCode::BAD_REQUEST, "Invalid sign-in request", text);
    if query.len() > MAX_QUERY {
        return bad("The request is too large.");
    }
    let params = match Params::parse(query.as_bytes()) {
        Ok(p) => p,
        Err(e) => return bad(&format!("The request is malformed: {e}.")),
    };
    let Some(client) = params
        .get("client_id")
        .and_then(|id| idp.config().client(id))
    else {
        return bad("The application that sent you here is unknown.");
    };
    if let Err(wait) = idp.limits().authorize(&addr, &client.client_id) {
        return pages::too_many(wait);
    }
    // Exact string comparison (RFC 9700 §4.1.3): no normalisation of case, slash or query.
    let registered = params
        .get("redirect_uri")
        .filter(|r| client.redirect_uris.iter().any(|u| u == r));
    let (Some(registered), Some(redirect_uri)) =
        (registered, registered.and_then(|r| Url::parse(r).ok()))
    else {
        return bad("The return address of this request is not registered for the application.");
    };
    let v = Verified {
        redirect_uri,
        state: params.get("state").map(str::to_owned),
    };
    let fail = |code: &str, text: &str| {
        authorize_error_redirect(
            &v.redirect_uri,
            code,
            text,
            v.state.as_deref(),
            idp.issuer(),
        )
    };
    let req = match check(&params, client) {
        Ok(r) => r,
        Err((code, text)) => return fail(code, text),
    };
    let session = match idp.session_guest(&headers).await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "guest IdP authorize failed");
            return fail("server_error", "the provider failed; try again");
        }
    };
    let now = now_unix();
    let usable = session.filter(|(guest, auth_time)| {
        !req.prompt_login
            && req.max_age.is_none_or(|m| now - auth_time <= m)
            && req
                .login_hint
                .as_deref()
                .is_none_or(|h| h == guest.id || h.eq_ignore_ascii_case(&guest.email))
    });
    let Some((guest, auth_time)) = usable else {
        if req.prompt_none {
            return fail(
                "login_required",
                "the guest must open an invitation link again",
            );
        }
        return pages::page(
            StatusCode::UNAUTHORIZED,
            "Please open your invitation link again",
            "You are not signed in here, or not recently enough. Open the invitation link you \
             received again, or ask for a new one.",
        );
    };
    let code = random_token();
    let record = CodeRecord {
        family_id: uuid::Uuid::new_v4().to_string(),
        client_id: client.client_id.clone(),
        // The registered string itself: the token request must repeat it exactly.
        redirect_uri: registered.to_owned(),
        code_challenge: req.code_challenge,
        nonce: req.nonce,
        scope: req.scope,
        guest_id: guest.id.clone(),
        auth_time,
        expires_ms: now_ms().saturating_add(ms(idp.config().code_ttl)),
    };
    if let Err(e) = store::grants::insert_code(idp.pool(), &token_hash(&code), &record).await {
        tracing::error!(error = %e, "guest IdP could not store a code");
        return fail("server_error", "the provider failed; try again");
    }
    let actor = format!("guest:{}", guest.id);
    let detail = Some(format!("client {}", client.client_id));
    idp.record(&actor, "authorize.code_issued", Some(&guest.id), detail)
        .await;
    let mut target = v.redirect_uri.clone();
    {
        let mut q = target.query_pairs_mut();
        q.append_pair("code", &code);
        if let Some(s) = &v.state {
            q.append_pair("state", s);
        }
        q.append_pair("iss", idp.issuer().as_str());
    }
    pages::redirect(StatusCode::FOUND, target.as_str())
}

/// Checks every parameter after client and redirect URI; `Err((error, description))`.
fn check(p: &Params, client: &RelyingParty) -> Result<Request, (&'static str, &'static str)> {
    if p.has("request") {
        return Err(("request_not_supported", "request objects are not supported"));
    }
    if p.has("request_uri") {
        return Err(("request_uri_not_supported", "request_uri is not supported"));
    }
    match p.get("response_type") {
        None => return Err(("invalid_request", "response_type is required")),
        Some("code") => {}
        Some(_) => {
            return Err((
                "unsupported_response_type",
                "only response_type=code is supported",
            ))
        }
    }
    if p.get("response_mode").is_some_and(|m| m != "query") {
        return Err(("invalid_request", "only response_mode=query is supported"));
    }
    let mut scopes: Vec<&str> = p
        .get("scope")
        .unwrap_or("")
        .split(' ')
        .filter(|s| !s.is_empty())
        .collect();
    scopes.sort_unstable();
    scopes.dedup();
    if !scopes.contains(&"openid") {
        return Err(("invalid_scope", "the scope must include openid"));
    }
    if scopes
        .iter()
        .any(|s| !client.allowed_scopes.iter().any(|a| a == s))
    {
        return Err((
            "invalid_scope",
            "a requested scope is not allowed for this client",
        ));
    }
    match p.get("code_challenge_method") {
        Some("S256") => {}
        None => {
            return Err((
                "invalid_request",
                "PKCE is required: code_challenge_method=S256",
            ))
        }
        Some(_) => {
            return Err((
                "invalid_request",
                "only code_challenge_method=S256 is supported",
            ))
        }
    }
    let challenge = p.get("code_challenge").unwrap_or("");
    let is_b64url = |c: u8| c.is_ascii_alphanumeric() || c == b'-' || c == b'_';
    if challenge.len() != 43 || !challenge.bytes().all(is_b64url) {
        return Err((
            "invalid_request",
            "code_challenge must be the 43-character S256 challenge",
        ));
    }
    let nonce = p.get("nonce");
    if nonce.is_some_and(|n| n.len() > 512) {
        return Err(("invalid_request", "nonce is too long"));
    }
    let max_age = match p.get("max_age") {
        None => None,
        Some(m) => match m.parse::<u32>() {
            Ok(v) => Some(i64::from(v)),
            Err(_) => return Err(("invalid_request", "max_age must be a non-negative integer")),
        },
    };
    let prompts: Vec<&str> = p
        .get("prompt")
        .unwrap_or("")
        .split(' ')
        .filter(|s| !s.is_empty())
        .collect();
    if prompts.iter().any(|v| !matches!(*v, "none" | "login")) {
        return Err(("invalid_request", "prompt may only be none or login"));
    }
    let prompt_none = prompts.contains(&"none");
    let prompt_login = prompts.contains(&"login");
    if prompt_none && prompts.len() > 1 {
        return Err((
            "invalid_request",
            "prompt=none cannot be combined with another value",
        ));
    }
    Ok(Request {
        scope: scopes.join(" "),
        code_challenge: challenge.to_owned(),
        nonce: nonce.map(str::to_owned),
        max_age,
        prompt_none,
        prompt_login,
        login_hint: p.get("login_hint").map(str::to_owned),
    })
}

impl Idp {
    /// The live session's enabled guest and `auth_time`, from the cookie.
    async fn session_guest(
        &self,
        headers: &HeaderMap,
    ) -> Result<Option<(Guest, i64)>, crate::IdpError> {
        let Some(value) = cookie(headers, self.session_cookie_name()) else {
            return Ok(None);
        };
        let Some((guest_id, auth_time)) =
            store::guests::session(self.pool(), &token_hash(value), now_ms()).await?
        else {
            return Ok(None);
        };
        let guest = store::guests::get(self.pool(), &guest_id)
            .await?
            .filter(|g| !g.disabled);
        Ok(guest.map(|g| (g, auth_time)))
    }
}
