//! memsleuth: turns the evidence of a memory leak (V8 heap snapshots, `--trace-gc` logs,
//! Prometheus series, Python profiles and probe checkpoints) into a Memory Leak Investigation Report.
//!
//! Data flows one way: `input` (files, HTTP) -> `heap` / `series` (models) -> `leaks`
//! (analysis) -> `report` (render). Only `cli` touches stdout, stderr and exit codes.

pub mod cli;
pub mod error;
pub mod heap;
pub mod input;
pub mod leaks;
pub mod live;
pub mod python;
pub mod report;
pub mod series;
pub mod units;
