//! The 26 v1 endpoints, by family: one table of paths, wire types, idempotency and the access
//! each grants to a scoped API key. The server's router and OpenAPI document and the SDK's calls
//! and retry decisions are all derived from it.

#[cfg(feature = "openapi")]
use crate::{StatusResponse, download, file, folder, ftp, remote, upload, user, vouchers};
use serde::{Deserialize, Serialize};

/// Declares the endpoint table: for each endpoint its path under `/v1/`, what it does, its
/// request and answer types, and whether sending it twice is safe. The enum, [`Endpoint::ALL`],
/// the paths and (feature `openapi`) the schemas all come from this one list.
macro_rules! endpoints {
    ($(
        $name:ident: $path:literal, $summary:literal,
            $request:ty => $answer:ty, $repeat:ident;
    )*) => {
        /// A v1 endpoint.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Endpoint {
            $(
                #[doc = concat!("`", $path, "`: ", $summary, ".")]
                $name,
            )*
        }

        impl Endpoint {
            /// Every endpoint, in the table's order.
            pub const ALL: &'static [Self] = &[$(Self::$name),*];

            /// The path under the API base, e.g. `file/ls.cgi`.
            pub fn path(self) -> &'static str {
                match self {
                    $(Self::$name => $path,)*
                }
            }

            /// What the endpoint does, in a few words (the OpenAPI summary).
            pub fn summary(self) -> &'static str {
                match self {
                    $(Self::$name => $summary,)*
                }
            }

            /// Whether a call that may have been executed can be sent again: sending it twice
            /// leaves what sending it once does (a read, a rename to a name, a setting). A call
            /// that creates, copies or removes is sent once.
            pub fn idempotent(self) -> bool {
                match self {
                    $(Self::$name => Repeat::$repeat == Repeat::Safe,)*
                }
            }

            /// The schemas of the request and of the answer, added to `schemas` with what they
            /// refer to; returns their names.
            #[cfg(feature = "openapi")]
            pub fn schemas(self, schemas: &mut Schemas) -> (String, String) {
                match self {
                    $(Self::$name => (schema::<$request>(schemas), schema::<$answer>(schemas)),)*
                }
            }
        }
    };
}

/// Whether an endpoint's call may be repeated (see [`Endpoint::idempotent`]).
#[derive(PartialEq, Eq)]
enum Repeat {
    Safe,
    Once,
}

endpoints! {
    DownloadGetToken: "download/get_token.cgi", "A direct download URL, valid 5 minutes",
        download::GetTokenRequest => download::GetTokenResponse, Safe;
    UploadGetUploadServer: "upload/get_upload_server.cgi",
        "An upload node and a single-use upload id (key optional; GET or POST)",
        NoParameters => upload::UploadServer, Safe;
    FileLs: "file/ls.cgi", "The files of a folder (or of the whole account)",
        file::LsRequest => file::LsResponse, Safe;
    FileInfo: "file/info.cgi", "One file's details",
        file::InfoRequest => file::FileInfo, Safe;
    FileScan: "file/scan.cgi", "Antivirus scan of a file",
        file::ScanRequest => file::ScanResponse, Safe;
    FileRm: "file/rm.cgi", "Removes files",
        file::RmRequest => file::RmResponse, Once;
    FileMv: "file/mv.cgi", "Moves files, optionally renaming one",
        file::MvRequest => file::MvResponse, Safe;
    FileRename: "file/rename.cgi", "Renames files",
        file::RenameRequest => file::RenameResponse, Safe;
    FileCp: "file/cp.cgi", "Copies files (own or others') into a folder",
        file::CpRequest => file::CpResponse, Once;
    FileChattr: "file/chattr.cgi", "Changes files' attributes",
        file::ChattrRequest => file::ChattrResponse, Safe;
    FolderLs: "folder/ls.cgi", "A folder and its sub-folders (and files on request)",
        folder::LsRequest => folder::LsResponse, Safe;
    FolderMkdir: "folder/mkdir.cgi", "Creates a folder",
        folder::MkdirRequest => folder::MkdirResponse, Once;
    FolderShare: "folder/share.cgi", "Shares a folder publicly or with other users",
        folder::ShareRequest => folder::ShareResponse, Safe;
    FolderMv: "folder/mv.cgi", "Moves and renames a folder",
        folder::MvRequest => folder::MvResponse, Once;
    FolderRm: "folder/rm.cgi", "Removes a folder and what it holds",
        folder::RmRequest => StatusResponse, Once;
    UserInfo: "user/info.cgi", "The account; any field present sets that preference",
        user::InfoRequest => user::UserInfo, Safe;
    FtpProcess: "ftp/process.cgi", "Imports what the FTP users uploaded",
        NoParameters => StatusResponse, Safe;
    FtpUsersLs: "ftp/users/ls.cgi", "The account's FTP users",
        NoParameters => ftp::UsersLsResponse, Safe;
    FtpUsersAdd: "ftp/users/add.cgi", "Adds an FTP user",
        ftp::UserAddRequest => StatusResponse, Once;
    FtpUsersRm: "ftp/users/rm.cgi", "Removes an FTP user",
        ftp::UserRmRequest => StatusResponse, Once;
    RemoteLs: "remote/ls.cgi", "Remote-upload jobs",
        NoParameters => remote::LsResponse, Safe;
    RemoteInfo: "remote/info.cgi", "One remote-upload job",
        remote::InfoRequest => remote::Info, Safe;
    RemoteRequest: "remote/request.cgi", "Starts a remote upload",
        remote::RequestRequest => remote::RequestResponse, Once;
    VouchersLs: "vouchers/ls.cgi", "The vouchers a reseller holds",
        NoParameters => vouchers::LsResponse, Safe;
    VouchersCheck: "vouchers/check.cgi", "Checks a voucher",
        vouchers::CheckRequest => vouchers::CheckResponse, Safe;
    VouchersUse: "vouchers/use.cgi", "Uses a voucher for an account",
        vouchers::UseRequest => StatusResponse, Once;
}

