//! Python profiles: Scalene 2.x JSON and memray `transform csv --leaks` CSV, told apart by
//! content. Both become a list of source lines ranked by how likely they leak.
//!
//! - memray `--leaks` lists the allocations still alive when the program ended, per stack.
//!   Each row is attributed to the innermost frame in the program's own code (not the standard
//!   library, `site-packages` or `<frozen ...>`), and rows are summed per line. A line whose
//!   survivors are numerous and large is a leak; a bounded cache leaves only a few survivors.
//! - Scalene samples allocations; its per-line `n_peak_mb`/`n_growth_mb` are not growth figures
//!   and its own `leaks` field has false positives (see the reference). memsleuth ranks a line
//!   by whether the footprint ever fell at the line's own memory samples (a freeing line) and
//!   uses Scalene's `leaks` likelihood only as a weak bonus. The program's footprint `samples`
//!   give the growth rate.

use crate::error::InputError;
use crate::series::trend::{self, Point};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

const MIB: f64 = 1048576.0;
/// At most this many findings are listed; the rest are counted in `findings_omitted`.
const MAX_FINDINGS: usize = 50;

/// One source line that may leak.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PyFinding {
    pub file: String,
    pub line: u64,
    /// The source text of the line, when known (Scalene includes it; for memray the CLI
    /// reads it from the file when it exists).
    pub code: Option<String>,
    /// memray: bytes still allocated at exit. Scalene: an estimate, the line's sampled
    /// allocation volume weighted by how little of it was seen freed.
    pub leaked_bytes: u64,
    /// 0 to 1, higher is more likely a leak; findings are sorted by it.
    pub likelihood: f64,
    /// Why, in one line.
    pub evidence: String,
}

/// The JSON of `memsleuth python --format json`.
///
/// ```text
/// {
///   "file": "profile.json",
///   "source": "scalene" | "memray",
///   "findings": [ {"file": "/app/x.py", "line": 12, "code": "...", "leaked_bytes": 123,
///                  "likelihood": 0.97, "evidence": "..."} ],   // most likely first
///   "growth_mb_per_hour": 1800.0 | null,   // Scalene footprint trend; null for memray
///   "verdict": "leak" | "no-leak" | "inconclusive" | null,   // of that trend
///   "reason": "..." | null,
///   "total_leaked_bytes": 456,             // sum over all lines (memray), estimate (Scalene)
///   "findings_omitted": 0,                 // lines beyond the first 50
///   "elapsed_s": 10.0 | null,              // Scalene run time
///   "max_footprint_mb": 512.0 | null       // Scalene
/// }
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PythonReport {
    pub file: String,
    pub source: String,
    pub findings: Vec<PyFinding>,
    pub growth_mb_per_hour: Option<f64>,
    pub verdict: Option<trend::Verdict>,
    pub reason: Option<String>,
    pub total_leaked_bytes: u64,
    pub findings_omitted: usize,
    pub elapsed_s: Option<f64>,
    pub max_footprint_mb: Option<f64>,
}

/// Which profiler wrote a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Scalene,
    Memray,
}

const MEMRAY_HEADER: &str = "allocator,num_allocations,size,tid,thread_name,stack_trace";

/// Tells a Scalene JSON from a memray CSV by content; `None` for anything else.
pub fn detect(text: &str) -> Option<Kind> {
    let t = text.trim_start_matches('\u{feff}').trim_start();
    if t.starts_with(MEMRAY_HEADER) {
        return Some(Kind::Memray);
    }
    if t.starts_with('{')
        && t.contains("\"files\"")
        && (t.contains("\"max_footprint_mb\"") || t.contains("\"elapsed_time_sec\""))
    {
        return Some(Kind::Scalene);
    }
    None
}

/// Reads a Scalene JSON or memray CSV; `name` is used in errors.
pub fn analyze(name: &str, text: &str) -> Result<PythonReport, InputError> {
    if text.trim().is_empty() {
        return Err(InputError::whole(
            name,
            "empty: no Scalene or memray profile",
        ));
    }
    match detect(text) {
        Some(Kind::Memray) => memray(name, text),
        Some(Kind::Scalene) => scalene(name, text),
        None => Err(InputError::whole(
            name,
            "neither a Scalene JSON profile (`scalene run -o FILE`) nor a memray CSV \
             (`memray transform csv --leaks`)",
        )),
    }
}

fn is_library(file: &str) -> bool {
    file.starts_with('<')
        || file.contains("/site-packages/")
        || file.contains("/dist-packages/")
        || file.contains("/lib/python")
}

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

fn memray(name: &str, text: &str) -> Result<PythonReport, InputError> {
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
    let total: u64 = per_line.values().map(|a| a.bytes).sum();
    let mut findings: Vec<PyFinding> = per_line
        .into_iter()
        .map(|((file, line), a)| {
            let likelihood =
                0.5 * (a.allocs as f64 / max_allocs) + 0.5 * (a.bytes as f64 / max_bytes);
            PyFinding {
                file,
                line,
                code: None,
                leaked_bytes: a.bytes,
                likelihood: round3(likelihood),
                evidence: format!(
                    "memray --leaks: {} allocation(s), {} still alive at exit in {}()",
                    a.allocs,
                    human_bytes(a.bytes),
                    a.func
                ),
            }
        })
        .collect();
    sort_findings(&mut findings);
    let omitted = findings.len().saturating_sub(MAX_FINDINGS);
    findings.truncate(MAX_FINDINGS);
    Ok(PythonReport {
        file: name.to_string(),
        source: "memray".into(),
        findings,
        growth_mb_per_hour: None,
        verdict: None,
        reason: None,
        total_leaked_bytes: total,
        findings_omitted: omitted,
        elapsed_s: None,
        max_footprint_mb: None,
    })
}

