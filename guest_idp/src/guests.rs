//! Guests as the admin sees them: the records, the rules a new guest must follow, and the
//! page of a search.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::IdpError;

/// What the admin enters for a new guest.
#[derive(Debug, Clone, Default)]
pub struct NewGuest {
    /// `given_name` claim, 1 to 100 characters.
    pub given_name: String,
    /// `family_name` claim, 1 to 100 characters.
    pub family_name: String,
    /// `email` claim, at most 254 characters.
    pub email: String,
    /// Extra claims (at most 20; keys 1 to 64 of `A-Za-z0-9_.-`, values at most 256).
    pub attributes: BTreeMap<String, String>,
}

/// A guest. `id` is the `sub` claim: random, stable, never reused.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Guest {
    /// The stable subject identifier (a UUID).
    pub id: String,
    /// Given name.
    pub given_name: String,
    /// Family name.
    pub family_name: String,
    /// E-mail address.
    pub email: String,
    /// Extra claims.
    pub attributes: BTreeMap<String, String>,
    /// A disabled guest cannot sign in, refresh or call userinfo.
    pub disabled: bool,
    /// When the admin created the guest.
    pub created_unix: i64,
    /// When the guest last opened an invitation.
    pub last_sign_in_unix: Option<i64>,
}

impl Guest {
    /// `given_name family_name`, the `name` claim.
    pub fn full_name(&self) -> String {
        format!("{} {}", self.given_name, self.family_name)
    }
}

/// One page of guests.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GuestPage {
    /// The guests on this page, newest first.
    pub guests: Vec<Guest>,
    /// How many guests match the search.
    pub total: u64,
    /// This page's number, from 1.
    pub page: u32,
    /// How many pages there are (at least 1).
    pub page_count: u32,
}

/// An invitation link. `Debug` hides the token: the link is a bearer credential.
#[derive(Clone)]
pub struct Invitation {
    /// `{issuer}/invite/{token}`, to hand to the guest.
    pub url: String,
    /// When the link stops working.
    pub expires_unix: i64,
}

impl std::fmt::Debug for Invitation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = match self.url.rfind('/') {
            Some(i) => format!("{}/[redacted]", &self.url[..i]),
            None => "[redacted]".to_owned(),
        };
        f.debug_struct("Invitation")
            .field("url", &shown)
            .field("expires_unix", &self.expires_unix)
            .finish()
    }
}

/// Claim names a custom attribute may not take: registered JWT claims (RFC 7519 §4.1), the
/// OIDC standard claims (Core §5.1, §2) and the ones this provider sets.
pub(crate) const RESERVED_CLAIMS: &[&str] = &[
    "iss",
    "sub",
    "aud",
    "exp",
    "nbf",
    "iat",
    "jti",
    "auth_time",
    "nonce",
    "acr",
    "amr",
    "azp",
    "at_hash",
    "c_hash",
    "sid",
    "name",
    "given_name",
    "family_name",
    "middle_name",
    "nickname",
    "preferred_username",
    "profile",
    "picture",
    "website",
    "email",
    "email_verified",
    "gender",
    "birthdate",
    "zoneinfo",
    "locale",
    "phone_number",
    "phone_number_verified",
    "address",
    "updated_at",
    "scope",
    "client_id",
    "cnf",
    "events",
    "attributes",
];

impl NewGuest {
    /// Trims the fields and checks every rule, naming the first field at fault.
    pub(crate) fn validated(self) -> Result<NewGuest, IdpError> {
        let given_name = self.given_name.trim().to_owned();
        let family_name = self.family_name.trim().to_owned();
        let email = self.email.trim().to_owned();
        for (field, value) in [("given_name", &given_name), ("family_name", &family_name)] {
            let n = value.chars().count();
            if n == 0 || n > 100 || value.chars().any(char::is_control) {
                return Err(IdpError::invalid(
                    field,
                    "must be 1 to 100 characters, no control characters",
                ));
            }
        }
        if !email_is_sane(&email) {
            return Err(IdpError::invalid(
                "email",
                "must be an address like name@example.com (at most 254 characters)",
            ));
        }
        if self.attributes.len() > 20 {
            return Err(IdpError::invalid("attributes", "at most 20 attributes"));
        }
        for (key, value) in &self.attributes {
            let key_ok = (1..=64).contains(&key.len())
                && key
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
            if !key_ok {
                return Err(IdpError::invalid(
                    "attributes",
                    format!("key {key:?} must be 1 to 64 of A-Z a-z 0-9 _ . -"),
                ));
            }
            if RESERVED_CLAIMS.contains(&key.as_str()) {
                return Err(IdpError::invalid(
                    "attributes",
                    format!("key {key:?} is a standard claim"),
                ));
            }
            if value.chars().count() > 256 || value.chars().any(char::is_control) {
                return Err(IdpError::invalid(
                    "attributes",
                    format!(
                        "value of {key:?} must be at most 256 characters, no control characters"
                    ),
                ));
            }
        }
        Ok(NewGuest {
            given_name,
            family_name,
            email,
            attributes: self.attributes,
        })
    }
}

/// A pragmatic address check (not RFC 5322's full grammar): one `@`, a non-empty local part
/// of at most 64 characters, a dotted domain of letters, digits and hyphens.
fn email_is_sane(email: &str) -> bool {
    if email.len() > 254 || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    let labels: Vec<&str> = domain.split('.').collect();
    !local.is_empty()
        && local.len() <= 64
        && !local.contains(['<', '>', '"', '(', ')', ',', ';', ':', '\\', '[', ']'])
        && labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guest(email: &str) -> NewGuest {
        NewGuest {
            given_name: "Ada".into(),
            family_name: "Lovelace".into(),
            email: email.into(),
            attributes: BTreeMap::new(),
        }
    }

    #[test]
    fn emails() {
        assert!(guest("ada@example.com").validated().is_ok());
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a b@example.com",
            "ada@exa_mple.com",
        ] {
            assert!(guest(bad).validated().is_err(), "{bad}");
        }
    }

    #[test]
    fn attributes() {
        let mut g = guest("ada@example.com");
        g.attributes.insert("customer.tier".into(), "gold".into());
        assert!(g.clone().validated().is_ok());
        g.attributes.insert("sub".into(), "x".into());
        assert!(
            matches!(g.validated(), Err(IdpError::Invalid { field, .. }) if field == "attributes")
        );
        let mut g = guest("ada@example.com");
        g.attributes.insert("bad key".into(), "x".into());
        assert!(g.validated().is_err());
    }

    #[test]
    fn names() {
        let mut g = guest("ada@example.com");
        g.given_name = "  ".into();
        assert!(
            matches!(g.validated(), Err(IdpError::Invalid { field, .. }) if field == "given_name")
        );
        let mut g = guest("ada@example.com");
        g.family_name = "x".repeat(101);
        assert!(g.validated().is_err());
    }

    #[test]
    fn invitation_debug_hides_the_token() {
        let inv = Invitation {
            url: "http://127.0.0.1/guest-idp/invite/SECRET".into(),
            expires_unix: 1,
        };
        assert!(!format!("{inv:?}").contains("SECRET"));
    }
}
