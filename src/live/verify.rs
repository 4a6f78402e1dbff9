//! `memsleuth verify`: compares a capture before a fix with one after it, under the same
//! load. Pure: the caller reads the folders (`capture.json`, the leak finder's output, the
//! GC logs) and gets back a [`Verification`], which is also the JSON output of
//! `memsleuth verify --format json`; [`markdown`] renders it.
//!
//! The fix holds (`fixed`) when no leak group of the before capture is found after (same
//! fingerprint, or same pattern, class and line of code), and the post-GC heap's growth per
//! request after the fix is within the threshold. With `--max-bytes-per-request B` that is
//! `B`. Without it, growth after the fix is within the threshold when it is at most a
//! quarter of the growth before, or not significant (the lower end of its 95 % interval at
//! or below 0), or adds up to less than 1 MiB over the load (V8's own bounded growth in a
//! short load: JIT code, internal tables). Otherwise the leak `persists`.

use super::format::{Capture, Checkpoint, Slope};
use crate::report::evidence::{FindingView as Finding, LeaksView};
use crate::report::model::Field;
use crate::units;
use serde::Serialize;
use std::fmt::Write;

/// GC figures of one capture's GC log (from `memsleuth gc`).
#[derive(Serialize, Clone, Debug, PartialEq, Default)]
pub struct GcFigures {
    pub pause_p95_ms: f64,
    pub time_in_gc_percent: f64,
    pub oom: bool,
}

/// One capture as the comparison sees it.
pub struct Side<'a> {
    /// The folder, as given.
    pub dir: &'a str,
    pub capture: &'a Capture,
    /// The leak finder's output on its snapshots (read through the report's tolerant view,
    /// so outputs of older and newer finders both compare).
    pub leaks: &'a LeaksView,
    /// Its GC log's figures, when it has one.
    pub gc: Option<GcFigures>,
}

/// The whole comparison (JSON of `memsleuth verify --format json`).
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct Verification {
    /// `fixed` (exit 0) or `persists` (exit 1).
    pub verdict: String,
    /// Why, one sentence each.
    pub reasons: Vec<String>,
    pub before: SideSummary,
    pub after: SideSummary,
    /// Memory at the checkpoints, paired by request count (or by order with `--load`).
    pub checkpoints: Vec<CheckpointPair>,
    /// Growth per request the after capture must stay within, bytes; null when there is no
    /// basis for one (no growth figure).
    pub threshold_bytes_per_request: Option<f64>,
    /// Where the threshold comes from.
    pub threshold_source: String,
    /// The leak groups found before, and whether each is still there after.
    pub leaks_before: Vec<LeakCheck>,
    /// Leak groups found after that were not there before.
    pub new_leaks: Vec<LeakRef>,
    /// The template's "Load Test Results" (before and after).
    pub load_test: LoadTestResults,
    /// The template's "Post-Deployment Metrics".
    pub post_deployment: PostDeployment,
    /// The template's "Improvement".
    pub improvement: Vec<Field>,
    /// Differences between the two captures that make the comparison weaker.
    pub warnings: Vec<String>,
}

/// One capture, summarised.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct SideSummary {
    pub dir: String,
    pub command: Vec<String>,
    pub runtime_version: String,
    /// `node` or `python`.
    pub runtime: String,
    pub requests_total: Option<u64>,
    pub errors: Option<u64>,
    pub bytes_per_request: Option<Slope>,
    /// Post-GC heap used at the first checkpoint with a snapshot (after warm-up), bytes.
    pub heap_after_warmup_bytes: Option<u64>,
    /// Post-GC heap used at the last checkpoint, bytes.
    pub heap_last_bytes: Option<u64>,
    /// Whether growth per request is within the threshold.
    pub growth_within_threshold: Option<bool>,
    pub findings: usize,
    pub gc: Option<GcFigures>,
}

/// The same checkpoint in both captures.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct CheckpointPair {
    pub requests: Option<u64>,
    pub before: Option<Checkpoint>,
    pub after: Option<Checkpoint>,
}

/// A leak group of the before capture, checked in the after capture.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct LeakCheck {
    #[serde(flatten)]
    pub leak: LeakRef,
    /// Whether the group is found after the fix.
    pub present_after: bool,
    /// How it was matched: `fingerprint` or `location` (same pattern, class and code line).
    pub matched_by: Option<String>,
    /// Its size after the fix (objects, retained bytes), when present.
    pub count_after: Option<u64>,
    pub retained_bytes_after: Option<u64>,
}

