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
    let settings = ssotray_core::ops::settings::Settings::parse(&text).unwrap();
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
    let state = ssotray_core::ops::state::State::parse(&bytes).unwrap();
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
    let prefs = ssotray_core::ops::prefs::Prefs::parse(&bytes).unwrap();
    assert_eq!(
        prefs.favorites.len(),
        80,
        "{} of 80 favorites",
        prefs.favorites.len()
    );
}

/// A writer of `file` stopped between its write and its rename (`dead-writer`); its stdout
/// said `paused`.
async fn paused_writer(
    file: &std::path::Path,
) -> (
    tokio::process::Child,
    tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>,
) {
    use tokio::io::AsyncBufReadExt;
    let mut child = tokio::process::Command::new(bin("dead-writer"))
        .arg(file)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let said = tokio::time::timeout(std::time::Duration::from_secs(20), lines.next_line())
        .await
        .expect("the writer pauses")
        .unwrap();
    assert_eq!(said.as_deref(), Some("paused"));
    (child, lines)
}

/// The temporary files of atomic writes in `dir`.
fn temporaries(dir: &std::path::Path) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.') && n.ends_with(".tmp"))
        .collect();
    out.sort();
    out
}

/// A writer killed between its write and its rename leaves a full copy of the file (a token
/// file's refresh token): the next write of that file removes it, and so do a logout and the
/// keeper's start; a live writer's is left alone, and its rename still lands.
#[tokio::test]
async fn what_a_killed_writer_leaves_is_removed_and_a_live_writers_is_not() {
    let w = crate::cli::World::auto_approving(CONFIG).await;
    ssotray_tests::assert_ok(
        &w.ssotray(&["login", "my-sso", "--device-code", "--no-browser"])
            .await,
    );
    let cache = w.home.aws().join("sso/cache");
    let token = std::fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| std::fs::read_to_string(p).unwrap().contains("accessToken"))
        .unwrap();
    let kill = |(mut child, _): (tokio::process::Child, _)| async move {
        child.kill().await.unwrap();
        let _ = child.wait().await;
    };

    // Killed at the fault point: its copy of the token file stays behind…
    kill(paused_writer(&token).await).await;
    let left = temporaries(&cache);
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(std::fs::read_to_string(cache.join(&left[0]))
        .unwrap()
        .contains("refreshToken"));
    // …until the next write of that file (a refresh).
    ssotray_tests::assert_ok(&w.ssotray(&["refresh", "my-sso"]).await);
    assert_eq!(temporaries(&cache), Vec::<String>::new());

    // A live writer's file is not taken from it: a refresh meanwhile leaves it, and its rename
    // lands after.
    let (mut live, mut said) = paused_writer(&token).await;
    ssotray_tests::assert_ok(&w.ssotray(&["refresh", "my-sso"]).await);
    assert_eq!(temporaries(&cache).len(), 1, "the live writer's file stays");
    use tokio::io::AsyncWriteExt;
    live.stdin.take().unwrap().write_all(b"go\n").await.unwrap();
    assert_eq!(said.next_line().await.unwrap().as_deref(), Some("renamed"));
    assert!(live.wait().await.unwrap().success());
    assert_eq!(temporaries(&cache), Vec::<String>::new());

    // A logout removes what a dead writer left of the token file.
    kill(paused_writer(&token).await).await;
    assert_eq!(temporaries(&cache).len(), 1);
    ssotray_tests::assert_ok(&w.ssotray(&["logout", "my-sso"]).await);
    assert_eq!(temporaries(&cache), Vec::<String>::new());

    // The keeper's start removes them wherever ssotray writes (here: `~/.aws`, whose config a
    // dead `profiles generate` was writing).
    let config = w.home.aws().join("config");
    kill(paused_writer(&config).await).await;
    assert_eq!(temporaries(&w.home.aws()).len(), 1);
    let runtime = w.home.path().join("run");
    std::fs::create_dir_all(&runtime).unwrap();
    let mut env = w.env();
    env.push(("XDG_RUNTIME_DIR".into(), runtime.display().to_string()));
    let keeper = tokio::process::Command::new(bin("ssotray"))
        .args(["keep", "--no-notify"])
        .env_clear()
        .envs(env)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    for _ in 0..100 {
        if temporaries(&w.home.aws()).is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(temporaries(&w.home.aws()), Vec::<String>::new());
    drop(keeper);
}
