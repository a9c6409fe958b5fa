//! Declares the app's own commands, so that each gets an `allow-…` permission that
//! `capabilities/main.json` grants explicitly: the window's commands (the list `actions.rs`
//! carries out) and `close_window`, which the window's process handles itself.

include!("src/window_commands.in");

fn main() {
    println!("cargo:rerun-if-changed=src/window_commands.in");
    let commands: Vec<&str> = WINDOW_COMMANDS
        .iter()
        .copied()
        .chain(["close_window"])
        .collect();
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(commands.leak())),
    )
    .expect("tauri build step");
}
