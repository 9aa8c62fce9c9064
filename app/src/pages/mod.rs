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

// The fragment server functions the pages' forms and islands post to (see `crate::fragments`).
pub use directory::{DirectoryTable, StartExportLive};
pub use export::{CancelExportLive, ExportPanel};
pub use guest_detail::{
    DeleteGuestLive, EndGuestChatsLive, ReinviteGuestLive, SetGuestDisabledLive,
};
pub use guests::CreateGuestLive;
pub use home::CheckUpstreamLive;
pub use service::{RotateGuestKeyLive, RotateServiceLive};
