//! The desktop's appearance setting as xdg-desktop-portal serves it (org.freedesktop.portal.Settings
//! at /org/freedesktop/portal/desktop, the `org.freedesktop.appearance` `color-scheme`: 0 none,
//! 1 dark, 2 light), which GNOME and KDE set from their dark-style switch and tao reads for the
//! window's theme. Starts with the scheme given (`dark` or `light`); each line `dark` or `light` on
//! stdin changes it and emits `SettingChanged`, as the portal does when the user flips the switch.

// zbus's interface macro generates an undocumented signal-emitting trait method.
#![allow(missing_docs)]

use std::collections::HashMap;
use std::io::BufRead;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use zbus::zvariant::{OwnedValue, Value};

const NAMESPACE: &str = "org.freedesktop.appearance";
const KEY: &str = "color-scheme";

struct Settings {
    scheme: Arc<AtomicU32>,
}

fn scheme_of(word: &str) -> Option<u32> {
    match word.trim() {
        "dark" => Some(1),
        "light" => Some(2),
        _ => None,
    }
}

fn not_found() -> zbus::fdo::Error {
    zbus::fdo::Error::Failed("org.freedesktop.portal.Error.NotFound: no such setting".into())
}

#[zbus::interface(name = "org.freedesktop.portal.Settings")]
impl Settings {
    /// The deprecated call most toolkits still use: the value in a second variant.
    fn read(&self, namespace: &str, key: &str) -> zbus::fdo::Result<OwnedValue> {
        if (namespace, key) != (NAMESPACE, KEY) {
            return Err(not_found());
        }
        let inner = Value::U32(self.scheme.load(Ordering::Relaxed));
        OwnedValue::try_from(Value::Value(Box::new(inner)))
            .map_err(|e| zbus::fdo::Error::Failed(e.to_string()))
    }

    /// One setting.
    fn read_one(&self, namespace: &str, key: &str) -> zbus::fdo::Result<OwnedValue> {
        if (namespace, key) != (NAMESPACE, KEY) {
            return Err(not_found());
        }
        Ok(OwnedValue::from(self.scheme.load(Ordering::Relaxed)))
    }

    /// Every setting of the namespaces asked for.
    fn read_all(&self, namespaces: Vec<String>) -> HashMap<String, HashMap<String, OwnedValue>> {
        let mut all = HashMap::new();
        if namespaces.is_empty() || namespaces.iter().any(|n| n == NAMESPACE) {
            let mut one = HashMap::new();
            one.insert(
                KEY.to_string(),
                OwnedValue::from(self.scheme.load(Ordering::Relaxed)),
            );
            all.insert(NAMESPACE.to_string(), one);
        }
        all
    }

    /// A setting changed (the user flipped the dark-style switch).
    #[zbus(signal)]
    async fn setting_changed(
        emitter: &zbus::object_server::SignalEmitter<'_>,
        namespace: &str,
        key: &str,
        value: Value<'_>,
    ) -> zbus::Result<()>;

    /// The interface's version.
    #[zbus(property)]
    fn version(&self) -> u32 {
        2
    }
}

fn main() -> zbus::Result<()> {
    let first = std::env::args()
        .nth(1)
        .and_then(|a| scheme_of(&a))
        .unwrap_or(2);
    let scheme = Arc::new(AtomicU32::new(first));
    let bus = zbus::blocking::connection::Builder::session()?
        .serve_at(
            "/org/freedesktop/portal/desktop",
            Settings {
                scheme: scheme.clone(),
            },
        )?
        .name("org.freedesktop.portal.Desktop")?
        .build()?;
    let iface = bus
        .object_server()
        .interface::<_, Settings>("/org/freedesktop/portal/desktop")?;
    for line in std::io::stdin().lock().lines() {
        let Some(value) = line.ok().as_deref().and_then(scheme_of) else {
            continue;
        };
        scheme.store(value, Ordering::Relaxed);
        zbus::block_on(Settings::setting_changed(
            iface.signal_emitter(),
            NAMESPACE,
            KEY,
            Value::U32(value),
        ))?;
    }
    Ok(())
}
