//! The .deb's size and install time (`scripts/bench package`), each against a floor measured in
//! the same run: the installed size against the two release binaries it carries, and dpkg's
//! install of the package (dependencies present) against copying those two binaries into place
//! in the same clean root, through the same chroot.

use ssotray_tests::CleanRoot;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn timed(root: &CleanRoot, script: &str) -> Duration {
    let started = Instant::now();
    let o = root.run(script, &[("DEBIAN_FRONTEND", "noninteractive")]);
    let took = started.elapsed();
    assert!(
        o.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    took
}

fn main() {
    let version = env!("CARGO_PKG_VERSION");
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let deb = repo.join(format!("dist/ssotray_{version}_amd64.deb"));
    assert!(
        deb.exists(),
        "{} is missing: run scripts/package",
        deb.display()
    );

    // Size: what apt reports as installed against the two binaries in it.
    let unpacked = tempfile::tempdir().unwrap();
    let status = Command::new("dpkg-deb")
        .arg("-x")
        .args([&deb, unpacked.path()])
        .status()
        .unwrap();
    assert!(status.success());
    let binaries: u64 = ["usr/bin/ssotray-app", "usr/bin/ssotray"]
        .iter()
        .map(|b| std::fs::metadata(unpacked.path().join(b)).unwrap().len())
        .sum();
    let installed_kib: u64 = String::from_utf8(
        Command::new("dpkg-deb")
            .args(["-f", &deb.display().to_string(), "Installed-Size"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
    .trim()
    .parse()
    .unwrap();
    let installed = installed_kib * 1024;
    let file = std::fs::metadata(&deb).unwrap().len();
    println!("| measure | result | floor | ratio |");
    println!("|---|---|---|---|");
    println!(
        "| installed size (Installed-Size) | {:.1} MiB | the two release binaries {:.1} MiB | {:.3} |",
        mib(installed),
        mib(binaries),
        installed as f64 / binaries as f64
    );
    println!(
        "| .deb file (gzip) | {:.1} MiB | the two release binaries {:.1} MiB | {:.3} |",
        mib(file),
        mib(binaries),
        file as f64 / binaries as f64
    );

    // Install time, in a copy of the clean root, downloads from apt's cache.
    let root = CleanRoot::copy();
    let name = deb.file_name().unwrap().to_string_lossy().into_owned();
    std::fs::copy(&deb, root.file(&format!("/tmp/{name}"))).unwrap();
    for b in ["ssotray-app", "ssotray"] {
        std::fs::copy(
            unpacked.path().join("usr/bin").join(b),
            root.file(&format!("/tmp/{b}")),
        )
        .unwrap();
    }
    timed(&root, "apt-get update -q");
    let with_dependencies = timed(
        &root,
        &format!("apt-get install -y -q --no-install-recommends /tmp/{name}"),
    );
    let runs = 7;
    let dpkg = median(
        (0..runs)
            .map(|_| timed(&root, &format!("dpkg -i /tmp/{name} >/dev/null")))
            .collect(),
    );
    let copy = median(
        (0..runs)
            .map(|_| {
                timed(
                    &root,
                    "install -m 0755 /tmp/ssotray-app /tmp/ssotray /usr/local/bin/ && sync",
                )
            })
            .collect(),
    );
    println!(
        "| `dpkg -i` of the package, dependencies present (median of {runs}) | {:.2} s | copying the two binaries into /usr/local/bin and `sync` {:.2} s | {:.2} |",
        dpkg.as_secs_f64(),
        copy.as_secs_f64(),
        dpkg.as_secs_f64() / copy.as_secs_f64()
    );
    println!(
        "| `apt-get install ./ssotray_{version}_amd64.deb` on the clean root, downloads cached | {:.1} s | — | — |",
        with_dependencies.as_secs_f64()
    );
}
