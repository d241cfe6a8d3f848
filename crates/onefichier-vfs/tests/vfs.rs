//! The file system against the server in process: names, reads at any offset, one token per
//! file, the block cache, the tree across a restart, files stored in parts.

use onefichier_client::protocol::user::Offer;
use onefichier_client::{Client, NoProgress, UploadOptions};
use onefichier_test_support::in_process::InProcessServer;
use onefichier_vfs::{BLOCK_SIZE, CacheOptions, Kind, ROOT_INODE, Vfs, VfsOptions};
use std::path::Path;
use std::sync::Arc;

struct Account {
    server: InProcessServer,
    key: String,
    state: tempfile::TempDir,
    local: tempfile::TempDir,
}

impl Account {
    async fn new() -> Self {
        let server = InProcessServer::new(|_| {}).await.unwrap();
        let key = server
            .account_with_key("user@example.com", Offer::Premium)
            .await
            .unwrap();
        Self {
            server,
            key,
            state: tempfile::tempdir().unwrap(),
            local: tempfile::tempdir().unwrap(),
        }
    }

    /// A client keeping its state (the tree) in the account's state folder, as a process would.
    fn client(&self) -> Client {
        self.server
            .client_builder(Some(&self.key))
            .state_dir(self.state.path())
            .build()
            .unwrap()
    }

    async fn upload(&self, client: &Client, folder: i64, name: &str, bytes: &[u8]) {
        let path = self.local.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        client
            .upload_file(
                &path,
                &UploadOptions::into_folder(folder),
                Arc::new(NoProgress),
            )
            .await
            .unwrap();
    }
}

/// The names in the mounted folder, in their order.
async fn root_names(vfs: &Vfs) -> Vec<String> {
    let entries = vfs.list(ROOT_INODE).await.unwrap();
    entries.iter().map(|e| e.name.clone()).collect()
}

fn disk_cache(dir: &Path) -> VfsOptions {
    VfsOptions {
        cache: CacheOptions::Disk {
            dir: dir.to_owned(),
            max_size: 1 << 30,
            max_age: None,
        },
        ..VfsOptions::default()
    }
}

