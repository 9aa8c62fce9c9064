//! Caps on work an anonymous visitor can cause. Sign-in starts are limited per client address
//! (so one client cannot lock everybody else out) with a ceiling for the whole server behind
//! it, both GCRA limiters from `governor`; pending logins are also bounded per browser (in the
//! session).
//!
//! The client address is the TCP peer's. Behind a reverse proxy every request comes from the
//! proxy, so `PORTAL_TRUSTED_PROXY_HEADER` may name the header the proxy sets
//! (`x-forwarded-for`: its last entry, the one the proxy added; or a single-address header such
//! as `x-real-ip`). It is never trusted by default: any client can send it.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderMap, HeaderName};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota};

/// Client addresses remembered; past this, idle ones are dropped so a spray of addresses
/// cannot grow memory without bound.
const MAX_CLIENTS: usize = 10_000;

/// How many sign-ins may start at once, and how fast the allowance comes back.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub burst: u32,
    pub per: Duration,
}

impl Budget {
    fn quota(self) -> Quota {
        Quota::with_period(self.per.max(Duration::from_millis(1)))
            .expect("a non-zero period")
            .allow_burst(NonZeroU32::new(self.burst.max(1)).expect("at least 1"))
    }
}

/// One client: 30 sign-ins at once, then one a second.
pub const PER_CLIENT: Budget = Budget {
    burst: 30,
    per: Duration::from_secs(1),
};
/// The whole server: 600 at once, then ten a second.
pub const SERVER_WIDE: Budget = Budget {
    burst: 600,
    per: Duration::from_millis(100),
};

/// The sign-in limiters; cheap to clone (shared).
#[derive(Clone)]
pub struct LoginLimiter {
    per_client: Arc<DefaultKeyedRateLimiter<String>>,
    server_wide: Arc<DefaultDirectRateLimiter>,
    trusted_header: Option<HeaderName>,
}

impl LoginLimiter {
    pub fn new(
        per_client: Budget,
        server_wide: Budget,
        trusted_header: Option<HeaderName>,
    ) -> Self {
        Self {
            per_client: Arc::new(DefaultKeyedRateLimiter::keyed(per_client.quota())),
            server_wide: Arc::new(DefaultDirectRateLimiter::direct(server_wide.quota())),
            trusted_header,
        }
    }

    /// Takes one sign-in start for the client of a request (its headers and TCP peer);
    /// `Err(seconds)` to wait (at least 1) when its budget or the server's is spent.
    pub fn try_acquire(&self, headers: &HeaderMap, peer: Option<SocketAddr>) -> Result<(), u64> {
        let client = client_address(headers, peer, self.trusted_header.as_ref())
            .map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
        if self.per_client.len() > MAX_CLIENTS {
            self.per_client.retain_recent();
            self.per_client.shrink_to_fit();
        }
        let now = DefaultClock::default().now();
        let wait = |not_until: governor::NotUntil<_>| {
            let wait = not_until.wait_time_from(now);
            (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
        };
        self.per_client.check_key(&client).map_err(wait)?;
        self.server_wide.check().map_err(wait)
    }
}

/// The client's address: the trusted proxy header's when one is configured and present,
/// otherwise the TCP peer's (`None` when the server runs without connect info).
pub fn client_address(
    headers: &HeaderMap,
    peer: Option<SocketAddr>,
    trusted: Option<&HeaderName>,
) -> Option<IpAddr> {
    if let Some(name) = trusted {
        if let Some(ip) = from_header(headers, name) {
            return Some(ip);
        }
    }
    peer.map(|peer| peer.ip().to_canonical())
}

/// The last address of the (last) header named `name`: what the nearest proxy saw.
fn from_header(headers: &HeaderMap, name: &HeaderName) -> Option<IpAddr> {
    let value = headers.get_all(name).iter().next_back()?.to_str().ok()?;
    let last = value.rsplit(',').next()?.trim();
    // `1.2.3.4:5678` and `[::1]:5678` forms too.
    last.parse::<IpAddr>()
        .ok()
        .or_else(|| last.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .map(|ip| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A request's headers and peer.
    fn request(peer: Option<&str>, headers: &[(&str, &str)]) -> (HeaderMap, Option<SocketAddr>) {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        (map, peer.map(|p| p.parse().unwrap()))
    }

    fn client(r: &(HeaderMap, Option<SocketAddr>), trusted: Option<&HeaderName>) -> Option<IpAddr> {
        client_address(&r.0, r.1, trusted)
    }

    fn acquire(l: &LoginLimiter, r: &(HeaderMap, Option<SocketAddr>)) -> Result<(), u64> {
        l.try_acquire(&r.0, r.1)
    }

    #[test]
    fn the_proxy_header_counts_only_when_trusted_and_its_last_entry_wins() {
        let xff = HeaderName::from_static("x-forwarded-for");
        let r = request(
            Some("10.0.0.1:4000"),
            &[("x-forwarded-for", "198.51.100.1, 203.0.113.7")],
        );
        assert_eq!(client(&r, None), Some("10.0.0.1".parse().unwrap()));
        assert_eq!(client(&r, Some(&xff)), Some("203.0.113.7".parse().unwrap()));
        let junk = request(
            Some("10.0.0.1:4000"),
            &[("x-forwarded-for", "not an address")],
        );
        assert_eq!(
            client(&junk, Some(&xff)),
            Some("10.0.0.1".parse().unwrap()),
            "an unusable header falls back to the peer"
        );
        let mapped = request(Some("[::ffff:192.0.2.1]:4000"), &[]);
        assert_eq!(client(&mapped, None), Some("192.0.2.1".parse().unwrap()));
        assert_eq!(client(&request(None, &[]), None), None);
    }

    #[test]
    fn one_client_spends_its_own_budget_not_everyones() {
        let limiter = LoginLimiter::new(
            Budget {
                burst: 3,
                per: Duration::from_secs(3600),
            },
            Budget {
                burst: 5,
                per: Duration::from_secs(3600),
            },
            None,
        );
        let a = request(Some("192.0.2.1:1"), &[]);
        let b = request(Some("192.0.2.2:1"), &[]);
        for _ in 0..3 {
            assert_eq!(acquire(&limiter, &a), Ok(()));
        }
        let wait = acquire(&limiter, &a).unwrap_err();
        assert!((1..=3600).contains(&wait), "{wait}");
        assert_eq!(
            acquire(&limiter, &b),
            Ok(()),
            "another client is not locked out"
        );
        assert_eq!(acquire(&limiter, &b), Ok(()));
        // The server-wide ceiling (5) is reached by the two together.
        assert!(acquire(&limiter, &request(Some("192.0.2.3:1"), &[])).is_err());
    }
}
