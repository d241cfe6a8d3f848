//! `1fichier mount`: the file system through FUSE (the `fuser` crate: no libfuse; as root the
//! kernel mount itself, otherwise `fusermount3`). Each request is answered from a task on the
//! runtime, so a slow read never holds the others.

use super::{Ctx, report, stop_signal};
use crate::cli::MountArgs;
use anyhow::{Context, Result, bail};
use fuser::{
    Errno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags, Generation, INodeNo, LockOwner,
    MountOption, OpenAccMode, OpenFlags, ReplyAttr, ReplyData, ReplyDirectory, ReplyEmpty,
    ReplyEntry, ReplyOpen, ReplyStatfs, ReplyXattr, Request, SessionACL,
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
        error if error.is_not_found() => Errno::ENOENT,
        _ => Errno::EIO,
    }
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
            perm: if folder { 0o555 } else { 0o444 },
            nlink: if folder { 2 } else { 1 },
            uid: self.uid,
            gid: self.gid,
            rdev: 0,
            flags: 0,
            blksize: BLOCK_SIZE as u32,
        }
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
            tracing::info!(inode = ino.0, "a write was refused: the mount is read-only");
            return reply.error(Errno::EROFS);
        }
        match self.vfs.entry(ino.0) {
            // The bytes of an inode never change: the kernel may keep its pages across opens.
            Ok(entry) if !entry.is_folder() => {
                reply.opened(FileHandle(0), FopenFlags::FOPEN_KEEP_CACHE);
            }
            Ok(_) => reply.error(Errno::EISDIR),
            Err(error) => reply.error(errno(&error)),
        }
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

    /// Nothing to write back: the mount is read-only.
    fn flush(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _lock_owner: LockOwner,
        reply: ReplyEmpty,
    ) {
        reply.ok();
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

    fn statfs(&self, _req: &Request, _ino: INodeNo, reply: ReplyStatfs) {
        reply.statfs(0, 0, 0, 0, 0, BLOCK_SIZE as u32, 255, BLOCK_SIZE as u32);
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
        MountOption::RO,
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
        "{} is mounted on {} (read-only); Ctrl-C or SIGTERM unmounts",
        args.media.remote,
        mountpoint.display()
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
    report(ctx, &vfs, "unmounted");
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