#[tokio::test]
async fn reads_at_any_offset_cost_one_token_and_cached_reads_no_request() {
    let account = Account::new().await;
    let client = account.client();
    let video = onefichier_test_support::pseudo_random(5 * BLOCK_SIZE as usize + 12_345, 7);
    let media = client.mkdir_p("/media").await.unwrap();
    account.upload(&client, media, "film.mkv", &video).await;
    account.upload(&client, media, "notes.txt", b"hello").await;

    let cache = tempfile::tempdir().unwrap();
    let vfs = Vfs::open(client.clone(), "/media", disk_cache(cache.path()))
        .await
        .unwrap();
    let names = root_names(&vfs).await;
    assert_eq!(names, ["film.mkv", "notes.txt"]);
    let film = vfs.resolve("film.mkv").await.unwrap();
    assert_eq!(film.size, video.len() as u64);
    assert!(film.mtime > 1_700_000_000, "the upload date is the mtime");

    let calls_before = vfs.stats().api_calls;
    // Random reads anywhere, block edges included: each matches the source.
    let mut x = 12345u64;
    for _ in 0..300 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let offset = x % video.len() as u64;
        let len = (x >> 32) % 300_000 + 1;
        let got = vfs.read(film.inode, offset, len).await.unwrap();
        let end = (offset + len).min(video.len() as u64) as usize;
        assert_eq!(&got[..], &video[offset as usize..end], "at {offset}+{len}");
    }
    let stats = vfs.stats();
    assert_eq!(stats.tokens, 1, "one token serves every seek: {stats:?}");
    assert_eq!(stats.api_calls - calls_before, 1, "{stats:?}");
    assert_eq!(stats.refused, 0);
    assert!(
        stats.network_bytes <= video.len() as u64 + 4 * BLOCK_SIZE,
        "each block is fetched about once: {stats:?}"
    );

    // Everything is cached now: the whole file again costs no request at all.
    let before = vfs.stats();
    let whole = vfs
        .read(film.inode, 0, video.len() as u64 + 10)
        .await
        .unwrap();
    assert_eq!(&whole[..], &video[..]);
    let after = vfs.stats();
    assert_eq!(after.range_requests, before.range_requests);
    assert_eq!(after.network_bytes, before.network_bytes);
    assert!(after.cache_hits > before.cache_hits);

    // Past the end: nothing; a folder: not a file.
    assert!(
        vfs.read(film.inode, video.len() as u64, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(vfs.read(ROOT_INODE, 0, 1).await.is_err());
}

#[tokio::test]
async fn the_tree_and_the_blocks_survive_a_restart() {
    let account = Account::new().await;
    let client = account.client();
    let shows = client.mkdir_p("/library/shows").await.unwrap();
    let movies = client.mkdir_p("/library/movies").await.unwrap();
    for n in 0..20 {
        account
            .upload(
                &client,
                shows,
                &format!("e{n:02}.mkv"),
                format!("episode {n}").as_bytes(),
            )
            .await;
    }
    account.upload(&client, movies, "a.mkv", b"movie").await;
    let cache = tempfile::tempdir().unwrap();

    let walk = |vfs: Vfs| async move {
        let mut files = Vec::new();
        let mut stack = vec![ROOT_INODE];
        while let Some(folder) = stack.pop() {
            for entry in vfs.list(folder).await.unwrap() {
                match entry.kind {
                    Kind::Folder { .. } => stack.push(entry.inode),
                    Kind::File { .. } => files.push((entry.inode, entry.name.clone(), entry.mtime)),
                }
            }
        }
        files.sort();
        files
    };
    let vfs = Vfs::open(client, "/library", disk_cache(&cache.path().join("blocks")))
        .await
        .unwrap();
    let first = walk(vfs.clone()).await;
    assert_eq!(first.len(), 21);
    let a = vfs.resolve("movies/a.mkv").await.unwrap();
    assert_eq!(&vfs.read(a.inode, 0, 100).await.unwrap()[..], b"movie");
    // As the front ends do when they stop: blocks are written behind the reads.
    vfs.settle().await;
    drop(vfs);
    // What is kept names private files and holds their links and bytes: the owner's only.
    use std::os::unix::fs::PermissionsExt;
    let private = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o077 == 0;
    let trees: Vec<_> = std::fs::read_dir(account.state.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("tree-")
        })
        .filter(|p| p.extension().is_some_and(|e| e == "sqlite"))
        .collect();
    assert_eq!(trees.len(), 1, "{trees:?}");
    assert!(private(&trees[0]), "the tree file is owner-only");
    assert!(
        private(&cache.path().join("blocks")),
        "the block folder is owner-only"
    );

    // A new process: same state folder and cache, a new client.
    let client = account.client();
    let vfs = Vfs::open(client, "/library", disk_cache(&cache.path().join("blocks")))
        .await
        .unwrap();
    assert_eq!(
        walk(vfs.clone()).await,
        first,
        "same names, inodes and times"
    );
    let a = vfs.resolve("movies/a.mkv").await.unwrap();
    assert_eq!(&vfs.read(a.inode, 0, 100).await.unwrap()[..], b"movie");
    let stats = vfs.stats();
    assert_eq!(
        stats.api_calls, 0,
        "a warm restart calls nothing: {stats:?}"
    );
    assert_eq!(stats.range_requests, 0);
}

