//! The tray menu as data: a pure function of what the app knows, so it is tested as text and
//! turned into Tauri menu items in one small place (`tray.rs`).
//!
//! The model is `menu_model(&MenuInput)`, with `icon_state`, `render` (text, for snapshot tests),
//! the item ids as an enum (`ItemId`), and `flatten` + `plan_update` to tell a label change from a
//! new menu. `SessionState::of` decides what a session's token state shows as.

use chrono::{DateTime, Duration, Local, Utc};
use ssotray_core::ops::discovery::AccountRoles;

/// Accounts shown in a session's submenu before it points to the window's search.
pub const MAX_ACCOUNTS_IN_MENU: usize = 25;

pub use ssotray_core::ops::prefs::RoleRef;

/// A session as the menu shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionView {
    /// Name.
    pub name: String,
    /// State.
    pub state: SessionState,
    /// Known accounts and roles.
    pub accounts: Vec<AccountRoles>,
    /// Chained profiles whose SSO role is one of this session's.
    pub chained: Vec<ChainedView>,
}

/// A chained profile (`role_arn` … `source_profile`), shown under the SSO role it starts from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChainedView {
    /// The profile.
    pub profile: String,
    /// The SSO role's account.
    pub source_account_id: String,
    /// The SSO role.
    pub source_role_name: String,
    /// The assumed role's account.
    pub account_id: String,
    /// The assumed role.
    pub role_name: String,
}

/// The user-visible state of a session.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionState {
    /// No token.
    LoggedOut,
    /// Logged in; the portal session is estimated to end at `ends_at`.
    Active {
        /// Estimated end (or the token's expiry when nothing better is known).
        ends_at: DateTime<Utc>,
    },
    /// The portal session ended (or the token expired and cannot be refreshed).
    Ended {
        /// When.
        at: DateTime<Utc>,
    },
    /// A login is in progress.
    LoggingIn,
}

impl SessionState {
    /// What the menu shows of a session: a login in progress first, then an end the keeper saw,
    /// then what the token says (an expired token that cannot be refreshed is an ended session;
    /// one that can still is active until the estimated end, else its own expiry).
    pub fn of(
        logging_in: bool,
        ended_at: Option<DateTime<Utc>>,
        token: &ssotray_core::TokenState,
        estimated_end: Option<DateTime<Utc>>,
    ) -> SessionState {
        use ssotray_core::TokenState;
        if logging_in {
            return SessionState::LoggingIn;
        }
        if let Some(at) = ended_at {
            return SessionState::Ended { at };
        }
        match token {
            TokenState::LoggedOut | TokenState::Unreadable { .. } => SessionState::LoggedOut,
            TokenState::Expired {
                expires_at,
                can_refresh: false,
            } => SessionState::Ended { at: *expires_at },
            TokenState::Valid { expires_at, .. } | TokenState::Expired { expires_at, .. } => {
                SessionState::Active {
                    ends_at: estimated_end.unwrap_or(*expires_at),
                }
            }
        }
    }
}

/// What the menu is made from.
#[derive(Debug, Clone, PartialEq)]
pub struct MenuInput {
    /// Now.
    pub now: DateTime<Utc>,
    /// Sessions in config order.
    pub sessions: Vec<SessionView>,
    /// Favorite roles.
    pub favorites: Vec<RoleRef>,
    /// Recently used roles (newest first).
    pub recent: Vec<RoleRef>,
    /// The first notification lead time: a session ending sooner turns the icon amber.
    pub warn_within: Duration,
}

/// What a menu item does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemId {
    /// Log in to a session.
    Login(String),
    /// Renew a session (log out, log in).
    Renew(String),
    /// Log out.
    Logout(String),
    /// Open a role's console.
    OpenConsole(RoleRef),
    /// Copy a role's console URL.
    CopyConsoleUrl(RoleRef),
    /// Copy a role's credentials as shell exports.
    CopyCredentials(RoleRef),
    /// Copy a role's profile name.
    CopyProfileName(RoleRef),
    /// Open the window on the accounts search of a session.
    Search(String),
    /// Open the window.
    Open,
    /// Open the settings.
    Settings,
    /// Quit.
    Quit,
}

