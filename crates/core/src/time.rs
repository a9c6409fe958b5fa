//! Timestamps as the AWS token cache holds them: written one way, read in every way other tools write them.

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};

/// Formats an instant the way AWS CLI v2 writes `expiresAt`: `YYYY-MM-DDTHH:MM:SSZ`.
///
/// Only this form is read correctly by every AWS client (aws-sdk-rust requires the `Z`,
/// the JS SDK misreads `UTC`), so it is the only form ssotray writes.
pub fn format_timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Parses every timestamp form other writers put in the cache: `Z`, `+00:00` (or any offset),
/// fractional seconds, a `UTC` suffix, and no zone at all (read as UTC, as botocore's writers mean it).
pub fn parse_timestamp(text: &str) -> Option<DateTime<Utc>> {
    let s = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    let naive = s
        .strip_suffix("UTC")
        .or_else(|| s.strip_suffix(" UTC"))
        .map(str::trim_end)
        .unwrap_or(s);
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(naive, format) {
            return Some(t.and_utc());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn check(input: &str, expected: Option<&str>) {
        let got = parse_timestamp(input).map(format_timestamp_millis);
        assert_eq!(got.as_deref(), expected, "parsing {input:?}");
    }

    fn format_timestamp_millis(t: DateTime<Utc>) -> String {
        t.to_rfc3339_opts(SecondsFormat::Millis, true)
    }

    #[test]
    fn reads_every_form_other_writers_produce() {
        // Table from spec §4.1 plus the SDKs' own rewrites.
        check("2026-12-01T10:00:00Z", Some("2026-12-01T10:00:00.000Z"));
        check("2026-12-01T10:00:00.000Z", Some("2026-12-01T10:00:00.000Z"));
        check("2026-12-01T10:00:00.123Z", Some("2026-12-01T10:00:00.123Z"));
        check("2026-12-01T10:00:31.209877Z", Some("2026-12-01T10:00:31.209Z"));
        check("2026-12-01T10:00:00+00:00", Some("2026-12-01T10:00:00.000Z"));
        check("2026-12-01T12:00:00+02:00", Some("2026-12-01T10:00:00.000Z"));
        check("2026-12-01T10:00:00UTC", Some("2026-12-01T10:00:00.000Z"));
        check("2026-12-01T10:00:00 UTC", Some("2026-12-01T10:00:00.000Z"));
        check("2026-12-01T10:00:00", Some("2026-12-01T10:00:00.000Z"));
        check("2026-12-01 10:00:00", Some("2026-12-01T10:00:00.000Z"));
        check("  2026-12-01T10:00:00Z\n", Some("2026-12-01T10:00:00.000Z"));
        check("2026-12-01t10:00:00z", Some("2026-12-01T10:00:00.000Z"));
    }

    #[test]
    fn rejects_what_is_not_a_timestamp() {
        check("", None);
        check("tomorrow", None);
        check("2026-13-01T10:00:00Z", None);
        check("2026-12-01", None);
        check("1764583200", None);
    }

    #[test]
    fn writes_only_the_form_every_reader_accepts() {
        let t = Utc.with_ymd_and_hms(2026, 12, 1, 10, 0, 0).unwrap()
            + chrono::Duration::milliseconds(999);
        assert_eq!(format_timestamp(t), "2026-12-01T10:00:00Z");
    }
}
