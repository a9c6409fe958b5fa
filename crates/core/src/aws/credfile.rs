//! Sections ssotray exports into the AWS shared credentials file (`~/.aws/credentials`) for tools
//! that read nothing else (`ssotray credentials --export-as NAME`).
//!
//! An exported section carries its own record: a comment line naming the profile it comes from
//! (so the keeper knows what to rewrite, `status` what to list, and a section the user wrote is
//! never taken for one of ssotray's) and `x_security_token_expires` (the convention of saml2aws and
//! gimme-aws-creds; every SDK ignores unknown keys). Edits are line-based: every byte outside the
//! section is kept, line endings included; a section of the same name that ssotray did not write
//! is refused, never replaced.
//!
//! `set_export` and `remove_export` do those edits, keeping CRLF, and refuse credentials with a
//! control character. `replace_export` is the keeper's rewrite, and only in place: it never creates
//! a section, so a section removed (unexported, logged out) or exported anew meanwhile is not
//! brought back.

use crate::aws::portal::RoleCredentials;
use crate::platform::time::{format_timestamp, parse_timestamp};
use chrono::{DateTime, Utc};

/// The start of the marker comment; the profile follows in backticks.
pub const MARKER: &str = "# Written by ssotray from profile `";
/// The key holding the credentials' expiry.
pub const EXPIRES_KEY: &str = "x_security_token_expires";

/// One exported section, as read back from the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Export {
    /// The section's name (the profile name tools use).
    pub name: String,
    /// The SSO profile it is exported from.
    pub profile: String,
    /// When its credentials expire (`None`: the key is missing or unreadable).
    pub expires: Option<DateTime<Utc>>,
}

/// The section name of a header line (`[name]`, spaces around it allowed), if it is one.
/// As Python's configparser (botocore) reads it: up to the last `]`, so `[work] ; mine` is
/// section `work`.
fn header(line: &str) -> Option<&str> {
    let t = line.trim().strip_prefix('[')?;
    t.rfind(']').map(|end| t[..end].trim())
}

/// The lines of `text`, each with its line ending.
fn lines(text: &str) -> Vec<&str> {
    text.split_inclusive('\n').collect()
}

/// Where section `name` is: the index of its header line and one past its last line that is not
/// blank or a comment (comments and blank lines before the next header belong to what follows).
fn find(lines: &[&str], name: &str) -> Option<(usize, usize)> {
    let start = lines.iter().position(|l| header(l) == Some(name))?;
    let next = lines[start + 1..]
        .iter()
        .position(|l| header(l).is_some())
        .map_or(lines.len(), |i| start + 1 + i);
    let mut end = next;
    while end > start + 1 {
        let t = lines[end - 1].trim();
        if t.is_empty() || ((t.starts_with('#') || t.starts_with(';')) && !t.starts_with(MARKER)) {
            end -= 1;
        } else {
            break;
        }
    }
    Some((start, end))
}

/// The profile named by an exported section's marker, if the section has one.
fn marked_profile(section: &[&str]) -> Option<String> {
    section.iter().find_map(|l| {
        let rest = l.trim().strip_prefix(MARKER)?;
        rest.split_once('`').map(|(p, _)| p.to_string())
    })
}

/// The keys of section `name` (the first of that name) in INI text, as written; `None` when there
/// is no such section.
pub fn section_keys(text: &str, name: &str) -> Option<Vec<String>> {
    let all = lines(text);
    let (start, end) = find(&all, name)?;
    Some(
        all[start + 1..end]
            .iter()
            .filter(|l| !l.starts_with([' ', '\t']))
            .filter_map(|l| l.split_once('=').map(|(k, _)| k.trim().to_string()))
            .filter(|k| !k.is_empty() && !k.starts_with(['#', ';']))
            .collect(),
    )
}

