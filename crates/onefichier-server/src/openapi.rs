//! The OpenAPI 3.1 document of `/v1`, served at `/v1/openapi.json`.
//!
//! Every path, summary and schema comes from the protocol crate's endpoint table
//! ([`Endpoint`]) and wire types (`utoipa::ToSchema`, feature `openapi`), the same table the
//! router is built from and the same types the handlers decode and encode; schemathesis checks
//! the running server against the document.

use onefichier_protocol::endpoint::{Schemas, schema};
use onefichier_protocol::{CATALOGUE, Endpoint, KoResponse};
use std::collections::BTreeSet;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, PathItem, PathsBuilder};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::response::{ResponseBuilder, ResponsesBuilder};
use utoipa::openapi::schema::ComponentsBuilder;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, RefOr, Required, ServerBuilder,
};

fn json_content(schema: &str) -> utoipa::openapi::Content {
    ContentBuilder::new()
        .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
            schema,
        ))))
        .build()
}

/// The KO answers an endpoint can give: every status of the error catalogue (and the overload
/// and flood refusals any request may meet), all of the `{"status":"KO","message"}` shape.
fn ko_statuses(keyed: bool) -> BTreeSet<u16> {
    let mut statuses: BTreeSet<u16> = CATALOGUE
        .iter()
        .map(|entry| entry.http_status)
        .filter(|status| *status >= 400)
        .collect();
    if !keyed {
        statuses.remove(&401);
    }
    statuses
}

/// The whole document.
pub fn document() -> OpenApi {
    let mut schemas = Schemas::default();
    let ko = schema::<KoResponse>(&mut schemas);
    let mut paths = PathsBuilder::new();
    for &endpoint in Endpoint::ALL {
        let (request, answer) = endpoint.schemas(&mut schemas);
        let keyed = endpoint.requires_key();
        let request = RequestBodyBuilder::new()
            .content("application/json", json_content(&request))
            .required(Some(Required::True))
            .description(Some("JSON; `Content-Type: application/json` is required"))
            .build();
        let mut responses = ResponsesBuilder::new().response(
            "200",
            ResponseBuilder::new()
                .description("OK")
                .content("application/json", json_content(&answer)),
        );
        for status in ko_statuses(keyed) {
            responses = responses.response(
                status.to_string(),
                ResponseBuilder::new()
                    .description("KO: the message ends with the catalogue's #code")
                    .content("application/json", json_content(&ko)),
            );
        }
        let mut operation = OperationBuilder::new()
            .summary(Some(endpoint.summary()))
            .operation_id(Some(endpoint.path().replace(['/', '.'], "_")))
            .request_body(Some(request))
            .responses(responses.build());
        if keyed {
            operation =
                operation.security(SecurityRequirement::new("api_key", Vec::<String>::new()));
        }
        let operation = operation.build();
        let methods: &[HttpMethod] = if endpoint.accepts_get() {
            &[HttpMethod::Post, HttpMethod::Get]
        } else {
            &[HttpMethod::Post]
        };
        paths = paths.path(
            format!("/{}", endpoint.path()),
            PathItem::from_http_methods(methods.iter().cloned(), operation),
        );
    }
    let components = ComponentsBuilder::new()
        .schemas_from_iter(schemas)
        .security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An API key from the API Manager"))
                    .build(),
            ),
        )
        .build();
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("1fichier API v1 (1fichier-server)")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "The 1fichier API v1 as 1fichier-server speaks it. Every answer is JSON with \
                     `status`; a refusal is `{\"status\":\"KO\",\"message\":\"… #NNN\"}`. Decoders \
                     are lenient (flags as 0/1, \"0\"/\"1\" or booleans); this document gives the \
                     canonical forms.",
                ))
                .build(),
        )
        .servers(Some([ServerBuilder::new().url("/v1").build()]))
        .paths(paths.build())
        .components(Some(components))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_is_json_with_every_schema_it_refers_to() {
        let json = serde_json::to_value(document()).unwrap();
        assert!(json["openapi"].as_str().unwrap().starts_with("3.1"));
        let text = json.to_string();
        let schemas = json["components"]["schemas"].as_object().unwrap();
        for reference in text.split("\"#/components/schemas/").skip(1) {
            let name = reference.split('"').next().unwrap();
            assert!(
                schemas.contains_key(name),
                "{name} is referred to but not defined"
            );
        }
    }
}
