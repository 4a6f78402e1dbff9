//! `capture.json`: what `memsleuth capture` measured, schema `memsleuth.capture.v1`.
//!
//! This is the contract between the capture and its readers (`memsleuth verify`, `memsleuth
//! report --capture`). The fields of [`Capture`] documented as "contract" are fixed (they may
//! not be renamed); the others were added by the capture and readers must not require them.
//!
//! ```json
//! {
//!   "schema": "memsleuth.capture.v1",
//!   "runtime": "node",
//!   "runtime_version": "v20.20.2",
//!   "command": ["node", "server.js"],
//!   "url": "http://127.0.0.1:41234/quote/{i}",
//!   "method": "GET",
//!   "concurrency": 8,
//!   "started_at": "2026-11-26T10:00:00Z",
//!   "checkpoints": [
//!     {"requests": 1000, "seconds": 12.3, "heap_used_bytes": 8123456, "heap_total_bytes": 11000000,
//!      "rss_bytes": 60000000, "external_bytes": 1500000, "snapshot": "s1.heapsnapshot"}
//!   ],
//!   "bytes_per_request": {"value": 812.0, "low": 790.0, "high": 830.0, "method": "..."},
//!   "latency_ms": {"p50": 0.4, "p90": 0.9, "p99": 2.1, "max": 12.0},
//!   "requests_total": 10000, "errors": 0,
//!   "gc_log": "gc.log",
//!   "snapshots": ["s1.heapsnapshot", "s2.heapsnapshot", "s3.heapsnapshot"],
//!   "python_probe": null
//! }
//! ```
//!
//! Sizes are exact bytes; times are seconds since the load started (wall clock, including
//! the pauses for checkpoints), except `started_at`, the wall-clock start in UTC.

use crate::error::InputError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The schema name written in every `capture.json`.
pub const SCHEMA: &str = "memsleuth.capture.v1";

/// The whole `capture.json`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Capture {
    /// Contract: always [`SCHEMA`].
    pub schema: String,
    /// Contract: `node` (or `python` for Python captures).
    pub runtime: String,
    /// Contract: the runtime's version as it reports it (`process.version`: `v20.20.2`).
    pub runtime_version: String,
    /// Contract: the service's command as the user gave it (without the flags memsleuth
    /// added); in attach mode the process's command line when it can be read, else empty.
    pub command: Vec<String>,
    /// Contract: the load's URL with `{port}` filled in and `{i}` kept; null for `--load`
    /// without `--url`.
    pub url: Option<String>,
    /// Contract: the HTTP method of the built-in load (null with `--load`).
    pub method: Option<String>,
    /// Contract: concurrent connections of the built-in load (null with `--load`).
    pub concurrency: Option<u32>,
    /// Contract: wall-clock time the load started (the service ready), UTC, RFC 3339
    /// (`2026-11-26T10:00:00Z`).
    pub started_at: String,
    /// Contract: the checkpoints, in order.
    pub checkpoints: Vec<Checkpoint>,
    /// Contract: growth of the post-GC heap per request; null when requests were not counted
    /// or fewer than two checkpoints were taken after warm-up.
    pub bytes_per_request: Option<Slope>,
    /// Contract: latency of the built-in load's answered requests (null with `--load`).
    pub latency_ms: Option<Latency>,
    /// Contract: requests sent by the built-in load; with `--load`, requests counted in the
    /// service (null where it cannot count).
    pub requests_total: Option<u64>,
    /// Contract: requests without an answer (connection errors, timeouts) or answered with
    /// an HTTP status of 400 or more (null with `--load`).
    pub errors: Option<u64>,
    /// Contract: the `--trace-gc` log, a file name inside the capture's folder; null when
    /// memsleuth attached to a running process (it cannot add `--trace-gc` then).
    pub gc_log: Option<String>,
    /// Contract: the heap snapshots, file names inside the capture's folder, oldest first.
    pub snapshots: Vec<String>,
    /// Contract: the Python probe's output (Python captures only): `python.json`, the
    /// analysis of the checkpoints' probe files (`memsleuth python --format json`), written
    /// with the report; null until then.
    pub python_probe: Option<String>,

    /// Added: the memsleuth version that wrote this file.
    #[serde(default)]
    pub memsleuth_version: String,
    /// Added: `start` (memsleuth started the service) or `attach`.
    #[serde(default)]
    pub mode: String,
    /// Added: the process measured.
    #[serde(default)]
    pub pid: Option<u32>,
    /// Added: the load: `built-in` or the `--load` command.
    #[serde(default)]
    pub load: Option<String>,
    /// Added: whether the snapshots carry allocation stacks (`--track-allocations`).
    #[serde(default)]
    pub track_allocations: bool,
    /// Added: answered requests per HTTP status (built-in load only).
    #[serde(default)]
    pub status_counts: BTreeMap<String, u64>,
    /// Added: requests that got no answer (connection errors, timeouts); part of `errors`.
    #[serde(default)]
    pub transport_errors: Option<u64>,
    /// Added: the first transport error seen, as a hint.
    #[serde(default)]
    pub first_error: Option<String>,
    /// Added: seconds from the start of the load to the last checkpoint.
    #[serde(default)]
    pub duration_s: f64,
    /// Added: the service's own output (stdout and stderr lines that are not GC lines).
    #[serde(default)]
    pub service_log: Option<String>,
    /// Added: the leak finder's output (`memsleuth leaks --format json`) on the snapshots,
    /// written after the capture; null until then.
    #[serde(default)]
    pub leaks: Option<String>,
    /// Added: lines the capture wants its readers to know (a load that ended early, ...).
    #[serde(default)]
    pub notes: Vec<String>,
}

