//! Trust on a shared machine (#21): per-profile container grants, exports that stay removed,
//! servers other users cannot stall, no redirects and bounded answers for AWS calls, `exec`'s
//! signals from the terminal and from other processes, device-code URLs off the command line,
//! and edits of shared files never built on a torn read.
//!
//! Among them: the export race held at the simulator's GetRoleCredentials barrier while a second
//! process unexports or logs out; other uids (`setpriv`) holding connections; redirects and
//! oversized answers; Ctrl+C in a pty against `kill -INT`; a credentials file rewritten in place
//! while ssotray edits it.

use crate::cli::{auto, World};
use crate::served::{container_env, grant, keep_serving, sdk_env};
use ssotray_tests::{
    assert_fails_with, assert_ok, bin, count, python, run, stats, stderr, stdout, SimConfig, CONFIG,
};
use std::process::Stdio;
use std::time::Duration;

async fn logged_in() -> World {
    logged_in_on(CONFIG).await
}

/// A world on `config` (role credentials living an hour), logged in to `my-sso`.
async fn logged_in_on(config: &str) -> World {
    let w = World::new(
        config,
        SimConfig {
            role_credentials_ttl: Duration::from_secs(3600),
            ..auto()
        },
    )
    .await;
    assert_ok(
        &w.ssotray(&["login", "my-sso", "--device-code", "--no-browser"])
            .await,
    );
    w
}

/// The world's environment with a runtime directory and `PATH`, as a desktop session's.
fn desktop_env(w: &World) -> Vec<(String, String)> {
    let runtime = w.home.path().join("run");
    std::fs::create_dir_all(&runtime).unwrap();
    let mut env = sdk_env(w);
    env.push(("XDG_RUNTIME_DIR".into(), runtime.display().to_string()));
    env.push(("PATH".into(), std::env::var("PATH").unwrap_or_default()));
    env
}

/// GETs `argv[1]` with `Authorization: argv[2]` (none when empty): prints the status, or
/// `closed` when the server closed the connection unanswered.
const STATUS: &str = r#"
import sys, urllib.request, urllib.error
headers = {"Authorization": sys.argv[2]} if sys.argv[2] else {}
try:
    print(urllib.request.urlopen(urllib.request.Request(sys.argv[1], headers=headers), timeout=5).status)
except urllib.error.HTTPError as e:
    print(e.code)
except Exception:
    print("closed")
"#;

async fn status(env: &[(String, String)], url: &str, token: &str) -> String {
    let o = run(&python(), &["-c", STATUS, url, token], env).await;
    assert_ok(&o);
    stdout(&o).trim().to_string()
}

/// botocore with nothing but a container's variables: the ARN it gets, or its error.
async fn botocore_in_a_container(env: &[(String, String)]) -> Result<String, String> {
    let script = "import boto3; print(boto3.client('sts', region_name='eu-west-1').get_caller_identity()['Arn'])";
    let o = run(&python(), &["-c", script], env).await;
    if o.status.success() {
        Ok(stdout(&o).trim().to_string())
    } else {
        Err(stderr(&o))
    }
}

const DEV_ARN: &str = "arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_AdministratorAccess_";

