//! Kept account lists: parsing never panics, what is written parses back equal, and a diff of
//! any two lists never panics.
#![no_main]
use libfuzzer_sys::fuzz_target;
use ssotray_core::ops::discovery::{diff, Inventory};

fuzz_target!(|data: &[u8]| {
    if let Ok(inv) = serde_json::from_slice::<Inventory>(ssotray_core::platform::files::strip_bom(data)) {
        let _ = diff(&inv.accounts, &inv.accounts[..inv.accounts.len() / 2]);
        let written = serde_json::to_vec(&inv).unwrap();
        assert_eq!(serde_json::from_slice::<Inventory>(&written).unwrap(), inv);
    }
});