fn sort_findings(f: &mut [PyFinding]) {
    f.sort_by(|a, b| {
        b.likelihood
            .total_cmp(&a.likelihood)
            .then(b.leaked_bytes.cmp(&a.leaked_bytes))
            .then(a.file.cmp(&b.file))
            .then(a.line.cmp(&b.line))
    });
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

fn human_bytes(b: u64) -> String {
    let b = b as f64;
    if b >= MIB {
        format!("{:.1} MiB", b / MIB)
    } else if b >= 1024.0 {
        format!("{:.1} KiB", b / 1024.0)
    } else {
        format!("{b:.0} B")
    }
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

fn scalene(name: &str, text: &str) -> Result<PythonReport, InputError> {
    let parsed: ScaleneJson = serde_json::from_str(text)
        .map_err(|e| InputError::at_line(name, e.line() as u64, format!("Scalene JSON: {e}")))?;
    let mut findings = Vec::new();
    for (file, fd) in &parsed.files {
        for l in &fd.lines {
            if l.n_malloc_mb <= 0.0 || !l.n_malloc_mb.is_finite() {
                continue;
            }
            let mut ms: Vec<(f64, f64)> = l
                .memory_samples
                .iter()
                .filter_map(|s| match s.as_slice() {
                    [t, v, ..] if t.is_finite() && v.is_finite() => Some((*t, *v)),
                    _ => None,
                })
                .collect();
            ms.sort_by(|a, b| a.0.total_cmp(&b.0));
            let steps = ms.len().saturating_sub(1);
            let falls = ms.windows(2).filter(|w| w[1].1 < w[0].1).count();
            // A line after which the footprint keeps falling frees what it allocates.
            let (retention, free_note) = if steps >= 2 {
                let ratio = falls as f64 / steps as f64;
                (
                    (1.0 - 10.0 * ratio).max(0.0),
                    format!("footprint fell at {falls} of {steps} of its samples"),
                )
            } else {
                (0.5, "too few memory samples to see frees".to_string())
            };
            let hint = fd
                .leaks
                .get(&l.lineno.to_string())
                .map(|k| k.likelihood)
                .filter(|v| v.is_finite());
            let likelihood = retention * (0.6 + 0.4 * hint.unwrap_or(0.0).clamp(0.0, 1.0));
            let leaked = (l.n_malloc_mb * MIB * retention).max(0.0) as u64;
            let mut evidence = format!(
                "Scalene: {:.1} MB sampled in {} allocation(s); {free_note}",
                l.n_malloc_mb, l.n_mallocs as u64
            );
            if let Some(h) = hint {
                evidence.push_str(&format!("; Scalene leak likelihood {h:.3} (weak signal)"));
            }
            findings.push(PyFinding {
                file: file.clone(),
                line: l.lineno,
                code: Some(unescape_scalene(&l.line)).filter(|s| !s.trim().is_empty()),
                leaked_bytes: leaked,
                likelihood: round3(likelihood),
                evidence,
            });
        }
    }
    sort_findings(&mut findings);
    let total = findings.iter().map(|f| f.leaked_bytes).sum();
    let omitted = findings.len().saturating_sub(MAX_FINDINGS);
    findings.truncate(MAX_FINDINGS);
    let points: Vec<Point> = parsed
        .samples
        .iter()
        .filter_map(|s| match s.as_slice() {
            [t, v, ..] => Some(Point { t: t / 1e9, v: *v }),
            _ => None,
        })
        .collect();
    let tr = trend::analyze(
        &points,
        &trend::Options {
            unit: "MB",
            min_span_s: 1.0,
            ..trend::Options::default()
        },
    );
    Ok(PythonReport {
        file: name.to_string(),
        source: "scalene".into(),
        findings,
        growth_mb_per_hour: Some((tr.growth_per_hour * 1000.0).round() / 1000.0),
        verdict: Some(tr.verdict),
        reason: Some(tr.reason),
        total_leaked_bytes: total,
        findings_omitted: omitted,
        elapsed_s: parsed.elapsed_time_sec,
        max_footprint_mb: parsed.max_footprint_mb,
    })
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
        assert_eq!(detect(&format!("{MEMRAY_HEADER}\n")), Some(Kind::Memray));
        assert_eq!(
            detect("{\"elapsed_time_sec\": 1, \"files\": {}}"),
            Some(Kind::Scalene)
        );
        assert_eq!(detect("{\"status\":\"success\"}"), None);
        assert_eq!(detect("hello"), None);
    }

    #[test]
    fn bad_memray_row_names_the_line() {
        let text = format!("{MEMRAY_HEADER}\nMALLOC,x,10,1,0x1,f;a.py;1\n");
        let e = analyze("m.csv", &text).unwrap_err();
        assert_eq!(e.pos, crate::error::Position::Line(2));
    }
}
