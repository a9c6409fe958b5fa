//! Generating `[profile …]` sections for every discovered role into `~/.aws/config`.
//!
//! Only ssotray's own marked block is ever written: it is appended at the end the first time and
//! replaced in place afterwards; every byte outside it stays where it was.
//!
//! Profile names come from a template, with predictable collision handling.

use crate::ops::discovery::AccountRoles;
use std::collections::BTreeSet;

/// The default name template.
pub const DEFAULT_TEMPLATE: &str = "<account-name>.<role-name>";

/// One generated profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedProfile {
    /// Profile name.
    pub name: String,
    /// Account id.
    pub account_id: String,
    /// Role name.
    pub role_name: String,
}

fn begin_marker(session: &str) -> String {
    format!("# BEGIN ssotray profiles for sso-session {session}")
}

fn end_marker(session: &str) -> String {
    format!("# END ssotray profiles for sso-session {session}")
}

/// Keeps the characters AWS tools accept in profile names; spaces become `-`.
fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_whitespace() { '-' } else { c })
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@' | '+'))
        .collect()
}

/// Fills a template: `<account-name>`, `<account-id>`, `<role-name>`, `<session>`.
pub fn fill_template(
    template: &str,
    session: &str,
    account_id: &str,
    account_name: &str,
    role_name: &str,
) -> String {
    let account_name = if account_name.is_empty() {
        account_id
    } else {
        account_name
    };
    sanitize(
        &template
            .replace("<account-name>", account_name)
            .replace("<account-id>", account_id)
            .replace("<role-name>", role_name)
            .replace("<session>", session),
    )
}

/// Names of every profile section in `text` (`[default]` is `default`).
pub fn profile_names(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|l| {
            let l = l.trim();
            if !l.starts_with('[') {
                return None;
            }
            // Up to the last `]`, as botocore reads a header (`[profile x] # mine`).
            let header = crate::aws::config::header_part(l)?;
            let inner = header[1..header.len() - 1].trim();
            if inner == "default" {
                Some("default".to_string())
            } else {
                inner.strip_prefix("profile ").map(|n| n.trim().to_string())
            }
        })
        .collect()
}

/// Where ssotray's block for `session` is, as a byte range of whole lines; `Err` if it is broken.
fn find_block(
    text: &str,
    session: &str,
) -> Result<Option<(usize, usize)>, crate::platform::files::Invalid> {
    let (begin, end) = (begin_marker(session), end_marker(session));
    let mut offset = 0;
    let mut start = None;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_end_matches(['\n', '\r']);
        if start.is_none()
            && trimmed.starts_with(&begin)
            && (trimmed.len() == begin.len() || trimmed[begin.len()..].starts_with(' '))
        {
            start = Some(offset);
        } else if trimmed == end {
            return match start {
                Some(s) => Ok(Some((s, offset + line.len()))),
                None => Err(format!(
                    "`{end}` has no matching BEGIN line; fix or remove it by hand"
                )
                .into()),
            };
        }
        offset += line.len();
    }
    match start {
        Some(_) => Err(format!("ssotray's block for sso-session {session} has no `{end}` line; fix or remove it by hand").into()),
        None => Ok(None),
    }
}

/// Plans the profiles: sorted by account name, account id, role; a name already taken (by a
/// profile outside the block, or an earlier generated one) gets `-<account-id>`, then `-2`, `-3`….
pub fn plan(
    session: &str,
    accounts: &[AccountRoles],
    template: &str,
    taken: &BTreeSet<String>,
) -> Vec<GeneratedProfile> {
    let mut rows: Vec<(&AccountRoles, &String)> = accounts
        .iter()
        .flat_map(|a| a.roles.iter().map(move |r| (a, r)))
        .collect();
    rows.sort_by(|x, y| {
        (&x.0.account_name, &x.0.account_id, x.1).cmp(&(&y.0.account_name, &y.0.account_id, y.1))
    });
    let mut used = taken.clone();
    let mut out = Vec::new();
    for (account, role) in rows {
        let base = fill_template(
            template,
            session,
            &account.account_id,
            &account.account_name,
            role,
        );
        let mut name = base.clone();
        if used.contains(&name) {
            name = format!("{base}-{}", account.account_id);
        }
        let mut n = 2;
        while used.contains(&name) {
            name = format!("{base}-{}-{n}", account.account_id);
            n += 1;
        }
        used.insert(name.clone());
        out.push(GeneratedProfile {
            name,
            account_id: account.account_id.clone(),
            role_name: role.clone(),
        });
    }
    out
}

