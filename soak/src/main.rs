//! The fault soak (issue: hardening). Starts the portal binary on its embedded sandbox, makes
//! the sandbox fail (a share of 5xx and 429 answers, added latency, every access token expired
//! at intervals) and lets goose drive simulated agents through sign-in, directory, export and
//! sign-out. It passes when no page answered 500, the portal logged no panic, no agent lost its
//! session before signing out, no export that started failed, memory at the end is within the
//! allowed growth of memory after warm-up, and every step of the flow worked at least once.
//!
//! ```text
//! soak [--portal target/debug/genesys-portal] [--users 50] [--seconds 300] [--warmup S]
//!      [--error-rate 0.2] [--rate-limit-rate 0.1] [--latency-ms 200] [--expire-every 15]
//!      [--max-rss-growth 0.2] [--report FILE]
//! ```

mod agent;
mod html;
mod portal;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use goose::config::{GooseConfiguration, GooseDefault, GooseDefaultType};
use goose::metrics::GooseMetrics;
use goose::GooseAttack;

use agent::TALLY;
use portal::Portal;

#[derive(Debug, Clone)]
struct Args {
    portal: PathBuf,
    users: usize,
    seconds: usize,
    warmup: usize,
    error_rate: f64,
    rate_limit_rate: f64,
    latency_ms: u64,
    expire_every: u64,
    max_rss_growth: f64,
    report: Option<PathBuf>,
}

impl Args {
    fn parse() -> Result<Self, String> {
        let mut args = Self {
            portal: PathBuf::from("target/debug/genesys-portal"),
            users: 50,
            seconds: 300,
            warmup: 0,
            error_rate: 0.2,
            rate_limit_rate: 0.1,
            latency_ms: 200,
            expire_every: 15,
            max_rss_growth: 0.2,
            report: None,
        };
        let mut warmup = None;
        let mut it = std::env::args().skip(1);
        while let Some(flag) = it.next() {
            let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
            let bad = |e: &dyn std::fmt::Display| format!("{flag} {value:?}: {e}");
            match flag.as_str() {
                "--portal" => args.portal = value.into(),
                "--users" => args.users = value.parse().map_err(|e| bad(&e))?,
                "--seconds" => args.seconds = value.parse().map_err(|e| bad(&e))?,
                "--warmup" => warmup = Some(value.parse().map_err(|e| bad(&e))?),
                "--error-rate" => args.error_rate = value.parse().map_err(|e| bad(&e))?,
                "--rate-limit-rate" => args.rate_limit_rate = value.parse().map_err(|e| bad(&e))?,
                "--latency-ms" => args.latency_ms = value.parse().map_err(|e| bad(&e))?,
                "--expire-every" => args.expire_every = value.parse().map_err(|e| bad(&e))?,
                "--max-rss-growth" => args.max_rss_growth = value.parse().map_err(|e| bad(&e))?,
                "--report" => args.report = Some(value.into()),
                _ => return Err(format!("unknown option {flag}")),
            }
        }
        if args.users == 0 || args.seconds < 10 {
            return Err("--users must be at least 1 and --seconds at least 10".into());
        }
        if !(0.0..=1.0).contains(&args.error_rate) || !(0.0..=1.0).contains(&args.rate_limit_rate) {
            return Err("rates are shares between 0 and 1".into());
        }
        // Warm-up: until every agent has been through sign-in and an export at least once.
        args.warmup = warmup.unwrap_or((args.seconds / 3).clamp(5, 60));
        if args.warmup >= args.seconds {
            return Err("--warmup must be shorter than --seconds".into());
        }
        Ok(args)
    }
}

/// The portal's memory over the run: `(seconds since the start, KiB)`.
type Samples = Arc<Mutex<Vec<(u64, u64)>>>;