#[tokio::test]
async fn a_file_stored_in_parts_reads_as_one_and_duplicates_get_download_names() {
    let account = Account::new().await;
    let client = account.client();
    let big = onefichier_test_support::pseudo_random(3 * BLOCK_SIZE as usize + 99, 3);
    let path = account.local.path().join("disk.img");
    std::fs::write(&path, &big).unwrap();
    let folder = client.mkdir_p("/backups").await.unwrap();
    // Parts of 1.3 blocks: part edges fall inside blocks.
    client
        .upload_split(
            &path,
            &UploadOptions::into_folder(folder),
            BLOCK_SIZE + BLOCK_SIZE / 3,
            Arc::new(NoProgress),
        )
        .await
        .unwrap();
    // Two files of one name (the service allows it).
    account.upload(&client, folder, "same.txt", b"first").await;
    let other = account.local.path().join("other");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(other.join("same.txt"), b"second").unwrap();
    client
        .upload_file(
            &other.join("same.txt"),
            &UploadOptions::into_folder(folder),
            Arc::new(NoProgress),
        )
        .await
        .unwrap();

    let vfs = Vfs::open(client, "/backups", VfsOptions::default())
        .await
        .unwrap();
    let names = root_names(&vfs).await;
    assert_eq!(names, ["disk.img", "same.txt", "same (2).txt"]);
    let disk = vfs.resolve("disk.img").await.unwrap();
    assert_eq!(disk.size, big.len() as u64);
    let whole = vfs.read(disk.inode, 0, disk.size).await.unwrap();
    assert!(whole[..] == big[..], "the parts, in order");
    let across = vfs
        .read(disk.inode, BLOCK_SIZE + 1000, BLOCK_SIZE)
        .await
        .unwrap();
    assert!(across[..] == big[(BLOCK_SIZE + 1000) as usize..(2 * BLOCK_SIZE + 1000) as usize]);
    let mut contents = Vec::new();
    for name in ["same.txt", "same (2).txt"] {
        let entry = vfs.resolve(name).await.unwrap();
        contents.push(vfs.read(entry.inode, 0, 10).await.unwrap());
    }
    contents.sort();
    assert_eq!(contents, [&b"first"[..], &b"second"[..]]);
    assert!(vfs.resolve("missing").await.unwrap_err().is_not_found());
}

#[tokio::test]
async fn a_file_read_whole_is_checked_against_its_whirlpool() {
    let account = Account::new().await;
    let client = account.client();
    let bytes = onefichier_test_support::pseudo_random(3 * BLOCK_SIZE as usize + 5, 11);
    let folder = client.mkdir_p("/check").await.unwrap();
    account.upload(&client, folder, "good.bin", &bytes).await;
    account
        .upload(&client, folder, "bad.bin", &bytes[..bytes.len() - 1])
        .await;
    // The server's copy of bad.bin changes behind the listing's back (a byte flipped on disk).
    let mut stored: Vec<_> = walk_files(&account.server.data_dir().join("blobs"));
    stored.retain(|path| std::fs::metadata(path).unwrap().len() == bytes.len() as u64 - 1);
    assert_eq!(stored.len(), 1, "{stored:?}");
    let mut damaged = std::fs::read(&stored[0]).unwrap();
    damaged[2 * BLOCK_SIZE as usize] ^= 1;
    std::fs::write(&stored[0], damaged).unwrap();

    let vfs = Vfs::open(client, "/check", VfsOptions::default())
        .await
        .unwrap();
    let good = vfs.resolve("good.bin").await.unwrap();
    assert!(vfs.read(good.inode, 0, good.size).await.unwrap()[..] == bytes[..]);
    let bad = vfs.resolve("bad.bin").await.unwrap();
    let Err(error) = vfs.read(bad.inode, 0, bad.size).await else {
        panic!("a damaged file read whole must fail");
    };
    assert!(
        matches!(error, onefichier_vfs::Error::Corrupt(_)),
        "{error}"
    );
    assert!(
        vfs.read(bad.inode, 0, 10).await.is_err(),
        "and stays refused"
    );
}

