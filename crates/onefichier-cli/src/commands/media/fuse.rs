//! `1fichier mount`: the file system through FUSE (the `fuser` crate: no libfuse; as root the
//! kernel mount itself, otherwise `fusermount3`). Each request is answered from a task on the
//! runtime, so a slow read never holds the others. With `--writes`, a file's handle is the
//! inode it is written under, and `close()` returns once the file is uploaded and verified.

use super::{Ctx, report, stop_signal};
use crate::cli::MountArgs;
use anyhow::{Context, Result, bail};
use fuser::{
    Errno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags, Generation, INodeNo, InitFlags,
    KernelConfig, LockOwner, MountOption, OpenAccMode, OpenFlags, RenameFlags, ReplyAttr,
    ReplyCreate, ReplyData, ReplyDirectory, ReplyEmpty, ReplyEntry, ReplyOpen, ReplyStatfs,
    ReplyWrite, ReplyXattr, Request, SessionACL, TimeOrNow, WriteFlags,
};
use onefichier_vfs::{BLOCK_SIZE, Entry, Vfs};
use std::ffi::OsStr;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

/// How long the kernel may keep names and attributes without asking (the tree serves them
/// from memory anyway; this only saves round trips).
const TTL: Duration = Duration::from_secs(10);

struct Fs {
    vfs: Vfs,
    runtime: tokio::runtime::Handle,
    /// Files appear as the mount point's owner's.
    uid: u32,
    gid: u32,
}

fn errno(error: &onefichier_vfs::Error) -> Errno {
    use onefichier_vfs::Error as E;
    match error {
        E::NotAFolder => Errno::ENOTDIR,
        E::IsAFolder => Errno::EISDIR,
        E::ReadOnly => Errno::EROFS,
        E::Exists => Errno::EEXIST,
        E::NotEmpty => Errno::ENOTEMPTY,
        E::NotPermitted(_) => {
            tracing::info!(%error, "refused");
            Errno::EPERM
        }
        error if error.is_not_found() => Errno::ENOENT,
        E::Client(client) if client.kind() == onefichier_client::ErrorKind::TooLarge => {
            Errno::EFBIG
        }
        _ => {
            tracing::warn!(%error, "a request failed");
            Errno::EIO
        }
    }
}

/// What the service cannot do to a file: EPERM, and a log line saying so.
fn unsupported(what: &str) -> Errno {
    tracing::info!("{what} was refused: the service has no such thing");
    Errno::EPERM
}

/// A new name, if it is UTF-8 (the service's names are; EINVAL otherwise).
fn utf8(name: &OsStr) -> Option<String> {
    name.to_str().map(str::to_owned)
}

impl Fs {
    fn attr(&self, entry: &Entry) -> FileAttr {
        let mtime = UNIX_EPOCH + Duration::from_secs(u64::try_from(entry.mtime).unwrap_or(0));
        let folder = entry.is_folder();
        FileAttr {
            ino: INodeNo(entry.inode),
            size: entry.size,
            blocks: entry.size.div_ceil(512),
            atime: mtime,
            mtime,
            ctime: mtime,
            crtime: mtime,
            kind: if folder {
                FileType::Directory
            } else {
                FileType::RegularFile
            },
            perm: match (folder, self.vfs.writable()) {
                (true, true) => 0o755,
                (true, false) => 0o555,
                (false, true) => 0o644,
                (false, false) => 0o444,
            },
            nlink: if folder { 2 } else { 1 },
            uid: self.uid,
            gid: self.gid,
            rdev: 0,
            flags: 0,
            blksize: BLOCK_SIZE as u32,
        }
    }

    /// Runs `change` on the runtime and answers with its outcome.
    fn reply_when_done(
        &self,
        reply: ReplyEmpty,
        change: impl Future<Output = onefichier_vfs::Result<()>> + Send + 'static,
    ) {
        self.runtime.spawn(async move {
            match change.await {
                Ok(()) => reply.ok(),
                Err(error) => reply.error(errno(&error)),
            }
        });
    }

