//! What every page may know about the browser's session (never a token), and the result of
//! checking the connection to Genesys Cloud.

use serde::{Deserialize, Serialize};

use super::upstream::Upstream;

/// The session as the header and the pages see it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionSummary {
    pub upstream: Upstream,
    pub user_name: Option<String>,
    /// Whether the service page is open to this user.
    pub is_admin: bool,
    /// Whether this user may provision Web Messaging guests.
    pub manages_guests: bool,
}

/// Round trip to Genesys Cloud: how long its API takes to answer an unauthenticated request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpstreamCheck {
    pub reachable: bool,
    pub millis: u64,
    pub detail: String,
}
