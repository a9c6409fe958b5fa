//! A panel's tray host as the StatusNotifierWatcher sees it: owns an
//! `org.kde.StatusNotifierHost-<pid>` name and registers it with every watcher that takes the
//! name (as a panel does, and again when the watcher restarts). The tests read and click the
//! registered items over D-Bus themselves; this only makes the watcher say a host exists
//! (`IsStatusNotifierHostRegistered`), as it does on a desktop with a panel.

const WATCHER: &str = "org.kde.StatusNotifierWatcher";

fn register(bus: &zbus::blocking::Connection, name: &str) -> zbus::Result<()> {
    bus.call_method(
        Some(WATCHER),
        "/StatusNotifierWatcher",
        Some(WATCHER),
        "RegisterStatusNotifierHost",
        &(name,),
    )?;
    Ok(())
}

/// Registers, retrying for 5 s (a new watcher takes its name before it exports its object).
fn register_soon(bus: &zbus::blocking::Connection, name: &str) {
    for _ in 0..50 {
        if register(bus, name).is_ok() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    eprintln!("sni-host: the watcher does not take the host");
}

fn main() -> zbus::Result<()> {
    let bus = zbus::blocking::Connection::session()?;
    let name = format!("org.kde.StatusNotifierHost-{}", std::process::id());
    bus.request_name(name.as_str())?;
    let changes = zbus::blocking::fdo::DBusProxy::new(&bus)?
        .receive_name_owner_changed_with_args(&[(0, WATCHER)])?;
    register_soon(&bus, &name);
    for change in changes {
        if change.args().is_ok_and(|a| a.new_owner().is_some()) {
            register_soon(&bus, &name);
        }
    }
    Ok(())
}
