//! Roles on top of roles: `role_arn` profiles whose `source_profile` leads down to an SSO
//! profile, assumed through the simulator's STS (AssumeRole, SigV4-verified, chaining limits),
//! compared with what botocore and aws-config resolve by themselves from the same config.
//!
//! ssotray's credentials, botocore, aws-config and the JavaScript SDK v3 resolve the same profile
//! by themselves through the simulator's STS to the same identity. Also: AssumeRole refusals;
//! source credentials refused as expired and fetched anew; a chained role's console after one
//! refused `SessionDuration`; Firefox-container links read as the extension's opener reads them (in
//! node); Chrome profile flags; `--service` per partition.

use crate::cli::{auto, World};
use crate::served::{exec_python, sdk_env};
use ssotray_tests::{
    assert_fails_with, assert_ok, bin, count, python, run, stderr, stdout, SimConfig, CONFIG,
};
use std::time::Duration;

/// Chained profiles on top of [`CONFIG`]'s SSO profiles (the simulator's default org trusts:
/// prod's Deployer ← dev's AdministratorAccess; staging's Auditor ← prod's Deployer; staging's
/// Partner ← dev's AdministratorAccess with external id `partner-ext-1`).
pub const CHAINED: &str = "
[profile deploy]
role_arn = arn:aws:iam::333333333333:role/Deployer
source_profile = dev
region = eu-west-1

[profile audit]
role_arn = arn:aws:iam::222222222222:role/Auditor
source_profile = deploy
role_session_name = alice
region = eu-central-1

[profile partner]
role_arn = arn:aws:iam::222222222222:role/Partner
source_profile = dev
external_id = partner-ext-1

[profile not-trusted]
role_arn = arn:aws:iam::222222222222:role/Auditor
source_profile = dev

[profile too-long]
role_arn = arn:aws:iam::333333333333:role/Deployer
source_profile = dev
duration_seconds = 7200

[profile loop-a]
role_arn = arn:aws:iam::333333333333:role/Deployer
source_profile = loop-b

[profile loop-b]
role_arn = arn:aws:iam::333333333333:role/Deployer
source_profile = loop-a

[profile orphan]
role_arn = arn:aws:iam::333333333333:role/Deployer
source_profile = gone

[profile mfa]
role_arn = arn:aws:iam::333333333333:role/Deployer
source_profile = dev
mfa_serial = arn:aws:iam::111111111111:mfa/alice

[profile on-ec2]
role_arn = arn:aws:iam::333333333333:role/Deployer
credential_source = Ec2InstanceMetadata
";

async fn chained_world(sim: SimConfig) -> World {
    let w = World::new(&format!("{CONFIG}{CHAINED}"), sim).await;
    assert_ok(
        &w.ssotray(&["login", "my-sso", "--device-code", "--no-browser"])
            .await,
    );
    w
}

/// GetCallerIdentity's ARN with these credentials (botocore, given the keys).
async fn arn_of(w: &World, creds: &serde_json::Value) -> String {
    let script = r#"
import boto3, sys
c = boto3.client("sts", region_name="us-east-1", endpoint_url=sys.argv[1],
    aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3], aws_session_token=sys.argv[4])
print(c.get_caller_identity()["Arn"])
"#;
    let o = run(
        &python(),
        &[
            "-c",
            script,
            &w.sim.base_url,
            creds["AccessKeyId"].as_str().unwrap(),
            creds["SecretAccessKey"].as_str().unwrap(),
            creds["SessionToken"].as_str().unwrap(),
        ],
        &[],
    )
    .await;
    assert_ok(&o);
    stdout(&o).trim().to_string()
}

async fn credentials(w: &World, profile: &str) -> serde_json::Value {
    let o = run(
        &bin("ssotray"),
        &["credentials", "--profile", profile],
        &sdk_env(w),
    )
    .await;
    assert_ok(&o);
    serde_json::from_str(&stdout(&o)).unwrap()
}

