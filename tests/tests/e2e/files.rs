//! Files ssotray rewrites, changed by two processes at once: every change lands (each
//! read-modify-write runs under an advisory lock and re-reads the file under it).

use ssotray_tests::{bin, Home, CONFIG};

async fn two_writers_at_once(kind: &str, home: &Home) {
    let count = "40";
    let mut env = home.env("http://127.0.0.1:9");
    env.push((
        "XDG_CONFIG_HOME".into(),
        format!("{}/.config", home.path().display()),
    ));
    env.push((
        "XDG_STATE_HOME".into(),
        format!("{}/.local/state", home.path().display()),
    ));
    let spawn = |id: &str| {
        let mut cmd = tokio::process::Command::new(bin("concurrent-writer"));
        cmd.args([kind, id, count])
            .env_clear()
            .envs(env.iter().cloned())
            .kill_on_drop(true);
        cmd.output()
    };
    let (a, b) = tokio::join!(spawn("a"), spawn("b"));
    for o in [a.unwrap(), b.unwrap()] {
        assert!(
            o.status.success(),
            "{kind}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

fn names(kind: &str) -> Vec<String> {
    ["a", "b"]
        .iter()
        .flat_map(|id| (0..40).map(move |i| format!("w{id}-{i}")))
        .map(|n| format!("{kind}{n}"))
        .collect()
}

#[tokio::test]
async fn two_processes_changing_the_aws_config_at_once_lose_nothing() {
    let home = Home::new(CONFIG);
    two_writers_at_once("config", &home).await;
    let text = std::fs::read_to_string(home.aws().join("config")).unwrap();
    assert!(text.starts_with(CONFIG), "every byte that was there stays");
    for n in names("[sso-session ") {
        assert_eq!(
            text.matches(&format!("{n}]\n")).count(),
            1,
            "{n} written once"
        );
    }
    // Mode kept (0644 as the test made it), and no lock file in ~/.aws.
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(home.aws().join("config"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o644
    );
    assert_eq!(
        std::fs::read_dir(home.aws()).unwrap().count(),
        1,
        "only the config file in ~/.aws"
    );
}

#[tokio::test]
async fn two_processes_changing_the_settings_at_once_lose_nothing() {
    let home = Home::new(CONFIG);
    let path = home.path().join(".config/ssotray/settings.toml");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(
        &path,
        "# my settings\n[keeper]\nlead_times = [1800, 300] # two\n",
    )
    .unwrap();
    two_writers_at_once("settings", &home).await;
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.starts_with("# my settings\n[keeper]\nlead_times = [1800, 300] # two\n"),
        "{text}"
    );
    let settings = ssotray_core::settings::Settings::parse(&text).unwrap();
    for n in names("") {
        assert!(
            settings
                .sessions
                .get(&n)
                .is_some_and(|s| s.session_length.is_some()),
            "{n} lost"
        );
    }
}

#[tokio::test]
async fn two_processes_changing_the_state_at_once_lose_nothing() {
    let home = Home::new(CONFIG);
    two_writers_at_once("state", &home).await;
    let bytes = std::fs::read(home.path().join(".local/state/ssotray/state.json")).unwrap();
    let state = ssotray_core::state::State::parse(&bytes).unwrap();
    for n in names("") {
        assert!(
            state
                .sessions
                .get(&n)
                .is_some_and(|r| r.learned_length_secs.is_some()),
            "{n} lost"
        );
    }
}

#[tokio::test]
async fn two_processes_changing_the_favorites_at_once_lose_nothing() {
    let home = Home::new(CONFIG);
    two_writers_at_once("prefs", &home).await;
    let bytes = std::fs::read(home.path().join(".local/state/ssotray/app.json")).unwrap();
    let prefs = ssotray_core::prefs::Prefs::parse(&bytes).unwrap();
    assert_eq!(
        prefs.favorites.len(),
        80,
        "{} of 80 favorites",
        prefs.favorites.len()
    );
}
