//! Server-function forms whose server render reads nothing reactive.
//!
//! In the browser a [`Post`] is Leptos' `ServerAction` and [`PostForm`] its `ActionForm`: the
//! answer shows in place. On the server both are plain: `ActionForm` reads the action's
//! `version()` and `value()` while it renders, and so did the islands that show the answer, and
//! when a request ends mid-render its reactive owner is disposed from another worker thread, so
//! a read of the just-created action panicked ("you tried to access a reactive value which ...
//! has already been disposed"; the SSR stress test caught it in the directory's export button).
//! A server render has no answer to show anyway, except the error of a form POST made without
//! JavaScript, which Leptos hands over in a context that [`Post::new`] reads at once.

use std::marker::PhantomData;

use leptos::{
    prelude::*,
    server_fn::{client::Client, codec::PostUrl, request::ClientReq, Http, ServerFn},
};
use serde::de::DeserializeOwned;

use crate::model::AppError;

/// A server function's form action and its latest answer.
pub struct Post<S: ServerFn + 'static>
where
    S::Output: 'static,
{
    #[cfg(feature = "hydrate")]
    action: ServerAction<S>,
    /// The error of a form POST without JavaScript that this render answers.
    #[cfg(not(feature = "hydrate"))]
    failed: Option<AppError>,
    _fn: PhantomData<fn() -> S>,
}

impl<S: ServerFn + 'static> Clone for Post<S> {
    fn clone(&self) -> Self {
        Self {
            #[cfg(feature = "hydrate")]
            action: self.action,
            #[cfg(not(feature = "hydrate"))]
            failed: self.failed.clone(),
            _fn: PhantomData,
        }
    }
}

impl<S> Post<S>
where
    S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    pub fn new() -> Self {
        Self {
            #[cfg(feature = "hydrate")]
            action: ServerAction::new(),
            #[cfg(not(feature = "hydrate"))]
            failed: use_context::<ServerActionError>()
                .filter(|e| e.path() == S::PATH)
                .map(|e| {
                    leptos::server_fn::error::ServerFnUrlError::<AppError>::decode_err(e.err())
                }),
            _fn: PhantomData,
        }
    }

    /// The latest answer (`None` before the first), read reactively in the browser.
    pub fn latest(
        &self,
    ) -> impl Fn() -> Option<Result<S::Output, AppError>> + Clone + Send + Sync + 'static {
        #[cfg(feature = "hydrate")]
        {
            let value = self.action.value();
            move || value.try_get().flatten()
        }
        #[cfg(not(feature = "hydrate"))]
        {
            let failed = self.failed.clone();
            move || failed.clone().map(Err)
        }
    }

    /// Whether a dispatch is on its way (never, on the server).
    pub fn pending(&self) -> impl Fn() -> bool + Copy + Send + Sync + 'static {
        #[cfg(feature = "hydrate")]
        {
            let pending = self.action.pending();
            move || pending.try_get().unwrap_or(false)
        }
        #[cfg(not(feature = "hydrate"))]
        {
            || false
        }
    }

    /// How many answers came (0 on the server), read reactively in the browser.
    pub fn version(&self) -> impl Fn() -> usize + Copy + Send + Sync + 'static {
        #[cfg(feature = "hydrate")]
        {
            let version = self.action.version();
            move || version.try_get().unwrap_or(0)
        }
        #[cfg(not(feature = "hydrate"))]
        {
            || 0
        }
    }
}

impl<S> Default for Post<S>
where
    S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    fn default() -> Self {
        Self::new()
    }
}

/// The form of a [`Post`]: `<form action="{S's URL}" method="post">` around `children`, which
/// the browser submits through the action and a browser without JavaScript posts.
#[component]
pub fn PostForm<S, OutputProtocol>(
    post: Post<S>,
    #[prop(optional)] class: Option<&'static str>,
    children: Children,
) -> impl IntoView
where
    S: DeserializeOwned
        + ServerFn<Protocol = Http<PostUrl, OutputProtocol>, Error = AppError>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Client: Client<AppError>,
    <<S::Client as Client<AppError>>::Request as ClientReq<AppError>>::FormData:
        From<leptos::web_sys::FormData>,
    S::Output: Send + Sync + 'static,
    OutputProtocol: 'static,
{
    #[cfg(feature = "hydrate")]
    {
        view! { <ActionForm action=post.action attr:class=class>{children()}</ActionForm> }
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = post;
        view! { <form action=S::url() method="post" class=class>{children()}</form> }
    }
}
