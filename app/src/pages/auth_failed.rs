//! `/auth/failed`: where the callback sends the browser when a sign-in fails, showing the
//! reason the server kept in the session (or, for a response no sign-in of this browser
//! started, `?reason=unrecognised`, for which nothing is stored).

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::{api::get_auth_failure, model::AppError, ui::ErrorView};

#[component]
pub fn AuthFailedPage() -> impl IntoView {
    let failure = ArcResource::new(|| (), |_| get_auth_failure());
    let reason = use_query_map().with_untracked(|q| q.get("reason"));
    let unrecognised = reason.as_deref() == Some("unrecognised");
    let completed = reason.as_deref() == Some("completed");
    view! {
        <h1 class="page-title">"Sign-in did not complete"</h1>
        <Suspense fallback=|| ()>
            {let failure = failure.clone(); move || { let failure = failure.clone(); Suspend::new(async move {
                let error = match failure.await {
                    Ok(Some(e)) => e,
                    Ok(None) if unrecognised => AppError::ForgedCallback,
                    Ok(None) if completed => AppError::SignInCompleted,
                    Ok(None) => AppError::NotSignedIn,
                    Err(e) => e,
                };
                view! { <ErrorView error/> }
            })}}
        </Suspense>
    }
}
