//! Chained profiles: `role_arn` on top of `source_profile`, down to an SSO profile (spec
//! credential-protocols §1.7), and the AWS CLI's assume-role cache (§1.8), which ssotray shares.
//!
//! A chain is resolved here without I/O; the AssumeRole calls are `sts`'s and the engine's.
//!
//! `ChainedProfile` is `config`'s. `resolve` walks down to an SSO profile, naming loops, missing
//! profiles, `mfa_serial` and `credential_source`, and keeps the profile's own region. The
//! assume-role cache key is the AWS CLI's (sha1 of Python's `json.dumps(sort_keys=True)`), and so
//! is the entry format.

use crate::aws::config::AwsConfig;
pub use crate::aws::config::{parse_role_arn, ChainedProfile};
use crate::aws::portal::RoleCredentials;
use crate::platform::secret::Secret;
use chrono::{DateTime, Utc};

/// A chained profile resolved down to its SSO profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chain {
    /// The SSO profile at the bottom.
    pub base: String,
    /// The roles to assume, from the bottom up: the first with the SSO role's credentials, the
    /// last is the profile asked for.
    pub steps: Vec<ChainedProfile>,
    /// The profile's own `region` (botocore signs with it and ignores the sources' regions).
    pub region: Option<String>,
}

/// Why a chained profile cannot be followed; each names the profiles involved and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    /// One of the profile's role settings is broken (the config's own message).
    #[error("{0}")]
    Broken(String),
    /// The role needs an MFA code.
    #[error("profile `{0}` has `mfa_serial`: ssotray does not assume roles that need an MFA code; use the AWS CLI for this profile, or remove `mfa_serial` if the role does not require MFA")]
    NeedsMfa(String),
    /// Both ways of naming the source.
    #[error("profile `{0}` has both `source_profile` and `credential_source`; keep one (ssotray supports `source_profile`)")]
    TwoSources(String),
    /// `credential_source` (EC2, ECS, environment) is not something ssotray has.
    #[error("profile `{profile}` has `credential_source = {value}`: not supported by ssotray, which assumes roles on top of SSO profiles only; use `source_profile = <an SSO profile>`")]
    CredentialSource {
        /// The profile.
        profile: String,
        /// Its `credential_source`.
        value: String,
    },
    /// `role_arn` with nothing to assume it from.
    #[error("profile `{0}` has `role_arn` but no `source_profile`; add `source_profile = <an SSO profile>`")]
    NoSource(String),
    /// The sources go round.
    #[error("`source_profile` goes round in a loop: {}; point one of them at an SSO profile", .0.join(" → "))]
    Loop(Vec<String>),
    /// The chain ends at a profile whose settings are broken.
    #[error("profile `{base}` (source_profile of `{of}`) is broken: {problem}")]
    BrokenBase {
        /// The profile at the end of the chain.
        base: String,
        /// The profile that names it.
        of: String,
        /// The config's message.
        problem: String,
    },
    /// The chain ends at a profile without SSO settings.
    #[error("profile `{base}` (source_profile of `{of}`) has no SSO settings: ssotray assumes roles on top of SSO profiles only (not static keys); point `source_profile` at an SSO profile")]
    NotSso {
        /// The profile at the end of the chain.
        base: String,
        /// The profile that names it.
        of: String,
    },
    /// The chain names a profile that is not there.
    #[error("profile `{base}` (source_profile of `{of}`) does not exist in `{}`; add it or correct the name", .config.display())]
    Missing {
        /// The missing profile.
        base: String,
        /// The profile that names it.
        of: String,
        /// The config file.
        config: std::path::PathBuf,
    },
}

