//! Lifecycle webhooks: every audit event is POSTed as JSON, signed with HMAC-SHA256 over the
//! body, from a background task fed by a bounded queue, so token work never waits on it.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use rand::Rng;
use reqwest::header::{HeaderValue, CONTENT_TYPE};
use reqwest::StatusCode;
use sha2::Sha256;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use url::Url;

use super::audit::AuditEvent;
use super::metrics::Metrics;

/// The header carrying `sha256=<hex of HMAC-SHA256(secret, body)>`.
pub const WEBHOOK_SIGNATURE_HEADER: &str = "x-portal-signature";
/// The header carrying the event's unique id (also the body's `id`); the same on every retry,
/// so a receiver can drop duplicates.
pub const WEBHOOK_EVENT_ID_HEADER: &str = "x-portal-event-id";
/// The header carrying the event kind (`rotated`, ...).
pub const WEBHOOK_EVENT_KIND_HEADER: &str = "x-portal-event";

/// The key webhook bodies are signed with. Prints `[redacted]`.
#[derive(Clone)]
pub struct WebhookSecret(Vec<u8>);

impl WebhookSecret {
    /// Wraps a signing key.
    pub fn new(key: impl Into<Vec<u8>>) -> Self {
        WebhookSecret(key.into())
    }

    fn mac(&self) -> Hmac<Sha256> {
        Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes keys of any length")
    }
}

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret([redacted])")
    }
}

/// Where and how lifecycle events are delivered.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// The receiver (`https`, or `http` on a loopback host).
    pub url: Url,
    /// The signing key.
    pub secret: WebhookSecret,
    /// Delivery attempts per event, the first included.
    pub max_attempts: u32,
    /// The backoff before the first retry; it doubles per retry, jittered.
    pub base_delay: Duration,
    /// The longest backoff.
    pub max_delay: Duration,
    /// Time allowed for one delivery attempt.
    pub timeout: Duration,
    /// Events waiting for delivery; when full, new events are dropped (and counted).
    pub queue_capacity: usize,
}

impl WebhookConfig {
    /// Defaults: 5 attempts, backoff from 500 ms to 30 s, 5 s per attempt, 256 queued events.
    pub fn new(url: Url, secret: WebhookSecret) -> Self {
        WebhookConfig {
            url,
            secret,
            max_attempts: 5,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            timeout: Duration::from_secs(5),
            queue_capacity: 256,
        }
    }
}

/// The signature header value for `body`: `sha256=<lowercase hex>`.
pub fn sign_webhook_body(secret: &WebhookSecret, body: &[u8]) -> String {
    let mut mac = secret.mac();
    mac.update(body);
    format!("sha256={}", hex(&mac.finalize().into_bytes()))
}

/// Checks a signature header value against `body`, in constant time.
pub fn verify_webhook_signature(secret: &WebhookSecret, body: &[u8], header: &str) -> bool {
    let Some(digest) = header.trim().strip_prefix("sha256=").and_then(unhex) else {
        return false;
    };
    let mut mac = secret.mac();
    mac.update(body);
    mac.verify_slice(&digest).is_ok()
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    out
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Why a webhook could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// The URL is not `https` (or `http` on loopback).
    #[error("the webhook URL must use https (plain http only for loopback hosts)")]
    InsecureUrl,
    /// The queue would hold nothing, or no attempt would be made.
    #[error("the webhook needs a queue capacity and max_attempts of at least 1")]
    Limits,
    /// reqwest could not build its client.
    #[error("could not build the webhook's HTTP client: {0}")]
    Http(String),
}

/// Starts the delivery task; events sent to the returned queue are delivered in order.
pub(crate) fn spawn(
    config: WebhookConfig,
    metrics: Arc<Metrics>,
) -> Result<(mpsc::Sender<AuditEvent>, JoinHandle<()>), WebhookError> {
    match config.url.scheme() {
        "https" => {}
        "http" if crate::environment::is_loopback(config.url.host()) => {}
        _ => return Err(WebhookError::InsecureUrl),
    }
    if config.queue_capacity == 0 || config.max_attempts == 0 {
        return Err(WebhookError::Limits);
    }
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(config.timeout)
        .timeout(config.timeout)
        .build()
        .map_err(|e| WebhookError::Http(e.to_string()))?;
    let (tx, mut rx) = mpsc::channel::<AuditEvent>(config.queue_capacity);
    let task = tokio::spawn(async move {
        while let Some(event) = rx.recv().await {
            deliver(&http, &config, &metrics, &event).await;
        }
    });
    Ok((tx, task))
}

