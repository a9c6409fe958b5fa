//! The keeper's socket under hostile input: an over-long line, a silent connection, an unknown
//! session, a connection from another user, a runtime directory others can reach. Each is
//! refused and the keeper goes on serving.

use crate::cli::{auto, World};
use ssotray_tests::{bin, run, stderr, CONFIG};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

fn runtime_env(w: &World) -> (Vec<(String, String)>, PathBuf) {
    let dir = w.home.path().join("run");
    std::fs::create_dir_all(&dir).unwrap();
    let mut env = w.env();
    env.push(("XDG_RUNTIME_DIR".into(), dir.display().to_string()));
    env.push(("PATH".into(), std::env::var("PATH").unwrap_or_default()));
    (env, dir.join("ssotray/keeper.sock"))
}

fn keep(env: &[(String, String)]) -> tokio::process::Child {
    let mut cmd = tokio::process::Command::new(bin("ssotray"));
    cmd.args(["keep", "--no-notify"])
        .env_clear()
        .envs(env.iter().cloned())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd.spawn().unwrap()
}

async fn wait_for(socket: &Path) {
    for _ in 0..200 {
        if socket.exists() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the keeper never listened");
}

/// Sends raw bytes and reads what comes back until the keeper closes the connection.
async fn exchange(socket: &Path, bytes: &[u8]) -> String {
    let mut s = UnixStream::connect(socket).await.unwrap();
    s.write_all(bytes).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), async {
        let mut buf = [0u8; 4096];
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    out.extend_from_slice(&buf[..n]);
                    if out.ends_with(b"\n") && !bytes.is_empty() && bytes.ends_with(b"\n") {
                        break;
                    }
                }
            }
        }
    })
    .await
    .expect("an answer or a closed connection");
    String::from_utf8_lossy(&out).into_owned()
}

async fn ping(socket: &Path) -> String {
    exchange(socket, b"{\"op\":\"ping\"}\n").await
}

#[tokio::test]
async fn the_keepers_socket_refuses_hostile_input_and_keeps_serving() {
    let w = World::new(CONFIG, auto()).await;
    let (env, socket) = runtime_env(&w);
    let _keep = keep(&env);
    wait_for(&socket).await;
    assert_eq!(ping(&socket).await.trim(), r#"{"result":"ok"}"#);

    // An over-long line: refused, and the connection closed.
    let mut long = vec![b'x'; 200 * 1024];
    long.push(b'\n');
    let answer = exchange(&socket, &long).await;
    assert!(
        answer.contains("refused a line longer than 65536 bytes"),
        "{answer}"
    );
    assert_eq!(ping(&socket).await.trim(), r#"{"result":"ok"}"#, "unharmed");

    // A silent connection is closed after the idle timeout; others are served meanwhile.
    let started = Instant::now();
    let silent = tokio::spawn({
        let socket = socket.clone();
        async move { exchange(&socket, b"").await }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(ping(&socket).await.trim(), r#"{"result":"ok"}"#);
    assert_eq!(silent.await.unwrap(), "", "closed without an answer");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(9) && waited < Duration::from_secs(25),
        "closed after {waited:?}"
    );

    // An unknown session is refused and never recorded.
    let answer = exchange(
        &socket,
        b"{\"op\":\"login-needed\",\"session\":\"nope\\nSession ended\"}\n",
    )
    .await;
    assert!(
        answer.contains(r#""result":"error""#) && answer.contains("no sso-session"),
        "{answer}"
    );
    let state = std::fs::read_to_string(w.home.path().join(".local/state/ssotray/state.json"))
        .unwrap_or_default();
    assert!(!state.contains("nope"), "{state}");
    // A known one is taken.
    assert_eq!(
        exchange(
            &socket,
            b"{\"op\":\"login-needed\",\"session\":\"my-sso\"}\n"
        )
        .await
        .trim(),
        r#"{"result":"ok"}"#
    );

    // Another user cannot even reach the socket (0700 directory); opened up by hand, the
    // keeper still refuses the connection by its peer's uid.
    if ssotray_core::platform::user::me().uid() == 0 {
        use std::os::unix::fs::PermissionsExt;
        let dir = socket.parent().unwrap();
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o777)).unwrap();
        let home = w.home.path();
        std::fs::set_permissions(home, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(home.join("run"), std::fs::Permissions::from_mode(0o755)).unwrap();
        let script = format!(
            "import socket, time\ns = socket.socket(socket.AF_UNIX)\ns.connect({:?})\ns.settimeout(10)\ntime.sleep(0.5)\ntry:\n  s.sendall(b'{{\"op\":\"ping\"}}\\n')\n  print(repr(s.recv(100)))\nexcept OSError:\n  print(repr(b''))\n",
            socket.display().to_string()
        );
        let o = run(
            Path::new("setpriv"),
            &[
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "/usr/bin/python3",
                "-c",
                &script,
            ],
            &env,
        )
        .await;
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(
            String::from_utf8_lossy(&o.stdout).trim(),
            "b''",
            "no answer for another user"
        );
        assert_eq!(ping(&socket).await.trim(), r#"{"result":"ok"}"#, "unharmed");
    }
}

#[tokio::test]
async fn a_runtime_directory_others_can_reach_is_refused_with_what_to_do() {
    use std::os::unix::fs::PermissionsExt;
    let w = World::new(CONFIG, auto()).await;
    let (env, socket) = runtime_env(&w);
    let dir = socket.parent().unwrap();
    std::fs::create_dir_all(dir).unwrap();
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let o = keep(&env).wait_with_output().await.unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("has mode 755, so other users can reach its sockets")
            && err.contains("chmod 700"),
        "{err}"
    );
    assert!(!socket.exists());
    // A client does not talk to whatever listens there either: it logs in under the lock file.
    let o = run(&bin("ssotray"), &["credentials", "--profile", "dev"], &env).await;
    assert!(
        stderr(&o).contains("not logged in to `my-sso`"),
        "{}",
        stderr(&o)
    );
}
