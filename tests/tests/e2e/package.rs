//! The packages that `scripts/package` builds into `dist/` (scripts/test builds them first): the
//! .deb installed into a clean Debian root with nothing else in it, used there, and purged; its
//! dependencies against what its binaries link; lintian; the .rpm against the .deb.
//!
//! `CleanRoot` (`src/lib.rs`) runs commands in the root through `unshare` + `chroot`. A package
//! holds only installed paths: no installed file names the clone, the target dir or the build
//! machine's cargo registry, and the packages depend on exactly what the binaries need
//! (`dpkg-shlibdeps`, the .rpm's Requires). A new linked library, or a file of one package missing
//! from the other, fails a test. One known extra: tauri-cli's `libayatana-appindicator3-1`, which
//! the KSNI tray does not load (the test checks the app does not name it).

use crate::app::TrayMenu;
use crate::cli::decide_device;
use ssotray_tests::{
    as_root, start_sim, CleanRoot, Desktop, RootProcess, SimConfig, CONFIG, ROOT_HOME,
};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The workspace version: the packages' version, and what `--version` prints.
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Where each distribution's zsh looks for completions: the one path the .deb and .rpm differ in.
const ZSH_DEB: &str = "/usr/share/zsh/vendor-completions/_ssotray";
const ZSH_RPM: &str = "/usr/share/zsh/site-functions/_ssotray";

/// What tauri-cli adds to the Depends of every app with Tauri's tray feature, unversioned, after
/// ours: WebKitGTK and GTK (which ours already name with the versions dpkg-shlibdeps computes) and
/// the appindicator library, which ssotray-app does not load (its tray is the KSNI backend, see
/// src-tauri/src/tray.rs) and tauri-cli offers no way to leave out.
const TAURI_DEPENDS: [&str; 3] = [
    "libayatana-appindicator3-1",
    "libwebkit2gtk-4.1-0",
    "libgtk-3-0",
];
/// The appindicator library tauri-cli declares: the soname libayatana-appindicator would be
/// loaded by.
const TAURI_TRAY_LIBRARY: &str = "libayatana-appindicator3.so.1";
/// What no binary links but both programs need: the system's CA certificates, which rustls
/// checks every AWS endpoint against (found missing by the clean-root test). The same package
/// name on Debian, Ubuntu and Fedora.
const DATA_DEPENDS: [&str; 1] = ["ca-certificates"];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repository")
        .to_path_buf()
}

struct Packages {
    deb: PathBuf,
    rpm: PathBuf,
}

fn packages() -> Packages {
    let dist = repo().join("dist");
    let p = Packages {
        deb: dist.join(format!("ssotray_{VERSION}_amd64.deb")),
        rpm: dist.join(format!("ssotray-{VERSION}-1.x86_64.rpm")),
    };
    for f in [&p.deb, &p.rpm] {
        assert!(
            f.exists(),
            "{} is missing: run scripts/package (scripts/test does)",
            f.display()
        );
    }
    p
}

fn output(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e} (scripts/test installs it)"))
}

fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn ok(o: Output, what: &str) -> String {
    assert!(
        o.status.success(),
        "{what}: exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        text(&o),
        String::from_utf8_lossy(&o.stderr)
    );
    text(&o)
}

/// Files (not directories) and their modes: `path → "-rwxr-xr-x"`.
fn deb_payload(deb: &Path) -> BTreeMap<String, String> {
    ok(
        output("dpkg-deb", &["-c", &deb.display().to_string()]),
        "dpkg-deb -c",
    )
    .lines()
    .filter_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        let path = format!("/{}", f.get(5)?.trim_start_matches("./"));
        (!f[0].starts_with('d')).then(|| (path, f[0].to_string()))
    })
    .collect()
}

fn rpm_payload(rpm: &Path) -> BTreeMap<String, String> {
    ok(
        output(
            "rpm",
            &[
                "-qp",
                "--queryformat",
                "[%{FILEMODES:perms} %{FILENAMES}\\n]",
                &rpm.display().to_string(),
            ],
        ),
        "rpm -qp",
    )
    .lines()
    .filter_map(|l| l.split_once(' '))
    .filter(|(mode, _)| !mode.starts_with('d'))
    .map(|(mode, path)| (path.to_string(), mode.to_string()))
    .collect()
}