async fn deliver(
    http: &reqwest::Client,
    config: &WebhookConfig,
    metrics: &Metrics,
    event: &AuditEvent,
) {
    let body = match serde_json::to_vec(event) {
        Ok(body) => body,
        Err(e) => {
            tracing::error!(target: "genesys::token_manager", error = %e, "webhook event did not serialize");
            metrics.webhook_failed.fetch_add(1, Ordering::Relaxed);
            return;
        }
    };
    let signature = sign_webhook_body(&config.secret, &body);
    let event_id = event.id.to_string();
    let mut last_problem = String::new();
    for attempt in 1..=config.max_attempts {
        let request = http
            .post(config.url.clone())
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .header(WEBHOOK_SIGNATURE_HEADER, signature.as_str())
            .header(WEBHOOK_EVENT_ID_HEADER, event_id.as_str())
            .header(WEBHOOK_EVENT_KIND_HEADER, event.kind.as_str())
            .body(body.clone());
        let retryable = match request.send().await {
            Ok(answer) if answer.status().is_success() => {
                metrics.webhook_delivered.fetch_add(1, Ordering::Relaxed);
                return;
            }
            Ok(answer) => {
                let status = answer.status();
                last_problem = format!("HTTP {}", status.as_u16());
                status.is_server_error()
                    || status == StatusCode::TOO_MANY_REQUESTS
                    || status == StatusCode::REQUEST_TIMEOUT
            }
            Err(e) => {
                // Without the URL: it may carry a credential of the receiver's.
                last_problem = e.without_url().to_string();
                true
            }
        };
        if !retryable || attempt == config.max_attempts {
            break;
        }
        tracing::debug!(
            target: "genesys::token_manager",
            event_id = %event_id,
            attempt,
            problem = %last_problem,
            "webhook delivery failed; retrying"
        );
        tokio::time::sleep(backoff(config, attempt)).await;
    }
    metrics.webhook_failed.fetch_add(1, Ordering::Relaxed);
    tracing::warn!(
        target: "genesys::token_manager",
        event_id = %event_id,
        event = event.kind.as_str(),
        problem = %last_problem,
        "webhook delivery gave up"
    );
}

/// Half the doubling ceiling plus up to the other half at random, so retries never bunch up
/// and never come sooner than half the ceiling.
fn backoff(config: &WebhookConfig, retry: u32) -> Duration {
    let ceiling = config
        .base_delay
        .saturating_mul(1u32 << retry.saturating_sub(1).min(16))
        .min(config.max_delay);
    let half = ceiling / 2;
    let spread = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX);
    half + Duration::from_nanos(rand::thread_rng().gen_range(0..=spread))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_hmac_sha256_in_hex() {
        // RFC 4231 test case 2.
        let secret = WebhookSecret::new("Jefe");
        let signature = sign_webhook_body(&secret, b"what do ya want for nothing?");
        assert_eq!(
            signature,
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert!(verify_webhook_signature(
            &secret,
            b"what do ya want for nothing?",
            &signature
        ));
        assert!(!verify_webhook_signature(
            &secret,
            b"what do ya want for nothing!",
            &signature
        ));
        assert!(!verify_webhook_signature(
            &WebhookSecret::new("jefe"),
            b"what do ya want for nothing?",
            &signature
        ));
        assert!(!verify_webhook_signature(&secret, b"x", "sha256=zz"));
        assert!(!verify_webhook_signature(&secret, b"x", "md5=00"));
        assert_eq!(format!("{secret:?}"), "WebhookSecret([redacted])");
    }

    #[test]
    fn backoff_stays_within_half_and_full_ceiling() {
        let config = WebhookConfig::new(
            Url::parse("https://hooks.example.com/").unwrap(),
            WebhookSecret::new("k"),
        );
        assert_eq!(
            (config.base_delay, config.max_delay),
            (Duration::from_millis(500), Duration::from_secs(30))
        );
        // retry: (shortest, longest) wait, written out from the defaults above.
        let ms = Duration::from_millis;
        let expected = [
            (1, ms(250), ms(500)),
            (2, ms(500), ms(1_000)),
            (3, ms(1_000), ms(2_000)),
            (6, ms(8_000), ms(16_000)),
            (7, ms(15_000), ms(30_000)),
            (10, ms(15_000), ms(30_000)),
            (u32::MAX, ms(15_000), ms(30_000)),
        ];
        for (retry, low, high) in expected {
            for _ in 0..50 {
                let wait = backoff(&config, retry);
                assert!(wait >= low && wait <= high, "{retry}: {wait:?}");
            }
        }
    }
}
