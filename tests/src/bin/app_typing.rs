//! Typing in the window's role search over 1000 accounts, against typing in a plain text field of
//! the same window: the time from each key's `keydown` until the frame after it has been painted
//! (measured in the page), through the real webview driven by tauri-driver, with the app's own
//! state polling running. Printed as a ratio. Run with `scripts/bench app` (release builds).

use ssotray_tests::{Desktop, Home, Webview, CONFIG};
use std::path::PathBuf;
use std::time::Duration;

/// Installs the probe: every keydown in `#search` or `#add-name` records, once the frame after
/// it has been painted, how long that took.
const PROBE: &str = r#"
window.__typing = { search: [], floor: [], handler: [] };
let keyAt = 0;
// Registered after the window's own listener: runs once the search has re-rendered the rows.
document.querySelector('#search').addEventListener('input', () => window.__typing.handler.push(performance.now() - keyAt));
for (const [sel, name] of [['#search', 'search'], ['#add-name', 'floor']]) {
  document.querySelector(sel).addEventListener('keydown', (e) => {
    const t0 = e.timeStamp;
    keyAt = t0;
    requestAnimationFrame(() => setTimeout(() => window.__typing[name].push(performance.now() - t0), 0));
  }, true);
}
"#;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let release = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    let app: PathBuf = release.join("ssotray-app");
    let desktop = Desktop::start();
    let accounts = 1000;
    let sim = ssotray_sim::start(ssotray_sim::SimConfig {
        auto_approve: true,
        rate_limit: 0.0,
        org: ssotray_sim::Org::generated(accounts),
        ..Default::default()
    })
    .await
    .unwrap();
    let home = Home::new(CONFIG);
    let mut env = home.env(&sim.base_url);
    env.extend(desktop.env());
    env.push(("PATH".into(), std::env::var("PATH").unwrap_or_default()));
    env.push((
        "XDG_CONFIG_HOME".into(),
        home.path().join(".config").display().to_string(),
    ));
    env.push((
        "XDG_STATE_HOME".into(),
        home.path().join(".local/state").display().to_string(),
    ));
    env.push(("XDG_RUNTIME_DIR".into(), home.path().display().to_string()));
    ssotray_tests::log_in_and_keep_the_accounts(&release.join("ssotray"), &env);

    let view = Webview::start(&app, &env).await;
    view.client
        .execute("location.hash = 'accounts'", vec![])
        .await
        .unwrap();
    view.wait_text("#roles-more", "Showing the first").await;
    view.client.execute(PROBE, vec![]).await.unwrap();

    // Three rounds of each, interleaved: a plain field of the window (the floor), then the search.
    let words = "account-05 read";
    for _ in 0..3 {
        for (hash, css) in [("add", "#add-name"), ("accounts", "#search")] {
            view.client
                .execute(&format!("location.hash = '{hash}'"), vec![])
                .await
                .unwrap();
            let field = view.find(css).await;
            field.clear().await.unwrap();
            tokio::time::sleep(Duration::from_millis(300)).await;
            for ch in words.chars() {
                field.send_keys(&ch.to_string()).await.unwrap();
                tokio::time::sleep(Duration::from_millis(120)).await;
            }
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let shown = view.text("#roles-more").await;
    let result = view
        .client
        .execute("return window.__typing", vec![])
        .await
        .unwrap();
    let take = |name: &str| {
        let mut v: Vec<f64> = result[name]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|x| x.as_f64())
            .collect();
        v.sort_by(f64::total_cmp);
        v
    };
    let (search, floor) = (take("search"), take("floor"));
    assert!(
        search.len() >= 3 * words.len() && floor.len() >= 3 * words.len(),
        "every key was measured: {} and {}",
        search.len(),
        floor.len()
    );
    let line = |name: &str, v: &[f64]| {
        println!(
            "{name}: {} keys, median {:.1} ms, p95 {:.1} ms, max {:.1} ms",
            v.len(),
            percentile(v, 0.5),
            percentile(v, 0.95),
            v[v.len() - 1]
        )
    };
    println!(
        "typing over {accounts} accounts ({} roles listed; after the last key: {shown:?})",
        accounts * 2
    );
    line("plain field (floor)", &floor);
    line("role search", &search);
    line("  of which keydown to the rows rebuilt", &take("handler"));
    println!(
        "ratios: median {:.3}, p95 {:.3} (budget: p95 ≤ 1.5, i.e. no key waits a frame longer than in a plain field)",
        percentile(&search, 0.5) / percentile(&floor, 0.5),
        percentile(&search, 0.95) / percentile(&floor, 0.95)
    );
    let _ = view.client.close().await;
    drop(sim);
}
