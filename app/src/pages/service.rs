//! `/admin/service`: the client-credentials token manager's state, a "Rotate now" that shows
//! the drain completing, and the upstream's health. Admins only; no secret shown.

use leptos::{either::Either, prelude::*};

use crate::{
    api::{get_guest_signing_key, get_service_status, RotateGuestSigningKey, RotateServiceToken},
    model::{AppError, ServiceStatus},
    ui::{ago, reachability_text, Countdown, ErrorView, Loading, Post, PostForm},
};

#[component]
pub fn ServicePage() -> impl IntoView {
    let status = ArcResource::new(|| (), |_| get_service_status());
    let kid = ArcResource::new(|| (), |_| get_guest_signing_key());
    view! {
        <h1>"Service identity"</h1>
        <p class="muted">"The client-credentials token the portal uses for its own calls to Genesys Cloud."</p>
        <Suspense fallback=|| view! { <Loading what="the token manager"/> }>
            {let status = status.clone(); move || { let status = status.clone(); Suspend::new(async move {
                match status.await {
                    Ok(s) => Either::Left(view! { <ServiceLive initial=s/> }),
                    Err(error) => Either::Right(view! { <ErrorView error/> }),
                }
            })}}
        </Suspense>
        <Suspense fallback=|| ()>
            {let kid = kid.clone(); move || { let kid = kid.clone(); Suspend::new(async move {
                view! { <GuestSigningKey kid=kid.await/> }
            })}}
        </Suspense>
    }
}

/// The token manager's state and "Rotate now": the result shows in place and the state is
/// read again after it (without JavaScript the form posts and the page reloads).
#[island(lazy)]
fn ServiceLive(initial: ServiceStatus) -> impl IntoView {
    let status = RwSignal::new(Ok::<_, AppError>(initial));
    let rotate = Post::<RotateServiceToken>::new();
    let (rotated, rotating, answers) = (rotate.latest(), rotate.pending(), rotate.version());
    Effect::new(move |_| {
        if answers() > 0 {
            leptos::task::spawn_local(async move {
                status.try_set(get_service_status().await);
            });
        }
    });
    view! {
        {move || status.try_get().map(|status| match status {
            Ok(s) => Either::Left(view! { <ServiceView s/> }),
            Err(error) => Either::Right(view! { <ErrorView error/> }),
        })}
        <section class="card">
            <h2>"Rotate now"</h2>
            <p class="muted small">"New requests get a new token at once; requests still holding the old one finish with it, and then it is revoked."</p>
            <PostForm post=rotate>
                <button type="submit" class="button" data-testid="rotate">"Rotate now"</button>
            </PostForm>
            <p data-testid="rotation" aria-live="polite">
                {move || match rotated() {
                    None if rotating() => "Rotating, waiting for requests on the old token to finish…".to_string(),
                    None => String::new(),
                    Some(Ok(r)) => format!(
                        "Rotated generation {} → {}. {} request(s) still held the old token; {} after {} ms.{}",
                        r.old_generation.map(|g| g.to_string()).unwrap_or_else(|| "—".into()),
                        r.new_generation.map(|g| g.to_string()).unwrap_or_else(|| "—".into()),
                        r.held_at_rotation,
                        if r.drained { "all finished (drained)" } else { "still draining" },
                        r.waited_ms,
                        if r.all_replicas { " Every other replica rotates its own token within seconds." } else { " The other replicas could not be told (the database did not answer)." },
                    ),
                    Some(Err(e)) => e.to_string(),
                }}
            </p>
        </section>
    }
}

/// The guest provider's signing key: which `kid` signs ID tokens now, and a rotation (the new
/// `kid` is read again after it).
#[island(lazy)]
fn GuestSigningKey(kid: Result<String, AppError>) -> impl IntoView {
    let kid = RwSignal::new(kid);
    let rotate = Post::<RotateGuestSigningKey>::new();
    let answers = rotate.version();
    Effect::new(move |_| {
        if answers() > 0 {
            leptos::task::spawn_local(async move {
                kid.try_set(get_guest_signing_key().await);
            });
        }
    });
    view! {
        <section class="card">
            <h2>"Guest signing key"</h2>
            <p class="muted small">"The key that signs guests' ID tokens. After a rotation the old public key stays in the JWKS until the tokens it signed have expired."</p>
            {move || kid.try_get().map(|kid| match kid {
                Ok(k) => Either::Left(view! { <p>"Key id " <code data-testid="guest-signing-kid">{k}</code></p> }),
                Err(error) => Either::Right(view! { <ErrorView error/> }),
            })}
            <PostForm post=rotate>
                <button type="submit" class="button" data-testid="rotate-guest-key">"Rotate the signing key"</button>
            </PostForm>
        </section>
    }
}

#[component]
fn ServiceView(s: ServiceStatus) -> impl IntoView {
    let now = s.now_unix;
    let state_class = format!("badge state-badge state-{}", s.state);
    view! {
        <section class="grid">
            <div class="card">
                <h2>"Token manager " <span class=state_class data-testid="manager-state">{s.state.clone()}</span></h2>
                <dl class="fields">
                    <dt>"Replica"</dt><dd><code data-testid="replica">{s.replica.clone()}</code></dd>
                    <dt>"OAuth client"</dt><dd><code data-testid="service-client">{s.client_id.clone()}</code></dd>
                    <dt>"Token generation"</dt><dd data-testid="generation">{s.generation.map(|g| g.to_string()).unwrap_or_else(|| "—".into())}</dd>
                    <dt>"Expires in"</dt><dd><Countdown seconds=s.expires_in_secs.unwrap_or(0) as i64 testid="service-countdown".to_string()/></dd>
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
                <p data-testid="upstream-health">{reachability_text(&s.upstream)}</p>
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
