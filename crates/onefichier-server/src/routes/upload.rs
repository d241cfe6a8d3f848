//! Uploads: `upload/get_upload_server.cgi` (v1), and on the node `upload.cgi` and `end.pl`.

use crate::auth::{Caller, authenticate, bearer_value, key_still_valid};
use crate::domain::fields::check_password;
use crate::domain::links::link_url;
use crate::domain::uploads::{Content, new_file};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Peer, client_ip_from, is_json};
use crate::meta::{FileRecord, MetaError, NewBlob};
use crate::multipart::{BodyError, guarded};
use crate::secrets::random_id;
use crate::state::{AppState, now};
use crate::transfer::{StoreError, content_type_of, store_stream};
use axum::Json;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use futures::TryStreamExt;
use multer::{Field, Multipart};
use onefichier_protocol::ErrorCode;
use onefichier_protocol::ids::{self, UPLOAD_ID_LEN};
use onefichier_protocol::lenient::Flag;
use onefichier_protocol::size::human_fr as human_size_fr;
use onefichier_protocol::upload::{EndLink, EndReport, UploadServer, form};
use std::collections::HashMap;
use std::net::IpAddr;

/// Largest whole upload request (the service's limit is 500 GB).
const MAX_REQUEST: u64 = 500_000_000_000;
/// Largest text field of the upload form (`message`, 2,000 characters, is the longest).
const MAX_TEXT_FIELD: usize = 16 * 1024;
/// Most text fields in one upload (the form has ten).
const MAX_TEXT_FIELDS: usize = 32;
/// Most bytes of text fields in one upload, all together.
const MAX_TEXT_TOTAL: usize = 64 * 1024;
/// Longest piece of client input echoed back in a refusal.
const MAX_ECHO: usize = 80;
/// An upload id must be used within a day of being handed out.
const UPLOAD_ID_TTL: i64 = 86_400;
/// Longest a refused upload is read on before its 413 goes out (see [`linger`]).
const LINGER: std::time::Duration = std::time::Duration::from_secs(5);
/// Name of the folder that receives uploads sent to another user (`user` field).
const INCOMING_FOLDER: &str = "Incoming";
/// The service's message when a request carries no file.
const NO_FILE: &str = "Pas de fichier trouvé dans l'envoi";

/// `upload/get_upload_server.cgi`: GET or POST, JSON content type required, key optional (but
/// checked when sent). Hands out a node and a fresh single-use id.
pub(crate) async fn get_upload_server(
    State(state): State<AppState>,
    Peer(peer): Peer,
    headers: HeaderMap,
) -> ApiResult<Json<UploadServer>> {
    if !is_json(&headers) {
        return Err(ApiError::new(ErrorCode::ContentTypeNotJson));
    }
    if let Some(token) = bearer_value(&headers) {
        let ip = client_ip_from(&headers, peer, &state.config().trusted_proxies);
        authenticate(&state, Some(token), ip).await?;
    }
    let id = random_id(UPLOAD_ID_LEN, false);
    state.repo().create_upload_session(&id, now()).await?;
    Ok(Json(UploadServer {
        url: state.next_upload_host().to_owned(),
        id,
    }))
}

/// `?id=` of upload.cgi, `?xid=` of end.pl.
#[derive(serde::Deserialize)]
pub(crate) struct UploadQuery {
    #[serde(default)]
    id: String,
    #[serde(default)]
    xid: String,
}

struct StoredPart {
    blob: NewBlob,
    name: String,
    content_type: String,
}

/// Node-side refusals: an HTML page whose `div.bloc2` says what went wrong.
fn refuse(status: StatusCode, message: &str) -> Response {
    crate::web::plain_message(status, "Upload", message)
}

