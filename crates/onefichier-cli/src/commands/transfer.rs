//! `upload`, `download`, `dl-dir`, `link`.

use super::Ctx;
use crate::cli::{DlDirArgs, DownloadArgs, Existing, UploadArgs};
use crate::local_tree::{self, LeftOut, LeftOuts};
use crate::progress::Bars;
use crate::remote::{self, RemoteFile};
use anyhow::{Result, bail};
use clap::ValueEnum;
use futures::StreamExt;
use onefichier_client::existing::{
    DownloadDecision, Incoming, UploadDecision, decide_downloads, decide_upload,
};
use onefichier_client::hash_cache::{HashCache, Stamp};
use onefichier_client::local::{DistinctNames, is_inside, named_entries, safe_component};
use onefichier_client::protocol::download::GetTokenRequest;
use onefichier_client::protocol::file::{FileItem, RmFile};
use onefichier_client::sync;
use onefichier_client::walk::Walk;
use onefichier_client::{
    BATCH_FILE_MAX, BATCH_MAX_FILES, Client, DownloadOptions, Downloaded, Expected, UploadOptions,
};
use serde_json::json;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Runs `tasks`, at most `parallel` at once, and returns their results in the order given, so
/// that reports read the same from one run to the next.
async fn in_plan_order<T>(
    tasks: impl IntoIterator<Item = impl std::future::Future<Output = T>>,
    parallel: usize,
) -> Vec<T> {
    let mut results: Vec<(usize, T)> = futures::stream::iter(
        tasks
            .into_iter()
            .enumerate()
            .map(|(index, task)| async move { (index, task.await) }),
    )
    .buffer_unordered(parallel.max(1))
    .collect()
    .await;
    results.sort_by_key(|(index, _)| *index);
    results.into_iter().map(|(_, result)| result).collect()
}

/// A local file and the remote folder (path) it goes to.
struct Planned {
    local: PathBuf,
    remote_dir: String,
}

fn remote_join(dir: &str, rel: &Path) -> String {
    let mut out = dir.trim_end_matches('/').to_owned();
    for part in rel.components() {
        out.push('/');
        out.push_str(&part.as_os_str().to_string_lossy());
    }
    if out.is_empty() { "/".to_owned() } else { out }
}

/// The files to send and where each goes: a file into `remote_dir`, a folder as a folder of
/// the same name, recursively. What cannot be sent is returned with the reason.
fn plan_uploads(
    paths: &[PathBuf],
    remote_dir: &str,
    follow_symlinks: bool,
) -> Result<(Vec<Planned>, LeftOuts)> {
    let walked = local_tree::walk(paths, follow_symlinks, true)?;
    let mut planned = Vec::with_capacity(walked.files.len());
    for found in walked.files {
        let remote_dir = if found.path == found.root {
            remote_dir.to_owned()
        } else {
            let base_name = found
                .root
                .canonicalize()?
                .file_name()
                .map(PathBuf::from)
                .unwrap_or_default();
            remote_join(remote_dir, &base_name.join(&found.relative_dir))
        };
        planned.push(Planned {
            local: found.path,
            remote_dir,
        });
    }
    Ok((planned, walked.left_out))
}

/// Reports what a walk left out, after the transfers: a `left-out` event each.
fn report_left_out(ctx: &Ctx, left_out: &[(PathBuf, LeftOut)]) {
    for (path, reason) in left_out {
        ctx.printer
            .json_line(&json!({"event": "left-out", "local": path, "reason": reason.code()}));
        ctx.printer.line(format!(
            "left out {} ({})",
            path.display(),
            reason.explain()
        ));
    }
}

