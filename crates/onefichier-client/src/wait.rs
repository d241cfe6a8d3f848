//! Waits that explain themselves: every time the client must wait before a call (a budget of
//! the service, a flood lock, a retry the service asked for), it says what for and how long to
//! a [`WaitObserver`], and refuses to wait longer than [`crate::ClientBuilder::max_wait`].

use std::fmt;
use std::time::Duration;

/// Why the client waits before a call.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WaitReason {
    /// The service locked this address for flood protection.
    Locked,
    /// Calls with one key are paced (the service allows about 2 a second).
    Pace,
    /// One listing of a folder per interval (30 s on the live service).
    FolderListing {
        /// The folder (0 is the root).
        folder_id: i64,
        /// The service's interval.
        interval: Duration,
    },
    /// Listings of any folders are spaced (about one per 3 s).
    Listings {
        /// The spacing.
        interval: Duration,
    },
    /// `user/info` once per interval (5 minutes).
    UserInfo {
        /// The interval.
        interval: Duration,
    },
    /// The whole account listed once per interval (an hour).
    AllFiles {
        /// The interval.
        interval: Duration,
    },
    /// The service refused a call as temporary (429, 503, a cut connection) and it is retried.
    Retry {
        /// The attempt that failed (1 for the first).
        attempt: u32,
        /// What the service said.
        cause: String,
    },
}

/// One wait: what for, how long, and before which call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wait {
    /// Why.
    pub reason: WaitReason,
    /// How long.
    pub duration: Duration,
    /// The endpoint or node path the wait is for.
    pub operation: &'static str,
}

/// Told about every wait of a second or more (see [`crate::ClientBuilder::wait_observer`]).
pub trait WaitObserver: Send + Sync {
    /// The client is about to wait.
    fn waiting(&self, wait: &Wait);
}

/// Waits shorter than this go unreported (pacing between calls is routine).
pub const REPORTED_WAIT: Duration = Duration::from_secs(1);

/// `27 s`, `9 min 40 s`, `1 h 2 min`.
pub fn human_duration(duration: Duration) -> String {
    let secs = duration.as_secs_f64().ceil() as u64;
    match secs {
        0..60 => format!("{secs} s"),
        60..3600 if secs.is_multiple_of(60) => format!("{} min", secs / 60),
        60..3600 => format!("{} min {} s", secs / 60, secs % 60),
        _ => format!("{} h {} min", secs / 3600, secs % 3600 / 60),
    }
}

impl fmt::Display for WaitReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Locked => write!(f, "the service locked this address for flood protection"),
            Self::Pace => write!(f, "the service allows about 2 calls a second per key"),
            Self::FolderListing {
                folder_id: 0,
                interval,
            } => write!(
                f,
                "the service allows one listing of the root folder per {}",
                human_duration(*interval)
            ),
            Self::FolderListing {
                folder_id,
                interval,
            } => write!(
                f,
                "the service allows one listing of folder {folder_id} per {}",
                human_duration(*interval)
            ),
            Self::Listings { interval } => write!(
                f,
                "the service spaces listings by {}",
                human_duration(*interval)
            ),
            Self::UserInfo { interval } => write!(
                f,
                "the service answers user/info once per {}",
                human_duration(*interval)
            ),
            Self::AllFiles { interval } => write!(
                f,
                "the service lists the whole account once per {}",
                human_duration(*interval)
            ),
            Self::Retry { attempt, cause } => {
                write!(
                    f,
                    "attempt {attempt} failed for now ({cause}); trying again"
                )
            }
        }
    }
}

impl fmt::Display for Wait {
    /// `waiting 27 s: the service allows one listing of folder 12 per 30 s`, and for locks
    /// `… retrying in 9 min 40 s (Ctrl-C to stop)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let time = human_duration(self.duration);
        match self.reason {
            WaitReason::Locked => write!(f, "{}: retrying in {time} (Ctrl-C to stop)", self.reason),
            _ => write!(f, "waiting {time}: {}", self.reason),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_read_as_sentences() {
        let listing = Wait {
            reason: WaitReason::FolderListing {
                folder_id: 12,
                interval: Duration::from_secs(30),
            },
            duration: Duration::from_millis(26_200),
            operation: "folder/ls.cgi",
        };
        assert_eq!(
            listing.to_string(),
            "waiting 27 s: the service allows one listing of folder 12 per 30 s"
        );
        let lock = Wait {
            reason: WaitReason::Locked,
            duration: Duration::from_secs(580),
            operation: "file/ls.cgi",
        };
        assert_eq!(
            lock.to_string(),
            "the service locked this address for flood protection: retrying in 9 min 40 s (Ctrl-C to stop)"
        );
        assert_eq!(human_duration(Duration::from_secs(3720)), "1 h 2 min");
    }
}
