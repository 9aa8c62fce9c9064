//! Widgets the pages share: the header, the session summary it and the pages read, the sign-in
//! and sign-out forms, error and loading views, avatars and presence, countdowns, and the script that loads the islands.

mod avatar;
mod chat;
mod feedback;
mod forms;
mod header;
mod live;
mod post;
mod scripts;
mod summary;
mod time;

pub use avatar::{initials, presence_class, Avatar};
pub use chat::ChatWindow;
pub use feedback::{reachability_text, ErrorView, Loading};
pub use forms::{return_path_for, LogoutForm, SignInForm};
pub use header::Header;
#[cfg(feature = "ssr")]
pub use live::{answer, fragment, is_plain_form_post};
pub use live::{live_submit, LiveForms};
#[cfg(feature = "hydrate")]
pub use live::{post_for_html, post_for_text, show};
pub use post::form_error;
pub use scripts::IslandScripts;
pub use summary::SummaryResource;
pub use time::{ago, format_countdown, Countdown};
