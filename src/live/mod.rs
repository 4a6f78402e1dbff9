//! Live investigation: `memsleuth capture` drives a running Node service under load and
//! collects the evidence (checkpoints of post-GC memory, heap snapshots, the GC log) into
//! a folder described by `capture.json`; `memsleuth verify` compares two captures.
//!
//! - [`process`]: starting the service in its own process group (and stopping the whole
//!   group, also when memsleuth dies), attaching to a process by pid, `/proc` look-ups.
//! - [`inspector`]: the V8 inspector protocol over its WebSocket (tungstenite): forced GC,
//!   heap usage, heap snapshots streamed to disk chunk by chunk, allocation tracking.
//! - [`http`], [`load`]: the built-in HTTP/1.1 load generator (keep-alive, concurrency,
//!   `{i}` request numbers) and the readiness probe.
//! - [`capture`]: the capture itself: start or attach, load in segments between
//!   checkpoints, measure, snapshot, write the folder so that nothing is half-written.
//! - [`format`]: `capture.json` (schema `memsleuth.capture.v1`), [`stats`]: growth per
//!   request and latency percentiles, [`verify`]: the before/after comparison (pure).
//!
//! Nothing here prints or reads the environment: progress goes to an [`Observer`], and the
//! signal handling that sets [`Stop`] lives in `cli::capture`.

pub mod capture;
pub mod format;
pub mod http;
pub mod inspector;
pub mod load;
pub mod process;
pub mod stats;
pub mod verify;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A stop request shared with a signal handler: 0 while running, else the signal number
/// that asked to stop (2 = SIGINT, 15 = SIGTERM, 1 = SIGHUP).
#[derive(Clone, Debug, Default)]
pub struct Stop(pub Arc<AtomicUsize>);

impl Stop {
    pub fn new() -> Stop {
        Stop::default()
    }

    /// Whether a stop was asked for.
    pub fn requested(&self) -> bool {
        self.0.load(Ordering::Relaxed) != 0
    }

    /// Asks to stop, as if `signal` had arrived.
    pub fn request(&self, signal: usize) {
        self.0.store(signal.max(1), Ordering::Relaxed);
    }

    /// The error to return when a stop was asked for.
    pub fn check(&self) -> Result<(), Interrupted> {
        match self.0.load(Ordering::Relaxed) {
            0 => Ok(()),
            s => Err(Interrupted(s)),
        }
    }
}

/// The capture was stopped by a signal (Ctrl-C); carries the signal number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("interrupted by {}", signal_name(*.0))]
pub struct Interrupted(pub usize);

/// `SIGINT (Ctrl-C)`, `SIGTERM`, ...
pub fn signal_name(s: usize) -> String {
    match s {
        1 => "SIGHUP".into(),
        2 => "SIGINT (Ctrl-C)".into(),
        15 => "SIGTERM".into(),
        n => format!("signal {n}"),
    }
}

/// What a capture reports while it runs, for the command line to show.
#[derive(Debug)]
pub enum Event<'a> {
    /// The service was started.
    Started {
        pid: u32,
        command: &'a [String],
        port: Option<u16>,
    },
    /// Connected to the inspector of `pid`.
    Attached { url: &'a str, pid: u32 },
    /// The service answered the readiness probe.
    Ready { url: &'a str, status: u16 },
    /// The load is running: requests done (or seconds elapsed with `--load`) of a total.
    Progress { done: u64, total: u64 },
    /// A checkpoint was taken (index from 0 of `count`).
    Checkpoint {
        index: usize,
        count: usize,
        checkpoint: &'a format::Checkpoint,
    },
    /// A snapshot is being written: bytes so far.
    Snapshot { name: &'a str, bytes: u64 },
    /// Something the user should know.
    Note(&'a str),
}

/// Receives [`Event`]s.
pub trait Observer {
    fn event(&mut self, e: Event<'_>);
}

/// An observer that ignores everything.
pub struct Quiet;

impl Observer for Quiet {
    fn event(&mut self, _: Event<'_>) {}
}