/// Every section ssotray exported, in file order.
pub fn exports(text: &str) -> Vec<Export> {
    let lines = lines(text);
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let Some(name) = header(l) else { continue };
        let Some((start, end)) = find(&lines, name).filter(|(s, _)| *s == i) else {
            continue;
        };
        let section = &lines[start..end];
        let Some(profile) = marked_profile(section) else {
            continue;
        };
        let expires = section.iter().find_map(|l| {
            let (k, v) = l.split_once('=')?;
            (k.trim() == EXPIRES_KEY)
                .then(|| parse_timestamp(v.trim()))
                .flatten()
        });
        out.push(Export {
            name: name.to_string(),
            profile,
            expires,
        });
    }
    out
}

/// The section's text (its lines ending in `eol`).
fn section(name: &str, profile: &str, c: &RoleCredentials, eol: &str) -> String {
    [
        format!("[{name}]"),
        format!("{MARKER}{profile}` (sso); the keeper rewrites it before it expires. Remove with `ssotray credentials --unexport {name}`."),
        format!("aws_access_key_id = {}", c.access_key_id),
        format!("aws_secret_access_key = {}", c.secret_access_key.expose()),
        format!("aws_session_token = {}", c.session_token.expose()),
        format!("{EXPIRES_KEY} = {}", format_timestamp(c.expiration)),
    ]
    .iter()
    .map(|l| format!("{l}{eol}"))
    .collect()
}

/// Why a change of the credentials file is refused; each message says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredfileError {
    /// The section name cannot be written as one (the config's rule for names).
    #[error("{0}")]
    BadName(String),
    /// The profile's name cannot be recorded in the section's marker.
    #[error("profile `{0}` has a backtick or control character in its name, which ssotray cannot record in the credentials file; rename the profile")]
    BadProfile(String),
    /// A value of the credentials cannot go on one line.
    #[error("the role credentials' {0} is empty or holds a control character or space at an end; ssotray will not write it into the credentials file")]
    BadValue(&'static str),
    /// A section of that name is the user's own.
    #[error("the credentials file already has a [{0}] section that ssotray did not write; choose another name, or remove that section first")]
    Taken(String),
    /// The section to remove is the user's own.
    #[error("[{0}] in the credentials file was not written by ssotray; it is left as it is")]
    NotOurs(String),
}

/// Why credentials from STS or the portal cannot go into the file as they are, if they cannot:
/// a line break or other control character in a value would end its line and could start a
/// section or a key (a `credential_process`) of the sender's choosing. Refused, never escaped.
fn credentials_problem(c: &RoleCredentials) -> Option<CredfileError> {
    [
        ("access key id", c.access_key_id.as_str()),
        ("secret access key", c.secret_access_key.expose()),
        ("session token", c.session_token.expose()),
    ]
    .into_iter()
    .find(|(_, v)| v.is_empty() || v.chars().any(char::is_control) || v.trim() != *v)
    .map(|(what, _)| CredfileError::BadValue(what))
}

/// Checks what goes into a section: its name, the profile recorded in its marker, the values.
fn check(name: &str, profile: &str, c: &RoleCredentials) -> Result<(), CredfileError> {
    if let Some(why) = crate::aws::config::ini_problem("the section name", name, true) {
        return Err(CredfileError::BadName(why));
    }
    if profile.contains('`') || profile.chars().any(char::is_control) {
        return Err(CredfileError::BadProfile(profile.to_string()));
    }
    credentials_problem(c).map_or(Ok(()), Err)
}

/// The text with section `name` holding these credentials: replaced in place when ssotray wrote
/// it, appended when there is none. `Err` when a section of that name is the user's own.
pub fn set_export(
    text: &str,
    name: &str,
    profile: &str,
    c: &RoleCredentials,
) -> Result<String, CredfileError> {
    check(name, profile, c)?;
    let eol = crate::aws::config::line_end(text);
    let all = lines(text);
    match find(&all, name) {
        Some((start, end)) => {
            if marked_profile(&all[start..end]).is_none() {
                return Err(CredfileError::Taken(name.to_string()));
            }
            Ok(replaced(&all, (start, end), name, profile, c, eol))
        }
        None => {
            let mut out = text.to_string();
            if !out.is_empty() {
                if !out.ends_with('\n') {
                    out.push_str(eol);
                }
                out.push_str(eol);
            }
            out.push_str(&section(name, profile, c, eol));
            Ok(out)
        }
    }
}

