//! Desktop notifications (notify-rust: the freedesktop notification server over D-Bus, toasts on
//! Windows, the notification center on macOS), shared by `ssotray keep` and the tray app. Each
//! notification waits for its action on a thread of its own and hands the action to the
//! caller's channel.
//!
//! Where a notification cannot carry an action (a freedesktop server without the `actions`
//! capability, such as notify-osd), it shows no buttons and says in its text how to act: the tray
//! app then opens its window at once, where Renew and Log in are one click away; `ssotray keep`
//! names the command to run.

use crate::keep::keeper::{Action, KeeperEvent, Notifier};
use tokio::sync::mpsc;

/// A [`Notifier`] showing desktop notifications with action buttons.
#[derive(Debug, Clone)]
pub struct DesktopNotifier {
    actions: mpsc::UnboundedSender<(String, Action)>,
    app_name: String,
    open_on_click: bool,
}

impl DesktopNotifier {
    /// Notifications whose clicked actions arrive on `actions` as (session, action).
    pub fn new(actions: mpsc::UnboundedSender<(String, Action)>) -> Self {
        DesktopNotifier {
            actions,
            app_name: "ssotray".into(),
            open_on_click: false,
        }
    }

    /// Also offer the "default" action, so that a click on the notification itself (on servers
    /// that show no buttons) arrives as [`Action::Open`]: the app then opens its window.
    pub fn opening_on_click(mut self) -> Self {
        self.open_on_click = true;
        self
    }
}

/// What one notification shows, and whether the window opens with it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Shown {
    body: String,
    /// Its buttons (and `default`, a click on the notification itself), in order.
    actions: Vec<Action>,
    /// The app opens its window now: the notification cannot offer what the event asks for.
    open_window: bool,
}

/// What `event` shows where the notification server can (`can_act`) or cannot carry actions,
/// for the app (`open_on_click`) or `ssotray keep`.
fn shown(event: &KeeperEvent, can_act: bool, open_on_click: bool) -> Shown {
    let wanted = event.actions();
    if can_act {
        let mut actions = wanted;
        if open_on_click {
            actions.push(Action::Open);
        }
        return Shown {
            body: event.body(),
            actions,
            open_window: false,
        };
    }
    let session = event.session();
    let hint = if wanted.is_empty() {
        None
    } else if open_on_click {
        Some("Renew or log in from the ssotray window.".to_string())
    } else if wanted.contains(&Action::Renew) {
        Some(format!(
            "To renew, run `ssotray logout {session} && ssotray login {session}`."
        ))
    } else {
        Some(format!("Run `ssotray login {session}`."))
    };
    Shown {
        open_window: open_on_click && hint.is_some(),
        body: match hint {
            Some(hint) => format!("{} {hint}", event.body()),
            None => event.body(),
        },
        actions: Vec::new(),
    }
}