fn walk_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk_files(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// The names and sizes of the files the service stores in `folder`.
async fn stored(client: &Client, folder: i64) -> Vec<(String, u64)> {
    let listing = Client::list_folder(client, folder).await.unwrap();
    let mut files: Vec<(String, u64)> = listing
        .items
        .unwrap_or_default()
        .iter()
        .map(|f| (f.filename.clone(), f.size))
        .collect();
    files.sort();
    files
}

#[tokio::test]
async fn written_files_are_uploaded_on_close_and_changes_map_to_their_calls() {
    let account = Account::new().await;
    let client = account.client();
    let folder = client.mkdir_p("/library").await.unwrap();
    account
        .upload(&client, folder, "old.txt", b"old bytes")
        .await;
    let spool = tempfile::tempdir().unwrap();
    let options = VfsOptions {
        writes: Some(spool.path().join("spool")),
        ..VfsOptions::default()
    };
    let vfs = Vfs::open(client.clone(), "/library", options)
        .await
        .unwrap();
    assert_eq!(root_names(&vfs).await, ["old.txt"]);

    // A new file: shown at once, readable while written, stored (verified) when closed.
    let film = onefichier_test_support::pseudo_random(3 * BLOCK_SIZE as usize + 77, 3);
    let made = vfs.create(ROOT_INODE, "film.mkv").await.unwrap();
    for (index, chunk) in film.chunks(128 * 1024).enumerate() {
        vfs.write(made.inode, (index * 128 * 1024) as u64, chunk)
            .await
            .unwrap();
    }
    assert_eq!(root_names(&vfs).await, ["old.txt", "film.mkv"]);
    assert_eq!(
        &vfs.read(made.inode, 5, 10).await.unwrap()[..],
        &film[5..15]
    );
    vfs.close(made.inode).await.unwrap();
    assert_eq!(
        stored(&client, folder).await,
        [
            ("film.mkv".into(), film.len() as u64),
            ("old.txt".into(), 9)
        ]
    );
    let listings = vfs.stats().listings;
    let uploaded = vfs.resolve("film.mkv").await.unwrap();
    assert!(
        uploaded.links().len() == 1,
        "now a stored file: {uploaded:?}"
    );
    assert_eq!(
        vfs.entry(made.inode).unwrap().inode,
        uploaded.inode,
        "the old inode follows"
    );
    let back = vfs
        .read(uploaded.inode, 0, film.len() as u64)
        .await
        .unwrap();
    assert_eq!(&back[..], &film[..]);

    // A stored file's bytes cannot change in place; written whole it is replaced.
    let old = vfs.resolve("old.txt").await.unwrap();
    assert!(matches!(
        vfs.open_for_writing(old.inode, false).await,
        Err(onefichier_vfs::Error::NotPermitted(_))
    ));
    let handle = vfs.open_for_writing(old.inode, true).await.unwrap();
    vfs.write(handle, 0, b"new").await.unwrap();
    vfs.close(handle).await.unwrap();
    assert_eq!(
        stored(&client, folder).await,
        [
            ("film.mkv".into(), film.len() as u64),
            ("old.txt".into(), 3)
        ]
    );
    let old_now = vfs.resolve("old.txt").await.unwrap();
    assert_eq!(&vfs.read(old_now.inode, 0, 10).await.unwrap()[..], b"new");

    // Folders, moves, renames and removals: one call each, the tree patched, nothing listed.
    let shelf = vfs.mkdir(ROOT_INODE, "shelf").await.unwrap();
    assert!(matches!(
        vfs.mkdir(ROOT_INODE, "shelf").await,
        Err(onefichier_vfs::Error::Exists)
    ));
    vfs.rename(ROOT_INODE, "film.mkv", shelf.inode, "movie.mkv")
        .await
        .unwrap();
    vfs.rename(ROOT_INODE, "old.txt", ROOT_INODE, "notes.txt")
        .await
        .unwrap();
    assert_eq!(root_names(&vfs).await, ["shelf", "notes.txt"]);
    let names: Vec<String> = vfs
        .list(shelf.inode)
        .await
        .unwrap()
        .iter()
        .map(|e| e.name.clone())
        .collect();
    assert_eq!(names, ["movie.mkv"]);
    assert!(matches!(
        vfs.rmdir(ROOT_INODE, "shelf").await,
        Err(onefichier_vfs::Error::NotEmpty)
    ));
    vfs.unlink(shelf.inode, "movie.mkv").await.unwrap();
    vfs.rmdir(ROOT_INODE, "shelf").await.unwrap();
    assert_eq!(
        vfs.stats().listings,
        listings,
        "our own changes list nothing"
    );
    assert_eq!(stored(&client, folder).await, [("notes.txt".into(), 3)]);
    let listing = client.list_folder(folder).await.unwrap();
    assert!(listing.sub_folders.is_empty(), "{listing:?}");

    // The service stores no empty file: kept here only, listed, readable, removable.
    let empty = vfs.create(ROOT_INODE, "empty").await.unwrap();
    vfs.close(empty.inode).await.unwrap();
    assert_eq!(root_names(&vfs).await, ["notes.txt", "empty"]);
    assert_eq!(vfs.resolve("empty").await.unwrap().size, 0);
    assert_eq!(stored(&client, folder).await, [("notes.txt".into(), 3)]);
    vfs.unlink(ROOT_INODE, "empty").await.unwrap();
    assert_eq!(root_names(&vfs).await, ["notes.txt"]);

    // A copy is a new stored file with its own link.
    vfs.copy(ROOT_INODE, "notes.txt", ROOT_INODE, "copy.txt")
        .await
        .unwrap();
    assert_eq!(
        stored(&client, folder).await,
        [("copy.txt".into(), 3), ("notes.txt".into(), 3)]
    );
    let copy = vfs.resolve("copy.txt").await.unwrap();
    assert_eq!(&vfs.read(copy.inode, 0, 10).await.unwrap()[..], b"new");

    // A file still being written, renamed over a stored one (an editor's save): the stored
    // one is removed only once the new one is uploaded in its place.
    let draft = vfs.create(ROOT_INODE, ".copy.txt.swp").await.unwrap();
    vfs.write(draft.inode, 0, b"edited").await.unwrap();
    vfs.rename(ROOT_INODE, ".copy.txt.swp", ROOT_INODE, "copy.txt")
        .await
        .unwrap();
    assert_eq!(root_names(&vfs).await, ["notes.txt", "copy.txt"]);
    assert_eq!(
        stored(&client, folder).await,
        [("copy.txt".into(), 3), ("notes.txt".into(), 3)],
        "nothing removed before the upload"
    );
    vfs.close(draft.inode).await.unwrap();
    assert_eq!(
        stored(&client, folder).await,
        [("copy.txt".into(), 6), ("notes.txt".into(), 3)]
    );
    let edited = vfs.resolve("copy.txt").await.unwrap();
    assert_eq!(&vfs.read(edited.inode, 0, 10).await.unwrap()[..], b"edited");

    // A flush while the file is still open for writing (a forked process closing its copy of
    // the handle): stored, and what is written after is stored again in its place.
    let log = vfs.create(ROOT_INODE, "log.txt").await.unwrap();
    vfs.write(log.inode, 0, b"first ").await.unwrap();
    vfs.flush(log.inode).await.unwrap();
    assert!(
        stored(&client, folder)
            .await
            .contains(&("log.txt".into(), 6))
    );
    vfs.write(log.inode, 6, b"second").await.unwrap();
    vfs.close(log.inode).await.unwrap();
    assert_eq!(
        stored(&client, folder).await,
        [
            ("copy.txt".into(), 6),
            ("log.txt".into(), 12),
            ("notes.txt".into(), 3)
        ]
    );
    let log = vfs.resolve("log.txt").await.unwrap();
    assert_eq!(
        &vfs.read(log.inode, 0, 20).await.unwrap()[..],
        b"first second"
    );
    assert_eq!(vfs.stats().refused, 0);

    // The spool keeps nothing once uploaded; a read-only file system refuses every change.
    assert_eq!(
        std::fs::read_dir(spool.path().join("spool"))
            .unwrap()
            .count(),
        0
    );
    let read_only = Vfs::open(client.clone(), "/library", VfsOptions::default())
        .await
        .unwrap();
    assert!(matches!(
        read_only.create(ROOT_INODE, "x").await,
        Err(onefichier_vfs::Error::ReadOnly)
    ));
}
