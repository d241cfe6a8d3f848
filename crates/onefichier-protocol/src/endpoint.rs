//! The 26 v1 endpoints, by family, with their paths under `/v1/` and the access each grants to
//! a scoped API key: one table that the server's router enforces and its tests iterate over.

/// A v1 endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Endpoint {
    /// `download/get_token.cgi`
    DownloadGetToken,
    /// `upload/get_upload_server.cgi` (GET or POST; key optional)
    UploadGetUploadServer,
    /// `file/ls.cgi`
    FileLs,
    /// `file/info.cgi`
    FileInfo,
    /// `file/scan.cgi`
    FileScan,
    /// `file/rm.cgi`
    FileRm,
    /// `file/mv.cgi`
    FileMv,
    /// `file/rename.cgi`
    FileRename,
    /// `file/cp.cgi`
    FileCp,
    /// `file/chattr.cgi`
    FileChattr,
    /// `folder/ls.cgi`
    FolderLs,
    /// `folder/mkdir.cgi`
    FolderMkdir,
    /// `folder/share.cgi`
    FolderShare,
    /// `folder/mv.cgi`
    FolderMv,
    /// `folder/rm.cgi`
    FolderRm,
    /// `user/info.cgi`
    UserInfo,
    /// `ftp/process.cgi`
    FtpProcess,
    /// `ftp/users/ls.cgi`
    FtpUsersLs,
    /// `ftp/users/add.cgi`
    FtpUsersAdd,
    /// `ftp/users/rm.cgi`
    FtpUsersRm,
    /// `remote/ls.cgi`
    RemoteLs,
    /// `remote/info.cgi`
    RemoteInfo,
    /// `remote/request.cgi`
    RemoteRequest,
    /// `vouchers/ls.cgi`
    VouchersLs,
    /// `vouchers/check.cgi`
    VouchersCheck,
    /// `vouchers/use.cgi`
    VouchersUse,
}

impl Endpoint {
    /// Every endpoint.
    pub const ALL: [Self; 26] = [
        Self::DownloadGetToken,
        Self::UploadGetUploadServer,
        Self::FileLs,
        Self::FileInfo,
        Self::FileScan,
        Self::FileRm,
        Self::FileMv,
        Self::FileRename,
        Self::FileCp,
        Self::FileChattr,
        Self::FolderLs,
        Self::FolderMkdir,
        Self::FolderShare,
        Self::FolderMv,
        Self::FolderRm,
        Self::UserInfo,
        Self::FtpProcess,
        Self::FtpUsersLs,
        Self::FtpUsersAdd,
        Self::FtpUsersRm,
        Self::RemoteLs,
        Self::RemoteInfo,
        Self::RemoteRequest,
        Self::VouchersLs,
        Self::VouchersCheck,
        Self::VouchersUse,
    ];

    /// The path under the API base, e.g. `file/ls.cgi`.
    pub fn path(self) -> &'static str {
        match self {
            Self::DownloadGetToken => "download/get_token.cgi",
            Self::UploadGetUploadServer => "upload/get_upload_server.cgi",
            Self::FileLs => "file/ls.cgi",
            Self::FileInfo => "file/info.cgi",
            Self::FileScan => "file/scan.cgi",
            Self::FileRm => "file/rm.cgi",
            Self::FileMv => "file/mv.cgi",
            Self::FileRename => "file/rename.cgi",
            Self::FileCp => "file/cp.cgi",
            Self::FileChattr => "file/chattr.cgi",
            Self::FolderLs => "folder/ls.cgi",
            Self::FolderMkdir => "folder/mkdir.cgi",
            Self::FolderShare => "folder/share.cgi",
            Self::FolderMv => "folder/mv.cgi",
            Self::FolderRm => "folder/rm.cgi",
            Self::UserInfo => "user/info.cgi",
            Self::FtpProcess => "ftp/process.cgi",
            Self::FtpUsersLs => "ftp/users/ls.cgi",
            Self::FtpUsersAdd => "ftp/users/add.cgi",
            Self::FtpUsersRm => "ftp/users/rm.cgi",
            Self::RemoteLs => "remote/ls.cgi",
            Self::RemoteInfo => "remote/info.cgi",
            Self::RemoteRequest => "remote/request.cgi",
            Self::VouchersLs => "vouchers/ls.cgi",
            Self::VouchersCheck => "vouchers/check.cgi",
            Self::VouchersUse => "vouchers/use.cgi",
        }
    }

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