/// `POST /upload.cgi?id=ID`: the multipart body is streamed straight into staged blobs, hashed
/// on the way; the metadata of every file commits in one step after the last byte.
pub(crate) async fn upload(
    State(state): State<AppState>,
    Query(query): Query<UploadQuery>,
    Peer(peer): Peer,
    slot: Option<axum::Extension<crate::telemetry::AccountSlot>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let ip = client_ip_from(&headers, peer, &state.config().trusted_proxies);
    let caller = match uploader(&state, &headers, ip).await {
        Ok(caller) => caller,
        Err(refusal) => return refusal,
    };
    if let (Some(caller), Some(axum::Extension(slot))) = (&caller, &slot) {
        slot.set(caller.account.id);
    }
    let multipart = match multipart_body(&state, &headers, body) {
        Ok(multipart) => multipart,
        Err(refusal) => return *refusal,
    };
    if let Err(refusal) = claim_upload_id(&state, &query.id).await {
        return refusal;
    }
    let mut parts = Vec::new();
    let outcome = receive(&state, multipart, &mut parts).await;
    let result = match outcome {
        Ok(fields) => commit(&state, (caller.as_ref(), ip), &query.id, fields, &parts).await,
        Err(response) => Err(response),
    };
    match result {
        Ok(()) => {
            let location = format!("/end.pl?xid={}", query.id);
            (
                StatusCode::FOUND,
                [(header::LOCATION, location)],
                Html(
                    "<!DOCTYPE html>\n<html><body><div class=\"bloc2\">Moved ! Temporary Redirect</div></body></html>\n",
                ),
            )
                .into_response()
        }
        Err(response) => {
            // Nothing of a refused upload is kept.
            let ids: Vec<String> = parts.into_iter().map(|p| p.blob.id).collect();
            state.free_blobs(&ids).await;
            response
        }
    }
}

/// Who uploads: the key's account (whose scope must allow uploads), or nobody without one.
async fn uploader(
    state: &AppState,
    headers: &HeaderMap,
    ip: IpAddr,
) -> Result<Option<Caller>, Response> {
    match bearer_value(headers) {
        Some(token) => authenticate(state, Some(token), ip)
            .await
            .and_then(|caller| {
                caller
                    .require(onefichier_protocol::endpoint::NODE_UPLOAD)
                    .map(|()| Some(caller))
            })
            .map_err(IntoResponse::into_response),
        None if headers.contains_key(header::AUTHORIZATION) => Err(refuse(
            StatusCode::UNAUTHORIZED,
            "Only API keys are accepted here: send Authorization: Bearer KEY",
        )),
        None => Ok(None),
    }
}

/// The body as a multipart stream (cut when it stops arriving), refused before a byte is read
/// when it says it is over 500 GB or is not multipart.
fn multipart_body(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<Multipart<'static>, Box<Response>> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > MAX_REQUEST) {
        let refusal = ApiError::detail(ErrorCode::FileTooLarge, "the request is over 500 GB");
        return Err(Box::new(refusal.into_response()));
    }
    let boundary = match headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(multer::parse_boundary)
    {
        Some(Ok(boundary)) => boundary,
        _ => {
            return Err(Box::new(refuse(
                StatusCode::BAD_REQUEST,
                "Send the files as multipart/form-data with a boundary",
            )));
        }
    };
    let stream = guarded(body, &boundary, state.config().body_idle_timeout);
    Ok(Multipart::new(stream, boundary))
}

/// The folder a key's upload goes to: the form's `did` when it is one of the account's
/// folders, else the root (as the service does), inside the folder the key is confined to.
async fn own_destination(
    state: &AppState,
    caller: &Caller,
    fields: &HashMap<String, String>,
) -> Result<i64, Response> {
    let did = fields
        .get(form::DID)
        .and_then(|d| d.trim().parse::<i64>().ok())
        .unwrap_or(0);
    let exists = did > 0
        && state
            .repo()
            .folder(caller.account.id, did)
            .await
            .map_err(|e| ApiError::from(e).into_response())?
            .is_some();
    let folder = if exists { did } else { 0 };
    caller
        .check_folder(state, folder)
        .await
        .map_err(IntoResponse::into_response)?;
    Ok(folder)
}

/// The account's folder for what others send it, made on first use.
async fn incoming_folder(state: &AppState, account_id: i64) -> Result<i64, MetaError> {
    let find = async || {
        let folders = state.repo().sub_folders(account_id, 0).await?;
        Ok::<_, MetaError>(
            folders
                .into_iter()
                .find(|f| f.name == INCOMING_FOLDER)
                .map(|f| f.id),
        )
    };
    if let Some(id) = find().await? {
        return Ok(id);
    }
    match state
        .repo()
        .insert_folder(account_id, 0, INCOMING_FOLDER, now())
        .await
    {
        Ok(f) => Ok(f.id),
        // Created meanwhile by a concurrent upload.
        Err(MetaError::Conflict) => Ok(find().await?.unwrap_or(0)),
        Err(e) => Err(e),
    }
}

