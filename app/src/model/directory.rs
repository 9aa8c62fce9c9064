//! The directory as the pages show it: rows of users (text only, whatever the API sent), a
//! page of them, and everything the API says about one user.

use serde::{Deserialize, Serialize};

/// One row of the table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRow {
    pub id: String,
    pub name: String,
    pub email: Option<String>,
    pub title: Option<String>,
    pub department: Option<String>,
    pub division: Option<String>,
    pub state: String,
    pub presence: Option<String>,
    pub image_url: Option<String>,
}

/// One page of the directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserPage {
    pub users: Vec<UserRow>,
    pub total: u64,
    pub page: u32,
    pub page_count: u32,
    pub size: u32,
    pub searched: bool,
}

/// Everything the API says about one user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserDetail {
    pub row: UserRow,
    pub username: Option<String>,
    pub manager_id: Option<String>,
    pub division_id: Option<String>,
    pub version: Option<i64>,
    pub presence_modified: Option<String>,
    /// The phone numbers on the profile, as Genesys shows them (`+1 317-555-0123`).
    pub phones: Vec<String>,
    /// The last sign-in (ISO 8601), when Genesys knows one.
    pub last_login: Option<String>,
}
