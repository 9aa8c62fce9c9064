//! The Client App (embedded) mode: the portal framed by Genesys Cloud on its apps host.
//!
//! - **The host's URL** (`/embed?gcHostOrigin=…&gcTargetEnv=…&gcLangTag=…&gcUseDarkTheme=…
//!   &gcConversationId=…`) is untrusted input: [`check_host`] accepts it only when the host
//!   origin is on the allow-list and the target environment is this portal's region.
//! - **Sign-in** cannot happen inside the frame (Genesys' sign-in page refuses to be framed,
//!   and a third-party frame gets no first-party cookie). The frame opens a top-level popup
//!   that runs the normal code flow for a *pending frame*; the callback does not sign the
//!   popup in but issues a one-time handoff code for that frame ([`Handoffs::issue`]); the
//!   popup posts the code to its opener (exact target origin: this site); the frame exchanges
//!   it, with the pending frame's secret that only the frame holds, for its own session
//!   ([`redeem`]), whose cookie is `Secure; SameSite=None; Partitioned` (CHIPS). No token
//!   ever crosses `postMessage`: the code is worth one session for one frame, once, for a
//!   minute.

use tower_sessions::Session;

use super::{
    access::{require_user, with_user_token},
    frames::{Embed, Refusal, AUTHENTICATED_PREFIX},
    portal::Portal,
    session::{
        sign_session_in, store_error, SignedIn, StoreUnavailable, EMBED_CONTEXT, EMBED_HANDOFF,
    },
};
use crate::model::{AppError, ConversationView, FrameStart, GuestIdentity, HostContext};

fn embed_of(portal: &Portal) -> Result<&Embed, AppError> {
    portal.embed.as_ref().ok_or(AppError::NotConfigured {
        what: "embedded (Client App) mode (PORTAL_EMBED)".into(),
    })
}

/// What the entry page does for this host context: a signed-in frame goes on to its landing
/// page (the context kept in its session: theme, language, conversation); any other gets a
/// pending frame to sign in with.
pub enum Entry {
    SignedIn { landing: String },
    SignIn(FrameStart, HostContext),
}

/// The entry: checks the host's URL, then either updates the framed session's context or
/// starts a pending frame.
pub async fn enter(portal: &Portal, session: &Session, raw_query: &str) -> Result<Entry, AppError> {
    let embed = embed_of(portal)?;
    let context = super::frames::check_host(&embed.settings, raw_query)?;
    if super::access::signed_in(portal, session).await?.is_some() {
        session
            .insert(EMBED_CONTEXT, &context)
            .await
            .map_err(store_error)?;
        return Ok(Entry::SignedIn {
            landing: context.landing(),
        });
    }
    let frame = embed
        .handoffs
        .start_frame(context.clone())
        .await
        .map_err(store_error)?;
    Ok(Entry::SignIn(frame, context))
}

/// The popup's callback for a frame: the sign-in is not the popup's but the frame's; the code
/// waits in the popup's session for `/embed/done`. `Err` when the frame stopped waiting.
pub(super) async fn hand_to_frame(
    portal: &Portal,
    session: &Session,
    frame_id: &str,
    user: SignedIn,
) -> Result<Result<(), AppError>, StoreUnavailable> {
    let Some(embed) = portal.embed.as_ref() else {
        return Ok(Err(AppError::NotConfigured {
            what: "embedded (Client App) mode".into(),
        }));
    };
    let issued = embed
        .handoffs
        .issue(frame_id, user)
        .await
        .map_err(StoreUnavailable::log)?;
    let Some(code) = issued else {
        return Ok(Err(AppError::InvalidGrant {
            description: "the Genesys Cloud window this sign-in was for has closed or waited \
                          too long; open the app in Genesys Cloud again"
                .into(),
        }));
    };
    session
        .insert(EMBED_HANDOFF, &code)
        .await
        .map_err(StoreUnavailable::log)?;
    Ok(Ok(()))
}

/// `/embed/done` in the popup: the handoff code, once (it leaves the popup's session).
pub async fn take_popup_code(session: &Session) -> Result<Option<String>, StoreUnavailable> {
    session
        .remove::<String>(EMBED_HANDOFF)
        .await
        .map_err(StoreUnavailable::log)
}

/// The frame's exchange: a valid code for this frame, with its secret, signs this (framed)
/// session in under a new id. Returns where the frame goes next.
pub async fn redeem(
    portal: &Portal,
    session: &Session,
    code: &str,
    frame_id: &str,
    frame_secret: &str,
) -> Result<Result<String, Refusal>, StoreUnavailable> {
    let Some(embed) = portal.embed.as_ref() else {
        return Ok(Err(Refusal::UnknownCode));
    };
    let taken = embed
        .handoffs
        .take(code, frame_id, frame_secret)
        .await
        .map_err(StoreUnavailable::log)?;
    let (user, context) = match taken {
        Ok(found) => found,
        Err(refusal) => {
            tracing::warn!(?refusal, "embedded sign-in handoff refused");
            return Ok(Err(refusal));
        }
    };
    sign_session_in(session, &user, portal.settings.idle_timeout).await?;
    session
        .insert(EMBED_CONTEXT, &context)
        .await
        .map_err(StoreUnavailable::log)?;
    tracing::info!(user = %user.user_id, "signed in inside Genesys Cloud (embedded)");
    Ok(Ok(context.landing()))
}

/// The host context of a framed session, if this session is one.
pub async fn host_context(session: &Session) -> Option<HostContext> {
    session
        .get::<HostContext>(EMBED_CONTEXT)
        .await
        .ok()
        .flatten()
}

/// The interaction widget: the conversation's customer and, when Genesys verified them as a
/// guest of this portal's provider, the provider's record of them.
pub async fn conversation(
    portal: &Portal,
    session: &Session,
    id: &str,
) -> Result<ConversationView, AppError> {
    require_user(portal, session).await?;
    let id = uuid::Uuid::parse_str(id)
        .ok()
        .filter(|_| id.len() == 36)
        .map(|u| u.to_string())
        .ok_or_else(|| AppError::BadRequest {
            message: "That is not a conversation id.".into(),
        })?;
    let (_, answer) = with_user_token(portal, session, |token| {
        let genesys = portal.genesys.clone();
        let id = id.clone();
        async move { genesys.conversation(&token, &id).await }
    })
    .await?;
    let conversation = answer.body;
    let customer = conversation.customer().cloned().unwrap_or_default();
    let mut participant_data = customer.attributes.clone();
    let verified_sub = participant_data
        .get(&format!("{AUTHENTICATED_PREFIX}sub"))
        .cloned();
    participant_data.retain(|k, _| !k.starts_with(AUTHENTICATED_PREFIX));
    let guest = match verified_sub {
        None => GuestIdentity::Anonymous,
        Some(sub) => match portal.guest_idp.guest(&sub).await {
            Ok(Some(g)) => GuestIdentity::Verified {
                name: g.full_name(),
                email: g.email,
                attributes: g.attributes,
                disabled: g.disabled,
                sub,
            },
            Ok(None) => GuestIdentity::Unknown { sub },
            Err(e) => return Err(store_error(e)),
        },
    };
    Ok(ConversationView {
        conversation_id: conversation.id,
        started: conversation.start_time,
        customer_name: customer.name,
        connected: customer
            .messages
            .iter()
            .any(|m| m.state.as_deref() == Some("connected")),
        guest,
        participant_data,
    })
}
