//! The OpenAPI 3.1 document of `/v1`, served at `/v1/openapi.json`.
//!
//! Every schema comes from the protocol crate's wire types (`utoipa::ToSchema`, feature
//! `openapi`), the same types the handlers decode and encode; the table below names, for each
//! endpoint, its request and answer types. A test checks that the table and the router list the
//! same paths, and schemathesis checks the running server against the document.

use onefichier_protocol::{
    CATALOGUE, KoResponse, StatusResponse, download, file, folder, ftp, remote, upload, user,
    vouchers,
};
use std::collections::BTreeSet;
use utoipa::ToSchema;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, PathItem, PathsBuilder};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::response::{ResponseBuilder, ResponsesBuilder};
use utoipa::openapi::schema::{ComponentsBuilder, Schema};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, RefOr, Required, ServerBuilder,
};

/// One `/v1` endpoint: its path, what it does, and its wire types.
struct Endpoint {
    path: &'static str,
    summary: &'static str,
    /// The request body's schema name (`None`: the body is an empty object, `{}`).
    request: Option<String>,
    response: String,
    /// Whether an API key is required (`get_upload_server` takes one optionally).
    keyed: bool,
    /// Whether GET is accepted as well as POST.
    get_too: bool,
}

/// Collects schemas of the types named by the endpoints, with everything they refer to.
#[derive(Default)]
struct Schemas(Vec<(String, RefOr<Schema>)>);

impl Schemas {
    fn add<T: ToSchema>(&mut self) -> String {
        let name = T::name().into_owned();
        self.0.push((name.clone(), T::schema()));
        T::schemas(&mut self.0);
        name
    }
}

fn endpoints(schemas: &mut Schemas) -> Vec<Endpoint> {
    macro_rules! keyed {
        ($path:literal, $summary:literal, $req:ty, $res:ty) => {
            Endpoint {
                path: $path,
                summary: $summary,
                request: Some(schemas.add::<$req>()),
                response: schemas.add::<$res>(),
                keyed: true,
                get_too: false,
            }
        };
        ($path:literal, $summary:literal, $res:ty) => {
            Endpoint {
                path: $path,
                summary: $summary,
                request: None,
                response: schemas.add::<$res>(),
                keyed: true,
                get_too: false,
            }
        };
    }
    vec![
        keyed!(
            "/download/get_token.cgi",
            "A direct download URL, valid 5 minutes",
            download::GetTokenRequest,
            download::GetTokenResponse
        ),
        keyed!(
            "/file/ls.cgi",
            "The files of a folder (or of the whole account)",
            file::LsRequest,
            file::LsResponse
        ),
        keyed!(
            "/file/info.cgi",
            "One file's details",
            file::InfoRequest,
            file::FileInfo
        ),
        keyed!(
            "/file/scan.cgi",
            "Antivirus scan of a file",
            file::ScanRequest,
            file::ScanResponse
        ),
        keyed!(
            "/file/rm.cgi",
            "Removes files",
            file::RmRequest,
            file::RmResponse
        ),
        keyed!(
            "/file/mv.cgi",
            "Moves files, optionally renaming one",
            file::MvRequest,
            file::MvResponse
        ),
        keyed!(
            "/file/rename.cgi",
            "Renames files",
            file::RenameRequest,
            file::RenameResponse
        ),
        keyed!(
            "/file/cp.cgi",
            "Copies files (own or others') into a folder",
            file::CpRequest,
            file::CpResponse
        ),
        keyed!(
            "/file/chattr.cgi",
            "Changes files' attributes",
            file::ChattrRequest,
            file::ChattrResponse
        ),
        keyed!(
            "/folder/ls.cgi",
            "A folder and its sub-folders (and files on request)",
            folder::LsRequest,
            folder::LsResponse
        ),
        keyed!(
            "/folder/mkdir.cgi",
            "Creates a folder",
            folder::MkdirRequest,
            folder::MkdirResponse
        ),
        keyed!(
            "/folder/share.cgi",
            "Shares a folder publicly or with other users",
            folder::ShareRequest,
            folder::ShareResponse
        ),
        keyed!(
            "/folder/mv.cgi",
            "Moves and renames a folder",
            folder::MvRequest,
            folder::MvResponse
        ),
        keyed!(
            "/folder/rm.cgi",
            "Removes a folder and what it holds",
            folder::RmRequest,
            StatusResponse
        ),
        keyed!(
            "/user/info.cgi",
            "The account; any field present sets that preference",
            user::InfoRequest,
            user::UserInfo
        ),
        keyed!(
            "/ftp/process.cgi",
            "Imports what the FTP users uploaded",
            StatusResponse
        ),
        keyed!(
            "/ftp/users/ls.cgi",
            "The account's FTP users",
            ftp::UsersLsResponse
        ),
        keyed!(
            "/ftp/users/add.cgi",
            "Adds an FTP user",
            ftp::UserAddRequest,
            StatusResponse
        ),
        keyed!(
            "/ftp/users/rm.cgi",
            "Removes an FTP user",
            ftp::UserRmRequest,
            StatusResponse
        ),
        keyed!("/remote/ls.cgi", "Remote-upload jobs", remote::LsResponse),
        keyed!(
            "/remote/info.cgi",
            "One remote-upload job",
            remote::InfoRequest,
            remote::Info
        ),
        keyed!(
            "/remote/request.cgi",
            "Starts a remote upload",
            remote::RequestRequest,
            remote::RequestResponse
        ),
        keyed!(
            "/vouchers/ls.cgi",
            "The vouchers a reseller holds",
            vouchers::LsResponse
        ),
        keyed!(
            "/vouchers/check.cgi",
            "Checks a voucher",
            vouchers::CheckRequest,
            vouchers::CheckResponse
        ),
        keyed!(
            "/vouchers/use.cgi",
            "Uses a voucher for an account",
            vouchers::UseRequest,
            StatusResponse
        ),
        Endpoint {
            path: "/upload/get_upload_server.cgi",
            summary: "An upload node and a single-use upload id (key optional)",
            request: None,
            response: schemas.add::<upload::UploadServer>(),
            keyed: false,
            get_too: true,
        },
    ]
}

