//! The error of a server function's form posted without JavaScript.
//!
//! Leptos answers a failed plain form post with a redirect back to the page, the error in the
//! query, and hands it to that page's render in a context. [`form_error`] reads it for one
//! server function, at once and without a reactive read (a read of an action while rendering
//! panicked when a request ended mid-render and another worker disposed it). In the browser the
//! forms post by `fetch` and show their answer in place (`ui::live`), so there is none.

use leptos::server_fn::ServerFn;

use crate::model::AppError;

/// The error of a plain form post to `S` that this page render answers.
pub fn form_error<S: ServerFn<Error = AppError>>() -> Option<AppError> {
    #[cfg(not(feature = "hydrate"))]
    {
        use leptos::prelude::*;
        use_context::<ServerActionError>()
            .filter(|e| e.path() == S::PATH)
            .map(|e| leptos::server_fn::error::ServerFnUrlError::<AppError>::decode_err(e.err()))
    }
    #[cfg(feature = "hydrate")]
    None
}
