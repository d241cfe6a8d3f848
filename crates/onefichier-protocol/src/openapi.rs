//! OpenAPI schemas for the types whose wire form is not their Rust shape (feature `openapi`).
//! Each documents the one form the server sends; decoders accept more (see [`crate::lenient`]).

use crate::lenient::{Flag, StrFlag};
use crate::user::Offer;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::{PartialSchema, ToSchema};

fn enumeration(kind: Type, values: &[serde_json::Value], description: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(kind)
        .enum_values(Some(values.iter().cloned()))
        .description(Some(description))
        .into()
}

impl PartialSchema for Flag {
    fn schema() -> RefOr<Schema> {
        enumeration(
            Type::Integer,
            &[0.into(), 1.into()],
            "0 or 1 (decoders also take \"0\", \"1\", booleans and null)",
        )
    }
}

impl ToSchema for Flag {}

impl PartialSchema for StrFlag {
    fn schema() -> RefOr<Schema> {
        enumeration(Type::String, &["0".into(), "1".into()], "\"0\" or \"1\"")
    }
}

impl ToSchema for StrFlag {}

impl PartialSchema for Offer {
    fn schema() -> RefOr<Schema> {
        enumeration(
            Type::String,
            &["0".into(), "1".into(), "2".into(), "3".into()],
            "offer: \"0\" free, \"1\" Premium, \"2\" Access, \"3\" Premium GOLD",
        )
    }
}

impl ToSchema for Offer {}
