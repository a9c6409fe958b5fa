//! Timestamps as the AWS token cache holds them: written one way, read in every way other tools write them.
//!
//! The written form is `…SSZ`.

use chrono::{DateTime, Duration, NaiveDateTime, SecondsFormat, TimeZone, Utc};

/// The earliest instant ssotray takes from a file or the network (1970-01-01).
pub fn earliest() -> DateTime<Utc> {
    DateTime::UNIX_EPOCH
}

/// The latest instant ssotray takes from a file or the network (9999-12-31T23:59:59Z).
pub fn latest() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59)
        .single()
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Whether an instant is in the range ssotray accepts from outside ([`earliest`]..=[`latest`]):
/// far enough from chrono's limits that adding or subtracting any duration ssotray uses (at
/// most a few thousand years) cannot overflow.
pub fn in_range(t: DateTime<Utc>) -> bool {
    (earliest()..=latest()).contains(&t)
}

/// `t + d`, saturating at chrono's limits instead of panicking.
pub fn plus(t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    t.checked_add_signed(d).unwrap_or(if d < Duration::zero() {
        DateTime::<Utc>::MIN_UTC
    } else {
        DateTime::<Utc>::MAX_UTC
    })
}

/// `t - d`, saturating at chrono's limits instead of panicking.
pub fn minus(t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    t.checked_sub_signed(d).unwrap_or(if d < Duration::zero() {
        DateTime::<Utc>::MAX_UTC
    } else {
        DateTime::<Utc>::MIN_UTC
    })
}

/// A number of seconds from a file or the network as a duration, if it is one chrono can hold
/// and within `max`.
pub fn seconds(secs: i64, max: Duration) -> Option<Duration> {
    Duration::try_seconds(secs).filter(|d| d.abs() <= max)
}

/// Formats an instant the way AWS CLI v2 writes `expiresAt`: `YYYY-MM-DDTHH:MM:SSZ`.
///
/// Only this form is read correctly by every AWS client (aws-sdk-rust requires the `Z`,
/// the JS SDK misreads `UTC`), so it is the only form ssotray writes.
pub fn format_timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Parses every timestamp form other writers put in the cache: `Z`, `+00:00` (or any offset),
/// fractional seconds, a `UTC` suffix, and no zone at all (read as UTC, as botocore's writers mean it).
/// Instants outside 1970..=9999 are refused (see [`in_range`]).
pub fn parse_timestamp(text: &str) -> Option<DateTime<Utc>> {
    check_timestamp(text).ok()
}

/// Like [`parse_timestamp`], with what is wrong: `"is not a timestamp"` or
/// `"is out of range (1970 to 9999)"`.
pub fn check_timestamp(text: &str) -> Result<DateTime<Utc>, &'static str> {
    match parse_any(text) {
        Some(t) if in_range(t) => Ok(t),
        Some(_) => Err("is out of range (1970 to 9999)"),
        None => Err("is not a timestamp"),
    }
}

fn parse_any(text: &str) -> Option<DateTime<Utc>> {
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
        check(
            "2026-12-01T10:00:31.209877Z",
            Some("2026-12-01T10:00:31.209Z"),
        );
        check(
            "2026-12-01T10:00:00+00:00",
            Some("2026-12-01T10:00:00.000Z"),
        );
        check(
            "2026-12-01T12:00:00+02:00",
            Some("2026-12-01T10:00:00.000Z"),
        );
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
        // Parseable, but far enough out to overflow date arithmetic: refused.
        check("-262144-01-01T00:00:00", None);
        check("+262143-12-31T23:59:59", None);
        check("1969-12-31T23:59:59Z", None);
        check("10000-01-01T00:00:00", None);
        check("9999-12-31T23:59:59Z", Some("9999-12-31T23:59:59.000Z"));
    }

    #[test]
    fn arithmetic_on_outside_values_saturates() {
        let max = DateTime::<Utc>::MAX_UTC;
        assert_eq!(plus(max, Duration::seconds(1)), max);
        assert_eq!(
            minus(DateTime::<Utc>::MIN_UTC, Duration::seconds(1)),
            DateTime::<Utc>::MIN_UTC
        );
        assert_eq!(minus(max, Duration::seconds(-1)), max);
        assert_eq!(seconds(i64::MAX, Duration::days(366)), None);
        assert_eq!(seconds(3600, Duration::days(366)), Some(Duration::hours(1)));
    }

    #[test]
    fn writes_only_the_form_every_reader_accepts() {
        let t = Utc.with_ymd_and_hms(2026, 12, 1, 10, 0, 0).unwrap()
            + chrono::Duration::milliseconds(999);
        assert_eq!(format_timestamp(t), "2026-12-01T10:00:00Z");
    }
}
