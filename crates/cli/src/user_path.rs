//! `ssotray user-path add|remove DIR` (hidden): the Windows installer's edit of the user's PATH.
//!
//! NSIS, as Debian's makensis builds it, handles strings of at most 1024 characters: reading a
//! longer `Path` gives an empty string, and its installer then wrote ssotray's folder over the
//! whole PATH (a PATH just under the limit was cut mid-entry; an uninstall deleted it). Here the
//! value is read whole, as the registry holds it (UTF-16, its type kept: `REG_EXPAND_SZ` or
//! `REG_SZ`), every other entry is kept code unit for code unit, and nothing is written when the
//! read fails. The installer tells Windows that the environment changed (`WM_SETTINGCHANGE`).

use crate::args::UserPathEdit;
use crate::error::CliError;

/// The PATH separator, as a UTF-16 code unit.
#[cfg_attr(not(windows), allow(dead_code))]
const SEMICOLON: u16 = b';' as u16;

/// Whether the PATH entry `entry` names `dir` (ASCII case ignored, as Windows file names
/// compare here, and a trailing backslash).
#[cfg_attr(not(windows), allow(dead_code))]
fn names(entry: &[u16], dir: &str) -> bool {
    let entry = String::from_utf16_lossy(entry);
    let trim = |s: &str| s.trim().trim_end_matches('\\').to_ascii_lowercase();
    !dir.trim().is_empty() && trim(&entry) == trim(dir)
}

/// `value` with `dir` appended as one more entry, or `None` when it is there already.
#[cfg_attr(not(windows), allow(dead_code))] // the registry is Windows'
pub(crate) fn with_dir(value: &[u16], dir: &str) -> Option<Vec<u16>> {
    if value.split(|&c| c == SEMICOLON).any(|e| names(e, dir)) {
        return None;
    }
    let mut out = value.to_vec();
    if !out.is_empty() && out.last() != Some(&SEMICOLON) {
        out.push(SEMICOLON);
    }
    out.extend(dir.encode_utf16());
    Some(out)
}

/// `value` without the entries that are `dir` (the others as they were, in order), or `None`
/// when it has none.
#[cfg_attr(not(windows), allow(dead_code))] // the registry is Windows'
pub(crate) fn without_dir(value: &[u16], dir: &str) -> Option<Vec<u16>> {
    let entries: Vec<&[u16]> = value.split(|&c| c == SEMICOLON).collect();
    if !entries.iter().any(|e| names(e, dir)) {
        return None;
    }
    let kept: Vec<&[u16]> = entries.into_iter().filter(|e| !names(e, dir)).collect();
    Some(kept.join(&SEMICOLON))
}

pub(crate) fn run(edit: UserPathEdit) -> Result<(), CliError> {
    imp::run(edit)
}

#[cfg(windows)]
mod imp {
    use super::*;
    use winreg::enums::{RegType, HKEY_CURRENT_USER, KEY_QUERY_VALUE, KEY_SET_VALUE};
    use winreg::{RegKey, RegValue};

    const KEY: &str = "Environment";
    const VALUE: &str = "Path";

    fn failed(what: &str, e: std::io::Error) -> CliError {
        CliError::Usage(format!(
            "cannot {what} HKCU\\{KEY}\\{VALUE} ({e}); PATH was left as it was: add or remove the folder in Settings > System > About > Advanced system settings > Environment Variables"
        ))
    }

