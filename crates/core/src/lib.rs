//! ssotray-core: the GUI-free engine of ssotray.
//!
//! It reads `~/.aws/config`, logs in to AWS IAM Identity Center (browser PKCE and device-code
//! flows), refreshes tokens, and reads and writes the AWS CLI v2 token cache exactly as the CLI
//! does, so every AWS tool can use what ssotray keeps fresh. It never reads the clock, the
//! filesystem, the environment or a browser directly: everything comes through
//! [`platform::context::Context`].
//!
//! The crate is five subsystems, each a folder. They are layered, lowest first, and a module may
//! name only modules of its own subsystem or of a lower one (`layers::` in the e2e tests checks
//! this, and that no modules go round in a circle):
//!
//! 1. [`platform`]: the outside world (clock, environment, files, paths, sockets, peers, keychain).
//! 2. [`aws`]: what AWS defines (config, token cache and credentials files, OIDC, portal, STS,
//!    federation, endpoints, errors).
//! 3. [`ops`]: ssotray's operations (the engine, logins, access, discovery, exports, profiles,
//!    settings and state).
//! 4. [`serve`]: serving credentials to other programs (credential servers, grants).
//! 5. [`keep`]: keeping sessions (the keeper, one owner for logins, the service, notifications).

#![deny(missing_docs)]

pub mod aws;
pub mod keep;
pub mod ops;
pub mod platform;
pub mod serve;

pub use aws::config::{AwsConfig, SsoTarget};
pub use ops::engine::{Engine, EngineError, LoginOptions, Selector, TargetStatus, TokenState};
pub use ops::keychain_ops::KeychainStatus;
pub use ops::login::Flow;
pub use platform::context::Context;
pub use platform::secret::Secret;
