//! Tolerant decoders and exact encoders for the API's loosely typed values.
//!
//! The live service sends flags as `0`/`1`, sometimes as `"0"`/`"1"`, and clients send `null`
//! for fields they leave unset. Decoding accepts all of those; encoding emits the one form the
//! reference documents for each field.

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;

/// A boolean that travels as the integer `0` or `1`.
///
/// Decodes from `0`/`1`, `"0"`/`"1"`, `true`/`false` and `null` (false).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Flag(pub bool);

/// A boolean that travels as the string `"0"` or `"1"` (several `user/info` fields).
///
/// Decodes from the same forms as [`Flag`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct StrFlag(pub bool);

impl From<bool> for Flag {
    fn from(value: bool) -> Self {
        Self(value)
    }
}

impl From<bool> for StrFlag {
    fn from(value: bool) -> Self {
        Self(value)
    }
}

impl Serialize for Flag {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u8(u8::from(self.0))
    }
}

impl Serialize for StrFlag {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(if self.0 { "1" } else { "0" })
    }
}

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Self(deserializer.deserialize_any(FlagVisitor)?))
    }
}

impl<'de> Deserialize<'de> for StrFlag {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Self(deserializer.deserialize_any(FlagVisitor)?))
    }
}

struct FlagVisitor;

impl Visitor<'_> for FlagVisitor {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("0, 1, \"0\", \"1\", a boolean or null")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<bool, E> {
        Ok(v)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<bool, E> {
        match v {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(E::invalid_value(de::Unexpected::Unsigned(v), &self)),
        }
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<bool, E> {
        match v {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(E::invalid_value(de::Unexpected::Signed(v), &self)),
        }
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
        match v.trim() {
            "" | "0" => Ok(false),
            "1" => Ok(true),
            _ => Err(E::invalid_value(de::Unexpected::Str(v), &self)),
        }
    }

    fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_none<E: de::Error>(self) -> Result<bool, E> {
        Ok(false)
    }
}

/// Decodes an integer sent as a number, a numeric string, or `null` (as `None`).
pub fn de_opt_int<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    deserializer
        .deserialize_any(IntVisitor)?
        .map(|v| i64::try_from(v).map_err(|_| de::Error::custom(format!("{v} is out of range"))))
        .transpose()
}

/// Decodes an integer sent as a number or a numeric string; `null` becomes 0.
pub fn de_int<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    Ok(de_opt_int(deserializer)?.unwrap_or(0))
}

/// Decodes a non-negative integer sent as a number or a numeric string; `null` becomes 0.
pub fn de_u64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    Ok(de_opt_u64(deserializer)?.unwrap_or(0))
}

/// Decodes an optional non-negative integer (number, numeric string or `null`).
pub fn de_opt_u64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    deserializer
        .deserialize_any(IntVisitor)?
        .map(|v| {
            u64::try_from(v).map_err(|_| de::Error::custom(format!("expected a size, got {v}")))
        })
        .transpose()
}

/// Reads any integer form into an `i128`, wide enough for both `i64` and `u64` fields.
struct IntVisitor;

impl Visitor<'_> for IntVisitor {
    type Value = Option<i128>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an integer, a numeric string or null")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(i128::from(v)))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(i128::from(v)))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        if v.fract() == 0.0 && v.abs() < 9.0e15 {
            #[allow(clippy::cast_possible_truncation)]
            Ok(Some(v as i128))
        } else {
            Err(E::invalid_value(de::Unexpected::Float(v), &self))
        }
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        let trimmed = v.trim();
        if trimmed.is_empty() {
            return Ok(None);
        }
        trimmed
            .parse()
            .map(Some)
            .map_err(|_| E::invalid_value(de::Unexpected::Str(v), &self))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// Encodes an integer as a JSON string of digits (end.pl sizes, some user/info fields).
pub fn ser_int_as_string<S: Serializer>(value: &u64, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(value)
}

/// Decodes a string that may be `null` or missing (as the empty string).
pub fn de_string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    Ok(Option::<StringOrNumber>::deserialize(deserializer)?
        .map(|s| s.0)
        .unwrap_or_default())
}

/// A string that some clients send as a number (e.g. `remote/info`'s id, CDN credits).
struct StringOrNumber(String);

impl<'de> Deserialize<'de> for StringOrNumber {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = StringOrNumber;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or a number")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(StringOrNumber(v.to_owned()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(StringOrNumber(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(StringOrNumber(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Ok(StringOrNumber(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(StringOrNumber(u8::from(v).to_string()))
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// Decodes an optional list that may arrive as `null`, `0` or a JSON array.
///
/// `folder/share.cgi` documents `"shares": 0` as "remove every share"; other lists are
/// sometimes sent as `null` by clients that leave them unset.
pub fn de_list<'de, D, T>(deserializer: D) -> Result<Option<Vec<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    match serde_json::Value::deserialize(deserializer)? {
        serde_json::Value::Null => Ok(None),
        serde_json::Value::Array(items) => items
            .into_iter()
            .map(serde_json::from_value)
            .collect::<Result<Vec<T>, _>>()
            .map(Some)
            .map_err(de::Error::custom),
        serde_json::Value::Number(n) if n.as_u64() == Some(0) => Ok(Some(Vec::new())),
        serde_json::Value::String(s) if s.is_empty() || s == "0" => Ok(Some(Vec::new())),
        other => Err(de::Error::custom(format!("expected a list, got {other}"))),
    }
}

/// Decodes a list that may arrive as `null`, `0` or a JSON array (`null` → empty).
pub fn de_vec<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    Ok(de_list(deserializer)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Holder {
        #[serde(default)]
        flag: Flag,
        #[serde(default, deserialize_with = "de_opt_int")]
        int: Option<i64>,
        #[serde(default, deserialize_with = "de_string")]
        text: String,
    }

    fn holder(json: &str) -> Holder {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn flags_accept_every_form_clients_send() {
        for (json, want) in [
            (r#"{"flag":1}"#, true),
            (r#"{"flag":"1"}"#, true),
            (r#"{"flag":true}"#, true),
            (r#"{"flag":0}"#, false),
            (r#"{"flag":"0"}"#, false),
            (r#"{"flag":null}"#, false),
            (r#"{}"#, false),
        ] {
            assert_eq!(holder(json).flag.0, want, "{json}");
        }
        assert!(serde_json::from_str::<Holder>(r#"{"flag":2}"#).is_err());
    }

    #[test]
    fn ints_accept_numbers_strings_and_null() {
        assert_eq!(holder(r#"{"int":12}"#).int, Some(12));
        assert_eq!(holder(r#"{"int":"12"}"#).int, Some(12));
        assert_eq!(holder(r#"{"int":null}"#).int, None);
        assert_eq!(holder(r#"{"int":-1}"#).int, Some(-1));
        assert!(serde_json::from_str::<Holder>(r#"{"int":"x"}"#).is_err());
    }

    #[test]
    fn strings_accept_null_and_numbers() {
        assert_eq!(holder(r#"{"text":null}"#).text, "");
        assert_eq!(holder(r#"{"text":5}"#).text, "5");
    }

    #[test]
    fn flags_encode_as_documented() {
        assert_eq!(serde_json::to_string(&Flag(true)).unwrap(), "1");
        assert_eq!(serde_json::to_string(&StrFlag(false)).unwrap(), "\"0\"");
    }
}