/// A leak group, as the comparison names it.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct LeakRef {
    pub fingerprint: String,
    pub pattern: String,
    pub class: String,
    pub count: u64,
    pub retained_bytes: u64,
    /// `file:line`, when located.
    pub location: Option<String>,
}

/// "Load Test Results": one block of lines per capture.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct LoadTestResults {
    pub before: Vec<String>,
    pub after: Vec<String>,
}

/// "Post-Deployment Metrics": before and after.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct PostDeployment {
    pub before: Vec<Field>,
    pub after: Vec<Field>,
}

fn leak_ref(f: &Finding) -> LeakRef {
    LeakRef {
        fingerprint: f.fingerprint.clone(),
        pattern: f.pattern.clone(),
        class: f.class.clone(),
        count: f.count,
        retained_bytes: f.retained_bytes,
        location: f
            .location
            .as_ref()
            .map(|l| format!("{}:{}", l.file, l.line)),
    }
}

/// Whether two findings are the same leak: same fingerprint, or the same pattern and class
/// owned by the same line of code (its text; line numbers move when code is edited).
fn same_leak(a: &Finding, b: &Finding) -> Option<&'static str> {
    if a.fingerprint == b.fingerprint {
        return Some("fingerprint");
    }
    let code = |f: &Finding| {
        f.code
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_string)
    };
    let file = |f: &Finding| f.location.as_ref().map(|l| l.file.clone());
    if a.pattern == b.pattern
        && a.class == b.class
        && file(a).is_some()
        && file(a) == file(b)
        && code(a).is_some()
        && code(a) == code(b)
    {
        return Some("location");
    }
    None
}

/// Without `--max-bytes-per-request`, growth after the fix may be this fraction of the
/// growth before it.
const RELATIVE_THRESHOLD: f64 = 0.25;

/// Growth that adds up to less than this over the whole load counts as V8's own (JIT code
/// tiering up, internal tables resizing): a fixed service measured over a few thousand
/// requests moves by a few hundred KiB in post-GC heap without anything leaking.
const NOISE_BYTES: f64 = 1024.0 * 1024.0;

/// Requests between the first checkpoint with a snapshot and the last checkpoint: the span
/// the growth per request was fitted on.
fn fit_span(c: &Capture) -> f64 {
    match (
        first_snapshot_checkpoint(c).and_then(|k| k.requests),
        c.checkpoints.last().and_then(|k| k.requests),
    ) {
        (Some(a), Some(b)) if b > a => (b - a) as f64,
        _ => 0.0,
    }
}

/// The first checkpoint after warm-up (the first with a snapshot; in a Python capture, which
/// has none, the first under load): the one growth per request is fitted from.
fn first_snapshot_checkpoint(c: &Capture) -> Option<&Checkpoint> {
    super::stats::warm_checkpoint(&c.checkpoints)
}

/// What a checkpoint's `heap_used_bytes` measures in a capture of this runtime.
fn measured(runtime: &str) -> &'static str {
    if runtime == "python" {
        "traced by tracemalloc after gc.collect()"
    } else {
        "heap used after a forced GC"
    }
}

/// The short name of that figure, for "X at the end of the load" and table headers.
fn measured_short(runtime: &str) -> &'static str {
    if runtime == "python" {
        "traced"
    } else {
        "heap used"
    }
}

fn per_request(b: f64) -> String {
    format!("{} per request", units::bytes(b))
}

fn slope_text(s: &Slope) -> String {
    format!(
        "{} (95 %: {} to {})",
        per_request(s.value),
        units::bytes(s.low),
        units::bytes(s.high)
    )
}

/// Requests per second of the load (requests over the time to the last checkpoint).
fn request_rate(c: &Capture) -> Option<f64> {
    let last = c.checkpoints.last()?;
    let r = last.requests? as f64;
    (last.seconds > 0.0 && r > 0.0).then(|| r / last.seconds)
}