/// The .deb's files, unpacked into a temporary directory.
fn unpacked(deb: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    ok(
        output(
            "dpkg-deb",
            &[
                "-x",
                &deb.display().to_string(),
                &dir.path().display().to_string(),
            ],
        ),
        "dpkg-deb -x",
    );
    dir
}

/// The shared libraries a binary names (ELF NEEDED entries).
fn needed(binary: &Path) -> BTreeSet<String> {
    ok(
        output("readelf", &["-d", &binary.display().to_string()]),
        "readelf -d",
    )
    .lines()
    .filter(|l| l.contains("(NEEDED)"))
    .filter_map(|l| l.split('[').nth(1)?.split(']').next().map(str::to_string))
    .collect()
}

/// The newest version of a symbol set (`GLIBC_`, `GCC_`) that a binary needs, as rpm names it.
fn newest_symbol_version(binary: &Path, prefix: &str) -> Option<String> {
    let dynsyms = ok(
        output("objdump", &["-T", &binary.display().to_string()]),
        "objdump -T",
    );
    let mut versions: Vec<Vec<u32>> = dynsyms
        .split_whitespace()
        .filter_map(|w| {
            w.trim_start_matches('(')
                .trim_end_matches(')')
                .strip_prefix(prefix)
        })
        .map(|v| v.split('.').filter_map(|n| n.parse().ok()).collect())
        .collect();
    versions.sort();
    versions.last().map(|v| {
        let parts: Vec<String> = v.iter().map(u32::to_string).collect();
        format!("{prefix}{}", parts.join("."))
    })
}

fn split_relations(field: &str) -> BTreeSet<String> {
    field
        .split(',')
        .map(|d| d.trim().to_string())
        .filter(|d| !d.is_empty())
        .collect()
}

#[test]
fn the_debs_dependencies_are_what_its_binaries_link_and_what_tauri_cli_adds() {
    let p = packages();
    let deb = p.deb.display().to_string();
    let field = |name: &str| {
        ok(output("dpkg-deb", &["-f", &deb, name]), name)
            .trim()
            .to_string()
    };
    assert_eq!(field("Package"), "ssotray");
    assert_eq!(
        field("Version"),
        VERSION,
        "package version = workspace version"
    );
    let declared = split_relations(&field("Depends"));

    // What Debian's own tool finds for the two binaries, with the versions of the symbols used.
    let dir = unpacked(&p.deb);
    std::fs::create_dir_all(dir.path().join("debian")).unwrap();
    std::fs::write(
        dir.path().join("debian/control"),
        "Source: ssotray\n\nPackage: ssotray\nArchitecture: any\n",
    )
    .unwrap();
    let shlibs = Command::new("dpkg-shlibdeps")
        .args(["-O", "usr/bin/ssotray-app", "usr/bin/ssotray"])
        .current_dir(dir.path())
        .output()
        .expect("dpkg-shlibdeps (apt package dpkg-dev)");
    let shlibs = ok(shlibs, "dpkg-shlibdeps");
    let found = split_relations(
        shlibs
            .lines()
            .find_map(|l| l.strip_prefix("shlibs:Depends="))
            .expect("shlibs:Depends"),
    );
    let mut expected = found.clone();
    expected.extend(TAURI_DEPENDS.iter().map(|d| d.to_string()));
    expected.extend(DATA_DEPENDS.iter().map(|d| d.to_string()));
    assert_eq!(
        declared, expected,
        "Depends must be exactly what dpkg-shlibdeps finds ({found:?}), tauri-cli's own {TAURI_DEPENDS:?} \
         and {DATA_DEPENDS:?}: update bundle.linux.deb.depends in src-tauri/tauri.conf.json"
    );
    // The appindicator library is tauri-cli's addition only: the app's tray does not load it
    // (were it to, by name at run time, no tool above would see it and it would belong in ours).
    let app = std::fs::read(dir.path().join("usr/bin/ssotray-app")).unwrap();
    assert!(
        !app.windows(TAURI_TRAY_LIBRARY.len())
            .any(|w| w == TAURI_TRAY_LIBRARY.as_bytes()),
        "ssotray-app loads {TAURI_TRAY_LIBRARY} again: the tray is not the KSNI backend"
    );
}

