//! Telling the user how things went: an error with what to do about it (which also sets the
//! page's HTTP status on the server), a loading line, and the connection check's result.

use leptos::prelude::*;

use super::forms::SignInForm;
use crate::{
    api::page,
    model::{AppError, UpstreamCheck},
};

/// Shows an error with what to do about it, and sets the page's HTTP status on the server.
#[component]
pub fn ErrorView(error: AppError) -> impl IntoView {
    page::set_status(error.status());
    let context_id = error.context_id().map(str::to_string);
    let sign_in = error.needs_sign_in();
    // Focus moves to the error when it appears, so a keyboard or screen-reader user lands on
    // what went wrong: `autofocus` on a page the server rendered (with or without JavaScript),
    // the effect when an island shows it after a form submits (effects run in islands only).
    let section = NodeRef::<leptos::html::Section>::new();
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        if let Some(el) = section.get() {
            let _ = el.focus();
        }
    });
    view! {
        <section node_ref=section tabindex="-1" autofocus=true class="card error-card" role="alert" data-testid="error" data-status=error.status() data-kind=error.kind()>
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

/// `Reachable in 42 ms (the API answered HTTP 401).` or why not.
pub fn reachability_text(c: &UpstreamCheck) -> String {
    if c.reachable {
        format!("Reachable in {} ms ({}).", c.millis, c.detail)
    } else {
        format!("Not reachable after {} ms: {}", c.millis, c.detail)
    }
}