/// Compares two captures.
pub fn compare(
    before: &Side<'_>,
    after: &Side<'_>,
    max_bytes_per_request: Option<f64>,
) -> Verification {
    let (bc, ac) = (before.capture, after.capture);
    let mut warnings = Vec::new();
    if bc.url.as_deref().map(path_of) != ac.url.as_deref().map(path_of) {
        warnings.push(format!(
            "the captures drove different URLs ({} and {})",
            bc.url.as_deref().unwrap_or("none"),
            ac.url.as_deref().unwrap_or("none")
        ));
    }
    if bc.requests_total != ac.requests_total {
        warnings.push(format!(
            "the captures sent different numbers of requests ({} and {})",
            opt_num(bc.requests_total),
            opt_num(ac.requests_total)
        ));
    }
    if bc.concurrency != ac.concurrency || bc.method != ac.method {
        warnings.push("the captures used a different method or concurrency".into());
    }
    if bc.runtime_version != ac.runtime_version {
        warnings.push(format!(
            "different Node versions ({} and {})",
            bc.runtime_version, ac.runtime_version
        ));
    }

    // The threshold.
    let before_grows = bc.bytes_per_request.as_ref().is_some_and(|s| s.low > 0.0);
    let (threshold, threshold_source) = match (max_bytes_per_request, &bc.bytes_per_request) {
        (Some(t), _) => (Some(t), "--max-bytes-per-request".to_string()),
        (None, Some(s)) if before_grows => (
            Some(s.value * RELATIVE_THRESHOLD),
            format!(
                "a quarter of the growth before the fix ({}), or less than {} over the whole load",
                per_request(s.value),
                units::bytes(NOISE_BYTES)
            ),
        ),
        (None, _) => (
            None,
            format!(
                "no significant growth before the fix: after it, growth must not be significant (95 % interval reaching 0) or add up to less than {} over the whole load",
                units::bytes(NOISE_BYTES)
            ),
        ),
    };
    // Whether a capture's growth is within the threshold, and which rule said so.
    let judge = |c: &Capture| -> Option<(bool, String)> {
        let s = c.bytes_per_request.as_ref()?;
        let span = fit_span(c);
        let total = s.value * span;
        let limit = |t: f64| format!("the threshold ({})", per_request(t));
        Some(match (max_bytes_per_request, threshold) {
            (Some(t), _) if s.value <= t => (true, format!("within {}", limit(t))),
            (Some(t), _) => (false, format!("above {}", limit(t))),
            (None, Some(t)) if s.value <= t => (true, format!("within {}", limit(t))),
            (None, _) if s.low <= 0.0 => (
                true,
                "not significant (its 95 % interval reaches 0)".to_string(),
            ),
            (None, _) if total < NOISE_BYTES => (
                true,
                format!(
                    "only {} over {span:.0} requests, less than {}: within {}",
                    units::bytes(total),
                    units::bytes(NOISE_BYTES),
                    if c.runtime == "python" {
                        "the interpreter's own variation (caches filled once, interned strings)"
                    } else {
                        "V8's own variation (JIT code, internal tables)"
                    }
                ),
            ),
            (None, Some(t)) => (
                false,
                format!(
                    "above {} and {} over {span:.0} requests",
                    limit(t),
                    units::bytes(total)
                ),
            ),
            (None, None) => (
                false,
                format!(
                    "significant and {} over {span:.0} requests",
                    units::bytes(total)
                ),
            ),
        })
    };
    let within = |c: &Capture| judge(c).map(|(ok, _)| ok);

    // Leak groups.
    let mut leaks_before = Vec::new();
    for f in &before.leaks.findings {
        let m = after
            .leaks
            .findings
            .iter()
            .find_map(|g| same_leak(f, g).map(|how| (g, how)));
        leaks_before.push(LeakCheck {
            leak: leak_ref(f),
            present_after: m.is_some(),
            matched_by: m.map(|(_, how)| how.to_string()),
            count_after: m.map(|(g, _)| g.count),
            retained_bytes_after: m.map(|(g, _)| g.retained_bytes),
        });
    }
    let new_leaks: Vec<LeakRef> = after
        .leaks
        .findings
        .iter()
        .filter(|g| {
            !before
                .leaks
                .findings
                .iter()
                .any(|f| same_leak(f, g).is_some())
        })
        .map(leak_ref)
        .collect();

    let after_within = within(ac);
    let mut reasons = Vec::new();
    let persisting: Vec<&LeakCheck> = leaks_before.iter().filter(|l| l.present_after).collect();
    for l in &persisting {
        reasons.push(format!(
            "the leak {} ({} × {}{}) is still there after the fix: {} objects",
            l.leak.fingerprint,
            l.leak.pattern,
            l.leak.class,
            l.leak
                .location
                .as_ref()
                .map(|x| format!(" at {x}"))
                .unwrap_or_default(),
            l.count_after.unwrap_or(0)
        ));
    }
    if !leaks_before.is_empty() && persisting.is_empty() {
        reasons.push(format!(
            "none of the {} leak group(s) found before the fix is found after it",
            leaks_before.len()
        ));
    }
    if leaks_before.is_empty() {
        warnings.push("the before capture has no leak finding to check".into());
    }
    match (&ac.bytes_per_request, judge(ac)) {
        (Some(s), Some((_, why))) => reasons.push(format!(
            "growth after the fix, {}, is {why}",
            slope_text(s)
        )),
        _ => warnings.push(
            "no growth per request after the fix (requests not counted, or too few checkpoints): the verdict rests on the leak groups alone".into(),
        ),
    }
    for l in &new_leaks {
        warnings.push(format!(
            "a leak group not seen before the fix was found after it: {} × {}{} ({} objects)",
            l.pattern,
            l.class,
            l.location
                .as_ref()
                .map(|x| format!(" at {x}"))
                .unwrap_or_default(),
            l.count
        ));
    }
    let fixed = persisting.is_empty() && after_within != Some(false);
    let verdict = if fixed { "fixed" } else { "persists" };

    let summary = |s: &Side<'_>| SideSummary {
        dir: s.dir.to_string(),
        command: s.capture.command.clone(),
        runtime_version: s.capture.runtime_version.clone(),
        runtime: s.capture.runtime.clone(),
        requests_total: s.capture.requests_total,
        errors: s.capture.errors,
        bytes_per_request: s.capture.bytes_per_request.clone(),
        heap_after_warmup_bytes: first_snapshot_checkpoint(s.capture).map(|c| c.heap_used_bytes),
        heap_last_bytes: s.capture.checkpoints.last().map(|c| c.heap_used_bytes),
        growth_within_threshold: within(s.capture),
        findings: s.leaks.findings.len(),
        gc: s.gc.clone(),
    };
    let (sb, sa) = (summary(before), summary(after));

    Verification {
        verdict: verdict.into(),
        reasons,
        checkpoints: pair_checkpoints(bc, ac),
        threshold_bytes_per_request: threshold,
        threshold_source,
        load_test: LoadTestResults {
            before: load_test_lines(bc, sb.growth_within_threshold),
            after: load_test_lines(ac, sa.growth_within_threshold),
        },
        post_deployment: PostDeployment {
            before: metrics(bc, before.gc.as_ref()),
            after: metrics(ac, after.gc.as_ref()),
        },
        improvement: improvement(&sb, &sa),
        before: sb,
        after: sa,
        leaks_before,
        new_leaks,
        warnings,
    }
}

