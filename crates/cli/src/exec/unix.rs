//! Unix: signals. Another process's signal to ssotray is forwarded to the command; one the
//! terminal sent to its foreground group reached the command already. The exit status is
//! passed on as a shell reports it.
//!
//! Signals are read with their origin by signal-hook, and those another process sent are forwarded
//! with rustix.

use crate::error::CliError;
use rustix::process::Signal;

/// Whether a signal reached ssotray from the terminal (Ctrl+C, Ctrl+\\: the kernel sends
/// them to the whole foreground process group, so the command, in ssotray's group, got its own)
/// rather than from another process's `kill`, which reached ssotray alone.
fn from_the_terminal(cause: signal_hook::low_level::siginfo::Cause) -> bool {
    matches!(cause, signal_hook::low_level::siginfo::Cause::Kernel)
}

/// Runs `command` to its end; its exit code (0 when it succeeded).
pub async fn run(mut command: tokio::process::Command, program: &str) -> Result<i32, CliError> {
    // Signals: installed before the child starts, so none of them ends ssotray first. Each comes
    // with its origin: a signal another process sent to ssotray is forwarded; one the terminal
    // sent to its foreground group (Ctrl+C, Ctrl+\\ while ssotray is in it) reached the command
    // too, and forwarding it would deliver it twice (a second Ctrl+C makes Terraform abort).
    use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2};
    use signal_hook::iterator::exfiltrator::WithOrigin;
    let mut signals = signal_hook::iterator::SignalsInfo::<WithOrigin>::new([
        SIGTERM, SIGHUP, SIGUSR1, SIGUSR2, SIGINT, SIGQUIT,
    ])
    .map_err(CliError::io("handle signals"))?;
    let handle = signals.handle();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for origin in signals.forever() {
            if from_the_terminal(origin.cause) {
                continue;
            }
            if tx.send(Signal::from_named_raw(origin.signal)).is_err() {
                break;
            }
        }
    });
    let mut child = command
        .spawn()
        .map_err(CliError::io(format!("run `{program}`")))?;
    let pid = child
        .id()
        .and_then(|id| rustix::process::Pid::from_raw(id as i32));
    let status = loop {
        tokio::select! {
            status = child.wait() => break status,
            Some(sig) = rx.recv() => {
                if let (Some(pid), Some(sig)) = (pid, sig) {
                    let _ = rustix::process::kill_process(pid, sig);
                }
            }
        }
    };
    handle.close();
    let status = status.map_err(CliError::io(format!("wait for `{program}`")))?;
    use std::os::unix::process::ExitStatusExt;
    Ok(match (status.code(), status.signal()) {
        (Some(code), _) => code,
        // As a shell reports it: 128 + the signal's number.
        (None, Some(sig)) => 128 + sig,
        (None, None) => 1,
    })
}

/// How ssotray exits with a command's code (Unix keeps its low 8 bits).
pub fn exit_code(code: i32) -> std::process::ExitCode {
    std::process::ExitCode::from(u8::try_from(code).unwrap_or(255))
}
