//! The guest signed in at the portal's provider in this browser: its own cookie (not the staff
//! session), looked up at the provider, for the guest's page and the guest's chat.

use super::{errors::from_idp, mapping::guest_view, portal::Portal};
use crate::model::{AppError, GuestView};

/// The guest signed in at the provider in this browser (its own cookie, not the staff session).
pub async fn signed_in_guest(
    portal: &Portal,
    cookies: Option<&str>,
) -> Result<Option<GuestView>, AppError> {
    let name = portal.guest_idp.session_cookie_name();
    let Some(value) = cookies.and_then(|c| cookie_value(c, name)) else {
        return Ok(None);
    };
    let guest = portal
        .guest_idp
        .guest_for_session(value)
        .await
        .map_err(from_idp)?;
    Ok(guest.filter(|g| !g.disabled).map(guest_view))
}

/// The value of cookie `name` in a `Cookie` header.
fn cookie_value<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    #[test]
    fn cookies_are_found_by_exact_name() {
        let header = "portal-session=abc; guest-session=xyz; xguest-session=no";
        assert_eq!(super::cookie_value(header, "guest-session"), Some("xyz"));
        assert_eq!(super::cookie_value(header, "guest"), None);
    }
}
