//! Windows: Ctrl+C and Ctrl+Break reach every process of the console, the command included, so
//! ssotray takes them (it must not end first and leave the command without credentials) and
//! lets the command decide. The command runs in a job object that ends it when ssotray's last
//! handle goes (ssotray ended by Task Manager or `taskkill /F`): no orphan keeps running with
//! credentials nobody serves. It is created suspended, put into the job, and only then let run,
//! so nothing it starts escapes the job. Its exit code is passed on whole (Windows codes are 32
//! bits: `0xC000013A` is an end by Ctrl+C).
//!
//! Unsafe code is allowed here (each block with a `SAFETY` comment) only for the job object, which
//! no safe crate wraps.
#![allow(unsafe_code)] // Win32 calls: each block says why it is sound.

use crate::error::CliError;
use std::os::windows::io::RawHandle;
use windows_sys::Win32::Foundation::{CloseHandle, HANDLE};
use windows_sys::Win32::System::Diagnostics::ToolHelp::{
    CreateToolhelp32Snapshot, Thread32First, Thread32Next, TH32CS_SNAPTHREAD, THREADENTRY32,
};
use windows_sys::Win32::System::JobObjects::{
    AssignProcessToJobObject, CreateJobObjectW, JobObjectExtendedLimitInformation,
    SetInformationJobObject, JOBOBJECT_EXTENDED_LIMIT_INFORMATION,
    JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE,
};
use windows_sys::Win32::System::Threading::{
    OpenThread, ResumeThread, CREATE_SUSPENDED, THREAD_SUSPEND_RESUME,
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

/// Lets the threads of a process created suspended run (a new process has the one).
fn resume(pid: u32) -> std::io::Result<()> {
    // SAFETY: the snapshot and thread handles are opened here, checked and closed here; the
    // entry is zeroed but for its size, as Thread32First requires.
    unsafe {
        let snapshot = CreateToolhelp32Snapshot(TH32CS_SNAPTHREAD, 0);
        if snapshot.is_null() || snapshot == windows_sys::Win32::Foundation::INVALID_HANDLE_VALUE {
            return Err(std::io::Error::last_os_error());
        }
        let mut entry: THREADENTRY32 = std::mem::zeroed();
        entry.dwSize = std::mem::size_of::<THREADENTRY32>() as u32;
        let mut resumed = 0;
        let mut more = Thread32First(snapshot, &mut entry) != 0;
        while more {
            if entry.th32OwnerProcessID == pid {
                let thread = OpenThread(THREAD_SUSPEND_RESUME, 0, entry.th32ThreadID);
                if !thread.is_null() {
                    if ResumeThread(thread) != u32::MAX {
                        resumed += 1;
                    }
                    CloseHandle(thread);
                }
            }
            more = Thread32Next(snapshot, &mut entry) != 0;
        }
        CloseHandle(snapshot);
        if resumed == 0 {
            return Err(std::io::Error::other(
                "no thread of the command could be resumed",
            ));
        }
        Ok(())
    }
}

/// Starts `command` suspended, puts it into a job that ends it with ssotray, and lets it run:
/// the child and the job (`None` when the job could not be made: the command runs anyway, and
/// outlives a killed ssotray). With `run: false` the child stays suspended (for the tests).
fn start_in_job(
    command: &mut tokio::process::Command,
    program: &str,
    run: bool,
) -> Result<(tokio::process::Child, Option<Job>), CliError> {
    command.creation_flags(CREATE_SUSPENDED);
    let mut child = command
        .spawn()
        .map_err(CliError::io(format!("run `{program}`")))?;
    let job = match child.raw_handle().map(Job::ending_with_ssotray) {
        Some(Ok(job)) => Some(job),
        Some(Err(e)) => {
            tracing::warn!(error = %e, "the command is not in a job object: it outlives a killed ssotray");
            None
        }
        None => None,
    };
    if run {
        if let Err(e) = child.id().map_or(Ok(()), resume) {
            let _ = child.start_kill();
            return Err(CliError::Io {
                what: format!("start `{program}`"),
                source: e,
            });
        }
    }
    Ok((child, job))
}

/// Runs `command` to its end; its exit code (0 when it succeeded).
pub async fn run(mut command: tokio::process::Command, program: &str) -> Result<i32, CliError> {
    use tokio::signal::windows::{ctrl_break, ctrl_c};
    let mut ctrl_c = ctrl_c().map_err(CliError::io("handle Ctrl+C"))?;
    let mut ctrl_break = ctrl_break().map_err(CliError::io("handle Ctrl+Break"))?;
    let (mut child, _job) = start_in_job(&mut command, program, true)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use windows_sys::Win32::System::JobObjects::IsProcessInJob;

    #[tokio::test]
    async fn the_command_is_in_its_job_before_it_runs_a_single_instruction() {
        let dir = tempfile::tempdir().unwrap();
        let mark = dir.path().join("ran");
        let mut command = tokio::process::Command::new("cmd");
        command
            .args(["/c", "echo ran>"])
            .arg(&mark)
            .stdout(std::process::Stdio::null());
        let (mut child, job) = start_in_job(&mut command, "cmd", false).unwrap();
        let job = job.expect("a job");
        let mut inside = 0;
        // SAFETY: live process and job handles, and an out-parameter.
        let asked =
            unsafe { IsProcessInJob(child.raw_handle().unwrap() as HANDLE, job.0, &mut inside) };
        assert!(asked != 0 && inside != 0, "in the job while suspended");
        std::thread::sleep(std::time::Duration::from_millis(500));
        assert!(!mark.exists(), "nothing ran before it was let run");
        resume(child.id().unwrap()).unwrap();
        assert!(child.wait().await.unwrap().success());
        assert!(mark.exists(), "it ran once let run");
    }
}
