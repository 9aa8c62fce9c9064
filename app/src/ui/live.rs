//! HTML answers swapped into the page: how the islands stay small.
//!
//! An island that shows a server function's answer by rendering it in wasm carries the answer's
//! types, their deserialisers, the server-function client and the views (and a server render
//! serialises the first answer into the page as props, so the page carries it twice). Here the
//! server renders the answer with the same components as the page, and the browser puts the
//! HTML in place: a *fragment* server function answers a string of HTML, and the browser only
//! posts, reads text and sets `innerHTML`. Every form of the page keeps its plain `action`, so
//! the same forms work without JavaScript.
//!
//! - [`fragment`] and [`answer`] (server): render a view as a fragment; an error as the error
//!   card, except to a plain form post, which gets it as the server function's error (Leptos
//!   hands it to the page it redirects back to).
//! - [`LiveForms`] (island): a `<form data-live="ID">` inside it posts by `fetch`, and its answer
//!   replaces the content of the element `ID`; focus moves to an error card in it.
//! - [`post_for_html`] and [`show`] (browser): the two steps, for islands that fetch by
//!   themselves (the directory's table, the export's progress); [`post_for_text`] for a server
//!   function whose answer is plain text (the chat's fresh token).

use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::model::AppError;

/// The view `make` builds, as HTML: built and rendered in a reactive root of its own, with the
/// islands' shared context that an island in it needs, as in a page (a component runs when its
/// view is built, so the building happens in the root too).
#[cfg(feature = "ssr")]
pub fn fragment<V: IntoView + 'static>(make: impl FnOnce() -> V) -> String {
    let context = hydration_context::SsrSharedContext::new_islands();
    let owner = Owner::new_root(Some(std::sync::Arc::new(context)));
    owner.with(|| make().into_view().to_html())
}

/// A fragment server function's answer: `ok`'s view of the value, or the error card. A plain
/// form post (no JavaScript: it accepts `text/html`) gets the error itself instead, which Leptos
/// carries to the page it goes back to.
#[cfg(feature = "ssr")]
pub fn answer<T, V: IntoView + 'static>(
    result: Result<T, AppError>,
    ok: impl FnOnce(T) -> V,
) -> Result<String, AppError> {
    match result {
        Ok(value) => Ok(fragment(|| ok(value))),
        Err(error) if is_plain_form_post() => Err(error),
        Err(error) => Ok(fragment(|| view! { <super::feedback::ErrorView error/> })),
    }
}

/// Whether this server function call is a form posted without JavaScript.
#[cfg(feature = "ssr")]
pub fn is_plain_form_post() -> bool {
    use_context::<http::request::Parts>()
        .and_then(|parts| {
            parts
                .headers
                .get(http::header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.contains("text/html"))
        })
        .unwrap_or(false)
}

/// The forms in `children` that name an output (`data-live="ID"`) post by `fetch` and show
/// their answer in the element `ID`; the others, and every form without JavaScript, post as
/// usual. While a form waits, its output is `aria-busy` and its buttons are disabled.
#[island(lazy)]
pub fn LiveForms(children: Children) -> impl IntoView {
    view! { <div class="live-forms" on:submit=live_submit>{children()}</div> }
}

/// The submit handler of [`LiveForms`], for an island's own forms: a form with `data-live`
/// posts by `fetch`, any other submits as usual.
pub fn live_submit(ev: leptos::ev::SubmitEvent) {
    #[cfg(feature = "hydrate")]
    browser::submit(ev);
    #[cfg(not(feature = "hydrate"))]
    let _ = ev;
}

#[cfg(feature = "hydrate")]
pub use browser::{post_for_html, post_for_text, show};

#[cfg(feature = "hydrate")]
mod browser {
    use wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;
    use web_sys::{Element, FormData, HtmlElement, HtmlFormElement, RequestInit, Response};

    /// The text of a failure that has no answer from the server to show.
    fn failure(status: Option<u16>) -> String {
        let text = match status {
            Some(status) => format!("The portal answered HTTP {status}. Try again."),
            None => "The portal could not be reached. Check your connection and try again.".into(),
        };
        format!(
            r#"<p class="error-message" role="alert" tabindex="-1" autofocus data-testid="live-failure">{text}</p>"#
        )
    }

    /// What a server function answered.
    enum Answered {
        /// Its string.
        Text(String),
        /// A redirect: the browser is already on its way to the new page.
        Redirected,
        /// No string: the status, or `None` when the portal could not be reached.
        Failed(Option<u16>),
    }

