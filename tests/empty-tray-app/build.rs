//! Tauri's build step (no commands).
fn main() {
    tauri_build::build();
}