pub(crate) async fn upload(ctx: &Ctx, args: UploadArgs) -> Result<()> {
    let mut paths = args.paths;
    let remote_dir = upload_destination(&mut paths, args.to)?;
    if paths.iter().any(|p| Path::new(p) == Path::new("/")) {
        bail!("refusing to upload the whole local disk (/); name the files or folders to send");
    }
    let locals: Vec<PathBuf> = paths.iter().map(PathBuf::from).collect();
    let (planned, left_out) = plan_uploads(&locals, &remote_dir, args.follow_symlinks)?;
    let client = ctx.client()?;
    let mut folders: BTreeMap<String, i64> = BTreeMap::new();
    for dir in planned.iter().map(|p| p.remote_dir.clone()) {
        if let std::collections::btree_map::Entry::Vacant(slot) = folders.entry(dir) {
            let id = client.mkdir_p(slot.key()).await?;
            slot.insert(id);
        }
    }
    let remote_files = if !args.force || args.existing != Existing::KeepBoth {
        held_by(ctx, &client, &folders, args.existing).await?
    } else {
        HashMap::new()
    };
    let sizes: Vec<u64> = planned
        .iter()
        .map(|p| std::fs::metadata(&p.local).map_or(0, |m| m.len()))
        .collect();
    let units = upload_units(&planned, &sizes);
    let mut options = UploadOptions::default();
    options.password = args.password.clone();
    options.domain = args.domain;
    let run = Arc::new(UploadRun {
        client,
        bars: Arc::new(Bars::new(ctx.printer.progress, sizes.iter().sum())),
        cache: HashCache::open().await,
        remote_files,
        planned,
        options,
        force: args.force,
        policy: args.existing,
    });
    let results = in_plan_order(
        units.into_iter().map(|unit| {
            let folder = folders[&run.planned[unit[0]].remote_dir];
            Arc::clone(&run).unit(unit, folder)
        }),
        args.parallel,
    )
    .await;
    run.bars.finish();
    let mut results: Vec<_> = results.into_iter().flatten().collect();
    results.sort_by_key(|(index, _)| *index);
    let outcome = report_uploads(ctx, &run.planned, results);
    report_left_out(ctx, &left_out);
    outcome
}

/// The remote folder of `upload`: `--to`, else the last of two or more paths when it is `/` or
/// no local path (taken out of `paths`), else the root. An absolute local folder in last place
/// is refused as ambiguous.
fn upload_destination(paths: &mut Vec<String>, to: Option<String>) -> Result<String> {
    if let Some(to) = to {
        return Ok(to);
    }
    if paths.len() < 2 {
        return Ok("/".to_owned());
    }
    let last = Path::new(paths.last().expect("two"));
    // `/` is the remote root, never a request to upload the whole local disk.
    if last == Path::new("/") || !last.exists() {
        Ok(paths.pop().expect("two"))
    } else if last.is_absolute() && last.is_dir() {
        bail!(
            "{} is a local folder and could be the remote one: say --to {} for the remote folder, or add a destination",
            last.display(),
            last.display()
        );
    } else {
        Ok("/".to_owned())
    }
}

/// What each destination folder already holds, listed once per folder rather than once per
/// file. A key that may not see files (an upload-only key) gets a count without them: fine
/// for keep-both (said), refused for the policies that need to compare.
async fn held_by(
    ctx: &Ctx,
    client: &Client,
    folders: &BTreeMap<String, i64>,
    existing: Existing,
) -> Result<HashMap<i64, Vec<FileItem>>> {
    let mut remote_files = HashMap::new();
    for (path, &folder) in folders {
        if let std::collections::hash_map::Entry::Vacant(slot) = remote_files.entry(folder) {
            let listing = client.list_folder(folder).await?;
            let items = listing.items.unwrap_or_default();
            if listing.files > 0 && items.is_empty() {
                if existing != Existing::KeepBoth {
                    bail!(
                        "this key may not see the files of {path} (an upload-only key?): \
                         --existing {} cannot be honoured; use --existing keep-both",
                        existing
                            .to_possible_value()
                            .map_or_else(String::new, |v| v.get_name().to_owned())
                    );
                }
                ctx.printer.note(format!(
                    "this key may not see the files of {path}: identical files cannot be \
                     skipped, each upload adds a copy"
                ));
            }
            slot.insert(items);
        }
    }
    Ok(remote_files)
}

/// What the units of one `upload` share.
struct UploadRun {
    client: Client,
    bars: Arc<Bars>,
    cache: HashCache,
    /// What each destination folder held before the run.
    remote_files: HashMap<i64, Vec<FileItem>>,
    planned: Vec<Planned>,
    options: UploadOptions,
    force: bool,
    policy: Existing,
}