    /// A copy that a request's task owns.
    fn handle(&self) -> Self {
        Self {
            vfs: self.vfs.clone(),
            runtime: self.runtime.clone(),
            uid: self.uid,
            gid: self.gid,
        }
    }
}

impl Filesystem for Fs {
    /// A file opened with O_TRUNC is written whole: the open must say so (otherwise the kernel
    /// opens it for writing first, which a stored file refuses, then truncates it).
    fn init(&mut self, _req: &Request, config: &mut KernelConfig) -> std::io::Result<()> {
        if self.vfs.writable()
            && config
                .add_capabilities(InitFlags::FUSE_ATOMIC_O_TRUNC)
                .is_err()
        {
            tracing::warn!(
                "this kernel cannot open a file truncated: writing over a stored file will fail"
            );
        }
        Ok(())
    }

    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        let Some(name) = name.to_str().map(str::to_owned) else {
            return reply.error(Errno::ENOENT);
        };
        let fs = self.handle();
        self.runtime.spawn(async move {
            match fs.vfs.lookup(parent.0, &name).await {
                Ok(entry) => reply.entry(&TTL, &fs.attr(&entry), Generation(0)),
                Err(error) => reply.error(errno(&error)),
            }
        });
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        match self.vfs.entry(ino.0) {
            Ok(entry) => reply.attr(&TTL, &self.attr(&entry)),
            Err(error) => reply.error(errno(&error)),
        }
    }

    fn open(&self, _req: &Request, ino: INodeNo, flags: OpenFlags, reply: ReplyOpen) {
        if flags.acc_mode() != OpenAccMode::O_RDONLY {
            if !self.vfs.writable() {
                tracing::info!(inode = ino.0, "a write was refused: the mount is read-only");
                return reply.error(Errno::EROFS);
            }
            if flags.0 & libc::O_APPEND != 0 {
                return reply.error(unsupported("appending to a file"));
            }
            let truncate = flags.0 & libc::O_TRUNC != 0;
            let vfs = self.vfs.clone();
            self.runtime.spawn(async move {
                match vfs.open_for_writing(ino.0, truncate).await {
                    Ok(written) => reply.opened(FileHandle(written), FopenFlags::empty()),
                    Err(error) => reply.error(errno(&error)),
                }
            });
            return;
        }
        match self.vfs.entry(ino.0) {
            // The bytes of a stored file never change: the kernel may keep its pages across
            // opens (not those of a file still being written).
            Ok(entry) if !entry.is_folder() && !entry.links().is_empty() => {
                reply.opened(FileHandle(0), FopenFlags::FOPEN_KEEP_CACHE);
            }
            Ok(entry) if !entry.is_folder() => reply.opened(FileHandle(0), FopenFlags::empty()),
            Ok(_) => reply.error(Errno::EISDIR),
            Err(error) => reply.error(errno(&error)),
        }
    }

    fn create(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        _mode: u32,
        _umask: u32,
        _flags: i32,
        reply: ReplyCreate,
    ) {
        let Some(name) = utf8(name) else {
            return reply.error(Errno::EINVAL);
        };
        let fs = self.handle();
        self.runtime.spawn(async move {
            match fs.vfs.create(parent.0, &name).await {
                Ok(entry) => reply.created(
                    &TTL,
                    &fs.attr(&entry),
                    Generation(0),
                    FileHandle(entry.inode),
                    FopenFlags::empty(),
                ),
                Err(error) => reply.error(errno(&error)),
            }
        });
    }

    fn write(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        data: &[u8],
        _write_flags: WriteFlags,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyWrite,
    ) {
        let (vfs, data) = (self.vfs.clone(), data.to_vec());
        self.runtime.spawn(async move {
            match vfs.write(fh.0, offset, &data).await {
                Ok(()) => reply.written(u32::try_from(data.len()).unwrap_or(u32::MAX)),
                Err(error) => reply.error(errno(&error)),
            }
        });
    }

    fn setattr(
        &self,
        _req: &Request,
        ino: INodeNo,
        mode: Option<u32>,
        uid: Option<u32>,
        gid: Option<u32>,
        size: Option<u64>,
        _atime: Option<TimeOrNow>,
        mtime: Option<TimeOrNow>,
        _ctime: Option<std::time::SystemTime>,
        fh: Option<FileHandle>,
        _crtime: Option<std::time::SystemTime>,
        _chgtime: Option<std::time::SystemTime>,
        _bkuptime: Option<std::time::SystemTime>,
        _flags: Option<fuser::BsdFileFlags>,
        reply: ReplyAttr,
    ) {
        // A file being written is changed under its handle's inode.
        let target = fh.filter(|fh| fh.0 != 0).map_or(ino.0, |fh| fh.0);
        // Modes and owners are fixed; setting them to what they are (as `std::fs::copy` and
        // `cp` do) changes nothing and is no error.
        let shown = self.vfs.entry(target).map(|entry| self.attr(&entry));
        let unchanged = shown.is_ok_and(|shown| {
            mode.is_none_or(|mode| mode & 0o7777 == u32::from(shown.perm))
                && uid.is_none_or(|uid| uid == shown.uid)
                && gid.is_none_or(|gid| gid == shown.gid)
        });
        if !unchanged {
            return reply.error(unsupported("changing a file's mode or owner"));
        }
        let fs = self.handle();
        self.runtime.spawn(async move {
            let changed = async {
                if let Some(size) = size {
                    fs.vfs.set_size(target, size).await?;
                }
                if let Some(mtime) = mtime {
                    let at = match mtime {
                        TimeOrNow::SpecificTime(at) => at,
                        TimeOrNow::Now => std::time::SystemTime::now(),
                    };
                    let seconds = at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
                    fs.vfs
                        .set_mtime(target, i64::try_from(seconds).unwrap_or(i64::MAX))?;
                }
                fs.vfs.entry(target)
            };
            match changed.await {
                Ok(entry) => reply.attr(&TTL, &fs.attr(&entry)),
                Err(error) => reply.error(errno(&error)),
            }
        });
    }

    fn mkdir(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        _mode: u32,
        _umask: u32,
        reply: ReplyEntry,
    ) {
        let Some(name) = utf8(name) else {
            return reply.error(Errno::EINVAL);
        };
        let fs = self.handle();
        self.runtime.spawn(async move {
            match fs.vfs.mkdir(parent.0, &name).await {
                Ok(entry) => reply.entry(&TTL, &fs.attr(&entry), Generation(0)),
                Err(error) => reply.error(errno(&error)),
            }
        });
    }

    fn unlink(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        let Some(name) = utf8(name) else {
            return reply.error(Errno::EINVAL);
        };
        let vfs = self.vfs.clone();
        self.reply_when_done(reply, async move { vfs.unlink(parent.0, &name).await });
    }

    fn rmdir(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        let Some(name) = utf8(name) else {
            return reply.error(Errno::EINVAL);
        };
        let vfs = self.vfs.clone();
        self.reply_when_done(reply, async move { vfs.rmdir(parent.0, &name).await });
    }

    fn rename(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        newparent: INodeNo,
        newname: &OsStr,
        flags: RenameFlags,
        reply: ReplyEmpty,
    ) {
        let (Some(name), Some(newname)) = (utf8(name), utf8(newname)) else {
            return reply.error(Errno::EINVAL);
        };
        if flags.contains(RenameFlags::RENAME_EXCHANGE) {
            return reply.error(unsupported("exchanging two files"));
        }
        let no_replace = flags.contains(RenameFlags::RENAME_NOREPLACE);
        let vfs = self.vfs.clone();
        self.reply_when_done(reply, async move {
            if no_replace && vfs.lookup(newparent.0, &newname).await.is_ok() {
                return Err(onefichier_vfs::Error::Exists);
            }
            vfs.rename(parent.0, &name, newparent.0, &newname).await
        });
    }

    fn symlink(
        &self,
        _req: &Request,
        _parent: INodeNo,
        _link_name: &OsStr,
        _target: &Path,
        reply: ReplyEntry,
    ) {
        reply.error(unsupported("a symbolic link"));
    }

    fn link(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _newparent: INodeNo,
        _newname: &OsStr,
        reply: ReplyEntry,
    ) {
        reply.error(unsupported("a hard link"));
    }

    fn mknod(
        &self,
        _req: &Request,
        _parent: INodeNo,
        _name: &OsStr,
        _mode: u32,
        _umask: u32,
        _rdev: u32,
        reply: ReplyEntry,
    ) {
        reply.error(unsupported("a device, socket or pipe"));
    }

    /// The bytes are in the spool until the last writer closes the file.
    fn fsync(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        reply.ok();
    }

    /// The last writer's close: the file is uploaded and verified before `close()` returns.
    fn release(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        _flush: bool,
        reply: ReplyEmpty,
    ) {
        if fh.0 == 0 {
            return reply.ok();
        }
        let vfs = self.vfs.clone();
        self.reply_when_done(reply, async move { vfs.close(fh.0).await });
    }

    fn read(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        if let Some(bytes) = self.vfs.read_in_memory(ino.0, offset, u64::from(size)) {
            return reply.data(&bytes);
        }
        let vfs = self.vfs.clone();
        self.runtime.spawn(async move {
            match vfs.read(ino.0, offset, u64::from(size)).await {
                Ok(bytes) => reply.data(&bytes),
                Err(error) => reply.error(errno(&error)),
            }
        });
    }

    fn readdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        let vfs = self.vfs.clone();
        self.runtime.spawn(async move {
            let entries = match vfs.list(ino.0).await {
                Ok(entries) => entries,
                Err(error) => return reply.error(errno(&error)),
            };
            let dots = [
                (ino.0, FileType::Directory, "."),
                (ino.0, FileType::Directory, ".."),
            ];
            let all = dots.into_iter().chain(entries.iter().map(|entry| {
                let kind = if entry.is_folder() {
                    FileType::Directory
                } else {
                    FileType::RegularFile
                };
                (entry.inode, kind, entry.name.as_str())
            }));
            // An entry's offset is the position of the next one.
            for (position, (inode, kind, name)) in all.enumerate().skip(offset as usize) {
                if reply.add(INodeNo(inode), position as u64 + 1, kind, name) {
                    break;
                }
            }
            reply.ok();
        });
    }

    /// `close()`: a file written through this handle alone is uploaded now, so that the
    /// writer learns whether it was stored.
    fn flush(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _lock_owner: LockOwner,
        reply: ReplyEmpty,
    ) {
        if fh.0 == 0 {
            return reply.ok();
        }
        let vfs = self.vfs.clone();
        self.reply_when_done(reply, async move { vfs.flush(fh.0).await });
    }

    /// Files have no extended attributes (asked for by `ls` and SELinux-aware tools).
    fn getxattr(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _name: &OsStr,
        _size: u32,
        reply: ReplyXattr,
    ) {
        reply.error(Errno::NO_XATTR);
    }

    fn listxattr(&self, _req: &Request, _ino: INodeNo, size: u32, reply: ReplyXattr) {
        if size == 0 {
            reply.size(0);
        } else {
            reply.data(&[]);
        }
    }

    /// No quota is known here: a writable mount says it has room (1 PiB), so that copying
    /// tools do not refuse; the service refuses what is over the account's space.
    fn statfs(&self, _req: &Request, _ino: INodeNo, reply: ReplyStatfs) {
        let free = if self.vfs.writable() {
            (1u64 << 50) / BLOCK_SIZE
        } else {
            0
        };
        reply.statfs(
            free,
            free,
            free,
            0,
            0,
            BLOCK_SIZE as u32,
            255,
            BLOCK_SIZE as u32,
        );
    }
}

