//! ssotray-app: the Tauri 2 tray shell over ssotray-core. It only knows Tauri: the tray and its
//! menu, the window, commands, notifications' actions. Everything else is the core's.
//!
//! It runs as two processes from one binary:
//! - **The tray process** (`ssotray-app`): the tray, the core's `KeeperService` (as `ssotray keep`
//!   runs it) with a `DesktopNotifier` (which opens the window for a notification the server cannot
//!   give buttons), the clipboard and all of the app's state; at exit it closes the service, which
//!   removes the keeper's socket. It holds no webview, ever, and runs without GTK's accessibility
//!   bridge (`NO_AT_BRIDGE=1`: it draws nothing itself, the panel renders its icon and menu from
//!   D-Bus), so idle it costs what an empty Tauri tray app costs, and wakes only for deadlines: the
//!   keeper's (at least once a minute) and the menu's minute labels.
//! - **The window process** (`ssotray-app --window <socket> <id> <view>`, `window.rs`), started on
//!   demand: one webview whose every `invoke` is forwarded to the tray process. It exits when its
//!   window closes or when the tray process quits.
//!
//! Wiring: the plugins are autostart and clipboard; the `WindowHost` is given `commands::dispatch`
//! and the tray `actions::on_menu` (`tray::MenuClicks`) as functions, so the modules depend one
//! way: `commands` → `actions` → `settings`, `tray` → `window`, and all of them on `app` and
//! `menu`. The app keeps running when the window closes.
//!
//! The command line (clap): `--demo`, `--open`, `--autostart on|off` (writes or removes the
//! start-at-login entry through `autostart.rs`, without starting GTK), `--version`, and the hidden
//! `--manpage` and `--window` (the window's process).
//!
//! **Wayland.** Nothing of ours is X11-only: GDK picks its Wayland backend when `WAYLAND_DISPLAY`
//! is set (or `GDK_BACKEND=wayland`), the tray is D-Bus either way, and the window's title, size
//! and minimum size go through GTK. `app::the_window_works_on_wayland_with_no_x_server` (e2e) runs
//! both processes under weston's headless backend with no X server and drives the window through
//! WebDriver. The tests' `close_window` and the helpers that find windows by title are X11 (the
//! close test and the keyboard test run on Xvfb).

mod actions;
mod app;
mod autostart;
mod commands;
mod demo;
mod instance;
pub mod menu;
mod settings;
mod tray;
mod window;

use app::App;
use ssotray_core::keep::keeper::Keeper;
use ssotray_core::keep::service::{ActionHook, KeeperService};
use ssotray_core::{Context, Engine};
use std::sync::Arc;
use tauri::{Manager, RunEvent};

/// The tray app of ssotray: keeps AWS IAM Identity Center (AWS SSO) sessions logged in from the
/// system tray, with notifications before they end. `ssotray` is its command line.
#[derive(clap::Parser, Debug)]
#[command(name = "ssotray-app", version)]
struct AppArgs {
    /// Run against the built-in Identity Center simulator in a throwaway home: no AWS account
    /// needed, ~/.aws never touched.
    #[arg(long)]
    demo: bool,
    /// Open the window at start (the tray icon alone otherwise).
    #[arg(long)]
    open: bool,
    /// Start ssotray-app when you log in to the desktop (`on`) or not (`off`), then exit: the
    /// same desktop entry as the window's "Start at login" setting.
    #[arg(long, value_name = "on|off")]
    autostart: Option<OnOff>,
    /// Print the man page (roff); the packages install it as ssotray-app(1).
    #[arg(long, hide = true)]
    manpage: bool,
    /// The window's own process (the tray app passes a socket, an id and a view).
    #[arg(long, num_args = 3, value_names = ["SOCKET", "ID", "VIEW"], hide = true)]
    window: Option<Vec<String>>,
}

/// `on` or `off`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum OnOff {
    On,
    Off,
}