#[tokio::test]
async fn a_container_grant_unlocks_its_one_profile_until_it_is_revoked_or_rotated() {
    let w = logged_in().await;
    let env = desktop_env(&w);
    // The single token of an earlier version, which unlocked every profile.
    let old = w.home.path().join("run/ssotray/container-token");
    std::fs::create_dir_all(old.parent().unwrap()).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        old.parent().unwrap(),
        std::fs::Permissions::from_mode(0o700),
    )
    .unwrap();
    std::fs::write(&old, "5a".repeat(32)).unwrap();
    let serving = keep_serving(&env, &["--container-server", "127.0.0.1:0"]).await;
    let (address, said) = (serving.address.clone(), serving.said.clone());
    assert!(!old.exists(), "the old token is gone");
    assert!(
        said.contains("single container token of earlier versions was removed"),
        "{said}"
    );
    assert!(
        said.contains("none yet: `ssotray container grant PROFILE`"),
        "{said}"
    );
    let base = format!("http://{address}/profile");
    assert_eq!(
        status(&env, &format!("{base}/dev"), &"5a".repeat(32)).await,
        "403"
    );

    let (uri, dir) = grant(&env, "dev", &address).await;
    let token_file = dir.join("token");
    let token = std::fs::read_to_string(&token_file).unwrap();
    assert!(
        botocore_in_a_container(&container_env(&w, &uri, &token_file))
            .await
            .unwrap()
            .starts_with(DEV_ARN)
    );
    // dev's token is dev's only: prod-ro (no grant) and a chained profile are refused with it,
    // and dev without it.
    assert_eq!(status(&env, &format!("{base}/dev"), &token).await, "200");
    assert_eq!(
        status(&env, &format!("{base}/prod-ro"), &token).await,
        "403"
    );
    assert_eq!(status(&env, &format!("{base}/dev"), "").await, "403");
    // Granting prod-ro gives it a token of its own, which does not open dev.
    let (_, prod_dir) = grant(&env, "prod-ro", &address).await;
    let prod = std::fs::read_to_string(prod_dir.join("token")).unwrap();
    assert_ne!(prod, token);
    assert_eq!(status(&env, &format!("{base}/prod-ro"), &prod).await, "200");
    assert_eq!(status(&env, &format!("{base}/dev"), &prod).await, "403");
    let o = run(&bin("ssotray"), &["container", "list"], &env).await;
    assert_eq!(stdout(&o), "dev\nprod-ro\n");
    // Granting again keeps the token (a running container keeps working).
    grant(&env, "dev", &address).await;
    assert_eq!(std::fs::read_to_string(&token_file).unwrap(), token);

    // Rotation: every old token stops working at once; the new ones work.
    let o = run(&bin("ssotray"), &["container", "rotate"], &env).await;
    assert_ok(&o);
    assert!(
        stderr(&o).contains("New tokens for 2 container grant(s)"),
        "{}",
        stderr(&o)
    );
    let rotated = std::fs::read_to_string(&token_file).unwrap();
    assert_ne!(rotated, token);
    assert_eq!(status(&env, &format!("{base}/dev"), &token).await, "403");
    assert_eq!(status(&env, &format!("{base}/prod-ro"), &prod).await, "403");
    assert!(
        botocore_in_a_container(&container_env(&w, &uri, &token_file))
            .await
            .unwrap()
            .starts_with(DEV_ARN)
    );

    // Revoked: refused, and botocore says so.
    assert_ok(&run(&bin("ssotray"), &["container", "revoke", "dev"], &env).await);
    assert_eq!(status(&env, &format!("{base}/dev"), &rotated).await, "403");
    let e = botocore_in_a_container(&container_env(&w, &uri, &token_file))
        .await
        .unwrap_err();
    // The revoked grant's directory is emptied and gone: botocore finds no token file to send.
    assert!(
        e.contains("FileNotFoundError") && e.contains("container-grants/dev/token"),
        "{e}"
    );
    assert_fails_with(
        &run(&bin("ssotray"), &["container", "revoke", "dev"], &env).await,
        "has no container grant",
    );
    // `keep --rotate-container-token` rotates too.
    drop(serving);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _serving = keep_serving(
        &env,
        &[
            "--container-server",
            "127.0.0.1:0",
            "--rotate-container-token",
        ],
    )
    .await;
    assert_ne!(
        std::fs::read_to_string(prod_dir.join("token")).unwrap(),
        prod
    );
}

