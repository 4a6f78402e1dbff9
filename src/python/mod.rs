//! Python evidence: profiler outputs read by content, and the probe memsleuth injects into the
//! Python services it starts.
//!
//! Inputs, each told apart by its content ([`detect`]):
//! - Scalene 2.x JSON and memray `transform csv --leaks` CSV ([`profile`]);
//! - tracemalloc: the text of `Snapshot.statistics()` / `compare_to()` (one file, or one per
//!   point in time) and `Snapshot.dump()` files, read by a small pickle reader that
//!   understands only what a dump holds and never runs anything ([`tracemalloc`], [`pickle`]);
//! - memory_profiler: the `@profile` line-by-line table and `mprof run` `.dat` files
//!   ([`mprof`]);
//! - the probe's checkpoints ([`probe`]), analysed across checkpoints by [`growth`] into the
//!   same findings as Node's (`leaks::Finding` shape, [`finding`]).
//!
//! Every reader returns a [`PythonReport`], the JSON of `memsleuth python --format json`.
//! [`driver`] starts a Python service with the probe and asks it for checkpoints (IO).

pub mod driver;
pub mod finding;
pub mod growth;
pub mod mprof;
pub mod pickle;
pub mod probe;
pub mod profile;
pub mod tracemalloc;

use crate::error::InputError;
use crate::series::trend::{self, Point, Verdict};
use crate::units::MIB;
use serde::{Deserialize, Serialize};

/// At most this many line findings are listed; the rest are counted in `findings_omitted`.
pub const MAX_FINDINGS: usize = 50;

/// One source line that may leak.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PyFinding {
    pub file: String,
    pub line: u64,
    /// The source text of the line, when known.
    pub code: Option<String>,
    /// Bytes the line keeps: memray's survivors at exit, the growth tracemalloc measured, or
    /// Scalene's sampled volume weighted by how little of it was seen freed. None when the
    /// evidence cannot tell (a Scalene run that recorded no frees).
    pub leaked_bytes: Option<u64>,
    /// Bytes the line allocated in total, when the evidence has it (Scalene).
    #[serde(default)]
    pub allocated_bytes: Option<u64>,
    /// 0 to 1, higher is more likely a leak; findings are sorted by it. 0.5: cannot tell.
    pub likelihood: f64,
    /// Why, in one line.
    pub evidence: String,
    /// Bytes at each point in time, when there are several (tracemalloc files, checkpoints).
    #[serde(default)]
    pub sizes: Vec<u64>,
}

