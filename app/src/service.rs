//! The service page (`/admin/service`): the client-credentials token manager's state, a
//! "Rotate now" that shows the drain completing, and the upstream's health. No secret shown.

use leptos::{either::Either, prelude::*};
use serde::{Deserialize, Serialize};

use crate::{
    components::{countdown, ErrorView, Loading},
    dashboard::format_countdown,
    error::AppError,
};

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

/// The manager's state (a mirror of `genesys::token_manager::TokenManagerStatus`, which the
/// browser build cannot depend on).
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
    pub upstream_reachable: bool,
    pub upstream_millis: u64,
    pub upstream_detail: String,
}

/// What a rotation did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rotation {
    pub old_generation: Option<u64>,
    pub new_generation: Option<u64>,
    pub held_at_rotation: usize,
    pub drained: bool,
    pub waited_ms: u64,
}

#[cfg(feature = "ssr")]
mod ssr {
    use std::sync::Arc;

    use genesys::token_manager::TokenManager;

    use crate::{error::AppError, session, state::Portal};

    /// The signed-in admin's token manager, or why not.
    pub async fn admin_manager() -> Result<(Arc<Portal>, Arc<TokenManager>), AppError> {
        let portal = crate::request::portal()?;
        let session = crate::request::session().await?;
        let user = session::signed_in(&portal, &session)
            .await?
            .ok_or(AppError::NotSignedIn)?;
        if !portal.admins.allows(&user) {
            return Err(AppError::NotAdmin);
        }
        let manager = portal
            .service
            .clone()
            .ok_or_else(|| AppError::NotConfigured {
                what: "client-credentials identity (GENESYS_SERVICE_CLIENT_ID and GENESYS_SERVICE_CLIENT_SECRET)".into(),
            })?;
        Ok((portal, manager))
    }
}

#[server]
pub async fn get_service_status() -> Result<ServiceStatus, AppError> {
    let (portal, manager) = ssr::admin_manager().await?;
    let s = manager.snapshot();
    let started = std::time::Instant::now();
    let ping = portal.genesys.ping().await;
    let upstream_millis = started.elapsed().as_millis() as u64;
    let now_unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    Ok(ServiceStatus {
        client_id: s.client_id,
        state: s.state.as_str().to_string(),
        healthy: s.healthy,
        generation: s.generation,
        expires_in_secs: s.expires_in_secs,
        last_refresh_unix: s.last_refresh,
        next_refresh_unix: s.next_refresh,
        consecutive_failures: s.consecutive_failures,
        last_error: s.last_error,
        error_rate: s.error_rate,
        in_flight_guards: s.in_flight_guards,
        draining: s
            .draining
            .iter()
            .map(|d| (d.generation, d.guards))
            .collect(),
        recent_events: s
            .recent_events
            .into_iter()
            .rev()
            .map(|e| ServiceEvent {
                at_unix_ms: e.at_unix_ms,
                kind: e.kind.as_str().to_string(),
                generation: e.generation,
                latency_ms: e.latency_ms,
                attempt: e.attempt,
                error_rate: e.error_rate,
                reason: e.reason,
                detail: e.detail,
            })
            .collect(),
        now_unix,
        upstream_reachable: ping.is_ok(),
        upstream_millis,
        upstream_detail: match ping {
            Ok(status) => format!("API answered HTTP {status}"),
            Err(e) => e.to_string(),
        },
    })
}

#[server]
pub async fn rotate_service_token() -> Result<Rotation, AppError> {
    let (_, manager) = ssr::admin_manager().await?;
    let started = std::time::Instant::now();
    let drain = manager.rotate().await.map_err(|e| AppError::Upstream {
        status: 502,
        message: e.to_string(),
        context_id: None,
    })?;
    let held_at_rotation = drain.remaining();
    let old_generation = drain.old_generation();
    let new_generation = drain.new_generation();
    // Wait for the requests still holding the old token, but not forever.
    let drained = tokio::time::timeout(std::time::Duration::from_secs(20), drain.wait())
        .await
        .is_ok();
    tracing::info!(
        ?old_generation,
        ?new_generation,
        held_at_rotation,
        drained,
        "service token rotated by an admin"
    );
    Ok(Rotation {
        old_generation,
        new_generation: Some(new_generation),
        held_at_rotation,
        drained,
        waited_ms: started.elapsed().as_millis() as u64,
    })
}

fn ago(now: u64, then: Option<u64>) -> String {
    match then {
        None => "—".into(),
        Some(t) if t <= now => format!("{} ago", format_countdown((now - t) as i64)),
        Some(t) => format!("in {}", format_countdown((t - now) as i64)),
    }
}

