//! The service page's data: the client-credentials token manager's state (a mirror of
//! `genesys`' status, which the browser build cannot depend on) and what a rotation did.

use serde::{Deserialize, Serialize};

/// One audit record, as the page shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceEvent {
    pub at_unix_ms: u64,
    pub kind: String,
    pub generation: Option<u64>,
    pub latency_ms: u64,
    pub attempt: u32,
    pub error_rate: f64,
    pub reason: Option<String>,
    pub detail: Option<String>,
}

/// The manager's state and the upstream's health. No secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceStatus {
    pub client_id: String,
    pub state: String,
    pub healthy: bool,
    pub generation: Option<u64>,
    pub expires_in_secs: Option<u64>,
    pub last_refresh_unix: Option<u64>,
    pub next_refresh_unix: Option<u64>,
    pub consecutive_failures: u32,
    pub last_error: Option<String>,
    pub error_rate: f64,
    pub in_flight_guards: usize,
    pub draining: Vec<(u64, usize)>,
    pub recent_events: Vec<ServiceEvent>,
    pub now_unix: u64,
    pub upstream: super::session::UpstreamCheck,
    /// The replica whose token manager this is (each replica has its own).
    pub replica: String,
}

/// What a rotation did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rotation {
    pub old_generation: Option<u64>,
    pub new_generation: Option<u64>,
    pub held_at_rotation: usize,
    pub drained: bool,
    pub waited_ms: u64,
    /// Whether the other replicas were told to rotate too (the database took the signal).
    pub all_replicas: bool,
}