/// The JSON of `memsleuth python --format json`.
///
/// ```text
/// {
///   "file": "profile.json",                 // the first input
///   "files": ["cp1.json", "cp2.json"],      // every input, in the order analysed
///   "source": "scalene" | "memray" | "tracemalloc" | "memory_profiler" | "mprof" | "probe",
///   "findings": [ {"file": "/app/x.py", "line": 12, "code": "...", "leaked_bytes": 123 | null,
///                  "allocated_bytes": 456 | null, "likelihood": 0.97, "evidence": "...",
///                  "sizes": [..]} ],          // lines, most likely first
///   "leaks": [ Finding ],                   // leaks::Finding shape (probe): pattern, owner,
///                                           // referrer path, location, fix
///   "types": [ {"type": "str", "counts": [..], "sizes": [..], "grows_every_interval": true} ],
///   "checkpoints": [ {"seq", "label", "requests", "seconds", "traced_bytes", "rss_bytes",
///                     "open_fds", "threads", "probe_seconds"} ],
///   "bounded": ["lru_cache of f is bounded at 128 entries ..."],
///   "notes": ["what this evidence cannot tell, and what to collect instead"],
///   "growth_bytes_per_hour": 1.2e9 | null,  // trend of the footprint / traced memory,
///   "growth_low_bytes_per_hour": ..., "growth_high_bytes_per_hour": ...,  // 95 % interval
///   "span_seconds": 9.4 | null,             // the window it was fitted on
///   "too_short_for_rate": true,             // span under 6 min: no hourly figure is printed
///   "change_bytes": 5.5e8 | null,           // growth over the span (shown instead)
///   "method": "..." | null,
///   "growth_mb_per_hour": 1144.4 | null,    // MiB/h, for older readers; null when too short
///   "bytes_per_request": 812.0 | null,      // probe with request counts (capture)
///   "verdict": "leak" | "no-leak" | "inconclusive" | null,
///   "reason": "..." | null,
///   "total_leaked_bytes": 456,
///   "findings_omitted": 0,
///   "elapsed_s": 10.0 | null, "max_footprint_mb": 512.0 | null     // Scalene
/// }
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PythonReport {
    pub file: String,
    #[serde(default)]
    pub files: Vec<String>,
    pub source: String,
    pub findings: Vec<PyFinding>,
    #[serde(default)]
    pub leaks: Vec<finding::Finding>,
    #[serde(default)]
    pub types: Vec<growth::TypeSeries>,
    #[serde(default)]
    pub checkpoints: Vec<growth::CheckpointSummary>,
    #[serde(default)]
    pub bounded: Vec<String>,
    #[serde(default)]
    pub notes: Vec<String>,
    pub growth_bytes_per_hour: Option<f64>,
    pub growth_low_bytes_per_hour: Option<f64>,
    pub growth_high_bytes_per_hour: Option<f64>,
    pub span_seconds: Option<f64>,
    #[serde(default)]
    pub too_short_for_rate: bool,
    pub change_bytes: Option<f64>,
    pub method: Option<String>,
    pub growth_mb_per_hour: Option<f64>,
    pub bytes_per_request: Option<f64>,
    pub verdict: Option<Verdict>,
    pub reason: Option<String>,
    pub total_leaked_bytes: u64,
    pub findings_omitted: usize,
    pub elapsed_s: Option<f64>,
    pub max_footprint_mb: Option<f64>,
}

impl PythonReport {
    /// A report with no findings yet.
    pub fn new(file: &str, source: &str) -> Self {
        PythonReport {
            file: file.to_string(),
            files: vec![file.to_string()],
            source: source.to_string(),
            findings: Vec::new(),
            leaks: Vec::new(),
            types: Vec::new(),
            checkpoints: Vec::new(),
            bounded: Vec::new(),
            notes: Vec::new(),
            growth_bytes_per_hour: None,
            growth_low_bytes_per_hour: None,
            growth_high_bytes_per_hour: None,
            span_seconds: None,
            too_short_for_rate: false,
            change_bytes: None,
            method: None,
            growth_mb_per_hour: None,
            bytes_per_request: None,
            verdict: None,
            reason: None,
            total_leaked_bytes: 0,
            findings_omitted: 0,
            elapsed_s: None,
            max_footprint_mb: None,
        }
    }

    /// Sorts the line findings, keeps the first [`MAX_FINDINGS`] and sums what they keep.
    fn finish_findings(&mut self) {
        sort_findings(&mut self.findings);
        self.total_leaked_bytes = self.findings.iter().filter_map(|f| f.leaked_bytes).sum();
        self.findings_omitted = self.findings.len().saturating_sub(MAX_FINDINGS);
        self.findings.truncate(MAX_FINDINGS);
    }

