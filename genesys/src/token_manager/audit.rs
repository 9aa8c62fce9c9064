//! The token manager's audit trail: one structured record per lifecycle change, written through
//! `tracing` under the target [`AUDIT_TARGET`] and kept in a small ring for the service page.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{ManagerState, Trigger};

/// The `tracing` target of audit records (route it to the audit log, as JSON if wanted).
pub const AUDIT_TARGET: &str = "genesys::audit";

/// What happened to the manager's token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditKind {
    /// A token was obtained while none was valid (start-up, or after expiry).
    Acquired,
    /// A token was replaced before it expired.
    Refreshed,
    /// Getting or refreshing a token failed (`reason` says why).
    RefreshFailed,
    /// A forced replacement: new requests use the new token at once, the old one drains.
    Rotated,
    /// Every request that held the rotated-out token has finished.
    Drained,
    /// A new token was refused: wrong OAuth client or a required scope missing.
    ValidationFailed,
}

impl AuditKind {
    /// The name used in records and metrics (`refresh_failed`).
    pub fn as_str(self) -> &'static str {
        match self {
            AuditKind::Acquired => "acquired",
            AuditKind::Refreshed => "refreshed",
            AuditKind::RefreshFailed => "refresh_failed",
            AuditKind::Rotated => "rotated",
            AuditKind::Drained => "drained",
            AuditKind::ValidationFailed => "validation_failed",
        }
    }
}

/// One audit record. It never carries a token or a secret: tokens are named by their
/// generation (1 for the first token the manager obtained, then 2, ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// A unique id (also sent as the webhook's event id).
    pub id: Uuid,
    /// What happened.
    pub kind: AuditKind,
    /// When, in milliseconds since the Unix epoch.
    pub at_unix_ms: u64,
    /// The OAuth client of the manager.
    pub client_id: String,
    /// The manager's state after the change.
    pub state: ManagerState,
    /// What started the work this record reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger: Option<Trigger>,
    /// The token generation concerned (the new one; the old one for `drained`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<u64>,
    /// How long the work took: the token request and its validation, or for `drained` the
    /// time from the rotation to the last request finishing.
    pub latency_ms: u64,
    /// Consecutive attempts so far, this one included (1 when the first attempt worked).
    pub attempt: u32,
    /// The share of failed attempts among the recent ones (0 to 1).
    pub error_rate: f64,
    /// A short machine-readable reason for failures (`invalid_client`, `missing_scope`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// A human description of the failure (never a token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The required scopes a refused token lacked.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing_scopes: Vec<String>,
    /// Seconds the new token is valid for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in_secs: Option<u64>,
    /// Requests holding the old token when it was rotated out (`rotated`, `drained`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guards: Option<usize>,
}

/// Writes `event` as one structured `tracing` record: error level when the manager needs
/// attention, warning for other failures, info otherwise.
pub(crate) fn record(event: &AuditEvent) {
    macro_rules! audit_record {
        ($level:expr) => {
            tracing::event!(
                target: AUDIT_TARGET,
                $level,
                event = event.kind.as_str(),
                event_id = %event.id,
                client_id = %event.client_id,
                state = event.state.as_str(),
                trigger = event.trigger.map(Trigger::as_str),
                generation = event.generation,
                latency_ms = event.latency_ms,
                attempt = event.attempt,
                error_rate = event.error_rate,
                reason = event.reason.as_deref(),
                detail = event.detail.as_deref(),
                missing_scopes = (!event.missing_scopes.is_empty()).then(|| event.missing_scopes.join(" ")),
                expires_in_secs = event.expires_in_secs,
                guards = event.guards.map(|g| g as u64),
                "token manager: {}",
                event.kind.as_str()
            )
        };
    }
    let failed = matches!(
        event.kind,
        AuditKind::RefreshFailed | AuditKind::ValidationFailed
    );
    if failed && event.state == ManagerState::Failed {
        audit_record!(tracing::Level::ERROR);
    } else if failed {
        audit_record!(tracing::Level::WARN);
    } else {
        audit_record!(tracing::Level::INFO);
    }
}

/// The most recent events, oldest first, at most `capacity`.
#[derive(Debug)]
pub(crate) struct EventRing {
    events: VecDeque<AuditEvent>,
    capacity: usize,
}

impl EventRing {
    pub(crate) fn new(capacity: usize) -> Self {
        EventRing {
            events: VecDeque::with_capacity(capacity.min(1024)),
            capacity,
        }
    }

    pub(crate) fn push(&mut self, event: AuditEvent) {
        if self.capacity == 0 {
            return;
        }
        while self.events.len() >= self.capacity {
            self.events.pop_front();
        }
        self.events.push_back(event);
    }

    pub(crate) fn to_vec(&self) -> Vec<AuditEvent> {
        self.events.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(n: u64) -> AuditEvent {
        AuditEvent {
            id: Uuid::new_v4(),
            kind: AuditKind::Refreshed,
            at_unix_ms: n,
            client_id: "c".into(),
            state: ManagerState::Healthy,
            trigger: Some(Trigger::Schedule),
            generation: Some(n),
            latency_ms: 1,
            attempt: 1,
            error_rate: 0.0,
            reason: None,
            detail: None,
            missing_scopes: Vec::new(),
            expires_in_secs: Some(60),
            guards: None,
        }
    }

    #[test]
    fn the_ring_keeps_the_most_recent_events() {
        let mut ring = EventRing::new(3);
        for n in 1..=5 {
            ring.push(event(n));
        }
        let kept: Vec<u64> = ring.to_vec().iter().map(|e| e.at_unix_ms).collect();
        assert_eq!(kept, vec![3, 4, 5]);
        let mut none = EventRing::new(0);
        none.push(event(1));
        assert!(none.to_vec().is_empty());
    }

    #[test]
    fn events_serialize_with_snake_case_names() {
        let json = serde_json::to_value(event(7)).unwrap();
        assert_eq!(json["kind"], "refreshed");
        assert_eq!(json["state"], "healthy");
        assert_eq!(json["trigger"], "schedule");
        assert!(json.get("reason").is_none() && json.get("missing_scopes").is_none());
        let back: AuditEvent = serde_json::from_value(json).unwrap();
        assert_eq!(back, event(7).clone_with_id(back.id));
    }

    impl AuditEvent {
        fn clone_with_id(mut self, id: Uuid) -> Self {
            self.id = id;
            self
        }
    }
}