/// The paths the document describes, for the test that compares them with the router.
pub fn documented_paths() -> BTreeSet<&'static str> {
    endpoints(&mut Schemas::default())
        .iter()
        .map(|e| e.path)
        .collect()
}

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
    let ko = schemas.add::<KoResponse>();
    let endpoints = endpoints(&mut schemas);
    let mut paths = PathsBuilder::new();
    for endpoint in &endpoints {
        let request = RequestBodyBuilder::new()
            .content(
                "application/json",
                match &endpoint.request {
                    Some(schema) => json_content(schema),
                    None => ContentBuilder::new()
                        .schema(Some(utoipa::openapi::ObjectBuilder::new()))
                        .build(),
                },
            )
            .required(Some(Required::True))
            .description(Some("JSON; `Content-Type: application/json` is required"))
            .build();
        let mut responses = ResponsesBuilder::new().response(
            "200",
            ResponseBuilder::new()
                .description("OK")
                .content("application/json", json_content(&endpoint.response)),
        );
        for status in ko_statuses(endpoint.keyed) {
            responses = responses.response(
                status.to_string(),
                ResponseBuilder::new()
                    .description("KO: the message ends with the catalogue's #code")
                    .content("application/json", json_content(&ko)),
            );
        }
        let mut operation = OperationBuilder::new()
            .summary(Some(endpoint.summary))
            .operation_id(Some(
                endpoint
                    .path
                    .trim_start_matches('/')
                    .replace(['/', '.'], "_"),
            ))
            .request_body(Some(request))
            .responses(responses.build());
        if endpoint.keyed {
            operation =
                operation.security(SecurityRequirement::new("api_key", Vec::<String>::new()));
        }
        let operation = operation.build();
        let methods: &[HttpMethod] = if endpoint.get_too {
            &[HttpMethod::Post, HttpMethod::Get]
        } else {
            &[HttpMethod::Post]
        };
        paths = paths.path(
            endpoint.path,
            PathItem::from_http_methods(methods.iter().cloned(), operation),
        );
    }
    let components = ComponentsBuilder::new()
        .schemas_from_iter(schemas.0)
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