/// The body of a call that takes no parameters: `{}`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NoParameters {}

/// Schemas gathered for an OpenAPI document: each named type with the types it refers to.
#[cfg(feature = "openapi")]
pub type Schemas = Vec<(
    String,
    utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
)>;

/// Adds `T`'s schema (and those it refers to) and returns its name.
#[cfg(feature = "openapi")]
pub fn schema<T: utoipa::ToSchema>(schemas: &mut Schemas) -> String {
    let name = T::name().into_owned();
    schemas.push((name.clone(), T::schema()));
    T::schemas(schemas);
    name
}

impl Endpoint {
    /// What a key must be allowed to call this endpoint: the one place where every endpoint's
    /// access is decided. The match has no wildcard: a new endpoint cannot exist without a
    /// decision.
    pub fn access(self) -> Access {
        use Need::{Browse, Modify, Read, Upload};
        let (need, account_wide, changing, shows_links) = match self {
            Self::DownloadGetToken => (Read, false, None, true),
            // The node's own rule (an upload) applies when a key is given.
            Self::UploadGetUploadServer => (Upload, false, None, false),
            Self::FileLs | Self::FileInfo => (Read, false, None, true),
            // A scan deletes an infected file: a change, not a read.
            Self::FileScan => (Modify, false, None, false),
            Self::FileRm
            | Self::FileMv
            | Self::FileRename
            | Self::FileCp
            | Self::FileChattr
            | Self::FolderShare
            | Self::FolderMv
            | Self::FolderRm => (Modify, false, None, false),
            // Files and share URLs in a folder's listing are hidden from keys that cannot read.
            Self::FolderLs => (Browse, false, None, true),
            Self::FolderMkdir | Self::RemoteRequest => (Upload, false, None, false),
            // Showing the account is browsing; changing its settings is account-wide business.
            Self::UserInfo => (
                Browse,
                false,
                Some(Grant {
                    need: Modify,
                    account_wide: true,
                }),
                false,
            ),
            Self::RemoteLs => (Browse, false, None, false),
            // A finished job's answer holds the download links of the files it fetched.
            Self::RemoteInfo => (Browse, false, None, true),
            Self::FtpProcess
            | Self::FtpUsersLs
            | Self::FtpUsersAdd
            | Self::FtpUsersRm
            | Self::VouchersLs
            | Self::VouchersCheck
            | Self::VouchersUse => (Modify, true, None, false),
        };
        Access {
            call: Grant { need, account_wide },
            changing,
            shows_links,
        }
    }

    /// Whether the endpoint requires an API key (all but `get_upload_server`).
    pub fn requires_key(self) -> bool {
        !matches!(self, Self::UploadGetUploadServer)
    }

    /// Whether GET is accepted as well as POST (`get_upload_server`, which takes no body).
    pub fn accepts_get(self) -> bool {
        matches!(self, Self::UploadGetUploadServer)
    }
}

/// What an API key's scope must allow for a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Need {
    /// See folders, the account's quota, remote-upload jobs.
    Browse,
    /// See files: their names, links and bytes.
    Read,
    /// Add: upload, create folders, remote uploads.
    Upload,
    /// Change or remove what exists.
    Modify,
}

impl Need {
    /// What the need lets a key do, for refusals ("this read-only key may not …").
    pub fn verb(self) -> &'static str {
        match self {
            Need::Browse => "list folders",
            Need::Read => "read files",
            Need::Upload => "upload",
            Need::Modify => "change or delete files and folders",
        }
    }
}

/// One decision: what a key's scope must allow, and whether the call acts on the whole account
/// (refused to keys confined to a folder).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Grant {
    /// What the scope must allow.
    pub need: Need,
    /// The call reaches beyond any folder (FTP users, vouchers, account settings).
    pub account_wide: bool,
}

/// The access an endpoint grants, from [`Endpoint::access`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Access {
    /// What every call needs.
    pub call: Grant,
    /// What a call that changes something needs, for endpoints that show or change (`user/info`
    /// with a setting).
    pub changing: Option<Grant>,
    /// The answer may hold download links or share URLs: keys whose scope does not allow
    /// [`Need::Read`] get it without them.
    pub shows_links: bool,
}

/// The upload node (`upload.cgi`) when a key is given: an upload, into a folder.
pub const NODE_UPLOAD: Grant = Grant {
    need: Need::Upload,
    account_wide: false,
};
