//! The server functions: each a few lines that take the request's portal and session and call
//! one backend function. The browser build gets only their client stubs. `page` is what a
//! rendered page may ask of its request on the server (its status, its own address).

mod dashboard;
mod directory;
mod embed;
mod export;
mod guests;
pub mod page;
mod service;
mod session;

pub use dashboard::{get_dashboard, GetDashboard};
pub use directory::{get_user_detail, list_directory, GetUserDetail, ListDirectory};
pub use embed::{get_conversation, GetConversation};
pub use export::{
    cancel_export, get_export_progress, start_export, CancelExport, GetExportProgress, StartExport,
};
pub use guests::{
    chat_token, create_guest, delete_guest, end_chat, end_guest_chats, get_chat_state, get_guest,
    get_guest_signing_key, get_signed_in_guest, list_guests, reinvite_guest,
    rotate_guest_signing_key, set_guest_disabled, ChatToken, CreateGuest, DeleteGuest, EndChat,
    EndGuestChats, GetChatState, GetGuest, GetGuestSigningKey, GetSignedInGuest, ListGuests,
    ReinviteGuest, RotateGuestSigningKey, SetGuestDisabled,
};
pub use service::{get_service_status, rotate_service_token, GetServiceStatus, RotateServiceToken};
pub use session::{
    check_upstream, get_auth_failure, get_session_summary, CheckUpstream, GetAuthFailure,
    GetSessionSummary,
};
