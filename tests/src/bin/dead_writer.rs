//! Replaces a file as ssotray replaces every file (`ssotray_core::platform::os::write_atomic_pausing`) and
//! stops between the write and the rename: `dead-writer FILE` writes a copy of FILE's bytes (or
//! `new` when it is missing), says `paused` on stdout, and waits. It renames when a line arrives
//! on stdin; the tests kill it instead (`kill -9`), as a crash would, between the two.

use std::io::{BufRead, Write};

fn main() {
    let path = std::path::PathBuf::from(std::env::args().nth(1).expect("a file"));
    let bytes = std::fs::read(&path).unwrap_or_else(|_| b"new".to_vec());
    ssotray_core::platform::os::write_atomic_pausing(&path, &bytes, 0o600, || {
        println!("paused");
        std::io::stdout().flush().expect("stdout");
        let mut line = String::new();
        let _ = std::io::stdin().lock().read_line(&mut line);
    })
    .expect("the write");
    println!("renamed");
}
