//! The binary's command line: `--help` lists every setting, an unknown flag is a one-line
//! error, and `.env` fills in what the environment leaves unset (flag > environment > `.env`).

use std::process::{Command, Output};

fn portal(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_genesys-portal"));
    cmd.current_dir(dir)
        .env_clear()
        .env("LEPTOS_OUTPUT_NAME", "genesys-portal")
        .env("LEPTOS_SITE_ADDR", "127.0.0.1:0")
        .args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn help_lists_every_setting_with_its_default() {
    let dir = tempfile::tempdir().unwrap();
    let out = portal(
        dir.path(),
        &["--help"],
        &[("GENESYS_CLIENT_SECRET", "hunter2-in-env")],
    );
    assert_eq!(out.status.code(), Some(0));
    let help = text(&out.stdout);
    for s in server::cli::SETTINGS {
        assert!(
            help.contains(&format!("[env: {}]", s.env)),
            "{}:\n{help}",
            s.env
        );
    }
    assert!(help.contains("--session-idle-minutes <VALUE>"), "{help}");
    assert!(help.contains("[default: 30]"), "{help}");
    assert!(help.contains("--site-addr"), "{help}");
    // A secret in the environment is never echoed by --help.
    assert!(!help.contains("hunter2"), "{help}");
}

#[test]
fn an_unknown_flag_is_a_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = portal(dir.path(), &["--sesion-idle-minutes", "5"], &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("--sesion-idle-minutes"), "{err}");
}

#[test]
fn dot_env_fills_in_and_the_environment_and_flags_win() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".env"),
        "# comments are fine\nPORTAL_LOG_FORMAT=xml\nPORTAL_SESSION_MAX_HOURS=never\n",
    )
    .unwrap();
    let out = portal(
        dir.path(),
        &["--shutdown-grace-secs=0"],
        &[
            ("PORTAL_SESSION_MAX_HOURS", "12"),
            ("PORTAL_SHUTDOWN_GRACE_SECS", "5"),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    // Read from .env:
    assert!(err.contains("PORTAL_LOG_FORMAT"), "{err}");
    // .env's bad value lost to the environment's good one:
    assert!(!err.contains("PORTAL_SESSION_MAX_HOURS"), "{err}");
    // the flag's bad value won over the environment's good one:
    assert!(err.contains("PORTAL_SHUTDOWN_GRACE_SECS"), "{err}");

    std::fs::write(dir.path().join(".env"), "PORTAL_LOG_FORMAT\"=oops\n").unwrap();
    let out = portal(dir.path(), &[], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains(".env"), "{}", text(&out.stderr));
}