    /// Fills the growth fields from a trend of points in bytes over seconds.
    fn set_trend(&mut self, points: &[Point], method: &str, min_span_s: f64) {
        let tr = trend::analyze(
            points,
            &trend::Options {
                unit: "bytes",
                min_span_s,
                min_growth_per_hour: MIB,
                method: method.to_string(),
                ..trend::Options::default()
            },
        );
        self.span_seconds = Some(round3(tr.span_s));
        self.too_short_for_rate = tr.too_short_for_rate;
        self.change_bytes = Some(tr.change_over_span().round());
        self.method = Some(tr.method.clone());
        self.growth_bytes_per_hour = Some(tr.growth_per_hour.round());
        self.growth_low_bytes_per_hour = Some(tr.growth_low_per_hour.round());
        self.growth_high_bytes_per_hour = Some(tr.growth_high_per_hour.round());
        self.growth_mb_per_hour =
            (!tr.too_short_for_rate).then(|| round3(tr.growth_per_hour / MIB));
        self.verdict = Some(tr.verdict);
        self.reason = Some(if tr.too_short_for_rate && tr.points >= 2 {
            // The trend's own wording carries an hourly rate; a short run only shows a change.
            format!(
                "{}: {} over {:.0} s ({} points, Mann-Kendall p={:.2e}); too short a window for a rate per hour",
                match tr.verdict {
                    Verdict::Leak => "steady growth",
                    Verdict::NoLeak => "growth bounded",
                    Verdict::Inconclusive => "inconclusive",
                },
                crate::units::bytes_delta(tr.change_over_span()),
                tr.span_s,
                tr.points,
                tr.p_value
            )
        } else {
            tr.reason
        });
    }
}

/// What wrote a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Scalene,
    Memray,
    /// Text of `Snapshot.statistics()` or `compare_to()` (one statistic per line).
    TracemallocText,
    /// `Snapshot.dump()` (a pickle).
    TracemallocDump,
    /// memory_profiler's `@profile` line-by-line table.
    MemoryProfiler,
    /// `mprof run` data (`MEM <MiB> <time>` lines).
    Mprof,
    /// A probe checkpoint.
    Probe,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Scalene => "scalene",
            Kind::Memray => "memray",
            Kind::TracemallocText | Kind::TracemallocDump => "tracemalloc",
            Kind::MemoryProfiler => "memory_profiler",
            Kind::Mprof => "mprof",
            Kind::Probe => "probe",
        }
    }
}

/// Tells the inputs apart by content; `None` for anything else.
pub fn detect(bytes: &[u8]) -> Option<Kind> {
    if pickle::is_pickle(bytes) {
        return Some(Kind::TracemallocDump);
    }
    let head = &bytes[..bytes.len().min(64 * 1024)];
    let text = String::from_utf8_lossy(head);
    let t = text.trim_start_matches('\u{feff}').trim_start();
    if t.starts_with(profile::MEMRAY_HEADER) {
        return Some(Kind::Memray);
    }
    if probe::is_checkpoint(t) {
        return Some(Kind::Probe);
    }
    if t.starts_with('{') {
        // Scalene's keys are sorted: "files" may come after megabytes of stacks.
        let has = |k: &[u8]| bytes.windows(k.len()).any(|w| w == k);
        if has(b"\"files\"") && (has(b"\"max_footprint_mb\"") || has(b"\"elapsed_time_sec\"")) {
            return Some(Kind::Scalene);
        }
        return None;
    }
    if mprof::is_line_profile(t) {
        return Some(Kind::MemoryProfiler);
    }
    if mprof::is_dat(t) {
        return Some(Kind::Mprof);
    }
    if tracemalloc::is_text(t) {
        return Some(Kind::TracemallocText);
    }
    None
}

const NOT_PYTHON: &str = "not a Python memory profile: memsleuth reads a Scalene JSON \
     (`scalene run -o FILE`), a memray CSV (`memray transform csv --leaks`), tracemalloc \
     statistics text or `Snapshot.dump()` files, memory_profiler output (`@profile` text or \
     `mprof run` .dat) and memsleuth probe checkpoints";

/// Reads one text profile; `name` is used in errors.
pub fn analyze(name: &str, text: &str) -> Result<PythonReport, InputError> {
    analyze_inputs(
        &[(name.to_string(), text.as_bytes().to_vec())],
        None,
        &|_| None,
    )
}

