//! ssotray's operations, what the CLI and the tray app ask for: the [`engine`] (log in, refresh,
//! status, log out), the interactive logins ([`login`]) and their client registrations,
//! accounts, roles, credentials and console links ([`access`], [`discovery`], [`launch`],
//! [`private_open`]), exported credentials ([`exports`]), generated profiles ([`profiles`]),
//! the command line's index of the config ([`config_index`]),
//! refresh tokens in the keychain (`keychain_ops`), and ssotray's own files: [`settings`],
//! [`state`] and the tray app's [`prefs`].
//!
//! May use [`crate::platform`] and [`crate::aws`]. Everything is an `Engine` method or a plain
//! function over the injected context; nothing here runs in the background or serves others.

pub mod access;
pub mod config_index;
pub mod discovery;
pub mod engine;
pub mod exports;
pub(crate) mod keychain_ops;
pub mod launch;
pub mod login;
pub mod prefs;
pub mod private_open;
pub mod profiles;
mod registrations;
pub mod settings;
pub mod state;
