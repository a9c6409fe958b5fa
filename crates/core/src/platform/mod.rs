//! The outside world, and the rules for meeting it: the injected clock, environment, filesystem
//! and browser ([`os`], bundled in [`context`]), where every file lives ([`paths`]), how shared
//! files are read and replaced ([`files`]), secrets that never print ([`secret`]), timestamps
//! ([`time`]), the OS keychain ([`keychain`]), and who is on the other end of a local connection
//! ([`user`], [`sock`], [`ipc`], [`peer`]).
//!
//! The lowest layer: it names nothing else in the crate. Nothing here knows what AWS or ssotray
//! mean by a session; a change about the OS, a file's atomic replace, a socket or a peer check
//! lands here.

pub mod context;
pub mod files;
pub mod ipc;
pub mod keychain;
pub mod os;
pub mod paths;
pub mod peer;
pub mod secret;
pub mod sock;
pub mod time;
pub mod user;