fn opt_num(v: Option<u64>) -> String {
    v.map(|n| n.to_string())
        .unwrap_or_else(|| "not counted".into())
}

/// The path of a URL without scheme and authority (the port differs between runs).
fn path_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.find('/').map_or("/", |k| &rest[k..]).to_string()
}

fn pair_checkpoints(b: &Capture, a: &Capture) -> Vec<CheckpointPair> {
    let counted = b.checkpoints.iter().all(|c| c.requests.is_some())
        && a.checkpoints.iter().all(|c| c.requests.is_some());
    if !counted {
        let n = b.checkpoints.len().max(a.checkpoints.len());
        return (0..n)
            .map(|k| CheckpointPair {
                requests: None,
                before: b.checkpoints.get(k).cloned(),
                after: a.checkpoints.get(k).cloned(),
            })
            .collect();
    }
    let mut counts: Vec<u64> = b
        .checkpoints
        .iter()
        .chain(&a.checkpoints)
        .filter_map(|c| c.requests)
        .collect();
    counts.sort_unstable();
    counts.dedup();
    counts
        .into_iter()
        .map(|r| CheckpointPair {
            requests: Some(r),
            before: b
                .checkpoints
                .iter()
                .find(|c| c.requests == Some(r))
                .cloned(),
            after: a
                .checkpoints
                .iter()
                .find(|c| c.requests == Some(r))
                .cloned(),
        })
        .collect()
}

/// "Memory after N requests: X" lines of one capture: after warm-up and at the end.
pub fn load_test_lines(c: &Capture, within: Option<bool>) -> Vec<String> {
    let mut out = Vec::new();
    let label = |k: &Checkpoint| match k.requests {
        Some(r) => format!("Memory after {r} requests"),
        None => format!("Memory after {:.0} s of load", k.seconds),
    };
    let (Some(first), Some(last)) = (first_snapshot_checkpoint(c), c.checkpoints.last()) else {
        return vec!["no checkpoint was taken".into()];
    };
    out.push(format!(
        "{}: {} ({}; RSS {})",
        label(first),
        units::bytes_u64(first.heap_used_bytes),
        measured(&c.runtime),
        units::bytes_u64(first.rss_bytes)
    ));
    if !std::ptr::eq(first, last) {
        let delta = last.heap_used_bytes as f64 - first.heap_used_bytes as f64;
        let state = match within {
            Some(false) => "growth",
            Some(true) => "stable",
            None => "growth not measured per request",
        };
        let per = c
            .bytes_per_request
            .as_ref()
            .map(|s| format!(", {}", per_request(s.value)))
            .unwrap_or_default();
        out.push(format!(
            "{}: {} ({state}: {}{per}; RSS {})",
            label(last),
            units::bytes_u64(last.heap_used_bytes),
            units::bytes_delta(delta),
            units::bytes_u64(last.rss_bytes)
        ));
    }
    out
}

