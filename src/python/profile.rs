//! Scalene 2.x JSON and memray `transform csv --leaks` CSV: source lines ranked by how likely
//! they leak.
//!
//! - memray `--leaks` lists the allocations still alive when the program ended, per stack.
//!   Each row is attributed to the innermost frame in the program's own code (not the standard
//!   library, `site-packages` or `<frozen ...>`), and rows are summed per line. A line whose
//!   survivors are numerous and large is a leak; a bounded cache leaves only a few survivors.
//! - Scalene samples allocations; its per-line `n_peak_mb`/`n_growth_mb` are not growth figures
//!   and its own `leaks` field is built on the frees it saw. A line is ranked by whether the
//!   footprint fell at the line's own memory samples (a line whose memory is freed again). When
//!   the profile shows no frees at all (the footprint never fell and ends near the sampled
//!   allocation volume), it cannot tell a retained line from one freed later: every line is then
//!   `likelihood` 0.5 with the reason in `notes`, ranked by allocation volume. The program's
//!   footprint `samples` give the growth trend (a rate only when the run is long enough).

use super::{PyFinding, PythonReport, round3};
use crate::error::InputError;
use crate::series::trend::Point;
use crate::units::{self, MIB};
use serde::Deserialize;
use std::collections::BTreeMap;

pub const MEMRAY_HEADER: &str = "allocator,num_allocations,size,tid,thread_name,stack_trace";

use super::is_library_path as is_library;

/// Splits one CSV record into at most `n` fields, honouring double quotes.
fn csv_fields(line: &str, n: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    cur.push('"');
                    chars.next();
                } else {
                    quoted = false;
                }
            } else {
                cur.push(c);
            }
        } else if c == '"' {
            quoted = true;
        } else if c == ',' && out.len() + 1 < n {
            out.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
    }
    out.push(cur);
    out
}

#[derive(Default)]
struct Acc {
    bytes: u64,
    allocs: u64,
    func: String,
}

pub fn memray(name: &str, text: &str) -> Result<PythonReport, InputError> {
    let mut per_line: BTreeMap<(String, u64), Acc> = BTreeMap::new();
    let mut rows = 0usize;
    for (idx, line) in text.lines().enumerate().skip(1) {
        let lineno = idx as u64 + 1;
        if line.trim().is_empty() {
            continue;
        }
        let f = csv_fields(line.trim_end_matches('\r'), 6);
        let bad = |what: &str| InputError::at_line(name, lineno, format!("memray CSV: {what}"));
        if f.len() != 6 {
            return Err(bad("expected 6 fields"));
        }
        let allocs: u64 = f[1]
            .trim()
            .parse()
            .map_err(|_| bad("num_allocations is not a number"))?;
        let size: u64 = f[2]
            .trim()
            .parse()
            .map_err(|_| bad("size is not a number"))?;
        rows += 1;
        // Frames are `func;file;line`, leaf first, separated by `|`.
        let frames: Vec<(&str, &str, u64)> = f[5]
            .split('|')
            .filter_map(|fr| {
                let mut it = fr.rsplitn(3, ';');
                let line = it.next()?.trim().parse().ok()?;
                let file = it.next()?;
                let func = it.next()?;
                Some((func, file, line))
            })
            .collect();
        let Some(&leaf) = frames.first() else {
            continue;
        };
        let (func, file, l) = frames
            .iter()
            .copied()
            .find(|(_, file, _)| !is_library(file))
            .unwrap_or(leaf);
        let acc = per_line.entry((file.to_string(), l)).or_default();
        acc.bytes += size;
        acc.allocs += allocs;
        if acc.func.is_empty() {
            acc.func = func.to_string();
        }
    }
    if rows == 0 {
        return Err(InputError::whole(name, "memray CSV has no allocation rows"));
    }
    let max_bytes = per_line.values().map(|a| a.bytes).max().unwrap_or(0).max(1) as f64;
    let max_allocs = per_line
        .values()
        .map(|a| a.allocs)
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let mut report = PythonReport::new(name, "memray");
    report.findings = per_line
        .into_iter()
        .map(|((file, line), a)| {
            let likelihood =
                0.5 * (a.allocs as f64 / max_allocs) + 0.5 * (a.bytes as f64 / max_bytes);
            PyFinding {
                file,
                line,
                code: None,
                leaked_bytes: Some(a.bytes),
                allocated_bytes: None,
                likelihood: round3(likelihood),
                evidence: format!(
                    "memray --leaks: {} allocation(s), {} still alive at exit in {}()",
                    a.allocs,
                    units::bytes_u64(a.bytes),
                    a.func
                ),
                sizes: Vec::new(),
            }
        })
        .collect();
    report.finish_findings();
    report.notes.push(
        "memray --leaks lists what was still allocated when the program ended: a bounded cache leaves its last entries, a leak all of them; it gives no growth rate".into(),
    );
    Ok(report)
}

