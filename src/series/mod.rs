//! Time series evidence: `--trace-gc` logs, Prometheus series, Python profiles, trends.
//!
//! Each module has a printing-free entry point the `report` command calls directly:
//! [`gclog::analyze`], [`prometheus::analyze_file`] / [`prometheus::query_server`],
//! [`python::analyze`]. Their output types are the JSON schemas of the commands.

pub mod gclog;
pub mod prometheus;
pub mod python;
pub mod trend;
