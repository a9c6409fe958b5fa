//! The AWS CLI role-credential cache: parsing never panics, what is written parses back equal.
#![no_main]
use libfuzzer_sys::fuzz_target;
use ssotray_core::aws::credentials::{fresh_enough, from_cli_cache_json, to_cli_cache_json};

fuzz_target!(|data: &[u8]| {
    if let Some(c) = from_cli_cache_json(data) {
        let _ = fresh_enough(&c, chrono::Utc::now());
        let again = from_cli_cache_json(to_cli_cache_json(&c).as_bytes()).expect("written credentials read back");
        assert_eq!(again.access_key_id, c.access_key_id);
        assert_eq!(again.expiration.timestamp(), c.expiration.timestamp());
    }
});