#[tokio::test]
async fn a_revoked_grant_stays_revoked_for_a_container_that_keeps_its_old_directory() {
    let w = logged_in().await;
    let env = desktop_env(&w);
    let serving = keep_serving(&env, &["--container-server", "127.0.0.1:0"]).await;
    let base = format!("http://{}/profile", serving.address);
    let (_, dir) = grant(&env, "dev", &serving.address).await;
    // The container's view of its grant: the directory as it was when it was mounted (a bind
    // mount holds the directory itself, as this descriptor does).
    let mounted = std::fs::File::open(&dir).unwrap();
    let view = std::path::PathBuf::from(format!(
        "/proc/self/fd/{}",
        std::os::fd::AsRawFd::as_raw_fd(&mounted)
    ));
    let token = std::fs::read_to_string(view.join("token")).unwrap();
    assert_eq!(status(&env, &format!("{base}/dev"), &token).await, "200");

    assert_ok(&run(&bin("ssotray"), &["container", "revoke", "dev"], &env).await);
    // Granted again: a new directory, which the old mount does not have.
    let (_, again) = grant(&env, "dev", &serving.address).await;
    assert_eq!(again, dir);
    let fresh = std::fs::read_to_string(dir.join("token")).unwrap();
    assert_ne!(fresh, token);
    assert!(
        std::fs::read_to_string(view.join("token")).is_err(),
        "the revoked container's directory holds no token"
    );
    use std::os::unix::fs::MetadataExt;
    assert_ne!(
        std::fs::metadata(&dir).unwrap().ino(),
        mounted.metadata().unwrap().ino()
    );
    assert_eq!(status(&env, &format!("{base}/dev"), &token).await, "403");
    assert_eq!(status(&env, &format!("{base}/dev"), &fresh).await, "200");
    assert_eq!(
        std::fs::read_to_string(dir.join("profile")).unwrap(),
        "dev",
        "the grant names its profile exactly"
    );
    // Nothing of the revoke is left beside the grants.
    let grants = dir.parent().unwrap();
    let left = || {
        let mut names: Vec<_> = std::fs::read_dir(grants)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    assert_eq!(left(), ["dev"]);
    // Another process's grant under way is left alone by every command that tidies up; what a
    // killed one left (a minute old) is removed.
    let under_way = grants.join(".new-00000000000000aa");
    std::fs::create_dir(&under_way).unwrap();
    assert_ok(&run(&bin("ssotray"), &["container", "list"], &env).await);
    assert_eq!(left(), [".new-00000000000000aa", "dev"]);
    let o = std::process::Command::new("touch")
        .args(["-d", "2 minutes ago"])
        .arg(&under_way)
        .output()
        .unwrap();
    assert!(o.status.success());
    assert_ok(&run(&bin("ssotray"), &["container", "list"], &env).await);
    assert_eq!(left(), ["dev"]);
}

#[tokio::test]
async fn grants_of_an_earlier_version_are_served_under_names_no_case_can_confuse() {
    let config = format!(
        "{CONFIG}\n[profile Prod]\nsso_session = my-sso\nsso_account_id = 333333333333\nsso_role_name = ReadOnlyAccess\n"
    );
    let w = logged_in_on(&config).await;
    let env = desktop_env(&w);
    // As an earlier version left it: `Prod`'s grant in a directory named `Prod`, token only.
    let grants = w.home.path().join(".local/state/ssotray/container-grants");
    let old = grants.join("Prod");
    std::fs::create_dir_all(&old).unwrap();
    use std::os::unix::fs::PermissionsExt;
    for d in [&grants, &old] {
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    let token = "5b".repeat(32);
    std::fs::write(old.join("token"), &token).unwrap();
    let mounted = std::fs::File::open(&old).unwrap();
    let serving = keep_serving(&env, &["--container-server", "127.0.0.1:0"]).await;
    let base = format!("http://{}/profile", serving.address);
    assert_eq!(status(&env, &format!("{base}/Prod"), &token).await, "200");
    // The same directory (a running container keeps it), under a name no other profile's can
    // be taken for where names compare without case, naming its profile exactly.
    let new = grants.join("%50rod");
    use std::os::unix::fs::MetadataExt;
    assert_eq!(
        std::fs::metadata(&new).unwrap().ino(),
        mounted.metadata().unwrap().ino()
    );
    assert_eq!(
        std::fs::read_to_string(new.join("profile")).unwrap(),
        "Prod"
    );
    assert!(!old.exists());
    // `prod` is not `Prod`: its own grant, its own directory, its token opens only it.
    assert_eq!(status(&env, &format!("{base}/prod"), &token).await, "403");
    let o = run(&bin("ssotray"), &["container", "list"], &env).await;
    assert_eq!(stdout(&o), "Prod\n");
}

#[tokio::test]
async fn container_grant_names_the_address_the_running_server_listens_on() {
    let w = logged_in().await;
    let env = desktop_env(&w);
    // No server runs: the settings' address, and it says so.
    let o = run(&bin("ssotray"), &["container", "grant", "dev"], &env).await;
    assert_ok(&o);
    assert!(
        stdout(&o)
            .contains("AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:9911/profile/dev "),
        "{}",
        stdout(&o)
    );
    assert!(
        stderr(&o).contains("No container server runs now"),
        "{}",
        stderr(&o)
    );
    // A keeper serves on a port of its own (`--container-server 127.0.0.1:0`): the line names it.
    let serving = keep_serving(&env, &["--container-server", "127.0.0.1:0"]).await;
    let o = run(&bin("ssotray"), &["container", "grant", "dev"], &env).await;
    assert_ok(&o);
    let uri = format!("http://{}/profile/dev", serving.address);
    assert!(
        stdout(&o).contains(&format!("AWS_CONTAINER_CREDENTIALS_FULL_URI={uri} ")),
        "{}",
        stdout(&o)
    );
    assert!(!stderr(&o).contains("No container server runs now"));
    let token = std::fs::read_to_string(serving.grants.join("dev/token")).unwrap();
    assert_eq!(status(&env, &uri, &token).await, "200");
}

/// The user's own credentials file.
const USER_CREDENTIALS: &str = "# keys I manage myself\n[default]\naws_access_key_id = AKIAUSEROWN\naws_secret_access_key = user-secret\n";

/// Exports dev as `[exported]`, then lets an in-process keeper (the simulator's clock moved to
/// 19 minutes before the credentials expire) fetch fresh credentials for its rewrite and holds
/// them at the simulator while `second` (another process: `ssotray …`) runs; then lets them
/// go and waits for the keeper. The barrier makes the race the same every run.
async fn keeper_fetches_while(w: &World, second: &[&str]) -> std::process::Output {
    use ssotray_core::keep::keeper::{Keeper, KeeperEvent, Notifier};
    struct Quiet;
    impl Notifier for Quiet {
        fn notify(&self, _: &KeeperEvent) {}
    }
    let file = w.home.aws().join("credentials");
    std::fs::write(&file, USER_CREDENTIALS).unwrap();
    assert_ok(
        &w.ssotray(&["credentials", "--profile", "dev", "--export-as", "exported"])
            .await,
    );
    let clock = ssotray_tests::SharedClock(w.sim.clock());
    let engine = ssotray_tests::engine_for(&w.home, &w.sim.base_url, std::sync::Arc::new(clock));
    let keeper = std::sync::Arc::new(Keeper::new(engine, std::sync::Arc::new(Quiet)));
    w.sim.hold_role_credentials();
    w.sim.clock().advance(Duration::from_secs(41 * 60));
    let k = keeper.clone();
    let tick = tokio::spawn(async move { k.tick().await });
    for _ in 0..300 {
        if w.sim.role_credentials_waiting() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        w.sim.role_credentials_waiting(),
        1,
        "the keeper fetches for its rewrite"
    );
    let o = w.ssotray(second).await;
    w.sim.release_role_credentials();
    tokio::time::timeout(Duration::from_secs(60), tick)
        .await
        .expect("the keeper's pass ends")
        .unwrap();
    o
}

/// Starts `ssotray args…` in `w`'s environment, its output collected.
fn start(w: &World, args: &[&str]) -> tokio::task::JoinHandle<std::process::Output> {
    let mut cmd = tokio::process::Command::new(bin("ssotray"));
    cmd.args(args)
        .env_clear()
        .envs(w.env())
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .stdin(Stdio::null())
        .kill_on_drop(true);
    tokio::spawn(async move { cmd.output().await.unwrap() })
}

/// Waits up to 30 s for `done`.
async fn until(what: &str, done: impl Fn() -> bool) {
    for _ in 0..300 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what} within 30 s");
}

#[tokio::test]
async fn an_export_racing_a_logout_leaves_no_live_keys_whoever_gets_the_lock_first() {
    let w = logged_in().await;
    let file = w.home.aws().join("credentials");
    std::fs::write(&file, USER_CREDENTIALS).unwrap();
    let engine = ssotray_tests::engine_for(
        &w.home,
        &w.sim.base_url,
        std::sync::Arc::new(ssotray_core::platform::os::SystemClock),
    );
    // A concurrent edit of the credentials file holds its lock.
    let lock = ssotray_core::platform::os::open_lock_file(&engine.config_lock_path(&file).unwrap())
        .unwrap();
    lock.lock().unwrap();
    // The export fetches dev's credentials, then waits for the lock.
    let export = start(
        &w,
        &["credentials", "--profile", "dev", "--export-as", "leftover"],
    );
    let base = w.sim.base_url.clone();
    for _ in 0..300 {
        if count(&stats(&base).await, "GetRoleCredentials") == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(count(&stats(&base).await, "GetRoleCredentials"), 1);
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The logout removes the token, then the session's exports under the same lock.
    let token = w.home.aws().join("sso/cache");
    let logout = start(&w, &["logout", "my-sso"]);
    until("the logout removed the token", || {
        std::fs::read_dir(&token)
            .map(|d| {
                d.filter_map(Result::ok).all(|e| {
                    !std::fs::read_to_string(e.path())
                        .unwrap_or_default()
                        .contains("accessToken")
                })
            })
            .unwrap_or(true)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    lock.unlock().unwrap();
    let logout = tokio::time::timeout(Duration::from_secs(30), logout)
        .await
        .expect("the logout ends")
        .unwrap();
    assert_ok(&logout);
    let export = tokio::time::timeout(Duration::from_secs(30), export)
        .await
        .expect("the export ends")
        .unwrap();
    // The export found the session logged out: it wrote nothing and said why.
    assert!(!export.status.success(), "{}", stderr(&export));
    assert!(
        stderr(&export).contains("`my-sso` was logged out while its credentials were being exported; nothing was written"),
        "{}",
        stderr(&export)
    );
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        USER_CREDENTIALS,
        "no [leftover] with live keys"
    );
    let status = w.ssotray(&["status"]).await;
    assert!(
        stdout(&status).contains("logged out"),
        "{}",
        stdout(&status)
    );
}

#[tokio::test]
async fn a_logout_while_role_credentials_were_fetched_leaves_nothing_in_the_cli_cache() {
    let w = logged_in().await;
    let cli_cache = w.home.aws().join("cli/cache");
    w.sim.hold_role_credentials();
    // `credential_process` fetches dev's credentials; the answer is held at the simulator.
    let fetch = start(&w, &["credentials", "--profile", "dev"]);
    until("the fetch waits at the simulator", || {
        w.sim.role_credentials_waiting() == 1
    })
    .await;
    // Meanwhile the session is logged out (token, role caches, exports).
    assert_ok(&w.ssotray(&["logout", "my-sso"]).await);
    w.sim.release_role_credentials();
    let fetched = tokio::time::timeout(Duration::from_secs(30), fetch)
        .await
        .expect("the fetch ends")
        .unwrap();
    assert_ok(&fetched);
    // The credentials that were on their way went to the program that asked, and nowhere else:
    // the AWS CLI would use a cache entry for hours without asking for a login.
    let left: Vec<_> = std::fs::read_dir(&cli_cache)
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(
        left.is_empty(),
        "role credentials cached after the logout: {left:?}"
    );
}

#[tokio::test]
async fn an_export_removed_while_the_keeper_fetched_its_rewrite_stays_removed() {
    let w = logged_in().await;
    let o = keeper_fetches_while(&w, &["credentials", "--unexport", "exported"]).await;
    assert_ok(&o);
    let text = std::fs::read_to_string(w.home.aws().join("credentials")).unwrap();
    assert_eq!(text, USER_CREDENTIALS, "[exported] is not brought back");
}

#[tokio::test]
async fn a_logout_while_the_keeper_fetched_its_rewrite_leaves_no_keys_behind() {
    let w = logged_in().await;
    // A chained profile's export goes with the session its chain starts from, too.
    let config = format!("{CONFIG}\n[profile deployer]\nrole_arn = arn:aws:iam::333333333333:role/Deployer\nsource_profile = dev\nregion = us-west-2\n");
    std::fs::write(w.home.aws().join("config"), config).unwrap();
    let env = sdk_env(&w);
    let o = keeper_fetches_while(&w, &["logout", "my-sso"]).await;
    assert_ok(&o);
    let text = std::fs::read_to_string(w.home.aws().join("credentials")).unwrap();
    assert_eq!(text, USER_CREDENTIALS, "no keys left after the logout");
    // The chained export, written and logged out without a race.
    assert_ok(
        &w.ssotray(&["login", "my-sso", "--device-code", "--no-browser"])
            .await,
    );
    let o = run(
        &bin("ssotray"),
        &[
            "credentials",
            "--profile",
            "deployer",
            "--export-as",
            "chained",
        ],
        &env,
    )
    .await;
    if o.status.success() {
        assert_ok(&w.ssotray(&["logout", "my-sso"]).await);
        let text = std::fs::read_to_string(w.home.aws().join("credentials")).unwrap();
        assert!(
            !text.contains("[chained]"),
            "a chained profile's export is removed: {text}"
        );
    } else {
        panic!("the chained export: {}", stderr(&o));
    }
}

/// As another user (uid 65534, through `setpriv`; needs root or sudo): opens 200 connections to
/// `argv[1]` (HOST:PORT) for each way of `argv[3]` (comma-separated; `plain` when missing), holds
/// them for `argv[2]` seconds; prints how many the server closed within a second of their own
/// opening (a refusal; a connection the server admitted is closed by its 3-second head timeout
/// at the earliest). `lo`: each socket bound to the loopback device first (`SO_BINDTODEVICE`,
/// which needs no privilege since Linux 5.7), which hides it from a `sock_diag` look-up that
/// names no device.
const HOG: &str = r#"
import errno, random, selectors, socket, sys, threading, time
host, port = sys.argv[1].rsplit(":", 1)
ways = (sys.argv[3] if len(sys.argv) > 3 else "plain").split(",")
# A socket bound to a device gets its local port chosen as if the connections the server closed
# (in TIME_WAIT on the server's side) were not there, and such a port's connect waits a second
# for a retransmission: each one gets a port of its own instead, never used twice.
next_port = random.randrange(20000, 40000)
def connect(way):
    global next_port
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if way == "lo":
        s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"lo")
        while True:
            next_port += 1
            try:
                s.bind(("127.0.0.1", next_port))
                break
            except OSError as e:
                if e.errno != errno.EADDRINUSE:
                    raise
    s.settimeout(5)
    s.connect((host, int(port)))
    s.setblocking(False)
    return s
# Closes are seen by a thread of their own, so a connect that waits (a SYN retransmitted)
# delays no other connection's observation.
watching = selectors.DefaultSelector()
opened, closed_at, lock = {}, {}, threading.Lock()
done = threading.Event()
def watch():
    while not done.is_set():
        for key, _ in watching.select(0.02):
            s = key.fileobj
            try:
                if s.recv(1) != b"":
                    continue
            except BlockingIOError:
                continue
            except OSError:
                pass
            with lock:
                closed_at[s] = time.monotonic()
            watching.unregister(s)
watcher = threading.Thread(target=watch)
watcher.start()
for way in ways:
    for _ in range(200):
        s = connect(way)
        with lock:
            opened[s] = time.monotonic()
        watching.register(s, selectors.EVENT_READ)
print("connected", file=sys.stderr, flush=True)
time.sleep(1.0)
done.set()
watcher.join()
print(sum(1 for s in closed_at if closed_at[s] - opened[s] < 1.0), flush=True)
time.sleep(float(sys.argv[2]))
"#;

/// The prefix that runs a command as another user (CI runs as root).
fn as_other_user(uid: u32) -> String {
    let sudo = if ssotray_core::platform::user::me().uid() == 0 {
        ""
    } else {
        "sudo -n "
    };
    format!("{sudo}setpriv --reuid={uid} --regid={uid} --clear-groups /usr/bin/python3")
}

/// A script other users can read (in the system's temporary directory, not the test's home).
fn write_script(name: &str, text: &str) -> tempfile::TempPath {
    let mut file = tempfile::Builder::new()
        .prefix("ssotray-")
        .suffix(name)
        .tempfile()
        .unwrap();
    std::io::Write::write_all(&mut file, text.as_bytes()).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(file.path(), std::fs::Permissions::from_mode(0o644)).unwrap();
    file.into_temp_path()
}

#[tokio::test]
async fn another_user_cannot_stall_execs_server_which_refuses_them_as_they_connect() {
    another_user_holds_connections_to_execs_server("plain").await;
}

#[tokio::test]
async fn another_user_whose_sockets_are_bound_to_lo_is_refused_by_execs_server_too() {
    another_user_holds_connections_to_execs_server("lo").await;
}

/// Inside `exec`: another user opens 200 connections `way` (all closed at once, unanswered), and
/// while they are held the command's own request is answered.
async fn another_user_holds_connections_to_execs_server(way: &str) {
    let w = logged_in().await;
    let hog = write_script("hog.py", HOG);
    let status = write_script("status.py", STATUS);
    let script = format!(
        r#"addr=$(echo "$AWS_CONTAINER_CREDENTIALS_FULL_URI" | sed 's#http://##; s#/.*##')
{other} {hog} "$addr" 6 {way} > hog.out &
sleep 2
/usr/bin/python3 {status} "$AWS_CONTAINER_CREDENTIALS_FULL_URI" "$AWS_CONTAINER_AUTHORIZATION_TOKEN"
wait
cat hog.out"#,
        other = as_other_user(65534),
        hog = hog.display(),
        status = status.display(),
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )
    .unwrap();
    let mut env = w.env();
    env.push(("PATH".into(), std::env::var("PATH").unwrap_or_default()));
    let o = run(
        &bin("ssotray"),
        &[
            "exec",
            "--profile",
            "dev",
            "--",
            "sh",
            "-c",
            &format!("cd {} && {script}", dir.path().display()),
        ],
        &env,
    )
    .await;
    assert_ok(&o);
    let out = stdout(&o);
    let rows: Vec<&str> = out.lines().collect();
    assert_eq!(
        rows,
        ["200", "200"],
        "the command's own request answered; every connection of the other user ({way}) closed at once: {}",
        stderr(&o)
    );
}

/// A browser (`BROWSER`) that, before it signs in, has another user (uid 65534) open 200
/// connections of each way to the login's callback listener and hold them: it reads ssotray's
/// private page, finds the listener's port in the sign-in URL's `redirect_uri`, starts the hog,
/// then follows the sign-in like a person clicking Allow. The hog's count goes to `argv[2]`.
const HOGGED_BROWSER: &str = r#"
import os, sys, re, html, time, shlex, subprocess, urllib.parse, urllib.request
# Not ssotray's output: what it says is read to its end by the test.
null = os.open(os.devnull, os.O_WRONLY)
os.dup2(null, 1)
os.dup2(null, 2)
page = open(urllib.parse.unquote(sys.argv[1][len('file://'):])).read()
url = html.unescape(re.search(r'content="0;url=([^"]*)"', page).group(1))
query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
port = urllib.parse.urlsplit(query['redirect_uri'][0]).port
hog = subprocess.Popen(shlex.split(OTHER) + [HOG, '127.0.0.1:%d' % port, '3', 'plain,lo'],
                       stdout=open(OUT, 'w'), stderr=open(OUT + '.err', 'w'))
# Signed in once the other user holds all its connections (however long a loaded machine takes).
for _ in range(600):
    if 'connected' in open(OUT + '.err').read() or hog.poll() is not None:
        break
    time.sleep(0.1)
try:
    urllib.request.urlopen(url, timeout=30).read()
except Exception as e:
    open(OUT + '.browser', 'w').write(repr(e))
    raise
hog.wait()
"#;

#[tokio::test]
async fn another_user_cannot_hold_the_login_callback_listener_its_sockets_bound_to_lo_or_not() {
    let w = World::auto_approving(CONFIG).await;
    let hog = write_script("hog.py", HOG);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("hog.out");
    let browser = dir.path().join("browser.py");
    std::fs::write(
        &browser,
        format!(
            "#!/usr/bin/python3\nOTHER = {:?}\nHOG = {:?}\nOUT = {:?}\n{HOGGED_BROWSER}",
            as_other_user(65534),
            hog.display().to_string(),
            out.display().to_string()
        ),
    )
    .unwrap();
    std::fs::set_permissions(
        &browser,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let mut env = w.env();
    env.push(("BROWSER".into(), browser.display().to_string()));
    env.push(("PATH".into(), std::env::var("PATH").unwrap_or_default()));
    // Before: the connections bound to lo were nobody's, admitted, and held all 16 slots; the
    // browser's redirect was reset and the login waited for its 10-minute timeout.
    env.push(("SSOTRAY_LOG".into(), "ssotray_core=debug".into()));
    let mut login = tokio::process::Command::new(bin("ssotray"));
    login
        .args(["login", "my-sso"])
        .env_clear()
        .envs(env.iter().cloned())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut login = login.spawn().unwrap();
    let mut said = login.stderr.take().unwrap();
    let said = tokio::spawn(async move {
        let mut text = String::new();
        let _ = tokio::io::AsyncReadExt::read_to_string(&mut said, &mut text).await;
        text
    });
    let ended = tokio::time::timeout(Duration::from_secs(60), login.wait()).await;
    if ended.is_err() {
        let _ = login.kill().await;
    }
    let said = tokio::time::timeout(Duration::from_secs(10), said)
        .await
        .map(Result::unwrap)
        .unwrap_or_else(|_| "(its stderr stayed open)".into());
    let status = ended.unwrap_or_else(|_| {
        panic!(
            "the login ends within a minute while another user holds connections; the browser: {:?}; the hog: {:?}; ssotray said:\n{said}",
            std::fs::read_to_string(out.with_extension("out.browser")),
            std::fs::read_to_string(out.with_extension("out.err")),
        )
    });
    assert!(status.unwrap().success(), "{said}");
    assert!(said.contains("Logged in to `my-sso`"), "{said}");
    let closed = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let text = std::fs::read_to_string(&out).unwrap_or_default();
            if text.ends_with('\n') {
                return text.trim().to_string();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .unwrap_or_else(|_| {
        panic!(
            "the hog reports: {:?}",
            std::fs::read_to_string(out.with_extension("out.err"))
        )
    });
    assert_eq!(
        closed, "400",
        "every connection of the other user closed at once, bound to lo or not"
    );
}

#[tokio::test]
async fn the_long_running_server_keeps_this_users_slots_and_caps_each_other_user() {
    let w = logged_in().await;
    let env = desktop_env(&w);
    let serving = keep_serving(&env, &["--container-server", "127.0.0.1:0"]).await;
    let address = serving.address.clone();
    let (uri, dir) = grant(&env, "dev", &address).await;
    let token = std::fs::read_to_string(dir.join("token")).unwrap();
    let hog = write_script("hog.py", HOG);
    let status = write_script("status.py", STATUS);
    let mut hogging = tokio::process::Command::new("sh")
        .args([
            "-c",
            &format!(
                "{} {} {address} 8 plain,lo",
                as_other_user(65534),
                hog.display()
            ),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    // This user's request, and a container running as yet another uid, are both answered while
    // the first other user holds what it may.
    assert_eq!(super::trust::status(&env, &uri, &token).await, "200");
    let o = std::process::Command::new("sh")
        .args([
            "-c",
            &format!(
                "{} {} {uri} {token}",
                as_other_user(65533),
                status.display()
            ),
        ])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        "200",
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let mut out = String::new();
    tokio::io::AsyncReadExt::read_to_string(hogging.stdout.as_mut().unwrap(), &mut out)
        .await
        .unwrap();
    let _ = hogging.wait().await;
    let closed: usize = out.trim().parse().unwrap_or_else(|_| panic!("{out:?}"));
    assert_eq!(
        closed,
        400 - 16,
        "one other uid holds at most 16 connections, its sockets bound to lo or not"
    );

    // A connection that sends nothing is closed within the head timeout (3 s), not 10 s.
    let mut idle = tokio::net::TcpStream::connect(&address).await.unwrap();
    let mut buf = [0u8; 1];
    let n = tokio::time::timeout(
        Duration::from_secs(7),
        tokio::io::AsyncReadExt::read(&mut idle, &mut buf),
    )
    .await
    .expect("an idle connection is closed within 7 s")
    .unwrap_or(0);
    assert_eq!(n, 0);
}

/// As another user: asks `argv[1]` (HOST:PORT) for the credentials of `argv[2]` distinct
/// profiles (`/profile/nobody-N`, N from `argv[3]`) with no token, over 4 keep-alive
/// connections; prints the statuses it got and how many of each.
const NAMES: &str = r#"
import collections, http.client, sys, threading
host, port = sys.argv[1].rsplit(":", 1)
n, first, ways = int(sys.argv[2]), int(sys.argv[3]), 4
statuses = collections.Counter()
def ask(i):
    c = http.client.HTTPConnection(host, int(port), timeout=30)
    for j in range(first + i, first + n, ways):
        c.request("GET", "/profile/nobody-%d" % j)
        r = c.getresponse()
        r.read()
        statuses[r.status] += 1
threads = [threading.Thread(target=ask, args=(i,)) for i in range(ways)]
for t in threads: t.start()
for t in threads: t.join()
print(" ".join("%d:%d" % kv for kv in sorted(statuses.items())), flush=True)
"#;

/// A process's resident memory, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("{status}"))
}

#[tokio::test]
async fn another_user_asking_for_100_000_profile_names_grows_the_keeper_by_no_more_than_a_few_mib()
{
    let w = logged_in().await;
    let env = desktop_env(&w);
    let serving = keep_serving(&env, &["--container-server", "127.0.0.1:0"]).await;
    let pid = serving.keeper.id().unwrap();
    grant(&env, "dev", &serving.address).await;
    let names = write_script("names.py", NAMES);
    let ask = |n: usize, first: usize| {
        let o = std::process::Command::new("sh")
            .args([
                "-c",
                &format!(
                    "{} {} {} {n} {first}",
                    as_other_user(65534),
                    names.display(),
                    serving.address
                ),
            ])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    // The server's own buffers and tasks made once; then 100 000 names nobody granted.
    assert_eq!(ask(2_000, 0), "403:2000");
    let before = rss_kib(pid);
    assert_eq!(ask(100_000, 2_000), "403:100000");
    let after = rss_kib(pid);
    // Before: every name asked for was kept (a stat result and an entry each), about 50 MB.
    assert!(
        after.saturating_sub(before) < 4 * 1024,
        "the keeper grew from {before} KiB to {after} KiB"
    );
}

/// A server that answers every request with `answer` and counts its connections.
async fn answering(answer: String) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let h = hits.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            h.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let answer = answer.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65536];
                let _ = s.read(&mut buf).await;
                let _ = s.write_all(answer.as_bytes()).await;
                let _ = s.shutdown().await;
            });
        }
    });
    (url, hits)
}

