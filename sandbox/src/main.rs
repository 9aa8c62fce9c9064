//! `cargo run -p sandbox -- --port 8090 ...`: a standalone Genesys Cloud sandbox for the app,
//! the tests and the official SDKs. Prints its URL on the first line of stdout.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use sandbox::{ClientsFile, SandboxConfig, WebMessagingConfig};

const USAGE: &str = "\
Usage: sandbox [OPTIONS]

A local Genesys Cloud (login host and API host on one port).

Options:
  --port N             port to listen on (default 8090; 0 picks a free one)
  --host ADDR          address to listen on (default 127.0.0.1)
  --users N            users in the seeded org, 1..=100000 (default 1250)
  --seed S             seed of the org (default 1)
  --rate-limit N       API requests per token per minute, 0 = off (default 300)
  --latency-ms N       latency added to every answer (default 0)
  --fault-seed N       seed of the fault draws, so that a run repeats (default: random)
  --code-lifetime-secs N
                       authorization code lifetime (default 600)
  --config FILE        JSON file with the OAuth clients ([...] or {\"clients\": [...]})
  --state-file FILE    keep grants and tokens in FILE across restarts
  --public-url URL     the URL clients reach the sandbox at
  --web-messaging-issuer URL
                       turn on Web Messaging, trusting this guest OpenID provider
  --agent-delay-ms N   the Web Messaging agent's reply delay (default 300)
  -h, --help           print this help
";

fn value<T: std::str::FromStr>(flag: &str, raw: Option<String>) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    let raw = raw.ok_or_else(|| format!("{flag} needs a value"))?;
    raw.parse::<T>().map_err(|e| format!("{flag} {raw:?}: {e}"))
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Option<SandboxConfig>, String> {
    let mut config = SandboxConfig::default();
    let mut host: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let mut port: u16 = 8090;
    let mut agent_delay = None;
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut next = || inline.clone().or_else(|| args.next());
        match flag.as_str() {
            "-h" | "--help" => return Ok(None),
            "--port" => port = value(&flag, next())?,
            "--host" => host = value(&flag, next())?,
            "--users" => config.users = value(&flag, next())?,
            "--seed" => config.seed = value(&flag, next())?,
            "--rate-limit" => config.rate_limit_per_minute = value(&flag, next())?,
            "--latency-ms" => config.faults.latency = Duration::from_millis(value(&flag, next())?),
            "--fault-seed" => config.fault_seed = Some(value(&flag, next())?),
            "--code-lifetime-secs" => {
                config.code_lifetime = Duration::from_secs(value(&flag, next())?)
            }
            "--config" => {
                let path: PathBuf = value(&flag, next())?;
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| format!("--config {}: {e}", path.display()))?;
                let file: ClientsFile = serde_json::from_str(&text)
                    .map_err(|e| format!("--config {}: {e}", path.display()))?;
                config.clients = file.into_clients();
            }
            "--state-file" => config.state_file = Some(value(&flag, next())?),
            "--public-url" => config.public_base_url = Some(value(&flag, next())?),
            "--web-messaging-issuer" => {
                let issuer = value(&flag, next())?;
                config.web_messaging = Some(WebMessagingConfig::new(issuer));
            }
            "--agent-delay-ms" => agent_delay = Some(Duration::from_millis(value(&flag, next())?)),
            other => return Err(format!("unknown option {other:?}")),
        }
    }
    config.bind = SocketAddr::new(host, port);
    match (&mut config.web_messaging, agent_delay) {
        (Some(wm), Some(delay)) => wm.agent.reply_delay = delay,
        (None, Some(_)) => return Err("--agent-delay-ms needs --web-messaging-issuer".into()),
        _ => {}
    }
    config.validate()?;
    Ok(Some(config))
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "sandbox=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let config = match parse_args(std::env::args().skip(1)) {
        Ok(Some(config)) => config,
        Ok(None) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("sandbox: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let running = match sandbox::spawn(config).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("sandbox: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("Genesys Cloud sandbox listening on {}", running.base_url());
    if let Some(gateway) = running.web_messaging_gateway_url() {
        println!("Web Messaging gateway at {gateway}");
    }
    if let Err(e) = tokio::signal::ctrl_c().await {
        eprintln!("sandbox: cannot wait for Ctrl-C: {e}");
    }
    running.shutdown().await;
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Option<SandboxConfig>, String> {
        parse_args(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn flags_are_read() {
        let c = parse(&[
            "--port",
            "0",
            "--users=10",
            "--seed",
            "9",
            "--rate-limit",
            "5",
            "--latency-ms",
            "20",
        ])
        .unwrap()
        .unwrap();
        assert_eq!(
            (c.bind.port(), c.users, c.seed, c.rate_limit_per_minute),
            (0, 10, 9, 5)
        );
        assert_eq!(c.faults.latency, Duration::from_millis(20));
    }

    #[test]
    fn bad_flags_are_clear_errors() {
        assert!(parse(&["--port", "x"]).unwrap_err().contains("--port"));
        assert!(parse(&["--users", "100001"]).unwrap_err().contains("users"));
        assert!(parse(&["--frobnicate"])
            .unwrap_err()
            .contains("unknown option"));
        assert!(parse(&["--seed"]).unwrap_err().contains("needs a value"));
        assert!(parse(&["--help"]).unwrap().is_none());
        assert!(parse(&["--agent-delay-ms", "5"]).is_err());
    }

    #[test]
    fn web_messaging_is_turned_on_by_its_issuer() {
        let c = parse(&[
            "--web-messaging-issuer",
            "http://127.0.0.1:3000/guest-idp",
            "--agent-delay-ms",
            "0",
        ])
        .unwrap()
        .unwrap();
        let wm = c.web_messaging.unwrap();
        assert_eq!(wm.deployment_id, sandbox::WEB_DEPLOYMENT_ID);
        assert!(wm.agent.reply_delay.is_zero());
    }
}
