//! The portal under test: its own process on free loopback ports, with its embedded sandbox,
//! a throwaway data directory and a log file; its memory read from `/proc`.

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use url::Url;

pub struct Portal {
    child: Child,
    pub base: Url,
    pub sandbox: Url,
    pub log: PathBuf,
    _data: tempfile::TempDir,
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Resident memory of process `pid` in KiB (`VmRSS` of `/proc/PID/status`).
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

impl Portal {
    /// Starts `bin` on the embedded sandbox. Agents sit behind a trusted proxy header so that
    /// each is its own client for the sign-in limits, as real users behind a load balancer are.
    pub fn start(bin: &Path) -> Result<Self, String> {
        let data = tempfile::tempdir().map_err(|e| format!("a temp dir: {e}"))?;
        let port = free_port().map_err(|e| format!("a free port: {e}"))?;
        let sandbox_port = free_port().map_err(|e| format!("a free port: {e}"))?;
        let log = data.path().join("portal.log");
        let out = File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
        let child = Command::new(bin)
            .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
            .env("PORTAL_DATA_DIR", data.path())
            .env("SANDBOX_PORT", sandbox_port.to_string())
            .env("PORTAL_TRUSTED_PROXY_HEADER", "x-forwarded-for")
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("could not start {}: {e}", bin.display()))?;
        let url = |p: u16| Url::parse(&format!("http://127.0.0.1:{p}/")).expect("a loopback URL");
        Ok(Self {
            child,
            base: url(port),
            sandbox: url(sandbox_port),
            log,
            _data: data,
        })
    }

    /// Waits until `/healthz` answers, or the process ends, or a minute passes.
    pub async fn ready(&mut self, http: &reqwest::Client) -> Result<(), String> {
        let started = Instant::now();
        let health = self.base.join("healthz").expect("a path");
        while started.elapsed() < Duration::from_secs(60) {
            if let Ok(r) = http.get(health.clone()).send().await {
                if r.status().is_success() {
                    return Ok(());
                }
            }
            if !self.alive() {
                return Err(format!("the portal exited:\n{}", self.log_tail(40)));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err("the portal did not answer /healthz within a minute".into())
    }

    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Log lines that report a panic.
    pub fn panics(&self) -> Vec<String> {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        log.lines()
            .filter(|l| l.contains("panicked"))
            .map(str::to_owned)
            .collect()
    }

    /// Log lines at ERROR level: how many, and the first few distinct messages.
    pub fn errors(&self) -> (usize, Vec<String>) {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let errors: Vec<&str> = log.lines().filter(|l| l.contains("ERROR")).collect();
        let mut examples: Vec<String> = Vec::new();
        for line in &errors {
            // Without the timestamp, so that the same message is listed once.
            let message = line.split_once("ERROR").map_or(*line, |(_, m)| m).trim();
            let message: String = message.chars().take(300).collect();
            if examples.len() < 5 && !examples.contains(&message) {
                examples.push(message);
            }
        }
        (errors.len(), examples)
    }

    pub fn log_tail(&self, lines: usize) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = log.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// SIGTERM (a graceful shutdown), then SIGKILL after ten seconds.
    pub fn stop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(10) {
            if !self.alive() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Portal {
    fn drop(&mut self) {
        if self.alive() {
            self.stop();
        }
    }
}
