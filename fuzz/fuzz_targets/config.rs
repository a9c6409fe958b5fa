//! `~/.aws/config`: parsing never panics; a section appended or a profile block written keeps
//! every byte of the file as it was, and what was written parses back; the command line's index
//! of the config answers for every profile as the whole parse does.
#![no_main]
use libfuzzer_sys::fuzz_target;
use ssotray_core::aws::config::{append_sso_session, AwsConfig};
use ssotray_core::ops::discovery::AccountRoles;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let config = AwsConfig::parse("/home/u/.aws/config".into(), &text);
    let _ = config.targets();
    if let Some(index) = ssotray_core::ops::config_index::build(&config, 1) {
        let mut index = ssotray_core::ops::config_index::Index::open(Box::new(std::io::Cursor::new(index)), 1).expect("an index opens for its hash");
        for name in config.all_profiles.iter().map(String::as_str).chain(["", "missing"]) {
            let part = index.config_for(&config.path, &[name]).expect("the index answers");
            assert_eq!(part.sessions, config.sessions);
            assert_eq!(part.problems, config.problems);
            assert_eq!(part.targets(), config.targets());
            assert_eq!(part.profile(name), config.profile(name), "{name:?}");
            assert_eq!(part.chained_profile(name), config.chained_profile(name), "{name:?}");
            assert_eq!(format!("{:?}", ssotray_core::aws::chain::resolve(&part, name)), format!("{:?}", ssotray_core::aws::chain::resolve(&config, name)), "{name:?}");
        }
    }
    // The tail of the input doubles as the values a user or the account cache would give.
    let mid = text.char_indices().map(|(i, _)| i).nth(text.chars().count() / 2).unwrap_or(text.len());
    let (name, url) = text.split_at(mid);
    let name: String = name.chars().take(20).collect();
    if let Ok(new) = append_sso_session(&text, &name, &format!("https://{}", url.chars().take(30).collect::<String>()), "us-east-1") {
        assert!(new.starts_with(&*text), "append changed existing bytes");
        assert!(AwsConfig::parse("c".into(), &new).session(name.trim()).is_some(), "an appended session reads back");
    }
    let accounts = vec![AccountRoles { account_id: name.clone(), account_name: url.chars().take(30).collect(), email_address: None, roles: vec![url.chars().rev().take(20).collect(), "ReadOnly".into()] }];
    if let Ok((new, profiles)) = ssotray_core::ops::profiles::generate(&text, "s", &accounts, ssotray_core::ops::profiles::DEFAULT_TEMPLATE) {
        if !text.contains("# BEGIN ssotray profiles for sso-session s") {
            assert!(new.starts_with(&*text), "generate changed bytes outside its block");
        }
        let again = ssotray_core::ops::profiles::generate(&new, "s", &accounts, ssotray_core::ops::profiles::DEFAULT_TEMPLATE).expect("its own block reads back");
        assert_eq!(again.0, new, "generating twice changes nothing");
        let parsed = AwsConfig::parse("c".into(), &new);
        for p in profiles {
            assert!(parsed.profiles.iter().any(|q| q.name == p.name) || parsed.problems.iter().any(|q| q.section == format!("profile {}", p.name)), "profile {} reads back", p.name);
        }
    }
});
