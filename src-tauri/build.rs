//! Declares the app's own commands, so that each gets an `allow-…` permission that
//! `capabilities/main.json` grants explicitly.

fn main() {
    let commands: &[&str] = &[
        "get_state",
        "get_accounts",
        "login",
        "logout",
        "renew",
        "refresh_accounts",
        "open_console",
        "copy_console_url",
        "copy_credentials",
        "copy_profile_name",
        "copy_text",
        "toggle_favorite",
        "get_settings",
        "save_settings",
        "add_identity_center",
        "generate_profiles",
        "open_login_page",
        "quit",
        "close_window",
    ];
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(commands)),
    )
    .expect("tauri build step");
}
