//! Changes one of the files ssotray rewrites, `count` times in a row, through the same engine
//! calls the CLI and the tray app use: `concurrent-writer <config|settings|state|prefs> <id> <count>`.
//! The test runs two at once on one home and checks that no change was lost.

use ssotray_core::ops::prefs::RoleRef;
use ssotray_core::ops::settings::set_session_value;
use ssotray_core::{Context, Engine};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (kind, id, count) = (
        args[1].as_str(),
        args[2].as_str(),
        args[3].parse::<u32>().expect("a count"),
    );
    let engine = Engine::new(Context::real());
    for i in 0..count {
        let name = format!("w{id}-{i}");
        let result = match kind {
            "config" => engine
                .add_sso_session(&name, "https://d-1234567890.awsapps.com/start", "us-east-1")
                .await
                .map(drop),
            "settings" => {
                engine
                    .edit_settings(|t| {
                        set_session_value(t, &name, "session_length", i64::from(i) + 900)
                    })
                    .await
            }
            "state" => engine
                .update_record(&name, |r| r.learned_length_secs = Some(i64::from(i) + 1))
                .await
                .map(drop),
            "prefs" => {
                let role = RoleRef {
                    session: format!("w{id}"),
                    account_id: format!("{i:012}"),
                    account_name: name.clone(),
                    role_name: "R".into(),
                    profile: None,
                };
                engine
                    .update_prefs(|p| p.toggle_favorite(&role))
                    .await
                    .map(drop)
            }
            other => panic!("unknown kind {other}"),
        };
        if let Err(e) = result {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