/// Resolves `name` if it is a chained profile (`Ok(None)` if it is not one).
pub fn resolve(config: &AwsConfig, name: &str) -> Result<Option<Chain>, ChainError> {
    if config.chained_profile(name).is_none() {
        if let Some(p) = config.problems_in(&section_of(name)).first() {
            if p.key.as_deref() == Some("role_arn")
                || p.key.as_deref() == Some("duration_seconds")
                || p.key.as_deref() == Some("role_session_name")
            {
                return Err(ChainError::Broken(p.to_string()));
            }
        }
        return Ok(None);
    }
    let mut steps: Vec<ChainedProfile> = Vec::new();
    let mut path = vec![name.to_string()];
    let mut current = name.to_string();
    let base = loop {
        let Some(p) = config.chained_profile(&current) else {
            break current;
        };
        if p.mfa_serial.is_some() {
            return Err(ChainError::NeedsMfa(p.name.clone()));
        }
        let source = match (&p.source_profile, &p.credential_source) {
            (Some(_), Some(_)) => return Err(ChainError::TwoSources(p.name.clone())),
            (None, Some(c)) => {
                return Err(ChainError::CredentialSource {
                    profile: p.name.clone(),
                    value: c.clone(),
                })
            }
            (None, None) => return Err(ChainError::NoSource(p.name.clone())),
            (Some(s), None) => s.clone(),
        };
        steps.push(p.clone());
        if path.contains(&source) {
            path.push(source);
            return Err(ChainError::Loop(path));
        }
        path.push(source.clone());
        current = source;
    };
    let of = steps.last().map_or(name, |s| s.name.as_str()).to_string();
    match config.profile(&base) {
        Some(_) => {}
        None if config.all_profiles.contains(&base) => {
            let broken = config.problems_in(&section_of(&base));
            return Err(match broken.first() {
                Some(p) => ChainError::BrokenBase {
                    base,
                    of,
                    problem: p.to_string(),
                },
                None => ChainError::NotSso { base, of },
            });
        }
        None => {
            return Err(ChainError::Missing {
                base,
                of,
                config: config.path.clone(),
            })
        }
    }
    steps.reverse();
    let region = config.chained_profile(name).and_then(|c| c.region.clone());
    Ok(Some(Chain {
        base,
        steps,
        region,
    }))
}

fn section_of(name: &str) -> String {
    if name == "default" {
        "default".into()
    } else {
        format!("profile {name}")
    }
}

/// The AWS CLI's cache key for an AssumeRole (§1.8): the SHA-1 of Python's
/// `json.dumps(args, sort_keys=True)` of `RoleArn` and whichever of `DurationSeconds`,
/// `ExternalId` and `RoleSessionName` the profile sets.
pub fn cache_key(step: &ChainedProfile) -> String {
    use sha1::Digest;
    let mut parts: Vec<String> = Vec::new();
    if let Some(d) = step.duration_seconds {
        parts.push(format!("\"DurationSeconds\": {d}"));
    }
    if let Some(e) = &step.external_id {
        parts.push(format!("\"ExternalId\": {}", python_json_string(e)));
    }
    parts.push(format!(
        "\"RoleArn\": {}",
        python_json_string(&step.role_arn)
    ));
    if let Some(n) = &step.role_session_name {
        parts.push(format!("\"RoleSessionName\": {}", python_json_string(n)));
    }
    let text = format!("{{{}}}", parts.join(", "));
    hex::encode(sha1::Sha1::digest(text.as_bytes()))
}

/// A string as Python's `json.dumps` writes it (ASCII only, `\uXXXX` for the rest).
fn python_json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// An AssumeRole answer.
#[derive(Clone)]
pub struct AssumedRole {
    /// The credentials (`account_id` from the ARN).
    pub credentials: RoleCredentials,
    /// `AssumedRoleUser/Arn`.
    pub arn: String,
    /// `AssumedRoleUser/AssumedRoleId`.
    pub assumed_role_id: String,
    /// `ResponseMetadata/RequestId`.
    pub request_id: String,
}

impl std::fmt::Debug for AssumedRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AssumedRole")
            .field("credentials", &self.credentials)
            .field("arn", &self.arn)
            .finish_non_exhaustive()
    }
}

/// The account id in an assumed-role ARN (`arn:aws:sts::ACCOUNT:assumed-role/…`).
pub fn account_of_arn(arn: &str) -> Option<&str> {
    let account = arn.split(':').nth(4)?;
    (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())).then_some(account)
}