/// Uses up an upload id from `get_upload_server.cgi` (once, within its lifetime).
async fn claim_upload_id(state: &AppState, id: &str) -> Result<(), Response> {
    if !ids::is_upload_id(id) {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "Invalid upload id: ask get_upload_server.cgi for one",
        ));
    }
    let now = now();
    match state
        .repo()
        .claim_upload_session(id, now - UPLOAD_ID_TTL, now)
        .await
    {
        Ok(true) => Ok(()),
        Ok(false) => Err(refuse(
            StatusCode::BAD_REQUEST,
            "Unknown, expired or already used upload id: ask get_upload_server.cgi for a new one",
        )),
        Err(e) => Err(ApiError::from(e).into_response()),
    }
}

/// Reads every field: files into blobs (appended to `parts` as soon as stored, so the caller
/// can free them on failure), text fields into a map.
async fn receive(
    state: &AppState,
    mut multipart: Multipart<'_>,
    parts: &mut Vec<StoredPart>,
) -> Result<HashMap<String, String>, Response> {
    let mut fields = HashMap::new();
    let mut text_bytes = 0;
    let limit = state.config().max_file_size;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => return Err(malformed(&e)),
        };
        let name = field.name().unwrap_or_default().to_owned();
        if name == form::FILE || name == "file" {
            if parts.len() >= form::MAX_FILES {
                return Err(refuse(
                    StatusCode::BAD_REQUEST,
                    &format!("At most {} files per upload", form::MAX_FILES),
                ));
            }
            match store_part(state, field, limit).await {
                Ok(part) => parts.push(part),
                Err(refusal) => {
                    if refusal.status() == StatusCode::PAYLOAD_TOO_LARGE {
                        linger(&mut multipart).await;
                    }
                    return Err(refusal);
                }
            }
        } else {
            if fields.len() >= MAX_TEXT_FIELDS {
                return Err(refuse(
                    StatusCode::BAD_REQUEST,
                    &format!("At most {MAX_TEXT_FIELDS} form fields per upload"),
                ));
            }
            let text = read_text(field).await?;
            text_bytes += name.len() + text.len();
            if text_bytes > MAX_TEXT_TOTAL {
                return Err(refuse(
                    StatusCode::BAD_REQUEST,
                    &format!("The form fields are over {MAX_TEXT_TOTAL} bytes in all"),
                ));
            }
            fields.insert(name, text);
        }
    }
    Ok(fields)
}

/// Reads what is left of a request refused as too large, for [`LINGER`] at most, before the
/// refusal is sent: a server that answers and closes while the client is still sending makes
/// the client's next write meet a reset, and the client never reads the 413 (it takes the
/// failure for a broken connection and sends the whole file again). As nginx's lingering close.
async fn linger(multipart: &mut Multipart<'_>) {
    let drain = async {
        while let Ok(Some(mut field)) = multipart.next_field().await {
            while let Ok(Some(_)) = field.chunk().await {}
        }
    };
    let _ = tokio::time::timeout(LINGER, drain).await;
}

/// A refusal for a body multer could not read; the reason when it was the guard's.
fn malformed(error: &multer::Error) -> Response {
    let guard = match error {
        multer::Error::StreamReadFailed(inner) => inner.downcast_ref::<BodyError>(),
        _ => None,
    };
    match guard {
        Some(BodyError::Stalled(_)) => refuse(StatusCode::REQUEST_TIMEOUT, &guard_message(guard)),
        Some(_) => refuse(StatusCode::BAD_REQUEST, &guard_message(guard)),
        None => refuse(
            StatusCode::BAD_REQUEST,
            &format!("Malformed upload: {}", shorten(&error.to_string())),
        ),
    }
}

fn guard_message(error: Option<&BodyError>) -> String {
    error.map_or_else(String::new, |e| format!("Upload refused: {e}"))
}

