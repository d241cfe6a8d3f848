//! Sizes as people read them. One rule per surface: decimal English units (MB = 10⁶ bytes)
//! wherever this project speaks for itself (the CLI, the account page), and the live service's
//! French binary units on the pages that third-party clients scrape (end.pl, file and folder
//! pages), which must read as the service's do.

/// Decimal English units: `512 B`, `1.2 kB`, `663.8 MB`.
pub fn human(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "kB", "MB", "GB", "TB", "PB"];
    #[allow(clippy::cast_precision_loss)]
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// French units, as the service's pages show sizes: `2 o`, `1.15 Ko`, `3.2 Mo` (1 Ko = 1024 o).
pub fn human_fr(size: u64) -> String {
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
    fn sizes_in_decimal_english_units() {
        assert_eq!(human(999), "999 B");
        assert_eq!(human(1_200), "1.2 kB");
        assert_eq!(human(663_800_000), "663.8 MB");
    }

    #[test]
    fn sizes_in_french_units() {
        assert_eq!(human_fr(2), "2 o");
        assert_eq!(human_fr(1178), "1.15 Ko");
        assert_eq!(human_fr(3 * 1024 * 1024), "3 Mo");
    }
}
