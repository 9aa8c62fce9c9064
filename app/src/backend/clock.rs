//! Time as Unix seconds, for what sessions, grants, pending logins and guest chats are stamped
//! with (so their limits survive a restart), counted on the monotonic clock.
//!
//! The wall clock is read once, when the process first asks; from then on the time advances
//! with `Instant` (SECURITY.md: expiry on a monotonic clock). A wall-clock step (an NTP
//! correction, an operator's `date -s`, a VM resumed) then neither expires every token at once
//! nor keeps a dead one alive; a restart re-reads the wall clock, as it must to compare with
//! the stamps it finds on disk.

use std::sync::OnceLock;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Unix seconds now: the wall clock at the first call, plus the monotonic time since.
pub fn now_unix() -> i64 {
    static CLOCK: OnceLock<MonotonicUnix> = OnceLock::new();
    CLOCK
        .get_or_init(|| MonotonicUnix::start(system_wall_secs))
        .now_unix()
}

/// Unix milliseconds now, the same way: for what replicas compare (an export's start, its
/// heartbeat), where whole seconds are too coarse.
pub fn now_unix_ms() -> i64 {
    static CLOCK: OnceLock<(i64, Instant)> = OnceLock::new();
    let (wall, started) = CLOCK.get_or_init(|| {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        (wall, Instant::now())
    });
    wall.saturating_add(i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX))
}

fn system_wall_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Unix seconds anchored on one reading of a wall clock and advanced by `Instant`.
struct MonotonicUnix {
    wall_at_start: i64,
    started: Instant,
}

impl MonotonicUnix {
    fn start(wall: impl FnOnce() -> i64) -> Self {
        Self {
            wall_at_start: wall(),
            started: Instant::now(),
        }
    }

    fn now_unix(&self) -> i64 {
        self.at(Instant::now())
    }

    fn at(&self, now: Instant) -> i64 {
        let since = now.saturating_duration_since(self.started).as_secs();
        self.wall_at_start
            .saturating_add(i64::try_from(since).unwrap_or(i64::MAX))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// The wall clock steps an hour back and then a day forward after start: a grant
    /// stamped at start keeps exactly its real time left, since only the first reading counts
    /// and the rest is `Instant` arithmetic.
    #[test]
    fn a_wall_clock_jump_moves_nothing() {
        let clock = MonotonicUnix::start(|| 1_000_000);
        let t0 = clock.started;
        // A token good for 3,600 s, stamped at start.
        let expires_at = clock.at(t0) + 3_600;
        for (after, left) in [
            (0, 3_600),
            (60, 3_540),
            (3_599, 1),
            (3_600, 0),
            (7_200, -3_600),
        ] {
            let now = clock.at(t0 + Duration::from_secs(after));
            assert_eq!(expires_at - now, left, "{after} s after start");
        }
        // An Instant from before the anchor saturates instead of going back.
        assert_eq!(clock.at(t0 - Duration::from_millis(1)), 1_000_000);
    }

    #[test]
    fn the_process_clock_is_unix_time_and_never_goes_back() {
        let a = now_unix();
        let wall = system_wall_secs();
        assert!((a - wall).abs() <= 2, "{a} vs {wall}");
        let b = now_unix();
        assert!(b >= a);
    }
}
