//! The tray icon and its menu: the model from `menu.rs` turned into Tauri items, clicks turned
//! into app actions, the icon turned to the state's variant, and the clipboard.
//!
//! The menu is looked at once a minute (just after the minute turns) and after every action:
//! changed labels are set in place on the items it keeps handles to, a new menu is built only when
//! items come or go, and the icon is set only when its state changes. Clicks are handed on through
//! `MenuClicks` (set by `lib.rs` to `actions::on_menu`). Copied credentials are cleared from the
//! clipboard after 60 s, and when the app quits.
//!
//! **The tray item is tray-icon's KSNI backend**, not libayatana-appindicator: `src-tauri` depends
//! on `tray-icon` with the `ksni` feature, and with both features on, Tauri's own tray-icon uses
//! KSNI (a StatusNotifierItem and com.canonical.dbusmenu served by the `ksni` crate over zbus, icon
//! pixmaps over D-Bus instead of PNG files in `$XDG_RUNTIME_DIR`). Why: libayatana-appindicator's
//! item has no `Activate` method at all (a panel's left click gets `UnknownMethod`, checked over
//! D-Bus), so a left click could never reach the app; KSNI's item has `ItemIsMenu = false` and
//! passes `Activate` on as a left click, which opens the window (the menu stays the panel's right
//! click).
//!
//! KSNI refuses to make an item when no watcher runs or no panel (StatusNotifierHost) has
//! registered with it, so the item is made when a panel shows tray items, not at start:
//! `follow_the_watcher` (threads of its own, zbus) asks the watcher first (`ProtocolVersion`, 2 s
//! bound: the item's own calls have none, and it is made on the main thread), makes the item if
//! there is none (`create`, with a first menu; the full one follows from the state), else registers
//! it again (its well-known name, `org.kde.StatusNotifierItem-<pid>-<n>`), up to 50 times 100 ms
//! apart. It does so at start, on every new `org.kde.StatusNotifierWatcher` (a panel that
//! restarted) and on every `StatusNotifierHostRegistered` (a panel that came to a watcher already
//! there). The retry matters: KSNI, like libayatana before it, registers with a new watcher once,
//! at the moment its name appears, and a watcher that takes its name before exporting its object
//! answers `UnknownObject`; the item was then lost until the app restarted (every time with a
//! watcher slowed down by strace).
//!
//! The same thread decides whether the desktop shows the icon at all (`App::tray_shown`, in the
//! window's state as `trayIcon`): the app never assumes a tray. With no item at start the window
//! opens, whose notice says how to get tray icons and offers the `quit` command, and everything
//! else keeps running; a watcher that takes the item later sets it, one that leaves the bus clears
//! it. Every action of the menu is also in the window.

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
#[cfg(target_os = "linux")]
const WATCHER: &str = "org.kde.StatusNotifierWatcher";

/// How long a StatusNotifierWatcher may take to answer before the desktop counts as having none.
#[cfg(target_os = "linux")]
const WATCHER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// Creates the tray item, with a first menu (the indicator registers with the panel only once it
/// has one; the full menu follows as soon as the state is read). The item is tray-icon's KSNI
/// backend (a StatusNotifierItem of its own over zbus, see this module's doc), which fails when
/// no watcher runs or no panel (StatusNotifierHost) has registered with it.
fn create(handle: &AppHandle) -> tauri::Result<()> {
    let entries = menu_model(&crate::menu::MenuInput {
        now: chrono::Utc::now(),
        sessions: Vec::new(),
        favorites: Vec::new(),
        recent: Vec::new(),
        warn_within: chrono::Duration::zero(),
    });
    let (first_menu, handles) = menu(handle, &entries)?;
    tauri::tray::TrayIconBuilder::with_id(TRAY_ID)
        .icon(icon(IconState::Ok))
        .menu(&first_menu)
        .title("ssotray")
        .tooltip("ssotray")
        // A left click on the icon (the item's Activate) opens the window; the menu is the
        // panel's right click (and left click on GNOME's AppIndicator extension, where a double
        // click activates).
        .show_menu_on_left_click(false)
        .on_tray_icon_event(|tray, event| {
            if let tauri::tray::TrayIconEvent::Click {
                button: tauri::tray::MouseButton::Left,
                ..
            } = event
            {
                show_window(tray.app_handle(), "sessions");
            }
        })
        .on_menu_event(|app, event| on_menu_event(app, event.id().as_ref()))
        .build(handle)?;
    *handle.state::<LastMenu>().0.lock().expect("last menu") = Shown {
        flat: flatten(&entries),
        handles,
    };
    *handle.state::<LastIcon>().0.lock().expect("last icon") = Some(IconState::Ok);
    let handle = handle.clone();
    tauri::async_runtime::spawn(async move { refresh(&handle).await });
    Ok(())
}

