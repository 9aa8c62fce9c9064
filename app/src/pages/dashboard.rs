//! `/dashboard`: the signed-in user's profile and presence from `/api/v2/users/me`, the granted
//! scopes, and a live countdown to the token's expiry (the server stays the source of truth).

use leptos::prelude::*;

use crate::{
    api::get_dashboard,
    model::Dashboard,
    ui::{presence_class, Avatar, Countdown, ErrorView, Loading},
};

#[component]
pub fn DashboardPage() -> impl IntoView {
    let data = ArcResource::new(|| (), |_| get_dashboard());
    view! {
        <Suspense fallback=|| view! { <Loading what="your profile"/> }>
            {let data = data.clone(); move || { let data = data.clone(); Suspend::new(async move {
                match data.await {
                    Ok(d) => view! { <DashboardView d/> }.into_any(),
                    Err(error) => view! { <ErrorView error/> }.into_any(),
                }
            })}}
        </Suspense>
    }
}

#[component]
fn DashboardView(d: Dashboard) -> impl IntoView {
    let field = |label: &'static str, value: Option<String>| {
        view! { <dt>{label}</dt><dd>{value.unwrap_or_else(|| "—".to_string())}</dd> }
    };
    let presence_class = presence_class(d.presence.as_deref());
    let avatar = view! { <Avatar name=d.name.clone() image_url=d.image_url.clone()/> };
    let refresh_note = if d.refreshable {
        "The portal renews it before it expires."
    } else {
        "This OAuth client issues no refresh token: you will sign in again when it expires."
    };
    view! {
        <section class="card profile">
            {avatar}
            <div>
                <h1 data-testid="profile-name">{d.name.clone()}</h1>
                <p class=presence_class data-testid="presence">{d.presence.clone().unwrap_or_else(|| "Presence unknown".into())}</p>
            </div>
        </section>
        <section class="grid">
            <div class="card">
                <h2>"Profile"</h2>
                <dl class="fields">
                    {field("Email", d.email.clone())}
                    {field("Title", d.title.clone())}
                    {field("Department", d.department.clone())}
                    {field("Division", d.division.clone())}
                </dl>
            </div>
            <div class="card">
                <h2>"Session"</h2>
                <dl class="fields">
                    <dt>"Genesys Cloud"</dt><dd data-testid="dashboard-upstream">{d.upstream.label()}</dd>
                    <dt>"Organisation"</dt><dd>{d.org_name.clone()}</dd>
                    <dt>"Access expires in"</dt>
                    <dd><Countdown seconds=d.token_expires_in_secs testid="countdown".to_string()/></dd>
                </dl>
                <p class="muted small">{refresh_note}</p>
                <h3>"Granted scopes"</h3>
                <ul class="scopes" data-testid="scopes">
                    {d.scopes.iter().map(|s| view! { <li><code>{s.clone()}</code></li> }).collect_view()}
                </ul>
            </div>
        </section>
    }
}