/// One checkpoint: memory after a forced full GC, with the load paused (built-in load).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Checkpoint {
    /// Contract: requests completed before this checkpoint. With `--load`, the requests the
    /// service's HTTP servers received (counted in the service through Node's
    /// `http.server.request.start` diagnostics channel), or null where it cannot count.
    pub requests: Option<u64>,
    /// Contract: seconds since the load started.
    pub seconds: f64,
    /// Contract: V8 heap used after a forced full GC (`Runtime.getHeapUsage`).
    pub heap_used_bytes: u64,
    /// Contract: V8 heap reserved (`Runtime.getHeapUsage`).
    pub heap_total_bytes: u64,
    /// Contract: resident set size (`process.memoryUsage().rss`).
    pub rss_bytes: u64,
    /// Contract: memory of C++ objects bound to JS objects (`process.memoryUsage().external`).
    pub external_bytes: u64,
    /// Contract: the heap snapshot taken here, a file name inside the capture's folder.
    pub snapshot: Option<String>,
    /// Added: `process.memoryUsage().arrayBuffers`, when the runtime reports it.
    #[serde(default)]
    pub array_buffers_bytes: Option<u64>,
    /// Added: size of the snapshot file, bytes.
    #[serde(default)]
    pub snapshot_bytes: Option<u64>,
    /// Added: time the forced GC took, milliseconds.
    #[serde(default)]
    pub gc_ms: f64,
    /// Added: time the snapshot took (taking, streaming, writing), milliseconds.
    #[serde(default)]
    pub snapshot_ms: Option<f64>,
    /// Added: the whole checkpoint (GC, measurements, snapshot), milliseconds: the time the
    /// load was paused for it.
    #[serde(default)]
    pub pause_ms: f64,
    /// Added: the Python probe's checkpoint taken here (Python captures), a file name inside
    /// the capture's folder. In a Python capture `heap_used_bytes` and `heap_total_bytes`
    /// are the bytes tracemalloc traces after `gc.collect()`, and `external_bytes` is 0.
    #[serde(default)]
    pub probe: Option<String>,
}

/// A slope with its confidence interval.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Slope {
    /// Contract: the estimate.
    pub value: f64,
    /// Contract: lower end of the 95 % confidence interval.
    pub low: f64,
    /// Contract: upper end of the 95 % confidence interval.
    pub high: f64,
    /// Contract: how it was computed, one line.
    pub method: String,
    /// Added: the checkpoints it was fitted on.
    #[serde(default)]
    pub points: usize,
}

/// Latency percentiles, milliseconds.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct Latency {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

/// Reads a `capture.json` (its text), checking the schema.
pub fn parse(name: &str, bytes: &[u8]) -> Result<Capture, InputError> {
    let head: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        InputError::at_line(name, e.line() as u64, format!("not a capture.json: {e}"))
    })?;
    match head.get("schema").and_then(|s| s.as_str()) {
        Some(SCHEMA) => {}
        Some(other) => {
            return Err(InputError::whole(
                name,
                format!("schema {other:?} is not {SCHEMA:?} (written by another memsleuth?)"),
            ));
        }
        None => {
            return Err(InputError::whole(
                name,
                format!("not a capture.json: no \"schema\": {SCHEMA:?}"),
            ));
        }
    }
    serde_json::from_value(head)
        .map_err(|e| InputError::whole(name, format!("not a valid capture.json: {e}")))
}

/// Formats a Unix time (seconds) as RFC 3339 UTC: `2026-11-26T10:00:00Z`.
pub fn rfc3339_utc(unix_s: i64) -> String {
    let days = unix_s.div_euclid(86400);
    let secs = unix_s.rem_euclid(86400);
    let (y, m, d) = crate::report::evidence::civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339() {
        assert_eq!(rfc3339_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_utc(1_795_687_200), "2026-11-26T10:00:00Z");
    }

    #[test]
    fn wrong_schema_is_named() {
        let e = parse("c.json", br#"{"schema": "other"}"#).unwrap_err();
        assert!(e.to_string().contains("\"other\""), "{e}");
        let e = parse("c.json", b"{").unwrap_err();
        assert!(e.to_string().starts_with("c.json at line 1"), "{e}");
    }
}
