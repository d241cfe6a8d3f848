//! `1fichier serve webdav`: the folder over WebDAV (the `dav-server` crate behind axum), for
//! file managers, media players and desktops. Reads as `serve http`; with `--writes`, PUT,
//! MKCOL, MOVE, COPY and DELETE map to the file system's writes (a PUT answers once the file is
//! stored and verified). Locks are kept in memory (`MemLs`); properties set by clients
//! (PROPPATCH) too, for as long as the server runs. Counters at `/.metrics`.

use super::Ctx;
use super::access::serve;
use crate::cli::ServeWebdavArgs;
use anyhow::Result;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bytes::{Buf, Bytes};
use dav_server::davpath::DavPath;
use dav_server::fs::{
    DavDirEntry, DavFile, DavFileSystem, DavMetaData, DavProp, FsError, FsFuture, FsResult,
    FsStream, OpenOptions, ReadDirMeta,
};
use dav_server::{DavHandler, memls::MemLs};
use futures::FutureExt;
use onefichier_vfs::{Entry, Error, Vfs};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::io::SeekFrom;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub(super) async fn run(ctx: &Ctx, vfs: Vfs, args: &ServeWebdavArgs) -> Result<()> {
    let dav = DavHandler::builder()
        .filesystem(Box::new(DavFs {
            vfs: vfs.clone(),
            props: Arc::default(),
        }))
        .locksystem(MemLs::new())
        .build_handler();
    let app = axum::Router::new().fallback(answer).with_state(dav);
    serve(ctx, &vfs, &args.media.remote, &args.server, app).await
}

async fn answer(State(dav): State<DavHandler>, request: Request) -> Response {
    dav.handle(request).await.into_response()
}

/// Properties clients set (PROPPATCH), by path: `dav-server` asks the file system to keep them.
type Props = Arc<Mutex<HashMap<String, Vec<DavProp>>>>;

#[derive(Clone)]
struct DavFs {
    vfs: Vfs,
    props: Props,
}

/// The path relative to the served folder (`a/b`; empty for itself).
fn relative(path: &DavPath) -> FsResult<String> {
    path.as_rel_ospath()
        .to_str()
        .map(str::to_owned)
        .ok_or(FsError::NotFound)
}

/// A path's folder and name.
fn split(path: &DavPath) -> FsResult<(String, String)> {
    let path = relative(path)?;
    match path.rsplit_once('/') {
        Some((folder, name)) => Ok((folder.to_owned(), name.to_owned())),
        None if path.is_empty() => Err(FsError::Forbidden),
        None => Ok((String::new(), path)),
    }
}

fn fs_error(error: &Error) -> FsError {
    match error {
        error if error.is_not_found() => FsError::NotFound,
        Error::Exists | Error::NotEmpty => FsError::Exists,
        Error::IsAFolder | Error::NotAFolder | Error::ReadOnly => FsError::Forbidden,
        Error::NotPermitted(_) => {
            tracing::info!(%error, "a change the service cannot make was refused");
            FsError::Forbidden
        }
        Error::Client(error) if error.kind() == onefichier_client::ErrorKind::TooLarge => {
            FsError::TooLarge
        }
        error => {
            tracing::warn!(%error, "a WebDAV request failed");
            FsError::GeneralFailure
        }
    }
}

impl DavFs {
    async fn resolve(&self, path: &DavPath) -> FsResult<Arc<Entry>> {
        self.vfs
            .resolve(&relative(path)?)
            .await
            .map_err(|e| fs_error(&e))
    }

    /// The folder of `path` (its inode) and the name in it.
    async fn place(&self, path: &DavPath) -> FsResult<(u64, String)> {
        let (folder, name) = split(path)?;
        let folder = self.vfs.resolve(&folder).await.map_err(|e| fs_error(&e))?;
        if !folder.is_folder() {
            return Err(FsError::NotFound);
        }
        Ok((folder.inode, name))
    }

    async fn open_file(&self, path: &DavPath, options: OpenOptions) -> FsResult<Box<dyn DavFile>> {
        let found = match self.resolve(path).await {
            Ok(entry) => Some(entry),
            Err(FsError::NotFound) => None,
            Err(error) => return Err(error),
        };
        let writing = options.write || options.append;
        let entry = match found {
            Some(entry) if entry.is_folder() => return Err(FsError::Forbidden),
            Some(_) if writing && options.create_new => return Err(FsError::Exists),
            Some(entry) if writing => {
                if options.append {
                    return Err(fs_error(&Error::NotPermitted(format!(
                        "{}: the service cannot append to a stored file",
                        entry.name
                    ))));
                }
                let inode = self
                    .vfs
                    .open_for_writing(entry.inode, options.truncate)
                    .await
                    .map_err(|e| fs_error(&e))?;
                self.vfs.entry(inode).map_err(|e| fs_error(&e))?
            }
            Some(entry) => entry,
            None if writing && (options.create || options.create_new) => {
                let (folder, name) = self.place(path).await?;
                self.vfs
                    .create(folder, &name)
                    .await
                    .map_err(|e| fs_error(&e))?
            }
            None => return Err(FsError::NotFound),
        };
        Ok(Box::new(DavHandle {
            vfs: self.vfs.clone(),
            inode: entry.inode,
            position: 0,
            writing,
        }))
    }
}

