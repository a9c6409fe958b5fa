//! End-to-end tests: one test binary, one module per area.
//!
//! Everything runs against the simulator over loopback HTTP, with real binaries and real AWS
//! clients (aws-sdk-rust, botocore) and a real headless Chromium.

#![allow(missing_docs)] // test helpers shared between modules

mod access;
mod app;
mod browser;
mod chain;
pub mod cli;
mod demo;
mod docs;
mod files;
mod keeper;
mod keeper_clock;
mod keychain;
mod large_config;
mod layers;
mod package;
mod readers;
mod sdk_wire;
mod served;
mod sim_binary;
mod sockets;
mod trust;
