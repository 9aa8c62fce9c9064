//! What the browser and the server exchange: plain data that compiles for both sides and
//! never carries a token. Every page reads these; the backend builds them.

mod chat;
mod codec;
mod dashboard;
mod directory;
mod embed;
mod error;
mod export;
mod guests;
mod query;
mod service;
mod session;
mod upstream;

pub use chat::{ChatSession, ChatState};
pub use codec::{Json, TextJson};
pub use dashboard::Dashboard;
pub use directory::{UserDetail, UserPage, UserRow};
pub use embed::{ConversationView, FrameStart, GuestIdentity, HostContext};
pub use error::AppError;
pub use export::{ExportProgress, ExportStatus};
pub use guests::{parse_attributes, GuestDetail, GuestEvent, GuestList, GuestView, InvitationLink};
pub use query::{DirectoryQuery, Sort, StateView, MAX_SEARCH_LEN, PAGE_SIZES};
pub use service::{Rotation, ServiceEvent, ServiceStatus};
pub use session::{SessionSummary, UpstreamCheck};
pub use upstream::Upstream;

/// The case count of the app's property tests: `PROPTEST_CASES`, or 2,000.
#[cfg(test)]
pub(crate) fn proptest_cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(2_000)
}