/// The lines with the section at `at` replaced by one holding these credentials.
fn replaced(
    all: &[&str],
    (start, end): (usize, usize),
    name: &str,
    profile: &str,
    c: &RoleCredentials,
    eol: &str,
) -> String {
    let mut out: String = all[..start].concat();
    out.push_str(&section(name, profile, c, eol));
    // The last line of the old section may have had no line ending (end of file).
    out.push_str(&all[end..].concat());
    out
}

/// The keeper's rewrite: the text with exported section `name` holding these credentials,
/// replaced in place; `Ok(None)` when there is no such section any more, or it is now exported
/// from another profile (removed or exported anew meanwhile: a rewrite never brings one back).
pub fn replace_export(
    text: &str,
    name: &str,
    profile: &str,
    c: &RoleCredentials,
) -> Result<Option<String>, CredfileError> {
    check(name, profile, c)?;
    let all = lines(text);
    let Some(at) = find(&all, name) else {
        return Ok(None);
    };
    if marked_profile(&all[at.0..at.1]).as_deref() != Some(profile) {
        return Ok(None);
    }
    let eol = crate::aws::config::line_end(text);
    Ok(Some(replaced(&all, at, name, profile, c, eol)))
}

/// The text without exported section `name` (and the one blank line that set it apart);
/// `Ok(None)` when there is no such section, `Err` when the section is the user's own.
pub fn remove_export(text: &str, name: &str) -> Result<Option<String>, CredfileError> {
    let all = lines(text);
    let Some((start, end)) = find(&all, name) else {
        return Ok(None);
    };
    if marked_profile(&all[start..end]).is_none() {
        return Err(CredfileError::NotOurs(name.to_string()));
    }
    // The blank line written before the section goes with it.
    let start = if start > 0 && all[start - 1].trim().is_empty() {
        start - 1
    } else {
        start
    };
    Ok(Some(all[..start].concat() + &all[end..].concat()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::secret::Secret;
    use chrono::TimeZone;

    fn creds(key: &str) -> RoleCredentials {
        RoleCredentials {
            access_key_id: key.into(),
            secret_access_key: Secret::new("secret"),
            session_token: Secret::new("session"),
            expiration: Utc.with_ymd_and_hms(2026, 1, 1, 13, 0, 0).unwrap(),
            account_id: "111111111111".into(),
        }
    }

    const USER: &str = "# my keys\n[default]\naws_access_key_id = AKIAUSER\naws_secret_access_key = x ; mine\n\n; before work\n[work]\naws_access_key_id = AKIAWORK\n";

    #[test]
    fn an_export_is_appended_replaced_in_place_and_removed_keeping_every_other_byte() {
        let one = set_export(USER, "exported", "dev", &creds("ASIA1")).unwrap();
        assert!(one.starts_with(USER), "appended after the user's bytes");
        assert_eq!(
            exports(&one),
            vec![Export {
                name: "exported".into(),
                profile: "dev".into(),
                expires: Some(Utc.with_ymd_and_hms(2026, 1, 1, 13, 0, 0).unwrap())
            }]
        );
        // Then a section of the user's after it, and the export rewritten in place.
        let with_more = one.clone() + "\n# user's comment\n[later]\nregion = x\n";
        let two = set_export(&with_more, "exported", "dev", &creds("ASIA2")).unwrap();
        assert!(two.contains("aws_access_key_id = ASIA2") && !two.contains("ASIA1"));
        assert!(
            two.starts_with(USER) && two.ends_with("\n# user's comment\n[later]\nregion = x\n")
        );
        assert_eq!(two.len(), with_more.len(), "same shape, same length");
        let removed = remove_export(&two, "exported").unwrap().unwrap();
        assert_eq!(
            removed,
            USER.to_string() + "\n# user's comment\n[later]\nregion = x\n"
        );
        assert_eq!(remove_export(USER, "exported").unwrap(), None);
    }

    #[test]
    fn the_users_own_sections_are_never_replaced_or_removed() {
        let e = set_export(USER, "work", "dev", &creds("ASIA1")).unwrap_err();
        assert!(e.to_string().contains("did not write"), "{e}");
        assert!(remove_export(USER, "default").is_err());
        assert!(set_export(USER, "bad]name", "dev", &creds("A")).is_err());
        assert!(set_export(USER, "two\nlines", "dev", &creds("A")).is_err());
        assert!(exports(USER).is_empty());
    }

    #[test]
    fn a_header_with_a_comment_after_it_ends_the_export_before_it() {
        let one = set_export(USER, "exported", "dev", &creds("ASIA1")).unwrap();
        // botocore reads `[later] ; mine` as section `later`: it is the user's, never ours.
        let with_more = one + "\n[later]   ; mine\nregion = x\n";
        let two = set_export(&with_more, "exported", "dev", &creds("ASIA2")).unwrap();
        assert!(two.ends_with("\n[later]   ; mine\nregion = x\n"), "{two}");
        let removed = remove_export(&two, "exported").unwrap().unwrap();
        assert_eq!(
            removed,
            USER.to_string() + "\n[later]   ; mine\nregion = x\n"
        );
        assert!(set_export(USER, "e", "pro`d", &creds("A")).is_err());
        assert_eq!(
            section_keys(USER, "default").unwrap(),
            vec!["aws_access_key_id", "aws_secret_access_key"]
        );
        assert_eq!(section_keys(USER, "nope"), None);
    }

    #[test]
    fn a_rewrite_replaces_its_section_in_place_and_never_brings_one_back() {
        let one = set_export(USER, "exported", "dev", &creds("ASIA1")).unwrap();
        let two = replace_export(&one, "exported", "dev", &creds("ASIA2"))
            .unwrap()
            .unwrap();
        assert!(two.starts_with(USER) && two.contains("ASIA2") && !two.contains("ASIA1"));
        assert_eq!(two.len(), one.len());
        // Removed meanwhile: nothing to rewrite.
        let gone = remove_export(&two, "exported").unwrap().unwrap();
        assert_eq!(
            replace_export(&gone, "exported", "dev", &creds("ASIA3")).unwrap(),
            None
        );
        // Exported anew from another profile meanwhile: not this rewrite's any more.
        let other = set_export(&gone, "exported", "prod", &creds("ASIA4")).unwrap();
        assert_eq!(
            replace_export(&other, "exported", "dev", &creds("ASIA5")).unwrap(),
            None
        );
        // The user's own section of that name is never touched.
        assert_eq!(
            replace_export(USER, "work", "dev", &creds("ASIA6")).unwrap(),
            None
        );
    }

    #[test]
    fn credentials_with_a_line_break_never_reach_the_file() {
        let mut bad = creds("ASIA1");
        bad.session_token = Secret::new("token\n[evil]\ncredential_process = sh -c x");
        let e = set_export(USER, "exported", "dev", &bad).unwrap_err();
        assert!(
            e.to_string().contains("session token") && e.to_string().contains("control character"),
            "{e}"
        );
        let mut bad = creds("ASIA\r1");
        assert!(set_export(USER, "exported", "dev", &bad).is_err());
        bad = creds("ASIA1");
        bad.secret_access_key = Secret::new("");
        assert!(set_export(USER, "exported", "dev", &bad).is_err());
        let one = set_export(USER, "exported", "dev", &creds("ASIA1")).unwrap();
        assert!(replace_export(&one, "exported", "dev", &creds("A\u{7}")).is_err());
        assert!(set_export(USER, "e", "de\nv", &creds("A")).is_err());
    }

    #[test]
    fn crlf_files_stay_crlf_and_a_file_without_a_final_newline_gets_one() {
        let crlf = "[default]\r\nregion = x\r\n";
        let out = set_export(crlf, "e", "dev", &creds("A")).unwrap();
        assert!(out.starts_with(crlf));
        assert!(!out.replace("\r\n", "").contains('\n'), "{out:?}");
        let out = set_export("[default]\nregion = x", "e", "dev", &creds("A")).unwrap();
        assert!(out.starts_with("[default]\nregion = x\n\n[e]\n"), "{out:?}");
        assert_eq!(
            set_export("", "e", "dev", &creds("A"))
                .unwrap()
                .lines()
                .next(),
            Some("[e]")
        );
    }
}
