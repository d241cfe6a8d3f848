//! `sync SRC DST`: a one-way mirror, local → remote or remote → local. The engine is the
//! SDK's (`onefichier_client::sync`); this renders its plan and outcomes.

use super::Ctx;
use crate::cli::SyncArgs;
use crate::output::human_size;
use crate::progress::Bars;
use anyhow::{Result, bail};
use onefichier_client::hash_cache::HashCache;
use onefichier_client::sync::{self, Action, Done, Filters, Plan, PlanOptions, SyncOptions};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Prefix that marks an argument as remote whatever the local disk holds.
const REMOTE_PREFIX: &str = "1f:";

/// A command line that cannot be carried out as given (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct Usage(String);

/// Which way the sync goes.
enum Direction {
    Up { local: PathBuf, remote: String },
    Down { remote: String, local: PathBuf },
}

/// Tells the sides apart: `1f:PATH` is remote; otherwise a source that exists on this machine
/// is local (and the destination remote), and an absolute source that does not is remote (and
/// the destination local). A destination that exists here too needs the `1f:` mark.
fn direction(source: &str, dest: &str) -> Result<Direction> {
    let marked = |arg: &str| arg.strip_prefix(REMOTE_PREFIX).map(str::to_owned);
    let source_is_remote =
        marked(source).is_some() || (source.starts_with('/') && !Path::new(source).exists());
    if source_is_remote {
        if marked(dest).is_some() {
            return Err(Usage(format!(
                "{source} and {dest} are both remote: one side must be local"
            ))
            .into());
        }
        return Ok(Direction::Down {
            remote: marked(source).unwrap_or_else(|| source.to_owned()),
            local: PathBuf::from(dest),
        });
    }
    if let Some(remote) = marked(dest) {
        return Ok(Direction::Up {
            local: PathBuf::from(source),
            remote,
        });
    }
    if Path::new(dest).exists() {
        return Err(Usage(format!(
            "{dest} exists on this machine too: mark the remote side as {REMOTE_PREFIX}{dest}"
        ))
        .into());
    }
    if !dest.starts_with('/') {
        return Err(Usage(format!(
            "{dest} is not a remote path (they start with /), and {source} is local"
        ))
        .into());
    }
    Ok(Direction::Up {
        local: PathBuf::from(source),
        remote: dest.to_owned(),
    })
}

pub(crate) async fn sync(ctx: &Ctx, args: SyncArgs) -> Result<()> {
    let direction = direction(&args.source, &args.dest)?;
    let filters = Filters::new(&args.include, &args.exclude)?;
    let client = ctx.client()?;
    let cache = HashCache::open().await;
    let sides = (&client, &cache, &filters);
    let (plan, run) = scan_and_plan(ctx, sides, &direction, &args).await?;
    if let Some(max) = args.max_delete
        && plan.deletions() > max
    {
        bail!(
            "the plan deletes {} items, more than --max-delete {max}: nothing was changed (see --dry-run)",
            plan.deletions()
        );
    }
    if args.dry_run {
        for action in &plan.actions {
            let mut event = serde_json::to_value(action)?;
            event["event"] = json!("planned");
            ctx.printer.json_line(&event);
            ctx.printer.line(format!("would {}", describe(action)));
        }
        summarise(ctx, summary(&plan, &[], true));
        return Ok(());
    }
    let bars = Arc::new(Bars::new(ctx.printer.progress, plan.bytes_to_send()));
    let said = Arc::new(Outcomes {
        printer: ctx.printer,
        bars: Arc::clone(&bars),
        failures: std::sync::Mutex::new(Vec::new()),
        told: std::sync::atomic::AtomicUsize::new(0),
    });
    let ticker = progress_ticker(ctx, &said, &plan);
    let options = sync_options(&args);
    let done = match run {
        Run::Up(local, remote) => {
            sync::upload(
                &client,
                &local,
                remote,
                &plan,
                &options,
                &cache,
                said.clone(),
            )
            .await
        }
        Run::Down(remote, local) => {
            sync::download(
                &client,
                &remote,
                &local,
                &plan,
                &options,
                &cache,
                said.clone(),
            )
            .await
        }
    };
    if let Some(ticker) = ticker {
        ticker.abort();
    }
    bars.finish();
    let counted = summary(&plan, &done, false);
    let total = done.len();
    let failures = std::mem::take(&mut *said.failures.lock().expect("failures lock"));
    summarise(ctx, counted);
    match failures.first() {
        None => Ok(()),
        Some(&kind) => Err(crate::TransfersFailed {
            failed: failures.len(),
            total,
            exit_code: crate::output::exit_code(kind),
        }
        .into()),
    }
}

