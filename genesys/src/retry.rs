//! The one retry loop every call to Genesys goes through: 429 waits for `Retry-After` (capped),
//! 5xx and transport failures back off with full jitter, but only where repeating is harmless.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use rand::Rng;
use tokio::time::Instant;

/// How persistently a call is retried. One policy, shared by every call of a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in total, the first included (1 = never retry). Values below 1 count as 1.
    pub max_attempts: u32,
    /// The backoff ceiling before the first retry; it doubles with every further retry.
    pub base_delay: Duration,
    /// The largest backoff ceiling.
    pub max_delay: Duration,
    /// The longest `Retry-After` the client waits for by itself; a longer one fails at once
    /// with a rate-limited error that says how long to wait.
    pub max_retry_after: Duration,
    /// No retry is started if its wait would end after this much time since the first
    /// attempt began (a request already running is bounded by the request timeout).
    pub total_deadline: Duration,
}

impl Default for RetryPolicy {
    /// 4 attempts, backoff 250 ms doubling to 4 s, `Retry-After` up to 10 s, 20 s in all.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(4),
            max_retry_after: Duration::from_secs(10),
            total_deadline: Duration::from_secs(20),
        }
    }
}

/// Whether a call may be repeated, decided by the caller per call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotency {
    /// Repeating changes nothing (GET, a read-only search, a client-credentials grant):
    /// retried on 429, 5xx and transport errors.
    Idempotent,
    /// Repeating after the server processed the request could do harm (a refresh that rotates
    /// the refresh token, a POST that creates): retried only when the server certainly did not
    /// process it (429, or the connection never opened).
    NotIdempotent,
    /// The request spends something single-use (an authorization code): retried only when the
    /// connection never opened, since any answer at all may mean the code is consumed.
    SingleUse,
}

/// What a failed attempt means for retrying it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryClass {
    /// Repeating cannot help (4xx, a timeout, a malformed answer).
    Permanent,
    /// The request never left: the connection could not be opened.
    NotSent,
    /// The request may or may not have been processed (5xx, a connection that broke).
    Transient,
    /// 429: the server refused without processing, asking to wait this long (if it said).
    RateLimited(Option<Duration>),
}

/// Implemented by the errors the retry loop sees.
pub trait Classify {
    /// How this failure may be retried.
    fn retry_class(&self) -> RetryClass;
}

/// The last failure, once the loop stopped retrying.
#[derive(Debug)]
pub struct GaveUp<E> {
    /// The last attempt's error.
    pub error: E,
    /// How many attempts were made.
    pub attempts: u32,
    /// If the last failure was a 429: how long the caller should wait before trying again
    /// (the server's `Retry-After`, or the backoff the loop would have used).
    pub retry_after: Option<Duration>,
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn no_retry() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// The backoff ceiling before retry number `retry` (1-based): `base_delay * 2^(retry-1)`,
    /// at most `max_delay`.
    pub fn backoff_ceiling(&self, retry: u32) -> Duration {
        let factor = 1u32 << retry.saturating_sub(1).min(20);
        self.base_delay.saturating_mul(factor).min(self.max_delay)
    }

    /// A full-jitter backoff before retry number `retry`: uniform in `0..=ceiling`, so that
    /// concurrent callers spread out instead of retrying in lockstep.
    pub fn full_jitter(&self, retry: u32) -> Duration {
        let ceiling = self.backoff_ceiling(retry);
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(rand::thread_rng().gen_range(0..=nanos))
    }

