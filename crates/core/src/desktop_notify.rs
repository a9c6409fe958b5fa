//! Desktop notifications through the freedesktop notification server (notify-rust over D-Bus),
//! shared by `ssotray keep` and the tray app. Each notification waits for its action on a thread
//! of its own and hands the action to the caller's channel.

use crate::keeper::{Action, KeeperEvent, Notifier};
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

impl Notifier for DesktopNotifier {
    fn notify(&self, event: &KeeperEvent) {
        let mut n = notify_rust::Notification::new();
        n.appname(&self.app_name)
            .summary(&event.summary())
            .body(&event.body());
        for a in event.actions() {
            n.action(a.id(), a.label());
        }
        if self.open_on_click {
            n.action(Action::Open.id(), Action::Open.label());
        }
        let session = event.session().to_string();
        let actions = self.actions.clone();
        let summary = event.summary();
        let offered = event.actions();
        std::thread::spawn(move || match n.show() {
            Ok(handle) => wait_for_click(handle, |clicked| {
                tracing::debug!(action = clicked, "notification action");
                if let Some(a) = action_of(clicked, &offered) {
                    let _ = actions.send((session, a));
                }
            }),
            Err(e) => tracing::warn!(summary = %summary, error = %e, "cannot show a notification"),
        });
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
}
