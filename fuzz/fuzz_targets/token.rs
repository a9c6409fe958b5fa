//! Token cache files and their timestamps: parsing never panics, what is written parses back
//! equal, and planning on any parsed token never panics.
#![no_main]
use libfuzzer_sys::fuzz_target;
use ssotray_core::aws::cache::CachedToken;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Some(t) = ssotray_core::platform::time::parse_timestamp(text) {
            let again = ssotray_core::platform::time::parse_timestamp(&ssotray_core::platform::time::format_timestamp(t)).expect("a written timestamp reads back");
            assert_eq!(again.timestamp(), t.timestamp());
        }
    }
    if let Ok(token) = CachedToken::from_json(data) {
        let written = token.to_json();
        let again = CachedToken::from_json(written.as_bytes()).expect("a written token reads back");
        assert_eq!(again.to_json(), written);
        let now = chrono::Utc::now();
        let _ = token.can_refresh(now);
        let view = ssotray_core::keep::keeper::TokenView { expires_at: token.expires_at, can_refresh: true, obtained_at: token.registration_expires_at, replaced_expiry: token.registration_expires_at };
        let record = ssotray_core::ops::state::SessionRecord::default();
        let _ = ssotray_core::keep::keeper::plan("s", now, ssotray_core::keep::keeper::Facts { token: Some(view), record: &record, end: None, jitter: chrono::Duration::zero(), retry_at: None }, &Default::default());
    }
});
