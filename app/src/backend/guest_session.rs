//! The guest signed in at the portal's provider in this browser: its own cookie (not the staff
//! session), looked up at the provider, for the guest's page and the guest's chat.

use super::{errors::from_idp, mapping::guest_view, portal::Portal};
use crate::model::{AppError, GuestView};

/// The guest signed in at the provider in this browser (its own cookie, not the staff session).
pub async fn signed_in_guest(
    portal: &Portal,
    cookies: Option<&str>,
) -> Result<Option<GuestView>, AppError> {
    let Some(cookies) = cookies else {
        return Ok(None);
    };
    let guest = portal
        .guest_idp
        .guest_for_cookies(cookies)
        .await
        .map_err(from_idp)?;
    Ok(guest.filter(|g| !g.disabled).map(guest_view))
}
