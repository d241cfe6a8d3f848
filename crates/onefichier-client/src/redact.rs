//! URLs that carry tokens (direct download URLs), shown without the token.

use std::fmt;

/// A URL whose `Display` and `Debug` hide everything after the host: the path and query of a
/// direct download URL are its token.
#[derive(Clone, PartialEq, Eq)]
pub struct RedactedUrl(String);

impl RedactedUrl {
    /// Wraps a URL.
    pub fn new(url: impl Into<String>) -> Self {
        Self(url.into())
    }

    /// The full URL, token included: for sending, never for showing.
    pub fn expose(&self) -> &str {
        &self.0
    }

    fn shown(&self) -> String {
        match self.0.find("://") {
            Some(scheme_end) => {
                let rest = &self.0[scheme_end + 3..];
                let host_end = rest.find(['/', '?']).unwrap_or(rest.len());
                let tail = if host_end < rest.len() { "/…" } else { "" };
                format!("{}{tail}", &self.0[..scheme_end + 3 + host_end])
            }
            None => "…".to_owned(),
        }
    }
}

impl fmt::Display for RedactedUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown())
    }
}

impl fmt::Debug for RedactedUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RedactedUrl({})", self.shown())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_hidden() {
        let url = RedactedUrl::new("https://a-12.1fichier.com/dl/SECRETTOKEN");
        assert_eq!(url.to_string(), "https://a-12.1fichier.com/…");
        assert!(!format!("{url:?}").contains("SECRET"));
        assert_eq!(url.expose(), "https://a-12.1fichier.com/dl/SECRETTOKEN");
    }
}