/// At most [`MAX_ECHO`] characters of client input, for refusals.
fn shorten(text: &str) -> String {
    match text.char_indices().nth(MAX_ECHO) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

async fn store_part(
    state: &AppState,
    field: Field<'_>,
    limit: u64,
) -> Result<StoredPart, Response> {
    let filename = field.file_name().unwrap_or_default().trim().to_owned();
    if let Err(e) = ids::check_name(&filename) {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            &format!("File name {:?} refused: {e}", shorten(&filename)),
        ));
    }
    let declared_type = field
        .content_type()
        .map(ToString::to_string)
        .filter(|t| t != "application/octet-stream" && !t.is_empty());
    let stream = field.map_err(std::io::Error::other);
    match store_stream(state, stream, limit).await {
        Ok(blob) => Ok(StoredPart {
            content_type: declared_type.unwrap_or_else(|| content_type_of(&filename)),
            blob,
            name: filename,
        }),
        Err(StoreError::TooLarge(limit)) => Err(ApiError::detail(
            ErrorCode::FileTooLarge,
            format!("{filename} is over {limit} bytes"),
        )
        .into_response()),
        Err(StoreError::Io(e)) => {
            // The request's own stream fails with multer's errors: the client's fault. Anything
            // else failed on this side (the store, the disk): a 5xx, never the client's.
            let sent_badly = e
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<multer::Error>());
            match sent_badly {
                Some(error @ multer::Error::StreamReadFailed(_)) => {
                    tracing::warn!(error = %e, "upload interrupted");
                    Err(malformed(error))
                }
                Some(_) => {
                    tracing::warn!(error = %e, "upload interrupted");
                    Err(refuse(
                        StatusCode::BAD_REQUEST,
                        "Ne peut ouvrir le fichier destination",
                    ))
                }
                None if e.kind() == std::io::ErrorKind::StorageFull => {
                    tracing::error!(error = %e, "no space left to store an upload");
                    Err(refuse(
                        StatusCode::INSUFFICIENT_STORAGE,
                        "No space left on the server: the file was not stored",
                    ))
                }
                None => {
                    tracing::error!(error = %e, "an upload could not be stored");
                    Err(refuse(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "The server could not store the file",
                    ))
                }
            }
        }
    }
}

async fn read_text(mut field: Field<'_>) -> Result<String, Response> {
    let mut text = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(|e| malformed(&e))? {
        text.extend_from_slice(&chunk);
        if text.len() > MAX_TEXT_FIELD {
            return Err(refuse(StatusCode::BAD_REQUEST, "A form field is too long"));
        }
    }
    String::from_utf8(text)
        .map_err(|_| refuse(StatusCode::BAD_REQUEST, "A form field is not UTF-8"))
}

/// Decides where the files go, checks the form, and commits blobs and files together.
async fn commit(
    state: &AppState,
    (caller, ip): (Option<&Caller>, IpAddr),
    upload_id: &str,
    fields: HashMap<String, String>,
    parts: &[StoredPart],
) -> Result<(), Response> {
    // A key revoked or rotated while its upload was streaming ends that upload: nothing of it
    // is stored (the caller frees the staged blobs).
    if let Some(caller) = caller
        && !key_still_valid(state, caller)
            .await
            .map_err(IntoResponse::into_response)?
    {
        return Err(ApiError::detail(
            ErrorCode::InvalidApiKey,
            "the key was revoked or rotated during the upload",
        )
        .into_response());
    }
    check_form(&fields, parts).map_err(|message| refuse(StatusCode::BAD_REQUEST, &message))?;
    let bad = |message: String| refuse(StatusCode::BAD_REQUEST, &message);
    let text = |key: &str| form_text(&fields, key);
    let pass_hash = match text(form::DPASS) {
        Some(pass) => {
            check_password("dpass", pass).map_err(IntoResponse::into_response)?;
            Some(state.passwords().hash(pass).await)
        }
        None => None,
    };
    let sent: i64 = parts.iter().map(|p| p.blob.size).sum();
    let (account, folder_id, incoming) = destination(state, (caller, ip), &fields, sent).await?;
    let domain = match text(form::DOMAIN) {
        Some(d) => d
            .parse::<i64>()
            .ok()
            .filter(|id| ids::domain_name(*id).is_some())
            .ok_or_else(|| bad(format!("domain {d:?} is not in 0..=10")))?,
        None => account.as_ref().map_or(0, |a| a.settings.default_domain),
    };
    if account.as_ref().is_some_and(|a| a.upload_forbidden) {
        return Err(ApiError::new(ErrorCode::QuotaExceeded).into_response());
    }
    let now = now();
    let owner = account.as_ref();
    let files: Vec<FileRecord> = parts
        .iter()
        .map(|p| FileRecord {
            pass_hash: pass_hash.clone(),
            // Files that belong to no account are removed with a code.
            remove_code: owner.is_none().then(|| random_id(16, false)),
            ..new_file(
                owner.map(|a| a.id),
                folder_id,
                p.name.clone(),
                Content::of_blob(&p.blob, p.content_type.clone()),
                (domain, now),
            )
        })
        .collect();
    let blobs: Vec<NewBlob> = parts.iter().map(|p| p.blob.clone()).collect();
    let stored = state
        .repo()
        .insert_upload(&blobs, &files, owner.map(|a| (a.id, a.hot_quota)))
        .await
        .map_err(|e| ApiError::from(e).into_response())?;
    store_report(state, upload_id, incoming, &stored, now).await
}

