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
        std::thread::spawn(move || match n.show() {
            Ok(handle) => {
                tracing::debug!(id = handle.id(), "notification shown");
                handle.wait_for_action(|id| {
                    tracing::debug!(action = id, "notification action");
                    if let Some(a) = Action::from_id(id) {
                        let _ = actions.send((session, a));
                    }
                })
            }
            Err(e) => tracing::warn!(summary = %summary, error = %e, "cannot show a notification"),
        });
    }
}
