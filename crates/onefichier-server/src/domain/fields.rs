//! Checks of the values a caller sends (names, passwords, dates, e-mail addresses), each
//! refusal naming the field.

use crate::error::{ApiError, ApiResult};
use onefichier_protocol::{date, ids};

/// Checks a name, naming the field in the refusal.
pub(crate) fn check_name(field: &str, name: &str) -> ApiResult<()> {
    ids::check_name(name).map_err(|e| ApiError::invalid(format!("{field}: {e}")))
}

/// Checks a password's length (6 characters at least, as the service requires).
pub(crate) fn check_password(field: &str, pass: &str) -> ApiResult<()> {
    if pass.chars().count() < 6 {
        return Err(ApiError::invalid(format!(
            "{field} must have at least 6 characters"
        )));
    }
    if pass.len() > 256 {
        return Err(ApiError::invalid(format!(
            "{field} is longer than 256 bytes"
        )));
    }
    Ok(())
}

/// Parses an API date field.
pub(crate) fn parse_date(field: &str, value: Option<&str>) -> ApiResult<Option<i64>> {
    value
        .map(|v| date::parse_unix(v).map_err(|e| ApiError::invalid(format!("{field}: {e}"))))
        .transpose()
}

/// A light e-mail shape check: something@something.tld, no spaces.
pub(crate) fn looks_like_email(email: &str) -> bool {
    email.len() <= 254
        && !email.chars().any(char::is_whitespace)
        && email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
}