/// A local file's modification time, in whole seconds.
fn modified(path: &Path) -> Option<sync::Timestamp> {
    let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok()?;
    sync::whole_seconds(modified)
}

/// Files decided on: the outcomes of those that are not sent, the indexes of those that are,
/// and the older files each of those replaces.
type Decided = (
    Vec<(usize, Result<UploadOutcome>)>,
    Vec<usize>,
    HashMap<usize, Vec<String>>,
);

impl UploadRun {
    /// Decides, file by file, what the unit's files do given what their folder holds.
    async fn decide(&self, unit: Vec<usize>, existing: &[FileItem]) -> Decided {
        let mut outcomes = Vec::new();
        let mut to_send = Vec::new();
        let mut older: HashMap<usize, Vec<String>> = HashMap::new();
        for index in unit {
            let plan = &self.planned[index];
            let decision = decide_upload(
                &plan.local,
                &plan.remote_dir,
                existing,
                self.force,
                self.policy.into(),
                &self.cache,
            )
            .await;
            match decision {
                Ok(UploadDecision::Send { replaces }) => {
                    older.insert(index, replaces);
                    to_send.push(index);
                }
                Ok(UploadDecision::Skip { link, reason }) => {
                    outcomes.push((index, Ok(UploadOutcome::Skipped { link, reason })));
                }
                Ok(UploadDecision::Refuse(message)) => {
                    outcomes.push((index, Err(anyhow::anyhow!(message))));
                }
                Err(error) => outcomes.push((index, Err(error.into()))),
            }
        }
        (outcomes, to_send, older)
    }

    /// Uploads one unit (planned files, by index, all bound for `folder`): decides for each
    /// file, sends what must go (together when small), then removes what `--existing replace`
    /// replaces. Outcomes are by planned index.
    async fn unit(
        self: Arc<Self>,
        unit: Vec<usize>,
        folder: i64,
    ) -> Vec<(usize, Result<UploadOutcome>)> {
        let existing = self
            .remote_files
            .get(&folder)
            .map_or(&[][..], Vec::as_slice);
        let (mut outcomes, to_send, mut older) = self.decide(unit, existing).await;
        let paths: Vec<PathBuf> = to_send
            .iter()
            .map(|&i| self.planned[i].local.clone())
            .collect();
        // As the files were before they were read: what the upload verified holds for them
        // only if they are still so afterwards.
        let stamps: Vec<Option<Stamp>> = paths.iter().map(|p| Stamp::of(p)).collect();
        let times: Vec<Option<sync::Timestamp>> = paths.iter().map(|p| modified(p)).collect();
        let mut options = self.options.clone();
        options.folder_id = folder;
        let reporter = Arc::clone(&self.bars);
        let sent = match paths.as_slice() {
            [] => Vec::new(),
            [alone] => vec![self.client.upload_file(alone, &options, reporter).await],
            _ => self.client.upload_files(&paths, &options, reporter).await,
        };
        // Modification times go into the new files' descriptions: one call per second.
        let fresh: Vec<(String, Option<sync::Timestamp>)> = sent
            .iter()
            .zip(&times)
            .filter_map(|(result, time)| Some((result.as_ref().ok()?.link.clone(), *time)))
            .collect();
        let untagged = sync::tag_new_uploads(&self.client, &self.cache, &fresh).await;
        for ((index, result), stamp) in to_send.into_iter().zip(sent).zip(stamps) {
            let done = match result {
                Ok(done) => done,
                Err(error) => {
                    outcomes.push((index, Err(error.into())));
                    continue;
                }
            };
            if let Some(error) = untagged.get(&done.link) {
                outcomes.push((
                    index,
                    Err(anyhow::anyhow!(
                        "{} was uploaded, but its modification time was not kept: {error}",
                        file_name(&self.planned[index].local)
                    )),
                ));
            }
            let local = &self.planned[index].local;
            if let Some(stamp) = stamp {
                self.cache.remember(local, stamp, &done.whirlpool).await;
            }
            let replaced = older.remove(&index).unwrap_or_default();
            // The new file is verified: only now may the older ones go.
            let removal = remove_files(&self.client, &replaced).await;
            outcomes.push((index, Ok(UploadOutcome::Uploaded { done, replaced })));
            if let Err(error) = removal {
                let name = file_name(local);
                outcomes.push((
                    index,
                    Err(error.context(format!(
                        "{name} was uploaded, but the older file of that name could not be removed"
                    ))),
                ));
            }
        }
        outcomes
    }
}