#[tokio::test]
async fn aws_calls_follow_no_redirect_and_read_no_answer_beyond_a_mebibyte() {
    let w = logged_in().await;
    // The portal endpoint redirects elsewhere: the bearer token must not follow.
    let (elsewhere, hits) =
        answering("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}".into()).await;
    let (redirecting, _) = answering(format!(
        "HTTP/1.1 307 Temporary Redirect\r\nLocation: {elsewhere}/federation/credentials\r\nContent-Length: 0\r\n\r\n"
    ))
    .await;
    let mut env = w.env();
    env.retain(|(k, _)| k != "AWS_ENDPOINT_URL_SSO");
    env.push(("AWS_ENDPOINT_URL_SSO".into(), redirecting));
    let o = run(&bin("ssotray"), &["credentials", "--profile", "dev"], &env).await;
    assert_fails_with(
        &o,
        "a redirect (307 Temporary Redirect), which ssotray never follows",
    );
    assert_eq!(
        hits.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "nothing reached the other address"
    );

    // An answer of 2 MiB is not read to its end.
    let body = format!(
        "{{\"roleCredentials\": {{}}, \"pad\": \"{}\"}}",
        "x".repeat(2 << 20)
    );
    let (huge, _) = answering(format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    ))
    .await;
    env.retain(|(k, _)| k != "AWS_ENDPOINT_URL_SSO");
    env.push(("AWS_ENDPOINT_URL_SSO".into(), huge));
    let o = run(&bin("ssotray"), &["credentials", "--profile", "dev"], &env).await;
    assert_fails_with(&o, "an answer longer than 1024 KiB");
}