/// Reads one or more inputs of one kind, in the order given (tracemalloc files and probe
/// checkpoints are points in time). `requests` are the request counts at each probe
/// checkpoint, when known; `sources` gives the text of a source file for code excerpts.
pub fn analyze_inputs(
    inputs: &[(String, Vec<u8>)],
    requests: Option<&[u64]>,
    sources: growth::SourceFn<'_>,
) -> Result<PythonReport, InputError> {
    let Some((first_name, _)) = inputs.first() else {
        return Err(InputError::whole("-", "no input"));
    };
    let mut kinds = Vec::new();
    for (name, bytes) in inputs {
        if bytes.iter().all(|b| b.is_ascii_whitespace()) {
            return Err(InputError::whole(name, "empty: no Python profile in it"));
        }
        let k = detect(bytes).ok_or_else(|| InputError::whole(name, NOT_PYTHON))?;
        kinds.push(k);
    }
    let kind = kinds[0];
    if let Some((i, k)) = kinds
        .iter()
        .enumerate()
        .find(|(_, k)| k.name() != kind.name())
    {
        return Err(InputError::whole(
            &inputs[i].0,
            format!(
                "is {} output, but {first_name} is {}: give files of one kind",
                k.name(),
                kind.name()
            ),
        ));
    }
    let text = |i: usize| -> Result<&str, InputError> {
        std::str::from_utf8(&inputs[i].1).map_err(|e| {
            InputError::at_byte(&inputs[i].0, e.valid_up_to() as u64, "not UTF-8 text")
        })
    };
    let single = |what: &str| -> Result<(), InputError> {
        if inputs.len() > 1 {
            return Err(InputError::whole(
                &inputs[1].0,
                format!("{what} is read one file at a time"),
            ));
        }
        Ok(())
    };
    let mut report = match kind {
        Kind::Scalene => {
            single("a Scalene profile")?;
            profile::scalene(first_name, text(0)?)?
        }
        Kind::Memray => {
            single("a memray CSV")?;
            profile::memray(first_name, text(0)?)?
        }
        Kind::MemoryProfiler => {
            single("memory_profiler's table")?;
            mprof::line_profile(first_name, text(0)?)?
        }
        Kind::Mprof => {
            single("an mprof .dat file")?;
            mprof::dat(first_name, text(0)?)?
        }
        Kind::TracemallocText | Kind::TracemallocDump => tracemalloc::analyze(inputs)?,
        Kind::Probe => probe_report(inputs, requests, sources)?,
    };
    report.files = inputs.iter().map(|(n, _)| n.clone()).collect();
    Ok(report)
}

/// Probe checkpoints: the process with the most checkpoints is analysed (a server's worker,
/// not its reloader parent), the others are named in `notes`.
fn probe_report(
    inputs: &[(String, Vec<u8>)],
    requests: Option<&[u64]>,
    sources: growth::SourceFn<'_>,
) -> Result<PythonReport, InputError> {
    let mut cps = Vec::new();
    for (name, bytes) in inputs {
        let text = std::str::from_utf8(bytes)
            .map_err(|e| InputError::at_byte(name, e.valid_up_to() as u64, "not UTF-8 text"))?;
        cps.push((name.clone(), probe::parse(name, text)?));
    }
    let mut pids: Vec<(u64, usize)> = Vec::new();
    for (_, c) in &cps {
        match pids.iter_mut().find(|(p, _)| *p == c.pid) {
            Some(e) => e.1 += 1,
            None => pids.push((c.pid, 1)),
        }
    }
    let pid = pids
        .iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
        .map_or(0, |p| p.0);
    let mut mine: Vec<(usize, &probe::Checkpoint)> = cps
        .iter()
        .enumerate()
        .filter(|(_, (_, c))| c.pid == pid)
        .map(|(i, (_, c))| (i, c))
        .collect();
    mine.sort_by_key(|(i, c)| (c.seq, *i));
    for w in mine.windows(2) {
        if w[0].1.seq == w[1].1.seq {
            return Err(InputError::whole(
                &inputs[w[1].0].0,
                format!(
                    "checkpoint {} of process {pid} is given twice (also {})",
                    w[1].1.seq, inputs[w[0].0].0
                ),
            ));
        }
    }
    let reqs: Option<Vec<u64>> = requests
        .filter(|r| r.len() == inputs.len())
        .map(|r| mine.iter().map(|(i, _)| r[*i]).collect());
    let ordered: Vec<probe::Checkpoint> = mine.iter().map(|(_, c)| (*c).clone()).collect();
    let a = growth::analyze(
        &ordered,
        reqs.as_deref(),
        sources,
        &growth::Options::default(),
    );
    let mut r = PythonReport::new(&inputs[0].0, "probe");
    from_probe(&mut r, a);
    for (p, n) in &pids {
        if *p != pid {
            r.notes.push(format!(
                "process {p} ({n} checkpoint(s)) not analysed: the analysis follows process {pid}, which has the most checkpoints"
            ));
        }
    }
    Ok(r)
}