/// Runs the app (`--demo`: against the built-in simulator in a throwaway home).
pub fn run() {
    let args = <AppArgs as clap::Parser>::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SSOTRAY_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    if args.manpage {
        let man = clap_mangen::Man::new(<AppArgs as clap::CommandFactory>::command());
        if let Err(e) = man.render(&mut std::io::stdout()) {
            eprintln!("error: cannot write the man page: {e}");
            std::process::exit(1);
        }
        return;
    }
    if let Some(state) = args.autostart {
        let on = state == OnOff::On;
        match autostart::set(on) {
            Ok(()) => {
                eprintln!(
                    "ssotray-app {} start when you log in",
                    if on { "will" } else { "will not" }
                );
                return;
            }
            Err(e) => {
                eprintln!("error: {e}");
                std::process::exit(1);
            }
        }
    }
    let context = tauri::generate_context!();
    // `--window <socket> <id> <view>`: the window's own process (see `window.rs`).
    if let Some(window) = args.window {
        match (
            window.first(),
            window.get(1).and_then(|i| i.parse().ok()),
            window.get(2),
        ) {
            (Some(socket), Some(id), Some(view)) => {
                return window::run_window(context, socket.into(), id, view.clone())
            }
            _ => {
                eprintln!("error: --window needs a socket, an id and a view (the tray app passes them; start ssotray-app without --window)");
                std::process::exit(2);
            }
        }
    }
    let demo_mode = args.demo;
    // `--open`: show the window at start (the tray alone otherwise).
    let open_window = args.open;

    // The tray process shows nothing itself (the panel draws its icon and menu from D-Bus), so it
    // goes without GTK's accessibility bridge, which would relay every change of a menu label to
    // the accessibility bus and wake the process for it. The window's process keeps the bridge.
    window::remember_user_env();
    std::env::set_var("NO_AT_BRIDGE", "1");

    // One instance: a second launch shows the first one's window and exits, before any GTK.
    let instance = instance::socket_path();
    if let Some(path) = &instance {
        if instance::hand_over(path, "sessions") {
            return;
        }
    }

    let builder = tauri::Builder::default()
        .plugin(tauri_plugin_clipboard_manager::init())
        .manage(tray::LastMenu::default())
        .manage(tray::LastIcon::default())
        .manage(tray::CopiedSecret::default())
        .manage(tray::MenuClicks(actions::on_menu))
        .setup(move |tauri_app| {
            let handle = tauri_app.handle().clone();
            let (context, demo) = if demo_mode {
                let demo = tauri::async_runtime::block_on(demo::Demo::start())?;
                (demo.context(), Some(demo))
            } else {
                (Context::real(), None)
            };
            let engine = Engine::new(context);
            let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
            let notifier: Arc<dyn ssotray_core::keep::keeper::Notifier> = Arc::new(ssotray_core::keep::desktop_notify::DesktopNotifier::new(tx).opening_on_click());
            let keeper = Arc::new(Keeper::new(engine.clone(), notifier.clone()));
            let app = Arc::new(App::new(keeper.clone(), demo.is_some()));
            tauri_app.manage(app.clone());
            tauri_app.manage(window::WindowHost::start(&handle, |handle, cmd, args| {
                Box::pin(async move { commands::dispatch(&handle, &cmd, args).await })
            })?);
            // A runtime directory that is not the user's own with mode 0700 is refused: no
            // single-instance socket and no keeper socket there (logins still work, each
            // process under the session's lock file).
            let private = instance.as_deref().and_then(std::path::Path::parent).map(ssotray_core::platform::sock::private_dir);
            if let Some(Err(e)) = &private {
                tracing::error!("{e}");
                eprintln!("ssotray-app: {e}");
                // A tray app's stderr is seen by nobody: the desktop says it.
                notifier.notify(&ssotray_core::keep::keeper::KeeperEvent::Unsafe { message: e.to_string() });
            }
            if let (Some(path), Some(Ok(()))) = (&instance, &private) {
                if let Err(e) = instance::listen(&handle, path) {
                    // Launched at the same moment as another instance, which won: hand over.
                    for _ in 0..50 {
                        if instance::hand_over(path, "sessions") {
                            std::process::exit(0);
                        }
                        std::thread::sleep(std::time::Duration::from_millis(100));
                    }
                    tracing::warn!(error = %e, "not the only ssotray-app, and the other does not answer");
                }
            }
            if let Some(d) = demo {
                tauri_app.manage(d);
            }

            // The tray item, when and while a panel shows it (else the window opens).
            tray::follow_the_watcher(&handle);

            // The keeper service (the same `ssotray keep` runs): refresh ahead, notify, own
            // logins for every ssotray process through its socket, serve container credentials
            // when the settings turn that on. Its socket goes when the app quits (`RunEvent::Exit`).
            {
                let handle = handle.clone();
                let app = app.clone();
                tauri::async_runtime::spawn(async move {
                    let (service, started) =
                        KeeperService::start(keeper, ssotray_core::keep::service::Options::default()).await;
                    if let Err(e) = &started.socket {
                        tracing::warn!(error = %e, "not owning logins");
                    }
                    match started.container {
                        Some(Ok(serving)) => tracing::info!(address = %serving.address, "serving container credentials to the granted profiles"),
                        Some(Err(e)) => {
                            tracing::error!("{e}");
                            notifier.notify(&ssotray_core::keep::keeper::KeeperEvent::NotServing { message: e.to_string() });
                        }
                        None => {}
                    }
                    handle.manage(service.clone());
                    // Notification actions: the shell's own way (the window, a login's progress),
                    // through the same keeper.
                    let hook: ActionHook = {
                        let handle = handle.clone();
                        Arc::new(move |session, action| {
                            let app = app.clone();
                            let handle = handle.clone();
                            Box::pin(async move {
                                let action = actions::Action::from_notification(&session, action);
                                actions::carry_out_waiting(&handle, &app, action)
                                    .await
                                    .map(|_| ())
                                    .map_err(Into::into)
                            })
                        })
                    };
                    service.run(rx, Some(hook), std::future::pending()).await;
                });
            }
            if open_window {
                tray::show_window(&handle, "sessions");
            }
            // The menu follows the state: its labels count minutes, so it is looked at once a
            // minute, just after the minute turns, and rebuilt only when its text changed.
            // (Actions refresh it at once.)
            {
                let handle = handle.clone();
                tauri::async_runtime::spawn(async move {
                    loop {
                        tray::refresh(&handle).await;
                        let now = chrono::Utc::now();
                        let into_minute = now.timestamp_subsec_millis() as u64 + 1000 * (now.timestamp() % 60) as u64;
                        tokio::time::sleep(std::time::Duration::from_millis(60_000 - into_minute + 50)).await;
                    }
                });
            }
            Ok(())
        });

    let app = builder.build(context).expect("the app builds");
    app.run(|handle, event| match event {
        // Closing the window does not quit: the tray stays.
        RunEvent::ExitRequested {
            code: None, api, ..
        } => api.prevent_exit(),
        // The process exits without dropping managed state: remove the window's socket directory.
        // Quit: a credential copied less than a minute ago does not outlive the app on the
        // clipboard (a clipboard manager would keep it). (At `Exit` the clipboard is gone.)
        RunEvent::ExitRequested { code: Some(_), .. } => tray::clear_copied_secret(handle),
        RunEvent::Exit => {
            if let Some(host) = handle.try_state::<Arc<window::WindowHost>>() {
                host.remove_socket();
            }
            // The keeper's socket is this app's (it holds the lock beside it): removed, as
            // `ssotray keep` removes it, so no process finds a socket nobody serves.
            if let Some(service) = handle.try_state::<Arc<KeeperService>>() {
                service.close();
            }
            // So is the socket a second launch hands over on.
            instance::remove(handle);
        }
        _ => {}
    });
}
