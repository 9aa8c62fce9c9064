//! The soak's command line: bad options are refused with a clear message and exit status 2,
//! before any portal is started. (Building this test also builds the `soak` binary in the
//! test command's own cargo run, which the short soak then uses.)

use std::process::Command;

fn soak(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_soak"))
        .args(args)
        .output()
        .expect("the soak binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bad_options_are_refused_with_the_reason() {
    for (args, says) in [
        (&["--users", "0"][..], "--users must be at least 1"),
        (&["--seconds", "five"], "--seconds \"five\""),
        (&["--error-rate", "1.5"], "rates are shares between 0 and 1"),
        (
            &["--seconds", "30", "--warmup", "30"],
            "--warmup must be shorter",
        ),
        (&["--users"], "--users needs a value"),
        (&["--color", "red"], "unknown option --color"),
    ] {
        let (code, stderr) = soak(args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
}

#[test]
fn a_missing_portal_binary_fails_the_run() {
    let (code, stderr) = soak(&["--portal", "/nonexistent/genesys-portal", "--seconds", "10"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("could not start /nonexistent/genesys-portal"),
        "{stderr}"
    );
}
