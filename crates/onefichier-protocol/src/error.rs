//! The error catalogue: every refusal the API is known to send, as data.
//!
//! The server renders its KO answers from this table and the client classifies answers with it,
//! so both sides agree on text, HTTP status, kind and retry behaviour. The live service's `#NNN`
//! numbers are not stable (the same text has been seen with several numbers), so [`parse_message`]
//! keys on the text and treats the number as informational.

use serde::{Deserialize, Serialize};
use std::fmt;

/// What went wrong, in terms a caller can branch on: the one list of kinds, for the catalogue's
/// refusals and for what a client meets on its own (the network, a checksum, a local file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorKind {
    /// The API key is missing, unknown or revoked.
    InvalidKey,
    /// The key's IP allow-list does not include the caller's address.
    IpNotAllowed,
    /// The account's offer does not include API access (free accounts).
    NotCustomer,
    /// The file, folder or job does not exist (or is not the caller's).
    NotFound,
    /// The resource exists but access is refused (ACL, private file, rights on a share).
    NotAllowed,
    /// The resource is password protected and the password is missing or wrong.
    Password,
    /// The owner's account is locked.
    OwnerLocked,
    /// Too many requests: slow down.
    RateLimited,
    /// A temporary lock (flood protection) is in force.
    Locked,
    /// The service is overloaded or in maintenance.
    Overloaded,
    /// The file is larger than the per-file limit.
    TooLarge,
    /// The account's storage quota is exhausted or uploads are forbidden.
    QuotaExceeded,
    /// The request is malformed or a parameter is invalid.
    BadRequest,
    /// The request was valid but changed nothing.
    NothingChanged,
    /// The request conflicts with the current state (e.g. a folder that is not empty).
    Conflict,
    /// An antivirus scan found a threat; the file was deleted.
    Infected,
    /// The server does not implement this endpoint (yet).
    Unsupported,
    // The kinds below are a client's own findings: the API never sends them, and no catalogue
    // entry has them.
    /// The network failed (connection refused or reset, TLS, DNS).
    Transport,
    /// The server did not answer in time.
    Timeout,
    /// The answer was not what the API sends (HTML where JSON was expected, bad JSON).
    UnexpectedResponse,
    /// A transfer's bytes do not match the server's size or Whirlpool checksum.
    Verification,
    /// A local file could not be read or written.
    Io,
    /// The client is misconfigured (no key, bad URL).
    Config,
    /// The answer could not be matched with any known error.
    Unknown,
}

/// How a client should react to an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RetryClass {
    /// Retrying the same request cannot succeed.
    Permanent,
    /// Temporary: retry with exponential backoff (honouring `Retry-After` when given).
    Backoff,
    /// A lock is in force: wait until it lifts before sending anything else.
    WaitForLock,
}

/// One row of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorEntry {
    /// Which entry this is.
    pub code: ErrorCode,
    /// The message text, without the ` #NNN` suffix, as the service words it.
    pub text: &'static str,
    /// The number this implementation appends (`#NNN`); the live service's numbers vary.
    pub number: u16,
    /// The HTTP status this implementation answers with.
    pub http_status: u16,
    /// The kind callers branch on.
    pub kind: ErrorKind,
    /// How a client should retry.
    pub retry: RetryClass,
    /// A one-line hint for the user.
    pub hint: &'static str,
}

