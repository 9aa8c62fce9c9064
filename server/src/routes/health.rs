//! Liveness and readiness probes, and the metrics. Readiness is cheap (the session store's
//! answer is remembered for a few seconds, so a probe storm costs no database work) and says
//! nothing about the clients; the metrics name the client and its failures, so they need
//! `PORTAL_METRICS_TOKEN` as a bearer token, or a loopback client when no token is set.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use app::backend::portal::Portal;
use axum::{
    extract::{ConnectInfo, Request, State},
    http::{header, StatusCode},
    response::{IntoResponse, Response},
};
use genesys::ClientSecret;
use subtle::ConstantTimeEq;

/// How long the session store's answer to a readiness probe is reused.
const STORE_CHECK_EVERY: Duration = Duration::from_secs(5);

/// What the probes share: the metrics token, and the last session-store check.
#[derive(Clone)]
pub struct Probes {
    metrics_token: Option<ClientSecret>,
    store: Arc<Mutex<Option<(Instant, bool)>>>,
}

impl Probes {
    pub fn new(metrics_token: Option<ClientSecret>) -> Self {
        Self {
            metrics_token,
            store: Arc::default(),
        }
    }

    /// Whether the session store answers, asked at most every [`STORE_CHECK_EVERY`].
    async fn store_up(&self, portal: &Portal) -> bool {
        let cached = *self.store.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((at, up)) = cached {
            if at.elapsed() < STORE_CHECK_EVERY {
                return up;
            }
        }
        let up = portal.grants.ping().await;
        *self.store.lock().unwrap_or_else(|p| p.into_inner()) = Some((Instant::now(), up));
        up
    }

    /// The metrics' reader: the bearer token when one is set, else a loopback peer.
    fn may_read_metrics(&self, request: &Request) -> bool {
        match &self.metrics_token {
            Some(token) => request
                .headers()
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .is_some_and(|given| bool::from(given.as_bytes().ct_eq(token.secret().as_bytes()))),
            None => request
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .is_some_and(|ConnectInfo(peer)| peer.ip().to_canonical().is_loopback()),
        }
    }
}

/// GET /healthz: the process is up.
pub async fn healthz() -> &'static str {
    "ok"
}

/// GET /readyz: the portal can serve: its session store answers and, when configured, the
/// token manager holds a valid token. A shared store (PostgreSQL) that is down does not make a
/// replica unready: every replica shares it, so a load balancer would take them all out and
/// users would get its bare error instead of the portal's "briefly unavailable, your session is
/// kept" page (`/metrics` shows the store's health). A local SQLite store is this replica's own.
pub async fn readyz(
    State(portal): State<Arc<Portal>>,
    State(probes): State<Probes>,
) -> impl IntoResponse {
    if !probes.store_up(&portal).await {
        if portal.grants.engine() == app::backend::db::Engine::Postgres {
            tracing::warn!("the shared session store is down; staying ready (requests answer 503)");
        } else {
            return (StatusCode::SERVICE_UNAVAILABLE, "not ready: session store");
        }
    }
    if portal.service.as_ref().is_some_and(|m| !m.healthy()) {
        return (StatusCode::SERVICE_UNAVAILABLE, "not ready: service token");
    }
    (StatusCode::OK, "ready")
}

/// GET /metrics: OpenMetrics text from the server's registry (`crate::metrics`).
pub async fn metrics(
    State(portal): State<Arc<Portal>>,
    State(probes): State<Probes>,
    State(metrics): State<crate::metrics::Metrics>,
    request: Request,
) -> Response {
    if !probes.may_read_metrics(&request) {
        let why = if probes.metrics_token.is_some() {
            "Send PORTAL_METRICS_TOKEN as a bearer token."
        } else {
            "Metrics answer loopback clients only; set PORTAL_METRICS_TOKEN to read them from elsewhere."
        };
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            why,
        )
            .into_response();
    }
    let body = metrics.render(crate::metrics::Snapshot {
        store_up: probes.store_up(&portal).await,
        sessions_active: portal.grants.count_live().await.unwrap_or(-1),
        exports_running: portal.exports.running() as i64,
    });
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        body,
    )
        .into_response()
}
