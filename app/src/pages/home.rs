//! `/`: what the portal is, a sign-in (or the way to the dashboard when signed in), which
//! Genesys Cloud it talks to, and, signed in, a button that checks the connection.

use leptos::{prelude::*, server_fn::ServerFn};

use crate::{
    model::{AppError, Json, SessionSummary},
    ui::{ErrorView, LiveForms, SignInForm, SummaryResource},
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

/// Checks that Genesys Cloud answers (signed-in users only: the server refuses others). The
/// result shows in place (the server's HTML, see `ui::live`); without JavaScript the form posts
/// and the page comes back.
#[component]
fn ConnectionCheck() -> impl IntoView {
    view! {
        <LiveForms>
            <section class="card">
                <h2>"Connection"</h2>
                <form method="post" action=CheckUpstreamLive::url() data-live="upstream-check" data-waiting="Checking…">
                    <button type="submit" class="button" data-testid="check-upstream">"Check the connection to Genesys Cloud"</button>
                </form>
                <p id="upstream-check" data-testid="upstream-check" aria-live="polite"></p>
            </section>
        </LiveForms>
    }
}

/// The connection check's answer, as the text to show.
#[server(output = Json)]
pub async fn check_upstream_live() -> Result<String, AppError> {
    let checked = crate::api::check_upstream().await;
    crate::ui::answer(checked, |c| crate::ui::reachability_text(&c))
}