#[test]
fn lintian_finds_no_error_and_no_warning_in_the_deb() {
    let p = packages();
    let o = output(
        "lintian",
        &[
            "--fail-on",
            "error,warning",
            "--info",
            &p.deb.display().to_string(),
        ],
    );
    let tags = text(&o);
    // Informational tags are listed in docs/install.md with why they stay.
    println!("lintian:\n{tags}");
    let serious: Vec<&str> = tags
        .lines()
        .filter(|l| l.starts_with("E:") || l.starts_with("W:"))
        .collect();
    assert!(
        o.status.success() && serious.is_empty(),
        "lintian: exit {:?}\n{tags}\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn the_rpm_carries_the_debs_payload_and_requires_what_its_binaries_link() {
    let p = packages();
    let rpm = p.rpm.display().to_string();
    let query = |format: &str| {
        ok(
            output("rpm", &["-qp", "--queryformat", format, &rpm]),
            format,
        )
    };
    assert_eq!(
        query("%{NAME} %{VERSION} %{RELEASE}"),
        format!("ssotray {VERSION} 1")
    );

    // The same files with the same modes; zsh's completion where each distribution's zsh looks.
    let deb_files = deb_payload(&p.deb);
    let mut rpm_files = rpm_payload(&p.rpm);
    assert!(deb_files.contains_key(ZSH_DEB), "{deb_files:?}");
    let zsh = rpm_files
        .remove(ZSH_RPM)
        .expect("zsh completion in the rpm");
    rpm_files.insert(ZSH_DEB.to_string(), zsh);
    assert_eq!(
        deb_files, rpm_files,
        "the .rpm's payload differs from the .deb's"
    );
    assert!(deb_files.len() > 20, "{deb_files:?}");

    // Requires: every library the binaries link, by soname (as rpmbuild would generate them, so
    // any RPM distribution resolves them by its own package names), the newest glibc and libgcc
    // symbol versions used, and tauri-cli's appindicator library (as in the .deb).
    let dir = unpacked(&p.deb);
    let mut expected = BTreeSet::new();
    for b in ["usr/bin/ssotray-app", "usr/bin/ssotray"] {
        let binary = dir.path().join(b);
        for lib in needed(&binary) {
            expected.insert(format!("{lib}()(64bit)"));
        }
        for (lib, prefix) in [("libc.so.6", "GLIBC_"), ("libgcc_s.so.1", "GCC_")] {
            if let Some(v) = newest_symbol_version(&binary, prefix) {
                expected.insert(format!("{lib}({v})(64bit)"));
            }
        }
    }
    // Only the newest version of each symbol set is required (it implies the older ones).
    let newest = |lib: &str| {
        expected
            .iter()
            .filter(|r| r.starts_with(&format!("{lib}(")) && !r.contains("()"))
            .max_by(|a, b| natural(a).cmp(&natural(b)))
            .cloned()
    };
    let keep: BTreeSet<String> = [newest("libc.so.6"), newest("libgcc_s.so.1")]
        .into_iter()
        .flatten()
        .collect();
    expected.retain(|r| r.contains("()") || keep.contains(r));
    expected.insert(format!("{TAURI_TRAY_LIBRARY}()(64bit)"));
    expected.extend(DATA_DEPENDS.iter().map(|d| d.to_string()));
    let required: BTreeSet<String> = query("[%{REQUIRES}\\n]")
        .lines()
        .filter(|r| !r.starts_with("rpmlib("))
        .map(str::to_string)
        .collect();
    assert_eq!(
        required, expected,
        "update bundle.linux.rpm.depends in src-tauri/tauri.conf.json"
    );
}

/// `GLIBC_2.34` sorts after `GLIBC_2.4`.
fn natural(s: &str) -> Vec<u64> {
    s.split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect()
}

#[test]
fn installed_files_name_nothing_of_the_build_and_the_desktop_files_are_valid() {
    let p = packages();
    let dir = unpacked(&p.deb);
    // The clone, the cargo target dir and the cargo registry of the machine that built it.
    let target = std::env::current_exe()
        .unwrap()
        .ancestors()
        .nth(3)
        .unwrap()
        .to_path_buf();
    let cargo_home = std::env::var("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(std::env::var("HOME").unwrap()).join(".cargo"));
    let build_paths: Vec<String> = [repo(), target, cargo_home]
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    let files: Vec<String> = deb_payload(&p.deb).into_keys().collect();
    for f in &files {
        let bytes = std::fs::read(dir.path().join(f.trim_start_matches('/'))).unwrap();
        for b in &build_paths {
            assert!(
                !bytes.windows(b.len()).any(|w| w == b.as_bytes()),
                "{f} names {b}, a path of the build machine"
            );
        }
    }

    let entry = dir.path().join("usr/share/applications/ssotray.desktop");
    let o = output("desktop-file-validate", &[&entry.display().to_string()]);
    assert!(
        o.status.success() && o.stdout.is_empty(),
        "desktop-file-validate: {}",
        text(&o)
    );
    let entry = std::fs::read_to_string(&entry).unwrap();
    let key = |k: &str| {
        entry
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{k}=")))
            .unwrap_or_default()
            .to_string()
    };
    assert!(
        files.contains(&format!("/usr/bin/{}", key("Exec"))),
        "Exec={}",
        key("Exec")
    );
    // An icon in every usual size, each as large as its directory says.
    for size in [32, 48, 64, 128, 256, 512] {
        let icon = format!(
            "/usr/share/icons/hicolor/{size}x{size}/apps/{}.png",
            key("Icon")
        );
        assert!(files.contains(&icon), "{icon} missing");
        let png = std::fs::read(dir.path().join(icon.trim_start_matches('/'))).unwrap();
        let dim = |at: usize| u32::from_be_bytes(png[at..at + 4].try_into().unwrap());
        assert_eq!((dim(16), dim(20)), (size, size), "{icon}");
    }
    for doc in ["copyright", "LICENSE-MIT", "LICENSE-APACHE", "changelog.gz"] {
        assert!(
            files.contains(&format!("/usr/share/doc/ssotray/{doc}")),
            "{doc}"
        );
    }
    // The changelog's newest entry is this version (lintian reads the file, not the version).
    let changelog = std::fs::read_to_string(repo().join("packaging/changelog")).unwrap();
    assert!(
        changelog.starts_with(&format!("ssotray ({VERSION})")),
        "packaging/changelog needs an entry for {VERSION}"
    );

    // zsh reads the completion without a syntax error; fish completes from it.
    let zsh = dir.path().join(ZSH_DEB.trim_start_matches('/'));
    ok(output("zsh", &["-n", &zsh.display().to_string()]), "zsh -n");
    let fish = dir
        .path()
        .join("usr/share/fish/vendor_completions.d/ssotray.fish");
    let offered = ok(
        output(
            "fish",
            &[
                "--no-config",
                "-c",
                &format!("source {}; complete -C 'ssotray lo'", fish.display()),
            ],
        ),
        "fish",
    );
    let words: BTreeSet<&str> = offered
        .lines()
        .filter_map(|l| l.split('\t').next())
        .collect();
    assert_eq!(words, BTreeSet::from(["login", "logout"]), "{offered}");
}

async fn until_no_tray_item(desktop: &Desktop) {
    for _ in 0..100 {
        if desktop.tray_item_count() == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the tray item stayed registered after its app ended");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_deb_installs_on_a_clean_debian_root_works_there_and_purges_without_a_trace() {
    let p = packages();
    let mut root = CleanRoot::copy();
    let deb_name = p.deb.file_name().unwrap().to_string_lossy().into_owned();
    let status = as_root("cp")
        .args([
            &p.deb.display().to_string(),
            &root.file("/tmp").display().to_string(),
        ])
        .status()
        .unwrap();
    assert!(status.success());
    let installed = |root: &CleanRoot| -> BTreeSet<String> {
        ok(
            root.run("dpkg-query -W -f '${Package} ${Status}\\n'", &[]),
            "dpkg-query",
        )
        .lines()
        .filter(|l| l.ends_with(" installed"))
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
    };
    let before = installed(&root);
    for lib in TAURI_DEPENDS {
        assert!(!before.contains(lib), "the clean root already has {lib}");
    }

    // apt resolves the package's declared dependencies, and only those (no recommends: they could
    // hide a missing dependency).
    ok(root.run("apt-get update -q", &[]), "apt-get update");
    let started = Instant::now();
    ok(
        root.run(
            &format!("apt-get install -y -q --no-install-recommends /tmp/{deb_name}"),
            &[("DEBIAN_FRONTEND", "noninteractive")],
        ),
        "apt-get install ./ssotray.deb",
    );
    let install_time = started.elapsed();
    let after = installed(&root);
    assert!(after.contains("ssotray"));
    let pulled = after.difference(&before).count() - 1;
    println!(
        "installed ssotray and {pulled} dependencies in {:.1} s (downloads cached)",
        install_time.as_secs_f64()
    );
    ok(
        root.run(&format!("mkdir -p -m 0700 {ROOT_HOME} /run/user/0"), &[]),
        "home",
    );

    // The CLI: version, status on an empty home, a device-code login against the simulator on
    // the host (over loopback: the root shares the host's network).
    let version = ok(
        root.run("ssotray --version; ssotray-app --version", &[]),
        "--version",
    );
    assert_eq!(
        version,
        format!("ssotray {VERSION}\nssotray-app {VERSION}\n")
    );
    let status = ok(root.run("ssotray status", &[]), "ssotray status");
    assert!(status.contains("No sso-sessions"), "{status}");
    let sim = start_sim(SimConfig::default()).await.unwrap();
    std::fs::create_dir_all(root.file(&format!("{ROOT_HOME}/.aws"))).unwrap();
    std::fs::write(root.file(&format!("{ROOT_HOME}/.aws/config")), CONFIG).unwrap();
    let endpoints = [
        ("AWS_ENDPOINT_URL_SSO_OIDC", sim.base_url.as_str()),
        ("AWS_ENDPOINT_URL_SSO", sim.base_url.as_str()),
    ];
    // Without CA certificates (the first run of this test found the package did not pull them
    // in, and the CLI panicked), a clear message instead.
    let no_ca = root.run(
        "SSL_CERT_FILE=/nonexistent SSL_CERT_DIR=/nonexistent ssotray login my-sso --device-code --no-browser",
        &endpoints,
    );
    let err = String::from_utf8_lossy(&no_ca.stderr);
    assert_eq!(no_ca.status.code(), Some(1), "{err}");
    assert!(
        err.contains("install them (Debian/Ubuntu: `sudo apt install ca-certificates`"),
        "{err}"
    );
    let mut login = root
        .command(
            "ssotray login my-sso --device-code --no-browser",
            &endpoints,
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut url = String::new();
    BufReader::new(login.stdout.take().unwrap())
        .read_line(&mut url)
        .unwrap();
    if !url.starts_with(&format!("{}/device?user_code=", sim.base_url)) {
        let o = login.wait_with_output().unwrap();
        panic!(
            "no device URL: {url}\n{}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    decide_device(url.trim(), "allow").await;
    let o = tokio::task::spawn_blocking(move || login.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(
        o.status.success() && err.contains("Logged in to `my-sso`"),
        "{err}"
    );
    let cache = std::fs::read_dir(root.file(&format!("{ROOT_HOME}/.aws/sso/cache")))
        .unwrap()
        .count();
    assert!(cache >= 1, "no token file in the root's ~/.aws/sso/cache");
    let status = ok(root.run("ssotray status", &endpoints), "ssotray status");
    assert!(
        status.contains("my-sso") && !status.contains("No sso-sessions"),
        "{status}"
    );

    // The tray app on the host's X server and session bus, through their socket files only.
    let sockets = tempfile::tempdir().unwrap();
    let desktop = Desktop::start_with_socket_files(sockets.path());
    root.sockets = Some((
        PathBuf::from("/tmp/.X11-unix"),
        sockets.path().to_path_buf(),
    ));
    let gui = [
        ("DISPLAY", desktop.display.as_str()),
        ("DBUS_SESSION_BUS_ADDRESS", "unix:path=/run/host-bus/bus"),
    ];
    {
        let _demo = RootProcess::start(&root, "exec ssotray-app --demo", &gui);
        let menu = TrayMenu::find(&desktop).await;
        let labels = menu.labels();
        assert!(labels.iter().any(|l| l == "Open ssotray…"), "{labels:?}");
        assert!(
            labels.iter().any(|l| l.contains("demo")),
            "the demo's session: {labels:?}"
        );
    }
    until_no_tray_item(&desktop).await;

    // Start at login: the autostart entry names the installed program, and starting it as the
    // desktop would starts the tray app.
    ok(
        root.run("ssotray-app --autostart on", &gui),
        "--autostart on",
    );
    let autostart = root.file(&format!("{ROOT_HOME}/.config/autostart/ssotray.desktop"));
    let entry = std::fs::read_to_string(&autostart).unwrap();
    let o = output("desktop-file-validate", &[&autostart.display().to_string()]);
    assert!(o.status.success(), "desktop-file-validate: {}", text(&o));
    let exec = entry
        .lines()
        .find_map(|l| l.strip_prefix("Exec="))
        .unwrap()
        .trim()
        .to_string();
    // Quoted (a path with a space or `$` would start another program unquoted).
    assert_eq!(exec, "\"/usr/bin/ssotray-app\"", "{entry}");
    {
        let _app = RootProcess::start(&root, &format!("exec {exec}"), &gui);
        let menu = TrayMenu::find(&desktop).await;
        assert!(menu.labels().iter().any(|l| l == "Open ssotray…"));
    }
    until_no_tray_item(&desktop).await;
    ok(
        root.run("ssotray-app --autostart off", &gui),
        "--autostart off",
    );
    assert!(!autostart.exists(), "--autostart off leaves the entry");

    // Completion in the bash a user gets (a login shell loads bash-completion), as a TAB after
    // `ssotray lo` asks for it; the man pages.
    let tab = r#"exec 2>/dev/null
_completion_loader ssotray   # what bash-completion runs at the first TAB after `ssotray`
complete -p ssotray
fn=$(complete -p ssotray | sed -n 's/.* -F \([^ ]*\) .*/\1/p')
COMP_WORDS=(ssotray lo); COMP_CWORD=1; COMP_LINE="ssotray lo"; COMP_POINT=${#COMP_LINE}
"$fn" ssotray lo ssotray
printf 'offered:%s\n' "${COMPREPLY[@]}""#;
    let completion = ok(
        root.run(&format!("bash -lic {}", shell_quote(tab)), &[]),
        "completion",
    );
    assert!(completion.contains(" -F _ssotray ssotray"), "{completion}");
    let offered: BTreeSet<&str> = completion
        .lines()
        .filter_map(|l| l.strip_prefix("offered:"))
        .collect();
    assert_eq!(offered, BTreeSet::from(["login", "logout"]), "{completion}");
    let man = ok(
        root.run(
            "MANPAGER=cat MANWIDTH=80 man ssotray; MANPAGER=cat man ssotray-login",
            &[],
        ),
        "man",
    );
    let words = man.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        words.contains("ssotray - Keeps AWS IAM Identity Center"),
        "{man}"
    );
    assert!(man.contains("--device-code"), "{man}");

    // Purge: not one file of the package stays (directories it shares with others may).
    let payload = deb_payload(&p.deb);
    for f in payload.keys() {
        assert!(root.file(f).exists(), "{f} was not installed");
    }
    ok(
        root.run(
            "apt-get purge -y -q ssotray",
            &[("DEBIAN_FRONTEND", "noninteractive")],
        ),
        "apt-get purge",
    );
    let left: Vec<&String> = payload.keys().filter(|f| root.file(f).exists()).collect();
    assert!(left.is_empty(), "left after purge: {left:?}");
    assert!(
        !root.file("/usr/share/doc/ssotray").exists(),
        "its doc directory stays"
    );
    assert!(!installed(&root).contains("ssotray"));
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}
