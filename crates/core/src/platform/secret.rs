//! A string that must never be printed: tokens, client secrets, role credentials, sign-in URLs.
//!
//! Tokens, client secrets, device codes, role credentials and sign-in URLs are `Secret`s: `Debug`
//! and `Display` are redacted, the value is zeroized on drop, and it is not `Serialize`, so it
//! never reaches a log, an error message or `status` output.

use std::fmt;
use zeroize::Zeroizing;

/// A secret string. `Debug` and `Display` print `** redacted **`; the memory is zeroed on drop.
///
/// It deliberately implements neither `Serialize` nor `Display` of its contents: the only way
/// to the value is [`Secret::expose`], so every place that hands a secret on is visible in review.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(Zeroizing::new(value.into()))
    }

    /// The value itself, for the one place that must send or store it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("** redacted **")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("** redacted **")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_the_value() {
        let s = Secret::new("aoa-very-secret");
        assert_eq!(format!("{s:?}"), "** redacted **");
        assert_eq!(format!("{s}"), "** redacted **");
        assert_eq!(s.expose(), "aoa-very-secret");
    }
}
