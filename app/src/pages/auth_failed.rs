//! `/auth/failed`: where the callback sends the browser when a sign-in fails, showing the
//! reason the server kept in the session.

use leptos::prelude::*;

use crate::{api::get_auth_failure, model::AppError, ui::ErrorView};

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
