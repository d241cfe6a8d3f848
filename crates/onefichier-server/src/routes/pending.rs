//! Endpoints whose bytes-side (upload node, download node, background fetches, antivirus) is not
//! built yet. They sit behind the same authentication and limits as the others and answer an
//! honest "Not implemented by this server #501" instead of pretending.

use crate::error::ApiError;
use onefichier_protocol::ErrorCode;

/// `download/get_token.cgi`.
pub(crate) async fn get_token() -> ApiError {
    ApiError::detail(ErrorCode::NotImplemented, "download/get_token.cgi")
}

/// `upload/get_upload_server.cgi`.
pub(crate) async fn get_upload_server() -> ApiError {
    ApiError::detail(ErrorCode::NotImplemented, "upload/get_upload_server.cgi")
}

/// `file/scan.cgi`.
pub(crate) async fn scan() -> ApiError {
    ApiError::detail(ErrorCode::NotImplemented, "file/scan.cgi")
}

/// `remote/*.cgi`.
pub(crate) async fn remote() -> ApiError {
    ApiError::detail(ErrorCode::NotImplemented, "remote uploads")
}