impl DavFileSystem for DavFs {
    fn open<'a>(
        &'a self,
        path: &'a DavPath,
        options: OpenOptions,
    ) -> FsFuture<'a, Box<dyn DavFile>> {
        self.open_file(path, options).boxed()
    }

    fn read_dir<'a>(
        &'a self,
        path: &'a DavPath,
        _meta: ReadDirMeta,
    ) -> FsFuture<'a, FsStream<Box<dyn DavDirEntry>>> {
        async move {
            let folder = self.resolve(path).await?;
            let entries = self
                .vfs
                .list(folder.inode)
                .await
                .map_err(|e| fs_error(&e))?;
            let entries: Vec<FsResult<Box<dyn DavDirEntry>>> = entries
                .into_iter()
                .map(|entry| Ok(Box::new(Meta(entry)) as Box<dyn DavDirEntry>))
                .collect();
            Ok(Box::pin(futures::stream::iter(entries)) as FsStream<Box<dyn DavDirEntry>>)
        }
        .boxed()
    }

    fn metadata<'a>(&'a self, path: &'a DavPath) -> FsFuture<'a, Box<dyn DavMetaData>> {
        async move { Ok(Box::new(Meta(self.resolve(path).await?)) as Box<dyn DavMetaData>) }.boxed()
    }

    fn create_dir<'a>(&'a self, path: &'a DavPath) -> FsFuture<'a, ()> {
        async move {
            let (folder, name) = self.place(path).await?;
            self.vfs
                .mkdir(folder, &name)
                .await
                .map_err(|e| fs_error(&e))?;
            Ok(())
        }
        .boxed()
    }

    fn remove_dir<'a>(&'a self, path: &'a DavPath) -> FsFuture<'a, ()> {
        async move {
            let (folder, name) = self.place(path).await?;
            self.vfs
                .rmdir(folder, &name)
                .await
                .map_err(|e| fs_error(&e))?;
            self.forget_props(path);
            Ok(())
        }
        .boxed()
    }

    fn remove_file<'a>(&'a self, path: &'a DavPath) -> FsFuture<'a, ()> {
        async move {
            let (folder, name) = self.place(path).await?;
            self.vfs
                .unlink(folder, &name)
                .await
                .map_err(|e| fs_error(&e))?;
            self.forget_props(path);
            Ok(())
        }
        .boxed()
    }

    fn rename<'a>(&'a self, from: &'a DavPath, to: &'a DavPath) -> FsFuture<'a, ()> {
        async move {
            let (folder, name) = self.place(from).await?;
            let (new_folder, new_name) = self.place(to).await?;
            self.vfs
                .rename(folder, &name, new_folder, &new_name)
                .await
                .map_err(|e| fs_error(&e))?;
            let moved = self.props().remove(&key(from));
            if let Some(props) = moved {
                self.props().insert(key(to), props);
            }
            Ok(())
        }
        .boxed()
    }

    fn copy<'a>(&'a self, from: &'a DavPath, to: &'a DavPath) -> FsFuture<'a, ()> {
        async move {
            let (folder, name) = self.place(from).await?;
            let (new_folder, new_name) = self.place(to).await?;
            self.vfs
                .copy(folder, &name, new_folder, &new_name)
                .await
                .map_err(|e| fs_error(&e))?;
            let copied = self.props().get(&key(from)).cloned();
            match copied {
                Some(props) => self.props().insert(key(to), props),
                None => self.props().remove(&key(to)),
            };
            Ok(())
        }
        .boxed()
    }

    fn have_props<'a>(
        &'a self,
        path: &'a DavPath,
    ) -> std::pin::Pin<Box<dyn Future<Output = bool> + Send + 'a>> {
        let have = self
            .props()
            .get(&key(path))
            .is_some_and(|props| !props.is_empty());
        Box::pin(std::future::ready(have))
    }

    fn patch_props<'a>(
        &'a self,
        path: &'a DavPath,
        patch: Vec<(bool, DavProp)>,
    ) -> FsFuture<'a, Vec<(StatusCode, DavProp)>> {
        async move {
            self.resolve(path).await?;
            let mut all = self.props();
            let props = all.entry(key(path)).or_default();
            let mut answer = Vec::with_capacity(patch.len());
            for (set, prop) in patch {
                props.retain(|p| !(p.name == prop.name && p.namespace == prop.namespace));
                let status = StatusCode::OK;
                let shown = DavProp {
                    xml: None,
                    ..prop.clone()
                };
                if set {
                    props.push(prop);
                }
                answer.push((status, shown));
            }
            Ok(answer)
        }
        .boxed()
    }

    fn get_props<'a>(&'a self, path: &'a DavPath, do_content: bool) -> FsFuture<'a, Vec<DavProp>> {
        let props = self.props().get(&key(path)).cloned().unwrap_or_default();
        let props = props
            .into_iter()
            .map(|prop| DavProp {
                xml: prop.xml.filter(|_| do_content),
                ..prop
            })
            .collect();
        Box::pin(std::future::ready(Ok(props)))
    }

    fn get_prop<'a>(&'a self, path: &'a DavPath, prop: DavProp) -> FsFuture<'a, Vec<u8>> {
        let found = self.props().get(&key(path)).and_then(|props| {
            props
                .iter()
                .find(|p| p.name == prop.name && p.namespace == prop.namespace)
                .and_then(|p| p.xml.clone())
        });
        Box::pin(std::future::ready(found.ok_or(FsError::NotFound)))
    }
}

