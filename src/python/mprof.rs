//! memory_profiler: the line-by-line table `@profile` prints, and the `.dat` files `mprof run`
//! writes.
//!
//! memory_profiler measures the process's resident memory (RSS) after each line, so an
//! increment is memory the process kept or did not give back to the system, not a proof that
//! objects are retained: the lines are ranked by their total increment and the report says
//! so. `mprof run` samples RSS over time (`MEM <MiB> <unix time>`), which gives a trend.

use super::{PyFinding, PythonReport};
use crate::error::InputError;
use crate::series::trend::Point;
use crate::units::{self, MIB};
use std::collections::BTreeMap;

/// True for the `@profile` table (a `Line #` / `Mem usage` header).
pub fn is_line_profile(text: &str) -> bool {
    text.lines()
        .take(400)
        .any(|l| l.contains("Line #") && l.contains("Mem usage") && l.contains("Increment"))
}

/// True for `mprof run` data.
pub fn is_dat(text: &str) -> bool {
    let mut mem = 0;
    for l in text.lines().take(50) {
        let t = l.trim();
        if t.is_empty() {
            continue;
        }
        if t.starts_with("MEM ") {
            mem += 1;
        } else if !(t.starts_with("CMDLINE ") || t.starts_with("FUNC ") || t.starts_with("CHLD ")) {
            return false;
        }
    }
    mem > 0
}

fn mib(v: &str, unit: &str) -> Option<f64> {
    let x: f64 = v.parse().ok()?;
    let m = match unit {
        "MiB" | "MB" => 1.0,
        "KiB" | "KB" => 1.0 / 1024.0,
        "GiB" | "GB" => 1024.0,
        _ => return None,
    };
    Some(x * m)
}

/// The `@profile` table: lines ranked by total increment.
pub fn line_profile(name: &str, text: &str) -> Result<PythonReport, InputError> {
    // (file, line) -> (increment MiB, occurrences, code)
    let mut rows: BTreeMap<(String, u64), (f64, u64, String)> = BTreeMap::new();
    let mut file = String::new();
    let mut code_col: Option<usize> = None;
    let mut first_row = false;
    // Memory at each function's entry: with `--backend tracemalloc` it is the traced memory,
    // which starts near zero; a Python process's RSS is never under a mebibyte.
    let mut entry_mem: Vec<f64> = Vec::new();
    for (i, l) in text.lines().enumerate() {
        if let Some(f) = l.strip_prefix("Filename: ") {
            file = f.trim().to_string();
            code_col = None;
            continue;
        }
        if l.contains("Line #") && l.contains("Mem usage") {
            code_col = l.find("Line Contents");
            first_row = true;
            continue;
        }
        if l.starts_with("====") || l.trim().is_empty() {
            continue;
        }
        let Some(col) = code_col else { continue };
        let (nums, code) = if l.len() >= col && l.is_char_boundary(col) {
            l.split_at(col)
        } else {
            (l, "")
        };
        let tok: Vec<&str> = nums.split_whitespace().collect();
        let Some(lineno) = tok.first().and_then(|t| t.parse::<u64>().ok()) else {
            return Err(InputError::at_line(
                name,
                i as u64 + 1,
                "memory_profiler table: a row without a line number",
            ));
        };
        if tok.len() < 5 {
            // A line that did not run (no memory columns).
            continue;
        }
        let inc = mib(tok[3], tok[4]).ok_or_else(|| {
            InputError::at_line(name, i as u64 + 1, "memory_profiler table: bad increment")
        })?;
        let occ = tok.get(5).and_then(|t| t.parse::<u64>().ok()).unwrap_or(1);
        // The first row of a function is its entry: its increment is the memory the process
        // already had, not something the line allocated.
        if std::mem::take(&mut first_row) {
            if let Some(m) = mib(tok[1], tok[2]) {
                entry_mem.push(m);
            }
            continue;
        }
        let e = rows
            .entry((file.clone(), lineno))
            .or_insert((0.0, 0, code.trim_end().to_string()));
        e.0 += inc;
        e.1 += occ;
    }
    if rows.is_empty() {
        return Err(InputError::whole(
            name,
            "memory_profiler table without any measured line",
        ));
    }
    let traced = !entry_mem.is_empty() && entry_mem.iter().all(|&m| m < 1.0);
    let max_inc = rows.values().map(|r| r.0).fold(0.0f64, f64::max).max(1e-9);
    let mut report = PythonReport::new(name, "memory_profiler");
    for ((file, line), (inc, occ, code)) in rows {
        // RSS increments land on whichever line first touches new pages (a line that reuses
        // memory another line freed shows nothing), so with the RSS backend they cannot say
        // which line keeps memory.
        let likelihood = match (inc > 0.0, traced) {
            (true, true) => 0.2 + 0.7 * inc / max_inc,
            (true, false) => 0.5,
            _ => 0.05,
        };
        report.findings.push(PyFinding {
            file,
            line,
            code: Some(code.trim().to_string()).filter(|c| !c.is_empty()),
            leaked_bytes: traced.then_some((inc.max(0.0) * MIB) as u64),
            allocated_bytes: None,
            likelihood: super::round3(likelihood),
            evidence: format!(
                "memory_profiler: {} {} over {occ} run(s) of the line",
                if traced { "traced memory" } else { "RSS" },
                units::bytes_delta(inc * MIB)
            ),
            sizes: Vec::new(),
        });
    }
    report.finish_findings();
    report.notes.push(if traced {
        "memory_profiler ran with --backend tracemalloc: each increment is the net memory the line's allocations kept; a bounded cache's line adds until the cache is full".into()
    } else {
        "memory_profiler measured RSS (its default backend): an increment lands on whichever line first touches new memory, and a line that reuses memory another line freed shows none, so this table cannot tell which line keeps memory (lines with increments are 0.5, retained unknown). Run `python -m memory_profiler --backend tracemalloc prog.py` for net bytes per line.".into()
    });
    Ok(report)
}

