//! Start at login, for the window's setting and `ssotray-app --autostart on|off` alike, through
//! auto-launch: on Linux a desktop entry `~/.config/autostart/ssotray.desktop`; on macOS a
//! LaunchAgent (`~/Library/LaunchAgents/ssotray.plist`); on Windows the current user's
//! `HKCU\Software\Microsoft\Windows\CurrentVersion\Run` value (never the machine's, even when
//! run as an administrator).

/// The name of the entry.
const NAME: &str = "ssotray";

/// Why start at login could not be read or changed.
#[derive(Debug, thiserror::Error)]
pub enum AutostartError {
    /// The app could not find its own program.
    #[error("cannot find my own program: {0}")]
    NoExe(#[source] std::io::Error),
    /// The OS refused.
    #[error(
        "cannot change the entry that starts ssotray at login ({}): {source}",
        WHERE
    )]
    Os {
        #[source]
        source: auto_launch::Error,
    },
}

/// Where the entry is, for messages.
const WHERE: &str = if cfg!(windows) {
    r"HKCU\Software\Microsoft\Windows\CurrentVersion\Run"
} else if cfg!(target_os = "macos") {
    "~/Library/LaunchAgents"
} else {
    "~/.config/autostart"
};

fn launcher() -> Result<auto_launch::AutoLaunch, AutostartError> {
    let exe = std::env::current_exe().map_err(AutostartError::NoExe)?;
    auto_launch::AutoLaunchBuilder::new()
        .set_app_name(NAME)
        .set_app_path(&exe.display().to_string())
        .set_macos_launch_mode(auto_launch::MacOSLaunchMode::LaunchAgent)
        .set_windows_enable_mode(auto_launch::WindowsEnableMode::CurrentUser)
        .build()
        .map_err(|source| AutostartError::Os { source })
}

/// Whether ssotray starts at login.
pub fn is_enabled() -> bool {
    launcher()
        .and_then(|l| {
            l.is_enabled()
                .map_err(|source| AutostartError::Os { source })
        })
        .unwrap_or(false)
}

/// Makes ssotray start at login, or not.
pub fn set(on: bool) -> Result<(), AutostartError> {
    let launcher = launcher()?;
    let result = if on {
        launcher.enable()
    } else if launcher.is_enabled().unwrap_or(false) {
        launcher.disable()
    } else {
        Ok(())
    };
    result.map_err(|source| AutostartError::Os { source })
}
