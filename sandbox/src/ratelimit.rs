//! Per-token rate limiting with a fixed one-minute window, reported the way Genesys does
//! (`inin-ratelimit-allowed`, `-count`, `-reset`, and `Retry-After` on a 429).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const WINDOW: Duration = Duration::from_secs(60);
/// Windows kept at most before stale ones are swept.
const SWEEP_AT: usize = 50_000;

/// Where a token stands in its window after one more request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RateStatus {
    pub(crate) allowed: u32,
    pub(crate) count: u32,
    /// Seconds until the window resets (at least 1).
    pub(crate) reset_secs: u64,
    pub(crate) exceeded: bool,
}

#[derive(Debug)]
pub(crate) struct RateLimiter {
    per_minute: u32,
    windows: Mutex<HashMap<String, (Instant, u32)>>,
}

impl RateLimiter {
    /// `per_minute == 0` turns limiting off (the headers still report a count).
    pub(crate) fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one request for `key`.
    pub(crate) fn hit(&self, key: &str) -> RateStatus {
        let now = Instant::now();
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if windows.len() >= SWEEP_AT {
            windows.retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
        }
        let entry = windows.entry(key.to_string()).or_insert((now, 0));
        if now.duration_since(entry.0) >= WINDOW {
            *entry = (now, 0);
        }
        entry.1 = entry.1.saturating_add(1);
        let remaining = WINDOW.saturating_sub(now.duration_since(entry.0));
        let reset_secs = remaining.as_secs() + u64::from(remaining.subsec_nanos() > 0);
        RateStatus {
            allowed: self.per_minute,
            count: entry.1,
            reset_secs: reset_secs.max(1),
            exceeded: self.per_minute > 0 && entry.1 > self.per_minute,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_is_per_key() {
        let l = RateLimiter::new(2);
        assert!(!l.hit("a").exceeded);
        assert!(!l.hit("a").exceeded);
        let third = l.hit("a");
        assert!(third.exceeded && third.count == 3 && third.reset_secs <= 60);
        assert!(!l.hit("b").exceeded);
        assert!(!RateLimiter::new(0).hit("a").exceeded);
    }
}
