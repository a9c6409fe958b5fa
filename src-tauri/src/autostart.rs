//! Start at login, for the window's setting and `ssotray-app --autostart on|off` alike: on Linux a
//! desktop entry `$XDG_CONFIG_HOME/autostart/ssotray.desktop` (`~/.config/autostart`); on macOS a
//! LaunchAgent (`~/Library/LaunchAgents/ssotray.plist`); on Windows the current user's
//! `HKCU\Software\Microsoft\Windows\CurrentVersion\Run` value `ssotray`.
//!
//! Written here, not by a crate: the program's path is quoted in `Exec=` (the desktop entry
//! specification's quoting, so a path with spaces or `$` starts the right program) and in the
//! `Run` value (Windows splits an unquoted path at its first space), and escaped in the plist's
//! XML; and turning it off removes only the current user's entry, never a machine-wide one
//! (`HKLM\…\Run`, which an administrator made), even when run as an administrator.

#[cfg(not(windows))]
use std::path::{Path, PathBuf};

/// The name of the entry (the desktop file's, the plist's, the `Run` value's).
const NAME: &str = "ssotray";

/// Why start at login could not be read or changed.
#[derive(Debug, thiserror::Error)]
pub enum AutostartError {
    /// The app could not find its own program.
    #[error("cannot find my own program: {0}")]
    NoExe(#[source] std::io::Error),
    /// A path no entry can name (a line break in it).
    #[error("cannot start `{0}` at login: its path has a line break")]
    Unnameable(String),
    /// No home directory to put the entry in.
    #[cfg_attr(windows, allow(dead_code))]
    #[error("cannot find the home directory (HOME is not set)")]
    NoHome,
    /// The OS refused.
    #[error(
        "cannot change the entry that starts ssotray at login ({}): {source}",
        WHERE
    )]
    Os {
        #[source]
        source: std::io::Error,
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

/// `arg` as one argument of a desktop entry's `Exec=` value: quoted (`"`, `` ` ``, `$` and `\`
/// escaped inside the quotes), then escaped as a string value (`\` doubled), with `%` doubled
/// (a field code otherwise).
#[cfg_attr(windows, allow(dead_code))] // unit-tested everywhere
pub fn exec_arg(arg: &str) -> Result<String, AutostartError> {
    if arg.contains(['\n', '\r']) {
        return Err(AutostartError::Unnameable(arg.to_string()));
    }
    let mut quoted = String::from("\"");
    for c in arg.chars() {
        if matches!(c, '"' | '`' | '$' | '\\') {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push('"');
    Ok(quoted.replace('\\', "\\\\").replace('%', "%%"))
}

/// The desktop entry that starts `exe` at login (Linux and other XDG desktops).
#[cfg_attr(windows, allow(dead_code))] // unit-tested everywhere
pub fn desktop_entry(exe: &str) -> Result<String, AutostartError> {
    Ok(format!(
        "[Desktop Entry]\nType=Application\nVersion=1.0\nName=ssotray\nComment=Keeps AWS IAM Identity Center sessions logged in\nExec={}\nStartupNotify=false\nTerminal=false\n",
        exec_arg(exe)?
    ))
}

/// `text` escaped for XML character data.
#[cfg_attr(windows, allow(dead_code))] // unit-tested everywhere
fn xml_text(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The LaunchAgent that starts `exe` at login (macOS).
#[cfg_attr(windows, allow(dead_code))] // unit-tested everywhere
pub fn launch_agent(exe: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n<plist version=\"1.0\">\n<dict>\n  <key>Label</key>\n  <string>{NAME}</string>\n  <key>ProgramArguments</key>\n  <array><string>{}</string></array>\n  <key>RunAtLoad</key>\n  <true/>\n</dict>\n</plist>\n",
        xml_text(exe)
    )
}

/// The `Run` value that starts `exe` at login (Windows): the path in quotes.
#[cfg_attr(not(windows), allow(dead_code))] // unit-tested everywhere
pub fn run_value(exe: &str) -> Result<String, AutostartError> {
    if exe.contains(['\n', '\r', '"']) {
        return Err(AutostartError::Unnameable(exe.to_string()));
    }
    Ok(format!("\"{exe}\""))
}

fn own_program() -> Result<String, AutostartError> {
    let exe = std::env::current_exe().map_err(AutostartError::NoExe)?;
    Ok(exe.display().to_string())
}

fn os(source: std::io::Error) -> AutostartError {
    AutostartError::Os { source }
}

/// The file the entry is in (Linux, macOS).
#[cfg(not(windows))]
fn entry_file() -> Result<PathBuf, AutostartError> {
    let home = || {
        std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .map(PathBuf::from)
            .ok_or(AutostartError::NoHome)
    };
    if cfg!(target_os = "macos") {
        return Ok(home()?.join(format!("Library/LaunchAgents/{NAME}.plist")));
    }
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .map_or_else(|| home().map(|h| h.join(".config")), Ok)?;
    Ok(config.join(format!("autostart/{NAME}.desktop")))
}

/// Whether ssotray starts at login.
#[cfg(not(windows))]
pub fn is_enabled() -> bool {
    entry_file().is_ok_and(|f| f.is_file())
}

/// Makes ssotray start at login, or not.
#[cfg(not(windows))]
pub fn set(on: bool) -> Result<(), AutostartError> {
    let file = entry_file()?;
    if !on {
        return match std::fs::remove_file(&file) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(os(e)),
            _ => Ok(()),
        };
    }
    let exe = own_program()?;
    let text = if cfg!(target_os = "macos") {
        launch_agent(&exe)
    } else {
        desktop_entry(&exe)?
    };
    write(&file, &text).map_err(os)
}

#[cfg(not(windows))]
fn write(file: &Path, text: &str) -> std::io::Result<()> {
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)?;
    }
    ssotray_core::platform::os::write_atomic_pausing(file, text.as_bytes(), 0o644, || {})
}