    pub(super) fn run(edit: UserPathEdit) -> Result<(), CliError> {
        let (env, _) = RegKey::predef(HKEY_CURRENT_USER)
            .create_subkey_with_flags(KEY, KEY_QUERY_VALUE | KEY_SET_VALUE)
            .map_err(|e| failed("open", e))?;
        let (units, vtype) = match env.get_raw_value(VALUE) {
            Ok(v) => {
                if !matches!(v.vtype, RegType::REG_EXPAND_SZ | RegType::REG_SZ) {
                    return Err(failed(
                        "edit",
                        std::io::Error::other(format!("it is a {:?}, not a string", v.vtype)),
                    ));
                }
                let mut units: Vec<u16> = v
                    .bytes
                    .chunks_exact(2)
                    .map(|b| u16::from_le_bytes([b[0], b[1]]))
                    .collect();
                // The terminating NUL (and any after it) is the registry's, not an entry.
                while units.last() == Some(&0) {
                    units.pop();
                }
                (units, v.vtype)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                (Vec::new(), RegType::REG_EXPAND_SZ)
            }
            Err(e) => return Err(failed("read", e)),
        };
        let (changed, dir) = match &edit {
            UserPathEdit::Add { dir } => (with_dir(&units, dir), dir),
            UserPathEdit::Remove { dir } => (without_dir(&units, dir), dir),
        };
        let Some(new) = changed else {
            eprintln!("`{dir}` is already as asked on the user's PATH; nothing changed");
            return Ok(());
        };
        if new.is_empty() {
            // Only ssotray's folder was there: the value goes, as it was before the install.
            return env.delete_value(VALUE).map_err(|e| failed("remove", e));
        }
        let bytes: Vec<u8> = new
            .iter()
            .chain(std::iter::once(&0))
            .flat_map(|u| u.to_le_bytes())
            .collect();
        env.set_raw_value(
            VALUE,
            &RegValue {
                bytes: bytes.into(),
                vtype,
            },
        )
        .map_err(|e| failed("write", e))
    }
}

#[cfg(not(windows))]
mod imp {
    use super::*;

    pub(super) fn run(_edit: UserPathEdit) -> Result<(), CliError> {
        Err(CliError::Usage(
            "`ssotray user-path` edits the Windows registry; on this OS, add the folder to PATH in your shell's profile".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> Vec<u16> {
        s.encode_utf16().collect()
    }

    #[test]
    fn a_long_path_gets_the_folder_once_and_loses_it_once_every_other_entry_kept() {
        let dir = r"C:\Users\me\AppData\Local\Programs\ssotray";
        for len in [0, 10, 1000, 1100, 4000, 40_000] {
            // Entries of every kind people have: variables, spaces, a trailing backslash, an
            // empty entry, a lone surrogate another tool left.
            let mut path = Vec::new();
            let mut i = 0;
            while path.len() < len {
                if !path.is_empty() {
                    path.push(SEMICOLON);
                }
                path.extend(u(&format!(r"%USERPROFILE%\tools {i}\bin\")));
                if i % 7 == 3 {
                    path.push(0xD800);
                }
                if i % 11 == 5 {
                    path.push(SEMICOLON);
                }
                i += 1;
            }
            let added = with_dir(&path, dir).unwrap();
            assert_eq!(
                &added[..path.len()],
                &path[..],
                "kept unit for unit ({len})"
            );
            assert_eq!(with_dir(&added, dir), None, "added once ({len})");
            assert_eq!(
                with_dir(&added, &dir.to_uppercase()),
                None,
                "case is ignored"
            );
            assert_eq!(
                without_dir(&added, dir).unwrap(),
                path,
                "removed once ({len})"
            );
            assert_eq!(without_dir(&path, dir), None);
        }
        // At the start or in the middle, with a trailing backslash: taken off, the rest kept.
        let path = u(&format!(r"{dir}\;C:\a;{dir};C:\b"));
        assert_eq!(without_dir(&path, dir).unwrap(), u(r"C:\a;C:\b"));
        // A PATH ending in `;` gets no empty entry.
        assert_eq!(
            with_dir(&u(r"C:\a;"), dir).unwrap(),
            u(&format!(r"C:\a;{dir}"))
        );
        // Only ssotray's folder: nothing is left (the value is removed).
        assert_eq!(without_dir(&u(dir), dir).unwrap(), Vec::<u16>::new());
    }
}