#[component]
pub fn ServicePage() -> impl IntoView {
    let status = ArcResource::new(|| (), |_| get_service_status());
    let rotate = ServerAction::<RotateServiceToken>::new();
    Effect::new({
        let status = status.clone();
        move |_| {
            if rotate.value().get().is_some() {
                status.refetch();
            }
        }
    });
    view! {
        <h1>"Service identity"</h1>
        <p class="muted">"The client-credentials token the portal uses for its own calls to Genesys Cloud."</p>
        <Transition fallback=|| view! { <Loading what="the token manager"/> }>
            {let status = status.clone(); move || { let status = status.clone(); Suspend::new(async move {
                match status.await {
                    Ok(s) => Either::Left(view! { <ServiceView s/> }),
                    Err(error) => Either::Right(view! { <ErrorView error/> }),
                }
            })}}
        </Transition>
        <section class="card">
            <h2>"Rotate now"</h2>
            <p class="muted small">"New requests get a new token at once; requests still holding the old one finish with it, and then it is revoked."</p>
            <ActionForm action=rotate>
                <button type="submit" class="button" data-testid="rotate">"Rotate now"</button>
            </ActionForm>
            <p data-testid="rotation" aria-live="polite">
                {move || match rotate.value().get() {
                    None if rotate.pending().get() => "Rotating, waiting for requests on the old token to finish…".to_string(),
                    None => String::new(),
                    Some(Ok(r)) => format!(
                        "Rotated generation {} → {}. {} request(s) still held the old token; {} after {} ms.",
                        r.old_generation.map(|g| g.to_string()).unwrap_or_else(|| "—".into()),
                        r.new_generation.map(|g| g.to_string()).unwrap_or_else(|| "—".into()),
                        r.held_at_rotation,
                        if r.drained { "all finished (drained)" } else { "still draining" },
                        r.waited_ms,
                    ),
                    Some(Err(e)) => e.to_string(),
                }}
            </p>
        </section>
    }
}

#[component]
fn ServiceView(s: ServiceStatus) -> impl IntoView {
    let remaining = countdown(s.expires_in_secs.unwrap_or(0) as i64);
    let now = s.now_unix;
    let state_class = format!("badge state-badge state-{}", s.state);
    view! {
        <section class="grid">
            <div class="card">
                <h2>"Token manager " <span class=state_class data-testid="manager-state">{s.state.clone()}</span></h2>
                <dl class="fields">
                    <dt>"OAuth client"</dt><dd><code data-testid="service-client">{s.client_id.clone()}</code></dd>
                    <dt>"Token generation"</dt><dd data-testid="generation">{s.generation.map(|g| g.to_string()).unwrap_or_else(|| "—".into())}</dd>
                    <dt>"Expires in"</dt><dd><span data-testid="service-countdown">{move || format_countdown(remaining.try_get().unwrap_or(0))}</span></dd>
                    <dt>"Last refresh"</dt><dd>{ago(now, s.last_refresh_unix)}</dd>
                    <dt>"Next refresh"</dt><dd>{ago(now, s.next_refresh_unix)}</dd>
                    <dt>"Error rate"</dt><dd data-testid="error-rate">{format!("{:.0} %", s.error_rate * 100.0)}</dd>
                    <dt>"Failures in a row"</dt><dd>{s.consecutive_failures}</dd>
                    <dt>"Requests in flight"</dt><dd>{s.in_flight_guards}</dd>
                    <dt>"Draining"</dt>
                    <dd>{if s.draining.is_empty() { "nothing".to_string() } else {
                        s.draining.iter().map(|(g, n)| format!("generation {g}: {n} request(s)")).collect::<Vec<_>>().join(", ")
                    }}</dd>
                </dl>
                {s.last_error.clone().map(|e| view! { <p class="error-message">{e}</p> })}
            </div>
            <div class="card">
                <h2>"Upstream"</h2>
                <p data-testid="upstream-health">
                    {if s.upstream_reachable { format!("Reachable in {} ms ({}).", s.upstream_millis, s.upstream_detail) }
                     else { format!("Unreachable after {} ms: {}", s.upstream_millis, s.upstream_detail) }}
                </p>
            </div>
        </section>
        <section class="card">
            <h2>"Recent events"</h2>
            <div class="table-wrap">
                <table class="users" data-testid="audit-events">
                    <thead><tr><th>"When"</th><th>"Event"</th><th>"Generation"</th><th>"Latency"</th><th>"Attempt"</th><th>"Error rate"</th><th>"Reason"</th></tr></thead>
                    <tbody>
                        {s.recent_events.into_iter().map(|e| view! {
                            <tr>
                                <td>{ago(now, Some(e.at_unix_ms / 1000))}</td>
                                <td data-testid="audit-kind">{e.kind}</td>
                                <td>{e.generation.map(|g| g.to_string()).unwrap_or_default()}</td>
                                <td>{e.latency_ms}" ms"</td>
                                <td>{e.attempt}</td>
                                <td>{format!("{:.0} %", e.error_rate * 100.0)}</td>
                                <td>{e.reason.unwrap_or_default()}" "{e.detail.unwrap_or_default()}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
    }
}
