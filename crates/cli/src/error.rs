//! The CLI's errors: the engine's, and what only a command line has — a command run on the
//! user's behalf that exits with its own status, and the terminal's own input and output.
//!
//! `CliError` adds to the engine's errors `ChildExit` (`exec`'s child's status, which `ssotray`
//! exits with), the terminal's I/O, and usage.

use ssotray_core::EngineError;

/// Why a command failed; `ssotray` exits 1 with the message, or with the child's status.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// From the engine.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// A command run on the user's behalf (`exec`) exited with this code; ssotray exits with it.
    #[error("the command exited with status {0}")]
    ChildExit(i32),
    /// Running a program, handling signals, writing to stdout.
    #[error("cannot {what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The cause.
        source: std::io::Error,
    },
    /// What was asked cannot be done; the message says what to do instead.
    #[error("{0}")]
    Usage(String),
}

impl CliError {
    /// An I/O failure while doing `what`.
    pub fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> CliError {
        let what = what.into();
        move |source| CliError::Io { what, source }
    }
}