/// Why a generated profile cannot be written, if it cannot: its values come from the kept
/// account list, a file any process of the user can write, so each is checked for what an INI
/// line can hold, and account ids and role names for what AWS allows.
fn check(session: &str, p: &GeneratedProfile) -> Result<(), crate::platform::files::Invalid> {
    let refresh = format!(
        "; run `ssotray accounts --sso-session {session} --refresh` to fetch the list again"
    );
    if p.account_id.len() != 12 || !p.account_id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "the kept account list has an account id {:?} that is not 12 digits{refresh}",
            p.account_id
        )
        .into());
    }
    // Permission set names: letters, digits and `+=,.@_-` (IAM's pattern), up to 32.
    if p.role_name.is_empty()
        || p.role_name.len() > 64
        || !p
            .role_name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c))
    {
        return Err(format!(
            "the kept account list has a role name {:?} that is not a permission set name{refresh}",
            p.role_name
        )
        .into());
    }
    for (what, value, name) in [
        ("the session name", session, true),
        ("the profile name", p.name.as_str(), true),
    ] {
        if let Some(problem) = crate::aws::config::ini_problem(what, value, name) {
            return Err(problem.into());
        }
    }
    Ok(())
}

/// The marked block for `profiles`, with `nl` line ends; refused if any value cannot be
/// written as it is.
pub fn render_block(
    session: &str,
    profiles: &[GeneratedProfile],
    nl: &str,
) -> Result<String, crate::platform::files::Invalid> {
    if let Some(problem) = crate::aws::config::ini_problem("the session name", session, true) {
        return Err(problem.into());
    }
    let mut s = format!(
        "{} (written by `ssotray profiles generate`; changes inside this block are replaced)\n",
        begin_marker(session)
    );
    for p in profiles {
        check(session, p)?;
        s.push_str(&format!(
            "[profile {}]\nsso_session = {session}\nsso_account_id = {}\nsso_role_name = {}\n\n",
            p.name, p.account_id, p.role_name
        ));
    }
    s.push_str(&end_marker(session));
    s.push('\n');
    Ok(s.replace('\n', nl))
}

