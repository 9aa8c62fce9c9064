//! The sign-in and sign-out forms: plain form POSTs to the server's auth routes, so they work
//! before hydration and without JavaScript. A sign-in returns to the page it started on.

use leptos::prelude::*;

use crate::api::page;

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

/// Where a sign-in started on this page should come back to.
///
/// On the server this reads the request scope, not the router's context: this runs inside
/// suspended views, where walking the reactive owner tree can deadlock (see `backend::request`).
fn current_return_to() -> String {
    let target = page::requested_target().unwrap_or_else(|| {
        if cfg!(feature = "ssr") {
            return "/".into();
        }
        // In an island, in the browser: there is no router, the address bar is the page.
        #[cfg(feature = "hydrate")]
        if let Some(location) = web_sys::window().map(|w| w.location()) {
            let path = location.pathname().unwrap_or_default();
            let search = location.search().unwrap_or_default();
            return format!("{path}{search}");
        }
        "/".into()
    });
    return_path_for(&target)
}

/// The return path for a sign-in started at `target` (path and query): the page itself,
/// except for the home page and the sign-in pages, which lead to the dashboard.
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
}