    /// Posts `body` (form-encoded) to the server function at `url`, whose answer is a string.
    async fn post(url: &str, body: &str) -> Answered {
        let Some(window) = web_sys::window() else {
            return Answered::Failed(None);
        };
        let init = RequestInit::new();
        init.set_method("POST");
        init.set_body(&JsValue::from_str(body));
        let Ok(headers) = web_sys::Headers::new() else {
            return Answered::Failed(None);
        };
        let _ = headers.set("Content-Type", "application/x-www-form-urlencoded");
        let _ = headers.set("Accept", "application/json");
        init.set_headers(&headers);
        let Ok(response) = JsFuture::from(window.fetch_with_str_and_init(url, &init)).await else {
            return Answered::Failed(None);
        };
        let response: Response = response.unchecked_into();
        let redirect = response.headers().get("serverfnredirect").ok().flatten();
        let location = response.headers().get("location").ok().flatten();
        if let (Some(_), Some(location)) = (redirect, location) {
            let _ = window.location().assign(&location);
            return Answered::Redirected;
        }
        if !response.ok() {
            return Answered::Failed(Some(response.status()));
        }
        let text = match response.text() {
            Ok(promise) => JsFuture::from(promise).await.ok(),
            Err(_) => None,
        };
        match text
            .and_then(|t| t.as_string())
            .and_then(|t| js_sys::JSON::parse(&t).ok())
            .and_then(|v| v.as_string())
        {
            Some(text) => Answered::Text(text),
            None => Answered::Failed(Some(response.status())),
        }
    }

    /// Posts `body` (form-encoded) to the fragment server function at `url` and answers its
    /// HTML (a failure's message as HTML too), or `None` when the server redirected: then the
    /// browser is already on its way to the new page.
    pub async fn post_for_html(url: &str, body: &str) -> Option<String> {
        match post(url, body).await {
            Answered::Text(html) => Some(html),
            Answered::Redirected => None,
            Answered::Failed(status) => Some(failure(status)),
        }
    }

    /// Posts `body` to the server function at `url` and answers its string, if it gave one.
    pub async fn post_for_text(url: &str, body: &str) -> Option<String> {
        match post(url, body).await {
            Answered::Text(text) => Some(text),
            Answered::Redirected | Answered::Failed(_) => None,
        }
    }

    /// Puts `html` in `target`, and moves focus to what in it asks for it (an error card).
    pub fn show(target: &Element, html: &str) {
        target.set_inner_html(html);
        if let Some(focus) = target
            .query_selector("[autofocus]")
            .ok()
            .flatten()
            .and_then(|e| e.dyn_into::<HtmlElement>().ok())
        {
            let _ = focus.focus();
        }
    }

    /// A form's fields, form-encoded.
    fn encoded(form: &HtmlFormElement) -> String {
        FormData::new_with_form(form)
            .ok()
            .and_then(|data| web_sys::UrlSearchParams::new_with_str_sequence_sequence(&data).ok())
            .map(|params| String::from(params.to_string()))
            .unwrap_or_default()
    }

    pub fn submit(ev: leptos::ev::SubmitEvent) {
        let Some(form) = ev
            .target()
            .and_then(|t| t.dyn_into::<HtmlFormElement>().ok())
        else {
            return;
        };
        let Some(out) = form
            .get_attribute("data-live")
            .and_then(|id| web_sys::window()?.document()?.get_element_by_id(&id))
        else {
            return;
        };
        ev.prevent_default();
        let buttons = form.query_selector_all("button").ok();
        let set_waiting = move |waiting: bool| {
            let _ = if waiting {
                out.set_attribute("aria-busy", "true")
            } else {
                out.remove_attribute("aria-busy")
            };
            if let Some(buttons) = &buttons {
                for i in 0..buttons.length() {
                    if let Some(b) = buttons.item(i).and_then(|b| b.dyn_into::<Element>().ok()) {
                        let _ = if waiting {
                            b.set_attribute("disabled", "")
                        } else {
                            b.remove_attribute("disabled")
                        };
                    }
                }
            }
            out.clone()
        };
        let body = encoded(&form);
        let url = form.action();
        let out = set_waiting(true);
        if let Some(waiting) = form.get_attribute("data-waiting") {
            out.set_text_content(Some(&waiting));
        }
        leptos::task::spawn_local(async move {
            if let Some(html) = post_for_html(&url, &body).await {
                show(&set_waiting(false), &html);
            }
        });
    }
}