macro_rules! catalogue {
    ($( $(#[$doc:meta])* $variant:ident => ($text:literal, $number:literal, $status:literal, $kind:ident, $retry:ident, $hint:literal), )*) => {
        /// The identity of a catalogue entry.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ErrorCode {
            $( $(#[$doc])* $variant, )*
        }

        /// Every known error.
        pub static CATALOGUE: &[ErrorEntry] = &[
            $( ErrorEntry {
                code: ErrorCode::$variant,
                text: $text,
                number: $number,
                http_status: $status,
                kind: ErrorKind::$kind,
                retry: RetryClass::$retry,
                hint: $hint,
            }, )*
        ];
    };
}

catalogue! {
    /// "Invalid password. … Resource not allowed": a wrong file or folder password.
    InvalidPassword => ("Invalid password. Resource not allowed", 631, 403, Password, Permanent,
        "check the password given with --password"),
    /// "Password not provided. … Resource not allowed": the file needs a password.
    PasswordNotProvided => ("Password not provided. Resource not allowed", 631, 403, Password, Permanent,
        "this file is password protected: give its password"),
    /// "Flood detected: User APK Locked": the API key is locked by flood protection.
    FloodKeyLocked => ("Flood detected: User APK Locked", 376, 429, Locked, WaitForLock,
        "the API key is temporarily locked for flooding: wait until the lock lifts"),
    /// "Flood detected: User Locked": the account is locked by flood protection.
    FloodUserLocked => ("Flood detected: User Locked", 375, 429, Locked, WaitForLock,
        "the account is temporarily locked for flooding: wait until the lock lifts"),
    /// "Flood detected: IP Locked" (#38, #374, #412 on the live service).
    FloodIpLocked => ("Flood detected: IP Locked", 374, 429, Locked, WaitForLock,
        "this address is temporarily locked for flooding: wait until the lock lifts"),
    /// "Flood detected" with any other wording (the live service has used several).
    FloodDetected => ("Flood detected", 412, 429, Locked, WaitForLock,
        "flood protection is in force: wait until the lock lifts"),
    /// "IP Locked": the address is locked (the live service lifts it within an hour).
    IpLocked => ("IP Locked", 186, 429, Locked, WaitForLock,
        "this address is temporarily locked: wait until the lock lifts"),
    /// "Content-Type not JSON": the request lacked `Content-Type: application/json`.
    ContentTypeNotJson => ("Content-Type not JSON", 24, 400, BadRequest, Permanent,
        "send the header Content-Type: application/json"),
    /// "Invalid JSON": the body is not a JSON object of the expected shape.
    InvalidJson => ("Invalid JSON", 25, 400, BadRequest, Permanent,
        "send a JSON object with the endpoint's documented fields"),
    /// "Request too large": the JSON body exceeds the server's limit.
    RequestTooLarge => ("Request too large", 26, 413, BadRequest, Permanent,
        "send a smaller request"),
    /// "Invalid parameter": a field has a bad value (the detail names it).
    InvalidParameter => ("Invalid parameter", 27, 400, BadRequest, Permanent,
        "fix the value named in the message"),
    /// "Not authenticated": no API key was sent.
    NotAuthenticated => ("Not authenticated", 90, 401, InvalidKey, Permanent,
        "send the API key as Authorization: Bearer KEY"),
    /// "Invalid API key": the key is unknown or revoked.
    InvalidApiKey => ("Invalid API key", 91, 401, InvalidKey, Permanent,
        "regenerate the key and update your script"),
    /// "API key expired": the key's expiry date has passed.
    KeyExpired => ("API key expired", 92, 401, InvalidKey, Permanent,
        "create a new key, or one without expiry, in the API Manager"),
    /// "No such user" (#93, #142): the live service's answer to an unknown key or a locked account.
    NoSuchUser => ("No such user", 93, 401, InvalidKey, Permanent,
        "check the API key; if it is right, the account may need a password reset"),
    /// "IP not allowed": the key's allow-list excludes the caller.
    IpNotAllowed => ("IP not allowed", 95, 403, IpNotAllowed, Permanent,
        "check the key's IP allow-list"),
    /// "Must be a customer (Premium, Access)" (#200, #236).
    MustBeCustomer => ("Must be a customer (Premium, Access)", 200, 403, NotCustomer, Permanent,
        "API access needs a Premium, Access or Gold account"),
    /// "Resource not found" (#469).
    ResourceNotFound => ("Resource not found", 469, 404, NotFound, Permanent,
        "check the link or id"),
    /// "Folder not found".
    FolderNotFound => ("Folder not found", 470, 404, NotFound, Permanent,
        "check the folder id or path"),
    /// "Remote upload not found".
    RemoteJobNotFound => ("Remote upload not found", 471, 404, NotFound, Permanent,
        "check the job id given by remote/ls"),
    /// "Resource not allowed" (#631): ACL, private file or missing rights.
    ResourceNotAllowed => ("Resource not allowed", 631, 403, NotAllowed, Permanent,
        "the file's access list or your rights on it refuse this"),
    /// "Not allowed by this API key's scope" (#632): a read-only or upload-only key, or a key
    /// confined to one folder, asked for more.
    KeyScope => ("Not allowed by this API key's scope", 632, 403, NotAllowed, Permanent,
        "use a key whose scope (full, read, upload-only) and folder allow this"),
    /// "Owner locked" (#620, #649).
    OwnerLocked => ("Owner locked", 620, 403, OwnerLocked, Permanent,
        "the owner's account is locked; the API will refuse this file"),
    /// "Only N locations allowed at a time".
    TooManyLocations => ("locations allowed at a time", 650, 403, Locked, WaitForLock,
        "the account is used from too many addresses at once: wait a few minutes"),
    /// "… professional equipment, must have CDN": a datacenter address without CDN credits.
    NeedsCdn => ("professional equipment, must have CDN", 651, 403, NotAllowed, Permanent,
        "download with CDN credits (--cdn) or from a residential address"),
    /// "No file has been renamed" (#312): nothing changed.
    NothingRenamed => ("No file has been renamed", 312, 200, NothingChanged, Permanent,
        "the new name equals the old one"),
    /// "Same name": a move or rename to the name the entry already has.
    SameName => ("Same name", 313, 400, NothingChanged, Permanent,
        "leave the name out when it does not change"),
    /// "Folder not empty": folder/rm on a folder holding files or sub-folders.
    FolderNotEmpty => ("Folder not empty", 480, 409, Conflict, Permanent,
        "delete or move its content first"),
    /// "Folder already exists": a sibling folder has that name.
    FolderExists => ("Folder already exists", 481, 409, Conflict, Permanent,
        "choose another name or use the existing folder"),
    /// "Voucher not valid".
    VoucherInvalid => ("Voucher not valid", 490, 400, BadRequest, Permanent,
        "check the voucher code; it may have been used already"),
    /// "File too large" (413): the file exceeds the per-file limit.
    FileTooLarge => ("File too large", 413, 413, TooLarge, Permanent,
        "split the file into parts below the limit"),
    /// "Storage quota exceeded" / uploads forbidden on this account.
    QuotaExceeded => ("Storage quota exceeded", 414, 403, QuotaExceeded, Permanent,
        "free some space or extend the account's quota"),
    /// "Too many requests" (429).
    TooManyRequests => ("Too many requests", 429, 429, RateLimited, Backoff,
        "slow down; retry after the delay given"),
    /// "Service overloaded" (503).
    ServiceOverloaded => ("Service overloaded", 503, 503, Overloaded, Backoff,
        "retry with exponential backoff"),
    /// "Virus found": the scan found a threat and the file was deleted.
    VirusFound => ("Virus found", 660, 200, Infected, Permanent,
        "the file was infected and has been deleted"),
    /// "File too large to scan": files of 5 GB or more are not scanned.
    TooLargeToScan => ("File too large to scan", 661, 400, BadRequest, Permanent,
        "only files under 5 GB can be scanned"),
    /// "Not implemented by this server": a self-hosted server without this feature.
    NotImplemented => ("Not implemented by this server", 501, 501, Unsupported, Permanent,
        "this server does not offer the endpoint; use one that does"),
    /// "Internal error": the server failed; the detail is in its log, never in the answer.
    Internal => ("Internal error", 500, 500, Overloaded, Backoff,
        "retry later; report it if it persists"),
}

impl ErrorCode {
    /// The catalogue row of this code.
    pub fn entry(self) -> &'static ErrorEntry {
        CATALOGUE
            .iter()
            .find(|entry| entry.code == self)
            .expect("every ErrorCode has a catalogue row")
    }

    /// The text of the message, without the number.
    pub fn text(self) -> &'static str {
        self.entry().text
    }

    /// The error kind.
    pub fn kind(self) -> ErrorKind {
        self.entry().kind
    }

    /// The retry class.
    pub fn retry(self) -> RetryClass {
        self.entry().retry
    }

    /// The HTTP status this implementation answers with.
    pub fn http_status(self) -> u16 {
        self.entry().http_status
    }

    /// The one-line hint for the user.
    pub fn hint(self) -> &'static str {
        self.entry().hint
    }

    /// Renders the wire message, `"<text> #<number>"`, or `"<text>: <detail> #<number>"`.
    pub fn message(self, detail: Option<&str>) -> String {
        let entry = self.entry();
        match detail {
            Some(detail) if !detail.is_empty() => {
                format!("{}: {} #{}", entry.text, detail, entry.number)
            }
            _ => format!("{} #{}", entry.text, entry.number),
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text())
    }
}

