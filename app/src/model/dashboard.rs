//! The signed-in user's dashboard: profile fields from `/api/v2/users/me` and the session's
//! facts (granted scopes, how long the token lasts), without the token.

use serde::{Deserialize, Serialize};

use super::upstream::Upstream;

/// The dashboard's data: profile fields and session facts, no token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Dashboard {
    pub name: String,
    pub email: Option<String>,
    pub title: Option<String>,
    pub department: Option<String>,
    pub division: Option<String>,
    pub presence: Option<String>,
    pub image_url: Option<String>,
    pub upstream: Upstream,
    pub org_name: String,
    pub scopes: Vec<String>,
    pub token_expires_in_secs: i64,
    pub refreshable: bool,
}
