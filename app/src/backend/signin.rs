//! Sign-in and sign-out, the one owner of the session's login records: a PKCE login is started
//! (verifier, state and issuer kept here), finished at the callback, and ended at sign-out.
//! The server's routes only turn the results into redirects.

use genesys::{
    check_token_info, AuthorizationCode, AuthorizeRequest, CsrfState, PkceChallenge, PkceVerifier,
};
use tower_sessions::{Expiry, Session};
use url::Url;

use super::{
    access::{drop_grant, end_session},
    clock::now_unix,
    errors::{from_api, from_oauth, from_oauth_code, CALLBACK_ERROR_CODES},
    grants::Grant,
    portal::Portal,
    session::{
        sign_session_in, PendingLogin, SignedIn, StoreUnavailable, AUTH_FAILURE, PENDING_LOGINS,
        SIGNED_IN,
    },
};
use crate::model::AppError;

/// Where the browser goes when a sign-in fails; the reason waits in the session.
pub const FAILED_PATH: &str = "/auth/failed";
/// Where a callback that no sign-in of this browser started goes: nothing is stored for it,
/// so junk callbacks cannot grow the session table.
pub const UNRECOGNISED_PATH: &str = "/auth/failed?reason=unrecognised";
/// Where the later of two callbacks of one sign-in goes; its session is left as it was, so
/// the earlier one's sign-in stands.
pub const COMPLETED_PATH: &str = "/auth/failed?reason=completed";
/// The longest callback query read; a longer one is not Genesys'.
const MAX_CALLBACK_QUERY: usize = 8 * 1024;

/// Starts a login for this browser: a fresh verifier, state and issuer kept in the session
/// (at most `max_pending_per_browser`, each for `pending_login_ttl`); returns Genesys'
/// authorize URL to send the browser to.
pub async fn start(
    portal: &Portal,
    session: &Session,
    return_to: &str,
) -> Result<Url, StoreUnavailable> {
    let return_to = safe_return_path(return_to).unwrap_or_else(|| "/dashboard".to_string());
    begin(portal, session, return_to, None).await
}

/// Starts a login in a popup for the pending frame `frame_id` (Client App mode): the same
/// code flow, whose callback hands the sign-in to the frame. `Ok(None)` when no such frame
/// is waiting.
pub async fn start_for_frame(
    portal: &Portal,
    session: &Session,
    frame_id: &str,
) -> Result<Option<Url>, StoreUnavailable> {
    let waiting = match portal.embed.as_ref() {
        Some(e) => e
            .handoffs
            .is_pending(frame_id)
            .await
            .map_err(StoreUnavailable::log)?,
        None => false,
    };
    if !waiting {
        return Ok(None);
    }
    let url = begin(
        portal,
        session,
        super::frames::DONE_PATH.to_string(),
        Some(frame_id.to_string()),
    )
    .await?;
    Ok(Some(url))
}

async fn begin(
    portal: &Portal,
    session: &Session,
    return_to: String,
    embed_frame: Option<String>,
) -> Result<Url, StoreUnavailable> {
    let mut pending = pending_logins(session).await?;
    let now = now_unix();
    let ttl = portal.settings.pending_login_ttl.as_secs() as i64;
    pending.retain(|p| now - p.created_unix < ttl);
    while pending.len() >= portal.settings.max_pending_per_browser {
        pending.remove(0);
    }
    let state = CsrfState::generate();
    let verifier = PkceVerifier::generate();
    let challenge = PkceChallenge::s256(&verifier);
    let mut request = AuthorizeRequest::for_client(&portal.oauth_client, &state, &challenge)
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
        embed_frame,
    });
    session
        .insert(PENDING_LOGINS, pending)
        .await
        .map_err(StoreUnavailable::log)?;
    let signed_in = session.get::<SignedIn>(SIGNED_IN).await.ok().flatten();
    if signed_in.is_none() {
        // An anonymous pre-login session lives only as long as a pending login.
        session.set_expiry(Some(Expiry::OnInactivity(time::Duration::seconds(
            ttl.max(60),
        ))));
    }
    Ok(url)
}

/// Why a callback did not sign anybody in.
enum Failure {
    /// Shown on the failure page.
    SignIn(AppError),
    Store(StoreUnavailable),
}

impl From<AppError> for Failure {
    fn from(e: AppError) -> Self {
        Failure::SignIn(e)
    }
}

impl From<StoreUnavailable> for Failure {
    fn from(e: StoreUnavailable) -> Self {
        Failure::Store(e)
    }
}

