//! The documents a newcomer reads: every relative link in the README, the guide in `docs/` and the
//! other Markdown files at the root points at a file that exists (and, with a `#fragment`, at a
//! heading that exists in it, named as GitHub names headings); the README and ARCHITECTURE.md
//! stay short enough to read (#31: under 12 KB and 15 KB).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The text of a Markdown file outside its code: fenced blocks and inline code spans are blanked,
/// so a link written as an example is not taken for one.
fn prose(text: &str) -> String {
    let mut out = String::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            out.push('\n');
            continue;
        }
        if fenced {
            out.push('\n');
            continue;
        }
        let mut in_code = false;
        for c in line.chars() {
            if c == '`' {
                in_code = !in_code;
            }
            out.push(if in_code || c == '`' { ' ' } else { c });
        }
        out.push('\n');
    }
    out
}

/// Every link target of a Markdown text: inline (`[text](target)`, `![alt](target "title")`)
/// and reference definitions (`[name]: target`).
fn link_targets(text: &str) -> Vec<String> {
    let text = prose(text);
    let mut out = Vec::new();
    for (i, _) in text.match_indices("](") {
        let rest = &text[i + 2..];
        let mut depth = 0;
        let end = rest
            .char_indices()
            .find(|&(_, c)| {
                match c {
                    '(' => depth += 1,
                    ')' if depth == 0 => return true,
                    ')' => depth -= 1,
                    '\n' => return true,
                    _ => {}
                }
                false
            })
            .map(|(j, _)| j)
            .unwrap_or(rest.len());
        let target = rest[..end].trim();
        let target = target.split_once(" \"").map_or(target, |(t, _)| t);
        let target = target.trim_start_matches('<').trim_end_matches('>');
        out.push(target.to_string());
    }
    for line in text.lines() {
        let line = line.trim_start();
        if let Some(rest) = line.strip_prefix('[') {
            if let Some((_, target)) = rest.split_once("]: ") {
                out.push(target.split_whitespace().next().unwrap_or("").to_string());
            }
        }
    }
    out
}

/// The fragments GitHub gives a Markdown file's headings: lower case, punctuation other than `-`
/// and `_` dropped, spaces made `-`, a repeated heading numbered (`-1`, `-2`).
fn anchors(text: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        let Some(heading) = line.strip_prefix('#') else {
            continue;
        };
        let heading = heading.trim_start_matches('#');
        if !heading.starts_with(' ') {
            continue;
        }
        let slug: String = heading
            .trim()
            .to_lowercase()
            .chars()
            .filter(|c| c.is_alphanumeric() || *c == '-' || *c == '_' || *c == ' ')
            .map(|c| if c == ' ' { '-' } else { c })
            .collect();
        let mut name = slug.clone();
        let mut n = 0;
        while seen.contains(&name) {
            n += 1;
            name = format!("{slug}-{n}");
        }
        seen.insert(name);
    }
    seen
}

/// The Markdown files a reader is sent to: the root's and the guide's.
fn documents(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in [root.to_path_buf(), root.join("docs")] {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "md") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// What is wrong with the relative links of `file`: each broken link, named.
fn broken_links(root: &Path, file: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(file).unwrap();
    let name = file.strip_prefix(root).unwrap().display().to_string();
    let mut broken = Vec::new();
    for target in link_targets(&text) {
        if target.is_empty() || target.contains("://") || target.starts_with("mailto:") {
            continue;
        }
        let (path, fragment) = target.split_once('#').unwrap_or((&target, ""));
        let linked = if path.is_empty() {
            file.to_path_buf()
        } else {
            file.parent().unwrap().join(path)
        };
        if !linked.exists() {
            broken.push(format!("{name}: ({target}) names no file"));
            continue;
        }
        if !fragment.is_empty() && linked.extension().is_some_and(|e| e == "md") {
            let headings = anchors(&std::fs::read_to_string(&linked).unwrap());
            if !headings.contains(fragment) {
                broken.push(format!("{name}: ({target}) names no heading there"));
            }
        }
    }
    broken
}

#[test]
fn the_reader_finds_links_and_names_headings_as_github_does() {
    let text = "See [the guide](docs/a.md#the-tray-app) and ![shot](docs/s.png \"Sessions\").\n\
                `[not](a-link.md)` and\n```\n[nor](this.md)\n```\n[ref]: ../x.rs\n";
    assert_eq!(
        link_targets(text),
        ["docs/a.md#the-tray-app", "docs/s.png", "../x.rs"]
    );
    let headings = anchors("# ssotray\n## The tray app\n## Windows and macOS: what Wine can't show\n## The tray app\n#not a heading\n```\n# code\n```\n### `ssotray exec` (and --server)\n");
    assert_eq!(
        headings.into_iter().collect::<Vec<_>>(),
        [
            "ssotray",
            "ssotray-exec-and---server",
            "the-tray-app",
            "the-tray-app-1",
            "windows-and-macos-what-wine-cant-show",
        ]
    );
}

#[test]
fn a_broken_link_or_heading_is_named() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("docs")).unwrap();
    std::fs::write(dir.path().join("docs/a.md"), "# A\n## Here\n").unwrap();
    std::fs::write(
        dir.path().join("README.md"),
        "[ok](docs/a.md#here) [gone](docs/b.md) [no heading](docs/a.md#there) [web](https://x.y/z)\n",
    )
    .unwrap();
    assert_eq!(
        broken_links(dir.path(), &dir.path().join("README.md")),
        [
            "README.md: (docs/b.md) names no file",
            "README.md: (docs/a.md#there) names no heading there"
        ]
    );
}

#[test]
fn every_relative_link_in_the_readme_and_the_guide_leads_somewhere() {
    let root = root();
    let files = documents(&root);
    let names: Vec<String> = files
        .iter()
        .map(|f| f.strip_prefix(&root).unwrap().display().to_string())
        .collect();
    for needed in ["README.md", "ARCHITECTURE.md", "docs/README.md"] {
        assert!(names.iter().any(|n| n == needed), "{names:?}");
    }
    let broken: Vec<String> = files.iter().flat_map(|f| broken_links(&root, f)).collect();
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn the_readme_and_the_architecture_map_stay_short() {
    let root = root();
    for (file, limit) in [("README.md", 12_000), ("ARCHITECTURE.md", 15_000)] {
        let size = std::fs::metadata(root.join(file)).unwrap().len();
        assert!(
            size < limit,
            "{file} is {size} bytes, over its {limit}: move detail into docs/ or the module docs"
        );
    }
}
