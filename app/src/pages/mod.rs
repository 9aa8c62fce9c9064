//! One file per route. Pages use `ui`, `api` and `model`; nothing but the router imports them.

mod auth_failed;
mod conversation;
mod dashboard;
mod directory;
mod export;
mod guest_detail;
mod guest_home;
mod guests;
mod home;
mod not_found;
mod service;
mod user_detail;

pub use auth_failed::AuthFailedPage;
pub use conversation::ConversationPage;
pub use dashboard::DashboardPage;
pub use directory::DirectoryPage;
pub use export::ExportPage;
pub use guest_detail::GuestDetailPage;
pub use guest_home::GuestHomePage;
pub use guests::GuestsPage;
pub use home::HomePage;
pub use not_found::NotFoundPage;
pub use service::ServicePage;
pub use user_detail::UserDetailPage;

/// The fragment server functions the pages' forms and islands post to (their URLs, for tests
/// and tools: `<T as ServerFn>::PATH`).
pub mod fragments {
    pub use super::directory::{DirectoryTable, StartExportLive};
    pub use super::export::{CancelExportLive, ExportPanel};
    pub use super::guest_detail::{
        DeleteGuestLive, EndGuestChatsLive, ReinviteGuestLive, SetGuestDisabledLive,
    };
    pub use super::guests::CreateGuestLive;
    pub use super::home::CheckUpstreamLive;
    pub use super::service::{RotateGuestKeyLive, RotateServiceLive};
}
