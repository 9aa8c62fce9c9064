//! Sign-in pages and the server functions about the session. The protocol itself (login start,
//! callback, logout) is in the server's auth routes; this module only shows its results.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{
    components::{ErrorView, SignInForm},
    error::AppError,
    upstream::Upstream,
};

/// What every page may know about the session: never a token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionSummary {
    pub upstream: Upstream,
    pub user_name: Option<String>,
    /// Whether the service page is open to this user.
    pub is_admin: bool,
}

#[server]
pub async fn get_session_summary() -> Result<SessionSummary, AppError> {
    let portal = crate::request::portal()?;
    let session = crate::request::session().await?;
    let user = match crate::session::signed_in(&portal, &session).await {
        Ok(user) => user,
        Err(AppError::SessionExpired) => None,
        Err(e) => return Err(e),
    };
    let is_admin = user.as_ref().is_some_and(|u| portal.admins.allows(u));
    Ok(SessionSummary {
        upstream: portal.upstream.clone(),
        user_name: user.map(|u| u.user_name),
        is_admin,
    })
}

/// The reason the last sign-in of this browser failed, if one did.
#[server]
pub async fn get_auth_failure() -> Result<Option<AppError>, AppError> {
    let session = crate::request::session().await?;
    session
        .get::<AppError>(crate::session::AUTH_FAILURE)
        .await
        .map_err(AppError::internal)
}

/// Round trip to Genesys Cloud: how long its API takes to answer an unauthenticated request.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UpstreamCheck {
    pub reachable: bool,
    pub millis: u64,
    pub detail: String,
}

#[server]
pub async fn check_upstream() -> Result<UpstreamCheck, AppError> {
    let portal = crate::request::portal()?;
    let started = std::time::Instant::now();
    let result = portal.genesys.ping().await;
    let millis = started.elapsed().as_millis() as u64;
    Ok(match result {
        Ok(status) => UpstreamCheck {
            reachable: true,
            millis,
            detail: format!("the API answered HTTP {status}"),
        },
        Err(e) => UpstreamCheck {
            reachable: false,
            millis,
            detail: e.to_string(),
        },
    })
}

/// The session summary, loaded once per page and shared by the header and the page.
#[derive(Clone)]
pub struct SummaryResource(pub ArcResource<Result<SessionSummary, AppError>>);

impl SummaryResource {
    /// Starts loading the summary and provides it to everything below; call once, at the top.
    pub fn provide() -> Self {
        let this = SummaryResource(ArcResource::new(|| (), |_| get_session_summary()));
        provide_context(this.clone());
        this
    }

    /// The page's summary (read at a component's top, never inside a suspended view).
    pub fn get() -> Self {
        use_context::<SummaryResource>().unwrap_or_else(Self::provide)
    }
}

#[component]
pub fn HomePage() -> impl IntoView {
    let summary = SummaryResource::get().0;
    let check = ServerAction::<CheckUpstream>::new();
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
        <section class="card">
            <h2>"Connection"</h2>
            <ActionForm action=check>
                <button type="submit" class="button" data-testid="check-upstream">"Check the connection to Genesys Cloud"</button>
            </ActionForm>
            <p data-testid="upstream-check" aria-live="polite">
                {move || match check.value().get() {
                    None if check.pending().get() => "Checking…".to_string(),
                    None => String::new(),
                    Some(Ok(c)) if c.reachable => format!("Reachable in {} ms ({}).", c.millis, c.detail),
                    Some(Ok(c)) => format!("Not reachable after {} ms: {}", c.millis, c.detail),
                    Some(Err(e)) => e.to_string(),
                }}
            </p>
        </section>
    }
}

/// Where the callback sends the browser when a sign-in fails.
#[component]
pub fn AuthFailedPage() -> impl IntoView {
    let failure = ArcResource::new(|| (), |_| get_auth_failure());
    view! {
        <Suspense fallback=|| ()>
            {let failure = failure.clone(); move || { let failure = failure.clone(); Suspend::new(async move {
                let error = match failure.await {
                    Ok(Some(e)) => e,
                    Ok(None) => AppError::NotSignedIn,
                    Err(e) => e,
                };
                view! { <ErrorView error/> }
            })}}
        </Suspense>
    }
}