/// A text field of the upload form, trimmed; `None` when absent or blank.
fn form_text<'a>(fields: &'a HashMap<String, String>, key: &str) -> Option<&'a str> {
    fields.get(key).map(|v| v.trim()).filter(|v| !v.is_empty())
}

/// Refuses (saying why) an upload without files, with an empty one, or whose message or mail
/// list is out of bounds.
fn check_form(fields: &HashMap<String, String>, parts: &[StoredPart]) -> Result<(), String> {
    let bad = |message: &str| Err(message.to_owned());
    if parts.is_empty() {
        return bad(NO_FILE);
    }
    if let Some(empty) = parts.iter().find(|p| p.blob.size == 0) {
        return bad(&format!(
            "{} is empty: empty files are not accepted",
            empty.name
        ));
    }
    if let Some(message) = form_text(fields, form::MESSAGE)
        && message.chars().count() > 2000
    {
        return bad("message is longer than 2000 characters");
    }
    if let Some(mails) = form_text(fields, form::MAILS) {
        let list: Vec<&str> = mails
            .split([',', ';', ' ', '\n'])
            .filter(|m| !m.is_empty())
            .collect();
        if list.len() > 20 || list.iter().any(|m| m.len() > 250 || !m.contains('@')) {
            return bad("mails: at most 20 e-mail addresses of 250 characters");
        }
    }
    Ok(())
}

/// Keeps the report `end.pl` shows for `upload_id` for the configured time.
async fn store_report(
    state: &AppState,
    upload_id: &str,
    incoming: bool,
    stored: &[FileRecord],
    now: i64,
) -> Result<(), Response> {
    let report = EndReport {
        incoming: Flag(incoming),
        links: stored
            .iter()
            .map(|f| EndLink {
                download: link_url(&state.config().names, f),
                filename: f.name.clone(),
                size: u64::try_from(f.size).unwrap_or(0),
                remove: f.remove_code.clone().unwrap_or_default(),
                whirlpool: f.whirlpool.clone(),
            })
            .collect(),
    };
    let json = serde_json::to_string(&report).expect("reports serialise");
    let ttl = i64::try_from(state.config().report_ttl.as_secs()).unwrap_or(i64::MAX);
    state
        .repo()
        .store_upload_report(upload_id, &json, now.saturating_add(ttl))
        .await
        .map_err(|e| ApiError::from(e).into_response())?;
    Ok(())
}

