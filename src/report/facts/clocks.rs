//! The clocks the evidence is written on, and which of them can be placed on wall-clock
//! (Unix, UTC) time. Each source keeps its own clock; a chart or a timeline puts two sources
//! side by side only when both are placed on wall-clock time.
//!
//! - Prometheus samples are Unix seconds.
//! - A capture's checkpoints count seconds since its load started, and `started_at` dates
//!   that start.
//! - Heap snapshot file names carry the host's local time; when a capture took the same
//!   snapshots at dated checkpoints, the difference gives the host's UTC offset.
//! - A `--trace-gc` log counts process uptime; V8 runs a full GC with the reason
//!   `heap profiler` for every snapshot, so when the log has one such GC per dated snapshot,
//!   the log is placed on the snapshots' clock.

use super::SnapshotFact;
use super::stats::median;
use crate::report::evidence::Evidence;

/// The clock a time is written on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Clock {
    /// Unix seconds, UTC.
    Unix,
    /// A snapshot file name's time (host local time, read as if UTC).
    HostLocal,
    /// Seconds of process uptime (GC log).
    Uptime,
    /// Seconds since a capture's load started.
    Load,
}

impl Clock {
    /// The clock in words, for axis labels and notes.
    pub fn describe(self) -> &'static str {
        match self {
            Clock::Unix => "UTC",
            Clock::HostLocal => "host local time (from the snapshot file names)",
            Clock::Uptime => "process uptime (GC log)",
            Clock::Load => "time since the load started",
        }
    }
}

/// Offsets that place each clock on Unix time: `unix = t + offset`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Clocks {
    pub load: Option<f64>,
    pub host_local: Option<f64>,
    pub uptime: Option<f64>,
}

impl Clocks {
    /// The offset of `clock` to Unix time, when known.
    pub fn offset(&self, clock: Clock) -> Option<f64> {
        match clock {
            Clock::Unix => Some(0.0),
            Clock::HostLocal => self.host_local,
            Clock::Uptime => self.uptime,
            Clock::Load => self.load,
        }
    }

    /// `t` on `clock` as Unix seconds, when that clock is placed.
    pub fn to_unix(&self, clock: Clock, t: f64) -> Option<f64> {
        self.offset(clock).map(|o| t + o).filter(|u| u.is_finite())
    }

    /// When a snapshot was taken, in Unix seconds, when known.
    pub fn snapshot_unix(&self, s: &SnapshotFact) -> Option<f64> {
        s.load_seconds
            .and_then(|t| self.to_unix(Clock::Load, t))
            .or_else(|| {
                s.name_time
                    .and_then(|t| self.to_unix(Clock::HostLocal, t as f64))
            })
    }
}

/// Groups GC times (ms) closer than 2 s: V8 runs two GCs back to back for one snapshot.
fn clusters(times_ms: &[f64]) -> Vec<f64> {
    let mut t: Vec<f64> = times_ms.iter().copied().filter(|x| x.is_finite()).collect();
    t.sort_by(|a, b| a.total_cmp(b));
    let mut out: Vec<f64> = Vec::new();
    let mut last = f64::NEG_INFINITY;
    for x in t {
        if x - last > 2000.0 {
            out.push(x);
        }
        last = x;
    }
    out
}

/// Works out which clocks can be placed on Unix time.
pub fn align(ev: &Evidence, snapshots: &[SnapshotFact]) -> Clocks {
    let mut c = Clocks {
        load: ev.capture.as_ref().and_then(|c| c.started_unix),
        ..Clocks::default()
    };
    // Host local time: snapshots dated both by their name and by a checkpoint.
    if let Some(load) = c.load {
        let mut d: Vec<f64> = snapshots
            .iter()
            .filter_map(|s| Some(load + s.load_seconds? - s.name_time? as f64))
            .collect();
        if let Some(m) = median(&mut d) {
            // UTC offsets are whole quarter hours; the name and the checkpoint differ by the
            // seconds it took to write the snapshot.
            c.host_local = Some((m / 900.0).round() * 900.0);
        }
    }
    // Process uptime: one `heap profiler` GC cluster per dated snapshot.
    if let Some(g) = &ev.gc {
        let gcs = clusters(&g.snapshot_gcs_ms);
        let dated: Vec<f64> = snapshots
            .iter()
            .filter_map(|s| c.snapshot_unix(s))
            .collect();
        if !gcs.is_empty() && gcs.len() == snapshots.len() && dated.len() == snapshots.len() {
            let mut d: Vec<f64> = dated
                .iter()
                .zip(&gcs)
                .map(|(u, ms)| u - ms / 1000.0)
                .collect();
            let spread = d.iter().copied().fold(f64::NEG_INFINITY, f64::max)
                - d.iter().copied().fold(f64::INFINITY, f64::min);
            if spread <= 10.0 {
                c.uptime = median(&mut d);
            }
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_gcs_pair_up() {
        assert_eq!(
            clusters(&[20104.0, 20109.0, 87922.0, 87931.0, 123499.0, 123505.0]),
            vec![20104.0, 87922.0, 123499.0]
        );
        assert!(clusters(&[]).is_empty());
    }
}