#[tokio::main]
async fn main() -> ExitCode {
    let args = match Args::parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("soak: {e}");
            return ExitCode::from(2);
        }
    };
    match run(&args).await {
        Ok(failures) if failures.is_empty() => {
            println!("soak: PASS");
            ExitCode::SUCCESS
        }
        Ok(failures) => {
            for f in failures {
                eprintln!("soak: FAIL: {f}");
            }
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("soak: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: &Args) -> Result<Vec<String>, String> {
    let mut portal = Portal::start(&args.portal)?;
    let admin = reqwest::Client::builder()
        .default_headers(
            [("x-sandbox-admin", "1")]
                .into_iter()
                .map(|(k, v)| (k.parse().expect("a name"), v.parse().expect("a value")))
                .collect(),
        )
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| e.to_string())?;
    portal.ready(&admin).await?;
    let faults = serde_json::json!({
        "errorRate": args.error_rate,
        "rateLimitRate": args.rate_limit_rate,
        "latencyMs": args.latency_ms,
    });
    let set = admin
        .put(portal.sandbox.join("sandbox/faults").expect("a path"))
        .json(&faults)
        .send()
        .await
        .map_err(|e| format!("the sandbox's fault settings: {e}"))?;
    if !set.status().is_success() {
        return Err(format!("the sandbox refused the faults: {}", set.status()));
    }
    println!(
        "soak: {} agents for {} s against {} (sandbox {}): {:.0}% 5xx, {:.0}% 429, {} ms latency, \
         access tokens expired every {} s, memory compared from {} s",
        args.users,
        args.seconds,
        portal.base,
        portal.sandbox,
        args.error_rate * 100.0,
        args.rate_limit_rate * 100.0,
        args.latency_ms,
        args.expire_every,
        args.warmup,
    );

    let started = Instant::now();
    let samples: Samples = Arc::default();
    let expiries = Arc::new(std::sync::atomic::AtomicU64::new(0));
    samples
        .lock()
        .unwrap()
        .push((0, portal::rss_kib(portal.pid()).unwrap_or(0)));
    let monitor = {
        let samples = samples.clone();
        let expiries = expiries.clone();
        let admin = admin.clone();
        let expire = portal
            .sandbox
            .join("sandbox/expire-tokens")
            .expect("a path");
        let pid = portal.pid();
        let every = args.expire_every.max(1);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tick.tick().await;
                let t = started.elapsed().as_secs();
                if let Some(kib) = portal::rss_kib(pid) {
                    samples.lock().unwrap().push((t, kib));
                }
                if t > 0 && t.is_multiple_of(every) {
                    if let Ok(r) = admin.post(expire.clone()).send().await {
                        if r.status().is_success() {
                            expiries.fetch_add(1, Relaxed);
                        }
                    }
                }
            }
        })
    };

    let metrics = attack(args, &portal).await;
    monitor.abort();
    let elapsed = started.elapsed();
    let metrics = metrics?;

    let _ = admin
        .put(portal.sandbox.join("sandbox/faults").expect("a path"))
        .json(&serde_json::json!({}))
        .send()
        .await;
    let healthy = admin
        .get(portal.base.join("healthz").expect("a path"))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success());
    let alive = portal.alive();
    portal.stop();

    let samples = samples.lock().unwrap().clone();
    let report = Report::new(
        args,
        &metrics,
        &samples,
        &portal,
        expiries.load(Relaxed),
        elapsed,
    );
    println!("{}", report.text);
    if let Some(path) = &args.report {
        std::fs::write(path, &report.text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    let mut failures = report.failures;
    if !alive {
        failures.push(format!(
            "the portal process ended during the run:\n{}",
            portal.log_tail(40)
        ));
    } else if !healthy {
        failures.push("the portal did not answer /healthz after the run".into());
    }
    Ok(failures)
}

async fn attack(args: &Args, portal: &Portal) -> Result<GooseMetrics, String> {
    let goose = |e: goose::GooseError| format!("goose: {e}");
    let hatch_rate = (args.users as f64 / 5.0).max(1.0).to_string();
    GooseAttack::initialize_with_config(GooseConfiguration::default())
        .map_err(goose)?
        .register_scenario(agent::scenario().map_err(goose)?)
        .set_default(
            GooseDefault::Host,
            portal.base.as_str().trim_end_matches('/'),
        )
        .map_err(goose)?
        .set_default(GooseDefault::Users, args.users)
        .map_err(goose)?
        .set_default(GooseDefault::HatchRate, hatch_rate.as_str())
        .map_err(goose)?
        .set_default(GooseDefault::RunTime, args.seconds)
        .map_err(goose)?
        .set_default(GooseDefault::NoPrintMetrics, true)
        .map_err(goose)?
        .set_default(GooseDefault::Quiet, 1)
        .map_err(goose)?
        .execute()
        .await
        .map_err(goose)
}

struct Report {
    text: String,
    failures: Vec<String>,
}

impl Report {
    fn new(
        args: &Args,
        metrics: &GooseMetrics,
        samples: &[(u64, u64)],
        portal: &Portal,
        expiries: u64,
        elapsed: Duration,
    ) -> Self {
        let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
        let mut times = std::collections::BTreeMap::<usize, usize>::new();
        for aggregate in metrics.requests.values() {
            for (status, n) in &aggregate.status_code_counts {
                *statuses.entry(*status).or_default() += n;
            }
            for (ms, n) in &aggregate.raw_data.times {
                *times.entry(*ms).or_default() += n;
            }
        }
        let requests: usize = statuses.values().sum();
        let percentile = |p: f64| {
            let rank = ((requests as f64) * p).ceil() as usize;
            let mut seen = 0;
            times
                .iter()
                .find(|(_, n)| {
                    seen += **n;
                    seen >= rank.max(1)
                })
                .map_or(0, |(ms, _)| *ms)
        };
        let after_warmup = samples
            .iter()
            .find(|(t, _)| *t >= args.warmup as u64)
            .map_or(0, |(_, kib)| *kib);
        let at_end = samples.last().map_or(0, |(_, kib)| *kib);
        let peak = samples.iter().map(|(_, kib)| *kib).max().unwrap_or(0);
        let growth = if after_warmup == 0 {
            f64::NAN
        } else {
            at_end as f64 / after_warmup as f64 - 1.0
        };
        let panics = portal.panics();
        let t = |c: &std::sync::atomic::AtomicU64| c.load(Relaxed);
        let reasons = TALLY.reasons.lock().unwrap().clone();

        let mut text = String::new();
        let mut line = |s: String| {
            text.push_str(&s);
            text.push('\n');
        };
        line(format!(
            "| soak ({} agents, {} s, {:.0}% 5xx, {:.0}% 429, {} ms latency, tokens expired every {} s) | |",
            args.users, args.seconds, args.error_rate * 100.0, args.rate_limit_rate * 100.0,
            args.latency_ms, args.expire_every
        ));
        line("|---|---|".into());
        line(format!("| wall time | {:.1} s |", elapsed.as_secs_f64()));
        line(format!(
            "| requests (goose) | {requests} ({:.1}/s), p50 {} ms, p99 {} ms |",
            requests as f64 / elapsed.as_secs_f64(),
            percentile(0.5),
            percentile(0.99)
        ));
        let by_status: Vec<String> = statuses.iter().map(|(s, n)| format!("{s}: {n}")).collect();
        line(format!("| answers by status | {} |", by_status.join(", ")));
        line(format!(
            "| sign-ins / refused / sign-outs / full cycles | {} / {} / {} / {} |",
            t(&TALLY.sign_ins),
            t(&TALLY.sign_in_refused),
            t(&TALLY.sign_outs),
            t(&TALLY.cycles)
        ));
        line(format!(
            "| exports downloaded / not started (portal busy) / failed | {} / {} / {} |",
            t(&TALLY.exports),
            t(&TALLY.exports_refused),
            t(&TALLY.exports_failed)
        ));
        line(format!(
            "| pages checked / upstream-error pages (429, 502–504) | {} / {} |",
            t(&TALLY.pages),
            t(&TALLY.upstream_error_pages)
        ));
        line(format!(
            "| portal 500s / panics / sessions lost / transport errors | {} / {} / {} / {} |",
            t(&TALLY.portal_500s),
            panics.len(),
            t(&TALLY.sessions_lost),
            t(&TALLY.transport_errors)
        ));
        line(format!("| token expiries forced | {expiries} |"));
        line(format!(
            "| portal RSS: start / after {} s warm-up / end / peak | {} / {} / {} / {} MiB ({:+.1}% after warm-up) |",
            args.warmup,
            samples.first().map_or(0, |(_, k)| *k) / 1024,
            after_warmup / 1024,
            at_end / 1024,
            peak / 1024,
            growth * 100.0
        ));
        // RSS over the run, at each tenth of it: whether memory levels off or keeps climbing.
        let last = samples.last().map_or(0, |(t, _)| *t).max(1);
        let trajectory: Vec<String> = (1..=10)
            .filter_map(|tenth| {
                let at = last * tenth / 10;
                samples
                    .iter()
                    .find(|(t, _)| *t >= at)
                    .map(|(t, kib)| format!("{t} s {:.1}", *kib as f64 / 1024.0))
            })
            .collect();
        line(format!(
            "| portal RSS over the run (MiB) | {} |",
            trajectory.join(", ")
        ));
        let (errors, examples) = portal.errors();
        line(format!("| portal ERROR log lines | {errors} |"));
        for e in examples {
            line(format!(
                "| ERROR | `{}` |",
                e.replace('|', "/").replace('`', "'")
            ));
        }
        if !reasons.is_empty() {
            let listed: Vec<String> = reasons.iter().map(|(r, n)| format!("{r} ×{n}")).collect();
            line(format!("| notes | {} |", listed.join("; ")));
        }

        let mut failures = Vec::new();
        if t(&TALLY.portal_500s) > 0 {
            failures.push(format!("{} pages answered 500", t(&TALLY.portal_500s)));
        }
        if !panics.is_empty() {
            failures.push(format!("the portal panicked: {}", panics.join(" | ")));
        }
        if t(&TALLY.exports_failed) > 0 {
            failures.push(format!(
                "{} exports failed after they started",
                t(&TALLY.exports_failed)
            ));
        }
        if t(&TALLY.sessions_lost) > 0 {
            failures.push(format!("{} sessions were lost", t(&TALLY.sessions_lost)));
        }
        if growth.is_nan() || growth > args.max_rss_growth {
            failures.push(format!(
                "memory grew {:.1}% after warm-up (allowed {:.0}%)",
                growth * 100.0,
                args.max_rss_growth * 100.0
            ));
        }
        for (what, count) in [
            ("sign-in", t(&TALLY.sign_ins)),
            ("export", t(&TALLY.exports)),
            ("sign-out", t(&TALLY.sign_outs)),
        ] {
            if count == 0 {
                failures.push(format!("no {what} succeeded"));
            }
        }
        if expiries == 0 {
            failures.push("no token expiry was forced".into());
        }
        Self { text, failures }
    }
}
