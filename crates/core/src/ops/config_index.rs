//! The command line's index of `~/.aws/config` (#32), so that a command about one profile costs
//! the same with 7 000 profiles as with 2.
//!
//! A process of the command line runs once: it cannot keep a parsed config the way the keeper
//! does (`ParsedFiles`). So the first command that reads a config parses it whole, as every
//! command did, and writes what it found into an index in ssotray's cache directory
//! (`config-index/<sha1 of the config's path>`, mode 0600, in a directory of the user's own
//! with mode 0700: where another user could write an index, none is read or written). A later command hashes the config's
//! bytes as it reads them, 64 KiB at a time, and uses the index only when it was made from
//! exactly those bytes (xxh3-128 of the whole file, about 0.1 ms a megabyte): any change, by any
//! tool, at any time, however small, sends it back to the whole parse, which writes a new index.
//! Timestamps are never trusted for this.
//!
//! From the index a command takes only what it needs, and gets an [`AwsConfig`] the whole parse
//! would give for that question: every sso-session, every problem, every legacy SSO profile (the
//! token holders `targets` lists), and the profiles asked for with everything their chains reach
//! (`source_profile` after `source_profile`), in file order. So every answer, message and
//! warning is the whole parse's; a test compares them over generated configs.
//!
//! The file: a first line `ssotray-config-index <version> <hash>`, a line of JSON with the
//! sessions, problems, legacy profiles and the keys of the default profile's sections, then one
//! line per profile, `name TAB json`, sorted by name, found by binary search with a few 4 KiB
//! reads, never read whole. A config with a profile name that holds a tab gets no index. A line
//! that cannot be read, or an index cut short, is not used: the config is parsed whole.

use crate::aws::config::{
    AwsConfig, ChainedProfile, ConfigProblem, SsoProfile, SsoSession, SsoSource,
};
use crate::ops::engine::{Engine, EngineError};
use crate::platform::os::ReadSeek;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read as _, Seek as _, SeekFrom};
use std::path::Path;

const MAGIC: &str = "ssotray-config-index";
const VERSION: u32 = 1;

/// What the index says about one profile section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
enum Entry {
    /// A valid SSO profile.
    Sso(SsoProfile),
    /// A valid chained (`role_arn`) profile.
    Chained(ChainedProfile),
    /// Any other profile (no SSO, or broken: its problems are in the summary).
    Other,
}

/// One profile's line: its place in the file and what it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Line {
    /// Its place among the config's profile sections.
    order: usize,
    entry: Entry,
}

/// What every question needs.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Summary {
    sessions: Vec<SsoSession>,
    problems: Vec<ConfigProblem>,
    /// Legacy SSO profiles with their places, in file order.
    legacy: Vec<(usize, SsoProfile)>,
    default_keys: Vec<(String, Vec<String>)>,
}

/// The hash an index is made for: of the config file's bytes, whole.
pub fn content_hash(bytes: &[u8]) -> u128 {
    xxhash_rust::xxh3::xxh3_128(bytes)
}

