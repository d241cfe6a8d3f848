//! The envelope every v1 answer shares: `status` plus either the endpoint's fields or `message`.

use serde::{Deserialize, Deserializer, Serialize};

/// `"OK"` or `"KO"`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Status {
    /// Success.
    #[default]
    #[serde(rename = "OK")]
    Ok,
    /// Failure; `message` says why.
    #[serde(rename = "KO")]
    Ko,
}

impl<'de> Deserialize<'de> for Status {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Anything but "KO" counts as success: some answers carry no status at all, and clients
        // of the live service treat a missing status as OK.
        let text = Option::<String>::deserialize(deserializer)?;
        Ok(match text {
            Some(t) if t.eq_ignore_ascii_case("KO") => Self::Ko,
            _ => Self::Ok,
        })
    }
}

/// A failure answer: `{"status":"KO","message":"… #NNN"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KoResponse {
    /// Always [`Status::Ko`] when sent.
    pub status: Status,
    /// The error text, ending with ` #NNN`.
    #[serde(default, deserialize_with = "crate::lenient::de_string")]
    pub message: String,
}

impl KoResponse {
    /// Builds the answer for a catalogue entry.
    pub fn new(code: crate::ErrorCode, detail: Option<&str>) -> Self {
        Self {
            status: Status::Ko,
            message: code.message(detail),
        }
    }
}

/// An answer that carries only `status` and an optional `message` (`folder/rm`, `ftp/*`, …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StatusResponse {
    /// `OK` or `KO`.
    #[serde(default = "ok")]
    pub status: Status,
    /// Information or error text.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "de_opt_string"
    )]
    pub message: Option<String>,
}

impl StatusResponse {
    /// `{"status":"OK"}` with an optional message.
    pub fn ok(message: Option<String>) -> Self {
        Self {
            status: Status::Ok,
            message,
        }
    }
}

pub(crate) fn ok() -> Status {
    Status::Ok
}

pub(crate) fn de_opt_string<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    let text = crate::lenient::de_string(deserializer)?;
    Ok((!text.is_empty()).then_some(text))
}

/// Looks at a decoded JSON answer and returns its KO message, if it is a failure.
///
/// A missing `status` is success, as clients of the live service assume.
pub fn ko_message(value: &serde_json::Value) -> Option<String> {
    let object = value.as_object()?;
    let status = object
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("status"))
        .and_then(|(_, v)| v.as_str())?;
    if !status.eq_ignore_ascii_case("KO") {
        return None;
    }
    let message = object
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("message"))
        .and_then(|(_, v)| v.as_str())
        .unwrap_or_default();
    Some(message.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ko_detection_is_case_insensitive_and_ignores_missing_status() {
        let ko = serde_json::json!({"message":"Flood detected: IP Locked #374","status":"KO"});
        assert_eq!(ko_message(&ko).unwrap(), "Flood detected: IP Locked #374");
        let go_style = serde_json::json!({"Status":"KO","Message":"No such user #93"});
        assert_eq!(ko_message(&go_style).unwrap(), "No such user #93");
        assert_eq!(ko_message(&serde_json::json!({"url":"up2","id":"x"})), None);
        assert_eq!(ko_message(&serde_json::json!({"status":"OK"})), None);
    }

    #[test]
    fn ko_response_shape() {
        let ko = KoResponse::new(crate::ErrorCode::ResourceNotFound, None);
        assert_eq!(
            serde_json::to_string(&ko).unwrap(),
            r#"{"status":"KO","message":"Resource not found #469"}"#
        );
    }
}