/// The account and folder that receive an upload of `sent` bytes, and whether it is another
/// user's incoming.
async fn destination(
    state: &AppState,
    (caller, ip): (Option<&Caller>, IpAddr),
    fields: &HashMap<String, String>,
    sent: i64,
) -> Result<(Option<crate::meta::Account>, i64, bool), Response> {
    let internal = |e: MetaError| ApiError::from(e).into_response();
    if let Some(caller) = caller {
        let folder = own_destination(state, caller, fields).await?;
        return Ok((Some(caller.account.clone()), folder, false));
    }
    let Some(user) = fields
        .get(form::USER)
        .map(|u| u.trim())
        .filter(|u| !u.is_empty())
    else {
        return Ok((None, 0, false));
    };
    if fields.get(form::PASS).is_some_and(|p| !p.is_empty()) {
        return Err(refuse(
            StatusCode::UNAUTHORIZED,
            "Account passwords are not accepted here: upload with an API key",
        ));
    }
    // One answer for an unknown address, an account that takes no uploads from others and one
    // whose inbox is full, counted toward the sender's flood lock: nobody learns which
    // addresses have accounts by trying them (an account whose inbox is open says so by
    // taking the file: its owner chose it).
    let closed = async || {
        state.limiter().record_refusal(ip).await;
        refuse(
            StatusCode::FORBIDDEN,
            "This address takes no uploads from others, or has no room left for them",
        )
    };
    let account = state
        .repo()
        .account_by_email(user)
        .await
        .map_err(internal)?
        .filter(|a| a.inbox_allowance > 0 && !a.upload_forbidden);
    let Some(account) = account else {
        return Err(closed().await);
    };
    let folder = incoming_folder(state, account.id).await.map_err(internal)?;
    // What strangers send counts against the inbox allowance, not silently the whole quota.
    // (Two uploads at once may both pass by a little: the allowance is a bound on nuisance,
    // the quota still holds.)
    let (_, used) = state
        .repo()
        .folder_usage(account.id, folder)
        .await
        .map_err(internal)?;
    if used.saturating_add(sent) > account.inbox_allowance {
        return Err(closed().await);
    }
    Ok((Some(account), folder, true))
}

/// `GET /end.pl?xid=ID`: `JSON: 1` (or `2`, indented) → JSON; `EXPORT: 1` → one line per file;
/// otherwise the HTML page. The query forms `?json=1`/`?export=1` are accepted too.
pub(crate) async fn end(
    State(state): State<AppState>,
    Query(query): Query<UploadQuery>,
    Query(flags): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let flag = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .or_else(|| flags.get(&name.to_ascii_lowercase()).map(String::as_str))
            .filter(|v| !v.is_empty() && *v != "0")
            .map(str::to_owned)
    };
    let report = match state.repo().upload_report(&query.xid, now()).await {
        Ok(Some(report)) => report,
        Ok(None) => {
            return crate::web::plain_message(
                StatusCode::NOT_FOUND,
                "Upload",
                "This upload report is unknown or has expired",
            );
        }
        Err(e) => return ApiError::from(e).into_response(),
    };
    let Ok(report) = serde_json::from_str::<EndReport>(&report) else {
        return ApiError::new(ErrorCode::Internal).into_response();
    };
    if let Some(json) = flag("JSON") {
        let body = if json == "2" {
            serde_json::to_string_pretty(&report)
        } else {
            serde_json::to_string(&report)
        }
        .expect("reports serialise");
        return (
            [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
            body,
        )
            .into_response();
    }
    if flag("EXPORT").is_some() {
        let text = export_lines(&report);
        return ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response();
    }
    end_page(&state, &report)
}

/// `end.pl` with `EXPORT`: `name;size;id;removal code;domain` per file.
fn export_lines(report: &EndReport) -> String {
    let mut text = String::new();
    for link in &report.links {
        let id = link.download.rsplit('?').next().unwrap_or_default();
        let domain = link
            .download
            .split('/')
            .nth(2)
            .and_then(ids::domain_id)
            .unwrap_or(0);
        text.push_str(&format!(
            "{};{};{};{};{}\n",
            link.filename, link.size, id, link.remove, domain
        ));
    }
    text
}

/// `end.pl`'s page, as the live node's.
fn end_page(state: &AppState, report: &EndReport) -> Response {
    // Scrapers of the live page read the link cell with a greedy pattern up to the last double
    // quote of its line: the template keeps the cell alone on its line, nothing quoted after.
    let site = state.config().names.site_url();
    let rows = report
        .links
        .iter()
        .map(|link| EndRow {
            name: link.filename.clone(),
            size: human_size_fr(link.size),
            link: link.download.clone(),
            remove: (!link.remove.is_empty()).then(|| {
                let id = link.download.rsplit('?').next().unwrap_or_default();
                format!("{site}/remove/{id}/{}", link.remove)
            }),
        })
        .collect();
    crate::web::render(
        StatusCode::OK,
        &EndPage {
            nav: crate::web::Nav::default(),
            rows,
        },
    )
}

/// The end.pl page.
#[derive(askama::Template)]
#[template(path = "end.html")]
struct EndPage {
    nav: crate::web::Nav,
    rows: Vec<EndRow>,
}

/// One uploaded file on the end.pl page.
struct EndRow {
    name: String,
    size: String,
    link: String,
    remove: Option<String>,
}