/// Prints the outcomes in plan order; failures as described at [`Failures`].
fn report_uploads(
    ctx: &Ctx,
    planned: &[Planned],
    results: Vec<(usize, Result<UploadOutcome>)>,
) -> Result<()> {
    let mut failures = Failures::new(results.len());
    for (index, result) in results {
        let plan = &planned[index];
        let remote = remote_join(&plan.remote_dir, Path::new(&file_name(&plan.local)));
        match result {
            Ok(UploadOutcome::Uploaded { done, replaced }) => {
                ctx.printer.json_line(&json!({
                    "event": "uploaded", "local": plan.local, "remote": remote,
                    "link": done.link, "size": done.size, "whirlpool": done.whirlpool,
                    "replaced": replaced, "parts": done.parts,
                }));
                let replacing = if replaced.is_empty() {
                    String::new()
                } else {
                    format!(" (replaced {})", replaced.join(", "))
                };
                // A file over the per-file limit has no link of its own: say what the link is.
                let stored = if done.parts > 0 {
                    format!(
                        " (over the per-file limit: stored in {} parts; this is their manifest's \
                         link, which `1fichier download` reassembles)",
                        done.parts
                    )
                } else {
                    String::new()
                };
                ctx.printer.line(format!(
                    "uploaded {} -> {}{stored}{replacing}",
                    plan.local.display(),
                    done.link
                ));
            }
            Ok(UploadOutcome::Skipped { link, reason }) => {
                ctx.printer.json_line(&json!({
                    "event": "skipped", "local": plan.local, "remote": remote,
                    "link": link, "reason": reason,
                }));
                ctx.printer.line(format!(
                    "skipped {} ({reason}: {link})",
                    plan.local.display()
                ));
            }
            Err(error) => failures.add(ctx, json!({"local": plan.local, "remote": remote}), error),
        }
    }
    failures.conclude()
}

/// The files of a transfer command that failed. Each failure is a JSON `failed` event in plan
/// order; on stderr, a failure among several files is reported where it falls and the command
/// ends with one summary line, while a command of one file ends with its error: never twice.
struct Failures {
    total: usize,
    errors: Vec<anyhow::Error>,
}

impl Failures {
    fn new(total: usize) -> Self {
        Self {
            total,
            errors: Vec::new(),
        }
    }

    fn add(&mut self, ctx: &Ctx, mut event: serde_json::Value, error: anyhow::Error) {
        event["event"] = json!("failed");
        event["error"] = json!(format!("{error:#}"));
        ctx.printer.json_line(&event);
        if self.total > 1 {
            crate::report_error(&error, false, ctx.printer.json);
        }
        self.errors.push(error);
    }

    fn conclude(mut self) -> Result<()> {
        match self.errors.len() {
            0 => Ok(()),
            _ if self.total == 1 => Err(self.errors.remove(0)),
            failed => Err(crate::TransfersFailed {
                failed,
                total: self.total,
                exit_code: crate::exit_code(&self.errors[0]),
            }
            .into()),
        }
    }
}

