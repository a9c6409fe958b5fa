//! The tray icon and its menu: the model from `menu.rs` turned into Tauri items, clicks turned
//! into app actions, the icon turned to the state's variant, and the clipboard.

use crate::app::{App, CmdError};
use crate::menu::{
    flatten, icon_state, menu_model, plan_update, Entry, IconState, ItemId, MenuUpdate,
};
use std::sync::{Arc, Mutex};
use tauri::image::Image;
use tauri::menu::{IsMenuItem, Menu, MenuItem, PredefinedMenuItem, Submenu};
use tauri::{AppHandle, Manager, Runtime, Wry};
use tauri_plugin_clipboard_manager::ClipboardExt as _;

/// The tray icon's id.
pub const TRAY_ID: &str = "ssotray";

/// The menu shown: its flattened entries (`menu::flatten`) and, in the same order, handles to its
/// items, so a changed label is set in place and the menu is rebuilt only when items change.
#[derive(Default)]
pub struct LastMenu(Mutex<Shown>);

#[derive(Default)]
struct Shown {
    flat: Vec<(String, String)>,
    handles: Vec<Handle<Wry>>,
}

/// An item of the shown menu whose label can be set.
pub enum Handle<R: Runtime> {
    /// A menu item.
    Item(MenuItem<R>),
    /// A submenu.
    Submenu(Submenu<R>),
    /// A separator or a submenu's end.
    Other,
}

/// The icon of a state.
pub fn icon(state: IconState) -> Image<'static> {
    let bytes: &'static [u8] = match state {
        IconState::Ok => include_bytes!("../../icons/tray-ok.png"),
        IconState::Warn => include_bytes!("../../icons/tray-warn.png"),
        IconState::Error => include_bytes!("../../icons/tray-error.png"),
    };
    Image::from_bytes(bytes).expect("the tray icons are valid PNGs")
}

fn build<R: Runtime>(
    app: &AppHandle<R>,
    entries: &[Entry],
    handles: &mut Vec<Handle<R>>,
) -> tauri::Result<Vec<Box<dyn IsMenuItem<R>>>> {
    let mut items: Vec<Box<dyn IsMenuItem<R>>> = Vec::new();
    for e in entries {
        match e {
            Entry::Item { id, label } => {
                let item = match id {
                    Some(id) => MenuItem::with_id(app, id.encode(), label, true, None::<&str>)?,
                    None => MenuItem::new(app, label, false, None::<&str>)?,
                };
                handles.push(Handle::Item(item.clone()));
                items.push(Box::new(item));
            }
            Entry::Separator => {
                handles.push(Handle::Other);
                items.push(Box::new(PredefinedMenuItem::separator(app)?));
            }
            Entry::Submenu { label, entries } => {
                let at = handles.len();
                handles.push(Handle::Other);
                let children = build(app, entries, handles)?;
                handles.push(Handle::Other);
                let refs: Vec<&dyn IsMenuItem<R>> = children.iter().map(|c| c.as_ref()).collect();
                let submenu = Submenu::with_items(app, label, true, &refs)?;
                handles[at] = Handle::Submenu(submenu.clone());
                items.push(Box::new(submenu));
            }
        }
    }
    Ok(items)
}

/// Builds the Tauri menu of a model, with handles to its items in `flatten` order.
pub fn menu<R: Runtime>(
    app: &AppHandle<R>,
    entries: &[Entry],
) -> tauri::Result<(Menu<R>, Vec<Handle<R>>)> {
    let mut handles = Vec::new();
    let items = build(app, entries, &mut handles)?;
    let refs: Vec<&dyn IsMenuItem<R>> = items.iter().map(|c| c.as_ref()).collect();
    Ok((Menu::with_items(app, &refs)?, handles))
}

/// The panel's side of the tray: the StatusNotifierWatcher's name and interface.
const WATCHER: &str = "org.kde.StatusNotifierWatcher";

/// Where libayatana-appindicator exports the tray item: its id (`tray-icon tray app <tray id>`,
/// as tray-icon names it) with every character but letters and digits made `_`.
fn item_path() -> String {
    let id: String = format!("tray-icon tray app {TRAY_ID}")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("/org/ayatana/NotificationItem/{id}")
}

/// Whether a panel shows the tray icon: a StatusNotifierWatcher took the item. Without one
/// (stock GNOME, a panel that is gone) the app opens its window at start and says there how to
/// get the icon.
#[derive(Default)]
pub struct TrayShown(std::sync::atomic::AtomicBool);