/// Scalene writes `&`, `<`, `>` as the literal text `\u0026`, `\u003c`, `\u003e`.
fn unescape_scalene(s: &str) -> String {
    s.replace("\\u0026", "&")
        .replace("\\u003c", "<")
        .replace("\\u003e", ">")
        .trim_end()
        .to_string()
}

#[derive(Deserialize)]
struct ScaleneJson {
    #[serde(default)]
    files: BTreeMap<String, ScaleneFile>,
    #[serde(default)]
    samples: Vec<Vec<f64>>,
    elapsed_time_sec: Option<f64>,
    max_footprint_mb: Option<f64>,
}

#[derive(Deserialize)]
struct ScaleneFile {
    #[serde(default)]
    lines: Vec<ScaleneLine>,
    #[serde(default)]
    leaks: BTreeMap<String, ScaleneLeak>,
}

#[derive(Deserialize)]
struct ScaleneLine {
    lineno: u64,
    #[serde(default)]
    line: String,
    #[serde(default)]
    n_malloc_mb: f64,
    #[serde(default)]
    n_mallocs: f64,
    #[serde(default)]
    memory_samples: Vec<Vec<f64>>,
}

#[derive(Deserialize)]
struct ScaleneLeak {
    likelihood: f64,
}

fn falls(points: &[(f64, f64)]) -> (usize, usize) {
    let steps = points.len().saturating_sub(1);
    (points.windows(2).filter(|w| w[1].1 < w[0].1).count(), steps)
}

fn finite_pairs(samples: &[Vec<f64>]) -> Vec<(f64, f64)> {
    let mut v: Vec<(f64, f64)> = samples
        .iter()
        .filter_map(|s| match s.as_slice() {
            [t, v, ..] if t.is_finite() && v.is_finite() => Some((*t, *v)),
            _ => None,
        })
        .collect();
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    v
}

