//! ssotray-core: the GUI-free engine of ssotray.
//!
//! It reads `~/.aws/config`, logs in to AWS IAM Identity Center (browser PKCE and device-code
//! flows), refreshes tokens, and reads and writes the AWS CLI v2 token cache exactly as the CLI
//! does, so every AWS tool can use what ssotray keeps fresh. It never reads the clock, the
//! filesystem, the environment or a browser directly: everything comes through [`context::Context`].

#![deny(missing_docs)]

pub mod access;
pub mod aws_error;
pub mod cache;
pub mod chain;
pub mod config;
pub mod console;
pub mod context;
pub mod credentials;
pub mod credfile;
pub mod credserver;
pub mod desktop_notify;
pub mod discovery;
pub mod endpoints;
pub mod engine;
pub mod exports;
pub mod files;
pub mod grants;
pub mod ipc;
pub mod keeper;
pub mod keychain;
mod keychain_ops;
pub mod launch;
pub use keychain_ops::KeychainStatus;
pub mod login;
pub mod oidc;
pub mod os;
pub mod owner;
pub mod paths;
pub mod peer;
pub mod portal;
pub mod prefs;
pub mod private_open;
pub mod profiles;
mod registrations;
pub mod secret;
pub mod served;
pub mod service;
pub mod settings;
pub mod sock;
pub mod state;
pub mod sts;
pub mod time;
pub mod user;

pub use config::{AwsConfig, SsoTarget};
pub use context::Context;
pub use engine::{Engine, EngineError, LoginOptions, Selector, TargetStatus, TokenState};
pub use login::Flow;
pub use secret::Secret;
