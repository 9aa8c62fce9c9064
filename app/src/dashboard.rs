//! The signed-in user's dashboard: profile and presence from `/api/v2/users/me`, the granted
//! scopes, and a live countdown to the token's expiry (the server stays the source of truth).

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{
    components::{countdown, Avatar, ErrorView, Loading},
    error::AppError,
    upstream::Upstream,
};

/// The dashboard's data: profile fields and session facts, no token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Dashboard {
    pub name: String,
    pub email: Option<String>,
    pub title: Option<String>,
    pub department: Option<String>,
    pub division: Option<String>,
    pub presence: Option<String>,
    pub image_url: Option<String>,
    pub upstream: Upstream,
    pub org_name: String,
    pub scopes: Vec<String>,
    pub token_expires_in_secs: i64,
    pub refreshable: bool,
}

#[server]
pub async fn get_dashboard() -> Result<Dashboard, AppError> {
    use crate::session;
    let portal = crate::request::portal()?;
    let session = crate::request::session().await?;
    let (user, me) = session::with_user_token(&portal, &session, |token| {
        let genesys = portal.genesys.clone();
        async move { genesys.users_me(&token, &["presence"]).await }
    })
    .await?;
    let me = me.body;
    let grant = portal
        .grants
        .get(&user.grant_id)
        .await
        .map_err(AppError::internal)?
        .ok_or(AppError::SessionExpired)?;
    let image_url = crate::genesys_errors::picture(me.images.as_deref(), "x96");
    Ok(Dashboard {
        name: me.name,
        email: me.email,
        title: me.title,
        department: me.department,
        division: me.division.and_then(|d| d.name),
        presence: me.presence.map(|p| p.presence_definition.system_presence),
        image_url,
        upstream: portal.upstream.clone(),
        org_name: user.org_name,
        scopes: user.scopes,
        token_expires_in_secs: grant.seconds_left().max(0),
        refreshable: grant.refresh_token.is_some(),
    })
}

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

/// `1h 02m 03s` style countdown text.
pub fn format_countdown(secs: i64) -> String {
    if secs <= 0 {
        return "expired".to_string();
    }
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    if h > 0 {
        format!("{h}h {m:02}m {s:02}s")
    } else if m > 0 {
        format!("{m}m {s:02}s")
    } else {
        format!("{s}s")
    }
}

#[component]
fn DashboardView(d: Dashboard) -> impl IntoView {
    let remaining = countdown(d.token_expires_in_secs);
    let field = |label: &'static str, value: Option<String>| {
        view! { <dt>{label}</dt><dd>{value.unwrap_or_else(|| "—".to_string())}</dd> }
    };
    let presence_class = format!(
        "presence presence-{}",
        d.presence
            .as_deref()
            .unwrap_or("unknown")
            .to_lowercase()
            .replace(' ', "-")
    );
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
                    <dd><span data-testid="countdown" data-seconds=move || remaining.try_get().unwrap_or(0)>{move || format_countdown(remaining.try_get().unwrap_or(0))}</span></dd>
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn countdown_formats() {
        assert_eq!(format_countdown(0), "expired");
        assert_eq!(format_countdown(59), "59s");
        assert_eq!(format_countdown(61), "1m 01s");
        assert_eq!(format_countdown(3723), "1h 02m 03s");
    }
}