/// A KO message taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedMessage {
    /// The catalogue entry whose text the message carries, if any.
    pub code: Option<ErrorCode>,
    /// The message without its ` #NNN` suffix.
    pub text: String,
    /// The number after `#`, when present (informational only).
    pub number: Option<u16>,
}

impl ParsedMessage {
    /// The kind of the matched entry, or [`ErrorKind::Unknown`].
    pub fn kind(&self) -> ErrorKind {
        self.code.map_or(ErrorKind::Unknown, ErrorCode::kind)
    }
}

/// Parses a `"… #NNN"` message, matching the catalogue on the text, never on the number.
///
/// Matching ignores ASCII case and accepts extra words between the parts of a two-part text,
/// as in the service's "Invalid password. Please retry. Resource not allowed".
pub fn parse_message(message: &str) -> ParsedMessage {
    let trimmed = message.trim();
    let (text, number) = match trimmed.rsplit_once('#') {
        Some((head, digits))
            if (1..=3).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) =>
        {
            (head.trim_end(), digits.parse().ok())
        }
        _ => (trimmed, None),
    };
    let lower = text.to_ascii_lowercase();
    // The longest matching text wins: "File too large to scan" over "File too large",
    // "Flood detected: IP Locked" over "IP Locked".
    let code = CATALOGUE
        .iter()
        .filter(|entry| text_matches(&lower, entry.text))
        .max_by_key(|entry| entry.text.len())
        .map(|entry| entry.code);
    ParsedMessage {
        code,
        text: text.to_owned(),
        number,
    }
}

