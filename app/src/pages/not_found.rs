//! Any path no route matches: the error view, answering 404.

use leptos::prelude::*;

use crate::{model::AppError, ui::ErrorView};

#[component]
pub fn NotFoundPage() -> impl IntoView {
    view! {
        <h1 class="page-title">"Page not found"</h1>
        <ErrorView error=AppError::NotFound/>
    }
}
