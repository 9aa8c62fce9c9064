//! The session summary, loaded once per page and provided as context to the header and the
//! page, so a render asks the server for it once.

use leptos::prelude::*;

use crate::{
    api::get_session_summary,
    model::{AppError, SessionSummary},
};

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
