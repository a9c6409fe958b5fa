//! An empty Tauri 2 tray app with a 3-item menu and no window: the floor of this stack.
#![allow(missing_docs)]

use tauri::menu::{Menu, MenuItem};
use tauri::tray::TrayIconBuilder;

fn main() {
    tauri::Builder::default()
        .setup(|app| {
            let a = MenuItem::with_id(app, "a", "First", true, None::<&str>)?;
            let b = MenuItem::with_id(app, "b", "Second", true, None::<&str>)?;
            let quit = MenuItem::with_id(app, "quit", "Quit", true, None::<&str>)?;
            let menu = Menu::with_items(app, &[&a, &b, &quit])?;
            TrayIconBuilder::with_id("empty")
                .icon(tauri::image::Image::from_bytes(include_bytes!(
                    "../../../icons/tray-ok.png"
                ))?)
                .menu(&menu)
                .on_menu_event(|app, e| {
                    if e.id().as_ref() == "quit" {
                        app.exit(0)
                    }
                })
                .build(app)?;
            Ok(())
        })
        .build(tauri::generate_context!())
        .expect("builds")
        .run(|_, e| {
            if let tauri::RunEvent::ExitRequested {
                code: None, api, ..
            } = e
            {
                api.prevent_exit();
            }
        });
}
