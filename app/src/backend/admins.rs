//! Who may open the portal's admin pages (`PORTAL_ADMINS`): everyone on the sandbox, listed
//! users (by id, username or email) on a real org.

use super::session::SignedIn;

/// Who counts as an admin of the portal.
#[derive(Debug, Clone)]
pub enum AdminPolicy {
    /// Everyone signed in (the local sandbox, where every user is invented).
    Everyone,
    /// Users whose id, username or email is listed (`PORTAL_ADMINS`).
    Listed(Vec<String>),
}

impl AdminPolicy {
    pub fn allows(&self, user: &SignedIn) -> bool {
        match self {
            AdminPolicy::Everyone => true,
            AdminPolicy::Listed(names) => names.iter().any(|n| {
                n.eq_ignore_ascii_case(&user.user_id)
                    || user
                        .username
                        .as_deref()
                        .is_some_and(|u| n.eq_ignore_ascii_case(u))
                    || user
                        .email
                        .as_deref()
                        .is_some_and(|e| n.eq_ignore_ascii_case(e))
            }),
        }
    }
}