fn metrics(c: &Capture, gc: Option<&GcFigures>) -> Vec<Field> {
    let mut v = Vec::new();
    let first = first_snapshot_checkpoint(c);
    v.push(Field {
        label: "Memory baseline".into(),
        value: first
            .map(|k| {
                format!(
                    "{} {} after warm-up ({}), RSS {}",
                    units::bytes_u64(k.heap_used_bytes),
                    measured_short(&c.runtime),
                    k.requests
                        .map(|r| format!("{r} requests"))
                        .unwrap_or_else(|| format!("{:.0} s", k.seconds)),
                    units::bytes_u64(k.rss_bytes)
                )
            })
            .unwrap_or_else(|| "not measured".into()),
    });
    if let Some(last) = c.checkpoints.last() {
        v.push(Field {
            label: match last.requests {
                Some(r) => format!("Memory after {r} requests"),
                None => format!("Memory after {:.0} s", last.seconds),
            },
            value: format!(
                "{} {}, RSS {}",
                units::bytes_u64(last.heap_used_bytes),
                measured_short(&c.runtime),
                units::bytes_u64(last.rss_bytes)
            ),
        });
    }
    let rate = request_rate(c);
    v.push(Field {
        label: "Growth rate".into(),
        value: match &c.bytes_per_request {
            Some(s) => {
                let hourly = rate
                    .map(|r| {
                        format!(
                            "; {} at the load test's {:.0} requests/s",
                            units::rate_per_hour(s.value * r * 3600.0),
                            r
                        )
                    })
                    .unwrap_or_default();
                format!("{}{hourly}", slope_text(s))
            }
            None => "not measured per request".into(),
        },
    });
    v.push(Field {
        label: "OOM incidents".into(),
        value: match gc {
            Some(g) if g.oom => "1 in the capture's GC log".into(),
            Some(_) => "0 in the capture's GC log".into(),
            None => "unknown (no GC log)".into(),
        },
    });
    v
}

fn percent_change(before: f64, after: f64) -> String {
    if before.abs() < f64::EPSILON {
        return "n/a".into();
    }
    format!("{:+.1} %", (after - before) / before * 100.0)
}

fn improvement(b: &SideSummary, a: &SideSummary) -> Vec<Field> {
    let mut v = Vec::new();
    v.push(Field {
        label: "Memory reduction".into(),
        value: match (b.heap_last_bytes, a.heap_last_bytes) {
            (Some(x), Some(y)) => format!(
                "{} {} at the end of the load ({} before, {} after; {})",
                units::bytes_delta(y as f64 - x as f64),
                measured_short(&a.runtime),
                units::bytes_u64(x),
                units::bytes_u64(y),
                percent_change(x as f64, y as f64)
            ),
            _ => "not measured".into(),
        },
    });
    v.push(Field {
        label: "Growth per request".into(),
        value: match (&b.bytes_per_request, &a.bytes_per_request) {
            (Some(x), Some(y)) => format!(
                "{} before, {} after ({})",
                per_request(x.value),
                per_request(y.value),
                percent_change(x.value, y.value)
            ),
            _ => "not measured".into(),
        },
    });
    v.push(Field {
        label: "OOM elimination".into(),
        value: match (&b.gc, &a.gc) {
            (Some(x), Some(y)) => match (x.oom, y.oom) {
                (true, false) => "100 % (an OOM before, none after)".into(),
                (true, true) => "none: OOM before and after".into(),
                (false, true) => "worse: an OOM after the fix only".into(),
                (false, false) => {
                    "no OOM in either capture (the load was too short to reach the limit)".into()
                }
            },
            _ => "unknown (a capture without GC log)".into(),
        },
    });
    v.push(Field {
        label: "GC pressure".into(),
        value: match (&b.gc, &a.gc) {
            (Some(x), Some(y)) => format!(
                "time in GC {:.1} % → {:.1} % of the run; p95 pause {:.2} ms → {:.2} ms",
                x.time_in_gc_percent, y.time_in_gc_percent, x.pause_p95_ms, y.pause_p95_ms
            ),
            _ => "unknown (a capture without GC log)".into(),
        },
    });
    v
}

