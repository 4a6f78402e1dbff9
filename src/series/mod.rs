//! Time series evidence: `--trace-gc` logs, Prometheus series, Python profiles, trends, and
//! incidents (OOM crashes, OOM kills, restarts) from application and system logs.
//!
//! Each module has a printing-free entry point the `report` command calls directly:
//! [`gclog::analyze`], [`prometheus::analyze_file`] / [`prometheus::query_server`],
//! [`python::analyze`], [`applog::analyze`]. Their output types are the JSON schemas of the
//! commands.

pub mod applog;
pub mod gclog;
pub mod prometheus;
pub mod python;
pub mod trend;
