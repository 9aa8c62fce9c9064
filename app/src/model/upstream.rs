//! Which Genesys Cloud the portal talks to. Shown on every page so that the sandbox and a real
//! org can never be confused.

use serde::{Deserialize, Serialize};

/// The upstream, as the UI shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Upstream {
    /// The embedded local sandbox (no real org configured).
    Sandbox,
    /// A real Genesys Cloud org in the region with this domain (e.g. `mypurecloud.ie`).
    Region(String),
    /// A real org reached through explicitly configured base URLs.
    Custom(String),
}

impl Upstream {
    pub fn label(&self) -> String {
        match self {
            Upstream::Sandbox => "Sandbox".to_string(),
            Upstream::Region(domain) => format!("Genesys Cloud · {domain}"),
            Upstream::Custom(host) => format!("Genesys Cloud · {host}"),
        }
    }

    pub fn is_sandbox(&self) -> bool {
        matches!(self, Upstream::Sandbox)
    }
}
