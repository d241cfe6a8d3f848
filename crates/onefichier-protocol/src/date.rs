//! Dates as the API writes them: `YYYY-MM-DD HH:MM:SS` in Europe/Paris local time.
//!
//! The time-zone rules are bundled (jiff's `tzdb-bundle-always`), so the conversion is right on
//! both sides of daylight-saving changes on any machine, with or without a system tz database.

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::{Disambiguation, TimeZone};
use std::sync::OnceLock;

/// The wire format of every API date.
const FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// The service's time zone.
pub fn paris() -> &'static TimeZone {
    static PARIS: OnceLock<TimeZone> = OnceLock::new();
    PARIS.get_or_init(|| {
        TimeZone::get("Europe/Paris").expect("Europe/Paris is in the bundled tz database")
    })
}

/// Formats Unix seconds as an API date in Paris time.
pub fn format_unix(seconds: i64) -> String {
    in_paris(seconds, FORMAT)
}

fn in_paris(seconds: i64, format: &str) -> String {
    let timestamp = Timestamp::from_second(seconds).unwrap_or(Timestamp::UNIX_EPOCH);
    timestamp
        .to_zoned_datetime(paris().clone())
        .strftime(format)
        .to_string()
}

/// Unix seconds in Paris time with the zone named, `2026-12-04 19:05:07 CET`: the self-hosted
/// site's own pages say which zone their times are in (the pages third-party clients scrape keep
/// [`format_unix`], as the service writes them).
pub fn format_unix_named(seconds: i64) -> String {
    in_paris(seconds, "%Y-%m-%d %H:%M:%S %Z")
}

/// The error for a date that is not `YYYY-MM-DD HH:MM:SS`.
#[derive(Debug, thiserror::Error)]
#[error("invalid date {input:?}: expected YYYY-MM-DD HH:MM:SS")]
pub struct DateError {
    input: String,
}

/// Parses an API date (Paris time) into Unix seconds.
///
/// A wall-clock time that occurs twice (the autumn change) resolves to the earlier instant; one
/// that does not exist (the spring gap) resolves to the instant after the gap, as the service's
/// clock would have shown it.
pub fn parse_unix(input: &str) -> Result<i64, DateError> {
    let error = || DateError {
        input: input.to_owned(),
    };
    let civil = DateTime::strptime(FORMAT, input.trim()).map_err(|_| error())?;
    let zoned = paris()
        .to_ambiguous_zoned_datetime(civil)
        .disambiguate(Disambiguation::Compatible)
        .map_err(|_| error())?;
    Ok(zoned.timestamp().as_second())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summer_and_winter_offsets() {
        // 2021-06-22 12:57:25 UTC was 14:57:25 in Paris (CEST, +2), as in the reference's dump.
        assert_eq!(format_unix(1_624_366_645), "2021-06-22 14:57:25");
        // 2024-01-31 11:00:00 UTC is 12:00:00 in Paris (CET, +1).
        assert_eq!(format_unix(1_706_698_800), "2024-01-31 12:00:00");
        assert_eq!(format_unix_named(1_624_366_645), "2021-06-22 14:57:25 CEST");
        assert_eq!(format_unix_named(1_706_698_800), "2024-01-31 12:00:00 CET");
    }

    #[test]
    fn around_the_spring_change() {
        // 2026-03-29: clocks go from 02:00 CET to 03:00 CEST at 01:00 UTC.
        let before = parse_unix("2026-03-29 01:59:59").unwrap();
        let after = parse_unix("2026-03-29 03:00:00").unwrap();
        assert_eq!(after - before, 1);
        assert_eq!(format_unix(before + 1), "2026-03-29 03:00:00");
    }

    #[test]
    fn around_the_autumn_change() {
        // 2026-10-25: clocks go from 03:00 CEST back to 02:00 CET at 01:00 UTC.
        let first_two_thirty = parse_unix("2026-10-25 02:30:00").unwrap();
        assert_eq!(format_unix(first_two_thirty), "2026-10-25 02:30:00");
        assert_eq!(format_unix(first_two_thirty + 3600), "2026-10-25 02:30:00");
        // 03:00 CET comes 30 minutes after the second 02:30 (CET).
        assert_eq!(
            parse_unix("2026-10-25 03:00:00").unwrap() - first_two_thirty,
            5400
        );
    }

    #[test]
    fn round_trip_and_rejects() {
        for seconds in [0, 1_000_000_000, 1_798_000_000] {
            assert_eq!(parse_unix(&format_unix(seconds)).unwrap(), seconds);
        }
        assert!(parse_unix("2026-13-01 00:00:00").is_err());
        assert!(parse_unix("yesterday").is_err());
    }
}

/// Modification times, which the API does not keep, carried in a file's description as a
/// machine tag at its end: `[mtime:2026-12-01T18:05:07Z]` (RFC 3339, UTC; clients write whole
/// seconds, so that files of one second share one `chattr`, and read any precision). Human
/// text before the tag is kept as it is.
pub mod mtime_tag {
    use jiff::Timestamp;

    const OPEN: &str = "[mtime:";

    /// The human text of a description and the modification time its tag holds, if any.
    pub fn split(description: &str) -> (&str, Option<Timestamp>) {
        if let Some(start) = description.rfind(OPEN)
            && let Some(inner) = description[start + OPEN.len()..].strip_suffix(']')
            && let Ok(time) = inner.parse::<Timestamp>()
        {
            return (description[..start].trim_end(), Some(time));
        }
        (description, None)
    }

    /// `description` with its tag set to `time` (added, or replacing the one there).
    pub fn with(description: &str, time: Timestamp) -> String {
        let (human, _) = split(description);
        if human.is_empty() {
            format!("{OPEN}{time}]")
        } else {
            format!("{human} {OPEN}{time}]")
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn the_tag_rides_beside_human_text_and_round_trips() {
            let time: Timestamp = "2026-12-01T18:05:07.123456789Z".parse().unwrap();
            let tagged = with("holiday photos", time);
            assert_eq!(
                tagged,
                "holiday photos [mtime:2026-12-01T18:05:07.123456789Z]"
            );
            assert_eq!(split(&tagged), ("holiday photos", Some(time)));
            let later: Timestamp = "2027-01-01T00:00:00Z".parse().unwrap();
            assert_eq!(
                with(&tagged, later),
                "holiday photos [mtime:2027-01-01T00:00:00Z]"
            );
            assert_eq!(split(&with("", later)), ("", Some(later)));
            // Text that only looks like a tag is human text.
            assert_eq!(split("see [mtime:soon]"), ("see [mtime:soon]", None));
        }
    }
}
