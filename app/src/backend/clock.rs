//! Wall-clock time as Unix seconds: what sessions, grants and pending logins are stamped with,
//! so their limits survive a restart.

use std::time::{SystemTime, UNIX_EPOCH};

pub fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