impl ItemId {
    /// The id string Tauri carries.
    pub fn encode(&self) -> String {
        let role = |kind: &str, r: &RoleRef| {
            format!(
                "{kind}\u{1f}{}\u{1f}{}\u{1f}{}\u{1f}{}\u{1f}{}",
                r.session,
                r.account_id,
                r.account_name,
                r.role_name,
                r.profile.as_deref().unwrap_or_default()
            )
        };
        match self {
            ItemId::Login(s) => format!("login\u{1f}{s}"),
            ItemId::Renew(s) => format!("renew\u{1f}{s}"),
            ItemId::Logout(s) => format!("logout\u{1f}{s}"),
            ItemId::OpenConsole(r) => role("console", r),
            ItemId::CopyConsoleUrl(r) => role("url", r),
            ItemId::CopyCredentials(r) => role("creds", r),
            ItemId::CopyProfileName(r) => role("profile", r),
            ItemId::Search(s) => format!("search\u{1f}{s}"),
            ItemId::Open => "open".into(),
            ItemId::Settings => "settings".into(),
            ItemId::Quit => "quit".into(),
        }
    }

    /// Parses an id string.
    pub fn decode(id: &str) -> Option<ItemId> {
        let parts: Vec<&str> = id.split('\u{1f}').collect();
        let role = || -> Option<RoleRef> {
            Some(RoleRef {
                session: parts.get(1)?.to_string(),
                account_id: parts.get(2)?.to_string(),
                account_name: parts.get(3)?.to_string(),
                role_name: parts.get(4)?.to_string(),
                profile: parts
                    .get(5)
                    .filter(|p| !p.is_empty())
                    .map(|p| p.to_string()),
            })
        };
        Some(match *parts.first()? {
            "login" => ItemId::Login(parts.get(1)?.to_string()),
            "renew" => ItemId::Renew(parts.get(1)?.to_string()),
            "logout" => ItemId::Logout(parts.get(1)?.to_string()),
            "console" => ItemId::OpenConsole(role()?),
            "url" => ItemId::CopyConsoleUrl(role()?),
            "creds" => ItemId::CopyCredentials(role()?),
            "profile" => ItemId::CopyProfileName(role()?),
            "search" => ItemId::Search(parts.get(1)?.to_string()),
            "open" => ItemId::Open,
            "settings" => ItemId::Settings,
            "quit" => ItemId::Quit,
            _ => return None,
        })
    }
}

/// One entry of the menu.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    /// A clickable item (`None`: a disabled label).
    Item {
        /// What it does.
        id: Option<ItemId>,
        /// Text.
        label: String,
    },
    /// A separator.
    Separator,
    /// A submenu.
    Submenu {
        /// Text.
        label: String,
        /// Entries.
        entries: Vec<Entry>,
    },
}

fn item(id: ItemId, label: impl Into<String>) -> Entry {
    Entry::Item {
        id: Some(id),
        label: label.into(),
    }
}

fn label(text: impl Into<String>) -> Entry {
    Entry::Item {
        id: None,
        label: text.into(),
    }
}

/// "6 h 12 min", "45 min", "less than a minute".
pub fn duration_text(d: Duration) -> String {
    let minutes = d.num_minutes();
    match (minutes / 60, minutes % 60) {
        (_, _) if d < Duration::minutes(1) => "less than a minute".into(),
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m} min"),
    }
}

/// The headline of a session.
pub fn session_label(s: &SessionView, now: DateTime<Utc>) -> String {
    match &s.state {
        SessionState::LoggedOut => format!("{} — logged out", s.name),
        SessionState::LoggingIn => format!("{} — logging in…", s.name),
        SessionState::Active { ends_at } => {
            format!("{} — {} left", s.name, duration_text(*ends_at - now))
        }
        SessionState::Ended { at } => format!(
            "{} — ended at {}",
            s.name,
            at.with_timezone(&Local).format("%H:%M")
        ),
    }
}

fn role_entries(r: &RoleRef) -> Vec<Entry> {
    vec![
        item(ItemId::OpenConsole(r.clone()), "Open console"),
        item(ItemId::CopyConsoleUrl(r.clone()), "Copy console URL"),
        item(
            ItemId::CopyCredentials(r.clone()),
            "Copy credentials as shell exports",
        ),
        item(ItemId::CopyProfileName(r.clone()), "Copy profile name"),
    ]
}

