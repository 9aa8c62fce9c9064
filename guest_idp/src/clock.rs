//! Wall-clock time for expiries: unix seconds for what the protocol shows (`iat`, `exp`,
//! `auth_time`), unix milliseconds for the stored expiries of short-lived secrets.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub(crate) fn now_unix() -> i64 {
    now_ms() / 1000
}

pub(crate) fn now_ms() -> i64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

pub(crate) fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 4)
}
