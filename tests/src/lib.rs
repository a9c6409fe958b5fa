//! Helpers for ssotray's end-to-end tests: the built binaries, a throwaway HOME with an AWS
//! config, the simulator in-process, and a snapshot of `~/.aws` to prove nothing was damaged.

#![allow(missing_docs)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

pub use ssotray_sim::{start as start_sim, RunningSim, SimConfig};

/// A binary built by `cargo build --workspace --bins` (the README's test command does that first).
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    // target/<profile>/deps/<test> → target/<profile>/<name>
    let dir = exe.parent().and_then(Path::parent).expect("target dir");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "`{}` is missing: run `cargo build --workspace --bins` before the tests (scripts/test does)",
        path.display()
    );
    path
}

/// The config most tests use: one sso-session, two profiles on it, a legacy profile.
pub const CONFIG: &str = "\
# A config with comments, as people write them
[default]
region = eu-west-1

[sso-session my-sso]
sso_start_url = https://d-1234567890.awsapps.com/start
sso_region = us-east-1
sso_registration_scopes = sso:account:access

[profile dev]
sso_session = my-sso
sso_account_id = 111111111111
sso_role_name = AdministratorAccess
region = us-west-2

[profile prod-ro]
sso_session = my-sso
sso_account_id = 333333333333
sso_role_name = ReadOnlyAccess

[profile old]
sso_start_url = https://d-1234567890.awsapps.com/start
sso_region = us-east-1
sso_account_id = 222222222222
sso_role_name = ReadOnlyAccess
";

/// A throwaway home directory with `~/.aws/config`.
pub struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    pub fn new(config: &str) -> Home {
        let dir = tempfile::Builder::new().prefix("ssotray-test-").tempdir().expect("tempdir");
        let home = Home { dir };
        std::fs::create_dir_all(home.aws()).expect("mkdir .aws");
        std::fs::write(home.aws().join("config"), config).expect("write config");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(home.aws().join("config"), std::fs::Permissions::from_mode(0o644)).expect("chmod");
        }
        home
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn aws(&self) -> PathBuf {
        self.path().join(".aws")
    }

    /// The token cache file of a session name or legacy start URL.
    pub fn token_file(&self, cache_id: &str) -> PathBuf {
        self.aws().join("sso/cache").join(ssotray_core::cache::token_file_name(cache_id))
    }

    /// The token cache file, parsed as JSON.
    pub fn token_json(&self, cache_id: &str) -> serde_json::Value {
        let bytes = std::fs::read(self.token_file(cache_id)).expect("token file");
        serde_json::from_slice(&bytes).expect("token file is JSON")
    }

    /// Every file under `~/.aws` with its bytes.
    pub fn snapshot(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        fn walk(dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
            let Ok(entries) = std::fs::read_dir(dir) else { return };
            for e in entries.flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, out);
                } else if let Ok(b) = std::fs::read(&p) {
                    out.insert(p, b);
                }
            }
        }
        let mut out = BTreeMap::new();
        walk(&self.aws(), &mut out);
        out
    }

    /// Environment for a child process: this HOME, AWS endpoints at the simulator, nothing of
    /// the developer's own AWS setup.
    pub fn env(&self, sim_base: &str) -> Vec<(String, String)> {
        let home = self.path().display().to_string();
        vec![
            ("HOME".into(), home.clone()),
            ("XDG_CACHE_HOME".into(), format!("{home}/.cache")),
            ("AWS_ENDPOINT_URL_SSO_OIDC".into(), sim_base.into()),
            ("AWS_ENDPOINT_URL_SSO".into(), sim_base.into()),
            ("SSOTRAY_SIGNIN_ENDPOINT".into(), format!("{sim_base}/federation")),
            ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
            ("NO_PROXY".into(), "127.0.0.1,localhost".into()),
        ]
    }
}

/// Runs a program with a clean environment plus `env`.
pub async fn run(program: &Path, args: &[&str], env: &[(String, String)]) -> Output {
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args).env_clear().stdin(std::process::Stdio::null());
    for key in ["PATH", "LANG", "TMPDIR", "SSOTRAY_LOG"] {
        if let Ok(v) = std::env::var(key) {
            cmd.env(key, v);
        }
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.kill_on_drop(true);
    cmd.output().await.expect("spawn")
}

/// Standard error of a run, as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Standard output of a run, as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The simulator's per-operation call counts.
pub async fn stats(base: &str) -> serde_json::Value {
    reqwest::get(format!("{base}/_sim/stats")).await.expect("stats").json().await.expect("stats json")
}

/// A count from the stats (0 when absent).
pub fn count(stats: &serde_json::Value, operation: &str) -> u64 {
    stats.get(operation).and_then(|v| v.as_u64()).unwrap_or(0)
}

/// The Python interpreter with botocore installed: `SSOTRAY_TEST_PYTHON` (scripts/test sets it).
pub fn python() -> PathBuf {
    let p = std::env::var("SSOTRAY_TEST_PYTHON").unwrap_or_default();
    assert!(
        !p.is_empty() && Path::new(&p).exists(),
        "SSOTRAY_TEST_PYTHON must point at a Python with boto3 installed; run the tests through scripts/test, which creates that venv"
    );
    PathBuf::from(p)
}
