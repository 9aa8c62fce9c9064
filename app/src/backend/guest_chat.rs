//! The guest's side of authenticated Web Messaging, as the Messenger does it: an authorization
//! code from this portal's provider (PKCE, `nonce`), exchanged at Genesys for the guest `jwt`,
//! which the page uses on the gateway socket. Verifier and nonce wait in the browser's
//! server-side session, the messaging session itself in the chat store (so staff can end it);
//! the page only ever holds the current `jwt`.

use genesys::{
    CsrfState, PkceChallenge, PkceVerifier, WebDeploymentsOAuthExchangeRequest,
    WebDeploymentsOAuthRequestParameters,
};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;
use url::Url;

use super::{
    chat_store::GuestChat,
    clock::now_unix,
    errors::from_api,
    guest_session::signed_in_guest,
    ids::random_id,
    portal::{Portal, WebMessaging},
    session::{store_error, GUEST_CHAT, GUEST_CHAT_PENDING},
};
use crate::model::{AppError, ChatSession, ChatState};

/// How long a started chat sign-in may take to come back.
const PENDING_TTL_SECS: i64 = 600;
/// A jwt with less than this left is refreshed before the page gets it.
const REFRESH_MARGIN_SECS: i64 = 60;
/// Genesys' guest jwt lives at most 15 minutes.
const JWT_LIFETIME_SECS: i64 = 15 * 60;

#[derive(Serialize, Deserialize)]
struct PendingChat {
    state: CsrfState,
    verifier: PkceVerifier,
    nonce: String,
    created_unix: i64,
}

fn messaging(portal: &Portal) -> Result<&WebMessaging, AppError> {
    portal
        .web_messaging
        .as_ref()
        .ok_or_else(|| AppError::NotConfigured {
            what: "Web Messaging deployment (GENESYS_WEB_DEPLOYMENT_ID)".into(),
        })
}

/// Starts the chat sign-in: returns the provider's authorize URL to send the browser to.
pub async fn start(portal: &Portal, session: &Session) -> Result<Url, AppError> {
    let wm = messaging(portal)?;
    let (state, verifier, nonce) = (CsrfState::generate(), PkceVerifier::generate(), random_id());
    let challenge = PkceChallenge::s256(&verifier);
    let mut url = portal.guest_idp.issuer().clone();
    url.set_path(&format!("{}/authorize", url.path().trim_end_matches('/')));
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &wm.client_id)
        .append_pair("redirect_uri", &wm.redirect_uri)
        .append_pair("scope", "openid email profile offline_access")
        .append_pair("state", state.secret())
        .append_pair("nonce", &nonce)
        .append_pair("code_challenge", challenge.as_str())
        .append_pair("code_challenge_method", "S256");
    let pending = PendingChat {
        state,
        verifier,
        nonce,
        created_unix: now_unix(),
    };
    session
        .insert(GUEST_CHAT_PENDING, pending)
        .await
        .map_err(store_error)?;
    Ok(url)
}

/// The provider's redirect: checks `state` (once, constant time), hands the code to Genesys
/// exactly as the Messenger would, and keeps the guest's messaging session.
pub async fn finish(
    portal: &Portal,
    session: &Session,
    cookies: Option<&str>,
    query: &CallbackQuery,
) -> Result<(), AppError> {
    let wm = messaging(portal)?;
    let guest = signed_in_guest(portal, cookies)
        .await?
        .ok_or(AppError::NotSignedIn)?;
    let pending: Option<PendingChat> = session
        .remove(GUEST_CHAT_PENDING)
        .await
        .map_err(store_error)?;
    let pending = pending
        .filter(|p| query.state.as_deref().is_some_and(|s| p.state.ct_eq(s)))
        .filter(|p| now_unix() - p.created_unix < PENDING_TTL_SECS)
        .ok_or(AppError::ForgedCallback)?;
    if let Some(error) = &query.error {
        return Err(super::errors::from_oauth_code(
            error.clone(),
            query
                .error_description
                .clone()
                .unwrap_or_else(|| error.clone()),
        ));
    }
    let code = query
        .code
        .clone()
        .filter(|c| !c.is_empty() && c.len() <= 2048)
        .ok_or(AppError::BadRequest {
            message: "the sign-in response carried no code".into(),
        })?;
    let request = WebDeploymentsOAuthExchangeRequest {
        deployment_id: wm.deployment_id.clone(),
        journey_context: None,
        oauth: WebDeploymentsOAuthRequestParameters {
            code,
            redirect_uri: wm.redirect_uri.clone(),
            nonce: Some(pending.nonce),
            max_age: None,
            code_verifier: Some(pending.verifier.secret().to_string()),
            iss: query.iss.clone(),
        },
    };
    let answer = portal
        .genesys
        .exchange_guest_code(&request)
        .await
        .map_err(from_api)?;
    let expires = now_unix() + JWT_LIFETIME_SECS;
    let chat_id = portal
        .guest_chats
        .insert(
            &guest.id,
            &answer.jwt,
            &answer.refresh_token,
            &uuid_like(),
            expires,
        )
        .await
        .map_err(store_error)?;
    session
        .insert(GUEST_CHAT, chat_id)
        .await
        .map_err(store_error)
}