    /// Runs `op` (given the 1-based attempt number) until it succeeds or retrying is not
    /// allowed, sensible or affordable any more. `gate`, if given, is waited on before every
    /// attempt and told about every 429, so that concurrent callers sharing it all back off.
    pub async fn run<T, E, F, Fut>(
        &self,
        idempotency: Idempotency,
        gate: Option<&RateGate>,
        mut op: F,
    ) -> Result<T, GaveUp<E>>
    where
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: Classify,
    {
        let deadline = later(Instant::now(), self.total_deadline.min(MAX_UPSTREAM_WAIT))
            .expect("an hour from now is a valid instant");
        let max_attempts = self.max_attempts.max(1);
        let mut attempt = 0;
        loop {
            attempt += 1;
            if let Some(gate) = gate {
                gate.acquire().await;
            }
            let error = match op(attempt).await {
                Ok(value) => return Ok(value),
                Err(error) => error,
            };
            let (allowed, wait, rate_wait) = match error.retry_class() {
                RetryClass::Permanent => (false, Duration::ZERO, None),
                RetryClass::NotSent => (true, self.full_jitter(attempt), None),
                RetryClass::Transient => (
                    idempotency == Idempotency::Idempotent,
                    self.full_jitter(attempt),
                    None,
                ),
                RetryClass::RateLimited(asked) => {
                    let wait = asked
                        .unwrap_or_else(|| self.backoff_ceiling(attempt))
                        .min(MAX_UPSTREAM_WAIT);
                    if let Some(gate) = gate {
                        // The others wait as long as this call would; a longer ask fails this
                        // call at once instead of holding every caller for it.
                        gate.pause_for(wait.min(self.max_retry_after));
                    }
                    let allowed =
                        idempotency != Idempotency::SingleUse && wait <= self.max_retry_after;
                    (allowed, wait, Some(wait))
                }
            };
            let give_up = !allowed
                || attempt >= max_attempts
                || later(Instant::now(), wait).is_none_or(|at| at > deadline);
            if give_up {
                return Err(GaveUp {
                    error,
                    attempts: attempt,
                    retry_after: rate_wait,
                });
            }
            tokio::time::sleep(wait).await;
        }
    }
}

/// The longest wait any upstream answer can impose: a `Retry-After` beyond it (a day, or a
/// number near `u64::MAX`) counts as this long. Nothing Genesys asks is anywhere near it.
pub const MAX_UPSTREAM_WAIT: Duration = Duration::from_secs(3600);

/// Parses a `Retry-After` value: delta-seconds (`120`) or an HTTP date, measured from `now`
/// (a date in the past means no wait), at most [`MAX_UPSTREAM_WAIT`]. Anything else is `None`.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    let wait = if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Absurdly long numbers saturate rather than fail; the cap below bounds them.
        Duration::from_secs(value.parse::<u64>().unwrap_or(u64::MAX))
    } else {
        let when = httpdate::parse_http_date(value).ok()?;
        when.duration_since(now).unwrap_or(Duration::ZERO)
    };
    Some(wait.min(MAX_UPSTREAM_WAIT))
}

/// `now + wait`, or `None` when that is past what an `Instant` can hold.
fn later(now: Instant, wait: Duration) -> Option<Instant> {
    now.checked_add(wait)
}

/// A gate shared by concurrent requests made with one token: a 429 seen by any of them makes
/// all of them wait, and an optional sliding window keeps them under N requests a minute.
///
/// It only counts the requests that pass through it.
#[derive(Debug, Default)]
pub struct RateGate {
    state: Mutex<GateState>,
}

#[derive(Debug, Default)]
struct GateState {
    not_before: Option<Instant>,
    per_minute: Option<usize>,
    sent: VecDeque<Instant>,
}

const WINDOW: Duration = Duration::from_secs(60);

impl RateGate {
    /// A gate that only spreads 429 back-offs.
    pub fn new() -> Self {
        Self::default()
    }

