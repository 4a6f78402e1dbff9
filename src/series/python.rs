//! Python profiles moved to [`crate::python`]; these names stay for older callers.

pub use crate::python::{Kind, PyFinding, PythonReport, analyze, detect};
