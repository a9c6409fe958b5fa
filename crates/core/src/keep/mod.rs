//! Keeping sessions: the [`keeper`] (tokens fresh ahead of every reader, each portal session's
//! end estimated and announced), one [`owner`] for logins that every process asks, the
//! [`service`] that runs both for `ssotray keep` and the tray app, and [`desktop_notify`].
//!
//! The top layer: may use every other subsystem. Long-running and background work lives here.

pub mod desktop_notify;
pub mod keeper;
pub mod owner;
pub mod service;
