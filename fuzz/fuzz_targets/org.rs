//! The simulator's org TOML: parsing never panics.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(org) = ssotray_sim::Org::from_toml(&String::from_utf8_lossy(data)) {
        for a in &org.accounts {
            assert_eq!(org.account(&a.id).map(|x| &x.id), Some(&a.id));
        }
    }
});