/// [`content_hash`] of what `file` holds, read a piece at a time (a large config is never held
/// whole on this path).
fn hash_of(file: &mut dyn ReadSeek) -> std::io::Result<u128> {
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match file.read(&mut buf) {
            Ok(0) => return Ok(hasher.digest128()),
            Ok(n) => hasher.update(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// The index of a parsed config whose file's bytes hash to `hash`; `None` when it cannot have
/// one (a profile name with a tab).
pub fn build(config: &AwsConfig, hash: u128) -> Option<Vec<u8>> {
    if config
        .all_profiles
        .iter()
        .any(|n| n.contains(['\t', '\n', '\r']))
    {
        return None;
    }
    let order: BTreeMap<&str, usize> = config
        .all_profiles
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i))
        .collect();
    let summary = Summary {
        sessions: config.sessions.clone(),
        problems: config.problems.clone(),
        legacy: config
            .profiles
            .iter()
            .filter(|p| matches!(p.source, SsoSource::Legacy { .. }))
            .map(|p| (order[p.name.as_str()], p.clone()))
            .collect(),
        default_keys: config.default_keys.clone(),
    };
    let mut lines: BTreeMap<&str, Line> = config
        .all_profiles
        .iter()
        .map(|n| {
            let line = Line {
                order: order[n.as_str()],
                entry: Entry::Other,
            };
            (n.as_str(), line)
        })
        .collect();
    for p in &config.profiles {
        lines.get_mut(p.name.as_str())?.entry = Entry::Sso(p.clone());
    }
    for c in &config.chained {
        lines.get_mut(c.name.as_str())?.entry = Entry::Chained(c.clone());
    }
    let mut out = format!("{MAGIC} {VERSION} {hash:032x}\n").into_bytes();
    serde_json::to_writer(&mut out, &summary).ok()?;
    out.push(b'\n');
    for (name, line) in lines {
        out.extend_from_slice(name.as_bytes());
        out.push(b'\t');
        serde_json::to_writer(&mut out, &line).ok()?;
        out.push(b'\n');
    }
    Some(out)
}

/// An index read back, for a config whose bytes hash to what it was made for. Only its first
/// lines are read whole; a profile's line is found by binary search, reading a few kilobytes at
/// each step.
pub struct Index {
    summary: Summary,
    file: Box<dyn ReadSeek>,
    /// Where the profile lines start, and the file's length.
    lines: (u64, u64),
}

/// How much is read at a time.
const PIECE: usize = 4096;

impl Index {
    /// The index in `file` if it was made for a config whose bytes hash to `hash` (by this
    /// version of ssotray); otherwise `None`, and the config is parsed whole.
    pub fn open(mut file: Box<dyn ReadSeek>, hash: u128) -> Option<Index> {
        let len = file.seek(SeekFrom::End(0)).ok()?;
        let (first, after_first) = line_at(&mut *file, 0)?;
        let expected = format!("{MAGIC} {VERSION} {hash:032x}");
        if first != expected.as_bytes() {
            return None;
        }
        let (summary, start) = line_at(&mut *file, after_first)?;
        // Written whole or not at all (an atomic replace); a last line cut short is not read.
        if start < len && read_at(&mut *file, len - 1, 1)? != b"\n" {
            return None;
        }
        Some(Index {
            summary: serde_json::from_slice(&summary).ok()?,
            file,
            lines: (start, len),
        })
    }

    /// The line of the profile called `name`, found by binary search: `Ok(None)` when there is
    /// no such profile, `Err` when a line cannot be read (then the index is not used at all).
    fn line(&mut self, name: &str) -> Result<Option<Line>, ()> {
        let file = &mut *self.file;
        let (mut lo, mut hi) = self.lines;
        // `lo` and `hi` are where lines start (or the end): the line sought is in between.
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let mut start = if mid == lo {
                lo
            } else {
                next_line_start(file, mid).ok_or(())?
            };
            if start >= hi {
                start = lo;
            }
            let (line, end) = line_at(file, start).ok_or(())?;
            let tab = line.iter().position(|&b| b == b'\t').ok_or(())?;
            match line[..tab].cmp(name.as_bytes()) {
                std::cmp::Ordering::Equal => {
                    return serde_json::from_slice(&line[tab + 1..])
                        .map(Some)
                        .map_err(|_| ());
                }
                std::cmp::Ordering::Less => lo = end,
                std::cmp::Ordering::Greater => hi = start,
            }
        }
        Ok(None)
    }

    /// The config as the whole parse gives it for questions about `profiles` (and the token
    /// holders): every session, problem and legacy profile, and each profile asked for with every
    /// profile its chain reaches. `None` if the index cannot answer (then parse whole).
    pub fn config_for(&mut self, path: &Path, profiles: &[&str]) -> Option<AwsConfig> {
        let mut found: BTreeMap<usize, (String, Entry)> = BTreeMap::new();
        for (order, p) in &self.summary.legacy {
            found.insert(*order, (p.name.clone(), Entry::Sso(p.clone())));
        }
        let mut seen = BTreeSet::new();
        let mut queue: Vec<String> = profiles.iter().map(|p| p.to_string()).collect();
        while let Some(name) = queue.pop() {
            if !seen.insert(name.clone()) {
                continue;
            }
            let Some(line) = self.line(&name).ok()? else {
                continue;
            };
            if let Entry::Chained(c) = &line.entry {
                if let Some(source) = &c.source_profile {
                    queue.push(source.clone());
                }
            }
            found.insert(line.order, (name, line.entry));
        }
        let mut config = AwsConfig {
            path: path.to_path_buf(),
            sessions: self.summary.sessions.clone(),
            problems: self.summary.problems.clone(),
            default_keys: self.summary.default_keys.clone(),
            ..AwsConfig::default()
        };
        for (_, (name, entry)) in found {
            match entry {
                Entry::Sso(p) => config.profiles.push(p),
                Entry::Chained(c) => config.chained.push(c),
                Entry::Other => {}
            }
            config.all_profiles.push(name);
        }
        Some(config)
    }
}

