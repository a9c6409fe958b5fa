//! `settings.toml`: parsing never panics; an edit keeps it parseable and the edit reads back.
#![no_main]
use libfuzzer_sys::fuzz_target;
use ssotray_core::ops::settings::{set_session_value, Settings};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(settings) = Settings::parse(&text) {
        let _ = ssotray_core::keep::keeper::refresh_floor(&settings.keeper);
        if let Ok(edited) = set_session_value(&text, "fuzz-session", "keychain", true) {
            if let Ok(again) = Settings::parse(&edited) {
                assert!(again.session("fuzz-session").keychain, "the edit reads back");
            }
        }
    }
});