/// The new config text: `text` with ssotray's block for `session` replaced, or appended.
/// Also returns the profiles. Everything outside the block is kept byte for byte.
pub fn generate(
    text: &str,
    session: &str,
    accounts: &[AccountRoles],
    template: &str,
) -> Result<(String, Vec<GeneratedProfile>), crate::platform::files::Invalid> {
    let block = find_block(text, session)?;
    let outside = match block {
        Some((s, e)) => format!("{}{}", &text[..s], &text[e..]),
        None => text.to_string(),
    };
    let profiles = plan(session, accounts, template, &profile_names(&outside));
    let nl = crate::aws::config::line_end(text);
    let rendered = render_block(session, &profiles, nl)?;
    let new = match block {
        Some((s, e)) => format!("{}{rendered}{}", &text[..s], &text[e..]),
        None => {
            let mut t = text.to_string();
            if !t.is_empty() {
                if !t.ends_with('\n') {
                    t.push_str(nl);
                }
                t.push_str(nl);
            }
            t.push_str(&rendered);
            t
        }
    };
    Ok((new, profiles))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acct(id: &str, name: &str, roles: &[&str]) -> AccountRoles {
        AccountRoles {
            account_id: id.into(),
            account_name: name.into(),
            email_address: None,
            roles: roles.iter().map(|r| r.to_string()).collect(),
        }
    }

    #[test]
    fn names_from_templates_and_predictable_collisions() {
        let accounts = [
            acct("222222222222", "Dev Team", &["Admin"]),
            acct("111111111111", "Dev Team", &["Admin", "Read"]),
            acct("333333333333", "", &["Admin"]),
        ];
        let taken: BTreeSet<String> = ["333333333333.Admin".to_string()].into();
        let names: Vec<String> = plan("s", &accounts, DEFAULT_TEMPLATE, &taken)
            .into_iter()
            .map(|p| p.name)
            .collect();
        assert_eq!(
            names,
            [
                "333333333333.Admin-333333333333",
                "Dev-Team.Admin",
                "Dev-Team.Read",
                "Dev-Team.Admin-222222222222"
            ]
        );
        assert_eq!(
            fill_template(
                "<session>/<account-id>:<role-name>",
                "my sso",
                "1",
                "n",
                "R"
            ),
            "my-sso1R"
        );
    }

    const USER_TEXT: &str = "# my config\n[default]\nregion=eu-west-1\n\n  ; odd spacing\n[profile Dev-Team.Admin]\nregion = x";

    #[test]
    fn appends_then_replaces_only_its_block() {
        let accounts = [acct("111111111111", "Dev Team", &["Admin"])];
        let (first, profiles) = generate(USER_TEXT, "s", &accounts, DEFAULT_TEMPLATE).unwrap();
        assert!(first.starts_with(USER_TEXT));
        assert_eq!(
            profiles[0].name, "Dev-Team.Admin-111111111111",
            "the user's own profile keeps its name"
        );
        assert_eq!(
            &first[USER_TEXT.len()..],
            "\n\n# BEGIN ssotray profiles for sso-session s (written by `ssotray profiles generate`; changes inside this block are replaced)\n\
             [profile Dev-Team.Admin-111111111111]\nsso_session = s\nsso_account_id = 111111111111\nsso_role_name = Admin\n\n\
             # END ssotray profiles for sso-session s\n"
        );
        // The user adds text after the block; a second run replaces the block only.
        let edited = format!("{first}[profile mine]\nregion = y\n");
        let more = [acct("111111111111", "Dev Team", &["Admin", "Read"])];
        let (second, _) = generate(&edited, "s", &more, DEFAULT_TEMPLATE).unwrap();
        assert!(second.starts_with(USER_TEXT));
        assert!(second
            .ends_with("# END ssotray profiles for sso-session s\n[profile mine]\nregion = y\n"));
        assert!(second.contains("[profile Dev-Team.Read]\n"));
        assert_eq!(
            generate(&second, "s", &more, DEFAULT_TEMPLATE).unwrap().0,
            second,
            "idempotent"
        );
        // Another session's block is a separate block.
        let (third, _) = generate(&second, "other", &more, DEFAULT_TEMPLATE).unwrap();
        assert!(third.starts_with(&second));
    }

    #[test]
    fn values_from_the_kept_account_list_are_checked_not_escaped() {
        let evil = [
            (
                acct("111111111111\n[profile evil]", "a", &["R"]),
                "not 12 digits",
            ),
            (
                acct("111111111111", "a", &["R\ncredential_process = sh -c x"]),
                "not a permission set name",
            ),
            (
                acct("111111111111", "a", &["R]x"]),
                "not a permission set name",
            ),
            (
                acct("111111111111", "a", &[""]),
                "not a permission set name",
            ),
        ];
        for (account, why) in evil {
            let err = generate(USER_TEXT, "s", &[account], DEFAULT_TEMPLATE).unwrap_err();
            assert!(err.contains(why) && err.contains("--refresh"), "{err}");
        }
        // A template that sanitizes to nothing gives no empty section name.
        let err = generate(USER_TEXT, "s", &[acct("111111111111", "a", &["R"])], "[]").unwrap_err();
        assert!(err.contains("the profile name \"\" is empty"), "{err}");
        // Accounts with names that would break a line are fine: names are sanitized.
        let (text, profiles) = generate(
            USER_TEXT,
            "s",
            &[acct("111111111111", "Dev\n[x]", &["R"])],
            DEFAULT_TEMPLATE,
        )
        .unwrap();
        assert_eq!(profiles[0].name, "Dev-x.R");
        assert!(text.contains("[profile Dev-x.R]\n"));
    }

    #[test]
    fn a_block_in_a_windows_file_uses_its_line_ends() {
        let text = "[default]\r\nregion = x\r\n";
        let (out, _) = generate(
            text,
            "s",
            &[acct("111111111111", "a", &["R"])],
            DEFAULT_TEMPLATE,
        )
        .unwrap();
        assert!(out.starts_with(text));
        assert!(!out.replace("\r\n", "").contains('\n'), "{out:?}");
        assert_eq!(
            generate(
                &out,
                "s",
                &[acct("111111111111", "a", &["R"])],
                DEFAULT_TEMPLATE
            )
            .unwrap()
            .0,
            out,
            "idempotent"
        );
    }

    #[test]
    fn a_profile_whose_header_has_a_comment_is_taken_too() {
        assert_eq!(
            profile_names("[profile a] # mine\n[default]\n[profile b]\n"),
            ["a", "b", "default"].map(String::from).into()
        );
    }

    #[test]
    fn a_broken_block_is_refused() {
        let text = "# BEGIN ssotray profiles for sso-session s (x)\n[profile a]\n";
        assert!(generate(text, "s", &[], DEFAULT_TEMPLATE)
            .unwrap_err()
            .contains("has no `# END ssotray profiles for sso-session s` line"));
        let text = "# END ssotray profiles for sso-session s\n";
        assert!(generate(text, "s", &[], DEFAULT_TEMPLATE).is_err());
    }
}