/// How to apply the plan: transfers at once, and the backup folder.
fn sync_options(args: &SyncArgs) -> SyncOptions {
    let options = SyncOptions::default().with_parallel(args.parallel);
    match &args.backup_dir {
        Some(dir) => options.with_backup_dir(dir.clone()),
        None => options,
    }
}

/// Scans both sides (the source's files hashed where the destination's are known), refuses
/// conflicts, plans, and says what the scans left out.
async fn scan_and_plan(
    ctx: &Ctx,
    (client, cache, filters): (&onefichier_client::Client, &HashCache, &Filters),
    direction: &Direction,
    args: &SyncArgs,
) -> Result<(Plan, Run)> {
    match direction {
        Direction::Up { local, remote } => {
            let mut local = sync::scan_local(local, filters, true)?;
            let remote = sync::scan_remote(client, remote, filters, false, cache).await?;
            sync::hash_needed(&mut local, &remote.tree, cache).await?;
            check_conflicts(&local.tree, &remote.tree)?;
            let plan = sync::plan(&local.tree, &remote.tree, &plan_options(args));
            report_left_out(
                ctx,
                local.left_out.iter().map(|(p, r)| (p.as_str(), r.code())),
            );
            report_left_out(ctx, remote.left_out.iter().map(|(p, r)| (p.as_str(), *r)));
            Ok((plan, Run::Up(local, remote)))
        }
        Direction::Down { remote, local } => {
            let remote = sync::scan_remote(client, remote, filters, true, cache).await?;
            let mut local = sync::scan_local(local, filters, false)?;
            sync::hash_needed(&mut local, &remote.tree, cache).await?;
            check_conflicts(&remote.tree, &local.tree)?;
            let plan = sync::plan(&remote.tree, &local.tree, &plan_options(args));
            report_left_out(ctx, remote.left_out.iter().map(|(p, r)| (p.as_str(), *r)));
            Ok((plan, Run::Down(remote, local)))
        }
    }
}

/// Off a terminal (a cron job's log) nothing moves on screen: a line every 10 s says how far
/// the sync is.
fn progress_ticker(
    ctx: &Ctx,
    said: &Arc<Outcomes>,
    plan: &Plan,
) -> Option<tokio::task::JoinHandle<()>> {
    (!ctx.printer.progress && !ctx.printer.quiet && !ctx.printer.json).then(|| {
        let said = Arc::clone(said);
        let (actions, bytes) = (plan.actions.len(), plan.bytes_to_send());
        tokio::spawn(async move {
            let mut every = tokio::time::interval(std::time::Duration::from_secs(10));
            every.tick().await;
            loop {
                every.tick().await;
                said.progress_line(actions, bytes);
            }
        })
    })
}

/// Says each outcome as the engine tells it (above the bars on a terminal), and keeps count.
struct Outcomes {
    printer: crate::output::Printer,
    bars: Arc<Bars>,
    /// The kinds of the failures, in order.
    failures: std::sync::Mutex<Vec<onefichier_client::ErrorKind>>,
    /// Outcomes told so far.
    told: std::sync::atomic::AtomicUsize,
}

impl Outcomes {
    /// One line on stderr: how many actions are done, and how many bytes moved.
    fn progress_line(&self, actions: usize, bytes: u64) {
        use std::sync::atomic::Ordering;
        self.printer.note(format!(
            "progress: {} of {} done, {} of {}",
            self.told.load(Ordering::Relaxed),
            crate::output::counted(actions, "action"),
            human_size(self.bars.moved()),
            human_size(bytes)
        ));
    }
}

impl onefichier_client::Reporter for Outcomes {
    fn start(
        &self,
        id: onefichier_client::TransferId,
        name: &str,
        total: Option<u64>,
        already: u64,
    ) {
        self.bars.start(id, name, total, already);
    }

    fn bytes(&self, id: onefichier_client::TransferId, count: u64) {
        self.bars.bytes(id, count);
    }

    fn restart(&self, id: onefichier_client::TransferId) {
        self.bars.restart(id);
    }

    fn finish(&self, id: onefichier_client::TransferId, ok: bool) {
        onefichier_client::Reporter::finish(&*self.bars, id, ok);
    }

    fn action_done(&self, outcome: &Done) {
        self.told.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let Ok(mut event) = serde_json::to_value(&outcome.action) else {
            return;
        };
        match &outcome.result {
            Ok(()) => {
                event["event"] = json!("done");
                self.printer.json_line(&event);
                let line = describe_done(&outcome.action);
                self.bars.suspend(|| self.printer.line(line));
            }
            Err(error) => {
                event["event"] = json!("failed");
                event["error"] = json!(error.to_string());
                self.printer.json_line(&event);
                self.failures
                    .lock()
                    .expect("failures lock")
                    .push(error.kind());
                let error = anyhow::anyhow!("{error}");
                self.bars
                    .suspend(|| crate::report_error(&error, false, self.printer.json));
            }
        }
    }
}