/// `text` with the characters of the freedesktop notification markup escaped (`&`, `<`, `>`, and
/// the quotes of attributes), so it shows as written and never becomes markup (a link, an image).
pub fn escape_markup(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `text` as a notification's body must carry it to show it as written: escaped for a
/// freedesktop server that reads bodies as markup (its `body-markup` capability), as it is
/// elsewhere (Windows toasts and macOS notifications show text). Every body that holds text
/// from elsewhere (a command the window sent, a session's name) goes through this.
#[cfg(all(unix, not(target_os = "macos")))]
pub fn body_text(text: &str) -> String {
    // No answer (no server yet): escaped, as most servers read markup.
    let markup =
        notify_rust::get_capabilities().map_or(true, |c| c.iter().any(|c| c == "body-markup"));
    if markup {
        escape_markup(text)
    } else {
        text.to_string()
    }
}

/// `text` as a notification's body must carry it (Windows and macOS show text as it is).
#[cfg(any(windows, target_os = "macos"))]
pub fn body_text(text: &str) -> String {
    text.to_string()
}

/// Whether a notification here can have buttons and report their clicks: a freedesktop server
/// says so by the `actions` capability (asked each time: the desktop's server can change);
/// Windows toasts and macOS notifications always can.
#[cfg(all(unix, not(target_os = "macos")))]
fn actions_possible() -> bool {
    // No answer (no server yet): showing the notification will say what is wrong.
    notify_rust::get_capabilities().map_or(true, |c| c.iter().any(|c| c == "actions"))
}

#[cfg(any(windows, target_os = "macos"))]
fn actions_possible() -> bool {
    true
}

impl Notifier for DesktopNotifier {
    fn notify(&self, event: &KeeperEvent) {
        let session = event.session().to_string();
        let actions = self.actions.clone();
        let summary = event.summary();
        let open_on_click = self.open_on_click;
        let event = event.clone();
        let app_name = self.app_name.clone();
        // Asking the server (D-Bus) and showing happen off the caller's thread.
        std::thread::spawn(move || {
            let shown = shown(&event, actions_possible(), open_on_click);
            let mut n = notify_rust::Notification::new();
            n.appname(&app_name)
                .summary(&summary)
                .body(&body_text(&shown.body));
            for a in &shown.actions {
                n.action(a.id(), a.label());
            }
            if shown.open_window {
                tracing::info!(session = %session, "the notification server shows no buttons: opening the window");
                let _ = actions.send((session.clone(), Action::Open));
            }
            show(n, session, actions, summary, event.actions());
        });
    }
}

/// Shows `n` and waits (on this thread) for its click.
fn show(
    n: notify_rust::Notification,
    session: String,
    actions: mpsc::UnboundedSender<(String, Action)>,
    summary: String,
    offered: Vec<Action>,
) {
    match n.show() {
        Ok(handle) => wait_for_click(handle, |clicked| {
            tracing::debug!(action = clicked, "notification action");
            if let Some(a) = action_of(clicked, &offered) {
                let _ = actions.send((session, a));
            }
        }),
        Err(e) => tracing::warn!(summary = %summary, error = %e, "cannot show a notification"),
    }
}

/// The action a click names: an action's id (freedesktop servers, Windows), or its label
/// (macOS reports the button's title), or `default` for the notification itself.
fn action_of(clicked: &str, offered: &[Action]) -> Option<Action> {
    Action::from_id(clicked).or_else(|| offered.iter().copied().find(|a| a.label() == clicked))
}

/// Waits (on this thread) for the click on a shown notification; `f` gets the action's id (on
/// macOS its label), or `default` for the notification itself, or `__closed`.
#[cfg(not(windows))]
pub fn wait_for_click(handle: notify_rust::NotificationHandle, f: impl FnOnce(&str)) {
    #[cfg(not(target_os = "macos"))]
    tracing::debug!(id = handle.id(), "notification shown");
    handle.wait_for_action(f)
}

/// Windows: the toast's own events (its body's click is the default action).
#[cfg(windows)]
pub fn wait_for_click(handle: notify_rust::NotificationHandle, f: impl FnOnce(&str)) {
    use notify_rust::NotificationResponse as R;
    let _ = handle.wait_for_response(|response: &R| match response {
        R::Action(id) => f(id),
        R::Default => f("default"),
        _ => f("__closed"),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_from_elsewhere_is_shown_as_written_never_as_markup() {
        assert_eq!(
            escape_markup(r#"<a href="https://x">here</a> & <img src='y'>"#),
            "&lt;a href=&quot;https://x&quot;&gt;here&lt;/a&gt; &amp; &lt;img src=&#39;y&#39;&gt;"
        );
        assert_eq!(escape_markup("firefox -P work %s"), "firefox -P work %s");
    }

    #[test]
    fn a_click_names_its_action_by_id_or_by_label() {
        let offered = [Action::Renew, Action::Dismiss];
        assert_eq!(action_of("renew", &offered), Some(Action::Renew));
        assert_eq!(
            action_of(Action::Renew.label(), &offered),
            Some(Action::Renew)
        );
        assert_eq!(action_of("default", &offered), Some(Action::Open));
        assert_eq!(action_of("__closed", &offered), None);
    }

    fn ends_soon() -> KeeperEvent {
        KeeperEvent::EndsSoon {
            session: "my-sso".into(),
            ends_at: chrono::Utc::now() + chrono::Duration::minutes(20),
            minutes_left: 20,
            lead_secs: 1200,
            source: crate::ops::state::EndSource::Assumed,
        }
    }

    #[test]
    fn where_the_server_has_buttons_the_event_offers_its_actions_and_the_app_its_window() {
        let e = ends_soon();
        let keep = shown(&e, true, false);
        assert_eq!(keep.actions, [Action::Renew, Action::Dismiss]);
        assert_eq!(keep.body, e.body());
        assert!(!keep.open_window);
        let app = shown(&e, true, true);
        assert_eq!(app.actions, [Action::Renew, Action::Dismiss, Action::Open]);
        assert!(!app.open_window);
    }

    #[test]
    fn where_the_server_has_no_buttons_the_app_opens_its_window_and_keep_names_the_command() {
        let e = ends_soon();
        let app = shown(&e, false, true);
        assert!(app.actions.is_empty());
        assert!(app.open_window);
        assert!(app.body.starts_with(&e.body()), "{}", app.body);
        assert!(
            app.body
                .ends_with("Renew or log in from the ssotray window."),
            "{}",
            app.body
        );

        let keep = shown(&e, false, false);
        assert!(keep.actions.is_empty());
        assert!(!keep.open_window, "ssotray keep has no window");
        assert!(
            keep.body
                .ends_with("To renew, run `ssotray logout my-sso && ssotray login my-sso`."),
            "{}",
            keep.body
        );
        let ended = KeeperEvent::Ended {
            session: "my-sso".into(),
            at: chrono::Utc::now(),
        };
        assert!(shown(&ended, false, false)
            .body
            .ends_with("Run `ssotray login my-sso`."));
        assert!(shown(&ended, false, true).open_window);

        // An event that asks for nothing opens nothing and gains no hint.
        let unsafe_dir = KeeperEvent::Unsafe {
            message: "the runtime directory is not yours".into(),
        };
        for app in [false, true] {
            let s = shown(&unsafe_dir, false, app);
            assert_eq!(s.body, unsafe_dir.body());
            assert!(!s.open_window);
        }
    }
}