/// The provider's answer on the chat's redirect URI.
#[derive(Debug, Default, Deserialize)]
pub struct CallbackQuery {
    pub code: Option<String>,
    pub state: Option<String>,
    pub iss: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// What the chat page needs now, with a jwt that has at least a minute left.
pub async fn state(portal: &Portal, session: &Session) -> Result<ChatState, AppError> {
    let Some(wm) = portal.web_messaging.as_ref() else {
        return Ok(ChatState::Unavailable);
    };
    let chat_id: Option<String> = session.get(GUEST_CHAT).await.map_err(store_error)?;
    let chat = match chat_id {
        Some(id) => portal.guest_chats.get(&id).await.map_err(store_error)?,
        None => None,
    };
    let Some(mut chat) = chat else {
        // Never started, or ended (by the guest or by staff).
        return Ok(ChatState::NotStarted);
    };
    if !fresh_jwt(portal, wm, &mut chat).await? {
        let _ = session.remove_value(GUEST_CHAT).await;
        return Ok(ChatState::NotStarted);
    }
    Ok(ChatState::Ready(ChatSession {
        gateway_url: wm.gateway_url.clone(),
        deployment_id: wm.deployment_id.clone(),
        session_token: chat.session_token.clone(),
        jwt: chat.jwt.secret().to_string(),
        expires_in_secs: (chat.expires_unix - now_unix()).max(0) as u64,
    }))
}

/// Makes sure `chat` has a jwt with a minute left, refreshing it at Genesys; `false` when the
/// session is over (revoked, or the guest disabled at the provider), and then it is forgotten.
async fn fresh_jwt(
    portal: &Portal,
    wm: &WebMessaging,
    chat: &mut GuestChat,
) -> Result<bool, AppError> {
    if chat.expires_unix - now_unix() >= REFRESH_MARGIN_SECS {
        return Ok(true);
    }
    match portal
        .genesys
        .refresh_guest_jwt(&wm.deployment_id, &chat.refresh_token)
        .await
    {
        Ok(jwt) => {
            chat.jwt = jwt;
            chat.expires_unix = now_unix() + JWT_LIFETIME_SECS;
            portal
                .guest_chats
                .update_jwt(&chat.id, &chat.jwt, chat.expires_unix)
                .await
                .map_err(store_error)?;
            Ok(true)
        }
        Err(e) if e.is_unauthorized() => {
            portal
                .guest_chats
                .delete(&chat.id)
                .await
                .map_err(store_error)?;
            Ok(false)
        }
        Err(e) => Err(from_api(e)),
    }
}

/// Ends this browser's messaging session at Genesys (its sockets are logged out).
pub async fn end(portal: &Portal, session: &Session) -> Result<(), AppError> {
    let chat_id: Option<String> = session.remove(GUEST_CHAT).await.map_err(store_error)?;
    if let Some(chat) = match chat_id {
        Some(id) => portal.guest_chats.get(&id).await.map_err(store_error)?,
        None => None,
    } {
        revoke(portal, chat).await?;
    }
    Ok(())
}

/// Ends every messaging session of a guest (staff, from the guest's page); returns how many.
pub async fn end_all_of(portal: &Portal, guest_id: &str) -> Result<usize, AppError> {
    let chats = portal
        .guest_chats
        .of_guest(guest_id)
        .await
        .map_err(store_error)?;
    let count = chats.len();
    for chat in chats {
        revoke(portal, chat).await?;
    }
    Ok(count)
}

/// Revokes a session's jwt (refreshed first if it expired: revoke needs a live one) and
/// forgets the session.
async fn revoke(portal: &Portal, mut chat: GuestChat) -> Result<(), AppError> {
    let wm = messaging(portal)?;
    if fresh_jwt(portal, wm, &mut chat).await? {
        match portal.genesys.revoke_guest_jwt(&chat.jwt).await {
            Ok(()) => {}
            // Already dead at Genesys: nothing left to end.
            Err(e) if e.is_unauthorized() => {}
            Err(e) => return Err(from_api(e)),
        }
        portal
            .guest_chats
            .delete(&chat.id)
            .await
            .map_err(store_error)?;
    }
    Ok(())
}

/// A random version-4 UUID, the shape Genesys' gateway expects for a session token.
fn uuid_like() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn session_tokens_are_version_4_uuids() {
        let t = super::uuid_like();
        let parts: Vec<&str> = t.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('4'));
        assert!("89ab".contains(&parts[3][..1]));
        assert_ne!(t, super::uuid_like());
    }
}