/// Finishes a login at the callback: checks state (one use, constant time, same issuer),
/// redeems the code, checks the token was issued to this client, and signs the session in
/// under a new id. Returns where the browser goes next: where the login started, or the
/// failure page with the reason kept in the session.
pub async fn finish(
    portal: &Portal,
    session: &Session,
    raw_query: &str,
) -> Result<String, StoreUnavailable> {
    let outcome = match consume_pending(portal, session, raw_query).await {
        Ok((login, code)) => sign_in(portal, session, login, code).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(return_to) => Ok(return_to),
        Err(Failure::Store(e)) => Err(e),
        Err(Failure::SignIn(AppError::SignInCompleted)) => {
            tracing::info!("a second response to a sign-in already claimed: nothing redeemed");
            Ok(COMPLETED_PATH.to_string())
        }
        Err(Failure::SignIn(AppError::ForgedCallback)) if session.is_empty().await => {
            tracing::info!("a sign-in response no sign-in of this browser started");
            Ok(UNRECOGNISED_PATH.to_string())
        }
        Err(Failure::SignIn(error)) => {
            tracing::info!(reason = %error.title(), "sign-in failed");
            session
                .insert(AUTH_FAILURE, &error)
                .await
                .map_err(StoreUnavailable::log)?;
            Ok(FAILED_PATH.to_string())
        }
    }
}

/// The pending login the callback answers, consumed, and the code it carries.
async fn consume_pending(
    portal: &Portal,
    session: &Session,
    raw: &str,
) -> Result<(PendingLogin, AuthorizationCode), Failure> {
    if raw.len() > MAX_CALLBACK_QUERY {
        return Err(AppError::ForgedCallback.into());
    }
    let query = parse_callback_query(raw).map_err(|_| AppError::ForgedCallback)?;
    let state = query.state.as_deref().ok_or(AppError::ForgedCallback)?;
    let mut pending = pending_logins(session).await?;
    // Compare against every pending login in constant time, without stopping at a match.
    let mut found = None;
    for (i, p) in pending.iter().enumerate() {
        if p.state.ct_eq(state) {
            found = Some(i);
        }
    }
    // Unknown or already used: ignore whatever else the response says, and drop the logins it
    // was checked against (someone is guessing or replaying; a real sign-in starts again).
    let Some(index) = found else {
        // A second callback of a sign-in that another request (or replica) already finished:
        // it read the session after the first consumed the login. Its session stays as it is.
        if state.len() <= 512 {
            match portal.claims.is_claimed(state).await {
                Ok(true) => return Err(AppError::SignInCompleted.into()),
                Ok(false) => {}
                Err(e) => return Err(StoreUnavailable::log(e).into()),
            }
        }
        if !pending.is_empty() {
            session
                .remove_value(PENDING_LOGINS)
                .await
                .map_err(StoreUnavailable::log)?;
            if session.is_empty().await {
                session.flush().await.map_err(StoreUnavailable::log)?;
            }
        }
        return Err(AppError::ForgedCallback.into());
    };
    // One use across requests and replicas, before the session is touched: a second callback
    // of this sign-in (even one that read the session before the first saved it) stops here.
    match portal.claims.claim(state).await {
        Ok(true) => {}
        Ok(false) => return Err(AppError::SignInCompleted.into()),
        Err(e) => return Err(StoreUnavailable::log(e).into()),
    }
    let login = pending.remove(index);
    // Consumed before anything else can go wrong: a state is good for one use only.
    session
        .insert(PENDING_LOGINS, &pending)
        .await
        .map_err(StoreUnavailable::log)?;
    session.save().await.map_err(StoreUnavailable::log)?;
    let ttl = portal.settings.pending_login_ttl;
    if now_unix() - login.created_unix >= ttl.as_secs() as i64 {
        return Err(AppError::InvalidGrant {
            description: format!(
                "the sign-in took too long (more than {})",
                minutes_text(ttl)
            ),
        }
        .into());
    }
    let issuer = portal.genesys.environment().issuer();
    if login.issuer != issuer || query.iss.as_deref().is_some_and(|iss| iss != issuer) {
        return Err(AppError::ForgedCallback.into());
    }
    if let Some(error) = query.error {
        let description = query.error_description.unwrap_or_else(|| error.clone());
        let known = CALLBACK_ERROR_CODES.contains(&error.as_str());
        let code = if known { error } else { "unknown_error".into() };
        return Err(from_oauth_code(code, description).into());
    }
    match query.code.filter(|c| !c.is_empty() && c.len() <= 2048) {
        Some(code) => Ok((login, AuthorizationCode::new(code))),
        None => Err(AppError::BadRequest {
            message: "the sign-in response carried no code".into(),
        }
        .into()),
    }
}

