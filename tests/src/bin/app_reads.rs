//! File reads of the idle tray app: `ssotray-app` with one logged-in session and a kept list of
//! 1000 accounts runs under `strace` on a private headless desktop; after it settled, every
//! `openat` and `read` of a file in the user's home (`~/.aws`, ssotray's settings, state and
//! caches) is counted over idle minutes, and the same for everything the process opened.
//! The floor is zero: nothing changed, so nothing needs reading. Then a file another tool
//! rewrites is read again (the check that the count can move).
//! Run with `scripts/bench app`.

use ssotray_tests::{Desktop, Home, CONFIG};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Per-minute counts from an strace log between two instants (seconds since the epoch).
#[derive(Debug, Default)]
struct Counts {
    opens_home: u64,
    reads_home: u64,
    bytes_home: u64,
    opens_all: u64,
    paths: std::collections::BTreeMap<String, u64>,
}

/// Parses `strace -f -ttt -y` lines: `PID TIME openat(AT_FDCWD, "/path", …) = 5</path>` and
/// `PID TIME read(5</path>, …, 4096) = 123`.
fn count(log: &Path, from: f64, to: f64, home: &str) -> Counts {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let mut c = Counts::default();
    for line in text.lines() {
        let mut words = line.split_whitespace();
        let (Some(_pid), Some(time)) = (words.next(), words.next()) else {
            continue;
        };
        let Some(call) = line.split_once(time).map(|(_, rest)| rest.trim_start()) else {
            continue;
        };
        let Ok(t) = time.parse::<f64>() else { continue };
        if t < from || t >= to {
            continue;
        }
        if let Some(rest) = call.strip_prefix("openat(") {
            let path = rest.split('"').nth(1).unwrap_or("");
            c.opens_all += 1;
            if path.starts_with(home) && !call.contains("= -1") {
                c.opens_home += 1;
                *c.paths
                    .entry(path.trim_start_matches(home).to_string())
                    .or_default() += 1;
            }
        } else if let Some(rest) = call.strip_prefix("read(") {
            let fd_path = rest
                .split_once('<')
                .and_then(|(_, r)| r.split_once('>'))
                .map(|(p, _)| p)
                .unwrap_or("");
            if fd_path.starts_with(home) {
                c.reads_home += 1;
                c.bytes_home += call
                    .rsplit("= ")
                    .next()
                    .and_then(|n| n.trim().parse::<u64>().ok())
                    .unwrap_or(0);
            }
        }
    }
    c
}

fn epoch() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

fn main() {
    let dir = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    let app: PathBuf = dir.join("ssotray-app");
    let minutes: u64 = std::env::args()
        .nth(1)
        .and_then(|m| m.parse().ok())
        .unwrap_or(2);
    let desktop = Desktop::start();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let sim = rt
        .block_on(ssotray_sim::start(ssotray_sim::SimConfig {
            auto_approve: true,
            org: ssotray_sim::Org::generated(1000),
            rate_limit: 0.0,
            ..Default::default()
        }))
        .unwrap();
    let home = Home::new(CONFIG);
    let mut env = home.env(&sim.base_url);
    env.extend(desktop.env());
    env.push(("PATH".into(), std::env::var("PATH").unwrap_or_default()));
    ssotray_tests::log_in_and_keep_the_accounts(&dir.join("ssotray"), &env);

    let log = home.path().join("strace.log");
    let mut child = std::process::Command::new("strace")
        .args(["-f", "-ttt", "-y", "-qq", "-e", "trace=openat,read", "-o"])
        .arg(&log)
        .arg(&app)
        .env_clear()
        .envs(env.iter().cloned())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("strace (apt install strace)");
    // Settle: start-up reads everything once, and the first minute turn has passed.
    std::thread::sleep(Duration::from_secs(75));
    let home_prefix = home.path().display().to_string();
    let from = epoch();
    std::thread::sleep(Duration::from_secs(60 * minutes));
    let to = epoch();
    let idle = count(&log, from, to, &home_prefix);

    // Another tool rewrites the settings file: the app must read it again (the count can move).
    let settings = home.path().join(".config/ssotray/settings.toml");
    std::fs::create_dir_all(settings.parent().unwrap()).unwrap();
    std::fs::write(&settings, "[keeper]\nlead_times = [1800, 300]\n").unwrap();
    let changed_from = epoch();
    std::thread::sleep(Duration::from_secs(65));
    let changed = count(&log, changed_from, epoch(), &home_prefix);
    let _ = child.kill();
    let _ = child.wait();

    let per_minute = |n: u64| n as f64 / minutes as f64;
    println!(
        "idle tray app, 1 session, 1000 accounts kept, {minutes} idle minute(s) under strace:"
    );
    println!(
        "  per idle minute: {:.1} opens and {:.1} reads ({:.0} bytes) of files in the home; {:.1} opens of any file",
        per_minute(idle.opens_home),
        per_minute(idle.reads_home),
        per_minute(idle.bytes_home),
        per_minute(idle.opens_all)
    );
    println!("  files opened while idle: {:?}", idle.paths);
    println!("  floor: 0 reads when nothing changed");
    println!("  after another tool rewrote settings.toml: {} opens of files in the home within 65 s: {:?}", changed.opens_home, changed.paths);
    drop(sim);
}
