//! The server side of the app: the portal's state, the request scope, sessions and sign-in,
//! the calls to Genesys for each page, export jobs, and the mapping from `genesys` to the UI's
//! models and errors. Compiled only with `ssr`; never imports the UI (`ui`, `pages`, `api`).

pub mod access;
pub mod admins;
pub mod chat_store;
pub mod claims;
pub mod clock;
pub mod dashboard;
pub mod db;
pub mod directory;
pub mod embed;
pub mod errors;
pub mod export;
pub mod frames;
pub mod grants;
pub mod guest_chat;
pub mod guest_session;
pub mod guests;
pub mod headers;
pub mod ids;
pub mod mapping;
pub mod portal;
pub mod request;
pub mod sealing;
pub mod service;
pub mod session;
pub mod signals;
pub mod signin;
pub mod summary;
