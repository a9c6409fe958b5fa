//! Benchmarks of discovery, console links and `ssotray credentials`, each printed as a ratio to a
//! floor measured or computed in the same run (the machine is shared and noisy; absolute times
//! mean little). Run with `scripts/bench`; figures go to BENCHMARKS.md.

use ssotray_core::ops::access::ConsoleOptions;
use ssotray_core::ops::discovery::DiscoveryOptions;
use ssotray_core::platform::os::Env;
use ssotray_core::{Context, Engine, LoginOptions, Selector, SsoTarget};
use ssotray_sim::{Org, SimConfig};
use ssotray_tests::{count, stats, Home, CONFIG};
use std::time::{Duration, Instant};

struct Bench {
    home: Home,
    sim: ssotray_sim::RunningSim,
    engine: Engine,
    target: SsoTarget,
}

async fn setup(sim: SimConfig) -> Bench {
    let sim = ssotray_sim::start(SimConfig {
        auto_approve: true,
        ..sim
    })
    .await
    .expect("simulator");
    let home = Home::new(CONFIG);
    let env = home.env(&sim.base_url);
    let refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let engine = Engine::new(Context {
        env: Env::from_slice(&refs),
        ..Context::real()
    });
    let config = engine.load_config().expect("config");
    let target = engine
        .resolve(&config, &Selector::Session("my-sso".into()))
        .expect("session");
    let options = LoginOptions {
        flow: Some(ssotray_core::Flow::DeviceCode),
        open_browser: false,
        ..LoginOptions::default()
    };
    engine
        .login(&target, &options, &|_| {})
        .await
        .expect("login");
    Bench {
        home,
        sim,
        engine,
        target,
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn verdict(ratio: f64, budget: f64) -> &'static str {
    if ratio <= budget {
        "within budget"
    } else {
        "OVER BUDGET"
    }
}

async fn discovery(accounts: usize, rate: f64, latency_ms: u64, concurrency: usize) {
    let b = setup(SimConfig {
        org: Org::generated(accounts),
        rate_limit: rate,
        latency_ms,
        ..SimConfig::default()
    })
    .await;
    let options = DiscoveryOptions {
        rate_limit: rate,
        concurrency,
        ..DiscoveryOptions::default()
    };
    let started = Instant::now();
    let (inventory, run) = b
        .engine
        .discover(&b.target, Some(options), &|_| {})
        .await
        .expect("discovery");
    let took = started.elapsed().as_secs_f64();
    let roles: usize = inventory.accounts.iter().map(|a| a.roles.len()).sum();
    let s = stats(&b.sim.base_url).await;
    let pages = accounts.div_ceil(100);
    let requests = (pages + accounts) as f64;
    let rate_floor = requests / rate;
    let latency = latency_ms as f64 / 1000.0;
    // Pages come one after another; roles go `concurrency` at a time, pipelined behind them.
    let latency_floor =
        (pages as f64 * latency).max((accounts.div_ceil(concurrency) as f64 + 1.0) * latency);
    let floor = rate_floor.max(latency_floor);
    let ratio = took / floor;
    let budget = if latency_ms == 0 { 1.10 } else { 1.15 };
    println!(
        "discovery {accounts} accounts x 2 roles, portal {rate}/s, latency {latency_ms} ms, concurrency {concurrency}: \
         {took:.2} s; floor {floor:.2} s (rate {rate_floor:.2} s, latency {latency_floor:.2} s); ratio {ratio:.3} (budget {budget}) {}; \
         {} accounts, {roles} roles, {} requests, {} throttled, {} failed calls",
        verdict(ratio, budget),
        inventory.accounts.len(),
        run.requests,
        count(&s, "Throttled"),
        run.failed,
    );
    assert_eq!(inventory.accounts.len(), accounts);
    assert_eq!(roles, 2 * accounts);
}

async fn console() {
    let b = setup(SimConfig {
        latency_ms: 100,
        ..SimConfig::default()
    })
    .await;
    // One round trip, measured: a portal call with the same latency over the same kind of connection.
    let http = reqwest::Client::new();
    let token = b.home.token_json("my-sso")["accessToken"]
        .as_str()
        .unwrap()
        .to_string();
    let mut trips = Vec::new();
    for _ in 0..7 {
        let t = Instant::now();
        let r = http
            .get(format!("{}/assignment/accounts", b.sim.base_url))
            .header("x-amz-sso_bearer_token", &token)
            .send()
            .await
            .unwrap();
        r.bytes().await.unwrap();
        trips.push(t.elapsed());
    }
    let trip = median(trips);
    let cli_cache = b.home.aws().join("cli/cache");
    let options = ConsoleOptions::default();
    let mut cold = Vec::new();
    let mut warm = Vec::new();
    for _ in 0..7 {
        let _ = std::fs::remove_dir_all(&cli_cache);
        let t = Instant::now();
        b.engine
            .console_url(&b.target, "111111111111", "AdministratorAccess", &options)
            .await
            .expect("cold console URL");
        cold.push(t.elapsed());
        let t = Instant::now();
        b.engine
            .console_url(&b.target, "111111111111", "AdministratorAccess", &options)
            .await
            .expect("warm console URL");
        warm.push(t.elapsed());
    }
    let (cold, warm) = (median(cold), median(warm));
    let cold_ratio = cold.as_secs_f64() / (2.0 * trip.as_secs_f64());
    let warm_ratio = warm.as_secs_f64() / trip.as_secs_f64();
    println!(
        "console URL at 100 ms latency: one round trip {:.1} ms; cold role credentials {:.1} ms = {cold_ratio:.3} x 2 round trips (budget 1.2) {}; \
         warm {:.1} ms = {warm_ratio:.3} x 1 round trip (budget 1.2) {}",
        trip.as_secs_f64() * 1e3,
        cold.as_secs_f64() * 1e3,
        verdict(cold_ratio, 1.2),
        warm.as_secs_f64() * 1e3,
        verdict(warm_ratio, 1.2),
    );
}

fn credentials_process(rt: &tokio::runtime::Runtime, ssotray: &std::path::Path) {
    // The simulator keeps serving on the runtime's worker threads while this thread times processes.
    let b = rt.block_on(setup(SimConfig::default()));
    // A chained profile on top of dev (STS at the simulator), for the line after the first.
    let config_path = b.home.aws().join("config");
    let mut config = std::fs::read_to_string(&config_path).unwrap();
    config.push_str("\n[profile deploy]\nrole_arn = arn:aws:iam::333333333333:role/Deployer\nsource_profile = dev\n");
    std::fs::write(&config_path, config).unwrap();
    let mut env = b.home.env(&b.sim.base_url);
    env.push(("AWS_ENDPOINT_URL_STS".into(), b.sim.base_url.clone()));
    let run = |program: &std::path::Path, args: &[&str]| time_process(program, args, &env);
    let args = ["credentials", "--profile", "dev"];
    run(ssotray, &args); // fills the cache: the runs below are warm
    let runs = 51;
    let warm = median((0..runs).map(|_| run(ssotray, &args)).collect());
    let floor = median(
        (0..runs)
            .map(|_| run(std::path::Path::new("/bin/true"), &[]))
            .collect(),
    );
    println!(
        "ssotray credentials, warm cache, whole process: median {:.2} ms over {runs} runs (budget under 10 ms) {}; \
         process-spawn floor (/bin/true) {:.2} ms, ratio {:.1}",
        warm.as_secs_f64() * 1e3,
        if warm < Duration::from_millis(10) { "within budget" } else { "OVER BUDGET" },
        floor.as_secs_f64() * 1e3,
        warm.as_secs_f64() / floor.as_secs_f64(),
    );
    let chained_args = ["credentials", "--profile", "deploy"];
    run(ssotray, &chained_args); // assumes the role once: the runs below are warm
    let chained = median((0..runs).map(|_| run(ssotray, &chained_args)).collect());
    let ratio = chained.as_secs_f64() / warm.as_secs_f64();
    println!(
        "ssotray credentials of a chained profile (role_arn on top of dev), warm assume-role cache: median {:.2} ms, \
         {ratio:.2} × the SSO profile's (budget 1.5) {}; AssumeRole calls {}",
        chained.as_secs_f64() * 1e3,
        verdict(ratio, 1.5),
        count(&rt.block_on(stats(&b.sim.base_url)), "AssumeRole"),
    );
}

/// The test config with generated profiles after it, `profiles` in all.
fn config_of_size(profiles: usize) -> String {
    let base = CONFIG.matches("[profile ").count() + CONFIG.matches("[default]").count();
    format!(
        "{CONFIG}{}",
        ssotray_tests::generated_profiles(profiles.saturating_sub(base))
    )
}

/// How long `program` with `args` takes as a whole process with (only) `env`; it must succeed.
fn time_process(program: &std::path::Path, args: &[&str], env: &[(String, String)]) -> Duration {
    let t = Instant::now();
    let out = std::process::Command::new(program)
        .args(args)
        .env_clear()
        .envs(env.iter().cloned())
        .output()
        .unwrap();
    let took = t.elapsed();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    took
}

/// #32: the commands that read the config, each timed as a whole process with the test config
/// (4 profiles) and with 7 002 and 20 000 profiles, in one run; botocore (the AWS CLI's library)
/// resolving the same profile's credentials beside them, for scale.
fn config_sizes(rt: &tokio::runtime::Runtime, ssotray: &std::path::Path) {
    let b = rt.block_on(setup(SimConfig::default()));
    let config_path = b.home.aws().join("config");
    let env = b.home.env(&b.sim.base_url);
    let run = |program: &std::path::Path, args: &[&str]| time_process(program, args, &env);
    let python = ssotray_tests::python();
    let botocore = "import botocore.session\nbotocore.session.Session(profile='dev').get_credentials().get_frozen_credentials()";
    let commands: [(&str, Vec<&str>); 5] = [
        (
            "credentials --profile dev (warm)",
            vec!["credentials", "--profile", "dev"],
        ),
        ("status", vec!["status"]),
        (
            "exec --profile dev -- true",
            vec!["exec", "--profile", "dev", "--", "/bin/true"],
        ),
        (
            "console --portal-link --print",
            vec!["console", "--profile", "dev", "--portal-link", "--print"],
        ),
        (
            "profiles generate --dry-run",
            vec![
                "profiles",
                "generate",
                "--sso-session",
                "my-sso",
                "--dry-run",
            ],
        ),
    ];
    let sizes = [4usize, 7_002, 20_000];
    let runs = 21;
    // Each size's config in turn, every command timed against it; the runs warm every cache first.
    let mut figures: Vec<Vec<Duration>> = Vec::new();
    let mut scale: Vec<Duration> = Vec::new();
    for &size in &sizes {
        let text = config_of_size(size);
        std::fs::write(&config_path, &text).unwrap();
        let mut row = Vec::new();
        for (_, args) in &commands {
            run(ssotray, args);
            row.push(median((0..runs).map(|_| run(ssotray, args)).collect()));
        }
        figures.push(row);
        run(&python, &["-c", botocore]);
        scale.push(median(
            (0..7).map(|_| run(&python, &["-c", botocore])).collect(),
        ));
        println!("config of {size} profiles: {} bytes", text.len());
    }
    std::fs::write(&config_path, CONFIG).unwrap();
    for (c, (name, _)) in commands.iter().enumerate() {
        let small = figures[0][c].as_secs_f64();
        let at = |i: usize| figures[i][c].as_secs_f64();
        println!(
            "{name}: {:.2} ms with {} profiles; {:.2} ms with {} = {:.2}× (budget 1.5) {}; {:.2} ms with {} = {:.2}× (budget 3) {}",
            small * 1e3,
            sizes[0],
            at(1) * 1e3,
            sizes[1],
            at(1) / small,
            verdict(at(1) / small, 1.5),
            at(2) * 1e3,
            sizes[2],
            at(2) / small,
            verdict(at(2) / small, 3.0),
        );
    }
    println!(
        "for scale, botocore resolving the profile's credentials (a Python process): {:.0} ms, {:.0} ms, {:.0} ms ({:.2}×, {:.2}×)",
        scale[0].as_secs_f64() * 1e3,
        scale[1].as_secs_f64() * 1e3,
        scale[2].as_secs_f64() * 1e3,
        scale[1].as_secs_f64() / scale[0].as_secs_f64(),
        scale[2].as_secs_f64() / scale[0].as_secs_f64(),
    );
}

/// A loopback HTTP server that does nothing but answer every request on a connection with the
/// same bytes (the floor of any HTTP endpoint on this machine): reads up to the end of the request
/// head, writes the answer, keeps the connection.
async fn floor_server(answer: Vec<u8>) -> std::net::SocketAddr {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let answer = std::sync::Arc::new(answer);
    tokio::spawn(async move {
        loop {
            let (mut stream, _) = listener.accept().await.unwrap();
            let answer = answer.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let Ok(n) = stream.read(&mut chunk).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        buf.drain(..end + 4);
                        if stream.write_all(&answer).await.is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    address
}

/// One GET with the token, its answer read whole; it must be 200.
async fn get_ok(http: &reqwest::Client, url: &str, token: &str) {
    let r = http
        .get(url)
        .header("Authorization", token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.bytes().await.unwrap();
}

/// The container-credentials endpoint (warm: credentials held) against the floor of a loopback
/// HTTP round trip: one request at a time (latency), and 8 connections at once (throughput);
/// then `ssotray credentials`, a whole process, against the same floor.
async fn served(ssotray: &std::path::Path) {
    use ssotray_core::serve::credserver::{bind_loopback, CredServer, Protocol, Scope};
    let b = setup(SimConfig::default()).await;
    let listener = bind_loopback("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let address = listener.local_addr().unwrap();
    let server = std::sync::Arc::new(CredServer::new(
        b.engine.clone(),
        Protocol::Container,
        Scope::One("dev".into()),
        address,
        ssotray_core::serve::served::ServerToken::from_text(&"5a".repeat(32)).unwrap(),
        std::sync::Arc::new(|_| {}),
    ));
    let token = server.token().expose().to_string();
    let url = server.profile_url("dev");
    tokio::spawn(server.clone().serve(listener));
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let first = http
        .get(&url)
        .header("Authorization", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 200);
    let body = first.bytes().await.unwrap();
    // The floor answers with a body as long as the server's.
    let mut answer = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    answer.extend_from_slice(&body);
    let floor_url = format!("http://{}/profile/dev", floor_server(answer).await);

    let one = |url: String| {
        let (http, token) = (http.clone(), token.clone());
        async move {
            let t = Instant::now();
            get_ok(&http, &url, &token).await;
            t.elapsed()
        }
    };
    let n = 2001;
    let mut served_times = Vec::new();
    let mut floor_times = Vec::new();
    for _ in 0..n {
        served_times.push(one(url.clone()).await);
        floor_times.push(one(floor_url.clone()).await);
    }
    let (served_one, floor_one) = (median(served_times), median(floor_times));
    // 8 connections, each sending 2000 requests one after the other: answers per second.
    let rate = |url: String| {
        let (http, token) = (http.clone(), token.clone());
        async move {
            let per_connection = 2000;
            let t = Instant::now();
            let workers: Vec<_> = (0..8)
                .map(|_| {
                    let (http, token, url) = (http.clone(), token.clone(), url.clone());
                    tokio::spawn(async move {
                        for _ in 0..per_connection {
                            get_ok(&http, &url, &token).await;
                        }
                    })
                })
                .collect();
            for w in workers {
                w.await.unwrap();
            }
            (8 * per_connection) as f64 / t.elapsed().as_secs_f64()
        }
    };
    let floor_rate = rate(floor_url.clone()).await;
    let served_rate = rate(url.clone()).await;
    let floor_rate_again = rate(floor_url).await;
    let floor_rate = floor_rate.max(floor_rate_again);
    println!(
        "container endpoint, warm, one request at a time: median {:.3} ms over {n}; loopback HTTP round trip (floor) {:.3} ms, ratio {:.2}",
        served_one.as_secs_f64() * 1e3,
        floor_one.as_secs_f64() * 1e3,
        served_one.as_secs_f64() / floor_one.as_secs_f64()
    );
    println!(
        "container endpoint, warm, 8 connections: {:.0} credentials/s; floor {:.0} answers/s, ratio {:.2} (budget >= 0.5) {}",
        served_rate,
        floor_rate,
        served_rate / floor_rate,
        if served_rate / floor_rate >= 0.5 { "within budget" } else { "OVER BUDGET" }
    );
    assert_eq!(
        count(&stats(&b.sim.base_url).await, "GetRoleCredentials"),
        1,
        "every answer was warm"
    );
    // `ssotray credentials` for the same role, warm: a process per request.
    let env = b.home.env(&b.sim.base_url);
    let ssotray = ssotray.to_path_buf();
    let process = tokio::task::spawn_blocking(move || {
        let times: Vec<Duration> = (0..51)
            .map(|_| {
                let t = Instant::now();
                let out = std::process::Command::new(&ssotray)
                    .args(["credentials", "--profile", "dev"])
                    .env_clear()
                    .envs(env.iter().cloned())
                    .output()
                    .unwrap();
                assert!(out.status.success());
                t.elapsed()
            })
            .collect();
        median(times)
    })
    .await
    .unwrap();
    println!(
        "ssotray credentials (process start), warm: median {:.2} ms; {:.1} x the floor round trip, {:.1} x one request to the container endpoint",
        process.as_secs_f64() * 1e3,
        process.as_secs_f64() / floor_one.as_secs_f64(),
        process.as_secs_f64() / served_one.as_secs_f64()
    );
}

/// The IMDS same-user check (`peer::tcp_owner`, one sock_diag look-up of the exact socket) with
/// a few sockets on the machine, then with 100 000 more (TIME_WAIT, as another user can make
/// them): the ratio of the two, and what reading `/proc/net/tcp` (the old check) costs then.
fn peer_lookup() {
    use ssotray_core::platform::peer::tcp_owner;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let server = listener.local_addr().unwrap();
    let client = std::net::TcpStream::connect(server).unwrap();
    let (_accepted, peer) = listener.accept().unwrap();
    let me = ssotray_core::platform::user::me();
    let per_lookup = || {
        let n = 2000;
        let runs: Vec<Duration> = (0..7)
            .map(|_| {
                let start = Instant::now();
                for _ in 0..n {
                    assert_eq!(tcp_owner(peer, server), Some(me.clone()));
                }
                start.elapsed() / n
            })
            .collect();
        median(runs)
    };
    let proc_read = || {
        let start = Instant::now();
        let bytes = std::fs::read("/proc/net/tcp").unwrap().len()
            + std::fs::read("/proc/net/tcp6")
                .map(|b| b.len())
                .unwrap_or(0);
        (start.elapsed(), bytes)
    };
    let few = per_lookup();
    let (proc_few, _) = proc_read();
    // 100 000 other sockets: connections to four listeners, each closed by its client first, so
    // each stays in TIME_WAIT for a minute (as another user's would).
    let listeners: Vec<std::net::TcpListener> = (0..4)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    let start = Instant::now();
    let mut made = 0;
    'all: for l in &listeners {
        let addr = l.local_addr().unwrap();
        for _ in 0..25_000 {
            let Ok(c) = std::net::TcpStream::connect(addr) else {
                break 'all;
            };
            let (a, _) = l.accept().unwrap();
            drop(c);
            drop(a);
            made += 1;
        }
    }
    let made_in = start.elapsed();
    let many = per_lookup();
    let (proc_many, bytes) = proc_read();
    let ratio = many.as_secs_f64() / few.as_secs_f64();
    println!(
        "peer check (sock_diag, exact socket): {:.1} µs with few sockets, {:.1} µs with {made} more in TIME_WAIT (made in {:.1} s); ratio {ratio:.2} (budget 1.5) {}; \
         reading /proc/net/tcp{{,6}} instead (the old check): {:.2} ms with few sockets, {:.1} ms with them ({} KiB), {:.0} × the look-up",
        few.as_secs_f64() * 1e6,
        many.as_secs_f64() * 1e6,
        made_in.as_secs_f64(),
        verdict(ratio, 1.5),
        proc_few.as_secs_f64() * 1e3,
        proc_many.as_secs_f64() * 1e3,
        bytes / 1024,
        proc_many.as_secs_f64() / many.as_secs_f64(),
    );
    drop(client);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let which = args.first().map(String::as_str).unwrap_or("all");
    let ssotray = std::env::current_exe().unwrap().with_file_name("ssotray");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    if matches!(which, "all" | "credentials") {
        credentials_process(&rt, &ssotray);
    }
    if matches!(which, "all" | "config") {
        config_sizes(&rt, &ssotray);
    }
    if matches!(which, "all" | "peer") {
        peer_lookup();
    }
    if matches!(which, "all" | "served") {
        rt.block_on(served(&ssotray));
    }
    if matches!(which, "all" | "console") {
        rt.block_on(console());
    }
    if matches!(which, "all" | "discovery-latency") {
        rt.block_on(discovery(1000, 200.0, 50, 16));
    }
    if matches!(which, "all" | "discovery") {
        rt.block_on(discovery(1000, 20.0, 0, 16));
    }
}
