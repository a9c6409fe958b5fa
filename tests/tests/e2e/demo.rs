//! `scripts/demo`, the README's main job on a machine without a desktop, run end to end as a new
//! user runs it: every step's output is there, it exits 0, and no secret is printed unmasked or
//! passed on any command line (every program it starts is traced).

use ssotray_tests::bin;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the repository")
        .to_path_buf()
}

#[tokio::test]
async fn the_demo_runs_every_step_to_the_end_and_prints_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("execve.trace");
    let bin_dir = bin("ssotray").parent().unwrap().to_path_buf();
    // Every program the demo starts, with its whole command line (strace follows the forks).
    let mut demo = tokio::process::Command::new("strace");
    demo.args(["-f", "-qq", "-e", "trace=execve", "-s", "1000000", "-o"])
        .arg(&trace)
        .arg("bash")
        .arg(repo_root().join("scripts/demo"))
        .env("SSOTRAY_DEMO_BIN", &bin_dir)
        // The demo makes its own runtime directory; one of the test's would not be used anyway.
        .env_remove("XDG_RUNTIME_DIR")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    // The old demo waited for a sign-in that never came, until the login's 10-minute timeout.
    let out = tokio::time::timeout(Duration::from_secs(180), demo.output())
        .await
        .expect("scripts/demo finishes within 3 minutes")
        .expect("strace bash scripts/demo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let all = format!("{stdout}\n{stderr}");
    assert!(out.status.success(), "scripts/demo failed:\n{all}");

    // Every step ran and said what it did.
    for step in [
        "$ ",
        "ssotray status",
        "demo  logged out",
        "ssotray login demo",
        "Opening the browser to sign in to `demo`",
        "Logged in to `demo`; access token valid until",
        "demo  logged in, access token expires in",
        "ssotray refresh demo",
        "Refreshed `demo`",
        "ssotray login demo --device-code --no-browser",
        "The AWS CLI token cache ssotray wrote (secrets masked):",
        "\"accessToken\": \"…\"",
        "\"refreshToken\": \"…\"",
        "ssotray accounts --sso-session demo --refresh",
        "111111111111",
        "ssotray credentials --profile demo-dev --export   (secrets masked)",
        "export AWS_ACCESS_KEY_ID='ASIA",
        "AWS_SECRET_ACCESS_KEY=…",
        "AWS_SESSION_TOKEN=…",
        "ssotray console --profile demo-dev --print   (sign-in token masked)",
        "SigninToken=…",
        "ssotray profiles generate --sso-session demo --dry-run",
        "[profile ",
        "ssotray logout demo",
        "Logged out of `demo`: portal session ended",
        "Simulator call counts:",
    ] {
        assert!(all.contains(step), "the demo shows `{step}`:\n{all}");
    }
    // No keeper runs in the demo's home: `login` does not claim to ask one.
    assert!(!all.contains("Asking the running ssotray keeper"), "{all}");
    // Logged out at the end.
    let last_status = stdout.rsplit("ssotray status").next().unwrap();
    assert!(last_status.contains("demo  logged out"), "{last_status}");

    // The simulator's secrets have these shapes: access and refresh tokens, client secrets,
    // authorization codes, sign-in tokens, session tokens. None is printed.
    let secrets = ["aoa-", "aor-", "csec-", "code-", "sit-", "IQoJb3JpZ2luX2Vj"];
    for s in secrets {
        assert!(!all.contains(s), "`{s}…` printed by the demo:\n{all}");
    }
    for line in all.lines() {
        if let Some(v) = line.split("AWS_SECRET_ACCESS_KEY=").nth(1) {
            assert_eq!(v.trim_matches(['\'', '"']), "…", "{line}");
        }
    }

    // No command line carried a credential: not the sign-in URL (its state and PKCE challenge),
    // not the device code's URL, not a token.
    let trace = std::fs::read_to_string(&trace).unwrap();
    let execs: Vec<&str> = trace.lines().filter(|l| l.contains("execve(")).collect();
    assert!(
        execs.iter().any(|l| l.contains("/browser\", [\"")),
        "the demo's browser ran:\n{trace}"
    );
    assert!(
        execs
            .iter()
            .any(|l| l.contains("\"curl\"") && l.contains("\"-K\"")),
        "the browser handed the URL to curl on stdin:\n{trace}"
    );
    for l in &execs {
        for s in secrets
            .iter()
            .chain(&["state=", "code_challenge", "user_code=", "/authorize"])
        {
            assert!(!l.contains(s), "`{s}` on a command line: {l}");
        }
    }
}