/// The cache entry as the AWS CLI writes it (`Expiration` as `…UTC`).
pub fn to_cli_cache_json(a: &AssumedRole) -> String {
    serde_json::json!({
        "Credentials": {
            "AccessKeyId": a.credentials.access_key_id,
            "SecretAccessKey": a.credentials.secret_access_key.expose(),
            "SessionToken": a.credentials.session_token.expose(),
            "Expiration": a.credentials.expiration.format("%Y-%m-%dT%H:%M:%SUTC").to_string(),
            "AccountId": a.credentials.account_id,
        },
        "AssumedRoleUser": { "AssumedRoleId": a.assumed_role_id, "Arn": a.arn },
        "ResponseMetadata": { "RequestId": a.request_id },
    })
    .to_string()
}

/// Reads an assume-role cache entry (the CLI's or ssotray's); `None` if it is not one.
pub fn from_cli_cache_json(bytes: &[u8]) -> Option<AssumedRole> {
    let v: serde_json::Value =
        serde_json::from_slice(crate::platform::files::strip_bom(bytes)).ok()?;
    let c = v.get("Credentials")?;
    let s = |v: &serde_json::Value, k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
    let user = v.get("AssumedRoleUser")?;
    let arn = s(user, "Arn")?;
    let account_id = s(c, "AccountId").or_else(|| account_of_arn(&arn).map(str::to_string))?;
    Some(AssumedRole {
        credentials: RoleCredentials {
            access_key_id: s(c, "AccessKeyId")?,
            secret_access_key: Secret::new(s(c, "SecretAccessKey")?),
            session_token: Secret::new(s(c, "SessionToken")?),
            expiration: parse_expiration(&s(c, "Expiration")?)?,
            account_id,
        },
        assumed_role_id: s(user, "AssumedRoleId").unwrap_or_default(),
        arn,
        request_id: v
            .pointer("/ResponseMetadata/RequestId")
            .and_then(|x| x.as_str())
            .unwrap_or_default()
            .to_string(),
    })
}