/// `mprof run` data: the RSS trend, and the functions `@profile` marked (`FUNC` lines).
pub fn dat(name: &str, text: &str) -> Result<PythonReport, InputError> {
    let mut points = Vec::new();
    let mut funcs: BTreeMap<String, (f64, u64)> = BTreeMap::new();
    for (i, l) in text.lines().enumerate() {
        let bad =
            |what: &str| InputError::at_line(name, i as u64 + 1, format!("mprof data: {what}"));
        let tok: Vec<&str> = l.split_whitespace().collect();
        match tok.first() {
            Some(&"MEM") => {
                let (Some(m), Some(t)) = (
                    tok.get(1).and_then(|v| v.parse::<f64>().ok()),
                    tok.get(2).and_then(|v| v.parse::<f64>().ok()),
                ) else {
                    return Err(bad("MEM needs <MiB> <time>"));
                };
                points.push(Point { t, v: m * MIB });
            }
            Some(&"FUNC") => {
                let nums: Vec<f64> = tok.iter().skip(2).filter_map(|v| v.parse().ok()).collect();
                if let (Some(f), [m0, _, m1, _]) = (tok.get(1), nums.as_slice()) {
                    let e = funcs.entry(f.to_string()).or_default();
                    e.0 += m1 - m0;
                    e.1 += 1;
                }
            }
            _ => {}
        }
    }
    if points.is_empty() {
        return Err(InputError::whole(name, "mprof data without MEM samples"));
    }
    let mut report = PythonReport::new(name, "mprof");
    for (f, (inc, calls)) in funcs {
        report.findings.push(PyFinding {
            file: f,
            line: 0,
            code: None,
            leaked_bytes: Some((inc.max(0.0) * MIB) as u64),
            allocated_bytes: None,
            likelihood: if inc > 0.0 { 0.5 } else { 0.05 },
            evidence: format!(
                "mprof: RSS {} over {calls} call(s) of the function",
                units::bytes_delta(inc * MIB)
            ),
            sizes: Vec::new(),
        });
    }
    report.finish_findings();
    report.set_trend(
        &points,
        "mprof RSS samples, Theil-Sen slope, Sen 95% interval, Mann-Kendall test",
        5.0,
    );
    report.notes.push(
        "mprof samples the process's RSS: growth there is memory the process kept, from any cause; it cannot name a line (use @profile, tracemalloc or the probe)".into(),
    );
    Ok(report)
}