impl DavFs {
    fn props(&self) -> parking_lot::MutexGuard<'_, HashMap<String, Vec<DavProp>>> {
        self.props.lock()
    }

    fn forget_props(&self, path: &DavPath) {
        let prefix = key(path);
        self.props()
            .retain(|path, _| path != &prefix && !path.starts_with(&format!("{prefix}/")));
    }
}

/// The properties' key: the relative path without a trailing slash.
fn key(path: &DavPath) -> String {
    relative(path).unwrap_or_default()
}

/// An entry as `dav-server` sees it.
#[derive(Debug, Clone)]
struct Meta(Arc<Entry>);

impl DavMetaData for Meta {
    fn len(&self) -> u64 {
        self.0.size
    }

    fn modified(&self) -> FsResult<SystemTime> {
        Ok(UNIX_EPOCH + Duration::from_secs(u64::try_from(self.0.mtime).unwrap_or(0)))
    }

    fn is_dir(&self) -> bool {
        self.0.is_folder()
    }

    /// The inode changes with the bytes (a link per upload), the date only by the second.
    fn etag(&self) -> Option<String> {
        Some(format!("{:x}-{:x}", self.0.inode, self.0.size))
    }
}

impl DavDirEntry for Meta {
    fn name(&self) -> Vec<u8> {
        self.0.name.as_bytes().to_vec()
    }

    fn metadata(&self) -> FsFuture<'_, Box<dyn DavMetaData>> {
        Box::pin(std::future::ready(Ok(
            Box::new(self.clone()) as Box<dyn DavMetaData>
        )))
    }
}

/// An open file: reads at its position; writes to a file being written.
struct DavHandle {
    vfs: Vfs,
    inode: u64,
    position: u64,
    writing: bool,
}

impl std::fmt::Debug for DavHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DavHandle")
            .field("inode", &self.inode)
            .field("position", &self.position)
            .field("writing", &self.writing)
            .finish()
    }
}

impl DavHandle {
    async fn write(&mut self, bytes: &[u8]) -> FsResult<()> {
        self.vfs
            .write(self.inode, self.position, bytes)
            .await
            .map_err(|e| fs_error(&e))?;
        self.position += bytes.len() as u64;
        Ok(())
    }
}

impl DavFile for DavHandle {
    fn metadata(&mut self) -> FsFuture<'_, Box<dyn DavMetaData>> {
        let entry = self.vfs.entry(self.inode).map_err(|e| fs_error(&e));
        Box::pin(std::future::ready(
            entry.map(|entry| Box::new(Meta(entry)) as Box<dyn DavMetaData>),
        ))
    }

    fn write_buf(&mut self, mut buf: Box<dyn Buf + Send>) -> FsFuture<'_, ()> {
        async move {
            let bytes = buf.copy_to_bytes(buf.remaining());
            self.write(&bytes).await
        }
        .boxed()
    }

    fn write_bytes(&mut self, buf: Bytes) -> FsFuture<'_, ()> {
        async move { self.write(&buf).await }.boxed()
    }

    fn read_bytes(&mut self, count: usize) -> FsFuture<'_, Bytes> {
        async move {
            let bytes = self
                .vfs
                .read(self.inode, self.position, count as u64)
                .await
                .map_err(|e| fs_error(&e))?;
            self.position += bytes.len() as u64;
            Ok(bytes)
        }
        .boxed()
    }

    fn seek(&mut self, position: SeekFrom) -> FsFuture<'_, u64> {
        let size = self.vfs.entry(self.inode).map_or(0, |entry| entry.size);
        let target = match position {
            SeekFrom::Start(at) => Some(at),
            SeekFrom::End(delta) => size.checked_add_signed(delta),
            SeekFrom::Current(delta) => self.position.checked_add_signed(delta),
        };
        Box::pin(std::future::ready(match target {
            Some(at) => {
                self.position = at;
                Ok(at)
            }
            None => Err(FsError::GeneralFailure),
        }))
    }

    /// The end of a PUT: the file is uploaded and checked before the answer.
    fn flush(&mut self) -> FsFuture<'_, ()> {
        async move {
            if std::mem::take(&mut self.writing) {
                self.vfs.close(self.inode).await.map_err(|e| fs_error(&e))?;
            }
            Ok(())
        }
        .boxed()
    }
}

impl Drop for DavHandle {
    /// A writer gone without a flush (a PUT cut short) stores nothing: half a file must not
    /// replace a whole one.
    fn drop(&mut self) {
        if self.writing {
            let (vfs, inode) = (self.vfs.clone(), self.inode);
            tokio::spawn(async move { vfs.abandon(inode).await });
        }
    }
}
