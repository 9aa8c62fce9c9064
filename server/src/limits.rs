//! Caps on work an anonymous visitor can cause: pending logins are bounded per browser (in the
//! session) and here across the whole server, so no flood of sign-in starts grows state unbounded.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

/// A token bucket: `capacity` sign-in starts at once, refilled at `capacity` per `period`.
#[derive(Clone)]
pub struct LoginLimiter {
    inner: Arc<Mutex<Bucket>>,
    capacity: f64,
    per_second: f64,
}

struct Bucket {
    tokens: f64,
    last: Instant,
}

impl LoginLimiter {
    pub fn new(capacity: u32, period: Duration) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Bucket {
                tokens: capacity as f64,
                last: Instant::now(),
            })),
            capacity: capacity as f64,
            per_second: capacity as f64 / period.as_secs_f64(),
        }
    }

    pub fn try_acquire(&self) -> bool {
        let mut b = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        b.tokens = (b.tokens + now.duration_since(b.last).as_secs_f64() * self.per_second)
            .min(self.capacity);
        b.last = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_past_capacity() {
        let l = LoginLimiter::new(3, Duration::from_secs(3600));
        assert!(l.try_acquire() && l.try_acquire() && l.try_acquire());
        assert!(!l.try_acquire());
    }
}