impl TrayShown {
    /// Whether the icon is shown.
    pub fn get(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn set(&self, shown: bool) {
        self.0.store(shown, std::sync::atomic::Ordering::Relaxed)
    }
}

/// How long a StatusNotifierWatcher may take to answer before the desktop counts as having none.
const WATCHER_TIMEOUT_MS: i32 = 2000;

/// Follows the panel's StatusNotifierWatcher for the app's lifetime. At start, a desktop with
/// none (or one that does not answer) gets the window, which says how to get tray icons.
///
/// Registers the tray item again with every StatusNotifierWatcher that takes the name (a panel
/// that crashed and restarted, GNOME Shell reloading, an AppIndicator extension enabled later).
/// libayatana-appindicator tries that itself, but once, at the moment the name appears, and a
/// watcher that takes its name before it exports its object answers `UnknownObject`: the item then
/// stays unregistered until the app restarts (seen with status-notifier-watcher about one time in
/// three). This retries until the watcher answers. A second registration of the same item is
/// harmless (watchers keep one).
pub fn follow_the_watcher(handle: &AppHandle) {
    let handle = handle.clone();
    let spawned = std::thread::Builder::new()
        .name("tray-watcher".into())
        .spawn(move || {
            let app = handle.state::<Arc<App>>().inner().clone();
            let shown = || &app.tray_shown;
            // Subscribed before the first look, so a watcher appearing in between is not missed.
            let changes = zbus::blocking::Connection::session().and_then(|bus| {
                zbus::blocking::fdo::DBusProxy::new(&bus)?
                    .receive_name_owner_changed_with_args(&[(0, WATCHER)])
                    .map(|changes| (bus, changes))
            });
            let (_bus, changes) = match changes {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot follow the panel's StatusNotifierWatcher");
                    show_window(&handle, "sessions");
                    return;
                }
            };
            match watcher_answers() {
                Ok(()) => shown().set(true),
                Err(e) => {
                    tracing::info!(error = %e, "no StatusNotifierWatcher: no tray icon, the window opens");
                    show_window(&handle, "sessions");
                }
            }
            for change in changes {
                if !change.args().is_ok_and(|a| a.new_owner().is_some()) {
                    shown().set(false);
                    continue;
                }
                let mut last = None;
                for _ in 0..50 {
                    std::thread::sleep(std::time::Duration::from_millis(100));
                    match register_with_the_watcher() {
                        Ok(()) => {
                            last = None;
                            shown().set(true);
                            break;
                        }
                        Err(e) => last = Some(e),
                    }
                }
                if let Some(e) = last {
                    tracing::warn!(error = %e, "the panel's new StatusNotifierWatcher does not take the tray item");
                }
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "cannot follow the panel's StatusNotifierWatcher");
    }
}

/// Whether a StatusNotifierWatcher is on the bus and answers (its protocol version).
fn watcher_answers() -> Result<(), gio::glib::Error> {
    use gio::prelude::*;
    let bus = gio::bus_get_sync(gio::BusType::Session, gio::Cancellable::NONE)?;
    bus.call_sync(
        Some(WATCHER),
        "/StatusNotifierWatcher",
        "org.freedesktop.DBus.Properties",
        "Get",
        Some(&(WATCHER, "ProtocolVersion").to_variant()),
        None,
        gio::DBusCallFlags::NO_AUTO_START,
        WATCHER_TIMEOUT_MS,
        gio::Cancellable::NONE,
    )?;
    Ok(())
}

/// Asks the watcher to register the tray item, on the process's shared GDBus connection: the one
/// libayatana-appindicator exports the item on, so the watcher takes the right sender for it.
fn register_with_the_watcher() -> Result<(), gio::glib::Error> {
    use gio::prelude::*;
    let bus = gio::bus_get_sync(gio::BusType::Session, gio::Cancellable::NONE)?;
    bus.call_sync(
        Some(WATCHER),
        "/StatusNotifierWatcher",
        WATCHER,
        "RegisterStatusNotifierItem",
        Some(&(item_path(),).to_variant()),
        None,
        gio::DBusCallFlags::NO_AUTO_START,
        WATCHER_TIMEOUT_MS,
        gio::Cancellable::NONE,
    )?;
    Ok(())
}

/// Brings the menu up to date (labels set in place, or a new menu when items changed) and sets
/// the icon when its state changed.
pub async fn refresh(handle: &AppHandle) {
    let app = handle.state::<Arc<App>>().inner().clone();
    let input = app.menu_input().await;
    let entries = menu_model(&input);
    let flat = flatten(&entries);
    let Some(tray) = handle.tray_by_id(TRAY_ID) else {
        return;
    };
    let icon_now = icon_state(&input);
    let last_icon = handle.state::<LastIcon>();
    if last_icon.0.lock().expect("last icon").replace(icon_now) != Some(icon_now) {
        let _ = tray.set_icon(Some(icon(icon_now)));
    }
    let last = handle.state::<LastMenu>();
    let mut last = last.0.lock().expect("last menu");
    match plan_update(&last.flat, &flat) {
        MenuUpdate::Same => {}
        MenuUpdate::Labels(changed) => {
            for (at, label) in changed {
                let _ = match &last.handles[at] {
                    Handle::Item(item) => item.set_text(&label),
                    Handle::Submenu(submenu) => submenu.set_text(&label),
                    Handle::Other => Ok(()),
                };
            }
            last.flat = flat;
        }
        MenuUpdate::Rebuild => {
            if let Ok((m, handles)) = menu(handle, &entries) {
                let _ = tray.set_menu(Some(m));
                *last = Shown { flat, handles };
            }
        }
    }
}

/// The icon state shown, so the icon is set only when it changes.
#[derive(Default)]
pub struct LastIcon(Mutex<Option<IconState>>);

/// Shows the window on a view (`sessions`, `accounts`, `settings`, `add`), starting its process
/// if needed.
pub fn show_window(handle: &AppHandle, view: &str) {
    match handle.try_state::<Arc<crate::window::WindowHost>>() {
        Some(host) => host.show(view),
        None => tracing::warn!("the window cannot open before the app has started"),
    }
}

/// Copies text the user asked for.
pub fn copy_text(handle: &AppHandle, text: String) -> Result<(), CmdError> {
    handle
        .clipboard()
        .write_text(text)
        .map_err(|e| CmdError::msg(format!("cannot use the clipboard: {e}")))
}

/// The credential last copied to the clipboard, to take it off again (after a minute, or when
/// the app quits) if it is still there.
#[derive(Default)]
pub struct CopiedSecret(Mutex<Option<ssotray_core::Secret>>);

/// Clears the clipboard if it still holds the credential copied last.
pub fn clear_copied_secret(handle: &AppHandle) {
    let Some(state) = handle.try_state::<CopiedSecret>() else {
        return;
    };
    let Some(secret) = state.0.lock().expect("copied secret").take() else {
        return;
    };
    if handle.clipboard().read_text().ok().as_deref() == Some(secret.expose()) {
        let _ = handle.clipboard().write_text(String::new());
    }
}

/// Copies a credential, and clears it from the clipboard after 60 s (or when the app quits) if
/// it is still there.
pub fn copy_secret(handle: &AppHandle, text: String) -> Result<(), CmdError> {
    copy_text(handle, text.clone())?;
    if let Some(state) = handle.try_state::<CopiedSecret>() {
        *state.0.lock().expect("copied secret") = Some(ssotray_core::Secret::new(text.clone()));
    }
    let handle = handle.clone();
    tauri::async_runtime::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_secs(60)).await;
        if handle.clipboard().read_text().ok().as_deref() == Some(text.as_str()) {
            let _ = handle.clipboard().write_text(String::new());
        }
    });
    Ok(())
}

