//! Credentials served to programs that cannot read SSO: `ssotray exec` with its private
//! container-credentials server or IMDSv2 endpoint, and the long-running server of
//! `ssotray keep`, read by botocore, aws-config (AWS SDK for Rust) and the AWS SDK for
//! JavaScript v3. The SDKs call the simulator's STS (GetCallerIdentity) with what they got, so the
//! simulator says whose credentials each call carried and whether they were still valid.
//!
//! Also: `--export-as` read by the same clients, refusals, signals, and the long-running server at
//! real proportions on the simulator's clock.

use crate::cli::{auto, World};
use ssotray_tests::{
    assert_fails_with, assert_ok, bin, count, python, run, stderr, stdout, SimConfig, CONFIG,
};
use std::process::{Output, Stdio};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};

/// Role credentials this short live several lifetimes within a test (botocore and the JS SDK
/// fetch anew on every call inside their 15- and 5-minute windows, aws-config 5–10 s before expiry).
const SHORT_TTL: u64 = 15;
/// How long each SDK works: more than three lifetimes.
const RUN_SECS: u64 = 50;

async fn logged_in(role_credentials_ttl: Duration) -> World {
    let w = World::new(
        CONFIG,
        SimConfig {
            role_credentials_ttl,
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

/// The world's environment with STS at the simulator, as a program's would be.
pub(crate) fn sdk_env(w: &World) -> Vec<(String, String)> {
    let mut env = w.env();
    env.push(("AWS_ENDPOINT_URL_STS".into(), w.sim.base_url.clone()));
    env
}

/// botocore: one STS client (its own refreshing credentials) calling GetCallerIdentity every
/// second for `argv[1]` seconds, a JSON line per call.
const BOTOCORE_LOOP: &str = r#"
import boto3, json, sys, time
sts = boto3.session.Session().client("sts")
end = time.time() + float(sys.argv[1])
while time.time() < end:
    try:
        out = {"ok": True, "arn": sts.get_caller_identity()["Arn"]}
    except Exception as e:
        out = {"ok": False, "error": str(e)}
    print(json.dumps(out), flush=True)
    time.sleep(1)
"#;

/// The same with the AWS SDK for JavaScript v3 (`@aws-sdk/client-sts`, default provider chain).
const JS_LOOP: &str = r#"
const { STSClient, GetCallerIdentityCommand } = require("@aws-sdk/client-sts");
const sts = new STSClient({});
const end = Date.now() + Number(process.argv[1]) * 1000;
(async () => {
  while (Date.now() < end) {
    let out;
    try {
      const r = await sts.send(new GetCallerIdentityCommand({}));
      out = { ok: true, arn: r.Arn };
    } catch (e) {
      out = { ok: false, error: String((e && e.message) || e) };
    }
    console.log(JSON.stringify(out));
    await new Promise((r) => setTimeout(r, 1000));
  }
})();
"#;

/// `ssotray keep --no-notify` with a runtime directory of the world's, once it listens on its
/// socket; returns it with the environment programs need to reach it.
async fn keeper(w: &World, stderr: Stdio) -> (tokio::process::Child, Vec<(String, String)>) {
    let runtime = w.home.path().join("run");
    std::fs::create_dir_all(&runtime).unwrap();
    let mut env = sdk_env(w);
    env.push(("XDG_RUNTIME_DIR".into(), runtime.display().to_string()));
    env.push(("PATH".into(), std::env::var("PATH").unwrap_or_default()));
    let keeper = tokio::process::Command::new(bin("ssotray"))
        .args(["keep", "--no-notify"])
        .env_clear()
        .envs(env.iter().cloned())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let socket = runtime.join("ssotray/keeper.sock");
    for _ in 0..200 {
        if socket.exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(socket.exists(), "the keeper listens");
    (keeper, env)
}

/// `ssotray exec ARGS… -- python -c SCRIPT` (botocore's Python) with `env`.
pub(crate) async fn exec_python(env: &[(String, String)], args: &[&str], script: &str) -> Output {
    let python = python();
    let mut argv = vec!["exec"];
    argv.extend_from_slice(args);
    argv.extend(["--", python.to_str().unwrap(), "-c", script]);
    run(&bin("ssotray"), &argv, env).await
}

fn lines(o: &Output) -> Vec<serde_json::Value> {
    stdout(o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// The access keys that called the simulator's STS, in order of first use.
async fn caller_keys(w: &World) -> Vec<String> {
    let seen: serde_json::Value = reqwest::get(format!("{}/_sim/seen", w.sim.base_url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    seen["callerKeys"]
        .as_str()
        .unwrap_or_default()
        .split(' ')
        .filter(|k| !k.is_empty())
        .map(str::to_string)
        .collect()
}

/// Runs an SDK loop through `ssotray exec --profile dev` (the container server) and checks
/// that every call of the run was signed with valid credentials of dev's role, across more than
/// three role-credential lifetimes, without a login.
async fn an_sdk_keeps_working_through_exec(program: &str, args: &[&str], extra: &[(&str, &str)]) {
    let w = logged_in(Duration::from_secs(SHORT_TTL)).await;
    let mut env = sdk_env(&w);
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let mut argv = vec!["exec", "--profile", "dev", "--", program];
    argv.extend_from_slice(args);
    let o = run(&bin("ssotray"), &argv, &env).await;
    assert_ok(&o);
    let calls = lines(&o);
    assert!(
        calls.len() as u64 >= RUN_SECS - 10,
        "{} calls in {RUN_SECS} s: {}",
        calls.len(),
        stderr(&o)
    );
    for c in &calls {
        assert_eq!(c["ok"], true, "every call succeeded: {c}\n{}", stderr(&o));
        let arn = c["arn"].as_str().unwrap();
        assert!(
            arn.starts_with(
                "arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_AdministratorAccess_"
            ),
            "dev's account and role: {arn}"
        );
    }
    let keys = caller_keys(&w).await;
    assert!(
        keys.len() as u64 > RUN_SECS / SHORT_TTL,
        "the SDK went through more than {} lifetimes of {SHORT_TTL} s, refreshing by itself: {} credentials used",
        RUN_SECS / SHORT_TTL,
        keys.len()
    );
    let stats = w.stats().await;
    assert_eq!(
        count(&stats, "StartDeviceAuthorization"),
        1,
        "no login but the first"
    );
    assert!(count(&stats, "GetRoleCredentials") >= keys.len() as u64);
}

#[tokio::test]
async fn botocore_through_exec_keeps_fresh_credentials_for_several_lifetimes() {
    let secs = RUN_SECS.to_string();
    an_sdk_keeps_working_through_exec(
        python().to_str().unwrap(),
        &["-c", BOTOCORE_LOOP, &secs],
        &[],
    )
    .await;
}

#[tokio::test]
async fn aws_config_through_exec_keeps_fresh_credentials_for_several_lifetimes() {
    let secs = RUN_SECS.to_string();
    an_sdk_keeps_working_through_exec(
        bin("aws-config-probe").to_str().unwrap(),
        &[],
        &[("PROBE_CALLER_IDENTITY_SECONDS", &secs)],
    )
    .await;
}

/// The JavaScript SDK's packages (scripts/test installs them with npm).
pub(crate) fn node_modules() -> String {
    let dir = std::env::var("SSOTRAY_TEST_NODE_MODULES").unwrap_or_default();
    assert!(
        std::path::Path::new(&dir).join("@aws-sdk/client-sts").exists(),
        "SSOTRAY_TEST_NODE_MODULES must point at node_modules with @aws-sdk/client-sts; run the tests through scripts/test, which installs it"
    );
    dir
}

#[tokio::test]
async fn the_javascript_sdk_through_exec_keeps_fresh_credentials_for_several_lifetimes() {
    let secs = RUN_SECS.to_string();
    let modules = node_modules();
    an_sdk_keeps_working_through_exec("node", &["-e", JS_LOOP, &secs], &[("NODE_PATH", &modules)])
        .await;
}

/// botocore through `--server imds`: a GET without the IMDSv2 token is refused, then the default
/// chain finds the instance role (prod-ro's) and GetCallerIdentity answers as it.
pub(crate) const BOTOCORE_IMDS: &str = r#"
import boto3, json, os, urllib.request, urllib.error
base = os.environ["AWS_EC2_METADATA_SERVICE_ENDPOINT"].rstrip("/")
def status(request):
    try:
        return urllib.request.urlopen(request, timeout=5).status
    except urllib.error.HTTPError as e:
        return e.code
without = status(base + "/latest/meta-data/iam/security-credentials/")
put = urllib.request.Request(base + "/latest/api/token", method="PUT")
no_ttl = status(put)
session = boto3.session.Session()
creds = session.get_credentials()
print(json.dumps({
    "without_token": without,
    "put_without_ttl": no_ttl,
    "method": creds.method,
    "arn": session.client("sts").get_caller_identity()["Arn"],
    "region": session.region_name,
}))
"#;

#[tokio::test]
async fn botocore_and_aws_config_get_credentials_over_imdsv2() {
    let w = logged_in(Duration::from_secs(3600)).await;
    let env = sdk_env(&w);
    let o = exec_python(
        &env,
        &["--server", "imds", "--profile", "prod-ro"],
        BOTOCORE_IMDS,
    )
    .await;
    assert_ok(&o);
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(v["without_token"], 401, "a GET without the token: {v}");
    assert_eq!(v["put_without_ttl"], 400, "a PUT without a TTL: {v}");
    assert_eq!(
        v["method"], "iam-role",
        "botocore's instance-metadata provider"
    );
    assert!(
        v["arn"]
            .as_str()
            .unwrap()
            .starts_with("arn:aws:sts::333333333333:assumed-role/AWSReservedSSO_ReadOnlyAccess_"),
        "{v}"
    );

    let mut env = env;
    env.push(("PROBE_CALLER_IDENTITY_SECONDS".into(), "1".into()));
    let o = run(
        &bin("ssotray"),
        &[
            "exec",
            "--server",
            "imds",
            "--profile",
            "dev",
            "--",
            bin("aws-config-probe").to_str().unwrap(),
        ],
        &env,
    )
    .await;
    assert_ok(&o);
    let calls = lines(&o);
    assert!(!calls.is_empty());
    for c in &calls {
        assert!(
            c["arn"].as_str().is_some_and(|a| a.starts_with(
                "arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_AdministratorAccess_"
            )),
            "aws-config over IMDSv2 (it never falls back to IMDSv1): {c}"
        );
    }
}

/// Requests a client could make to the container server beside the SDK's, and their statuses.
const PROBES: &str = r#"
import json, os, urllib.request, urllib.error
uri = os.environ["AWS_CONTAINER_CREDENTIALS_FULL_URI"]
token = os.environ["AWS_CONTAINER_AUTHORIZATION_TOKEN"]
base = uri.split("/profile/")[0]
wrong = token[:-1] + ("0" if token[-1] != "0" else "1")
def ask(url, headers, method="GET"):
    request = urllib.request.Request(url, headers=headers, method=method)
    try:
        r = urllib.request.urlopen(request, timeout=5)
        return [r.status, r.read().decode()]
    except urllib.error.HTTPError as e:
        return [e.code, e.read().decode()]
host = base.split("//")[1]
print(json.dumps({
    "right": ask(uri, {"Authorization": token}),
    "wrong": ask(uri, {"Authorization": wrong}),
    "bearer": ask(uri, {"Authorization": "Bearer " + token}),
    "missing": ask(uri, {}),
    "other_profile": ask(base + "/profile/prod-ro", {"Authorization": token}),
    "other_path": ask(base + "/latest/meta-data/iam/security-credentials/", {"Authorization": token}),
    "post": ask(uri, {"Authorization": token}, "POST"),
    "rebound_host": ask(uri, {"Authorization": token, "Host": "attacker.example:" + host.split(":")[1]}),
    "uri_host": host,
}))
"#;

#[tokio::test]
async fn the_container_server_answers_its_token_on_its_route_only() {
    let w = logged_in(Duration::from_secs(3600)).await;
    let o = exec_python(&w.env(), &["--profile", "dev"], PROBES).await;
    assert_ok(&o);
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert!(
        v["uri_host"].as_str().unwrap().starts_with("127.0.0.1:"),
        "loopback: {v}"
    );
    assert_eq!(v["right"][0], 200, "{v}");
    let body: serde_json::Value = serde_json::from_str(v["right"][1].as_str().unwrap()).unwrap();
    assert!(body["AccessKeyId"].as_str().unwrap().starts_with("ASIA"));
    assert!(body["Expiration"].as_str().unwrap().ends_with('Z'));
    assert_eq!(body["AccountId"], "111111111111");
    for refused in [
        "wrong",
        "bearer",
        "missing",
        "other_profile",
        "other_path",
        "post",
        "rebound_host",
    ] {
        assert_eq!(v[refused][0], 403, "{refused}: {v}");
        let text = v[refused][1].as_str().unwrap();
        assert!(
            !text.contains("AccessKeyId") && !text.contains("ASIA"),
            "{refused}: nothing of value in {text}"
        );
    }

    // The long-running server will not listen beyond loopback.
    let o = w
        .ssotray(&["keep", "--no-notify", "--container-server", "0.0.0.0:0"])
        .await;
    assert_fails_with(&o, "loopback address only");
}

/// Asks the IMDS endpoint for a token, then the role list, as the user `uid`, with the
/// system's Python (the test venv may not be readable by others): prints the two statuses.
const IMDS_AS: &str = r#"
import os, sys, urllib.request, urllib.error
base = os.environ["AWS_EC2_METADATA_SERVICE_ENDPOINT"].rstrip("/")
def status(request):
    try:
        return str(urllib.request.urlopen(request, timeout=5).status)
    except urllib.error.HTTPError as e:
        return str(e.code)
    except Exception:
        return "closed"
put = urllib.request.Request(base + "/latest/api/token", method="PUT",
                             headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"})
print(os.getuid(), status(put))
"#;

#[tokio::test]
async fn the_imds_endpoint_answers_this_user_only() {
    let w = logged_in(Duration::from_secs(3600)).await;
    let me = ssotray_core::platform::user::me().uid();
    // Another user on the same machine: needs root to become one (CI runs as root).
    let become_other = if me == 0 { "" } else { "sudo -n " };
    let script = format!(
        "/usr/bin/python3 -c '{IMDS_AS}'; {become_other}setpriv --reuid=65534 --regid=65534 --clear-groups /usr/bin/python3 -c '{IMDS_AS}'"
    );
    let o = run(
        &bin("ssotray"),
        &[
            "exec",
            "--server",
            "imds",
            "--profile",
            "dev",
            "--",
            "sh",
            "-c",
            &script,
        ],
        &w.env(),
    )
    .await;
    assert_ok(&o);
    let out = stdout(&o);
    let rows: Vec<&str> = out.lines().collect();
    assert_eq!(
        rows,
        vec![format!("{me} 200"), "65534 closed".to_string()],
        "another user's connection is closed as it is accepted, unanswered: {}",
        stderr(&o)
    );
}

#[tokio::test]
async fn exec_passes_on_the_exit_status_nests_and_gives_the_child_no_cache_path_or_refresh_token() {
    let w = logged_in(Duration::from_secs(3600)).await;
    let env = sdk_env(&w);
    let o = run(
        &bin("ssotray"),
        &["exec", "--profile", "dev", "--", "sh", "-c", "exit 7"],
        &env,
    )
    .await;
    assert_eq!(o.status.code(), Some(7), "{}", stderr(&o));

    // A nested exec for another profile: the inner command is prod-ro, the outer stays dev.
    let who = format!(
        "{} -c 'import boto3; print(boto3.client(\"sts\").get_caller_identity()[\"Account\"])'",
        python().display()
    );
    let script = format!(
        "{who}; {} exec --profile prod-ro -- sh -c \"{}\"; {who}; env",
        bin("ssotray").display(),
        who.replace('"', "\\\"")
    );
    let o = run(
        &bin("ssotray"),
        &["exec", "--profile", "dev", "--", "sh", "-c", &script],
        &env,
    )
    .await;
    assert_ok(&o);
    let out = stdout(&o);
    let rows: Vec<&str> = out.lines().collect();
    assert_eq!(
        rows[..3],
        ["111111111111", "333333333333", "111111111111"],
        "{}",
        stderr(&o)
    );
    // The child's environment: the server, not the token cache or a refresh token.
    let token = w.home.token_json("my-sso");
    let refresh = token["refreshToken"].as_str().unwrap();
    let environment = &rows[3..];
    assert!(environment
        .iter()
        .any(|l| l.starts_with("AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:")));
    assert!(environment.iter().any(|l| l == &"AWS_REGION=us-west-2"));
    for line in environment {
        assert!(!line.contains(refresh), "a refresh token in {line}");
        assert!(!line.contains("sso/cache"), "the token cache in {line}");
        assert!(
            !line.starts_with("AWS_PROFILE=") && !line.starts_with("AWS_ACCESS_KEY_ID="),
            "{line}"
        );
    }

    // `--server env`: today's static variables.
    let o = run(
        &bin("ssotray"),
        &[
            "exec",
            "--server",
            "env",
            "--profile",
            "dev",
            "--",
            "sh",
            "-c",
            "echo $AWS_ACCESS_KEY_ID; echo ${AWS_CONTAINER_CREDENTIALS_FULL_URI:-none}",
        ],
        &env,
    )
    .await;
    assert_ok(&o);
    let out = stdout(&o);
    let rows: Vec<&str> = out.lines().collect();
    assert!(rows[0].starts_with("ASIA") && rows[1] == "none", "{rows:?}");
}

#[tokio::test]
async fn exec_forwards_a_termination_to_the_command_and_exits_as_it_does() {
    let w = logged_in(Duration::from_secs(3600)).await;
    let marker = w.home.path().join("got-term");
    let script = format!(
        "trap 'echo term > {}; exit 42' TERM; echo ready; while :; do sleep 0.1; done",
        marker.display()
    );
    let mut child = w.spawn(
        &["exec", "--profile", "dev", "--", "sh", "-c", &script],
        &[],
    );
    let out = child.stdout.take().unwrap();
    let mut out = BufReader::new(out).lines();
    let ready = tokio::time::timeout(Duration::from_secs(20), out.next_line())
        .await
        .expect("the command started")
        .unwrap();
    assert_eq!(ready.as_deref(), Some("ready"));
    let pid = child.id().unwrap();
    std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("ssotray exits when its command does")
        .unwrap();
    assert_eq!(status.code(), Some(42), "the command's own exit status");
    assert_eq!(std::fs::read_to_string(&marker).unwrap(), "term\n");
}

#[tokio::test]
async fn a_session_that_ends_under_exec_names_ssotray_login_and_notifies_once() {
    let w = logged_in(Duration::from_secs(SHORT_TTL)).await;
    let (mut keeper, env) = keeper(&w, Stdio::piped()).await;

    let mut cmd = tokio::process::Command::new(bin("ssotray"));
    cmd.args(["exec", "--profile", "dev", "--"])
        .arg(python())
        .args(["-c", BOTOCORE_LOOP, "40"])
        .env_clear()
        .envs(env.iter().cloned())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut exec = cmd.spawn().unwrap();
    let mut out = BufReader::new(exec.stdout.take().unwrap()).lines();
    let mut ok = 0;
    let mut error = None;
    while let Ok(Some(line)) = tokio::time::timeout(Duration::from_secs(30), out.next_line())
        .await
        .unwrap()
    {
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        if v["ok"] == true {
            ok += 1;
            if ok == 3 {
                w.sim.end_all_sessions();
            }
        } else {
            error = Some(v["error"].as_str().unwrap().to_string());
            if ok >= 3 {
                break;
            }
        }
    }
    let error = error.expect("a call failed after the session ended");
    assert!(
        error.contains("run `ssotray login my-sso`"),
        "botocore's error names the command: {error}"
    );
    assert_eq!(ok, 3, "calls succeeded until the session ended");
    // A few more failing calls, then the notices are counted.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let _ = exec.kill().await;
    let _ = keeper.kill().await;
    let mut notices = String::new();
    let mut err = keeper.stderr.take().unwrap();
    tokio::io::AsyncReadExt::read_to_string(&mut err, &mut notices)
        .await
        .unwrap();
    let login_notices = notices
        .lines()
        .filter(|l| l.contains("Log in to my-sso") || l.contains("ended"))
        .count();
    assert_eq!(login_notices, 1, "one notice: {notices}");
    assert_eq!(
        count(&w.stats().await, "StartDeviceAuthorization"),
        1,
        "the server started no login"
    );
}

/// `ssotray keep` with its long-running container server, once it announced it.
pub(crate) struct Serving {
    /// The keeper (killed when dropped).
    pub keeper: tokio::process::Child,
    /// The server's address.
    pub address: String,
    /// The grants directory it named.
    pub grants: std::path::PathBuf,
    /// What keep said up to that line, that line included.
    pub said: String,
}

/// Starts `ssotray keep --no-notify ARGS` and waits for it to announce its container server.
pub(crate) async fn keep_serving(env: &[(String, String)], args: &[&str]) -> Serving {
    let mut keeper = tokio::process::Command::new(bin("ssotray"))
        .args(["keep", "--no-notify"])
        .args(args)
        .env_clear()
        .envs(env.iter().cloned())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut err = BufReader::new(keeper.stderr.take().unwrap()).lines();
    let mut said = String::new();
    loop {
        let line = tokio::time::timeout(Duration::from_secs(20), err.next_line())
            .await
            .expect("keep announces its server")
            .unwrap()
            .unwrap_or_else(|| panic!("keep is running: {said}"));
        said.push_str(&line);
        said.push('\n');
        if let Some(rest) = line.strip_prefix("Serving container credentials on http://") {
            let address = rest.split('/').next().unwrap().to_string();
            let grants = line.rsplit("grants in ").next().unwrap().into();
            // Keep draining stderr so the keeper never blocks on it.
            tokio::spawn(async move { while let Ok(Some(_)) = err.next_line().await {} });
            return Serving {
                keeper,
                address,
                grants,
                said,
            };
        }
    }
}

/// botocore in a "container": nothing but the URI and the token file (as `docker run -e … -v …`
/// gives it), then GetCallerIdentity.
const BOTOCORE_ONCE: &str = r#"
import boto3
print(boto3.client("sts", region_name="eu-west-1").get_caller_identity()["Arn"])
"#;

/// `ssotray container grant PROFILE` for `env`: the printed `docker run` line's URI and the
/// grant's directory (what the line mounts at `/run/ssotray`).
pub(crate) async fn grant(
    env: &[(String, String)],
    profile: &str,
    address: &str,
) -> (String, std::path::PathBuf) {
    let o = run(
        &bin("ssotray"),
        &["container", "grant", profile, "--address", address],
        env,
    )
    .await;
    assert_ok(&o);
    let line = stdout(&o);
    let word = |after: &str| {
        let rest = &line[line
            .find(after)
            .unwrap_or_else(|| panic!("{after} in {line}"))
            + after.len()..];
        rest.split(' ')
            .next()
            .unwrap()
            .trim_matches('\'')
            .to_string()
    };
    let uri = word("AWS_CONTAINER_CREDENTIALS_FULL_URI=");
    assert_eq!(
        word("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE="),
        "/run/ssotray/token"
    );
    let mount = word("-v ");
    let dir = mount
        .strip_suffix(":/run/ssotray:ro")
        .unwrap_or_else(|| panic!("a read-only mount: {line}"));
    assert!(
        line.starts_with("docker run --rm --network host "),
        "{line}"
    );
    (uri, dir.into())
}

/// A container's view: the URI of a profile's route and its grant's token file (what the
/// printed `docker run` line gives it); nothing of ~/.aws.
pub(crate) fn container_env(
    w: &World,
    uri: &str,
    token_file: &std::path::Path,
) -> Vec<(String, String)> {
    vec![
        (
            "HOME".into(),
            w.home.path().join("empty").display().to_string(),
        ),
        ("AWS_CONTAINER_CREDENTIALS_FULL_URI".into(), uri.into()),
        (
            "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE".into(),
            token_file.display().to_string(),
        ),
        ("AWS_ENDPOINT_URL_STS".into(), w.sim.base_url.clone()),
        ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
        ("NO_PROXY".into(), "127.0.0.1".into()),
    ]
}

#[tokio::test]
async fn keeps_container_server_serves_each_granted_profile_and_its_grants_survive_a_restart() {
    let w = logged_in(Duration::from_secs(3600)).await;
    let runtime = w.home.path().join("run");
    std::fs::create_dir_all(&runtime).unwrap();
    let mut env = sdk_env(&w);
    env.push(("XDG_RUNTIME_DIR".into(), runtime.display().to_string()));
    env.push(("PATH".into(), std::env::var("PATH").unwrap_or_default()));
    let Serving {
        keeper,
        address,
        grants,
        ..
    } = keep_serving(&env, &["--container-server", "127.0.0.1:0"]).await;
    assert!(address.starts_with("127.0.0.1:"), "{address}");
    assert_eq!(
        grants,
        w.home.path().join(".local/state/ssotray/container-grants")
    );
    let (prod_uri, prod_dir) = grant(&env, "prod-ro", &address).await;
    let (dev_uri, dev_dir) = grant(&env, "dev", &address).await;
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&prod_dir), 0o700, "a directory of its own to mount");
    assert_eq!(mode(&prod_dir.join("token")), 0o600);
    let token = std::fs::read_to_string(dev_dir.join("token")).unwrap();
    assert!(
        token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit()),
        "hex, no trailing newline (botocore refuses one): {token:?}"
    );

    let o = run(
        &python(),
        &["-c", BOTOCORE_ONCE],
        &container_env(&w, &prod_uri, &prod_dir.join("token")),
    )
    .await;
    assert_ok(&o);
    assert!(
        stdout(&o)
            .starts_with("arn:aws:sts::333333333333:assumed-role/AWSReservedSSO_ReadOnlyAccess_"),
        "{}",
        stdout(&o)
    );
    let mut probe_env = container_env(&w, &dev_uri, &dev_dir.join("token"));
    probe_env.push(("AWS_REGION".into(), "eu-west-1".into()));
    probe_env.push(("PROBE_CALLER_IDENTITY_SECONDS".into(), "1".into()));
    let o = run(&bin("aws-config-probe"), &[], &probe_env).await;
    assert_ok(&o);
    assert!(
        stdout(&o)
            .contains("arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_AdministratorAccess_"),
        "{}",
        stdout(&o)
    );
    // A profile that is not in the config cannot be granted.
    let o = run(&bin("ssotray"), &["container", "grant", "nope"], &env).await;
    assert_fails_with(&o, "nope");

    // Restarted, turned on by the settings instead of the flag: the same grants, so a container
    // that read its token once (botocore reads the file once) keeps working.
    drop(keeper);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let settings = w.home.path().join(".config/ssotray/settings.toml");
    std::fs::create_dir_all(settings.parent().unwrap()).unwrap();
    std::fs::write(
        &settings,
        "[container_server]\nenabled = true\naddress = \"127.0.0.1:0\"\n",
    )
    .unwrap();
    env.push((
        "XDG_CONFIG_HOME".into(),
        w.home.path().join(".config").display().to_string(),
    ));
    let restarted = keep_serving(&env, &[]).await;
    let second = restarted.address.clone();
    assert_eq!(
        std::fs::read_to_string(dev_dir.join("token")).unwrap(),
        token
    );
    let uri = dev_uri.replace(&address, &second);
    let o = run(
        &python(),
        &["-c", BOTOCORE_ONCE],
        &container_env(&w, &uri, &dev_dir.join("token")),
    )
    .await;
    assert_ok(&o);
}

/// The server at real proportions: 1-hour role credentials are held and served until less than
/// 15 minutes are left, then fetched anew once however many requests arrive together.
#[tokio::test]
async fn the_container_server_holds_hour_long_credentials_until_fifteen_minutes_are_left() {
    use ssotray_core::serve::credserver::{CredServer, Protocol, Scope};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let w = logged_in(Duration::from_secs(3600)).await;
    let clock = ssotray_tests::SharedClock(w.sim.clock());
    let engine = ssotray_tests::engine_for(&w.home, &w.sim.base_url, Arc::new(clock.clone()));
    let listener = ssotray_core::serve::credserver::bind_loopback("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let address = listener.local_addr().unwrap();
    let hooks = Arc::new(AtomicUsize::new(0));
    let h = hooks.clone();
    let server = Arc::new(CredServer::new(
        engine,
        Protocol::Container,
        Scope::One("dev".into()),
        address,
        ssotray_core::serve::served::ServerToken::from_text(&"5a".repeat(32)).unwrap(),
        Arc::new(move |_| {
            h.fetch_add(1, Ordering::Relaxed);
        }),
    ));
    let token = server.token().expose().to_string();
    let url = server.profile_url("dev");
    let serving = tokio::spawn(server.clone().serve(listener));
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    // `n` requests at once; the access keys they got (each checked to have > 15 min left).
    let ask = |n: usize| {
        let now = ssotray_core::platform::os::Clock::now(&clock);
        let handles: Vec<_> = (0..n)
            .map(|_| {
                let (http, url, token) = (http.clone(), url.clone(), token.clone());
                tokio::spawn(async move {
                    let r = http
                        .get(&url)
                        .header("Authorization", token)
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(r.status(), 200);
                    let v: serde_json::Value = r.json().await.unwrap();
                    let expires = ssotray_core::platform::time::parse_timestamp(
                        v["Expiration"].as_str().unwrap(),
                    )
                    .unwrap();
                    assert!(
                        expires - now > chrono::Duration::minutes(15),
                        "served with {} left",
                        expires - now
                    );
                    v["AccessKeyId"].as_str().unwrap().to_string()
                })
            })
            .collect();
        async move {
            let mut keys = Vec::new();
            for h in handles {
                keys.push(h.await.unwrap());
            }
            keys.sort();
            keys.dedup();
            keys
        }
    };
    let first = ask(100).await;
    assert_eq!(first.len(), 1, "one key for a hundred requests: {first:?}");
    assert_eq!(count(&w.stats().await, "GetRoleCredentials"), 1);
    w.sim.clock().advance(Duration::from_secs(44 * 60));
    assert_eq!(ask(10).await, first, "16 minutes left: still held");
    assert_eq!(count(&w.stats().await, "GetRoleCredentials"), 1);
    w.sim.clock().advance(Duration::from_secs(2 * 60));
    let second = ask(50).await;
    assert_eq!(
        second.len(),
        1,
        "fetched once for fifty requests: {second:?}"
    );
    assert_ne!(second, first, "14 minutes left: fetched anew");
    assert_eq!(count(&w.stats().await, "GetRoleCredentials"), 2);
    assert_eq!(hooks.load(Ordering::Relaxed), 0, "no login was needed");
    assert_eq!(server.served(), 160);
    // After a logout nothing held is served: the answer says to log in.
    assert_ok(&w.ssotray(&["logout", "my-sso"]).await);
    let r = http
        .get(&url)
        .header("Authorization", &token)
        .header("User-Agent", "test")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let body = r.text().await.unwrap();
    assert!(body.contains("run `ssotray login my-sso`"), "{body}");
    assert_eq!(hooks.load(Ordering::Relaxed), 1, "the keeper is told once");
    serving.abort();
}

/// The user's own credentials file: comments, a static key, CRLF-free text, no final newline.
const USER_CREDENTIALS: &str = "# keys I manage myself\n[default]\naws_access_key_id = AKIAUSEROWN\naws_secret_access_key = user-secret ; inline\n\n; staging, do not touch\n[staging]\naws_access_key_id = AKIASTAGING\naws_secret_access_key = staging-secret";

/// botocore reading `[exported]` from the credentials file anew every second (a new session
/// each time, as a tool started again would), calling GetCallerIdentity with it.
const BOTOCORE_STATIC_LOOP: &str = r#"
import boto3, json, sys, time
end = time.time() + float(sys.argv[1])
while time.time() < end:
    try:
        s = boto3.session.Session(profile_name="exported")
        c = s.get_credentials()
        out = {"ok": True, "method": c.method, "arn": s.client("sts", region_name="eu-west-1").get_caller_identity()["Arn"]}
    except Exception as e:
        out = {"ok": False, "error": str(e)}
    print(json.dumps(out), flush=True)
    time.sleep(1)
"#;

#[tokio::test]
async fn an_exported_section_is_read_by_botocore_rewritten_by_the_keeper_and_keeps_the_users_bytes()
{
    let w = logged_in(Duration::from_secs(SHORT_TTL)).await;
    let file = w.home.aws().join("credentials");
    std::fs::write(&file, USER_CREDENTIALS).unwrap();
    let (mut keeper, env) = keeper(&w, Stdio::inherit()).await;

    let o = run(
        &bin("ssotray"),
        &["credentials", "--profile", "dev", "--export-as", "exported"],
        &env,
    )
    .await;
    assert_ok(&o);
    assert!(
        stderr(&o).contains("the running keeper rewrites it"),
        "{}",
        stderr(&o)
    );
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.starts_with(&format!("{USER_CREDENTIALS}\n\n[exported]\n")),
        "{text}"
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let status = run(&bin("ssotray"), &["status"], &env).await;
    assert!(
        stdout(&status).contains("[exported] from profile dev, valid until"),
        "{}",
        stdout(&status)
    );

    // botocore keeps working across several lifetimes: the keeper rewrites the section before
    // its credentials expire (the simulator refuses expired ones).
    let secs = RUN_SECS.to_string();
    let o = run(&python(), &["-c", BOTOCORE_STATIC_LOOP, &secs], &env).await;
    assert_ok(&o);
    let calls = lines(&o);
    assert!(calls.len() as u64 >= RUN_SECS - 10, "{}", stderr(&o));
    for c in &calls {
        assert_eq!(c["ok"], true, "{c}");
        assert_eq!(c["method"], "shared-credentials-file");
        assert!(c["arn"].as_str().unwrap().starts_with(
            "arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_AdministratorAccess_"
        ));
    }
    let keys = caller_keys(&w).await;
    assert!(
        keys.len() as u64 > RUN_SECS / SHORT_TTL,
        "rewritten across lifetimes: {} credentials used",
        keys.len()
    );
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.starts_with(USER_CREDENTIALS),
        "the user's bytes stay: {text}"
    );
    assert_eq!(text.matches("[exported]").count(), 1);

    // Logging out removes the export, and the file is the user's again, byte for byte.
    let o = run(&bin("ssotray"), &["logout", "my-sso"], &env).await;
    assert_ok(&o);
    assert!(
        stderr(&o).contains("1 exported section(s) removed"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        format!("{USER_CREDENTIALS}\n"),
        "the user's file again, with the line end its last line lacked"
    );
    let _ = keeper.kill().await;
}

#[tokio::test]
async fn exporters_at_once_lose_nothing_and_unexport_leaves_the_users_sections() {
    let w = logged_in(Duration::from_secs(3600)).await;
    let file = w.home.aws().join("credentials");
    std::fs::write(&file, USER_CREDENTIALS).unwrap();
    let env = w.env();
    let names: Vec<String> = (0..8).map(|i| format!("exported-{i}")).collect();
    let runs = names.iter().enumerate().map(|(i, name)| {
        let profile = if i % 2 == 0 { "dev" } else { "prod-ro" };
        let env = env.clone();
        let name = name.clone();
        tokio::spawn(async move {
            run(
                &bin("ssotray"),
                &["credentials", "--profile", profile, "--export-as", &name],
                &env,
            )
            .await
        })
    });
    for r in runs.collect::<Vec<_>>() {
        assert_ok(&r.await.unwrap());
    }
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.starts_with(USER_CREDENTIALS), "{text}");
    for name in &names {
        assert_eq!(
            text.matches(&format!("[{name}]")).count(),
            1,
            "{name} in {text}"
        );
    }
    let o = run(&bin("ssotray"), &["status", "--json"], &env).await;
    let status: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(status["exports"].as_array().unwrap().len(), 8);

    // A section the user wrote is neither replaced nor removed.
    let o = run(
        &bin("ssotray"),
        &["credentials", "--profile", "dev", "--export-as", "staging"],
        &env,
    )
    .await;
    assert_fails_with(
        &o,
        "already has a [staging] section that ssotray did not write",
    );
    let o = run(
        &bin("ssotray"),
        &["credentials", "--unexport", "staging"],
        &env,
    )
    .await;
    assert_fails_with(&o, "not written by ssotray");
    for name in &names {
        assert_ok(&run(&bin("ssotray"), &["credentials", "--unexport", name], &env).await);
    }
    // Byte for byte, but for the line end the user's last line lacked (added before the first
    // section was appended; an editor would add it too).
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        format!("{USER_CREDENTIALS}\n")
    );
}

/// Runs an SDK loop under `ssotray exec --profile dev`, ends the portal session after three good
/// calls, and returns the first error the SDK reported after that.
async fn error_after_the_session_ends(
    w: &World,
    program: &str,
    args: &[&str],
    extra: &[(String, String)],
) -> String {
    let mut env = sdk_env(w);
    env.extend(extra.iter().cloned());
    env.push(("PATH".into(), std::env::var("PATH").unwrap_or_default()));
    let mut cmd = tokio::process::Command::new(bin("ssotray"));
    cmd.args(["exec", "--profile", "dev", "--", program])
        .args(args)
        .env_clear()
        .envs(env.iter().cloned())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    let mut exec = cmd.spawn().unwrap();
    let mut out = BufReader::new(exec.stdout.take().unwrap()).lines();
    let mut ok = 0;
    while let Ok(Some(line)) = tokio::time::timeout(Duration::from_secs(30), out.next_line())
        .await
        .unwrap()
    {
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        if v["ok"] == true {
            ok += 1;
            if ok == 3 {
                w.sim.end_all_sessions();
            }
        } else {
            assert!(ok >= 3, "a call failed before the session ended: {v}");
            let _ = exec.kill().await;
            return v["error"].as_str().unwrap().to_string();
        }
    }
    panic!("no call failed after the session ended");
}

#[tokio::test]
async fn aws_config_names_ssotray_login_when_the_session_ends() {
    let w = logged_in(Duration::from_secs(SHORT_TTL)).await;
    let e = error_after_the_session_ends(
        &w,
        bin("aws-config-probe").to_str().unwrap(),
        &[],
        &[("PROBE_CALLER_IDENTITY_SECONDS".into(), "60".into())],
    )
    .await;
    assert!(
        e.contains("failed to load credentials [LoginRequired]")
            && e.contains("run `ssotray login my-sso`"),
        "aws-config: {e}"
    );
    assert_eq!(
        count(&w.stats().await, "StartDeviceAuthorization"),
        1,
        "the server started no login"
    );
}

#[tokio::test]
async fn exec_warns_when_a_default_profile_would_win_over_its_server() {
    let w = logged_in(Duration::from_secs(3600)).await;
    std::fs::write(
        w.home.aws().join("credentials"),
        "[default]\naws_access_key_id = AKIAUSEROWN\naws_secret_access_key = x\n",
    )
    .unwrap();
    let o = run(
        &bin("ssotray"),
        &["exec", "--profile", "dev", "--", "true"],
        &w.env(),
    )
    .await;
    assert_ok(&o);
    assert!(
        stderr(&o).contains("warning: [default] in")
            && stderr(&o).contains("has credentials of its own (aws_access_key_id)"),
        "{}",
        stderr(&o)
    );
    std::fs::write(
        w.home.aws().join("credentials"),
        "[default]\nregion = eu-west-1\n",
    )
    .unwrap();
    let o = run(
        &bin("ssotray"),
        &["exec", "--profile", "dev", "--", "true"],
        &w.env(),
    )
    .await;
    assert_ok(&o);
    assert!(!stderr(&o).contains("warning"), "{}", stderr(&o));
}

#[tokio::test]
async fn renewing_keeps_the_exported_sections_and_logging_out_removes_them() {
    let w = logged_in(Duration::from_secs(3600)).await;
    let file = w.home.aws().join("credentials");
    std::fs::write(&file, USER_CREDENTIALS).unwrap();
    assert_ok(
        &w.ssotray(&["credentials", "--profile", "dev", "--export-as", "exported"])
            .await,
    );
    let engine = ssotray_tests::engine_for(
        &w.home,
        &w.sim.base_url,
        std::sync::Arc::new(ssotray_tests::SharedClock(w.sim.clock())),
    );
    let config = engine.load_config().unwrap();
    let target = engine
        .resolve(&config, &ssotray_core::Selector::Session("my-sso".into()))
        .unwrap();
    // Renew's logout (the keeper's and the app's): the section stays for the new session.
    let report = engine.logout_for_renewal(&config, &target).await.unwrap();
    assert!(report.removed_token);
    assert_eq!(report.removed_exports, 0);
    assert_eq!(engine.exports().unwrap().len(), 1);
    // A logout the user asked for removes it.
    assert_ok(
        &w.ssotray(&["login", "my-sso", "--device-code", "--no-browser"])
            .await,
    );
    let report = engine.logout(&config, &target).await.unwrap();
    assert_eq!(report.removed_exports, 1);
    assert!(engine.exports().unwrap().is_empty());
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        format!("{USER_CREDENTIALS}\n")
    );
}

/// The simulator's STS checks signatures: the right credentials pass, a wrong secret and a
/// signature made for another body are refused as AWS refuses them.
const SIGNATURES: &str = r#"
import boto3, botocore, json
c = boto3.session.Session().get_credentials().get_frozen_credentials()
def call(secret, tamper=False):
    sts = boto3.client("sts", aws_access_key_id=c.access_key, aws_secret_access_key=secret, aws_session_token=c.token)
    if tamper:
        # Changes the body after it was signed.
        def tamper_with(request, **kw):
            body = request.body if isinstance(request.body, bytes) else request.body.encode()
            request.body = body + b"&Extra=1"
            request.headers["Content-Length"] = str(len(request.body))
        sts.meta.events.register("before-send.sts.GetCallerIdentity", tamper_with)
    try:
        return sts.get_caller_identity()["Account"]
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"]
print(json.dumps([call(c.secret_key), call(c.secret_key[:-1] + ("x" if c.secret_key[-1] != "x" else "y")), call(c.secret_key, True)]))
"#;

#[tokio::test]
async fn the_simulators_sts_refuses_a_wrong_signature() {
    let w = logged_in(Duration::from_secs(3600)).await;
    let o = exec_python(&sdk_env(&w), &["--profile", "dev"], SIGNATURES).await;
    assert_ok(&o);
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(
        v,
        serde_json::json!([
            "111111111111",
            "SignatureDoesNotMatch",
            "SignatureDoesNotMatch"
        ])
    );
}

/// The keeper and exported credentials at real proportions: 1-hour role credentials, the
/// simulator's clock shared with an in-process keeper and moved forward. The section is left
/// alone while it has more than 20 minutes, rewritten once when it has less (never with 15 or
/// less), and the rewrite brings a fresh hour.
#[tokio::test]
async fn the_keeper_rewrites_an_hour_long_export_twenty_minutes_before_it_expires() {
    use ssotray_core::keep::keeper::{Keeper, KeeperEvent, Notifier};
    struct Quiet;
    impl Notifier for Quiet {
        fn notify(&self, _: &KeeperEvent) {}
    }
    let w = logged_in(Duration::from_secs(3600)).await;
    let clock = ssotray_tests::SharedClock(w.sim.clock());
    let engine =
        ssotray_tests::engine_for(&w.home, &w.sim.base_url, std::sync::Arc::new(clock.clone()));
    let config = engine.load_config().unwrap();
    engine
        .export_credentials(&config, "dev", "exported")
        .await
        .unwrap();
    let keeper = Keeper::new(engine.clone(), std::sync::Arc::new(Quiet));
    let expiry = || engine.exports().unwrap()[0].expires.unwrap();
    let first = expiry();
    let fetches = || async { count(&w.stats().await, "GetRoleCredentials") };
    assert_eq!(fetches().await, 1);
    let now = || ssotray_core::platform::os::Clock::now(&clock);
    // Tick as the keeper would, a minute at a time, through 45 minutes.
    let mut rewritten_at = None;
    for _ in 0..45 {
        w.sim.clock().advance(Duration::from_secs(60));
        keeper.tick().await;
        if rewritten_at.is_none() && expiry() != first {
            rewritten_at = Some(first - now());
        }
    }
    let left = rewritten_at.expect("rewritten within 45 minutes");
    assert!(
        left > chrono::Duration::minutes(15) && left <= chrono::Duration::minutes(20),
        "rewritten with {left} left"
    );
    assert!(
        expiry() - now() > chrono::Duration::minutes(30),
        "a fresh hour"
    );
    // The access token (1 hour, 20-minute lead) was refreshed on the way; role credentials were
    // fetched twice: the export and its one rewrite.
    assert_eq!(fetches().await, 2);
}