/// What became of one planned file.
enum UploadOutcome {
    /// Uploaded and verified; `replaced` are the links of the older files it replaced.
    Uploaded {
        done: onefichier_client::Uploaded,
        replaced: Vec<String>,
    },
    /// Not sent: `reason` is `identical` (the same bytes are there) or `exists` (`--existing
    /// skip`); `link` is the remote file's.
    Skipped { link: String, reason: &'static str },
}

/// Removes files by link (nothing to do for none).
async fn remove_files(client: &Client, links: &[String]) -> Result<()> {
    if links.is_empty() {
        return Ok(());
    }
    let files: Vec<RmFile> = links.iter().map(RmFile::link).collect();
    client.file_rm(&files).await?;
    Ok(())
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The planned files (indices) grouped into units of work: a large file alone, small files of
/// one destination folder together, so that they share requests.
fn upload_units(planned: &[Planned], sizes: &[u64]) -> Vec<Vec<usize>> {
    let mut units: Vec<Vec<usize>> = Vec::new();
    let mut open_batch: HashMap<&str, usize> = HashMap::new();
    for (index, plan) in planned.iter().enumerate() {
        if sizes[index] > BATCH_FILE_MAX {
            units.push(vec![index]);
            continue;
        }
        match open_batch.get(plan.remote_dir.as_str()) {
            Some(&unit) if units[unit].len() < BATCH_MAX_FILES => units[unit].push(index),
            _ => {
                open_batch.insert(&plan.remote_dir, units.len());
                units.push(vec![index]);
            }
        }
    }
    units
}

/// Whether `arg` names a folder that could be created here: not a link, and its parent exists.
fn could_be_new_local_folder(arg: &str) -> bool {
    !remote::is_link(arg)
        && Path::new(arg)
            .parent()
            .is_some_and(|parent| parent.as_os_str().is_empty() || parent.is_dir())
}

/// A remote file and where it goes locally.
struct Fetch {
    file: RemoteFile,
    dest: PathBuf,
}

async fn plan_downloads(
    client: &Client,
    source: &str,
    local: &Path,
    password: Option<&str>,
) -> Result<Vec<Fetch>> {
    if !remote::is_link(source)
        && let Ok(folder) = client.resolve_folder(source).await
    {
        let base = remote::split_path(source).1;
        let top = if base.is_empty() {
            local.to_path_buf()
        } else {
            local.join(safe_component(&base))
        };
        let mut out = Vec::new();
        let mut walk = Walk::new();
        walk.enter(folder, 0)?;
        let mut stack = vec![(folder, top, 0)];
        while let Some((id, dir, depth)) = stack.pop() {
            let listing = client.list_folder(id).await?;
            let (folders, files) = named_entries(&listing);
            for (name, sub) in folders {
                if walk.enter(sub.id, depth + 1)? {
                    stack.push((sub.id, dir.join(name), depth + 1));
                }
            }
            // A file stored in parts is fetched whole through its manifest.
            for (name, listed) in files {
                out.push(Fetch {
                    dest: dir.join(name),
                    file: RemoteFile::of_listed(&listed),
                });
            }
        }
        return inside_destination(local, out);
    }
    let file = remote::file(client, source, password).await?;
    let dest = local.join(safe_component(&file.name));
    inside_destination(local, vec![Fetch { file, dest }])
}

/// Every path a plan writes must lie inside the destination. Names are made safe one by one
/// before this; the check is what keeps a mistake there from writing elsewhere.
fn inside_destination(root: &Path, plan: Vec<Fetch>) -> Result<Vec<Fetch>> {
    if let Some(outside) = plan.iter().find(|f| !is_inside(root, &f.dest)) {
        bail!(
            "refusing to write {} outside {} (remote name {:?})",
            outside.dest.display(),
            root.display(),
            outside.file.name
        );
    }
    Ok(plan)
}

pub(crate) async fn download(ctx: &Ctx, args: DownloadArgs) -> Result<()> {
    let mut sources = args.sources;
    let local = match args.to {
        Some(to) => to,
        None if sources.len() >= 2 && {
            let last = sources.last().expect("two");
            !remote::is_link(last) && (Path::new(last).is_dir() || last.starts_with('.'))
        } =>
        {
            PathBuf::from(sources.pop().expect("two"))
        }
        None => PathBuf::from("."),
    };
    let client = ctx.client()?;
    let mut plan = Vec::new();
    let several = sources.len() >= 2;
    for (index, source) in sources.iter().enumerate() {
        let planned = plan_downloads(&client, source, &local, args.password.as_deref()).await;
        match planned {
            Ok(fetches) => plan.extend(fetches),
            // `download A B /new/folder`: the last name is neither remote nor an existing local
            // folder; say how to make it the destination rather than only "no file".
            Err(error)
                if several
                    && index + 1 == sources.len()
                    && crate::exit_code(&error) == crate::output::exit::NOT_FOUND
                    && could_be_new_local_folder(source) =>
            {
                return Err(error.context(format!(
                    "{source} is not on the account; to download into a new local folder, create it or say -o {source}"
                )));
            }
            Err(error) => return Err(error),
        }
    }
    let settings = FetchSettings {
        password: args.password,
        cdn: args.cdn,
        parallel: args.parallel,
        segments: usize::from(args.segments),
        verify: !args.no_verify,
        existing: args.existing,
    };
    fetch_all(ctx, &client, plan, settings).await
}

/// How `download` and `dl-dir` fetch their plan.
struct FetchSettings {
    password: Option<String>,
    cdn: bool,
    /// Files at once.
    parallel: usize,
    /// Connections per file.
    segments: usize,
    verify: bool,
    /// What to do about a local file of the same name with other content.
    existing: Existing,
}

/// Fetches a plan: decides first what each file does to the local side (identical files are
/// left alone; `--existing` decides for others, and keep-both never destroys local data), so
/// that no token is fetched and nothing is listed for a file that is not fetched.
async fn fetch_all(
    ctx: &Ctx,
    client: &Client,
    mut plan: Vec<Fetch>,
    settings: FetchSettings,
) -> Result<()> {
    let cache = HashCache::open().await;
    let incoming: Vec<Incoming<'_>> = plan
        .iter()
        .map(|fetch| Incoming {
            dest: &fetch.dest,
            size: fetch.file.size,
            checksum: fetch.file.checksum.as_deref(),
        })
        .collect();
    let decisions =
        decide_downloads(&incoming, settings.verify, settings.existing.into(), &cache).await?;
    // Keep-both gives some files a free local name.
    for (fetch, decision) in plan.iter_mut().zip(&decisions) {
        if let DownloadDecision::Fetch(dest) = decision {
            fetch.dest.clone_from(dest);
        }
    }
    let total = plan
        .iter()
        .zip(&decisions)
        .filter(|(_, d)| matches!(d, DownloadDecision::Fetch(_)))
        .map(|(f, _)| f.file.size)
        .sum();
    let bars = Arc::new(Bars::new(ctx.printer.progress, total));
    let settings = &settings;
    let results = in_plan_order(
        plan.into_iter().zip(decisions).map(|(fetch, decision)| {
            let (client, bars, cache) = (client.clone(), Arc::clone(&bars), cache.clone());
            async move {
                let outcome = match decision {
                    DownloadDecision::Fetch(_) => {
                        fetch_one(&client, &cache, bars, settings, &fetch)
                            .await
                            .map(Ok)
                    }
                    DownloadDecision::Skip(reason) => Ok(Err(reason)),
                    DownloadDecision::Refuse(message) => Err(anyhow::anyhow!(message)),
                };
                (fetch, outcome)
            }
        }),
        settings.parallel,
    )
    .await;
    bars.finish();
    let mut failures = Failures::new(results.len());
    for (fetch, outcome) in results {
        match outcome {
            Ok(Ok(done)) => said_downloaded(ctx, &fetch, &done, settings.verify),
            Ok(Err(reason)) => said_skipped(ctx, &fetch, reason),
            Err(error) => failures.add(
                ctx,
                json!({"link": fetch.file.url, "path": fetch.dest}),
                error,
            ),
        }
    }
    failures.conclude()
}

/// Fetches one file of a plan (whole or from its parts), with its known time restored and
/// its verified checksum remembered.
async fn fetch_one(
    client: &Client,
    cache: &HashCache,
    bars: Arc<Bars>,
    settings: &FetchSettings,
    fetch: &Fetch,
) -> Result<Downloaded> {
    if let Some(parent) = fetch.dest.parent() {
        tokio::fs::create_dir_all(parent).await?;
    }
    let mut options = DownloadOptions::default();
    options.password.clone_from(&settings.password);
    options.cdn = settings.cdn;
    options.skip_verification = !settings.verify;
    options.segments = settings.segments;
    if fetch.file.size > 0 || fetch.file.checksum.is_some() {
        options.expected = Some(Expected {
            size: fetch.file.size,
            whirlpool: fetch.file.checksum.clone().filter(|_| settings.verify),
        });
    }
    let done = match &fetch.file.split {
        Some(set) => {
            client
                .download_split(&set.manifest, &set.parts, &fetch.dest, &options, bars)
                .await?
        }
        None => {
            client
                .download_file(&fetch.file.url, &fetch.dest, &options, bars)
                .await?
        }
    };
    if let Some(uploaded) = &fetch.file.uploaded {
        sync::restore_known_time(cache, &fetch.file.url, uploaded, &done.path).await?;
    }
    // After the time is set: the stamp includes it.
    if done.verified
        && let Some(stamp) = Stamp::of(&done.path)
    {
        cache.remember(&done.path, stamp, &done.whirlpool).await;
    }
    Ok(done)
}

/// Says a file was downloaded, and whether it was verified.
fn said_downloaded(ctx: &Ctx, fetch: &Fetch, done: &Downloaded, verify: bool) {
    ctx.printer.json_line(&json!({
        "event": "downloaded", "link": fetch.file.url, "path": done.path, "size": done.size,
        "whirlpool": done.whirlpool, "verified": done.verified, "resumed_from": done.resumed_from,
    }));
    let note = match (done.verified, verify) {
        (true, _) => "verified",
        (false, false) => "not verified: --no-verify",
        (false, true) => "not verified: no checksum available",
    };
    ctx.printer
        .line(format!("downloaded {} ({note})", done.path.display()));
}

/// Says a file was left alone, and why.
fn said_skipped(ctx: &Ctx, fetch: &Fetch, reason: &str) {
    ctx.printer.json_line(
        &json!({"event": "skipped", "link": fetch.file.url, "path": fetch.dest, "reason": reason}),
    );
    let why = match reason {
        "identical" => "identical",
        "same-size" => "same size, no checksum to compare",
        _ => "exists with other content: --existing skip",
    };
    ctx.printer
        .line(format!("skipped {} ({why})", fetch.dest.display()));
}

pub(crate) async fn dl_dir(ctx: &Ctx, args: &DlDirArgs) -> Result<()> {
    let client = ctx.client()?;
    let entries = client
        .shared_folder(&args.id, args.password.as_deref())
        .await?;
    if entries.is_empty() {
        bail!(crate::remote::NotFound(format!(
            "the shared folder {} is empty",
            args.id
        )));
    }
    let mut entries = entries;
    entries.sort_by(|a, b| (&a.filename, &a.link).cmp(&(&b.filename, &b.link)));
    let mut names = DistinctNames::new();
    let plan = entries
        .into_iter()
        .map(|e| Fetch {
            dest: args.to.join(names.next(&e.filename)),
            file: RemoteFile {
                url: e.link,
                name: e.filename,
                size: e.size,
                checksum: None,
                uploaded: None,
                split: None,
            },
        })
        .collect();
    let plan = inside_destination(&args.to, plan)?;
    let settings = FetchSettings {
        password: args.password.clone(),
        cdn: false,
        parallel: 2,
        segments: 1,
        verify: true,
        existing: args.existing,
    };
    fetch_all(ctx, &client, plan, settings).await
}

pub(crate) async fn link(ctx: &Ctx, file: &str, password: Option<&str>) -> Result<()> {
    let client = ctx.client()?;
    let found = remote::file(&client, file, password).await?;
    let token = |url: String| GetTokenRequest {
        url: Some(url),
        pass: password.map(str::to_owned),
        ..GetTokenRequest::default()
    };
    // A file stored in parts has no one URL: each part's, in order, to be joined end to end.
    if let Some(set) = &found.split {
        let mut parts = Vec::new();
        for part in &set.parts {
            let url = client.download_token(&token(part.url.clone())).await?;
            ctx.printer.line(url.expose());
            parts.push(json!({"link": part.url, "url": url.expose()}));
        }
        ctx.printer
            .document(&json!({"link": found.url, "parts": parts, "valid_seconds": 300}));
        ctx.printer.note(format!(
            "{} is stored in {} parts over the per-file limit: these are their URLs in order, \
             to be joined end to end (`1fichier download {file}` does it and checks the result)",
            found.name,
            set.parts.len()
        ));
        return Ok(());
    }
    let url = client.download_token(&token(found.url.clone())).await?;
    // Printing the direct URL is this command's purpose; it is valid 5 minutes.
    ctx.printer
        .document(&json!({"link": found.url, "url": url.expose(), "valid_seconds": 300}));
    ctx.printer.line(url.expose());
    Ok(())
}