/// Follows the panel's StatusNotifierWatcher for the app's lifetime, on threads of its own: the
/// tray item is created when a panel shows tray items (at start, or when a watcher appears or a
/// panel registers with it later: an AppIndicator extension turned on) and registered again with
/// every new watcher (a panel that crashed and restarted, GNOME Shell reloading). A desktop with
/// no panel at start (or one that does not answer) gets the window, which says how to get tray
/// icons.
///
/// The KSNI backend registers the item with a new watcher itself, but once, at the moment the
/// name appears, and a watcher that takes its name before it exports its object answers
/// `UnknownObject`: the item then stays unregistered until the app restarts (seen with
/// status-notifier-watcher about one time in three, and with libayatana-appindicator before it).
/// This retries until the watcher answers. A second registration of the same item is harmless
/// (watchers keep one).
#[cfg(target_os = "linux")]
pub fn follow_the_watcher(handle: &AppHandle) {
    let handle = handle.clone();
    let spawned = std::thread::Builder::new()
        .name("tray-watcher".into())
        .spawn(move || {
            // Subscribed before the first look, so a watcher appearing in between is not missed.
            // Every call on this connection is bounded: a hung watcher must not hang the main
            // thread, where the item is made once the watcher has answered.
            let subscribed = zbus::blocking::connection::Builder::session()
                .and_then(|b| b.method_timeout(WATCHER_TIMEOUT).build())
                .and_then(|bus| {
                let names = zbus::blocking::fdo::DBusProxy::new(&bus)?
                    .receive_name_owner_changed_with_args(&[(0, WATCHER)])?;
                let hosts = zbus::MatchRule::builder()
                    .msg_type(zbus::message::Type::Signal)
                    .interface(WATCHER)?
                    .member("StatusNotifierHostRegistered")?
                    .build();
                let hosts = zbus::blocking::MessageIterator::for_match_rule(hosts, &bus, None)?;
                Ok((bus, names, hosts))
            });
            let (bus, names, hosts) = match subscribed {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot follow the panel's StatusNotifierWatcher: no tray icon");
                    show_window(&handle, "sessions");
                    return;
                }
            };
            if !show_the_item(&handle, &bus, 1) {
                tracing::info!("no panel shows tray icons: the window opens");
                show_window(&handle, "sessions");
            }
            // A panel registering with a watcher that was there already.
            {
                let (handle, bus) = (handle.clone(), bus.clone());
                let _ = std::thread::Builder::new()
                    .name("tray-hosts".into())
                    .spawn(move || {
                        for _ in hosts {
                            show_the_item(&handle, &bus, 50);
                        }
                    });
            }
            for change in names {
                if change.args().is_ok_and(|a| a.new_owner().is_some()) {
                    show_the_item(&handle, &bus, 50);
                } else {
                    handle.state::<Arc<App>>().tray_shown.set(false);
                }
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "cannot follow the panel's StatusNotifierWatcher");
    }
}

/// Windows' notification area and macOS's menu bar are always there: the item is made once, at
/// start (tray-icon's own backends), and the window opens only if that fails.
#[cfg(not(target_os = "linux"))]
pub fn follow_the_watcher(handle: &AppHandle) {
    match create(handle) {
        Ok(()) => handle.state::<Arc<App>>().tray_shown.set(true),
        Err(e) => {
            tracing::warn!(error = %e, "cannot make the tray icon: the window opens");
            show_window(handle, "sessions");
        }
    }
}

