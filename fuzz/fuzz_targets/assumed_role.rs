//! STS AssumeRole answers and the AWS CLI's assume-role cache entries: reading never panics,
//! and what is read is written into the cache and read back equal.
#![no_main]
use libfuzzer_sys::fuzz_target;
use ssotray_core::aws::chain::{from_cli_cache_json, to_cli_cache_json, AssumedRole};
use ssotray_core::aws::sts::read_answer;

fn round_trip(a: &AssumedRole) {
    let again = from_cli_cache_json(to_cli_cache_json(a).as_bytes()).expect("a written entry reads back");
    assert_eq!(again.credentials.access_key_id, a.credentials.access_key_id);
    assert_eq!(again.credentials.account_id, a.credentials.account_id);
    assert_eq!(again.credentials.expiration.timestamp(), a.credentials.expiration.timestamp());
    assert_eq!(again.arn, a.arn);
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(a) = read_answer(200, &text, "https://sts.example") {
        round_trip(&a);
    }
    let _ = read_answer(403, &text, "https://sts.example");
    if let Some(a) = from_cli_cache_json(data) {
        round_trip(&a);
    }
});
