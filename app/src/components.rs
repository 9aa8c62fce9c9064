//! Pieces shared by the pages: the header with the upstream badge, error views, sign-in and
//! sign-out forms (plain form POSTs, so they work before hydration and without JavaScript).

use leptos::prelude::*;

use crate::{auth::SummaryResource, error::AppError};

/// The top bar: product name, which Genesys Cloud this is, and the signed-in user.
#[component]
pub fn Header() -> impl IntoView {
    let summary = SummaryResource::get().0;
    view! {
        <header class="topbar">
            <a class="brand" href="/">"genesys-portal"</a>
            <Suspense fallback=|| view! { <span class="muted">"…"</span> }>
                {let summary = summary.clone(); move || { let summary = summary.clone(); Suspend::new(async move {
                    match summary.await {
                        Ok(s) => {
                            let badge_class = if s.upstream.is_sandbox() { "badge badge-sandbox" } else { "badge badge-org" };
                            let label = s.upstream.label();
                            let user = s.user_name.clone();
                            let is_admin = s.is_admin;
                            view! {
                                <span class=badge_class data-testid="upstream-badge" title="The Genesys Cloud this portal talks to">{label}</span>
                                <nav class="nav">
                                    {user.clone().map(|_| view! {
                                        <a href="/dashboard">"Dashboard"</a>
                                        <a href="/users">"Directory"</a>
                                        {is_admin.then(|| view! { <a href="/admin/service">"Service"</a> })}
                                    })}
                                </nav>
                                <span class="spacer"></span>
                                {match user {
                                    Some(name) => view! {
                                        <span class="who" data-testid="signed-in-as">{name}</span>
                                        <LogoutForm/>
                                    }.into_any(),
                                    None => view! { <SignInForm compact=true/> }.into_any(),
                                }}
                            }.into_any()
                        }
                        Err(_) => view! { <span class="badge">"status unknown"</span> }.into_any(),
                    }
                })}}
            </Suspense>
        </header>
    }
}

/// "Sign in with Genesys Cloud": a form POST that starts a PKCE login on the server.
#[component]
pub fn SignInForm(
    #[prop(optional)] compact: bool,
    #[prop(optional, into)] return_to: Option<String>,
) -> impl IntoView {
    let return_to = return_to.unwrap_or_else(current_return_to);
    let class = if compact {
        "button button-small"
    } else {
        "button button-primary"
    };
    view! {
        <form method="post" action="/auth/login" class="inline-form">
            <input type="hidden" name="return_to" value=return_to/>
            <button type="submit" class=class data-testid="sign-in">"Sign in with Genesys Cloud"</button>
        </form>
    }
}

/// Where a sign-in started on this page should come back to: the page itself, except for the
/// home page and the sign-in pages, which lead to the dashboard.
///
/// On the server this reads the request scope, not the router's context: this runs inside
/// suspended views, where walking the reactive owner tree can deadlock (see `request`).
fn current_return_to() -> String {
    #[cfg(feature = "ssr")]
    let target = crate::request::RequestScope::current()
        .and_then(|s| s.target().map(str::to_string))
        .unwrap_or_else(|| "/".into());
    #[cfg(not(feature = "ssr"))]
    let target = {
        let location = leptos_router::hooks::use_location();
        let path = location.pathname.get_untracked();
        let search = location.search.get_untracked();
        if search.is_empty() {
            path
        } else {
            format!("{path}?{search}")
        }
    };
    return_path_for(&target)
}

/// The return path for a sign-in started at `target` (path and query).
pub fn return_path_for(target: &str) -> String {
    let path = target.split('?').next().unwrap_or("/");
    if path == "/" || path.starts_with("/auth/") || !path.starts_with('/') {
        "/dashboard".to_string()
    } else {
        target.trim_end_matches('?').to_string()
    }
}

/// "Sign out": a POST, never a GET link.
#[component]
pub fn LogoutForm() -> impl IntoView {
    view! {
        <form method="post" action="/auth/logout" class="inline-form">
            <button type="submit" class="button button-small" data-testid="sign-out">"Sign out"</button>
        </form>
    }
}

/// Shows an error with what to do about it, and sets the page's HTTP status on the server.
#[component]
pub fn ErrorView(error: AppError) -> impl IntoView {
    #[cfg(feature = "ssr")]
    crate::request::set_page_status(error.status());
    let context_id = error.context_id().map(str::to_string);
    let sign_in = error.needs_sign_in();
    view! {
        <section class="card error-card" role="alert" data-testid="error" data-status=error.status()>
            <h2>{error.title()}</h2>
            <p class="error-message">{error.to_string()}</p>
            <p class="muted">{error.advice()}</p>
            {context_id.map(|id| view! {
                <p class="muted small">"Genesys context id: " <code data-testid="context-id">{id}</code></p>
            })}
            {sign_in.then(|| view! { <SignInForm/> })}
        </section>
    }
}

#[component]
pub fn Loading(#[prop(into)] what: String) -> impl IntoView {
    view! { <p class="loading" aria-busy="true">"Loading " {what} "…"</p> }
}

#[component]
pub fn NotFoundPage() -> impl IntoView {
    view! { <ErrorView error=AppError::NotFound/> }
}

/// Up to two initials of a name, for avatars without a picture.
pub fn initials(name: &str) -> String {
    name.split_whitespace()
        .filter_map(|w| w.chars().next())
        .take(2)
        .collect::<String>()
        .to_uppercase()
}

/// A user's picture, or their initials when the API gives none.
#[component]
pub fn Avatar(
    name: String,
    image_url: Option<String>,
    #[prop(optional)] small: bool,
) -> impl IntoView {
    let class = if small {
        "avatar avatar-small"
    } else {
        "avatar"
    };
    match image_url {
        Some(url) => {
            leptos::either::Either::Left(view! { <img class=class src=url alt="" loading="lazy"/> })
        }
        None => leptos::either::Either::Right(
            view! { <span class=format!("{class} avatar-initials") aria-hidden="true">{initials(&name)}</span> },
        ),
    }
}

/// Seconds left, ticking down once a second in the browser (the server renders the start
/// value; the loop ends when the signal is disposed with its page).
pub fn countdown(start_secs: i64) -> RwSignal<i64> {
    let remaining = RwSignal::new(start_secs);
    #[cfg(feature = "hydrate")]
    leptos::task::spawn_local(async move {
        loop {
            gloo_timers::future::TimeoutFuture::new(1_000).await;
            if remaining.try_update(|r| *r = (*r - 1).max(0)).is_none() {
                break;
            }
        }
    });
    remaining
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_in_returns_to_the_page_it_started_on_but_not_to_home_or_auth_pages() {
        assert_eq!(
            return_path_for("/users?q=smith&page=2"),
            "/users?q=smith&page=2"
        );
        assert_eq!(return_path_for("/users/abc"), "/users/abc");
        assert_eq!(return_path_for("/"), "/dashboard");
        assert_eq!(return_path_for("/?x=1"), "/dashboard");
        assert_eq!(return_path_for("/auth/failed"), "/dashboard");
        assert_eq!(return_path_for("/users?"), "/users");
    }

    #[test]
    fn initials_of_unicode_names() {
        assert_eq!(initials("Ana María López"), "AM");
        assert_eq!(initials("李 小龙"), "李小");
        assert_eq!(initials(""), "");
    }
}
