//! The few HTML pages the service's website parts answer with (upload node errors, end.pl,
//! file and folder pages), which older clients scrape.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

/// Escapes text for HTML content and attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A page whose first `div.bloc2` carries `message`, as the upload node's pages do.
pub(crate) fn message_page(status: StatusCode, title: &str, message: &str) -> Response {
    let body = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{}</title></head>\
         <body><div class=\"bloc2\">{}</div></body></html>\n",
        escape(title),
        escape(message)
    );
    (status, Html(body)).into_response()
}

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
    fn sizes_and_escaping() {
        assert_eq!(human_size_fr(2), "2 o");
        assert_eq!(human_size_fr(1178), "1.15 Ko");
        assert_eq!(human_size_fr(3 * 1024 * 1024), "3 Mo");
        assert_eq!(escape("<a href='x'>&"), "&lt;a href=&#39;x&#39;&gt;&amp;");
    }
}