pub fn scalene(name: &str, text: &str) -> Result<PythonReport, InputError> {
    let parsed: ScaleneJson = serde_json::from_str(text)
        .map_err(|e| InputError::at_line(name, e.line() as u64, format!("Scalene JSON: {e}")))?;
    let global = finite_pairs(&parsed.samples);
    let (g_falls, g_steps) = falls(&global);
    let total_mb: f64 = parsed
        .files
        .values()
        .flat_map(|f| f.lines.iter())
        .map(|l| l.n_malloc_mb)
        .filter(|v| v.is_finite() && *v > 0.0)
        .sum();
    let end_mb = global
        .last()
        .map(|p| p.1)
        .or(parsed.max_footprint_mb)
        .unwrap_or(0.0);
    // How often the whole footprint fell between two of its samples: the rate at which frees
    // show at all. A line whose own samples fall as often is freeing as much as the program.
    let g_ratio = if g_steps > 0 {
        g_falls as f64 / g_steps as f64
    } else {
        0.0
    };
    let lines_fall = parsed
        .files
        .values()
        .flat_map(|f| f.lines.iter())
        .any(|l| falls(&finite_pairs(&l.memory_samples)).0 > 0);
    let no_frees = g_falls == 0 && !lines_fall && (total_mb <= 0.0 || end_mb >= 0.9 * total_mb);
    let mut report = PythonReport::new(name, "scalene");
    for (file, fd) in &parsed.files {
        for l in &fd.lines {
            if l.n_malloc_mb <= 0.0 || !l.n_malloc_mb.is_finite() {
                continue;
            }
            let ms = finite_pairs(&l.memory_samples);
            let (f, steps) = falls(&ms);
            let allocated = (l.n_malloc_mb * MIB) as u64;
            let hint = fd
                .leaks
                .get(&l.lineno.to_string())
                .map(|k| k.likelihood)
                .filter(|v| v.is_finite());
            let mut evidence = format!(
                "Scalene: {} sampled in {} allocation(s)",
                units::bytes(l.n_malloc_mb * MIB),
                l.n_mallocs as u64
            );
            let (likelihood, leaked) = if no_frees {
                evidence.push_str("; retention unknown: Scalene recorded no frees in this run");
                (0.5, None)
            } else if steps >= 2 {
                let ratio = f as f64 / steps as f64;
                let retention = (1.0 - ratio / g_ratio.max(0.05)).clamp(0.0, 1.0);
                evidence.push_str(&format!(
                    "; footprint fell at {f} of {steps} of its samples ({:.0}% of the program's samples fell)",
                    100.0 * g_ratio
                ));
                if let Some(h) = hint {
                    evidence.push_str(&format!("; Scalene leak likelihood {h:.3} (weak signal)"));
                }
                let likelihood = retention * (0.6 + 0.4 * hint.unwrap_or(0.0).clamp(0.0, 1.0));
                (likelihood, Some((allocated as f64 * retention) as u64))
            } else {
                evidence.push_str("; too few memory samples to see frees");
                (0.3, None)
            };
            report.findings.push(PyFinding {
                file: file.clone(),
                line: l.lineno,
                code: Some(unescape_scalene(&l.line)).filter(|s| !s.trim().is_empty()),
                leaked_bytes: leaked,
                allocated_bytes: Some(allocated),
                likelihood: round3(likelihood),
                evidence,
                sizes: Vec::new(),
            });
        }
    }
    report.finish_findings();
    if no_frees {
        report.notes.push(format!(
            "This profile cannot tell a line whose memory is freed later (a bounded cache) from one that keeps it: Scalene recorded no frees in this run (the footprint never fell and ends at {} of the {} it sampled being allocated), so its leak scores are not evidence either. Lines are listed by sampled allocation volume. Use memray --leaks, tracemalloc snapshots or `memsleuth capture` (the probe) to see what is retained.",
            units::bytes(end_mb * MIB),
            units::bytes(total_mb * MIB)
        ));
    }
    let points: Vec<Point> = global
        .iter()
        .map(|(t, v)| Point {
            t: t / 1e9,
            v: v * MIB,
        })
        .collect();
    report.set_trend(&points, "Scalene footprint samples (sampled mallocs minus frees), Theil-Sen slope, Sen 95% interval, Mann-Kendall test", 1.0);
    report.elapsed_s = parsed.elapsed_time_sec;
    report.max_footprint_mb = parsed.max_footprint_mb;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_csv_fields() {
        let f = csv_fields("MALLOC,1,10,1,0x1,\"f;/a,b.py;3|g;x.py;4\"", 6);
        assert_eq!(f.len(), 6);
        assert_eq!(f[5], "f;/a,b.py;3|g;x.py;4");
    }

    #[test]
    fn detection_by_content() {
        use crate::python::{Kind, detect};
        assert_eq!(
            detect(format!("{MEMRAY_HEADER}\n").as_bytes()),
            Some(Kind::Memray)
        );
        assert_eq!(
            detect(b"{\"elapsed_time_sec\": 1, \"files\": {}}"),
            Some(Kind::Scalene)
        );
        assert_eq!(detect(b"{\"status\":\"success\"}"), None);
        assert_eq!(detect(b"hello"), None);
    }

    #[test]
    fn bad_memray_row_names_the_line() {
        let text = format!("{MEMRAY_HEADER}\nMALLOC,x,10,1,0x1,f;a.py;1\n");
        let e = crate::python::analyze("m.csv", &text).unwrap_err();
        assert_eq!(e.pos, crate::error::Position::Line(2));
    }
}
