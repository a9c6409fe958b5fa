//! The modules of each crate depend one way (ARCHITECTURE.md, invariants): a module names
//! another through `crate::` (or `super::` from a top-level file), and no chain of such names
//! leads back to where it started. Tests (`#[cfg(test)]` and below) are left out.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The top-level modules a source file names through `prefix` (`crate::` or `super::`).
fn named_after(text: &str, prefix: &str) -> BTreeSet<String> {
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut out = BTreeSet::new();
    for (i, _) in text.match_indices(prefix) {
        let before = text[..i].chars().next_back();
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        let rest = &text[i + prefix.len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // `crate::{a, b::c, d as e}`: the first name of each item at depth one.
            let mut depth = 1;
            let mut item_start = true;
            for (j, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 1 => break,
                    '}' => depth -= 1,
                    ',' if depth == 1 => item_start = true,
                    c if item_start && depth == 1 && (c.is_ascii_alphabetic() || c == '_') => {
                        out.insert(ident(&group[j..]));
                        item_start = false;
                    }
                    _ => {}
                }
            }
        } else {
            out.insert(ident(rest));
        }
    }
    out
}

/// Each top-level module of the crate in `src` and the sibling modules it names.
fn graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let files: Vec<PathBuf> = std::fs::read_dir(src)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect();
    let modules: BTreeSet<String> = files
        .iter()
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .filter(|m| m != "lib" && m != "main")
        .collect();
    // What the crate's root re-exports (`pub use engine::{Engine, …}`), so `crate::Engine` counts
    // as naming `engine`.
    let mut reexported: BTreeMap<String, String> = BTreeMap::new();
    for root in ["lib.rs", "main.rs"] {
        let Ok(text) = std::fs::read_to_string(src.join(root)) else {
            continue;
        };
        for line in text.lines() {
            let Some(used) = line.trim().strip_prefix("pub use ") else {
                continue;
            };
            let Some((module, items)) = used.split_once("::") else {
                continue;
            };
            for item in items.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
                if !item.is_empty() && item != "self" {
                    reexported.insert(item.to_string(), module.to_string());
                }
            }
        }
    }
    let mut graph = BTreeMap::new();
    for path in &files {
        let module = path.file_stem().unwrap().to_string_lossy().into_owned();
        if !modules.contains(&module) {
            continue;
        }
        let text = std::fs::read_to_string(path).unwrap();
        let text = text.split("#[cfg(test)]").next().unwrap();
        let mut named = named_after(text, "crate::");
        named.extend(named_after(text, "super::"));
        let mut named: BTreeSet<String> = named
            .into_iter()
            .map(|n| reexported.get(&n).cloned().unwrap_or(n))
            .collect();
        named.retain(|m| modules.contains(m) && *m != module);
        graph.insert(module, named);
    }
    graph
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

#[test]
fn the_reader_finds_names_in_paths_and_groups() {
    let text = "use crate::config::{problem, AwsConfig};\nuse crate::{cache::{self, X}, os as o, login};\nlet a = super::keeper::plan(); mycrate::nope; crate::files::Stamp";
    let named = named_after(text, "crate::");
    assert_eq!(
        named.into_iter().collect::<Vec<_>>(),
        ["cache", "config", "files", "login", "os"]
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
fn the_modules_of_each_crate_depend_one_way() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    for krate in [
        "crates/core/src",
        "crates/cli/src",
        "crates/sim/src",
        "src-tauri/src",
    ] {
        let graph = graph(&root.join(krate));
        assert!(graph.len() > 3, "{krate}: {graph:?}");
        if let Some(circle) = a_circle(&graph) {
            panic!(
                "{krate}: the modules go round in a circle: {}",
                circle.join(" → ")
            );
        }
    }
}