/// The menu.
pub fn menu_model(input: &MenuInput) -> Vec<Entry> {
    // First, so that where a left click shows the menu (GNOME's AppIndicator extension; see
    // docs/tray-app.md) the next click, where the pointer already is, opens the window.
    let mut out = vec![item(ItemId::Open, "Open ssotray…"), Entry::Separator];
    let quick: Vec<(&str, &RoleRef)> = input
        .favorites
        .iter()
        .map(|r| ("★", r))
        .chain(
            input
                .recent
                .iter()
                .filter(|r| !input.favorites.contains(r))
                .take(5)
                .map(|r| ("↺", r)),
        )
        .collect();
    for (mark, r) in &quick {
        let text = match &r.profile {
            Some(p) => format!("{mark} {p}"),
            None => format!("{mark} {} / {}", r.account_name, r.role_name),
        };
        out.push(item(ItemId::OpenConsole((*r).clone()), text));
    }
    if !quick.is_empty() {
        out.push(Entry::Separator);
    }
    for s in &input.sessions {
        out.push(label(session_label(s, input.now)));
        match s.state {
            SessionState::LoggedOut | SessionState::Ended { .. } => {
                out.push(item(ItemId::Login(s.name.clone()), "Log in"))
            }
            SessionState::Active { .. } => {
                out.push(item(ItemId::Renew(s.name.clone()), "Renew session"));
                out.push(item(ItemId::Logout(s.name.clone()), "Log out"));
            }
            SessionState::LoggingIn => {}
        }
        if !s.accounts.is_empty() {
            let mut accounts: Vec<Entry> = s
                .accounts
                .iter()
                .take(MAX_ACCOUNTS_IN_MENU)
                .map(|a| Entry::Submenu {
                    label: format!("{} ({})", a.account_name, a.account_id),
                    entries: a
                        .roles
                        .iter()
                        .map(|role| {
                            let r = RoleRef {
                                session: s.name.clone(),
                                account_id: a.account_id.clone(),
                                account_name: a.account_name.clone(),
                                role_name: role.clone(),
                                profile: None,
                            };
                            let mut entries = role_entries(&r);
                            // Roles assumed on top of this one, each with the same actions.
                            for c in s.chained.iter().filter(|c| {
                                c.source_account_id == a.account_id && &c.source_role_name == role
                            }) {
                                let chained = RoleRef {
                                    profile: Some(c.profile.clone()),
                                    ..r.clone()
                                };
                                entries.push(Entry::Submenu {
                                    label: format!(
                                        "↳ {} ({} / {})",
                                        c.profile, c.account_id, c.role_name
                                    ),
                                    entries: role_entries(&chained),
                                });
                            }
                            Entry::Submenu {
                                label: role.clone(),
                                entries,
                            }
                        })
                        .collect(),
                })
                .collect();
            if s.accounts.len() > MAX_ACCOUNTS_IN_MENU {
                accounts.push(Entry::Separator);
                accounts.push(item(
                    ItemId::Search(s.name.clone()),
                    format!("Search all {} accounts…", s.accounts.len()),
                ));
            }
            out.push(Entry::Submenu {
                label: "Accounts".into(),
                entries: accounts,
            });
        }
        out.push(Entry::Separator);
    }
    out.push(item(ItemId::Settings, "Settings…"));
    out.push(item(ItemId::Quit, "Quit"));
    out
}

/// The three icon variants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IconState {
    /// Every session fine.
    Ok,
    /// Something ends within the first lead time.
    Warn,
    /// A session ended or needs a login.
    Error,
}

/// Which icon the tray shows.
pub fn icon_state(input: &MenuInput) -> IconState {
    let mut state = IconState::Ok;
    for s in &input.sessions {
        match s.state {
            SessionState::Ended { .. } => return IconState::Error,
            SessionState::Active { ends_at } if ends_at - input.now <= input.warn_within => {
                state = IconState::Warn
            }
            _ => {}
        }
    }
    state
}

/// The menu as indented text, for tests and the saved "menu state".
pub fn render(entries: &[Entry]) -> String {
    fn walk(entries: &[Entry], depth: usize, out: &mut String) {
        for e in entries {
            let pad = "  ".repeat(depth);
            match e {
                Entry::Item { id: Some(_), label } => out.push_str(&format!("{pad}{label}\n")),
                Entry::Item { id: None, label } => out.push_str(&format!("{pad}[{label}]\n")),
                Entry::Separator => out.push_str(&format!("{pad}---\n")),
                Entry::Submenu { label, entries } => {
                    out.push_str(&format!("{pad}{label} >\n"));
                    walk(entries, depth + 1, out);
                }
            }
        }
    }
    let mut out = String::new();
    walk(entries, 0, &mut out);
    out
}

