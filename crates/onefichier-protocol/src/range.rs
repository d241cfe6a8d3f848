//! The `Range` header of downloads (the server's direct downloads, `1fichier serve http`): one
//! range, checked arithmetic.

/// What a `Range` header asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum RangeRequest {
    /// No usable single range: the whole file.
    Whole,
    /// `start..end` (exclusive).
    Part(u64, u64),
    /// Cannot be satisfied.
    Unsatisfiable,
}

/// Parses a single `bytes=` range (RFC 9110 §14.1.2); several ranges, or a malformed one, are
/// served as the whole file, as the RFC allows. Positions past `u64` or past the file are
/// clamped to its end; arithmetic never overflows.
pub fn parse_range(header: Option<&str>, size: u64) -> RangeRequest {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return RangeRequest::Whole;
    };
    if spec.contains(',') {
        return RangeRequest::Whole;
    }
    let Some((start, end)) = spec.trim().split_once('-') else {
        return RangeRequest::Whole;
    };
    let (start, end) = (start.trim(), end.trim());
    let parsed = if start.is_empty() {
        // Suffix: the last N bytes.
        match position(end) {
            Some(0) => return RangeRequest::Unsatisfiable,
            Some(n) => Some((size.saturating_sub(n), size)),
            None => None,
        }
    } else {
        match (position(start), end) {
            (Some(s), "") => Some((s, size)),
            (Some(s), e) => match position(e) {
                Some(e) if e >= s => Some((s, e.saturating_add(1).min(size))),
                _ => None,
            },
            (None, _) => None,
        }
    };
    match parsed {
        None => RangeRequest::Whole,
        Some((s, _)) if s >= size => RangeRequest::Unsatisfiable,
        Some((s, e)) => RangeRequest::Part(s, e),
    }
}

/// A byte position: ASCII digits only; more than `u64` holds means "past any end".
fn position(digits: &str) -> Option<u64> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(digits.parse::<u64>().unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range(None, 10), RangeRequest::Whole);
        assert_eq!(parse_range(Some("bytes=0-4"), 10), RangeRequest::Part(0, 5));
        assert_eq!(parse_range(Some("bytes=5-"), 10), RangeRequest::Part(5, 10));
        assert_eq!(parse_range(Some("bytes=-3"), 10), RangeRequest::Part(7, 10));
        assert_eq!(
            parse_range(Some("bytes=8-100"), 10),
            RangeRequest::Part(8, 10)
        );
        assert_eq!(
            parse_range(Some("bytes=10-"), 10),
            RangeRequest::Unsatisfiable
        );
        assert_eq!(parse_range(Some("bytes=0-1,4-5"), 10), RangeRequest::Whole);
        assert_eq!(parse_range(Some("bytes=5-2"), 10), RangeRequest::Whole);
        assert_eq!(parse_range(Some("items=0-1"), 10), RangeRequest::Whole);
        // Overflow: clamped to the end, never wrapped (206 of 0 bytes, or a panic, before).
        let max = u64::MAX;
        assert_eq!(
            parse_range(Some(&format!("bytes=0-{max}")), 10),
            RangeRequest::Part(0, 10)
        );
        assert_eq!(
            parse_range(Some(&format!("bytes=5-{max}")), 10),
            RangeRequest::Part(5, 10)
        );
        assert_eq!(
            parse_range(Some("bytes=2-99999999999999999999999"), 10),
            RangeRequest::Part(2, 10)
        );
        assert_eq!(
            parse_range(Some("bytes=99999999999999999999999-"), 10),
            RangeRequest::Unsatisfiable
        );
        assert_eq!(
            parse_range(Some(&format!("bytes=-{max}")), 10),
            RangeRequest::Part(0, 10)
        );
        assert_eq!(parse_range(Some("bytes=+1-2"), 10), RangeRequest::Whole);
    }

    proptest::proptest! {
        #[test]
        fn any_header_gives_a_range_inside_the_file(header in "\\PC{0,40}", digits in "[0-9]{0,25}", size in 0u64..=u64::MAX) {
            for header in [header.clone(), format!("bytes={digits}-"), format!("bytes=-{digits}"), format!("bytes={digits}-{header}")] {
                if let RangeRequest::Part(start, end) = parse_range(Some(&header), size) {
                    proptest::prop_assert!(start < end && end <= size, "{header:?} {size}: {start}..{end}");
                }
            }
        }
    }
}
