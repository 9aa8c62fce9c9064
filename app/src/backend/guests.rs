//! Web Messaging guests, for the staff who may manage them (`PORTAL_GUEST_MANAGERS`) and for
//! the guest's own page: the portal's guest identity provider (`guest_idp`) does the work.

use guest_idp::NewGuest;
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use super::{
    access::require_user,
    errors::from_idp,
    mapping::guest_view,
    portal::Portal,
    session::{store_error, SignedIn, GUEST_INVITATION},
};
use crate::model::{
    parse_attributes, AppError, GuestDetail, GuestEvent, GuestList, InvitationLink,
};

/// Guests shown per page of the list.
const PAGE_SIZE: u32 = 25;
/// Audit lines shown with a guest.
const EVENTS_SHOWN: u32 = 50;

/// An invitation link waiting to be shown once to the staff member who made it.
#[derive(Serialize, Deserialize)]
struct PendingInvitation {
    guest_id: String,
    link: InvitationLink,
}

/// The signed-in staff member, if they may manage guests.
async fn manager(portal: &Portal, session: &Session) -> Result<SignedIn, AppError> {
    let user = require_user(portal, session).await?;
    if portal.guest_managers.allows(&user) {
        Ok(user)
    } else {
        Err(AppError::NotAdmin)
    }
}

/// Who the audit trail names: the staff member's Genesys user id and name.
fn actor(user: &SignedIn) -> String {
    format!("{} ({})", user.user_name, user.user_id)
}

pub async fn list(
    portal: &Portal,
    session: &Session,
    search: &str,
    page: u32,
) -> Result<GuestList, AppError> {
    manager(portal, session).await?;
    let search: String = search.trim().chars().take(100).collect();
    let found = portal
        .guest_idp
        .list_guests(&search, page.max(1), PAGE_SIZE)
        .await
        .map_err(from_idp)?;
    Ok(GuestList {
        guests: found.guests.into_iter().map(guest_view).collect(),
        total: found.total,
        page: found.page,
        page_count: found.page_count,
    })
}

/// A guest, their audit trail, and the invitation made for them just now, if any.
pub async fn detail(portal: &Portal, session: &Session, id: &str) -> Result<GuestDetail, AppError> {
    manager(portal, session).await?;
    let guest = portal
        .guest_idp
        .guest(id)
        .await
        .map_err(from_idp)?
        .ok_or(AppError::NotFound)?;
    let events = portal
        .guest_idp
        .audit(Some(id), EVENTS_SHOWN)
        .await
        .map_err(from_idp)?
        .into_iter()
        .map(|e| GuestEvent {
            at_unix: e.at_unix,
            actor: e.actor,
            action: e.action,
            detail: e.detail,
            replica: e.replica,
        })
        .collect();
    // Shown once: the link is a secret of the guest's.
    let pending: Option<PendingInvitation> = session
        .remove(GUEST_INVITATION)
        .await
        .map_err(store_error)?;
    let new_invitation = pending.filter(|p| p.guest_id == id).map(|p| p.link);
    Ok(GuestDetail {
        guest: guest_view(guest),
        events,
        new_invitation,
    })
}

/// Provisions a guest and keeps their invitation for the guest's page; returns the guest's id.
pub async fn create(
    portal: &Portal,
    session: &Session,
    given_name: &str,
    family_name: &str,
    email: &str,
    attributes: &str,
) -> Result<String, AppError> {
    let user = manager(portal, session).await?;
    let attributes =
        parse_attributes(attributes).map_err(|message| AppError::BadRequest { message })?;
    let new = NewGuest {
        given_name: given_name.trim().to_string(),
        family_name: family_name.trim().to_string(),
        email: email.trim().to_string(),
        attributes: attributes.into_iter().collect(),
    };
    let (guest, invitation) = portal
        .guest_idp
        .create_guest(new, &actor(&user))
        .await
        .map_err(from_idp)?;
    keep_invitation(session, &guest.id, invitation).await?;
    Ok(guest.id)
}

/// A new invitation for a guest (earlier unused ones stop working).
pub async fn reinvite(portal: &Portal, session: &Session, id: &str) -> Result<(), AppError> {
    let user = manager(portal, session).await?;
    let invitation = portal
        .guest_idp
        .reinvite(id, &actor(&user))
        .await
        .map_err(from_idp)?;
    keep_invitation(session, id, invitation).await
}

pub async fn set_disabled(
    portal: &Portal,
    session: &Session,
    id: &str,
    disabled: bool,
) -> Result<(), AppError> {
    let user = manager(portal, session).await?;
    portal
        .guest_idp
        .set_disabled(id, disabled, &actor(&user))
        .await
        .map_err(from_idp)?;
    if disabled {
        // A disabled guest gets no new codes from the provider; the conversations they have
        // open end now rather than when their jwt next needs the provider.
        let ended = super::guest_chat::end_all_of(portal, id).await?;
        tracing::info!(user = %user.user_id, guest = %id, ended, "guest disabled, messaging sessions ended");
    }
    Ok(())
}

pub async fn delete(portal: &Portal, session: &Session, id: &str) -> Result<(), AppError> {
    let user = manager(portal, session).await?;
    super::guest_chat::end_all_of(portal, id).await?;
    portal
        .guest_idp
        .delete_guest(id, &actor(&user))
        .await
        .map_err(from_idp)
}

async fn keep_invitation(
    session: &Session,
    guest_id: &str,
    invitation: guest_idp::Invitation,
) -> Result<(), AppError> {
    let pending = PendingInvitation {
        guest_id: guest_id.to_string(),
        link: InvitationLink {
            url: invitation.url,
            expires_unix: invitation.expires_unix,
        },
    };
    session
        .insert(GUEST_INVITATION, pending)
        .await
        .map_err(store_error)
}

/// Ends every Web Messaging session of a guest (their sockets are logged out); how many.
pub async fn end_chats(portal: &Portal, session: &Session, id: &str) -> Result<usize, AppError> {
    let user = manager(portal, session).await?;
    let ended = super::guest_chat::end_all_of(portal, id).await?;
    tracing::info!(user = %user.user_id, guest = %id, ended, "guest messaging sessions ended by staff");
    Ok(ended)
}

/// The `kid` of the provider's signing key, for the portal's admins.
pub async fn signing_key(portal: &Portal, session: &Session) -> Result<String, AppError> {
    admin(portal, session).await?;
    Ok(portal.guest_idp.signing_key_id())
}

/// A new signing key for the provider's ID tokens; the old public key stays in the JWKS until
/// the tokens it signed have expired. Returns the new `kid`.
pub async fn rotate_signing_key(portal: &Portal, session: &Session) -> Result<String, AppError> {
    let user = admin(portal, session).await?;
    let kid = portal
        .guest_idp
        .rotate_signing_key()
        .await
        .map_err(from_idp)?;
    tracing::info!(user = %user.user_id, %kid, "guest provider signing key rotated");
    Ok(kid)
}

async fn admin(portal: &Portal, session: &Session) -> Result<SignedIn, AppError> {
    let user = require_user(portal, session).await?;
    if portal.admins.allows(&user) {
        Ok(user)
    } else {
        Err(AppError::NotAdmin)
    }
}
