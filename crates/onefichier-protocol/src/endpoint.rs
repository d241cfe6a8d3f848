//! The 26 v1 endpoints, by family, with their paths under `/v1/`.

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

    /// Whether the endpoint requires an API key (all but `get_upload_server`).
    pub fn requires_key(self) -> bool {
        !matches!(self, Self::UploadGetUploadServer)
    }
}
