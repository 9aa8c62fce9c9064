//! `/`: what the portal is, a sign-in (or the way to the dashboard when signed in), which
//! Genesys Cloud it talks to, and, signed in, a button that checks the connection.

use leptos::prelude::*;

use crate::{
    api::CheckUpstream,
    model::SessionSummary,
    ui::{reachability_text, ErrorView, SignInForm, SummaryResource},
};

#[component]
pub fn HomePage() -> impl IntoView {
    let summary = SummaryResource::get().0;
    view! {
        <section class="hero">
            <h1>"Genesys Cloud, for agents and admins"</h1>
            <p class="lead">
                "Sign in with your Genesys Cloud account to see your profile and presence, browse your organisation's directory and export it."
            </p>
            <Suspense fallback=|| ()>
                {let summary = summary.clone(); move || { let summary = summary.clone(); Suspend::new(async move {
                    match summary.await {
                        Ok(SessionSummary { user_name: Some(name), .. }) => view! {
                            <p>"Signed in as " <strong>{name}</strong> ". " <a href="/dashboard" class="button button-primary">"Open your dashboard"</a></p>
                            <ConnectionCheck/>
                        }.into_any(),
                        Ok(SessionSummary { upstream, .. }) => view! {
                            <SignInForm/>
                            {upstream.is_sandbox().then(|| view! {
                                <p class="muted small" data-testid="sandbox-note">
                                    "No Genesys Cloud org is configured, so this portal runs against its built-in sandbox: a local Genesys Cloud with 1,250 invented users. Configure GENESYS_REGION and GENESYS_CLIENT_ID to use a real org."
                                </p>
                            })}
                        }.into_any(),
                        Err(e) => view! { <ErrorView error=e/> }.into_any(),
                    }
                })}}
            </Suspense>
        </section>
    }
}

/// Checks that Genesys Cloud answers (signed-in users only: the server refuses others). An
/// island: the result shows in place; without JavaScript the form posts and the page reloads.
#[island(lazy)]
fn ConnectionCheck() -> impl IntoView {
    let check = ServerAction::<CheckUpstream>::new();
    // The action's signals taken while it lives: on a request that ended mid-render the action
    // is disposed, and `value()` on it panics where `try_get` on the signal does not.
    let (checked, checking) = (check.value(), check.pending());
    view! {
        <section class="card">
            <h2>"Connection"</h2>
            <ActionForm action=check>
                <button type="submit" class="button" data-testid="check-upstream">"Check the connection to Genesys Cloud"</button>
            </ActionForm>
            <p data-testid="upstream-check" aria-live="polite">
                {move || match checked.try_get().flatten() {
                    None if checking.try_get().unwrap_or(false) => "Checking…".to_string(),
                    None => String::new(),
                    Some(Ok(c)) => reachability_text(&c),
                    Some(Err(e)) => e.to_string(),
                }}
            </p>
        </section>
    }
}
