//! Opening a URL that is a credential (a console sign-in URL, the login's `/authorize` URL with
//! its `state`) without putting it on a command line, where every local user can read it in
//! `/proc/<pid>/cmdline`, or in an environment.
//!
//! The URL goes into a small page in a private directory (`$XDG_RUNTIME_DIR/ssotray/open`, else
//! ssotray's cache directory; the file is mode 0600, a directory ssotray creates is 0700) that
//! sends the browser on to it; the browser is given only that page's `file://` URL, which is
//! useless to anyone who cannot read the user's files. Pages older than two minutes are removed
//! whenever another is made (a sign-in URL is single-use and lives 15 minutes; a login's state
//! is spent when its login ends).

use crate::ops::engine::{Engine, EngineError};
use crate::platform::secret::Secret;
use std::path::PathBuf;

/// How long a page is kept for the browser to read it.
const KEEP: chrono::Duration = chrono::Duration::minutes(2);

/// The page that sends the browser on to `url` at once (meta refresh, and script for browsers
/// that ignore it), with no referrer.
pub fn redirect_page(url: &str) -> String {
    let attr: String = url
        .chars()
        .map(|c| match c {
            '&' => "&amp;".to_string(),
            '"' => "&quot;".to_string(),
            '<' => "&lt;".to_string(),
            '>' => "&gt;".to_string(),
            '\'' => "&#39;".to_string(),
            c => c.to_string(),
        })
        .collect();
    // A JSON string is a JavaScript string; `<` escaped so it cannot end the script.
    let js = serde_json::Value::String(url.to_string())
        .to_string()
        .replace('<', "\\u003c");
    format!(
        "<!doctype html><meta charset=utf-8><meta name=referrer content=no-referrer><meta http-equiv=refresh content=\"0;url={attr}\"><title>ssotray</title><script>location.replace({js})</script><p>Opening… <a href=\"{attr}\" rel=noreferrer>continue</a></p>\n"
    )
}

/// The URL a redirect page sends the browser to (for tests and tools that follow the page).
pub fn target_of_page(page: &str) -> Option<String> {
    let start = page.find("content=\"0;url=")? + "content=\"0;url=".len();
    let attr = &page[start..start + page[start..].find('"')?];
    Some(
        attr.replace("&quot;", "\"")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&#39;", "'")
            .replace("&amp;", "&"),
    )
}

impl Engine {
    fn private_open_dir(&self) -> Result<PathBuf, EngineError> {
        Ok(self.paths().private_pages_dir()?)
    }

    /// Opens `url` (a credential) with `command` (a session's browser setting) or the user's
    /// browser, through a private page: the browser's command line holds only the page's path.
    pub fn open_privately(&self, command: Option<&str>, url: &Secret) -> Result<(), EngineError> {
        let page = self.private_page(url)?;
        self.ctx
            .browser
            .open_with(command, &page)
            .map_err(EngineError::Browser)
    }

    /// Writes the private page that leads to `url`; returns its `file://` URL (nothing secret).
    pub fn private_page(&self, url: &Secret) -> Result<String, EngineError> {
        let dir = self.private_open_dir()?;
        let now = self.ctx.clock.now();
        for old in self.ctx.fs.list_dir(&dir).unwrap_or_default() {
            let stale = self.ctx.fs.stamp(&old).ok().flatten().is_some_and(|s| {
                chrono::DateTime::from_timestamp_nanos(
                    s.mtime_ns.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64,
                ) < now - KEEP
            });
            if stale && old.extension().is_some_and(|e| e == "html") {
                let _ = self.ctx.fs.remove(&old);
            }
        }
        let page = dir.join(format!("{:032x}.html", rand::random::<u128>()));
        self.ctx
            .fs
            .write_atomic(&page, redirect_page(url.expose()).as_bytes(), 0o600)
            .map_err(|source| EngineError::Io {
                what: "write a page to open the browser with in",
                path: dir.clone(),
                source,
            })?;
        let file_url = url::Url::from_file_path(&page).map_err(|_| EngineError::Io {
            what: "make a file URL of",
            path: page.clone(),
            source: std::io::Error::from(std::io::ErrorKind::InvalidInput),
        })?;
        Ok(file_url.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_leads_to_the_url_and_nothing_else() {
        let url = "https://signin.aws.amazon.com/federation?Action=login&Destination=https%3A%2F%2Fx&SigninToken=a\"b<c>'d";
        let page = redirect_page(url);
        assert_eq!(target_of_page(&page).as_deref(), Some(url));
        assert!(!page.contains("a\"b"), "escaped in the attribute");
        assert!(page.contains("location.replace(\"https://signin.aws.amazon.com/federation?Action=login&Destination=https%3A%2F%2Fx&SigninToken=a\\\"b\\u003cc>'d\")"), "{page}");
    }
}
