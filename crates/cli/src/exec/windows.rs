//! Windows: Ctrl+C and Ctrl+Break reach every process of the console, the command included, so
//! ssotray takes them (it must not end first and leave the command without credentials) and
//! lets the command decide. The command runs in a job object that ends it when ssotray's last
//! handle goes (ssotray ended by Task Manager or `taskkill /F`): no orphan keeps running with
//! credentials nobody serves. Its exit code is passed on whole (Windows codes are 32 bits:
//! `0xC000013A` is an end by Ctrl+C).
#![allow(unsafe_code)] // Win32 calls: each block says why it is sound.

use crate::error::CliError;
use std::os::windows::io::RawHandle;
use windows_sys::Win32::Foundation::{CloseHandle, HANDLE};
use windows_sys::Win32::System::JobObjects::{
    AssignProcessToJobObject, CreateJobObjectW, JobObjectExtendedLimitInformation,
    SetInformationJobObject, JOBOBJECT_EXTENDED_LIMIT_INFORMATION,
    JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE,
};

/// A job that ends its processes when closed.
struct Job(HANDLE);

impl Job {
    fn ending_with_ssotray(process: RawHandle) -> std::io::Result<Job> {
        // SAFETY: the job handle is checked and owned by `Job` (closed in Drop); the limit
        // structure is zeroed but for its flag and passed with its size; `process` is the
        // child's live handle.
        unsafe {
            let job = CreateJobObjectW(std::ptr::null(), std::ptr::null());
            if job.is_null() {
                return Err(std::io::Error::last_os_error());
            }
            let job = Job(job);
            let mut limits: JOBOBJECT_EXTENDED_LIMIT_INFORMATION = std::mem::zeroed();
            limits.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
            if SetInformationJobObject(
                job.0,
                JobObjectExtendedLimitInformation,
                (&limits as *const JOBOBJECT_EXTENDED_LIMIT_INFORMATION).cast(),
                std::mem::size_of::<JOBOBJECT_EXTENDED_LIMIT_INFORMATION>() as u32,
            ) == 0
                || AssignProcessToJobObject(job.0, process as HANDLE) == 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(job)
        }
    }
}

impl Drop for Job {
    fn drop(&mut self) {
        // SAFETY: the handle is this job's own.
        unsafe { CloseHandle(self.0) };
    }
}

/// Runs `command` to its end; its exit code (0 when it succeeded).
pub async fn run(mut command: tokio::process::Command, program: &str) -> Result<i32, CliError> {
    use tokio::signal::windows::{ctrl_break, ctrl_c};
    let mut ctrl_c = ctrl_c().map_err(CliError::io("handle Ctrl+C"))?;
    let mut ctrl_break = ctrl_break().map_err(CliError::io("handle Ctrl+Break"))?;
    let mut child = command
        .spawn()
        .map_err(CliError::io(format!("run `{program}`")))?;
    let _job = match child.raw_handle().map(Job::ending_with_ssotray) {
        Some(Ok(job)) => Some(job),
        Some(Err(e)) => {
            tracing::warn!(error = %e, "the command is not in a job object: it outlives a killed ssotray");
            None
        }
        None => None,
    };
    let status = loop {
        tokio::select! {
            status = child.wait() => break status,
            // The command got it too (one console): it decides.
            _ = ctrl_c.recv() => {}
            _ = ctrl_break.recv() => {}
        }
    };
    let status = status.map_err(CliError::io(format!("wait for `{program}`")))?;
    Ok(status.code().unwrap_or(1))
}

/// How ssotray exits with a command's code: the whole 32-bit code.
pub fn exit_code(code: i32) -> std::process::ExitCode {
    std::process::exit(code)
}
