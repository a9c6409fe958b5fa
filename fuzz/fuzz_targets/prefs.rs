//! `app.json` (favorites, recent roles): parsing never panics, what is written parses back.
#![no_main]
use libfuzzer_sys::fuzz_target;
use ssotray_core::ops::prefs::Prefs;

fuzz_target!(|data: &[u8]| {
    if let Ok(mut prefs) = Prefs::parse(data) {
        if let Some(r) = prefs.favorites.first().cloned() {
            prefs.used(&r);
            prefs.toggle_favorite(&r);
        }
        let written = serde_json::to_vec(&prefs).unwrap();
        assert_eq!(Prefs::parse(&written).expect("written prefs read back"), prefs);
    }
});