/// Runs `ssotray exec` in a terminal of its own (a pty, ssotray in its foreground group), with a
/// command that counts the SIGINTs it gets; sends one Ctrl+C through the terminal, then one
/// `kill -INT` from another process; prints the count after each.
const IN_A_TERMINAL: &str = r#"
import os, pty, sys, time, signal
marker = sys.argv[1]
argv = sys.argv[2:]
pid, fd = pty.fork()
if pid == 0:
    os.execv(argv[0], argv)
out = b""
deadline = time.time() + 30
while b"ready" not in out and time.time() < deadline:
    out += os.read(fd, 1024)
def count():
    time.sleep(1.5)
    try:
        return len(open(marker).read().splitlines())
    except FileNotFoundError:
        return 0
os.write(fd, b"\x03")
after_ctrl_c = count()
os.kill(pid, signal.SIGINT)
after_kill = count()
os.kill(pid, signal.SIGTERM)
_, status = os.waitpid(pid, 0)
print(after_ctrl_c, after_kill, os.waitstatus_to_exitcode(status))
"#;

#[tokio::test]
async fn exec_forwards_a_kill_int_from_another_process_but_not_a_ctrl_c_the_command_got_itself() {
    let w = logged_in().await;
    let marker = w.home.path().join("ints");
    let script = format!(
        "trap 'echo int >> {}' INT; trap 'exit 42' TERM; echo ready; while :; do sleep 0.1; done",
        marker.display()
    );
    let mut env = w.env();
    env.push(("PATH".into(), std::env::var("PATH").unwrap_or_default()));
    let o = run(
        &python(),
        &[
            "-c",
            IN_A_TERMINAL,
            marker.to_str().unwrap(),
            bin("ssotray").to_str().unwrap(),
            "exec",
            "--profile",
            "dev",
            "--",
            "/bin/sh",
            "-c",
            &script,
        ],
        &env,
    )
    .await;
    assert_ok(&o);
    assert_eq!(
        stdout(&o).trim(),
        "1 2 42",
        "Ctrl+C reached the command once (from the terminal, not forwarded again); kill -INT to ssotray was forwarded once; the command's exit status passed on: {}",
        stderr(&o)
    );
}

