//! `state.json`: parsing never panics; estimates and plans on what parsed never panic; what is
//! written parses back equal.
#![no_main]
use libfuzzer_sys::fuzz_target;
use ssotray_core::ops::state::{estimate_end, State};

fuzz_target!(|data: &[u8]| {
    if let Ok(state) = State::parse(data) {
        let now = chrono::Utc::now();
        for (name, record) in &state.sessions {
            let end = estimate_end(record, None);
            let view = ssotray_core::keep::keeper::TokenView { expires_at: now, can_refresh: true, obtained_at: record.last_alive_at, replaced_expiry: record.ended_at };
            let _ = ssotray_core::keep::keeper::plan(name, now, ssotray_core::keep::keeper::Facts { token: Some(view), record, end, jitter: chrono::Duration::seconds(60), retry_at: record.login_at }, &Default::default());
        }
        let written = serde_json::to_vec(&state).unwrap();
        assert_eq!(State::parse(&written).expect("written state reads back"), state);
    }
});