/// The comparison as Markdown: verdict, memory side by side, growth, leak groups, and the
/// template's "Load Test Results", "Post-Deployment Metrics" and "Improvement" sections.
pub fn markdown(v: &Verification) -> String {
    let mut o = String::new();
    let title = if v.verdict == "fixed" {
        "fixed"
    } else {
        "the leak persists"
    };
    let _ = writeln!(o, "# Fix verification: {title}\n");
    for (label, s) in [("Before", &v.before), ("After", &v.after)] {
        let _ = writeln!(
            o,
            "- **{label}**: `{}` (`{}`, {} {}, {} requests, {} errors, {} leak finding(s))",
            s.dir,
            s.command.join(" "),
            if s.runtime == "python" {
                "Python"
            } else {
                "Node"
            },
            s.runtime_version,
            opt_num(s.requests_total),
            opt_num(s.errors),
            s.findings
        );
    }
    let _ = writeln!(o, "\n**Verdict: {}**\n", v.verdict);
    for r in &v.reasons {
        let _ = writeln!(o, "- {r}");
    }
    for w in &v.warnings {
        let _ = writeln!(o, "- Warning: {w}");
    }

    let (what, after_gc) = if v.before.runtime == "python" {
        ("traced", "tracemalloc after gc.collect()")
    } else {
        ("heap used", "after a forced GC")
    };
    let _ = writeln!(o, "\n## Memory per checkpoint ({after_gc})\n");
    let _ = writeln!(
        o,
        "| requests | {what} before | {what} after | RSS before | RSS after |"
    );
    let _ = writeln!(o, "|---:|---:|---:|---:|---:|");
    let cell = |c: &Option<Checkpoint>, f: fn(&Checkpoint) -> u64| {
        c.as_ref()
            .map(|k| {
                let mark = if k.snapshot.is_some() {
                    " (snapshot)"
                } else {
                    ""
                };
                format!("{}{mark}", units::bytes_u64(f(k)))
            })
            .unwrap_or_else(|| "-".into())
    };
    for p in &v.checkpoints {
        let req = p.requests.map(|r| r.to_string()).unwrap_or_else(|| {
            p.before
                .as_ref()
                .or(p.after.as_ref())
                .map(|k| format!("{:.0} s", k.seconds))
                .unwrap_or_default()
        });
        let _ = writeln!(
            o,
            "| {req} | {} | {} | {} | {} |",
            cell(&p.before, |k| k.heap_used_bytes),
            cell(&p.after, |k| k.heap_used_bytes),
            cell(&p.before, |k| k.rss_bytes),
            cell(&p.after, |k| k.rss_bytes)
        );
    }

    let _ = writeln!(o, "\n## Growth per request\n");
    let g = |s: &Option<Slope>| {
        s.as_ref()
            .map(slope_text)
            .unwrap_or_else(|| "not measured".into())
    };
    let _ = writeln!(o, "- Before: {}", g(&v.before.bytes_per_request));
    let _ = writeln!(o, "- After: {}", g(&v.after.bytes_per_request));
    let _ = writeln!(
        o,
        "- Threshold: {} ({})",
        v.threshold_bytes_per_request
            .map(per_request)
            .unwrap_or_else(|| "none".into()),
        v.threshold_source
    );

    let _ = writeln!(o, "\n## Leak groups\n");
    if v.leaks_before.is_empty() && v.new_leaks.is_empty() {
        let _ = writeln!(o, "No leak group was found in either capture.");
    } else {
        let _ = writeln!(
            o,
            "| fingerprint | pattern | class | location | before | after |"
        );
        let _ = writeln!(o, "|---|---|---|---|---:|---|");
        for l in &v.leaks_before {
            let after = if l.present_after {
                format!(
                    "still there: {} objects (matched by {})",
                    l.count_after.unwrap_or(0),
                    l.matched_by.as_deref().unwrap_or("?")
                )
            } else {
                "gone".into()
            };
            let _ = writeln!(
                o,
                "| `{}` | {} | {} | {} | {} objects | {after} |",
                l.leak.fingerprint,
                l.leak.pattern,
                md_cell(&l.leak.class),
                md_cell(l.leak.location.as_deref().unwrap_or("unknown")),
                l.leak.count
            );
        }
        for l in &v.new_leaks {
            let _ = writeln!(
                o,
                "| `{}` | {} | {} | {} | - | new: {} objects |",
                l.fingerprint,
                l.pattern,
                md_cell(&l.class),
                md_cell(l.location.as_deref().unwrap_or("unknown")),
                l.count
            );
        }
    }

    let _ = writeln!(o, "\n### Load Test Results\n\n```");
    let _ = writeln!(o, "Before fix:");
    for l in &v.load_test.before {
        let _ = writeln!(o, "- {l}");
    }
    let _ = writeln!(o, "\nAfter fix:");
    for l in &v.load_test.after {
        let _ = writeln!(o, "- {l}");
    }
    let _ = writeln!(o, "```\n\n### Post-Deployment Metrics\n");
    for (label, fields) in [
        ("Before Fix", &v.post_deployment.before),
        ("After Fix", &v.post_deployment.after),
    ] {
        let _ = writeln!(o, "**{label}**:\n```");
        for f in fields {
            let _ = writeln!(o, "{}: {}", f.label, f.value);
        }
        let _ = writeln!(o, "```\n");
    }
    let _ = writeln!(o, "**Improvement**:");
    for f in &v.improvement {
        let _ = writeln!(o, "- {}: {}", f.label, f.value);
    }
    o
}