/// Carries out a menu click.
pub fn on_menu_event(handle: &AppHandle, id: &str) {
    let Some(item) = ItemId::decode(id) else {
        return;
    };
    let app = handle.state::<Arc<App>>().inner().clone();
    let handle = handle.clone();
    match item {
        ItemId::Quit => handle.exit(0),
        ItemId::Open => show_window(&handle, "sessions"),
        ItemId::Settings => show_window(&handle, "settings"),
        ItemId::Search(_) => show_window(&handle, "accounts"),
        other => {
            tauri::async_runtime::spawn(async move {
                let result = match &other {
                    ItemId::Login(s) => app.login(s, None).await,
                    ItemId::Renew(s) => app.renew(s).await,
                    ItemId::Logout(s) => app.logout(s).await.map(|_| ()),
                    ItemId::OpenConsole(r) => app.open_console(r).await,
                    ItemId::CopyConsoleUrl(r) => match app.console_url(r).await {
                        Ok(url) => copy_secret(&handle, url.expose().to_string()),
                        Err(e) => Err(e),
                    },
                    ItemId::CopyCredentials(r) => match app.credentials_exports(r).await {
                        Ok(t) => copy_secret(&handle, t.expose().to_string()),
                        Err(e) => Err(e),
                    },
                    ItemId::CopyProfileName(r) => {
                        app.profile_name(r).and_then(|n| copy_text(&handle, n))
                    }
                    _ => Ok(()),
                };
                if let Err(e) = result {
                    tracing::warn!(error = ?e, "menu action failed");
                }
                refresh(&handle).await;
            });
        }
    }
}