/// A menu flattened in order: each entry's structure (kind and id) and its label.
pub fn flatten(entries: &[Entry]) -> Vec<(String, String)> {
    fn walk(entries: &[Entry], out: &mut Vec<(String, String)>) {
        for e in entries {
            match e {
                Entry::Item {
                    id: Some(id),
                    label,
                } => out.push((format!("item {}", id.encode()), label.clone())),
                Entry::Item { id: None, label } => out.push(("label".into(), label.clone())),
                Entry::Separator => out.push(("separator".into(), String::new())),
                Entry::Submenu { label, entries } => {
                    out.push(("submenu".into(), label.clone()));
                    walk(entries, out);
                    out.push(("end".into(), String::new()));
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(entries, &mut out);
    out
}

/// What it takes to turn the shown menu into a new one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MenuUpdate {
    /// Nothing changed.
    Same,
    /// Only these labels (by position in `flatten`) changed: set them in place, which a panel
    /// sees as a property change of those items rather than a new menu (the usual case: a
    /// countdown's minute turned).
    Labels(Vec<(usize, String)>),
    /// Items came or went: build the menu anew.
    Rebuild,
}

/// Compares two flattened menus.
pub fn plan_update(shown: &[(String, String)], new: &[(String, String)]) -> MenuUpdate {
    if shown.len() != new.len() || shown.iter().zip(new).any(|(a, b)| a.0 != b.0) {
        return MenuUpdate::Rebuild;
    }
    let changed: Vec<(usize, String)> = shown
        .iter()
        .zip(new)
        .enumerate()
        .filter(|(_, (a, b))| a.1 != b.1)
        .map(|(i, (_, b))| (i, b.1.clone()))
        .collect();
    if changed.is_empty() {
        MenuUpdate::Same
    } else {
        MenuUpdate::Labels(changed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 26, 10, 0, 0).unwrap()
    }

    #[test]
    fn the_menu_state_follows_login_then_the_seen_end_then_the_token() {
        use ssotray_core::TokenState;
        let (soon, later, past) = (
            now() + Duration::minutes(40),
            now() + Duration::hours(7),
            now() - Duration::minutes(5),
        );
        let valid = TokenState::Valid {
            expires_at: soon,
            can_refresh: true,
        };
        assert_eq!(
            SessionState::of(true, Some(past), &valid, Some(later)),
            SessionState::LoggingIn
        );
        assert_eq!(
            SessionState::of(false, Some(past), &valid, Some(later)),
            SessionState::Ended { at: past }
        );
        // The estimated end of the portal session, not the token's hour, is what the menu counts down.
        assert_eq!(
            SessionState::of(false, None, &valid, Some(later)),
            SessionState::Active { ends_at: later }
        );
        assert_eq!(
            SessionState::of(false, None, &valid, None),
            SessionState::Active { ends_at: soon }
        );
        // An expired token that can still be refreshed: the session is alive.
        let refreshable = TokenState::Expired {
            expires_at: past,
            can_refresh: true,
        };
        assert_eq!(
            SessionState::of(false, None, &refreshable, Some(later)),
            SessionState::Active { ends_at: later }
        );
        let dead = TokenState::Expired {
            expires_at: past,
            can_refresh: false,
        };
        assert_eq!(
            SessionState::of(false, None, &dead, Some(later)),
            SessionState::Ended { at: past }
        );
        assert_eq!(
            SessionState::of(false, None, &TokenState::LoggedOut, None),
            SessionState::LoggedOut
        );
        assert_eq!(
            SessionState::of(
                false,
                None,
                &TokenState::Unreadable { reason: "x".into() },
                None
            ),
            SessionState::LoggedOut
        );
    }

    fn acct(id: &str, name: &str, roles: &[&str]) -> AccountRoles {
        AccountRoles {
            account_id: id.into(),
            account_name: name.into(),
            email_address: None,
            roles: roles.iter().map(|r| r.to_string()).collect(),
        }
    }

    fn input() -> MenuInput {
        MenuInput {
            now: now(),
            sessions: vec![
                SessionView {
                    name: "my-sso".into(),
                    state: SessionState::Active {
                        ends_at: now() + Duration::minutes(372),
                    },
                    accounts: vec![acct("111111111111", "dev", &["Admin", "ReadOnly"])],
                    chained: vec![ChainedView {
                        profile: "deploy".into(),
                        source_account_id: "111111111111".into(),
                        source_role_name: "Admin".into(),
                        account_id: "333333333333".into(),
                        role_name: "Deployer".into(),
                    }],
                },
                SessionView {
                    name: "other".into(),
                    state: SessionState::LoggedOut,
                    accounts: vec![],
                    chained: vec![],
                },
            ],
            favorites: vec![RoleRef {
                session: "my-sso".into(),
                account_id: "111111111111".into(),
                account_name: "dev".into(),
                role_name: "Admin".into(),
                profile: None,
            }],
            recent: vec![],
            warn_within: Duration::minutes(30),
        }
    }

    #[test]
    fn snapshot_of_a_typical_menu() {
        let expected = "\
Open ssotray…
---
★ dev / Admin
---
[my-sso — 6 h 12 min left]
Renew session
Log out
Accounts >
  dev (111111111111) >
    Admin >
      Open console
      Copy console URL
      Copy credentials as shell exports
      Copy profile name
      ↳ deploy (333333333333 / Deployer) >
        Open console
        Copy console URL
        Copy credentials as shell exports
        Copy profile name
    ReadOnly >
      Open console
      Copy console URL
      Copy credentials as shell exports
      Copy profile name
---
[other — logged out]
Log in
---
Settings…
Quit
";
        assert_eq!(render(&menu_model(&input())), expected);
        assert_eq!(icon_state(&input()), IconState::Ok);
    }

    #[test]
    fn icon_and_labels_follow_the_state() {
        let mut i = input();
        i.sessions[0].state = SessionState::Active {
            ends_at: now() + Duration::minutes(20),
        };
        assert_eq!(icon_state(&i), IconState::Warn);
        assert!(render(&menu_model(&i)).contains("[my-sso — 20 min left]"));
        i.sessions[0].state = SessionState::Ended { at: now() };
        assert_eq!(icon_state(&i), IconState::Error);
        let text = render(&menu_model(&i));
        assert!(
            text.contains("[my-sso — ended at ") && text.contains("]\nLog in\n"),
            "{text}"
        );
    }

    #[test]
    fn large_orgs_are_capped_and_point_to_search() {
        let mut i = input();
        i.sessions[0].accounts = (0..1000)
            .map(|n| acct(&format!("{:012}", n), &format!("a{n:04}"), &["R"]))
            .collect();
        let text = render(&menu_model(&i));
        assert_eq!(text.matches("  a0").count(), MAX_ACCOUNTS_IN_MENU);
        assert!(text.contains("  Search all 1000 accounts…\n"));
    }

    #[test]
    fn ids_round_trip() {
        for id in menu_model(&input()).iter().flat_map(|e| match e {
            Entry::Item { id: Some(id), .. } => vec![id.clone()],
            _ => vec![],
        }) {
            assert_eq!(ItemId::decode(&id.encode()), Some(id));
        }
        let r = input().favorites[0].clone();
        assert_eq!(
            ItemId::decode(&ItemId::CopyCredentials(r.clone()).encode()),
            Some(ItemId::CopyCredentials(r.clone()))
        );
        let chained = RoleRef {
            profile: Some("deploy".into()),
            ..r
        };
        assert_eq!(
            ItemId::decode(&ItemId::OpenConsole(chained.clone()).encode()),
            Some(ItemId::OpenConsole(chained))
        );
        assert_eq!(duration_text(Duration::seconds(30)), "less than a minute");
        assert_eq!(duration_text(Duration::minutes(120)), "2 h");
    }

    #[test]
    fn a_turning_minute_changes_one_label_in_place_and_a_new_state_rebuilds() {
        let before = flatten(&menu_model(&input()));
        // A minute later: only the countdown's text differs.
        let later = flatten(&menu_model(&MenuInput {
            now: now() + Duration::minutes(1),
            ..input()
        }));
        match plan_update(&before, &later) {
            MenuUpdate::Labels(changed) => {
                assert_eq!(changed.len(), 1, "{changed:?}");
                assert_eq!(before[changed[0].0].0, later[changed[0].0].0);
                assert!(changed[0].1.contains("6 h 11 min left"), "{changed:?}");
            }
            other => panic!("expected a label update, got {other:?}"),
        }
        assert_eq!(plan_update(&before, &before), MenuUpdate::Same);
        // Logging out replaces Renew / Log out with Log in: new items, a new menu.
        let mut logged_out = input();
        logged_out.sessions[0].state = SessionState::LoggedOut;
        assert_eq!(
            plan_update(&before, &flatten(&menu_model(&logged_out))),
            MenuUpdate::Rebuild
        );
        // So does a new account.
        let mut more = input();
        more.sessions[0]
            .accounts
            .push(acct("222222222222", "prod", &["Admin"]));
        assert_eq!(
            plan_update(&before, &flatten(&menu_model(&more))),
            MenuUpdate::Rebuild
        );
    }
}