/// The scanned sides, ready to apply.
enum Run {
    Up(sync::LocalSide, sync::RemoteSide),
    Down(sync::RemoteSide, sync::LocalSide),
}

fn plan_options(args: &SyncArgs) -> PlanOptions {
    PlanOptions {
        delete: args.delete,
    }
}

fn check_conflicts(source: &sync::Tree, dest: &sync::Tree) -> Result<()> {
    let conflicts = sync::conflicts(source, dest);
    if let Some(first) = conflicts.first() {
        bail!(
            "{first} is a file on one side and a folder on the other ({} such paths): move one of them, then sync again; nothing was changed",
            conflicts.len()
        );
    }
    Ok(())
}

fn report_left_out<'a>(ctx: &Ctx, left_out: impl Iterator<Item = (&'a str, &'a str)>) {
    for (path, reason) in left_out {
        ctx.printer
            .json_line(&json!({"event": "left-out", "path": path, "reason": reason}));
        ctx.printer.note(format!("left out {path} ({reason})"));
    }
}

fn describe(action: &Action) -> String {
    match action {
        Action::MakeFolder { path } => format!("make folder {path}"),
        Action::Copy {
            path,
            size,
            replaces,
        } => format!(
            "{} {path} ({})",
            if *replaces { "replace" } else { "copy" },
            human_size(*size)
        ),
        Action::Move { from, to } => format!("move {from} -> {to}"),
        Action::Duplicate { from, to } => format!("copy {from} -> {to} (on the destination)"),
        Action::SetTime { path } => format!("set the modification time of {path}"),
        Action::Delete { path } => format!("delete {path}"),
        Action::DeleteFolder { path } => format!("delete folder {path}"),
    }
}

fn describe_done(action: &Action) -> String {
    match action {
        Action::MakeFolder { path } => format!("made folder {path}"),
        Action::Copy { path, replaces, .. } => {
            format!("{} {path}", if *replaces { "replaced" } else { "copied" })
        }
        Action::Move { from, to } => format!("moved {from} -> {to}"),
        Action::Duplicate { from, to } => format!("copied {from} -> {to}"),
        Action::SetTime { path } => format!("set the modification time of {path}"),
        Action::Delete { path } => format!("deleted {path}"),
        Action::DeleteFolder { path } => format!("deleted folder {path}"),
    }
}

/// Prints a summary: one line, and a `summary` event.
fn summarise(ctx: &Ctx, (event, line): (serde_json::Value, String)) {
    ctx.printer.json_line(&event);
    ctx.printer.note(line);
}

/// What was (or would be) copied, moved, deleted, left unchanged, and what failed: as an
/// event and as a line.
fn summary(plan: &Plan, done: &[Done], dry_run: bool) -> (serde_json::Value, String) {
    let ok = |wanted: fn(&Action) -> bool| -> usize {
        if dry_run {
            plan.actions.iter().filter(|a| wanted(a)).count()
        } else {
            done.iter()
                .filter(|d| d.result.is_ok() && wanted(&d.action))
                .count()
        }
    };
    let copied = ok(|a| matches!(a, Action::Copy { .. }));
    let moved = ok(|a| matches!(a, Action::Move { .. } | Action::Duplicate { .. }));
    let deleted = ok(|a| matches!(a, Action::Delete { .. }));
    let folders = ok(|a| matches!(a, Action::MakeFolder { .. } | Action::DeleteFolder { .. }));
    let times = ok(|a| matches!(a, Action::SetTime { .. }));
    let failed = done.iter().filter(|d| d.result.is_err()).count();
    let bytes: u64 = if dry_run {
        plan.bytes_to_send()
    } else {
        done.iter()
            .filter(|d| d.result.is_ok())
            .map(|d| match d.action {
                Action::Copy { size, .. } => size,
                _ => 0,
            })
            .sum()
    };
    let event = json!({
        "event": "summary", "dry_run": dry_run, "copied": copied, "bytes": bytes,
        "moved": moved, "deleted": deleted, "folders": folders,
        "unchanged": plan.unchanged, "times_set": times, "failed": failed,
    });
    let verb = if dry_run { "would sync" } else { "synced" };
    let line = format!(
        "{verb}: {copied} copied ({}), {moved} moved or copied in place, {deleted} deleted, \
         {} made or removed, {} unchanged ({times} given their time){}",
        human_size(bytes),
        crate::output::counted(folders, "folder"),
        plan.unchanged,
        if failed > 0 {
            format!(", {failed} failed")
        } else {
            String::new()
        }
    );
    (event, line)
}