/// Up to `n` bytes of `file` from `at` (fewer at its end).
fn read_at(file: &mut dyn ReadSeek, at: u64, n: usize) -> Option<Vec<u8>> {
    file.seek(SeekFrom::Start(at)).ok()?;
    let mut buf = Vec::with_capacity(n);
    file.take(n as u64).read_to_end(&mut buf).ok()?;
    Some(buf)
}

/// The line that starts at `at`, without its line feed, and where the next one starts; `None`
/// if it does not end in one.
fn line_at(file: &mut dyn ReadSeek, at: u64) -> Option<(Vec<u8>, u64)> {
    let mut line = Vec::new();
    let mut pos = at;
    loop {
        let piece = read_at(file, pos, PIECE)?;
        if piece.is_empty() {
            return None;
        }
        if let Some(i) = piece.iter().position(|&b| b == b'\n') {
            line.extend_from_slice(&piece[..i]);
            return Some((line, pos + i as u64 + 1));
        }
        line.extend_from_slice(&piece);
        pos += piece.len() as u64;
    }
}

/// Where the first line that starts at or after `at` starts (`at` > 0: the byte before it is
/// looked at).
fn next_line_start(file: &mut dyn ReadSeek, at: u64) -> Option<u64> {
    let mut pos = at - 1;
    loop {
        let piece = read_at(file, pos, PIECE)?;
        if piece.is_empty() {
            return None;
        }
        if let Some(i) = piece.iter().position(|&b| b == b'\n') {
            return Some(pos + i as u64 + 1);
        }
        pos += piece.len() as u64;
    }
}

impl Engine {
    /// The config as far as questions about `profiles` and the token holders need it, from the
    /// index when it was made from the config's current bytes, else by parsing it whole (and
    /// writing the index for the next command). For the command line, which runs once per
    /// process; the keeper and the app keep the whole config ([`Engine::load_config`]).
    pub fn load_config_for(&self, profiles: &[&str]) -> Result<AwsConfig, EngineError> {
        let path = self.config_path()?;
        let name = {
            use sha1::Digest as _;
            hex::encode(sha1::Sha1::digest(path.to_string_lossy().as_bytes()))
        };
        // No cache directory (none can be named here), or one another user could have written
        // an index into: parse whole, and keep no index.
        let dir = self.paths().config_index_dir().ok();
        let Some(dir) = dir.filter(|d| self.ctx.fs.private_dir(d).is_ok()) else {
            return self.parse_whole(&path);
        };
        let index_path = dir.join(name);
        let hash = match self.ctx.fs.open(&path).and_then(|mut f| hash_of(&mut *f)) {
            Ok(hash) => hash,
            // No file, or one that cannot be read: the whole load says so as it always has.
            Err(_) => return self.parse_whole(&path),
        };
        if let Ok(file) = self.ctx.fs.open(&index_path) {
            if let Some(config) =
                Index::open(file, hash).and_then(|mut i| i.config_for(&path, profiles))
            {
                return Ok(config);
            }
        }
        let bytes = match self.ctx.fs.read(&path) {
            Ok(bytes) => bytes,
            Err(_) => return self.parse_whole(&path),
        };
        let config = parse_with_default_keys(path, &String::from_utf8_lossy(&bytes));
        // Made for the bytes parsed: if the file changed since it was hashed, this index is of
        // the new bytes, and right for them.
        if let Some(index) = build(&config, content_hash(&bytes)) {
            // A cache: a command that cannot write it still answers.
            if let Err(e) = self.ctx.fs.write_atomic(&index_path, &index, 0o600) {
                tracing::debug!(path = %index_path.display(), error = %e, "cannot write the config index");
            }
        }
        Ok(config)
    }
}

