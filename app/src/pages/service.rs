//! `/admin/service`: the client-credentials token manager's state, a "Rotate now" that shows
//! the drain completing, and the upstream's health. Admins only; no secret shown. The forms
//! answer in place with the server's rendering (see `ui::live`).

use leptos::{either::Either, prelude::*, server_fn::ServerFn};

use crate::{
    api::{get_guest_signing_key, get_service_status},
    model::{AppError, Json, Rotation, ServiceStatus},
    ui::{ago, form_error, reachability_text, Countdown, ErrorView, LiveForms, Loading},
};

#[component]
pub fn ServicePage() -> impl IntoView {
    let status = ArcResource::new(|| (), |_| get_service_status());
    let kid = ArcResource::new(|| (), |_| get_guest_signing_key());
    // The answer of a rotation posted without JavaScript, on the page it came back to.
    let rotated = form_error::<RotateServiceLive>();
    let key_refused = form_error::<RotateGuestKeyLive>();
    view! {
        <h1>"Service identity"</h1>
        <p class="muted">"The client-credentials token the portal uses for its own calls to Genesys Cloud."</p>
        <Suspense fallback=|| view! { <Loading what="the token manager"/> }>
            {let status = status.clone(); move || { let (status, rotated) = (status.clone(), rotated.clone()); Suspend::new(async move {
                match status.await {
                    Ok(s) => Either::Left(view! {
                        <LiveForms><div id="service-live"><ServicePanel s rotated=rotated.map(Err)/></div></LiveForms>
                    }),
                    Err(error) => Either::Right(view! { <ErrorView error/> }),
                }
            })}}
        </Suspense>
        <Suspense fallback=|| ()>
            {let kid = kid.clone(); move || { let (kid, key_refused) = (kid.clone(), key_refused.clone()); Suspend::new(async move {
                let kid = match (kid.await, key_refused) {
                    (_, Some(error)) | (Err(error), None) => Err(error),
                    (Ok(kid), None) => Ok(kid),
                };
                view! { <LiveForms><div id="guest-signing-key"><SigningKeyCard kid/></div></LiveForms> }
            })}}
        </Suspense>
    }
}

/// "Rotate now", for the form: the rotation, then the token manager's state after it.
#[server(output = Json)]
pub async fn rotate_service_live() -> Result<String, AppError> {
    let rotated = crate::api::rotate_service_token().await;
    if let (Err(error), true) = (&rotated, crate::ui::is_plain_form_post()) {
        return Err(error.clone());
    }
    let status = get_service_status().await;
    crate::ui::answer(
        status,
        move |s| view! { <ServicePanel s rotated=Some(rotated)/> },
    )
}

/// The signing key's rotation, for the form: the key that signs now.
#[server(output = Json)]
pub async fn rotate_guest_key_live() -> Result<String, AppError> {
    let rotated = crate::api::rotate_guest_signing_key().await;
    if let Err(error) = rotated {
        return crate::ui::answer(Err::<(), _>(error), |_| ());
    }
    let kid = get_guest_signing_key().await;
    Ok(crate::ui::fragment(|| view! { <SigningKeyCard kid/> }))
}

/// The token manager's state and "Rotate now", with the last rotation's answer.
#[component]
fn ServicePanel(s: ServiceStatus, rotated: Option<Result<Rotation, AppError>>) -> impl IntoView {
    let rotation = match rotated {
        None => String::new(),
        Some(Ok(r)) => format!(
            "Rotated generation {} → {}. {} request(s) still held the old token; {} after {} ms.{}",
            r.old_generation
                .map(|g| g.to_string())
                .unwrap_or_else(|| "—".into()),
            r.new_generation
                .map(|g| g.to_string())
                .unwrap_or_else(|| "—".into()),
            r.held_at_rotation,
            if r.drained {
                "all finished (drained)"
            } else {
                "still draining"
            },
            r.waited_ms,
            if r.all_replicas {
                " Every other replica rotates its own token within seconds."
            } else {
                " The other replicas could not be told (the database did not answer)."
            },
        ),
        Some(Err(e)) => e.to_string(),
    };
    view! {
        <ServiceView s/>
        <section class="card">
            <h2>"Rotate now"</h2>
            <p class="muted small">"New requests get a new token at once; requests still holding the old one finish with it, and then it is revoked."</p>
            <form method="post" action=RotateServiceLive::url() data-live="service-live">
                <button type="submit" class="button" data-testid="rotate">"Rotate now"</button>
            </form>
            <p data-testid="rotation" aria-live="polite">{rotation}</p>
        </section>
    }
}

/// The guest provider's signing key: which `kid` signs ID tokens now, and a rotation.
#[component]
fn SigningKeyCard(kid: Result<String, AppError>) -> impl IntoView {
    view! {
        <section class="card">
            <h2>"Guest signing key"</h2>
            <p class="muted small">"The key that signs guests' ID tokens. After a rotation the old public key stays in the JWKS until the tokens it signed have expired."</p>
            {match kid {
                Ok(k) => Either::Left(view! { <p>"Key id " <code data-testid="guest-signing-kid">{k}</code></p> }),
                Err(error) => Either::Right(view! { <ErrorView error/> }),
            }}
            <form method="post" action=RotateGuestKeyLive::url() data-live="guest-signing-key">
                <button type="submit" class="button" data-testid="rotate-guest-key">"Rotate the signing key"</button>
            </form>
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
