//! #32: a config of thousands of profiles, read by the command line through its index
//! (`ops::config_index`), and changed by other programs between commands: each change is seen by
//! the next command, whoever made it and however small it is.

use crate::cli::World;
use ssotray_tests::{assert_fails_with, assert_ok, generated_profiles, stdout, CONFIG};

/// The test config and `n` generated profiles after it.
fn large(n: usize) -> String {
    format!("{CONFIG}{}", generated_profiles(n))
}

/// The portal link `console --print` gives for `profile` (no network: the link is made here).
async fn portal_link(w: &World, profile: &str) -> String {
    let o = w
        .ssotray(&["console", "--profile", profile, "--portal-link", "--print"])
        .await;
    assert_ok(&o);
    stdout(&o).trim().to_string()
}

fn run_tool(program: &str, args: &[&str], stdin: &[u8]) {
    use std::io::Write as _;
    let mut child = std::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn a_large_config_changed_by_an_editor_between_commands_is_read_as_it_is_now() {
    let w = World::auto_approving(&large(6_000)).await;
    assert_ok(
        &w.ssotray(&["login", "my-sso", "--device-code", "--no-browser"])
            .await,
    );
    let config = w.home.aws().join("config");
    let index_dir = w.home.path().join(".cache/ssotray/config-index");

    // The first command indexes the config; the next ones answer from the index.
    let first = portal_link(&w, "dev").await;
    assert!(
        first.contains("account_id=111111111111&role_name=AdministratorAccess&destination="),
        "{first}"
    );
    let indexes: Vec<std::path::PathBuf> = std::fs::read_dir(&index_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(indexes.len(), 1);
    assert_eq!(portal_link(&w, "dev").await, first);

    // What answers is the index: changed in its private directory, the answer changes.
    let index = std::fs::read_to_string(&indexes[0]).unwrap();
    let dev_line = index.lines().find(|l| l.starts_with("dev\t")).unwrap();
    let forged = index.replace(
        dev_line,
        &dev_line.replace("AdministratorAccess", "ForgedRole"),
    );
    std::fs::write(&indexes[0], &forged).unwrap();
    assert!(portal_link(&w, "dev")
        .await
        .contains("role_name=ForgedRole&"));
    // In a directory another user may write to, or owns, no index is trusted (nor written).
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&index_dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    assert_eq!(portal_link(&w, "dev").await, first);
    std::fs::set_permissions(&index_dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::os::unix::fs::chown(&index_dir, Some(65534), Some(65534)).unwrap();
    assert_eq!(portal_link(&w, "dev").await, first);
    assert_eq!(std::fs::read_to_string(&indexes[0]).unwrap(), forged);
    std::fs::remove_dir_all(&index_dir).unwrap();
    assert_eq!(portal_link(&w, "dev").await, first);
    assert!(
        indexes[0].exists(),
        "the index is made again, in a new private directory"
    );
    let far = portal_link(&w, "acct02999-ReadOnlyAccess").await;
    assert!(
        far.contains("account_id=100000002999&role_name=ReadOnlyAccess&destination="),
        "{far}"
    );
    assert_ok(&w.ssotray(&["credentials", "--profile", "dev"]).await);

    // GNU sed rewrites the file through a new one (another inode): the role changes.
    run_tool(
        "sed",
        &[
            "-i",
            "/^\\[profile dev\\]/,/^\\[/ s/^sso_role_name = AdministratorAccess$/sso_role_name = ReadOnlyAccess/",
            config.to_str().unwrap(),
        ],
        b"",
    );
    let changed = portal_link(&w, "dev").await;
    assert!(
        changed.contains("account_id=111111111111&role_name=ReadOnlyAccess&destination="),
        "{changed}"
    );

    // dd changes one byte in place: same inode, same size, within the same second.
    let text = std::fs::read_to_string(&config).unwrap();
    let at =
        text.find("sso_account_id = 111111111111").unwrap() + "sso_account_id = 11111111111".len();
    run_tool(
        "dd",
        &[
            &format!("of={}", config.display()),
            "bs=1",
            &format!("seek={at}"),
            "conv=notrunc",
            "status=none",
        ],
        b"2",
    );
    assert_eq!(std::fs::read_to_string(&config).unwrap().len(), text.len());
    let in_place = portal_link(&w, "dev").await;
    assert!(
        in_place.contains("account_id=111111111112&role_name=ReadOnlyAccess&destination="),
        "{in_place}"
    );

    // The profile removed: every command says it is not there.
    run_tool(
        "sed",
        &["-i", "/^\\[profile dev\\]/,+4d", config.to_str().unwrap()],
        b"",
    );
    assert!(!std::fs::read_to_string(&config)
        .unwrap()
        .contains("[profile dev]"));
    assert_fails_with(
        &w.ssotray(&["credentials", "--profile", "dev"]).await,
        "no SSO profile `dev`",
    );
    assert_fails_with(
        &w.ssotray(&["exec", "--profile", "dev", "--", "true"]).await,
        "no SSO profile `dev`",
    );
    // The rest of the file is as it was, and still answers.
    let o = w.ssotray(&["status"]).await;
    assert_ok(&o);
    assert!(stdout(&o).contains("my-sso"), "{}", stdout(&o));
    assert_eq!(portal_link(&w, "acct02999-ReadOnlyAccess").await, far);
}
