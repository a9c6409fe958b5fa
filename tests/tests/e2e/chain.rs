//! Roles on top of roles: `role_arn` profiles whose `source_profile` leads down to an SSO
//! profile, assumed through the simulator's STS (AssumeRole, SigV4-verified, chaining limits),
//! compared with what botocore and aws-config resolve by themselves from the same config.

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
async fn a_two_hop_chain_gives_the_identity_botocore_and_aws_config_resolve_by_themselves() {
    let w = chained_world(auto()).await;
    let creds = credentials(&w, "audit").await;
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

    // ssotray's credentials went into the AWS CLI's assume-role cache (the CLI's key: sha1 of
    // {"RoleArn": …, "RoleSessionName": "alice"}), mode 0600, and are reused from it.
    let cache = w.home.aws().join("cli/cache");
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
        2 + 2 + 2,
        "ssotray's second call used the cache (botocore and aws-config each assumed twice)"
    );
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
    assert!(arn_of(&w, &creds)
        .await
        .starts_with("arn:aws:sts::222222222222:assumed-role/Partner/ssotray-"));
    let s = w.stats().await;
    assert_eq!(count(&s, "AssumeRoleRefused"), 2);

    // A signature by the wrong secret: refused by the simulator, said by ssotray's STS client.
    let good: serde_json::Value = credentials(&w, "dev").await;
    let source = ssotray_core::portal::RoleCredentials {
        access_key_id: good["AccessKeyId"].as_str().unwrap().into(),
        secret_access_key: ssotray_core::Secret::new("not-the-secret"),
        session_token: ssotray_core::Secret::new(good["SessionToken"].as_str().unwrap()),
        expiration: chrono::Utc::now() + chrono::Duration::hours(1),
        account_id: "111111111111".into(),
    };
    let e = ssotray_core::sts::assume_role(
        &reqwest::Client::new(),
        &url::Url::parse(&w.sim.base_url).unwrap(),
        "eu-west-1",
        &source,
        &ssotray_core::sts::AssumeRoleInput {
            role_arn: "arn:aws:iam::333333333333:role/Deployer",
            role_session_name: "s1",
            external_id: None,
            duration_seconds: None,
        },
        chrono::Utc::now(),
    )
    .await
    .unwrap_err();
    assert!(
        e.to_string().starts_with(
            "SignatureDoesNotMatch (HTTP 403): The request signature we calculated does not match"
        ),
        "{e}"
    );
    // The same call with the right secret is accepted: the refusal was the signature's.
    let source = ssotray_core::portal::RoleCredentials {
        secret_access_key: ssotray_core::Secret::new(good["SecretAccessKey"].as_str().unwrap()),
        ..source
    };
    let ok = ssotray_core::sts::assume_role(
        &reqwest::Client::new(),
        &url::Url::parse(&w.sim.base_url).unwrap(),
        "eu-west-1",
        &source,
        &ssotray_core::sts::AssumeRoleInput {
            role_arn: "arn:aws:iam::333333333333:role/Deployer",
            role_session_name: "s1",
            external_id: None,
            duration_seconds: None,
        },
        chrono::Utc::now(),
    )
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
    let creds = credentials(&w, "deploy").await;
    assert!(arn_of(&w, &creds)
        .await
        .starts_with("arn:aws:sts::333333333333:assumed-role/Deployer/"));
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
async fn a_chained_profile_is_served_to_a_program_under_exec() {
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
    assert!(!stderr(&o).contains("Secret"), "{}", stderr(&o));
}
