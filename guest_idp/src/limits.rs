//! Rate limits (GCRA through `governor`): per remote address for sign-in and token requests,
//! per client id for token requests. A refusal carries the seconds until the next allowance.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;

use axum::extract::{ConnectInfo, FromRequestParts};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use http::request::Parts;

use crate::config::{Budget, RateLimits};

/// Keys beyond which idle entries are dropped, so a spray of addresses cannot grow memory.
const MAX_KEYS: usize = 10_000;

/// The caller's address from `ConnectInfo<SocketAddr>`, or `None` when the server was not
/// started with `into_make_service_with_connect_info` (then all callers share one bucket).
pub(crate) struct RemoteAddr(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for RemoteAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(RemoteAddr(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

/// The provider's limiters.
pub(crate) struct Limits {
    sign_in_per_address: DefaultKeyedRateLimiter<String>,
    sign_in_per_client: DefaultKeyedRateLimiter<String>,
    token_per_address: DefaultKeyedRateLimiter<String>,
    token_per_client: DefaultKeyedRateLimiter<String>,
}

fn limiter(b: Budget) -> DefaultKeyedRateLimiter<String> {
    let burst = NonZeroU32::new(b.burst.max(1)).expect("at least 1");
    let quota = Quota::with_period(b.period.max(std::time::Duration::from_millis(1)))
        .expect("a non-zero period")
        .allow_burst(burst);
    DefaultKeyedRateLimiter::keyed(quota)
}

fn address_key(addr: &RemoteAddr) -> String {
    addr.0
        .map_or_else(|| "shared".to_owned(), |ip| ip.to_string())
}

/// `Err(seconds)` when the key is over its budget: the `Retry-After` value, at least 1.
fn check(l: &DefaultKeyedRateLimiter<String>, key: String) -> Result<(), u64> {
    if l.len() > MAX_KEYS {
        l.retain_recent();
        l.shrink_to_fit();
    }
    l.check_key(&key)
        .map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
        })
        .map_err(|s| s.max(1))
}

impl Limits {
    pub(crate) fn new(r: &RateLimits) -> Limits {
        Limits {
            sign_in_per_address: limiter(r.sign_in_per_address),
            sign_in_per_client: limiter(r.sign_in_per_client),
            token_per_address: limiter(r.token_per_address),
            token_per_client: limiter(r.token_per_client),
        }
    }

    pub(crate) fn sign_in(&self, addr: &RemoteAddr) -> Result<(), u64> {
        check(&self.sign_in_per_address, address_key(addr))
    }

    pub(crate) fn authorize(&self, addr: &RemoteAddr, client_id: &str) -> Result<(), u64> {
        self.sign_in(addr)?;
        check(&self.sign_in_per_client, client_id.to_owned())
    }

    pub(crate) fn token(&self, addr: &RemoteAddr, client_id: Option<&str>) -> Result<(), u64> {
        check(&self.token_per_address, address_key(addr))?;
        match client_id {
            Some(id) => check(&self.token_per_client, id.to_owned()),
            None => Ok(()),
        }
    }
}