impl Engine {
    /// The config parsed whole, with the default profile's keys, without an index: where none
    /// can be used. A missing or unreadable file is what [`Engine::load_config`] makes of it.
    fn parse_whole(&self, path: &Path) -> Result<AwsConfig, EngineError> {
        match self.ctx.fs.read(path) {
            Ok(bytes) => Ok(parse_with_default_keys(
                path.to_path_buf(),
                &String::from_utf8_lossy(&bytes),
            )),
            Err(_) => self.load_config(),
        }
    }
}

/// [`AwsConfig::parse`], and the keys written in `[default]` and `[profile default]`, which only
/// the command line asks for (`exec` warns of credentials there): the keeper's and the app's
/// loads do not pay for them.
fn parse_with_default_keys(path: std::path::PathBuf, text: &str) -> AwsConfig {
    let mut config = AwsConfig::parse(path, text);
    for section in ["default", "profile default"] {
        if let Some(keys) = crate::aws::credfile::section_keys(text, section) {
            config.default_keys.push((section.to_string(), keys));
        }
    }
    config
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::context::Context;
    use crate::platform::os::{Env, Fs, ManualClock, MemFs};
    use crate::Selector;
    use chrono::TimeZone;
    use std::path::PathBuf;
    use std::sync::Arc;

    fn parsed(text: &str) -> AwsConfig {
        AwsConfig::parse(PathBuf::from("/c"), text)
    }

    #[test]
    fn an_index_opens_only_for_the_bytes_it_was_made_from() {
        let config = parsed("[profile a]\nregion = x\n");
        let index = build(&config, 7).unwrap();
        assert!(Index::open(Box::new(std::io::Cursor::new(index.clone())), 7).is_some());
        assert!(Index::open(Box::new(std::io::Cursor::new(index.clone())), 8).is_none());
        assert!(Index::open(Box::new(std::io::Cursor::new(Vec::new())), 7).is_none());
    }

    #[test]
    fn an_index_cut_short_or_with_a_line_it_cannot_read_is_not_used() {
        let config = parsed("[profile a]\nregion = x\n[profile b]\nregion = y\n");
        let index = build(&config, 7).unwrap();
        assert!(Index::open(
            Box::new(std::io::Cursor::new(index[..index.len() - 1].to_vec())),
            7
        )
        .is_none());
        let broken = String::from_utf8(index)
            .unwrap()
            .replace("\"order\":1", "\"order\":");
        let mut opened =
            Index::open(Box::new(std::io::Cursor::new(broken.into_bytes())), 7).unwrap();
        assert!(opened.config_for(Path::new("/c"), &["b"]).is_none());
        // A profile that is not there is simply not there.
        assert_eq!(
            opened
                .config_for(Path::new("/c"), &["zz"])
                .unwrap()
                .all_profiles,
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_profile_name_with_a_tab_gets_no_index() {
        assert!(build(&parsed("[profile a\tb]\nregion = x\n"), 1).is_none());
    }

    /// A config of `seed`'s choosing, from the shapes that make parsing hard: a BOM, CRLF,
    /// comments, duplicate sections, `[default]` and `[profile default]`, legacy and chained
    /// profiles (chains that loop or lead nowhere), sso-sessions after their profiles, broken
    /// sections, unreadable and indented lines.
    fn generated(seed: u64) -> String {
        use rand::{Rng, SeedableRng};
        let mut r = rand::rngs::StdRng::seed_from_u64(seed);
        let names = ["a", "b", "c", "dev", "default", "x y"];
        let mut out = String::new();
        if r.random_bool(0.2) {
            out.push('\u{feff}');
        }
        for _ in 0..r.random_range(1..14) {
            let name = names[r.random_range(0..names.len())];
            let header = if name == "default" && r.random_bool(0.5) {
                "[default]".to_string()
            } else {
                format!("[profile {name}]")
            };
            match r.random_range(0..10) {
                0 | 1 => {
                    let s = ["s1", "s2", "nope"][r.random_range(0..3)];
                    out += &format!("{header}\nsso_session = {s}\nsso_account_id = 111111111111\nsso_role_name = R{}\n", r.random_range(0..3));
                }
                2 => out += &format!("{header}\nsso_start_url = https://d-1.awsapps.com/start\nsso_region = us-east-1\nsso_account_id = 222222222222\nsso_role_name = L\n"),
                3 | 4 => {
                    let source = names[r.random_range(0..names.len())];
                    let arn = ["arn:aws:iam::333333333333:role/C", "not-an-arn"][r.random_range(0..2)];
                    out += &format!("{header}\nrole_arn = {arn}\nsource_profile = {source}\n");
                }
                5 => out += &format!("{header}\nregion = eu-west-{}\n", r.random_range(1..4)),
                6 => {
                    let s = ["s1", "s2"][r.random_range(0..2)];
                    let url = ["https://d-2.awsapps.com/start", "http://insecure"][r.random_range(0..2)];
                    out += &format!("[sso-session {s}]\nsso_start_url = {url}\nsso_region = us-west-2\n");
                }
                7 => out += "# a comment\n; another\n\n",
                8 => out += &format!("{header}\nsso_session = s1\n  indented = line\nsso_role_name\n"),
                _ => out += &format!("[profile {name}\nsso_account_id = 1\n"),
            }
        }
        if r.random_bool(0.3) {
            out = out.replace('\n', "\r\n");
        }
        out
    }

    fn world(config: &str) -> (Engine, Arc<MemFs>) {
        let fs = Arc::new(MemFs::new());
        fs.put("/home/u/.aws/config", config);
        let ctx = Context {
            clock: Arc::new(ManualClock::new(
                chrono::Utc.with_ymd_and_hms(2026, 12, 8, 9, 0, 0).unwrap(),
            )),
            fs: fs.clone(),
            env: Env::from_slice(&[("HOME", "/home/u")]),
            browser: Arc::new(crate::platform::os::SystemBrowser::new(
                Env::from_slice(&[]),
            )),
            http: Default::default(),
            secrets: Arc::new(crate::platform::keychain::MemKeychain::default()),
            parsed: Default::default(),
        };
        (Engine::new(ctx), fs)
    }

    #[test]
    fn the_index_answers_every_question_as_the_whole_parse_does() {
        let mut indexed = 0;
        for seed in 0..400 {
            let text = generated(seed);
            let (engine, fs) = world(&text);
            let full = parse_with_default_keys(engine.config_path().unwrap(), &text);
            assert_eq!(
                engine.load_config().unwrap().all_profiles,
                full.all_profiles
            );
            // The first call parses whole and writes the index; the later ones use it.
            let first = engine.load_config_for(&[]).unwrap();
            assert_eq!(first.all_profiles, full.all_profiles, "{text:?}");
            let index_dir = engine.paths().config_index_dir().unwrap();
            let has_index = fs
                .list_dir(&index_dir)
                .map(|l| !l.is_empty())
                .unwrap_or(false);
            assert!(
                has_index || full.all_profiles.iter().any(|n| n.contains('\t')),
                "{text:?}"
            );
            indexed += usize::from(has_index);
            let mut asked: Vec<&str> = full.all_profiles.iter().map(String::as_str).collect();
            asked.extend(["missing", "s1", "s2"]);
            for name in asked {
                let part = engine.load_config_for(&[name]).unwrap();
                let what = format!("{name:?} in {text:?}");
                assert_eq!(part.sessions, full.sessions, "{what}");
                assert_eq!(part.problems, full.problems, "{what}");
                assert_eq!(part.default_keys, full.default_keys, "{what}");
                assert_eq!(part.targets(), full.targets(), "{what}");
                assert!(part.all_profiles.len() <= full.all_profiles.len(), "{what}");
                assert_eq!(
                    format!("{:?}", engine.profile_role(&part, name)),
                    format!("{:?}", engine.profile_role(&full, name)),
                    "{what}"
                );
                for selector in [
                    Selector::Any(name.to_string()),
                    Selector::Profile(name.to_string()),
                    Selector::Session(name.to_string()),
                ] {
                    assert_eq!(
                        format!("{:?}", engine.resolve(&part, &selector)),
                        format!("{:?}", engine.resolve(&full, &selector)),
                        "{selector:?}: {what}"
                    );
                }
                assert_eq!(
                    format!("{:?}", crate::aws::chain::resolve(&part, name)),
                    format!("{:?}", crate::aws::chain::resolve(&full, name)),
                    "{what}"
                );
            }
        }
        assert!(indexed > 350, "only {indexed} of 400 configs were indexed");
    }

    #[test]
    fn a_changed_config_is_read_again_whoever_changed_it() {
        let (engine, fs) = world("[sso-session s1]\nsso_start_url = https://d-1.awsapps.com/start\nsso_region = us-east-1\n[profile a]\nsso_session = s1\nsso_account_id = 111111111111\nsso_role_name = R1\n");
        let role = |engine: &Engine| {
            let config = engine.load_config_for(&["a"]).unwrap();
            engine.profile_role(&config, "a").map(|r| r.role_name)
        };
        assert_eq!(role(&engine).unwrap(), "R1");
        assert_eq!(role(&engine).unwrap(), "R1");
        // Same length, one byte changed: the index is of other bytes, so it is not used.
        fs.put("/home/u/.aws/config", "[sso-session s1]\nsso_start_url = https://d-1.awsapps.com/start\nsso_region = us-east-1\n[profile a]\nsso_session = s1\nsso_account_id = 111111111111\nsso_role_name = R2\n");
        assert_eq!(role(&engine).unwrap(), "R2");
        fs.put("/home/u/.aws/config", "[sso-session s1]\nsso_start_url = https://d-1.awsapps.com/start\nsso_region = us-east-1\n");
        assert!(role(&engine).is_err());
    }

    #[test]
    fn every_profile_of_a_large_config_is_found_and_no_other() {
        let mut text = String::from("[sso-session s]\nsso_start_url = https://d-1.awsapps.com/start\nsso_region = us-east-1\n");
        let names: Vec<String> = (0..3000)
            .map(|i| format!("p{:x}-{}", i * 7919 % 3001, "x".repeat(i % 300)))
            .collect();
        for (i, n) in names.iter().enumerate() {
            text += &format!(
                "[profile {n}]\nsso_session = s\nsso_account_id = {}\nsso_role_name = R\n",
                100_000_000_000u64 + i as u64
            );
        }
        let config = parsed(&text);
        let mut index = Index::open(
            Box::new(std::io::Cursor::new(build(&config, 1).unwrap())),
            1,
        )
        .unwrap();
        for (i, n) in names.iter().enumerate() {
            let part = index.config_for(Path::new("/c"), &[n]).unwrap();
            assert_eq!(part.profiles.len(), 1, "{n}");
            assert_eq!(
                part.profiles[0].account_id,
                Some((100_000_000_000u64 + i as u64).to_string())
            );
        }
        for missing in ["", "a", "p", "p0-x", "zzz", "p1-xx", "p2"] {
            assert!(!names.iter().any(|n| n == missing));
            assert!(
                index
                    .config_for(Path::new("/c"), &[missing])
                    .unwrap()
                    .profiles
                    .is_empty(),
                "{missing}"
            );
        }
    }
}
