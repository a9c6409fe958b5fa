//! A line on a socket: the bounded reader never panics or returns more than its bound, and a
//! keeper request parses (or not) without panicking.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let rt = tokio_rt();
    rt.block_on(async {
        let mut r = tokio::io::BufReader::new(data);
        while let Ok(Some(line)) = ssotray_core::platform::sock::read_line(&mut r, 256, None).await {
            assert!(line.len() <= 256);
            let _ = serde_json::from_str::<ssotray_core::keep::owner::Request>(&line);
        }
    });
});

fn tokio_rt() -> &'static tokio::runtime::Runtime {
    static RT: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RT.get_or_init(|| tokio::runtime::Builder::new_current_thread().build().unwrap())
}