/// Creates the tray item if there is none, else registers it with the watcher; `attempts` times,
/// 100 ms apart, until the watcher takes it. Whether it did.
#[cfg(target_os = "linux")]
fn show_the_item(handle: &AppHandle, bus: &zbus::blocking::Connection, attempts: u32) -> bool {
    // One at a time: the two threads must not both create the item.
    static ONE: Mutex<()> = Mutex::new(());
    let _one = ONE.lock().unwrap_or_else(|e| e.into_inner());
    let mut last = None;
    for attempt in 0..attempts {
        if attempt > 0 {
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        // Asked first, with the connection's bound: the item's own calls have none.
        let done = watcher_answers(bus).and_then(|()| match handle.tray_by_id(TRAY_ID) {
            None => create(handle).map_err(|e| e.to_string()),
            Some(_) => register_again(bus),
        });
        match done {
            Ok(()) => {
                handle.state::<Arc<App>>().tray_shown.set(true);
                return true;
            }
            Err(e) => last = Some(e),
        }
    }
    if let Some(e) = last {
        tracing::info!(error = %e, "no panel takes the tray item");
    }
    false
}

/// Whether a StatusNotifierWatcher is on the bus and answers (its protocol version) within the
/// connection's method timeout.
#[cfg(target_os = "linux")]
fn watcher_answers(bus: &zbus::blocking::Connection) -> Result<(), String> {
    bus.call_method(
        Some(WATCHER),
        "/StatusNotifierWatcher",
        Some("org.freedesktop.DBus.Properties"),
        "Get",
        &(WATCHER, "ProtocolVersion"),
    )
    .map(|_| ())
    .map_err(|e| e.to_string())
}

/// Registers the tray item (its well-known name, `org.kde.StatusNotifierItem-<pid>-<n>`, as
/// the KSNI backend names it) with the watcher.
#[cfg(target_os = "linux")]
fn register_again(bus: &zbus::blocking::Connection) -> Result<(), String> {
    let prefix = format!("org.kde.StatusNotifierItem-{}-", std::process::id());
    let dbus = zbus::blocking::fdo::DBusProxy::new(bus).map_err(|e| e.to_string())?;
    let names = dbus.list_names().map_err(|e| e.to_string())?;
    let mine = names
        .iter()
        .filter(|n| n.as_str().starts_with(&prefix))
        .collect::<Vec<_>>();
    if mine.is_empty() {
        return Err("the tray item has no name on the bus".into());
    }
    for name in mine {
        bus.call_method(
            Some(WATCHER),
            "/StatusNotifierWatcher",
            Some(WATCHER),
            "RegisterStatusNotifierItem",
            &(name.as_str(),),
        )
        .map_err(|e| e.to_string())?;
    }
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

/// Copies a credential marked sensitive, through the same clipboard the plugin holds open:
/// - Linux: the `x-kde-passwordManagerHint: secret` target, which Klipper, GPaste, CopyQ and
///   others honour by keeping it out of their history;
/// - Windows: the formats that keep it out of Clipboard History
///   (`CanIncludeInClipboardHistory` = 0) and out of cloud sync (`CanUploadToCloudClipboard` =
///   0);
/// - macOS: marked concealed (`org.nspasteboard.ConcealedType`), which clipboard managers that
///   follow nspasteboard.org leave out of their history.
fn copy_sensitive(text: &str) -> Result<(), CmdError> {
    let failed = |e: arboard::Error| CmdError::msg(format!("cannot use the clipboard: {e}"));
    let mut clipboard = arboard::Clipboard::new().map_err(failed)?;
    let set = clipboard.set();
    #[cfg(target_os = "linux")]
    let set = arboard::SetExtLinux::exclude_from_history(set);
    #[cfg(windows)]
    let set = arboard::SetExtWindows::exclude_from_cloud(
        arboard::SetExtWindows::exclude_from_history(set),
    );
    #[cfg(target_os = "macos")]
    let set = arboard::SetExtApple::exclude_from_history(set);
    set.text(text).map_err(failed)
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
    copy_sensitive(&text)?;
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

/// What a menu click does: set by the shell (`actions::on_menu`), so the tray draws the menu
/// and hands clicks on without knowing what they do.
pub struct MenuClicks(pub fn(&AppHandle, ItemId));

/// Hands a menu click to [`MenuClicks`].
fn on_menu_event(handle: &AppHandle, id: &str) {
    let Some(item) = ItemId::decode(id) else {
        return;
    };
    match handle.try_state::<MenuClicks>() {
        Some(clicks) => (clicks.0)(handle, item),
        None => tracing::warn!("a menu click before the app has started"),
    }
}

#[cfg(all(test, windows))]
mod tests {
    /// What Windows reads to keep an item out of Clipboard History and cloud sync: each format
    /// present with the DWORD 0.
    #[test]
    fn copied_credentials_are_kept_out_of_clipboard_history_and_cloud_sync() {
        super::copy_sensitive("ASIAEXAMPLE secret").unwrap();
        let _open = clipboard_win::Clipboard::new_attempts(10).unwrap();
        for name in ["CanIncludeInClipboardHistory", "CanUploadToCloudClipboard"] {
            let format = clipboard_win::register_format(name).unwrap().get();
            assert!(clipboard_win::raw::is_format_avail(format), "{name} is set");
            let mut value = [0xffu8; 4];
            assert_eq!(clipboard_win::raw::get(format, &mut value).unwrap(), 4);
            assert_eq!(value, [0; 4], "{name} is 0");
        }
    }
}