fn text_matches(lower_message: &str, entry_text: &str) -> bool {
    let entry_lower = entry_text.to_ascii_lowercase();
    // Two-part texts ("Invalid password. Resource not allowed") match when both parts occur in
    // order, because the service puts a sentence between them.
    match entry_lower.split_once(". ") {
        Some((first, second)) => lower_message
            .find(first)
            .is_some_and(|at| lower_message[at + first.len()..].contains(second)),
        None => lower_message.contains(&entry_lower),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_exactly_one_row() {
        for entry in CATALOGUE {
            let rows = CATALOGUE.iter().filter(|e| e.code == entry.code).count();
            assert_eq!(rows, 1, "{:?}", entry.code);
            assert!(!entry.hint.is_empty());
        }
    }

    #[test]
    fn each_rendered_message_parses_back_to_its_code() {
        for entry in CATALOGUE {
            let parsed = parse_message(&entry.code.message(None));
            assert_eq!(parsed.code, Some(entry.code), "{}", entry.text);
            assert_eq!(parsed.number, Some(entry.number));
            let with_detail = parse_message(&entry.code.message(Some("name is too long")));
            assert_eq!(with_detail.code, Some(entry.code), "{}", entry.text);
        }
    }

    #[test]
    fn parsing_keys_on_text_not_number() {
        for (message, code) in [
            ("Flood detected: IP Locked #38", ErrorCode::FloodIpLocked),
            ("Flood detected: IP Locked #412", ErrorCode::FloodIpLocked),
            (
                "Flood detected: User APK Locked #9",
                ErrorCode::FloodKeyLocked,
            ),
            ("No such user #142", ErrorCode::NoSuchUser),
            ("Owner locked #649", ErrorCode::OwnerLocked),
            (
                "Must be a customer (Premium, Access) #236",
                ErrorCode::MustBeCustomer,
            ),
            (
                "Only 3 locations allowed at a time #77",
                ErrorCode::TooManyLocations,
            ),
            (
                "Invalid password. Please retry. Resource not allowed #631",
                ErrorCode::InvalidPassword,
            ),
            ("Resource not allowed #631", ErrorCode::ResourceNotAllowed),
            ("No file has been renamed #312", ErrorCode::NothingRenamed),
            ("IP Locked #12", ErrorCode::IpLocked),
        ] {
            assert_eq!(parse_message(message).code, Some(code), "{message}");
        }
    }

    #[test]
    fn unknown_messages_keep_their_text_and_number() {
        let parsed = parse_message("Something new #186");
        assert_eq!(parsed.code, None);
        assert_eq!(parsed.kind(), ErrorKind::Unknown);
        assert_eq!(parsed.number, Some(186));
        assert_eq!(parsed.text, "Something new");
    }

    #[test]
    fn key_system_table_matches_the_issue() {
        assert_eq!(ErrorCode::InvalidApiKey.http_status(), 401);
        assert_eq!(ErrorCode::IpNotAllowed.http_status(), 403);
        assert_eq!(ErrorCode::FileTooLarge.http_status(), 413);
        assert_eq!(ErrorCode::TooManyRequests.http_status(), 429);
        assert_eq!(ErrorCode::ServiceOverloaded.http_status(), 503);
        assert_eq!(
            ErrorCode::FileTooLarge.hint(),
            "split the file into parts below the limit"
        );
    }
}
