//! What the service's pages print the way it does: sizes in French units.

/// A size in French units, as the service's pages show it: `2 o`, `1.15 Ko`, `3.2 Mo`.
pub(crate) fn human_size_fr(size: u64) -> String {
    const UNITS: [&str; 5] = ["Ko", "Mo", "Go", "To", "Po"];
    if size < 1024 {
        return format!("{size} o");
    }
    #[allow(clippy::cast_precision_loss)]
    let mut value = size as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    let text = format!("{value:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_in_french_units() {
        assert_eq!(human_size_fr(2), "2 o");
        assert_eq!(human_size_fr(1178), "1.15 Ko");
        assert_eq!(human_size_fr(3 * 1024 * 1024), "3 Mo");
    }
}
