//! The modules of each crate depend one way (ARCHITECTURE.md, invariants). Every module is read,
//! however deep (`crates/sim/src/server/oidc.rs` is `server::oidc`). A module names another
//! through `crate::` or `super::` paths, in `use` lines and in code; comments and tests
//! (`#[cfg(test)]` and below) are left out, and a module naming its own ancestor or descendant
//! does not count (that is Rust's module tree, not a dependency).
//!
//! Two rules: no chain of names leads back to where it started, and in the core, whose
//! subsystems are layered (`crates/core/src/lib.rs`), no module names one of a higher subsystem.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The core's subsystems, lowest first (as `crates/core/src/lib.rs` lists them): a module may name
/// only its own subsystem's modules and those of the subsystems before it.
const CORE_LAYERS: [&str; 5] = ["platform", "aws", "ops", "serve", "keep"];

/// Every module of the crate whose root is in `src`, by its path below the root (`aws::config`),
/// with its file. The root itself (`lib.rs`, `main.rs`) is the empty path.
fn module_files(src: &Path) -> BTreeMap<String, PathBuf> {
    fn walk(dir: &Path, segments: &mut Vec<String>, out: &mut BTreeMap<String, PathBuf>) {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for path in entries {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.is_dir() {
                if name == "bin" && segments.is_empty() {
                    continue; // binaries of their own, not modules of this crate
                }
                segments.push(name);
                walk(&path, segments, out);
                segments.pop();
            } else if let Some(stem) = name.strip_suffix(".rs") {
                let root_file = segments.is_empty() && (stem == "lib" || stem == "main");
                let module = if root_file || stem == "mod" {
                    segments.join("::")
                } else {
                    let mut s = segments.clone();
                    s.push(stem.to_string());
                    s.join("::")
                };
                // A crate with both lib.rs and main.rs: the library is the root.
                if !(root_file && stem == "main" && out.contains_key("")) {
                    out.insert(module, path);
                }
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(src, &mut Vec::new(), &mut out);
    out
}

/// The text a module's dependencies are read from: everything before its tests, without
/// whole-line comments (doc links name modules without depending on them).
fn code_of(text: &str) -> String {
    let code = text.split("#[cfg(test)]").next().unwrap();
    code.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every path a piece of code names through `crate::` (as segments below the crate root), and
/// through `super::` (as segments below `module`'s parent), with `use` groups expanded:
/// `crate::{aws::{config, cache::Token}, Engine}` names `aws::config`, `aws::cache::Token` and
/// `Engine`.
fn paths_named(code: &str, module: &[String]) -> Vec<Vec<String>> {
    fn is_ident(c: char) -> bool {
        c.is_ascii_alphanumeric() || c == '_'
    }
    fn skip_ws(b: &[char], i: &mut usize) {
        while *i < b.len() && b[*i].is_whitespace() {
            *i += 1;
        }
    }
    fn tree(b: &[char], i: &mut usize, prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
        skip_ws(b, i);
        if *i < b.len() && b[*i] == '{' {
            *i += 1;
            loop {
                skip_ws(b, i);
                if *i >= b.len() {
                    return;
                }
                if b[*i] == '}' {
                    *i += 1;
                    return;
                }
                let before = *i;
                tree(b, i, prefix.clone(), out);
                skip_ws(b, i);
                // `as name`, and anything else up to the next item.
                while *i < b.len() && b[*i] != ',' && b[*i] != '}' {
                    *i += 1;
                }
                if *i < b.len() && b[*i] == ',' {
                    *i += 1;
                }
                if *i == before {
                    *i += 1;
                }
            }
        }
        let start = *i;
        while *i < b.len() && is_ident(b[*i]) {
            *i += 1;
        }
        if *i == start {
            out.push(prefix); // `*`, or the end of the path
            return;
        }
        let ident: String = b[start..*i].iter().collect();
        if ident == "self" {
            out.push(prefix);
            return;
        }
        let mut path = prefix;
        path.push(ident);
        if b.get(*i) == Some(&':') && b.get(*i + 1) == Some(&':') {
            *i += 2;
            tree(b, i, path, out);
        } else {
            out.push(path);
        }
    }
    let b: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let at_word = i == 0 || !(is_ident(b[i - 1]) || b[i - 1] == ':');
        let rest = |i: usize, s: &str| s.chars().enumerate().all(|(k, c)| b.get(i + k) == Some(&c));
        if at_word && rest(i, "crate::") {
            i += "crate::".len();
            tree(&b, &mut i, Vec::new(), &mut out);
        } else if at_word && rest(i, "super::") {
            let mut base: Vec<String> = module.to_vec();
            while rest(i, "super::") {
                base.pop();
                i += "super::".len();
            }
            tree(&b, &mut i, base, &mut out);
        } else {
            i += 1;
        }
    }
    out
}

/// Each module of the crate in `src` and the modules it names.
fn graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let files = module_files(src);
    // What the crate's root re-exports (`pub use ops::engine::{Engine, …}`), so `crate::Engine`
    // counts as naming `ops::engine`.
    let mut reexported: BTreeMap<String, String> = BTreeMap::new();
    if let Some(root) = files.get("") {
        let code = code_of(&std::fs::read_to_string(root).unwrap());
        for line in code.lines() {
            let Some(used) = line.trim().strip_prefix("pub use ") else {
                continue;
            };
            for path in paths_named(&format!("crate::{used}"), &[]) {
                let module = longest_module(&files, &path);
                if let (Some(item), Some(module)) = (path.last(), module) {
                    reexported.insert(item.clone(), module);
                }
            }
        }
    }
    let mut graph = BTreeMap::new();
    for (module, path) in &files {
        if module.is_empty() {
            continue;
        }
        let segments: Vec<String> = module.split("::").map(String::from).collect();
        let code = code_of(&std::fs::read_to_string(path).unwrap());
        let mut named = BTreeSet::new();
        for path in paths_named(&code, &segments) {
            let target = match path.as_slice() {
                [one] if reexported.contains_key(one) => reexported.get(one).cloned(),
                _ => longest_module(&files, &path),
            };
            if let Some(target) = target {
                if !related(module, &target) {
                    named.insert(target);
                }
            }
        }
        graph.insert(module.clone(), named);
    }
    graph
}

/// The deepest module that `path` starts with (not the root).
fn longest_module(files: &BTreeMap<String, PathBuf>, path: &[String]) -> Option<String> {
    (1..=path.len())
        .rev()
        .map(|n| path[..n].join("::"))
        .find(|m| files.contains_key(m))
}

/// Whether one module is the other, or its ancestor or descendant.
fn related(a: &str, b: &str) -> bool {
    let under = |x: &str, y: &str| x == y || x.starts_with(&format!("{y}::"));
    under(a, b) || under(b, a)
}

/// A path that leads from a module back to itself, if there is one.
fn a_circle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn walk(
        graph: &BTreeMap<String, BTreeSet<String>>,
        at: &str,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|m| m == at) {
            let mut circle = path[i..].to_vec();
            circle.push(at.to_string());
            return Some(circle);
        }
        if done.contains(at) {
            return None;
        }
        path.push(at.to_string());
        for next in graph.get(at).into_iter().flatten() {
            if let Some(c) = walk(graph, next, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(at.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|m| walk(graph, m, &mut Vec::new(), &mut done))
}

/// Every name of a module of a lower layer of a higher one: `(module, named)`.
fn upward(graph: &BTreeMap<String, BTreeSet<String>>, layers: &[&str]) -> Vec<(String, String)> {
    let layer = |m: &str| layers.iter().position(|l| m.split("::").next() == Some(*l));
    let mut out = Vec::new();
    for (module, named) in graph {
        for target in named {
            if let (Some(from), Some(to)) = (layer(module), layer(target)) {
                if to > from {
                    out.push((module.clone(), target.clone()));
                }
            }
        }
    }
    out
}

/// What is wrong with the layering of the core whose sources are in `src`, if anything.
fn core_problems(src: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    // The crate root holds only lib.rs and one folder per subsystem, declared in layer order.
    let mut folders = Vec::new();
    for entry in std::fs::read_dir(src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            folders.push(name);
        } else if name != "lib.rs" {
            problems.push(format!(
                "{name} is loose in crates/core/src: put it in the subsystem it belongs to"
            ));
        }
    }
    folders.sort();
    let mut declared_layers: Vec<&str> = CORE_LAYERS.to_vec();
    declared_layers.sort();
    if folders != declared_layers {
        problems.push(format!(
            "the subsystem folders are {folders:?}, the declared layers {CORE_LAYERS:?}"
        ));
    }
    // lib.rs lists them for the reader, lowest first: "//! 1. [`platform`]: …".
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    let listed: Vec<&str> = lib
        .lines()
        .filter_map(|l| {
            let item = l.strip_prefix("//! ")?.split_once(". [`")?;
            item.0.parse::<u32>().ok()?;
            item.1.split_once('`').map(|(name, _)| name)
        })
        .collect();
    if listed != CORE_LAYERS {
        problems.push(format!(
            "lib.rs lists the subsystems as {listed:?}, not the layers in their order {CORE_LAYERS:?}"
        ));
    }
    let graph = graph(src);
    for (module, named) in upward(&graph, &CORE_LAYERS) {
        problems.push(format!(
            "{module} names {named}, a module of a higher subsystem (lowest first: {})",
            CORE_LAYERS.join(", ")
        ));
    }
    if let Some(circle) = a_circle(&graph) {
        problems.push(format!(
            "the modules go round in a circle: {}",
            circle.join(" → ")
        ));
    }
    problems
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

#[test]
fn the_reader_finds_names_in_paths_groups_and_relative_paths() {
    let text = "use crate::aws::config::{problem, AwsConfig};\nuse crate::{platform::{files::{self, X}, os as o}, Engine};\nlet a = super::keeper::plan(); mycrate::nope; crate::platform::files::Stamp; super::super::top::x";
    let here: Vec<String> = ["keep", "owner"].map(String::from).to_vec();
    let named: BTreeSet<String> = paths_named(text, &here)
        .into_iter()
        .map(|p| p.join("::"))
        .collect();
    assert_eq!(
        named.into_iter().collect::<Vec<_>>(),
        [
            "Engine",
            "aws::config::AwsConfig",
            "aws::config::problem",
            "keep::keeper::plan",
            "platform::files",
            "platform::files::Stamp",
            "platform::files::X",
            "platform::os",
            "top::x",
        ]
    );
    let circle: BTreeMap<String, BTreeSet<String>> = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a"]),
        ("d", vec![]),
    ]
    .into_iter()
    .map(|(m, n)| (m.to_string(), n.into_iter().map(String::from).collect()))
    .collect();
    assert_eq!(a_circle(&circle).unwrap(), ["a", "b", "c", "a"]);
}

#[test]
fn every_module_is_read_however_deep() {
    let sim = graph(&root().join("crates/sim/src"));
    // The simulator's services (server/oidc.rs …) share the router's state (server/mod.rs).
    assert!(
        sim.get("server::oidc").is_some_and(|n| n.contains("state")),
        "{sim:?}"
    );
    let core = graph(&root().join("crates/core/src"));
    assert!(
        core.get("platform::ipc::unix")
            .is_some_and(|n| n.contains("platform::user")),
        "{core:?}"
    );
    assert!(
        core.get("keep::keeper")
            .is_some_and(|n| n.contains("ops::engine")),
        "{core:?}"
    );
}

#[test]
fn an_upward_import_between_the_cores_subsystems_fails_the_check() {
    // A copy of the core's sources in which the config file's module names the keeper.
    let copy = tempfile::tempdir().unwrap();
    fn copy_dir(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let path = entry.unwrap().path();
            let target = to.join(path.file_name().unwrap());
            if path.is_dir() {
                copy_dir(&path, &target);
            } else {
                std::fs::copy(&path, &target).unwrap();
            }
        }
    }
    let src = root().join("crates/core/src");
    copy_dir(&src, copy.path());
    assert_eq!(core_problems(copy.path()), Vec::<String>::new());

    let config = copy.path().join("aws/config.rs");
    let text = std::fs::read_to_string(&config).unwrap();
    let at = text.find("\nuse ").unwrap() + 1;
    let upward = format!(
        "{}use crate::keep::keeper::Keeper;\n{}",
        &text[..at],
        &text[at..]
    );
    std::fs::write(&config, upward).unwrap();
    let problems = core_problems(copy.path());
    assert_eq!(
        problems[0],
        "aws::config names keep::keeper, a module of a higher subsystem (lowest first: platform, aws, ops, serve, keep)"
    );
    // The keeper names the config's module, so the two now also go round in a circle.
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(
        problems[1].starts_with("the modules go round in a circle: ")
            && problems[1].contains("aws::config → keep::keeper"),
        "{problems:?}"
    );
    std::fs::write(&config, &text).unwrap();

    // A module left loose beside lib.rs is not in any subsystem.
    std::fs::write(copy.path().join("stray.rs"), "//! Somewhere.\n").unwrap();
    assert_eq!(
        core_problems(copy.path()),
        ["stray.rs is loose in crates/core/src: put it in the subsystem it belongs to"]
    );
}

#[test]
fn the_modules_of_each_crate_depend_one_way() {
    let root = root();
    for krate in ["crates/cli/src", "crates/sim/src", "src-tauri/src"] {
        let graph = graph(&root.join(krate));
        assert!(graph.len() > 3, "{krate}: {graph:?}");
        if let Some(circle) = a_circle(&graph) {
            panic!(
                "{krate}: the modules go round in a circle: {}",
                circle.join(" → ")
            );
        }
    }
    let problems = core_problems(&root.join("crates/core/src"));
    assert!(
        problems.is_empty(),
        "crates/core/src:\n{}",
        problems.join("\n")
    );
}
