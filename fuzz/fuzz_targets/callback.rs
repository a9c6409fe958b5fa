//! The browser's callback request to the loopback listener: never panics, and only a request
//! with the expected state yields a code.
#![no_main]
use libfuzzer_sys::fuzz_target;
use ssotray_core::ops::login::{parse_callback, CallbackRequest};

fuzz_target!(|data: &[u8]| {
    if let CallbackRequest::Code(_) = parse_callback(data, "the-state") {
        // The same request for another login gives no code.
        assert_eq!(parse_callback(data, "another-state"), CallbackRequest::WrongState);
    }
});
