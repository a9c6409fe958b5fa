//! What AWS defines, as the AWS CLI and SDKs read and write it: the config file ([`config`]), the
//! SSO token cache ([`cache`]), the role-credentials cache and `credential_process` output
//! ([`credentials`]), the shared credentials file ([`credfile`]), chained profiles and the
//! assume-role cache ([`chain`]), and the APIs: SSO-OIDC ([`oidc`]), the access portal
//! ([`portal`]), STS ([`sts`]), console federation ([`console`]), endpoints ([`endpoints`]) and
//! their errors ([`error`]).
//!
//! May use [`crate::platform`] only. The contract is `spec/identity-center.md` and
//! `spec/credential-protocols.md`; where a real AWS client disagrees, the client wins. A change
//! to a file format or a wire protocol lands here; what ssotray does with them does not.

pub mod cache;
pub mod chain;
pub mod config;
pub mod console;
pub mod credentials;
pub mod credfile;
pub mod endpoints;
pub mod error;
pub mod oidc;
pub mod portal;
pub mod sts;