/// Revokes a token the portal obtained and no longer needs, without making the user wait.
fn revoke_later(portal: &Portal, token: genesys::AccessToken) {
    let genesys = portal.genesys.clone();
    tokio::spawn(async move {
        if let Err(e) = genesys.revoke_token(&token).await {
            tracing::warn!(error = %e, "could not revoke a token the portal no longer needs");
        }
    });
}

/// Whose the new tokens are: the token's info (checked to be this client's) and the user.
/// Genesys may refuse a token it has just minted (revoked, or expired at once): then one
/// refresh, and the same questions with the new token.
async fn identify(
    portal: &Portal,
    tokens: &mut genesys::TokenSet,
) -> Result<(genesys::TokenInfo, genesys::User), AppError> {
    match ask_who(portal, &tokens.access_token).await {
        Err(AppError::SessionExpired) if tokens.refresh_token.is_some() => {
            let refresh_token = tokens.refresh_token.as_ref().expect("checked above");
            let fresh = portal
                .genesys
                .refresh(&portal.oauth_client, refresh_token)
                .await
                .map_err(from_oauth)?;
            tracing::info!("a token refused right after the code exchange: refreshed once");
            // The refused token is dead at Genesys already: nothing to revoke.
            tokens.access_token = fresh.access_token;
            tokens.expires_in = fresh.expires_in;
            if fresh.refresh_token.is_some() {
                tokens.refresh_token = fresh.refresh_token;
            }
            ask_who(portal, &tokens.access_token).await
        }
        other => other,
    }
}

async fn ask_who(
    portal: &Portal,
    token: &genesys::AccessToken,
) -> Result<(genesys::TokenInfo, genesys::User), AppError> {
    let info = portal
        .genesys
        .token_info(token)
        .await
        .map_err(from_api)?
        .body;
    check_token_info(&info, &portal.oauth_client.client_id, &[]).map_err(|_| {
        AppError::InvalidClient {
            description: "the token was issued to another OAuth client".into(),
        }
    })?;
    let me = portal
        .genesys
        .users_me(token, &[])
        .await
        .map_err(from_api)?
        .body;
    Ok((info, me))
}

/// Redeems the code and signs the session in; returns the login's return path.
async fn sign_in(
    portal: &Portal,
    session: &Session,
    login: PendingLogin,
    code: AuthorizationCode,
) -> Result<String, Failure> {
    let genesys = &portal.genesys;
    // One budget for the three calls: a slow Genesys gets a page that says so.
    let deadline = tokio::time::Instant::now() + portal.settings.callback_budget;
    let mut tokens = tokio::time::timeout_at(
        deadline,
        genesys.exchange_code(&portal.oauth_client, code, login.verifier),
    )
    .await
    .map_err(|_| AppError::UpstreamTimeout)?
    .map_err(from_oauth)?;
    let checked = tokio::time::timeout_at(deadline, identify(portal, &mut tokens))
        .await
        .unwrap_or(Err(AppError::UpstreamTimeout));
    let (info, me) = match checked {
        Ok(checked) => checked,
        Err(e) => {
            // Minted but not kept: revoked, not left alive at Genesys.
            revoke_later(portal, tokens.access_token.clone());
            return Err(e.into());
        }
    };
    let now = now_unix();
    let grant = Grant {
        access_token: tokens.access_token,
        refresh_token: tokens.refresh_token,
        expires_at_unix: now + tokens.expires_in.as_secs() as i64,
    };
    let delete_after = now + portal.settings.absolute_timeout.as_secs() as i64;
    if login.embed_frame.is_none() {
        replace_previous(portal, session).await;
    }
    let grant_id = match portal.grants.insert(&grant, delete_after).await {
        Ok(id) => id,
        Err(e) => {
            revoke_later(portal, grant.access_token.clone());
            return Err(StoreUnavailable::log(e).into());
        }
    };
    let user = SignedIn {
        grant_id,
        user_id: me.id,
        user_name: me.name,
        username: me.username,
        email: me.email,
        org_name: info
            .organization_name()
            .unwrap_or_else(|| "your organization".into()),
        issuer: login.issuer,
        scopes: info.authorized_scope,
        signed_in_unix: now,
    };
    if let Some(frame) = &login.embed_frame {
        // A popup's sign-in is its frame's: handed over with a one-time code, never kept here.
        let _ = session.remove_value(PENDING_LOGINS).await;
        return match super::embed::hand_to_frame(portal, session, frame, user.clone()).await? {
            Ok(()) => {
                tracing::info!(user = %user.user_id, "signed in for a Genesys Cloud frame");
                Ok(login.return_to)
            }
            Err(e) => {
                drop_grant(portal, &user.grant_id).await;
                Err(e.into())
            }
        };
    }
    sign_session_in(session, &user, portal.settings.idle_timeout).await?;
    tracing::info!(user = %user.user_id, "signed in");
    Ok(login.return_to)
}