/// Whether FUSE can be used here, or what to install.
fn check_fuse() -> Result<()> {
    if let Err(error) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/fuse")
    {
        bail!(
            "FUSE is not available here (/dev/fuse: {error}): install the `fuse3` package \
             (apt install fuse3) and load the module (modprobe fuse); in a container, pass \
             /dev/fuse and CAP_SYS_ADMIN"
        );
    }
    Ok(())
}

pub(super) async fn run(ctx: &Ctx, vfs: Vfs, args: &MountArgs) -> Result<()> {
    check_fuse()?;
    let mountpoint = args.mountpoint.clone();
    let owner = std::fs::metadata(&mountpoint)
        .with_context(|| format!("the mount point {}", mountpoint.display()))?;
    if !owner.is_dir() {
        bail!("the mount point {} is not a folder", mountpoint.display());
    }
    let fs = Fs {
        vfs: vfs.clone(),
        runtime: tokio::runtime::Handle::current(),
        uid: owner.uid(),
        gid: owner.gid(),
    };
    let mut config = fuser::Config::default();
    config.mount_options = vec![
        if vfs.writable() {
            MountOption::RW
        } else {
            MountOption::RO
        },
        MountOption::NoSuid,
        MountOption::NoDev,
        MountOption::FSName(format!("1fichier:{}", args.media.remote)),
        MountOption::Subtype("1fichier".into()),
    ];
    if args.allow_other {
        config.acl = SessionACL::All;
    }
    config.n_threads = Some(4);
    let session = {
        let mountpoint = mountpoint.clone();
        tokio::task::spawn_blocking(move || fuser::spawn_mount(fs, &mountpoint, &config))
    }
    .await?
    .map_err(|error| mount_error(&mountpoint, &error))?;
    ctx.printer.note(format!(
        "{} is mounted on {} ({}); Ctrl-C or SIGTERM unmounts",
        args.media.remote,
        mountpoint.display(),
        if vfs.writable() {
            "writable: files are uploaded when closed"
        } else {
            "read-only"
        }
    ));
    ctx.printer.json_line(&serde_json::json!({
        "event": "mounted", "remote": args.media.remote, "mountpoint": mountpoint,
    }));
    // Until a signal, or until someone else unmounts (the session then ends by itself).
    let ended_elsewhere = async {
        while !session.guard.is_finished() {
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    };
    tokio::select! {
        signal = stop_signal() => signal?,
        () = ended_elsewhere => {}
    }
    let unmounted = tokio::task::spawn_blocking(move || session.umount_and_join()).await?;
    if let Err(error) = unmounted {
        // Files still open there (a media server's): detach the mount now, as a service stop
        // must; it goes away once they are closed.
        ctx.printer.note(format!(
            "{} is busy ({error}): detaching it (lazy unmount)",
            mountpoint.display()
        ));
        detach(&mountpoint).await?;
    }
    report(ctx, &vfs, "unmounted").await;
    Ok(())
}

/// `fusermount3 -u -z`, else (as root, without the fuse3 package) `umount -l`.
async fn detach(mountpoint: &Path) -> Result<()> {
    for (program, flags) in [("fusermount3", ["-u", "-z"]), ("umount", ["-l", "--"])] {
        let status = tokio::process::Command::new(program)
            .args(flags)
            .arg(mountpoint)
            .status()
            .await;
        if status.is_ok_and(|status| status.success()) {
            return Ok(());
        }
    }
    bail!(
        "cannot unmount {}: run `fusermount3 -u -z {0}`",
        mountpoint.display()
    )
}

fn mount_error(mountpoint: &Path, error: &std::io::Error) -> anyhow::Error {
    let hint = if error.kind() == std::io::ErrorKind::NotFound {
        ": fusermount3 is missing, install the `fuse3` package (apt install fuse3)"
    } else {
        ""
    };
    anyhow::anyhow!("cannot mount on {}: {error}{hint}", mountpoint.display())
}
