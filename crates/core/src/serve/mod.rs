//! Serving credentials to other programs: the container-credentials server and the IMDSv2
//! endpoint ([`credserver`]), what they answer and the token check ([`served`]), and which
//! profiles a long-running server hands out to whom ([`grants`]).
//!
//! May use [`crate::platform`], [`crate::aws`] and [`crate::ops`]. Every connection's peer is
//! checked ([`crate::platform::peer`]) before it holds anything.

pub mod credserver;
pub mod grants;
pub mod served;
