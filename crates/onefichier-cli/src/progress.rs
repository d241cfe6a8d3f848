//! Progress bars (indicatif) for the SDK's `Reporter`: one bar per file of 1 MiB or more and a
//! total, with rate and ETA; nothing at all when not on a terminal, with --quiet, --no-progress
//! or --json.

use crate::output::Printer;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use onefichier_client::{Reporter, TransferId, Wait, WaitObserver};
use std::collections::HashMap;
use std::io::Write;
use std::sync::Mutex;

/// The bars on screen, if any: wait notes are printed above them, and the total bar says
/// "waiting" instead of showing a frozen rate.
static ON_SCREEN: Mutex<Option<(MultiProgress, ProgressBar)>> = Mutex::new(None);

/// Tells the user about every wait of a second or more: on a terminal a line on stderr (above
/// the bars), with `--json` a `wait` event on stderr (stdout stays the command's data), nothing
/// with `--quiet`.
pub(crate) struct WaitNotes(pub(crate) Printer);

impl WaitObserver for WaitNotes {
    fn waiting(&self, wait: &Wait) {
        if self.0.quiet {
            return;
        }
        if self.0.json {
            let event = serde_json::json!({
                "event": "wait", "seconds": wait.duration.as_secs_f64().ceil(),
                "operation": wait.operation, "reason": wait.reason.to_string(),
            });
            let _ = writeln!(std::io::stderr().lock(), "{event}");
            return;
        }
        let text = wait.to_string();
        match &*ON_SCREEN.lock().expect("bars lock") {
            Some((multi, total)) => {
                let _ = multi.println(&text);
                total.set_message(format!(
                    "waiting {}",
                    onefichier_client::wait::human_duration(wait.duration)
                ));
            }
            None => {
                let _ = writeln!(std::io::stderr().lock(), "{text}");
            }
        }
    }
}

pub(crate) struct Bars {
    multi: MultiProgress,
    total: ProgressBar,
    /// Each transfer: its own bar (files of 1 MiB or more) and the bytes it added to the total.
    transfers: Mutex<HashMap<TransferId, (Option<ProgressBar>, u64)>>,
}

impl Bars {
    /// Bars for `total_bytes` over all files; hidden unless `visible`.
    pub(crate) fn new(visible: bool, total_bytes: u64) -> Self {
        let target = if visible {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let multi = MultiProgress::with_draw_target(target);
        let total = multi.add(ProgressBar::new(total_bytes));
        total.set_style(
            ProgressStyle::with_template(
                "{prefix:>12} [{bar:30}] {decimal_bytes}/{decimal_total_bytes} {decimal_bytes_per_sec} ETA {settled_eta} {msg}",
            )
            .expect("a valid template")
            .with_key("settled_eta", settled_eta)
            .progress_chars("=> "),
        );
        total.set_prefix("total");
        if visible {
            *ON_SCREEN.lock().expect("bars lock") = Some((multi.clone(), total.clone()));
        }
        Self {
            multi,
            total,
            transfers: Mutex::new(HashMap::new()),
        }
    }

    /// Bytes moved so far, over all transfers (what restarted attempts sent does not count).
    pub(crate) fn moved(&self) -> u64 {
        self.total.position()
    }

    /// Runs `f` (which prints) with the bars out of the way.
    pub(crate) fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        self.multi.suspend(f)
    }

    pub(crate) fn finish(&self) {
        self.total.finish_and_clear();
        ON_SCREEN.lock().expect("bars lock").take();
    }
}

/// How long a transfer runs before its ETA is shown: the first seconds (connections, the first
/// waits for the service's budgets) say nothing about the rate, and an estimate from them is
/// wild (88 minutes for a 36-second job).
const ETA_AFTER: std::time::Duration = std::time::Duration::from_secs(3);

/// The ETA once [`ETA_AFTER`] has passed and bytes have moved; "…" before.
fn settled_eta(state: &indicatif::ProgressState, out: &mut dyn std::fmt::Write) {
    if state.elapsed() < ETA_AFTER || state.pos() == 0 {
        let _ = out.write_str("…");
    } else {
        let _ = write!(out, "{:#}", indicatif::HumanDuration(state.eta()));
    }
}

/// Files smaller than this only move the total: they go by too fast for a bar of their own,
/// and small files travel up to a hundred to a request.
const OWN_BAR_FROM: u64 = 1 << 20;

impl Reporter for Bars {
    fn start(&self, id: TransferId, name: &str, total: Option<u64>, already: u64) {
        self.total.inc(already);
        let bar = total.is_none_or(|size| size >= OWN_BAR_FROM).then(|| {
            let bar = self
                .multi
                .insert_before(&self.total, ProgressBar::new(total.unwrap_or(0)));
            bar.set_style(
                ProgressStyle::with_template(
                    "{prefix:>12.bold} [{bar:30}] {decimal_bytes}/{decimal_total_bytes} {decimal_bytes_per_sec}",
                )
                .expect("a valid template")
                .progress_chars("=> "),
            );
            let short: String = crate::output::printable(name).chars().take(12).collect();
            bar.set_prefix(short);
            bar.set_position(already);
            bar
        });
        self.transfers
            .lock()
            .expect("bars lock")
            .insert(id, (bar, already));
    }

    fn bytes(&self, id: TransferId, count: u64) {
        if let Some((bar, counted)) = self.transfers.lock().expect("bars lock").get_mut(&id) {
            if let Some(bar) = bar {
                bar.inc(count);
            }
            *counted += count;
        }
        if !self.total.message().is_empty() {
            self.total.set_message("");
        }
        self.total.inc(count);
    }

    fn restart(&self, id: TransferId) {
        // What a failed attempt sent leaves the total, so it never passes 100 %.
        if let Some((bar, counted)) = self.transfers.lock().expect("bars lock").get_mut(&id) {
            self.total.dec(std::mem::take(counted));
            if let Some(bar) = bar {
                bar.set_position(0);
            }
        }
    }

    fn finish(&self, id: TransferId, _ok: bool) {
        if let Some((Some(bar), _)) = self.transfers.lock().expect("bars lock").remove(&id) {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transfers_of_one_name_are_apart_and_a_restart_never_passes_the_total() {
        let bars = Bars::new(false, 300);
        let (first, second) = (TransferId::next(), TransferId::next());
        bars.start(first, "disk.img", Some(150 << 20), 0);
        bars.start(second, "disk.img", Some(150 << 20), 0);
        bars.bytes(first, 100);
        bars.bytes(second, 50);
        bars.restart(first);
        bars.bytes(first, 150);
        bars.bytes(second, 100);
        assert_eq!(bars.total.position(), 300);
        let transfers = bars.transfers.lock().unwrap();
        assert_eq!(transfers[&first].1, 150);
        assert_eq!(transfers[&second].1, 150);
    }
}
