//! The state of one "export all to CSV" job, as its page polls it.

use serde::{Deserialize, Serialize};

use super::error::AppError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExportStatus {
    Running,
    Done,
    Cancelled,
    Failed(AppError),
}

/// What the export page shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportProgress {
    pub id: String,
    pub pages_done: u32,
    /// 0 until the first page has told the page count.
    pub pages_total: u32,
    pub users: u64,
    pub status: ExportStatus,
    pub elapsed_ms: u64,
    /// Read with the portal's service identity (an admin's export with
    /// `PORTAL_EXPORT_IDENTITY=service`) rather than the user's own token.
    pub as_service: bool,
}

impl ExportProgress {
    pub fn percent(&self) -> u32 {
        if self.status == ExportStatus::Done {
            100
        } else {
            // 0 until the first page has told how many there are.
            (self.pages_done * 100)
                .checked_div(self.pages_total)
                .unwrap_or(0)
                .min(100)
        }
    }
}