#[cfg(windows)]
const RUN_KEY: &str = r"Software\Microsoft\Windows\CurrentVersion\Run";

/// Whether ssotray starts at login (the current user's `Run` value).
#[cfg(windows)]
pub fn is_enabled() -> bool {
    winreg::RegKey::predef(winreg::enums::HKEY_CURRENT_USER)
        .open_subkey(RUN_KEY)
        .and_then(|k| k.get_value::<String, _>(NAME))
        .is_ok()
}

/// Makes ssotray start at login, or not: the current user's `Run` value only (a machine-wide
/// one in `HKLM` is an administrator's, and stays).
#[cfg(windows)]
pub fn set(on: bool) -> Result<(), AutostartError> {
    use winreg::enums::{HKEY_CURRENT_USER, KEY_SET_VALUE};
    let (run, _) = winreg::RegKey::predef(HKEY_CURRENT_USER)
        .create_subkey_with_flags(RUN_KEY, KEY_SET_VALUE)
        .map_err(os)?;
    if on {
        run.set_value(NAME, &run_value(&own_program()?)?)
            .map_err(os)
    } else {
        match run.delete_value(NAME) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(os(e)),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_with_spaces_and_shell_characters_starts_the_right_program() {
        assert_eq!(
            exec_arg("/usr/bin/ssotray-app").unwrap(),
            "\"/usr/bin/ssotray-app\""
        );
        assert_eq!(
            exec_arg("/home/me/My Apps/ssotray-app").unwrap(),
            "\"/home/me/My Apps/ssotray-app\""
        );
        // Inside the quotes `"`, `` ` ``, `$` and `\` are escaped with `\`; then, as a string
        // value, every `\` is doubled; `%` is doubled (not a field code).
        assert_eq!(
            exec_arg(r#"/opt/a"b`c$d\e%f/app"#).unwrap(),
            r#""/opt/a\\"b\\`c\\$d\\\\e%%f/app""#
        );
        assert!(exec_arg("/opt/a\nb").is_err());
        let entry = desktop_entry("/home/me/My Apps/ssotray-app").unwrap();
        assert!(
            entry.contains("\nExec=\"/home/me/My Apps/ssotray-app\"\n"),
            "{entry}"
        );
        assert!(entry.starts_with("[Desktop Entry]\n"));
    }

    #[test]
    fn the_launch_agent_and_the_run_value_name_the_program_whatever_its_path() {
        let plist = launch_agent("/Users/me/Apps & Tools/<x>.app/Contents/MacOS/ssotray-app");
        assert!(
            plist.contains("<string>/Users/me/Apps &amp; Tools/&lt;x&gt;.app/Contents/MacOS/ssotray-app</string>"),
            "{plist}"
        );
        assert_eq!(
            run_value(r"C:\Users\Jane Doe\AppData\Local\Programs\ssotray\ssotray-app.exe").unwrap(),
            r#""C:\Users\Jane Doe\AppData\Local\Programs\ssotray\ssotray-app.exe""#
        );
        assert!(run_value("C:\\a\"b").is_err());
    }
}
