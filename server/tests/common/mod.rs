//! What the server's integration tests share: the scripted sandbox sign-in (the hops a browser
//! makes, redirects off so each can be checked) and the portal binary as a child process.

#![allow(dead_code)]

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

pub mod postgres;

use reqwest::{header, Client, StatusCode};
use sandbox::test_support::{Decision, SignInScript};

/// The `Location` of a redirect.
pub fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get(header::LOCATION)
        .expect("a redirect")
        .to_str()
        .unwrap()
        .to_string()
}

/// Answers the sandbox's sign-in page at `authorize_url` with `decision` (`allow` or `deny`)
/// for the first seeded user it offers; returns the callback URL it redirects to.
pub async fn answer_sign_in(http: &Client, authorize_url: &str, decision: &str) -> String {
    let decision = match decision {
        "allow" => Decision::Allow,
        "deny" => Decision::Deny,
        other => panic!("the sign-in page has no {other:?} button"),
    };
    SignInScript::new(http)
        .decision(decision)
        .run(authorize_url)
        .await
        .expect("the sign-in page shows and its answer redirects")
        .location()
        .to_string()
}

/// The whole sign-in from `base` (the portal's origin) with `http` (a client with a cookie jar
/// and redirects off); returns where the portal sent the browser at the end.
pub async fn sign_in(http: &Client, base: &str, return_to: &str) -> String {
    let started = http
        .post(format!("{base}/auth/login"))
        .header(header::ORIGIN, base)
        .form(&[("return_to", return_to)])
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), StatusCode::SEE_OTHER);
    let callback = answer_sign_in(http, &location(&started), "allow").await;
    let done = http.get(&callback).send().await.unwrap();
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    location(&done)
}

/// A server function called as a page's JavaScript would: a form POST with the site's Origin,
/// JSON back.
pub async fn call_server_fn(
    http: &Client,
    url: &str,
    origin: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    http.post(url)
        .header(header::ORIGIN, origin)
        .header(header::ACCEPT, "application/json")
        .form(form)
        .send()
        .await
        .unwrap()
}

/// A sandbox org of 50 users without a rate limit, whose clients also accept `public` (a
/// balancer's origin in front of replicas) as their sign-in callback and sign-out return.
pub async fn sandbox_for(public: &str) -> sandbox::RunningSandbox {
    let mut config = sandbox::SandboxConfig {
        users: 50,
        rate_limit_per_minute: 0,
        ..Default::default()
    };
    for c in &mut config.clients {
        c.redirect_uris.push(format!("{public}/auth/callback"));
        c.logout_redirect_uris.push(format!("{public}/"));
    }
    sandbox::spawn(config).await.unwrap()
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub struct PortalProcess {
    /// `None` once reaped by [`PortalProcess::terminate`].
    child: Option<Child>,
    pub log: PathBuf,
}

impl PortalProcess {
    /// The portal binary on `port` with its data in `data_dir` and `extra` settings; its
    /// output goes to `portal-{n}.log` there.
    pub fn start(port: u16, data_dir: &Path, n: u64, extra: &[(&str, &str)]) -> PortalProcess {
        let log = data_dir.join(format!("portal-{n}.log"));
        let out = std::fs::File::create(&log).unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_genesys-portal"));
        command
            .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
            .env("PORTAL_DATA_DIR", data_dir)
            .env("SANDBOX_USERS", "300")
            .env("SANDBOX_RATE_LIMIT", "0")
            .env("RUST_LOG", "warn")
            // SSR_STRESS_BACKTRACE=1 shows where a panic came from.
            .env(
                "RUST_BACKTRACE",
                std::env::var("SSR_STRESS_BACKTRACE").unwrap_or_else(|_| "0".into()),
            )
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .stdin(Stdio::null());
        for (k, v) in extra {
            command.env(k, v);
        }
        let child = command.spawn().expect("the portal binary starts");
        PortalProcess {
            child: Some(child),
            log,
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The exit status, if the process has already ended.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.as_mut().and_then(|c| c.try_wait().unwrap())
    }

    /// SIGKILL, as when the machine or the container dies: nothing is cleaned up.
    pub fn kill(&mut self) {
        let mut child = self.child.take().expect("the portal is running");
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// SIGTERM, then up to 5 s for the process to exit (a thread waits on it, so the exit is seen
    /// the moment it happens); a stuck one is dumped (when gdb is there) and killed.
    pub fn terminate(&mut self) -> Result<std::process::ExitStatus, String> {
        let mut child = self.child.take().expect("the portal is running");
        let pid = child.id().to_string();
        let (exited, exit) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = exited.send(child.wait());
        });
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        if let Ok(status) = exit.recv_timeout(Duration::from_secs(5)) {
            return Ok(status.unwrap());
        }
        let stacks = Command::new("gdb")
            .args(["-p", &pid, "-batch", "-ex", "thread apply all bt"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_else(|_| "(no gdb to show the threads)".into());
        Command::new("kill").args(["-KILL", &pid]).status().unwrap();
        let _ = exit.recv();
        Err(format!(
            "the portal did not exit within 5 s of SIGTERM\n{stacks}"
        ))
    }
}

impl Drop for PortalProcess {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            if child.try_wait().ok().flatten().is_none() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

pub async fn wait_until_up(http: &Client, port: u16, portal: &mut PortalProcess) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = http
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .await
        {
            if r.status() == StatusCode::OK {
                return;
            }
        }
        if let Some(status) = portal.exited() {
            panic!("the portal exited at start ({status}):\n{}", portal.log());
        }
        assert!(
            Instant::now() < deadline,
            "the portal did not start in 30 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