/// `2026-01-01T00:00:00UTC`, `…Z` or with an offset.
pub fn parse_expiration(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Some(naive) = text.strip_suffix("UTC") {
        return chrono::NaiveDateTime::parse_from_str(naive, "%Y-%m-%dT%H:%M:%S")
            .ok()
            .map(|n| n.and_utc());
    }
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    const BASE: &str = "[sso-session s]\nsso_start_url = https://d-1.awsapps.com/start\nsso_region = eu-west-1\n[profile sso-dev]\nsso_session = s\nsso_account_id = 111111111111\nsso_role_name = Admin\nregion = us-west-2\n";

    fn config(extra: &str) -> AwsConfig {
        AwsConfig::parse(PathBuf::from("/c"), &format!("{BASE}{extra}"))
    }

    #[test]
    fn resolves_a_chain_down_to_the_sso_profile() {
        let c = config("[profile deploy]\nrole_arn = arn:aws:iam::333333333333:role/Deployer\nsource_profile = sso-dev\n[profile audit]\nrole_arn = arn:aws:iam::222222222222:role/team/Auditor\nsource_profile = deploy\nexternal_id = ext-1\nregion = eu-central-1\n");
        let chain = resolve(&c, "audit").unwrap().unwrap();
        assert_eq!(chain.base, "sso-dev");
        let names: Vec<&str> = chain.steps.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["deploy", "audit"]);
        assert_eq!(chain.region.as_deref(), Some("eu-central-1"));
        assert_eq!(chain.steps[1].role_name(), "Auditor");
        assert_eq!(chain.steps[1].account_id(), "222222222222");
        // Only the profile's own region counts, as for botocore.
        assert_eq!(resolve(&c, "deploy").unwrap().unwrap().region, None);
        assert_eq!(resolve(&c, "sso-dev").unwrap(), None);
    }

    #[test]
    fn names_loops_missing_profiles_and_what_is_not_supported() {
        let c = config("[profile a]\nrole_arn = arn:aws:iam::333333333333:role/A\nsource_profile = b\n[profile b]\nrole_arn = arn:aws:iam::333333333333:role/B\nsource_profile = a\n");
        let e = resolve(&c, "a").unwrap_err().to_string();
        assert!(e.contains("a → b → a"), "{e}");
        let c = config(
            "[profile self]\nrole_arn = arn:aws:iam::333333333333:role/A\nsource_profile = self\n",
        );
        assert!(resolve(&c, "self")
            .unwrap_err()
            .to_string()
            .contains("self → self"));
        let c = config(
            "[profile a]\nrole_arn = arn:aws:iam::333333333333:role/A\nsource_profile = nope\n",
        );
        let e = resolve(&c, "a").unwrap_err().to_string();
        assert!(
            e.contains("`nope` (source_profile of `a`) does not exist"),
            "{e}"
        );
        let c = config("[profile keys]\naws_access_key_id = AKIA\n[profile a]\nrole_arn = arn:aws:iam::333333333333:role/A\nsource_profile = keys\n");
        assert!(resolve(&c, "a")
            .unwrap_err()
            .to_string()
            .contains("no SSO settings"));
        let c = config("[profile m]\nrole_arn = arn:aws:iam::333333333333:role/A\nsource_profile = sso-dev\nmfa_serial = arn:aws:iam::111111111111:mfa/me\n");
        assert!(resolve(&c, "m")
            .unwrap_err()
            .to_string()
            .contains("`mfa_serial`"));
        let c = config("[profile e]\nrole_arn = arn:aws:iam::333333333333:role/A\ncredential_source = Ec2InstanceMetadata\n");
        let e = resolve(&c, "e").unwrap_err().to_string();
        assert!(
            e.contains("credential_source = Ec2InstanceMetadata") && e.contains("not supported"),
            "{e}"
        );
        let c = config("[profile bad]\nrole_arn = nonsense\nsource_profile = sso-dev\n");
        assert!(resolve(&c, "bad")
            .unwrap_err()
            .to_string()
            .contains("not a role ARN"));
        let c = config("[profile d]\nrole_arn = arn:aws:iam::333333333333:role/A\nsource_profile = sso-dev\nduration_seconds = 60\n");
        assert!(resolve(&c, "d")
            .unwrap_err()
            .to_string()
            .contains("900 to 43200"));
    }

    #[test]
    fn cache_keys_are_the_aws_clis() {
        let step = |d: Option<u32>| ChainedProfile {
            name: "x".into(),
            role_arn: "arn:aws:iam::123456789012:role/Admin".into(),
            source_profile: None,
            credential_source: None,
            mfa_serial: None,
            role_session_name: None,
            external_id: None,
            duration_seconds: d,
            region: None,
        };
        // The spec's examples, file names the AWS CLI wrote.
        assert_eq!(
            cache_key(&step(None)),
            "51e7b105b5040ce662656c8dc6ab4de70c4de7ad"
        );
        assert_eq!(
            cache_key(&step(Some(3600))),
            "d01f726b6165762f6f71e742b03b1bc031b82dbf"
        );
        assert_eq!(python_json_string("é/\""), "\"\\u00e9/\\\"\"");
    }

    #[test]
    fn cache_entries_round_trip_in_the_clis_format() {
        let a = AssumedRole {
            credentials: RoleCredentials {
                access_key_id: "ASIAX".into(),
                secret_access_key: Secret::new("s"),
                session_token: Secret::new("t"),
                expiration: DateTime::parse_from_rfc3339("2026-01-01T13:00:00Z")
                    .unwrap()
                    .with_timezone(&Utc),
                account_id: "333333333333".into(),
            },
            arn: "arn:aws:sts::333333333333:assumed-role/Deployer/s".into(),
            assumed_role_id: "AROAX:s".into(),
            request_id: "r".into(),
        };
        let json = to_cli_cache_json(&a);
        assert!(
            json.contains("\"Expiration\":\"2026-01-01T13:00:00UTC\""),
            "{json}"
        );
        let b = from_cli_cache_json(json.as_bytes()).unwrap();
        assert_eq!(b.credentials.expiration, a.credentials.expiration);
        assert_eq!(b.arn, a.arn);
        assert_eq!(b.credentials.account_id, "333333333333");
        assert!(from_cli_cache_json(b"{}").is_none());
        assert!(!format!("{b:?}").contains("\"s\""));
    }
}