/// Fills a report from a probe analysis.
pub fn from_probe(r: &mut PythonReport, a: growth::ProbeAnalysis) {
    let n = a.checkpoints.len();
    r.findings = a
        .lines
        .iter()
        .map(|l| {
            let grew = l.growth_bytes.max(0) as u64;
            PyFinding {
                file: l.file.clone(),
                line: l.line as u64,
                code: None,
                leaked_bytes: Some(grew),
                allocated_bytes: None,
                likelihood: match (
                    l.grows_every_interval,
                    grew >= growth::Options::default().min_growth_bytes,
                ) {
                    (true, true) if n >= 3 => 1.0,
                    (true, true) => 0.7,
                    (true, false) => 0.4,
                    _ => 0.2,
                },
                evidence: format!(
                    "tracemalloc: {} over {n} checkpoints{}{}",
                    crate::units::bytes_delta(l.growth_bytes as f64),
                    if l.grows_every_interval {
                        ", grew at every one"
                    } else {
                        ", not at every one"
                    },
                    l.leaf
                        .as_ref()
                        .map(|f| format!("; allocated in {}:{}", f.file, f.line))
                        .unwrap_or_default()
                ),
                sizes: l.sizes.clone(),
            }
        })
        .collect();
    r.finish_findings();
    let traced: Vec<Point> = a
        .checkpoints
        .iter()
        .filter_map(|c| {
            c.traced_bytes.map(|b| Point {
                t: c.seconds,
                v: b as f64,
            })
        })
        .collect();
    if traced.len() >= 2 {
        let first = traced[0].v;
        let last = traced[traced.len() - 1].v;
        let span = traced[traced.len() - 1].t - traced[0].t;
        r.span_seconds = Some(round3(span));
        r.change_bytes = Some(last - first);
        r.too_short_for_rate = span < trend::MIN_SPAN_FOR_HOURLY_RATE_S;
        r.method = Some("tracemalloc traced bytes after gc.collect() at each checkpoint".into());
        if span > 0.0 && !r.too_short_for_rate {
            let per_hour = (last - first) / span * 3600.0;
            r.growth_bytes_per_hour = Some(per_hour.round());
            r.growth_mb_per_hour = Some(round3(per_hour / MIB));
        }
    }
    r.bytes_per_request = a.bytes_per_request.map(|b| b.round());
    r.verdict = Some(a.verdict);
    r.reason = Some(a.reason);
    r.leaks = a.findings;
    r.types = a.types;
    r.bounded = a.bounded;
    r.checkpoints = a.checkpoints;
    if a.paths_incomplete {
        r.notes.push(
            "the referrer search stopped at its time budget at some checkpoint: some paths may be missing"
                .into(),
        );
    }
}

pub(crate) fn sort_findings(f: &mut [PyFinding]) {
    f.sort_by(|a, b| {
        b.likelihood
            .total_cmp(&a.likelihood)
            .then(b.leaked_bytes.cmp(&a.leaked_bytes))
            .then(b.allocated_bytes.cmp(&a.allocated_bytes))
            .then(a.file.cmp(&b.file))
            .then(a.line.cmp(&b.line))
    });
}

pub(crate) fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// True for a file of the standard library, an installed package or a frozen module, judged
/// by the path alone (profiles do not say where the interpreter's folders are).
pub(crate) fn is_library_path(file: &str) -> bool {
    file.starts_with('<')
        || file.contains("/site-packages/")
        || file.contains("/dist-packages/")
        || file.contains("/lib/python")
}
