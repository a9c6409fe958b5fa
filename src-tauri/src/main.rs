//! `ssotray-app`: the tray app.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    ssotray_app::run();
}