#[tokio::test]
async fn the_device_code_url_reaches_the_browser_through_a_private_page() {
    let w = World::auto_approving(CONFIG).await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("argv");
    let browser = dir.path().join("browser.sh");
    std::fs::write(
        &browser,
        format!("#!/bin/sh\nprintf '%s\\n' \"$1\" >> {}\n", log.display()),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&browser, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut env = w.env();
    env.push(("BROWSER".into(), browser.display().to_string()));
    let o = run(&bin("ssotray"), &["login", "my-sso", "--device-code"], &env).await;
    assert_ok(&o);
    let argv = std::fs::read_to_string(&log).unwrap();
    let arg = argv.lines().next().unwrap();
    assert!(
        arg.starts_with("file://"),
        "only a private page's path on the command line: {arg}"
    );
    let page =
        std::fs::read_to_string(url::Url::parse(arg).unwrap().to_file_path().unwrap()).unwrap();
    let target = ssotray_core::ops::private_open::target_of_page(&page).unwrap();
    assert!(
        target.contains("user_code="),
        "the page leads to the complete verification URL: {target}"
    );
    assert!(!arg.contains("user_code"), "{arg}");
}

#[tokio::test]
async fn an_export_is_never_built_on_a_credentials_file_another_tool_is_rewriting_in_place() {
    let w = logged_in().await;
    let file = w.home.aws().join("credentials");
    let user = format!("{USER_CREDENTIALS}\n[work]\naws_access_key_id = AKIAWORK\naws_secret_access_key = work-secret\n");
    std::fs::write(&file, &user).unwrap();
    // Another tool rewrites the file in place, slowly: truncated, half written, then the rest.
    let writer = r#"
import sys, time
path, text = sys.argv[1], open(sys.argv[1]).read()
with open(path, "r+") as f:
    f.truncate(0); f.flush()
    time.sleep(0.3)
    f.write(text[: len(text) // 2]); f.flush()
    time.sleep(0.3)
    f.write(text[len(text) // 2 :])
"#;
    let mut rewriting = tokio::process::Command::new(python())
        .args(["-c", writer, file.to_str().unwrap()])
        .spawn()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let o = w
        .ssotray(&["credentials", "--profile", "dev", "--export-as", "exported"])
        .await;
    assert!(rewriting.wait().await.unwrap().success());
    assert_ok(&o);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.starts_with(&user) && text.contains("\n[exported]\n"),
        "the user's sections and the export, nothing lost: {text}"
    );
}
