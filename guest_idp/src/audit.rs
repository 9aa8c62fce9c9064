//! The audit trail: every admin action and every sign-in and token event, newest first.
//! Entries name ids and outcomes, never a secret.

use serde::{Deserialize, Serialize};

use crate::clock::now_unix;
use crate::store;
use crate::Idp;

/// One audit entry.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AuditEntry {
    /// When it happened.
    pub at_unix: i64,
    /// Who did it: the admin's name, `guest:{id}`, `client:{client_id}` or `system`.
    pub actor: String,
    /// What happened, e.g. `guest.created`, `invitation.opened`, `token.code_replayed`.
    pub action: String,
    /// The guest concerned, if any.
    pub guest_id: Option<String>,
    /// More about it (a client id, a reason); never a secret.
    pub detail: Option<String>,
    /// The instance that wrote it (`IdpConfig::instance`: the portal's replica id).
    pub replica: Option<String>,
}

impl Idp {
    /// Records an event. A failing audit write is logged, not fatal: the action itself is done.
    pub(crate) async fn record(
        &self,
        actor: &str,
        action: &str,
        guest_id: Option<&str>,
        detail: Option<String>,
    ) {
        let entry = AuditEntry {
            at_unix: now_unix(),
            actor: actor.to_owned(),
            action: action.to_owned(),
            guest_id: guest_id.map(str::to_owned),
            detail,
            replica: self.inner.config.instance.clone(),
        };
        tracing::info!(
            actor,
            action,
            guest_id,
            detail = entry.detail.as_deref(),
            "guest IdP audit"
        );
        if let Err(e) = store::guests::insert_audit(&self.inner.pool, &entry).await {
            tracing::error!(error = %e, action, "guest IdP audit entry not stored");
        }
    }
}