#[tokio::test]
async fn a_two_hop_chain_gives_the_identity_botocore_aws_config_and_the_js_sdk_resolve_by_themselves(
) {
    let w = chained_world(auto()).await;
    let creds = credentials(&w, "audit").await;
    assert_eq!(
        seen(&w, "stsScope").await,
        "eu-central-1/sts",
        "signed for the profile's own region"
    );
    let ours = arn_of(&w, &creds).await;
    assert_eq!(ours, "arn:aws:sts::222222222222:assumed-role/Auditor/alice");
    let s = w.stats().await;
    assert_eq!(
        (count(&s, "GetRoleCredentials"), count(&s, "AssumeRole")),
        (1, 2),
        "dev's role, then Deployer, then Auditor"
    );

    // botocore resolves the same profile by itself: SSO for dev (from ssotray's token cache),
    // AssumeRole twice through AWS_ENDPOINT_URL_STS.
    let mut env = sdk_env(&w);
    env.push(("AWS_PROFILE".into(), "audit".into()));
    let o = run(
        &python(),
        &[
            "-c",
            "import boto3; print(boto3.session.Session().client('sts').get_caller_identity()['Arn'])",
        ],
        &env,
    )
    .await;
    assert_ok(&o);
    assert_eq!(stdout(&o).trim(), ours, "botocore");

    // aws-config (AWS SDK for Rust) likewise.
    env.push(("PROBE_CALLER_IDENTITY_SECONDS".into(), "1".into()));
    let o = run(&bin("aws-config-probe"), &[], &env).await;
    assert_ok(&o);
    let line: serde_json::Value = serde_json::from_str(stdout(&o).lines().next().unwrap()).unwrap();
    assert_eq!(
        line["arn"].as_str(),
        Some(ours.as_str()),
        "aws-config: {line}"
    );

    // The JavaScript SDK v3's default chain likewise (its ini provider assumes the roles, its SSO
    // provider reads ssotray's token cache).
    let mut js_env = sdk_env(&w);
    js_env.push(("AWS_PROFILE".into(), "audit".into()));
    js_env.push(("NODE_PATH".into(), crate::served::node_modules()));
    let o = run(
        std::path::Path::new("node"),
        &[
            "-e",
            r#"const { STSClient, GetCallerIdentityCommand } = require("@aws-sdk/client-sts");
new STSClient({}).send(new GetCallerIdentityCommand({})).then((r) => console.log(r.Arn), (e) => { console.error(String(e)); process.exit(1); });"#,
        ],
        &js_env,
    )
    .await;
    assert_ok(&o);
    assert_eq!(stdout(&o).trim(), ours, "the JavaScript SDK");

    // ssotray's credentials went into the AWS CLI's assume-role cache under the CLI's key (sha1 of
    // {"RoleArn": …, "RoleSessionName": "alice"}), mode 0600, and are reused from it.
    let cache = w.home.aws().join("cli/cache");
    let entry = cache.join(format!(
        "{}.json",
        sha1_hex(
            r#"{"RoleArn": "arn:aws:iam::222222222222:role/Auditor", "RoleSessionName": "alice"}"#
        )
    ));
    let text = std::fs::read_to_string(&entry).expect("the entry under the AWS CLI's key");
    assert!(
        text.contains(creds["AccessKeyId"].as_str().unwrap()),
        "{text}"
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&entry).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let entries: Vec<String> = std::fs::read_dir(&cache)
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert!(
        entries
            .iter()
            .any(|e| e.contains(creds["AccessKeyId"].as_str().unwrap()) && e.contains("UTC\"")),
        "the CLI's format, Expiration ending in UTC"
    );
    let again = credentials(&w, "audit").await;
    assert_eq!(again["AccessKeyId"], creds["AccessKeyId"]);
    assert_eq!(
        count(&w.stats().await, "AssumeRole"),
        2 + 2 + 2 + 2,
        "ssotray's second call used the cache (botocore, aws-config and the JavaScript SDK each assumed twice)"
    );

    // Fresh cached credentials of the chained role are served without its source's: with dev's
    // role credentials gone from the cache, nothing is fetched from the portal.
    let sso_entry = std::fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            std::fs::read_to_string(p)
                .unwrap()
                .contains("\"ProviderType\": \"sso\"")
        })
        .expect("dev's role credentials in the CLI's cache");
    std::fs::remove_file(sso_entry).unwrap();
    let gets = count(&w.stats().await, "GetRoleCredentials");
    assert_eq!(
        credentials(&w, "audit").await["AccessKeyId"],
        creds["AccessKeyId"]
    );
    assert_eq!(count(&w.stats().await, "GetRoleCredentials"), gets);

    // Logging out removes the chained roles' entries with the session's role credentials: no
    // role of the session is served from a cache afterwards.
    assert_ok(&w.ssotray(&["logout", "my-sso"]).await);
    let left: Vec<String> = std::fs::read_dir(&cache)
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .filter(|t| t.contains("AssumedRoleUser"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    let o = run(
        &bin("ssotray"),
        &["credentials", "--profile", "audit"],
        &sdk_env(&w),
    )
    .await;
    assert_fails_with(&o, "ssotray login my-sso");
}

#[tokio::test]
async fn the_simulator_refuses_and_ssotray_explains_an_untrusted_role_a_long_chained_session_and_a_bad_signature(
) {
    let w = chained_world(auto()).await;
    let env = sdk_env(&w);
    let o = run(
        &bin("ssotray"),
        &["credentials", "--profile", "not-trusted"],
        &env,
    )
    .await;
    assert_fails_with(&o, "cannot assume `arn:aws:iam::222222222222:role/Auditor` for profile `not-trusted`: AccessDenied (HTTP 403): User: arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_AdministratorAccess_0123456789abcdef/sim-user is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::222222222222:role/Auditor; the role's trust policy must allow 111111111111/AdministratorAccess");
    let o = run(
        &bin("ssotray"),
        &["credentials", "--profile", "too-long"],
        &env,
    )
    .await;
    assert_fails_with(
        &o,
        "ValidationError (HTTP 400): The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.; roles assumed from other roles' credentials (role chaining) last at most 1 hour: lower or remove `duration_seconds` of profile `too-long`",
    );
    // The external id the trust policy asks for.
    let creds = credentials(&w, "partner").await;
    assert_eq!(
        seen(&w, "stsScope").await,
        "us-east-1/sts",
        "no region in the profile: signed for us-east-1, as botocore signs for the global endpoint"
    );
    assert!(arn_of(&w, &creds)
        .await
        .starts_with("arn:aws:sts::222222222222:assumed-role/Partner/ssotray-"));
    let s = w.stats().await;
    assert_eq!(count(&s, "AssumeRoleRefused"), 2);

    // A signature by the wrong secret: refused by the simulator, said by ssotray's STS client.
    let good: serde_json::Value = credentials(&w, "dev").await;
    let source = ssotray_core::aws::portal::RoleCredentials {
        access_key_id: good["AccessKeyId"].as_str().unwrap().into(),
        secret_access_key: ssotray_core::Secret::new("not-the-secret"),
        session_token: ssotray_core::Secret::new(good["SessionToken"].as_str().unwrap()),
        expiration: chrono::Utc::now() + chrono::Duration::hours(1),
        account_id: "111111111111".into(),
    };
    let assume_deployer = |source: ssotray_core::aws::portal::RoleCredentials| {
        let endpoint = url::Url::parse(&w.sim.base_url).unwrap();
        async move {
            ssotray_core::aws::sts::assume_role(
                &reqwest::Client::new(),
                &endpoint,
                "eu-west-1",
                &source,
                &ssotray_core::aws::sts::AssumeRoleInput {
                    role_arn: "arn:aws:iam::333333333333:role/Deployer",
                    role_session_name: "s1",
                    external_id: None,
                    duration_seconds: None,
                },
                chrono::Utc::now(),
            )
            .await
        }
    };
    let e = assume_deployer(source.clone()).await.unwrap_err();
    assert!(
        e.to_string().starts_with(
            "SignatureDoesNotMatch (HTTP 403): The request signature we calculated does not match"
        ),
        "{e}"
    );
    // The same call with the right secret is accepted: the refusal was the signature's.
    let ok = assume_deployer(ssotray_core::aws::portal::RoleCredentials {
        secret_access_key: ssotray_core::Secret::new(good["SecretAccessKey"].as_str().unwrap()),
        ..source
    })
    .await
    .unwrap();
    assert_eq!(ok.arn, "arn:aws:sts::333333333333:assumed-role/Deployer/s1");
    assert_eq!(ok.credentials.account_id, "333333333333");
}

#[tokio::test]
async fn loops_missing_profiles_mfa_and_credential_source_are_named_before_any_call() {
    let w = chained_world(auto()).await;
    let env = sdk_env(&w);
    for (profile, text) in [
        ("loop-a", "`source_profile` goes round in a loop: loop-a → loop-b → loop-a"),
        ("orphan", "profile `gone` (source_profile of `orphan`) does not exist in"),
        ("mfa", "profile `mfa` has `mfa_serial`: ssotray does not assume roles that need an MFA code"),
        ("on-ec2", "profile `on-ec2` has `credential_source = Ec2InstanceMetadata`: not supported by ssotray"),
    ] {
        let o = run(&bin("ssotray"), &["credentials", "--profile", profile], &env).await;
        assert_fails_with(&o, text);
    }
    assert_eq!(count(&w.stats().await, "AssumeRole"), 0);
}

#[tokio::test]
async fn expired_source_credentials_are_refused_and_ssotray_fetches_fresh_ones_once() {
    // The portal session and its tokens outlive the jump of the simulator's clock; the SSO role
    // credentials ssotray cached (1 hour, by the simulator's clock) do not.
    let w = chained_world(SimConfig {
        access_token_ttl: Duration::from_secs(8 * 3600),
        session_ttl: Duration::from_secs(8 * 3600),
        role_credentials_ttl: Duration::from_secs(3600),
        ..auto()
    })
    .await;
    credentials(&w, "deploy").await;
    // Only Deployer's entry goes: dev's cached role credentials stay, fresh by this machine's clock.
    let deployer_key = sha1_hex("{\"RoleArn\": \"arn:aws:iam::333333333333:role/Deployer\"}");
    std::fs::remove_file(w.home.aws().join(format!("cli/cache/{deployer_key}.json"))).unwrap();
    reqwest::Client::new()
        .post(format!("{}/_sim/clock?advance=7200", w.sim.base_url))
        .send()
        .await
        .unwrap();
    assert_deployer(&w).await;
    let s = w.stats().await;
    assert_eq!(
        (
            count(&s, "AssumeRoleRefused"),
            count(&s, "GetRoleCredentials"),
            count(&s, "AssumeRole")
        ),
        (1, 2, 3),
        "refused as expired, dev's credentials fetched anew, assumed again"
    );
}

#[tokio::test]
async fn source_credentials_refused_twice_are_reported_with_the_role_and_what_to_do() {
    // The portal hands out role credentials that are already expired by the simulator's clock:
    // STS refuses them, and the fresh ones fetched for the second try too.
    let w = chained_world(SimConfig {
        role_credentials_ttl: Duration::ZERO,
        ..auto()
    })
    .await;
    let o = run(
        &bin("ssotray"),
        &["credentials", "--profile", "deploy"],
        &sdk_env(&w),
    )
    .await;
    assert_fails_with(
        &o,
        "STS refused the credentials of 111111111111/AdministratorAccess when assuming `arn:aws:iam::333333333333:role/Deployer` for profile `deploy`: ExpiredToken (HTTP 403): The security token included in the request is expired; run the command again, or `ssotray login my-sso` if it persists",
    );
    let s = w.stats().await;
    assert_eq!(
        (
            count(&s, "AssumeRoleRefused"),
            count(&s, "GetRoleCredentials")
        ),
        (2, 2),
        "one more try with fresh credentials, no more"
    );

    // A damaged cache entry (the secret changed) is refused as a bad signature and replaced.
    let w = chained_world(auto()).await;
    credentials(&w, "dev").await;
    let cache = w.home.aws().join("cli/cache");
    for entry in std::fs::read_dir(&cache).unwrap() {
        let path = entry.unwrap().path();
        let mut v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        v["Credentials"]["SecretAccessKey"] = "damaged".into();
        std::fs::write(&path, v.to_string()).unwrap();
    }
    assert_deployer(&w).await;
    let s = w.stats().await;
    assert_eq!(
        (
            count(&s, "AssumeRoleRefused"),
            count(&s, "GetRoleCredentials")
        ),
        (1, 2),
        "refused as SignatureDoesNotMatch, dev's credentials fetched anew"
    );
}

/// What the simulator's `/_sim/seen` holds under `key`.
async fn seen(w: &World, key: &str) -> String {
    let seen: serde_json::Value = reqwest::get(format!("{}/_sim/seen", w.sim.base_url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    seen[key].as_str().unwrap_or_default().to_string()
}

/// `ssotray credentials --profile deploy` gives credentials STS knows as prod's Deployer.
async fn assert_deployer(w: &World) {
    let creds = credentials(w, "deploy").await;
    assert!(arn_of(w, &creds)
        .await
        .starts_with("arn:aws:sts::333333333333:assumed-role/Deployer/"));
}

fn sha1_hex(text: &str) -> String {
    use sha1::Digest;
    hex::encode(sha1::Sha1::digest(text.as_bytes()))
}

#[tokio::test]
async fn a_chained_roles_console_signs_in_as_that_role_after_one_refused_session_duration() {
    let w = chained_world(auto()).await;
    let o = run(
        &bin("ssotray"),
        &["console", "--profile", "deploy", "--print"],
        &sdk_env(&w),
    )
    .await;
    assert_ok(&o);
    let page = reqwest::get(stdout(&o).trim()).await.unwrap();
    assert!(page.url().path().starts_with("/console/"));
    let html = page.text().await.unwrap();
    assert!(
        html.contains("<span id=\"account-id\">333333333333</span>")
            && html.contains("<span id=\"role-name\">Deployer</span>"),
        "{html}"
    );
    // The profile's region picks the console home.
    assert!(html.contains("region=eu-west-1"), "{html}");
    let s = w.stats().await;
    assert_eq!(
        (
            count(&s, "SessionDurationRefused"),
            count(&s, "GetSigninToken")
        ),
        (1, 2),
        "asked with SessionDuration, refused, asked again without"
    );
    // An SSO role's console keeps its duration: asked once.
    let o = run(
        &bin("ssotray"),
        &["console", "--profile", "dev", "--print"],
        &sdk_env(&w),
    )
    .await;
    assert_ok(&o);
    let s = w.stats().await;
    assert_eq!(
        (
            count(&s, "SessionDurationRefused"),
            count(&s, "GetSigninToken")
        ),
        (1, 3)
    );
}

#[tokio::test]
async fn a_chained_profile_is_served_to_a_program_under_exec_by_both_servers() {
    let w = chained_world(auto()).await;
    let o = exec_python(
        &sdk_env(&w),
        &["--profile", "audit"],
        "import boto3; print(boto3.session.Session().client('sts').get_caller_identity()['Arn'])",
    )
    .await;
    assert_ok(&o);
    assert_eq!(
        stdout(&o).trim(),
        "arn:aws:sts::222222222222:assumed-role/Auditor/alice"
    );

    // Over IMDSv2: the instance's role is the chained profile's role.
    let o = exec_python(
        &sdk_env(&w),
        &["--server", "imds", "--profile", "deploy"],
        crate::served::BOTOCORE_IMDS,
    )
    .await;
    assert_ok(&o);
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(v["method"], "iam-role", "{v}");
    assert!(
        v["arn"]
            .as_str()
            .unwrap()
            .starts_with("arn:aws:sts::333333333333:assumed-role/Deployer/"),
        "{v}"
    );
}

/// A stand-in browser program: writes its arguments, one per line, to `log`.
fn fake_browser(dir: &std::path::Path, name: &str, log: &std::path::Path) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let script = dir.join(name);
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > '{}.tmp' && mv '{0}.tmp' '{0}'\n",
            log.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

/// The arguments the stand-in browser got, once it ran.
async fn launched(log: &std::path::Path) -> Vec<String> {
    for _ in 0..200 {
        if let Ok(text) = std::fs::read_to_string(log) {
            std::fs::remove_file(log).unwrap();
            return text.lines().map(str::to_string).collect();
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the browser was not started");
}

/// The link a private page leads to (the browser's only argument with a URL is that page).
fn page_target(file_url: &str) -> String {
    let path = url::Url::parse(file_url).unwrap().to_file_path().unwrap();
    ssotray_core::ops::private_open::target_of_page(&std::fs::read_to_string(path).unwrap())
        .expect("a page leading on")
}

/// Reads an `ext+granted-containers:` link as the Granted Containers extension's opener does:
/// Firefox hands it to `opener.html#%s` (escaped once, which this models; Firefox itself is not
/// on this machine), the page `decodeURIComponent`s the hash, checks the protocol, reads the rest
/// with `URLSearchParams`, requires `name` and `url`, parses the URL with `new URL`, and keeps
/// colour and icon only from their sets.
const OPENER: &str = r##"
const link = process.argv[1];
const hash = "#" + encodeURIComponent(link);
const uri = decodeURIComponent(hash.slice(1));
const prefix = "ext+granted-containers:";
if (!uri.startsWith(prefix)) throw new Error("unknown URI protocol");
const params = new URLSearchParams(uri.slice(prefix.length));
const name = params.get("name");
if (!name) throw new Error("container name is required");
const url = params.get("url");
if (!url) throw new Error("container name is required");
new URL(url);
const colors = ["blue", "turquoise", "green", "yellow", "orange", "red", "pink", "purple"];
const icons = ["fingerprint", "briefcase", "dollar", "cart", "circle", "gift", "vacation", "food", "fruit", "pet", "tree", "chill"];
const color = colors.includes(params.get("color")) ? params.get("color") : null;
const icon = icons.includes(params.get("icon")) ? params.get("icon") : null;
console.log(JSON.stringify({ name, url, color, icon, keys: [...params.keys()] }));
"##;

async fn as_the_extension_reads(link: &str) -> serde_json::Value {
    let o = run(std::path::Path::new("node"), &["-e", OPENER, link], &[]).await;
    assert_ok(&o);
    serde_json::from_str(stdout(&o).trim()).unwrap()
}

/// The console page a sign-in URL lands on.
async fn console_page(url: &str) -> String {
    let page = reqwest::get(url).await.unwrap();
    assert!(page.url().path().starts_with("/console/"), "{}", page.url());
    page.text().await.unwrap()
}

#[tokio::test]
async fn consoles_open_in_each_roles_firefox_container_or_chrome_profile() {
    let w = chained_world(auto()).await;
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("argv.txt");
    let firefox = fake_browser(tmp.path(), "firefox", &log);
    let chrome = fake_browser(tmp.path(), "chrome", &log);
    let settings = w.home.path().join(".config/ssotray/settings.toml");
    std::fs::create_dir_all(settings.parent().unwrap()).unwrap();
    std::fs::write(
        &settings,
        format!(
            "[sessions.my-sso]\nopen_in = \"firefox-container\"\nbrowser_executable = \"{ff}\"\n\n[roles.deploy]\ncontainer_color = \"red\"\ncontainer_icon = \"briefcase\"\n\n[roles.dev]\nopen_in = \"chrome\"\nbrowser_profile = \"Dev Work\"\nbrowser_executable = \"{ch}\"\n",
            ff = firefox.display(),
            ch = chrome.display()
        ),
    )
    .unwrap();
    // Chrome's own list of profiles: "Dev Work" lives in directory "Profile 7".
    let chrome_dir = w.home.path().join(".config/google-chrome");
    std::fs::create_dir_all(&chrome_dir).unwrap();
    std::fs::write(
        chrome_dir.join("Local State"),
        r#"{"profile":{"info_cache":{"Default":{"name":"Person 1"},"Profile 7":{"name":"Dev Work"}}}}"#,
    )
    .unwrap();
    let env = sdk_env(&w);

    // A chained role in its own container, with the role's colour and icon.
    let o = run(&bin("ssotray"), &["console", "--profile", "deploy"], &env).await;
    assert_ok(&o);
    assert!(
        stderr(&o).contains("in Firefox container `deploy`"),
        "{}",
        stderr(&o)
    );
    let argv = launched(&log).await;
    assert_eq!(argv[0], "--new-tab");
    assert_eq!(argv.len(), 2, "{argv:?}");
    assert!(
        argv[1].starts_with("file:///"),
        "only a private page on the command line: {argv:?}"
    );
    let link = page_target(&argv[1]);
    assert!(
        link.starts_with("ext+granted-containers:name=deploy&url=http"),
        "{link}"
    );
    let read = as_the_extension_reads(&link).await;
    assert_eq!(read["name"], "deploy");
    assert_eq!(
        (read["color"].as_str(), read["icon"].as_str()),
        (Some("red"), Some("briefcase"))
    );
    let html = console_page(read["url"].as_str().unwrap()).await;
    assert!(
        html.contains("<span id=\"account-id\">333333333333</span>")
            && html.contains("<span id=\"role-name\">Deployer</span>"),
        "the right role's sign-in URL: {html}"
    );

    // An SSO role with only the session's setting: named by its profile, no colour or icon.
    let o = run(&bin("ssotray"), &["console", "--profile", "prod-ro"], &env).await;
    assert_ok(&o);
    let link = page_target(&launched(&log).await[1]);
    let read = as_the_extension_reads(&link).await;
    assert_eq!(read["name"], "prod-ro");
    assert_eq!(read["keys"], serde_json::json!(["name", "url"]));
    let html = console_page(read["url"].as_str().unwrap()).await;
    assert!(
        html.contains("333333333333") && html.contains("ReadOnlyAccess"),
        "{html}"
    );

    // The role's own setting wins: Chrome, in the profile directory Chrome keeps "Dev Work" in.
    let o = run(&bin("ssotray"), &["console", "--profile", "dev"], &env).await;
    assert_ok(&o);
    let argv = launched(&log).await;
    assert_eq!(
        argv[..3],
        [
            "--profile-directory=Profile 7",
            "--no-first-run",
            "--no-default-browser-check"
        ]
    );
    assert_eq!(argv.len(), 4);
    let html = console_page(&page_target(&argv[3])).await;
    assert!(
        html.contains("<span id=\"account-id\">111111111111</span>")
            && html.contains("<span id=\"role-name\">AdministratorAccess</span>"),
        "{html}"
    );

    // A colour the extension would drop silently is refused when the settings are read.
    std::fs::write(&settings, "[roles.deploy]\ncontainer_color = \"mauve\"\n").unwrap();
    let o = run(&bin("ssotray"), &["console", "--profile", "deploy"], &env).await;
    assert_fails_with(
        &o,
        "roles.\"deploy\".container_color = \"mauve\" is not one of blue, turquoise",
    );
}

#[tokio::test]
async fn a_service_destination_lands_in_the_profiles_region_and_partition() {
    let config = format!(
        "{CONFIG}{CHAINED}
[profile gov]
sso_session = my-sso
sso_account_id = 111111111111
sso_role_name = ReadOnlyAccess
region = us-gov-east-1

[profile china]
sso_session = my-sso
sso_account_id = 111111111111
sso_role_name = ReadOnlyAccess
region = cn-northwest-1
"
    );
    let w = World::new(&config, auto()).await;
    assert_ok(
        &w.ssotray(&["login", "my-sso", "--device-code", "--no-browser"])
            .await,
    );
    let env = sdk_env(&w);
    for (profile, service, destination) in [
        (
            "gov",
            "ec2",
            "https://us-gov-east-1.console.amazonaws-us-gov.com/ec2/v2/home?region=us-gov-east-1",
        ),
        (
            "china",
            "ec2",
            "https://cn-northwest-1.console.amazonaws.cn/ec2/v2/home?region=cn-northwest-1",
        ),
        (
            "deploy",
            "lambda",
            "https://eu-west-1.console.aws.amazon.com/lambda/home?region=eu-west-1",
        ),
    ] {
        let o = run(
            &bin("ssotray"),
            &[
                "console",
                "--profile",
                profile,
                "--service",
                service,
                "--print",
            ],
            &env,
        )
        .await;
        assert_ok(&o);
        let url = url::Url::parse(stdout(&o).trim()).unwrap();
        let given = url
            .query_pairs()
            .find(|(k, _)| k == "Destination")
            .map(|(_, v)| v.into_owned());
        assert_eq!(given.as_deref(), Some(destination), "{profile}");
        let html = console_page(url.as_str()).await;
        assert!(html.contains(&destination.replace('&', "&amp;")), "{html}");
    }
    let o = run(
        &bin("ssotray"),
        &[
            "console",
            "--profile",
            "gov",
            "--service",
            "nope",
            "--print",
        ],
        &env,
    )
    .await;
    assert_fails_with(&o, "unknown service `nope`; use one of");
}