/// Signing in again replaces a previous sign-in of this browser: its tokens are revoked, its
/// grant and exports deleted.
async fn replace_previous(portal: &Portal, session: &Session) {
    if let Ok(Some(previous)) = session.get::<SignedIn>(SIGNED_IN).await {
        if let Ok(Some(old)) = portal.grants.get(&previous.grant_id).await {
            revoke_later(portal, old.access_token);
        }
        drop_grant(portal, &previous.grant_id).await;
    }
}

/// Signs out: revokes the token at Genesys, destroys the session and its grant, and returns
/// where the browser goes: home, or on to Genesys' own logout page when configured.
pub async fn sign_out(portal: &Portal, session: &Session) -> Result<String, StoreUnavailable> {
    if let Ok(Some(user)) = session.get::<SignedIn>(SIGNED_IN).await {
        if let Ok(Some(grant)) = portal.grants.get(&user.grant_id).await {
            if let Err(e) = portal.genesys.revoke_token(&grant.access_token).await {
                tracing::warn!(error = %e, "token revocation failed; the session ends anyway");
            }
        }
        end_session(portal, session, &user).await;
        tracing::info!(user = %user.user_id, "signed out");
    } else {
        session.flush().await.map_err(StoreUnavailable::log)?;
    }
    let home = format!("{}/", portal.public_origin);
    if portal.genesys_logout {
        if let Ok(home_url) = Url::parse(&home) {
            let url = genesys::logout_url(
                portal.genesys.environment(),
                &portal.oauth_client.client_id,
                &home_url,
            );
            return Ok(url.to_string());
        }
    }
    Ok("/".to_string())
}

async fn pending_logins(session: &Session) -> Result<Vec<PendingLogin>, StoreUnavailable> {
    let pending = session
        .get(PENDING_LOGINS)
        .await
        .map_err(StoreUnavailable::log)?;
    Ok(pending.unwrap_or_default())
}

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

/// Property tests over the parsers of outside input (the callback query and `return_to`):
/// no input panics, and whatever is accepted keeps its promise. `PROPTEST_CASES` sets the
/// count (2,000 by default here; the README gives the long run).
#[cfg(test)]
mod tests_fuzz {
    use proptest::prelude::*;

    use super::{parse_callback_query, safe_return_path};

    fn config() -> ProptestConfig {
        ProptestConfig {
            cases: crate::model::proptest_cases(),
            ..ProptestConfig::default()
        }
    }

    /// Strings shaped like what an attacker would try: slashes, backslashes, `%`-escapes of
    /// them, schemes, controls, and any Unicode.
    fn hostile() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            Just("/".to_string()),
            Just("\\".to_string()),
            Just("%2f".to_string()),
            Just("%2F".to_string()),
            Just("%5c".to_string()),
            Just("%252f".to_string()),
            Just("%00".to_string()),
            Just("javascript:".to_string()),
            Just("https://evil.example".to_string()),
            Just("?".to_string()),
            Just("#".to_string()),
            Just("\t".to_string()),
            "[a-z0-9._~-]{0,8}",
            any::<String>(),
        ];
        prop::collection::vec(piece, 0..12).prop_map(|v| v.concat())
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn return_paths_never_leave_the_site(target in hostile()) {
            if let Some(path) = safe_return_path(&target) {
                prop_assert_eq!(&path, &target);
                prop_assert!(path.starts_with('/'));
                prop_assert!(!path.starts_with("//") && !path.starts_with("/\\"));
                prop_assert!(!path.chars().any(|c| c.is_control() || c == '\\'));
                let decoded = percent_encoding::percent_decode_str(&path).decode_utf8_lossy();
                prop_assert!(!decoded.starts_with("//") && !decoded.contains('\\'));
                prop_assert!(!decoded.chars().any(char::is_control));
                prop_assert!(path.len() <= 2048);
            }
        }

        #[test]
        fn callback_queries_never_panic_and_repeats_are_refused(raw in hostile(), key in "(code|state|error|error_description|iss)") {
            let _ = parse_callback_query(&raw);
            let repeated = format!("{raw}&{key}=a&{key}=b");
            prop_assert!(parse_callback_query(&repeated).is_err());
        }
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
