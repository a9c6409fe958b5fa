//! `--demo`: the built-in Identity Center simulator in-process, with a throwaway home and AWS
//! config, so every feature can be tried without an AWS account and without touching `~/.aws`.
//!
//! The keychain is an in-memory one: the user's keychain is never touched.

use ssotray_core::platform::os::Env;
use ssotray_core::Context;

/// A running demo: the simulator and the temporary home live as long as this.
pub struct Demo {
    _sim: ssotray_sim::RunningSim,
    home: tempfile::TempDir,
    base_url: String,
}

const CONFIG: &str = "# ssotray demo: an AWS config pointing at the built-in simulator\n\
[sso-session demo]\nsso_start_url = https://d-1234567890.awsapps.com/start\nsso_region = us-east-1\nsso_registration_scopes = sso:account:access\n\n\
[profile demo-dev]\nsso_session = demo\nsso_account_id = 111111111111\nsso_role_name = AdministratorAccess\nregion = eu-west-1\n";

impl Demo {
    /// Starts the simulator and writes the demo config.
    pub async fn start() -> Result<Demo, Box<dyn std::error::Error>> {
        let sim = ssotray_sim::start(ssotray_sim::SimConfig::default()).await?;
        let home = tempfile::Builder::new().prefix("ssotray-demo-").tempdir()?;
        std::fs::create_dir_all(home.path().join(".aws"))?;
        std::fs::write(home.path().join(".aws/config"), CONFIG)?;
        // The refresh token in the (demo's own, in-memory) keychain, as a careful user sets it.
        std::fs::create_dir_all(home.path().join(".config/ssotray"))?;
        std::fs::write(
            home.path().join(".config/ssotray/settings.toml"),
            "[sessions.demo]\nkeychain = true\n",
        )?;
        let base_url = sim.base_url.clone();
        Ok(Demo {
            _sim: sim,
            home,
            base_url,
        })
    }

    /// A context whose home, caches and AWS endpoints are the demo's; everything else (display,
    /// session bus, browser) is the real environment's.
    pub fn context(&self) -> Context {
        let home = self.home.path().display().to_string();
        let mut vars: Vec<(String, String)> = std::env::vars().collect();
        vars.retain(|(k, _)| {
            !k.starts_with("AWS_")
                && !k.starts_with("XDG_CACHE")
                && !k.starts_with("XDG_STATE")
                && !k.starts_with("XDG_CONFIG")
                && k != "HOME"
        });
        vars.extend([
            ("HOME".to_string(), home.clone()),
            ("XDG_CACHE_HOME".into(), format!("{home}/.cache")),
            ("XDG_STATE_HOME".into(), format!("{home}/.local/state")),
            ("XDG_CONFIG_HOME".into(), format!("{home}/.config")),
            ("AWS_ENDPOINT_URL_SSO_OIDC".into(), self.base_url.clone()),
            ("AWS_ENDPOINT_URL_SSO".into(), self.base_url.clone()),
            (
                "SSOTRAY_SIGNIN_ENDPOINT".into(),
                format!("{}/federation", self.base_url),
            ),
        ]);
        // The demo's keeper must not take over the real one's socket.
        vars.retain(|(k, _)| k != "XDG_RUNTIME_DIR");
        let refs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let env = Env::from_slice(&refs);
        // The demo never touches the user's keychain: its keychain is in memory and ends with
        // the demo.
        Context {
            browser: std::sync::Arc::new(ssotray_core::platform::os::SystemBrowser::new(
                env.clone(),
            )),
            env,
            secrets: std::sync::Arc::new(ssotray_core::platform::keychain::MemKeychain::default()),
            ..Context::real()
        }
    }
}