/// Text safe inside a Markdown table cell.
fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::evidence::LocationView as Location;

    fn capture(heaps: &[(u64, u64)], bpr: Option<(f64, f64, f64)>) -> Capture {
        let checkpoints = heaps
            .iter()
            .enumerate()
            .map(|(k, &(r, h))| Checkpoint {
                requests: Some(r),
                seconds: r as f64 / 1000.0,
                heap_used_bytes: h,
                heap_total_bytes: h * 2,
                rss_bytes: h * 5,
                external_bytes: 1000,
                snapshot: (k > 0).then(|| format!("s{k}.heapsnapshot")),
                array_buffers_bytes: None,
                snapshot_bytes: None,
                gc_ms: 1.0,
                snapshot_ms: None,
                pause_ms: 0.0,
                probe: None,
            })
            .collect();
        let json = serde_json::json!({
            "schema": "memsleuth.capture.v1", "runtime": "node", "runtime_version": "v20.20.2",
            "command": ["node", "server.js"], "url": "http://127.0.0.1:1234/q/{i}",
            "method": "GET", "concurrency": 8, "started_at": "2026-11-26T10:00:00Z",
            "checkpoints": [], "bytes_per_request": null, "latency_ms": null,
            "requests_total": heaps.last().map(|h| h.0), "errors": 0, "gc_log": "gc.log",
            "snapshots": [], "python_probe": null
        });
        let mut c: Capture = serde_json::from_value(json).unwrap();
        c.checkpoints = checkpoints;
        c.bytes_per_request = bpr.map(|(value, low, high)| Slope {
            value,
            low,
            high,
            method: "test".into(),
            points: 3,
        });
        c
    }

    fn finding(fp: &str, line: u32) -> Finding {
        Finding {
            pattern: "event-listener".into(),
            reason: String::new(),
            class: "Function".into(),
            count: 2700,
            retained_bytes: 500_000,
            growth: vec![0, 1350, 2700],
            growth_bytes: vec![],
            retainer_path: vec![],
            location: Some(Location {
                file: "/srv/server.js".into(),
                line,
                column: 3,
            }),
            code: Some("  rates.on('update', onUpdate);".into()),
            excerpt: vec![],
            fingerprint: fp.into(),
            suggestion: String::new(),
            ..Default::default()
        }
    }

    fn leaks(f: Vec<Finding>) -> LeaksView {
        LeaksView {
            snapshots: vec![],
            findings: f,
        }
    }

    fn side<'a>(c: &'a Capture, l: &'a LeaksView) -> Side<'a> {
        Side {
            dir: "d",
            capture: c,
            leaks: l,
            gc: None,
        }
    }

    #[test]
    fn gone_leak_and_flat_heap_is_fixed() {
        let b = capture(
            &[(0, 5_000_000), (300, 6_000_000), (3000, 8_000_000)],
            Some((740.0, 700.0, 780.0)),
        );
        let a = capture(
            &[(0, 5_000_000), (300, 6_000_000), (3000, 6_001_000)],
            Some((0.4, -2.0, 3.0)),
        );
        let (lb, la) = (leaks(vec![finding("aa", 42)]), leaks(vec![]));
        let v = compare(&side(&b, &lb), &side(&a, &la), None);
        assert_eq!(v.verdict, "fixed", "{v:#?}");
        assert_eq!(v.threshold_bytes_per_request, Some(185.0));
        assert!(!v.leaks_before[0].present_after);
        assert!(
            v.load_test.after[1].contains("stable"),
            "{:?}",
            v.load_test.after
        );
        assert!(
            v.load_test.before[1].contains("growth"),
            "{:?}",
            v.load_test.before
        );
        let md = markdown(&v);
        assert!(md.contains("### Load Test Results"));
        assert!(md.contains("**Improvement**"));
        assert!(
            md.contains("| 3000 | 7.6 MiB (snapshot) | 5.7 MiB (snapshot) |"),
            "{md}"
        );
    }

    #[test]
    fn same_group_after_is_persists_even_when_lines_moved() {
        let b = capture(&[(0, 1), (300, 2), (3000, 3)], Some((740.0, 700.0, 780.0)));
        let a = capture(&[(0, 1), (300, 2), (3000, 3)], Some((5.0, 1.0, 8.0)));
        let (lb, la) = (
            leaks(vec![finding("aa", 42)]),
            leaks(vec![finding("bb", 47)]),
        );
        let v = compare(&side(&b, &lb), &side(&a, &la), None);
        assert_eq!(v.verdict, "persists");
        assert_eq!(v.leaks_before[0].matched_by.as_deref(), Some("location"));
        assert!(v.new_leaks.is_empty());
    }

    #[test]
    fn small_total_growth_is_v8_noise_but_a_quarter_of_the_leak_is_not() {
        let b = capture(&[(0, 1), (300, 2), (3000, 3)], Some((489.0, 482.0, 508.0)));
        let (lb, la) = (leaks(vec![]), leaks(vec![]));
        // 53 B per request over 2700 requests: 143 KB, JIT code tiering up.
        let a = capture(&[(0, 1), (300, 2), (3000, 3)], Some((53.0, 42.0, 70.0)));
        assert_eq!(
            compare(&side(&b, &lb), &side(&a, &la), None).verdict,
            "fixed"
        );
        // 300 B per request over 9000 requests: 2.7 MB, more than a quarter of 489 B.
        let a = capture(
            &[(0, 1), (1000, 2), (10000, 3)],
            Some((300.0, 290.0, 310.0)),
        );
        let v = compare(&side(&b, &lb), &side(&a, &la), None);
        assert_eq!(v.verdict, "persists", "{v:#?}");
    }

    /// A Python capture (probe checkpoints, no heap snapshots): the growth after the fix was
    /// judged over 0 requests (the span started at the first checkpoint with a snapshot, which
    /// a Python capture does not have), so any growth added up to "0 B, within V8's own
    /// variation" and a leak the finder did not group after the fix came out `fixed`; the
    /// Markdown said "no checkpoint was taken" and "heap used" of tracemalloc's figures.
    #[test]
    fn python_capture_growth_after_the_fix_is_judged_over_its_load() {
        let python = |heaps: &[(u64, u64)], bpr| {
            let mut c = capture(heaps, bpr);
            c.runtime = "python".into();
            for (k, cp) in c.checkpoints.iter_mut().enumerate() {
                cp.snapshot = None;
                cp.probe = Some(format!("probe-{k}.json"));
            }
            c
        };
        let b = python(
            &[(0, 300_000), (1000, 4_700_000), (10000, 44_000_000)],
            Some((4400.0, 4300.0, 4500.0)),
        );
        // 1.5 KiB per request over 9000 requests: 13 MiB, more than a quarter of 4.3 KiB.
        let a = python(
            &[(0, 300_000), (1000, 1_800_000), (10000, 15_300_000)],
            Some((1500.0, 1450.0, 1550.0)),
        );
        let (lb, la) = (leaks(vec![finding("aa", 42)]), leaks(vec![]));
        let v = compare(&side(&b, &lb), &side(&a, &la), None);
        assert_eq!(v.verdict, "persists", "{v:#?}");
        let md = markdown(&v);
        assert!(!md.contains("no checkpoint was taken"), "{md}");
        assert!(!md.contains("heap used"), "{md}");
        assert!(
            md.contains(
                "Memory after 1000 requests: 1.7 MiB (traced by tracemalloc after gc.collect()"
            ),
            "{md}"
        );
    }

    #[test]
    fn growth_over_the_given_threshold_is_persists() {
        let b = capture(&[(0, 1), (300, 2), (3000, 3)], Some((740.0, 700.0, 780.0)));
        let a = capture(&[(0, 1), (300, 2), (3000, 3)], Some((50.0, 40.0, 60.0)));
        let (lb, la) = (leaks(vec![]), leaks(vec![]));
        assert_eq!(
            compare(&side(&b, &lb), &side(&a, &la), Some(64.0)).verdict,
            "fixed"
        );
        let v = compare(&side(&b, &lb), &side(&a, &la), Some(16.0));
        assert_eq!(v.verdict, "persists");
        assert!(
            v.reasons.iter().any(|r| r.contains("above the threshold")),
            "{:?}",
            v.reasons
        );
    }
}