    /// A gate that also lets at most `limit` requests start in any 60-second window
    /// (`limit` below 1 counts as 1).
    pub fn with_requests_per_minute(limit: u32) -> Self {
        let gate = Self::default();
        gate.lock().per_minute = Some(usize::try_from(limit.max(1)).unwrap_or(usize::MAX));
        gate
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, GateState> {
        // A panic elsewhere cannot leave the state inconsistent: every update is one assignment.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Makes every caller wait until at least `wait` from now.
    pub fn pause_for(&self, wait: Duration) {
        let until = Instant::now() + wait.min(MAX_UPSTREAM_WAIT);
        let mut state = self.lock();
        if state.not_before.is_none_or(|current| current < until) {
            state.not_before = Some(until);
        }
    }

    /// Waits until a request may start, and counts it.
    pub async fn acquire(&self) {
        loop {
            let wake = {
                let mut state = self.lock();
                let now = Instant::now();
                match state.not_before {
                    Some(until) if until > now => until,
                    _ => {
                        let Some(limit) = state.per_minute else {
                            return;
                        };
                        while state.sent.front().is_some_and(|t| *t + WINDOW <= now) {
                            state.sent.pop_front();
                        }
                        if state.sent.len() < limit {
                            state.sent.push_back(now);
                            return;
                        }
                        *state
                            .sent
                            .front()
                            .expect("the window is full, so not empty")
                            + WINDOW
                    }
                }
            };
            tokio::time::sleep_until(wake).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Fake {
        Fatal,
        Refused,
        Broken,
        Busy(Option<u64>),
    }

    impl Classify for Fake {
        fn retry_class(&self) -> RetryClass {
            match self {
                Fake::Fatal => RetryClass::Permanent,
                Fake::Refused => RetryClass::NotSent,
                Fake::Broken => RetryClass::Transient,
                Fake::Busy(s) => RetryClass::RateLimited(s.map(Duration::from_secs)),
            }
        }
    }

    /// Runs `policy` over a script of failures (then success), returning the result, the
    /// attempts made and the paused-clock time it took.
    async fn script(
        policy: &RetryPolicy,
        idempotency: Idempotency,
        failures: Vec<Fake>,
    ) -> (Result<u32, GaveUp<Fake>>, u32, Duration) {
        let calls = AtomicU32::new(0);
        let start = Instant::now();
        let result = policy
            .run(idempotency, None, |attempt| {
                calls.fetch_add(1, Ordering::SeqCst);
                let outcome = failures.get(attempt as usize - 1).copied();
                async move {
                    match outcome {
                        Some(f) => Err(f),
                        None => Ok(attempt),
                    }
                }
            })
            .await;
        (result, calls.load(Ordering::SeqCst), start.elapsed())
    }

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
            max_retry_after: Duration::from_secs(10),
            total_deadline: Duration::from_secs(30),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn success_needs_one_attempt() {
        let (r, calls, took) = script(&policy(), Idempotency::Idempotent, vec![]).await;
        assert_eq!(r.unwrap(), 1);
        assert_eq!(calls, 1);
        assert_eq!(took, Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn permanent_errors_are_not_retried() {
        let (r, calls, _) = script(&policy(), Idempotency::Idempotent, vec![Fake::Fatal]).await;
        let gave_up = r.unwrap_err();
        assert_eq!(
            (gave_up.error, gave_up.attempts, gave_up.retry_after),
            (Fake::Fatal, 1, None)
        );
        assert_eq!(calls, 1);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(2_000),
            ..Default::default()
        })]

        /// Any `Retry-After` a server sends parses without panicking, to at most an hour.
        #[test]
        fn any_retry_after_is_bounded(value in proptest::prelude::any::<String>(), digits in "[0-9]{1,40}") {
            let now = SystemTime::now();
            for v in [value.as_str(), digits.as_str()] {
                if let Some(wait) = parse_retry_after(v, now) {
                    proptest::prop_assert!(wait <= MAX_UPSTREAM_WAIT);
                }
            }
        }
    }

    #[test]
    fn retry_after_is_capped_at_an_hour() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let hour = Duration::from_secs(3600);
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(parse_retry_after("86400", now), Some(hour));
        assert_eq!(parse_retry_after("18446744073709551615", now), Some(hour));
        assert_eq!(parse_retry_after(&"9".repeat(400), now), Some(hour));
        let next_week = httpdate::fmt_http_date(now + Duration::from_secs(7 * 86400));
        assert_eq!(parse_retry_after(&next_week, now), Some(hour));
        assert_eq!(parse_retry_after("soon", now), None);
    }

    /// A 429 asking for an absurd wait (as a classifier could report it, whatever the parser
    /// did) fails the call at once: no overflow panic, no day-long pause of the shared gate.
    #[tokio::test(start_paused = true)]
    async fn an_absurd_wait_neither_panics_nor_stalls_the_gate() {
        let gate = RateGate::new();
        let calls = AtomicU32::new(0);
        let started = Instant::now();
        let result: Result<u32, _> = policy()
            .run(Idempotency::Idempotent, Some(&gate), |_| {
                calls.fetch_add(1, Ordering::SeqCst);
                async { Err(Fake::Busy(Some(u64::MAX))) }
            })
            .await;
        let gave_up = result.unwrap_err();
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(gave_up.retry_after, Some(MAX_UPSTREAM_WAIT));
        // The gate holds others for no longer than a call may wait by itself (10 s here).
        gate.acquire().await;
        assert!(
            started.elapsed() <= Duration::from_secs(10),
            "{:?}",
            started.elapsed()
        );
        gate.pause_for(Duration::MAX);
        gate.acquire().await;
        assert!(started.elapsed() <= Duration::from_secs(10) + MAX_UPSTREAM_WAIT);
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_is_honoured_exactly() {
        let (r, calls, took) = script(
            &policy(),
            Idempotency::Idempotent,
            vec![Fake::Busy(Some(3)), Fake::Busy(Some(2))],
        )
        .await;
        assert_eq!(r.unwrap(), 3);
        assert_eq!(calls, 3);
        assert_eq!(took, Duration::from_secs(5));
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_beyond_the_cap_fails_at_once_with_the_wait() {
        let (r, calls, took) = script(
            &policy(),
            Idempotency::Idempotent,
            vec![Fake::Busy(Some(60))],
        )
        .await;
        let gave_up = r.unwrap_err();
        assert_eq!(gave_up.retry_after, Some(Duration::from_secs(60)));
        assert_eq!(calls, 1);
        assert_eq!(took, Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn missing_retry_after_uses_the_backoff_ceiling() {
        let (r, _, took) = script(
            &policy(),
            Idempotency::Idempotent,
            vec![Fake::Busy(None), Fake::Busy(None)],
        )
        .await;
        assert_eq!(r.unwrap(), 3);
        assert_eq!(took, Duration::from_millis(100 + 200));
    }

    #[tokio::test(start_paused = true)]
    async fn rate_limits_are_retried_for_non_idempotent_calls_but_not_single_use() {
        let (r, calls, _) = script(
            &policy(),
            Idempotency::NotIdempotent,
            vec![Fake::Busy(Some(1))],
        )
        .await;
        assert_eq!((r.unwrap(), calls), (2, 2));
        let (r, calls, _) =
            script(&policy(), Idempotency::SingleUse, vec![Fake::Busy(Some(1))]).await;
        assert_eq!(r.unwrap_err().retry_after, Some(Duration::from_secs(1)));
        assert_eq!(calls, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn transient_errors_are_retried_only_when_idempotent() {
        let (r, calls, took) = script(
            &policy(),
            Idempotency::Idempotent,
            vec![Fake::Broken, Fake::Broken, Fake::Broken],
        )
        .await;
        assert_eq!((r.unwrap(), calls), (4, 4));
        // Full jitter: each wait is at most its ceiling (100 + 200 + 400 ms).
        assert!(took <= Duration::from_millis(700), "{took:?}");

        for idempotency in [Idempotency::NotIdempotent, Idempotency::SingleUse] {
            let (r, calls, _) = script(&policy(), idempotency, vec![Fake::Broken]).await;
            assert_eq!(r.unwrap_err().error, Fake::Broken);
            assert_eq!(calls, 1);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn unsent_requests_are_retried_even_when_single_use() {
        let (r, calls, _) = script(
            &policy(),
            Idempotency::SingleUse,
            vec![Fake::Refused, Fake::Refused],
        )
        .await;
        assert_eq!((r.unwrap(), calls), (3, 3));
    }

    #[tokio::test(start_paused = true)]
    async fn attempts_are_bounded() {
        let storm = vec![Fake::Broken; 50];
        let (r, calls, _) = script(&policy(), Idempotency::Idempotent, storm).await;
        let gave_up = r.unwrap_err();
        assert_eq!((gave_up.attempts, calls), (4, 4));
        let (_, calls, _) = script(
            &RetryPolicy::no_retry(),
            Idempotency::Idempotent,
            vec![Fake::Broken],
        )
        .await;
        assert_eq!(calls, 1);
        let zero = RetryPolicy {
            max_attempts: 0,
            ..policy()
        };
        let (_, calls, _) = script(&zero, Idempotency::Idempotent, vec![Fake::Broken]).await;
        assert_eq!(calls, 1, "zero attempts still makes the one call");
    }

    #[tokio::test(start_paused = true)]
    async fn the_total_deadline_stops_retries() {
        let tight = RetryPolicy {
            max_attempts: 100,
            total_deadline: Duration::from_secs(5),
            ..policy()
        };
        // 2 s + 2 s fit in 5 s; a third 2 s wait would not.
        let (r, calls, took) = script(
            &tight,
            Idempotency::Idempotent,
            vec![Fake::Busy(Some(2)); 10],
        )
        .await;
        let gave_up = r.unwrap_err();
        assert_eq!(calls, 3);
        assert_eq!(took, Duration::from_secs(4));
        assert_eq!(gave_up.retry_after, Some(Duration::from_secs(2)));
    }

    #[test]
    fn backoff_doubles_up_to_the_maximum() {
        let p = policy();
        let ceilings: Vec<u64> = (1..=6)
            .map(|n| p.backoff_ceiling(n).as_millis() as u64)
            .collect();
        assert_eq!(ceilings, vec![100, 200, 400, 800, 1000, 1000]);
        assert_eq!(p.backoff_ceiling(u32::MAX), Duration::from_secs(1));
        for n in 1..=10 {
            assert!(p.full_jitter(n) <= p.backoff_ceiling(n));
        }
        // Full jitter spreads: 100 draws are not all the same.
        let draws: std::collections::HashSet<_> = (0..100).map(|_| p.full_jitter(5)).collect();
        assert!(draws.len() > 10);
    }

    #[test]
    fn retry_after_parses_seconds_and_http_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(42));
        assert_eq!(
            parse_retry_after(&later, now),
            Some(Duration::from_secs(42))
        );
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(42));
        assert_eq!(parse_retry_after(&earlier, now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("99999999999999999999999", now),
            Some(MAX_UPSTREAM_WAIT)
        );
        for bad in ["", "-1", "1.5", "soon", "Wed, 99 Foo 2024"] {
            assert_eq!(parse_retry_after(bad, now), None, "{bad}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_seen_by_one_caller_makes_all_wait() {
        let gate = Arc::new(RateGate::new());
        let policy = policy();
        let start = Instant::now();
        let first_call_of_b = Arc::new(Mutex::new(None));

        let a = {
            let gate = gate.clone();
            let policy = policy.clone();
            tokio::spawn(async move {
                policy
                    .run(Idempotency::Idempotent, Some(&gate), |attempt| async move {
                        if attempt == 1 {
                            Err(Fake::Busy(Some(5)))
                        } else {
                            Ok(())
                        }
                    })
                    .await
                    .unwrap()
            })
        };
        // B starts 1 s later, after A's 429 was seen.
        let b = {
            let gate = gate.clone();
            let seen = first_call_of_b.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_secs(1)).await;
                policy
                    .run(Idempotency::Idempotent, Some(&gate), |_| {
                        seen.lock().unwrap().get_or_insert(start.elapsed());
                        async { Ok::<_, Fake>(()) }
                    })
                    .await
                    .unwrap()
            })
        };
        a.await.unwrap();
        b.await.unwrap();
        assert_eq!(
            *first_call_of_b.lock().unwrap(),
            Some(Duration::from_secs(5))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_window_allows_n_requests_a_minute() {
        let gate = RateGate::with_requests_per_minute(3);
        let start = Instant::now();
        let mut starts = Vec::new();
        for _ in 0..7 {
            gate.acquire().await;
            starts.push(start.elapsed().as_secs());
        }
        assert_eq!(starts, vec![0, 0, 0, 60, 60, 60, 120]);
    }

    #[tokio::test(start_paused = true)]
    async fn pauses_only_extend() {
        let gate = RateGate::new();
        gate.pause_for(Duration::from_secs(10));
        gate.pause_for(Duration::from_secs(2));
        let start = Instant::now();
        gate.acquire().await;
        assert_eq!(start.elapsed(), Duration::from_secs(10));
    }
}
