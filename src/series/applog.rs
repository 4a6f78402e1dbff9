//! Evidence of impact from an application or system log (`--app-log`): out-of-memory crashes,
//! OOM kills and restarts, each as an [`Incident`].
//!
//! Recognised, anywhere in a line (log collectors, journald and `kubectl logs` prefixes are
//! skipped):
//! - Node's fatal heap OOM (`FATAL ERROR: ... JavaScript heap out of memory`, and a worker's
//!   `ERR_WORKER_OUT_OF_MEMORY`), with the heap figures of the last GC printed in the
//!   "Last few GCs" block before it;
//! - Python `MemoryError` (a traceback's last line, or a logged `MemoryError: ...`), with the
//!   innermost `File "...", line N` of the traceback;
//! - the kernel OOM killer (`Out of memory: Killed process PID (name) total-vm:..kB,
//!   anon-rss:..kB, ...`, `Memory cgroup out of memory: ...`, `oom-kill:...,task=..,pid=..`,
//!   `... invoked oom-killer`), in dmesg, journald or syslog form; the lines of one kill are
//!   merged into one incident;
//! - systemd (`Failed with result 'oom-kill'`, `killed by the OOM killer`, `Scheduled restart
//!   job, restart counter is at N`) and Kubernetes (`Reason: OOMKilled`, `Back-off restarting
//!   failed container`, `Restart Count: N`).
//!
//! Pure: [`analyze`] takes the text; no IO. A log without incidents is evidence too (none
//! seen), so only an empty input is an error.

use crate::error::InputError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IncidentKind {
    /// The runtime's heap ran out (Node's fatal "JavaScript heap out of memory").
    HeapOom,
    /// An allocation failed inside the program (Python `MemoryError`).
    MemoryError,
    /// The kernel's (or a cgroup's, or systemd-oomd's) OOM killer killed the process;
    /// Kubernetes' `OOMKilled` is this too.
    OomKill,
    /// The process or container was restarted.
    Restart,
}

impl IncidentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentKind::HeapOom => "heap-oom",
            IncidentKind::MemoryError => "memory-error",
            IncidentKind::OomKill => "oom-kill",
            IncidentKind::Restart => "restart",
        }
    }
}

/// One incident. Figures are exact bytes; absent when the source does not print them.
///
/// ```text
/// {"kind": "oom-kill", "source": "kernel", "line": 12, "time": "Nov 24 17:00:01",
///  "unix_s": null, "process": "node", "pid": 1234,
///  "heap_used_bytes": null, "heap_limit_bytes": null,
///  "rss_bytes": 268435456, "anon_rss_bytes": 268000000, "total_vm_bytes": 1100000000,
///  "count": 1, "labels": {"memcg": "/kubepods/pod1/ctr"}, "location": null,
///  "message": "Out of memory: Killed process 1234 (node) total-vm:..."}
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    pub kind: IncidentKind,
    /// `node`, `python`, `kernel`, `systemd`, `kubernetes`, `kube-state-metrics`.
    pub source: String,
    /// 1-based line of the log (app logs only).
    pub line: Option<u64>,
    /// The time as the log wrote it, when a line starts with one.
    pub time: Option<String>,
    /// The same as Unix seconds, when it names a date (ISO 8601; Prometheus samples).
    pub unix_s: Option<f64>,
    /// Process name and id, when given.
    pub process: Option<String>,
    pub pid: Option<u64>,
    /// Node: live heap after the last GC before the crash.
    pub heap_used_bytes: Option<u64>,
    /// Node: committed heap after that GC (about the heap limit at the crash).
    pub heap_limit_bytes: Option<u64>,
    /// OOM killer: resident memory of the killed process (anon + file + shmem RSS).
    pub rss_bytes: Option<u64>,
    pub anon_rss_bytes: Option<u64>,
    pub total_vm_bytes: Option<u64>,
    /// How many events this incident stands for (a restart counter's increase), else 1.
    pub count: u64,
    /// Kubernetes namespace/pod/container, systemd unit, cgroup, ...
    pub labels: BTreeMap<String, String>,
    /// Python: `file:line` of the innermost frame of the traceback.
    pub location: Option<String>,
    /// The line that shows it (at most 300 characters).
    pub message: String,
}

impl Incident {
    fn new(kind: IncidentKind, source: &str, line: u64, text: &str) -> Incident {
        let (time, unix_s) = line_time(text);
        Incident {
            kind,
            source: source.to_string(),
            line: Some(line),
            time,
            unix_s,
            process: None,
            pid: None,
            heap_used_bytes: None,
            heap_limit_bytes: None,
            rss_bytes: None,
            anon_rss_bytes: None,
            total_vm_bytes: None,
            count: 1,
            labels: BTreeMap::new(),
            location: None,
            message: text.trim().chars().take(300).collect(),
        }
    }
}

/// The JSON of `memsleuth applog --format json`.
///
/// ```text
/// {
///   "file": "app.log", "lines": 1200,
///   "incidents": [ {...}, ... ],          // in log order
///   "counts": {"heap-oom": 1, "oom-kill": 0, "memory-error": 0, "restart": 2}
/// }
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AppLogReport {
    pub file: String,
    pub lines: u64,
    pub incidents: Vec<Incident>,
    /// Events per kind (sums of `count`), every kind present.
    pub counts: BTreeMap<String, u64>,
}

/// Counts of `incidents` per kind, every kind present (0 when none).
pub fn counts(incidents: &[Incident]) -> BTreeMap<String, u64> {
    let mut m: BTreeMap<String, u64> = [
        IncidentKind::HeapOom,
        IncidentKind::MemoryError,
        IncidentKind::OomKill,
        IncidentKind::Restart,
    ]
    .iter()
    .map(|k| (k.as_str().to_string(), 0))
    .collect();
    for i in incidents {
        *m.entry(i.kind.as_str().to_string()).or_default() += i.count;
    }
    m
}

/// Reads the incidents of a log; `name` is the file name used in errors.
pub fn analyze(name: &str, text: &str) -> Result<AppLogReport, InputError> {
    if text.trim().is_empty() {
        return Err(InputError::whole(
            name,
            "empty: expected an application or system log",
        ));
    }
    let incidents = parse(text);
    Ok(AppLogReport {
        file: name.to_string(),
        lines: text.lines().count() as u64,
        counts: counts(&incidents),
        incidents,
    })
}

/// Heap figures of the last `[pid:0x..] N ms: Kind A (B) -> C (D) MB` line seen.
#[derive(Clone, Copy)]
struct LastGc {
    pid: Option<u64>,
    after_mb: f64,
    committed_mb: Option<f64>,
    line: u64,
}

/// Every incident of `text`, in log order.
pub fn parse(text: &str) -> Vec<Incident> {
    let mut out: Vec<Incident> = Vec::new();
    let mut last_gc: Option<LastGc> = None;
    // Innermost frame of the Python traceback being read.
    let mut py_frame: Option<String> = None;
    let mut in_traceback = false;
    for (idx, raw) in text.lines().enumerate() {
        let lineno = idx as u64 + 1;
        let line = raw.trim_end();
        if line.trim().is_empty() {
            continue;
        }
        if let Some(g) = gc_line(line, lineno) {
            last_gc = Some(g);
        }

        // Python tracebacks.
        if line.contains("Traceback (most recent call last)") {
            in_traceback = true;
            py_frame = None;
        } else if in_traceback && let Some(f) = py_file_line(line) {
            py_frame = Some(f);
        }
        if let Some(pos) = line.find("MemoryError")
            && is_memory_error(&line[pos..])
        {
            let mut inc = Incident::new(IncidentKind::MemoryError, "python", lineno, line);
            inc.location = py_frame.take().filter(|_| in_traceback);
            in_traceback = false;
            out.push(inc);
            continue;
        }

        // Node's fatal heap OOM.
        if (line.contains("FATAL ERROR:") && line.contains("heap out of memory"))
            || line.contains("ERR_WORKER_OUT_OF_MEMORY")
        {
            let mut inc = Incident::new(IncidentKind::HeapOom, "node", lineno, line);
            // The "Last few GCs" block is printed just before (within ~40 lines).
            if let Some(g) = last_gc.filter(|g| lineno - g.line <= 40) {
                inc.pid = g.pid;
                inc.process = Some("node".to_string());
                inc.heap_used_bytes = Some(mib_to_bytes(g.after_mb));
                inc.heap_limit_bytes = g.committed_mb.map(mib_to_bytes);
            }
            out.push(inc);
            continue;
        }

        // The kernel OOM killer.
        if let Some(inc) = kernel_oom(line, lineno) {
            merge_or_push(&mut out, inc);
            continue;
        }

        // systemd.
        if line.contains("Failed with result 'oom-kill'")
            || line.contains("killed by the OOM killer")
        {
            let mut inc = Incident::new(IncidentKind::OomKill, "systemd", lineno, line);
            if let Some(u) = systemd_unit(line) {
                inc.labels.insert("unit".into(), u);
            }
            merge_or_push(&mut out, inc);
            continue;
        }
        if let Some(pos) = line.find("Scheduled restart job, restart counter is at") {
            let mut inc = Incident::new(IncidentKind::Restart, "systemd", lineno, line);
            if let Some(u) = systemd_unit(line) {
                inc.labels.insert("unit".into(), u);
            }
            let n = leading_u64(line[pos..].trim_start_matches(|c: char| !c.is_ascii_digit()));
            if let Some(n) = n {
                inc.labels.insert("restart_counter".into(), n.to_string());
            }
            out.push(inc);
            continue;
        }

        // Kubernetes (kubectl describe / get events / kubelet).
        let t = line.trim();
        if t.contains("OOMKilled") && (t.contains("Reason") || t.contains("reason")) {
            let inc = Incident::new(IncidentKind::OomKill, "kubernetes", lineno, line);
            merge_or_push(&mut out, inc);
            continue;
        }
        if t.contains("Back-off restarting failed container") {
            out.push(Incident::new(
                IncidentKind::Restart,
                "kubernetes",
                lineno,
                line,
            ));
            continue;
        }
        if let Some(rest) = t.strip_prefix("Restart Count:")
            && let Some(n) = leading_u64(rest.trim())
            && n > 0
        {
            let mut inc = Incident::new(IncidentKind::Restart, "kubernetes", lineno, line);
            inc.count = n;
            out.push(inc);
        }
    }
    out
}

/// `MemoryError` as an exception name: the end of a traceback or `MemoryError: ...`, not a
/// word inside another identifier.
fn is_memory_error(at: &str) -> bool {
    let rest = &at["MemoryError".len()..];
    rest.is_empty()
        || rest.starts_with(':')
        || rest.starts_with(' ')
        || rest.starts_with('(')
        || rest.starts_with('\'')
}

/// `  File "app.py", line 12, in handler` -> `app.py:12`.
fn py_file_line(line: &str) -> Option<String> {
    let s = line.trim_start();
    let s = &s[s.find("File \"")? + 6..];
    let end = s.find('"')?;
    let file = &s[..end];
    let rest = &s[end..];
    let n = leading_u64(rest[rest.find("line ")? + 5..].trim_start())?;
    Some(format!("{file}:{n}"))
}

/// Digits at the start of `s`.
fn leading_u64(s: &str) -> Option<u64> {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    s[..end].parse().ok()
}

fn mib_to_bytes(mb: f64) -> u64 {
    (mb * 1048576.0).round().max(0.0) as u64
}

fn kib_field(line: &str, key: &str) -> Option<u64> {
    let pos = line.find(key)?;
    let rest = &line[pos + key.len()..];
    let v = leading_u64(rest)?;
    rest[v.to_string().len()..]
        .starts_with("kB")
        .then_some(v * 1024)
}

/// The last `[pid:0xisolate] N ms: Kind A (B) -> C (D) MB` of a line.
fn gc_line(line: &str, lineno: u64) -> Option<LastGc> {
    if !line.contains(" ms: ") || !line.contains(" -> ") {
        return None;
    }
    let parsed = crate::series::gclog::parse(line);
    let e = parsed.events.last()?;
    Some(LastGc {
        pid: e.isolate.split(':').next().and_then(|p| p.parse().ok()),
        after_mb: e.heap_after_mb,
        committed_mb: e.committed_after_mb,
        line: lineno,
    })
}

/// A kernel OOM-killer line: `Killed process`, `oom-kill:` or `invoked oom-killer`.
fn kernel_oom(line: &str, lineno: u64) -> Option<Incident> {
    if let Some(pos) = line.find("Killed process ") {
        // "Out of memory: Killed process 1234 (node) total-vm:..." and the cgroup form; the
        // old "Kill process N (x) score S or sacrifice child" is followed by this line too.
        let rest = &line[pos + "Killed process ".len()..];
        let pid = leading_u64(rest)?;
        let mut inc = Incident::new(IncidentKind::OomKill, "kernel", lineno, line);
        inc.pid = Some(pid);
        if let (Some(a), Some(b)) = (rest.find('('), rest.find(')'))
            && a < b
        {
            inc.process = Some(rest[a + 1..b].to_string());
        }
        inc.total_vm_bytes = kib_field(rest, "total-vm:");
        inc.anon_rss_bytes = kib_field(rest, "anon-rss:");
        let rss: Vec<u64> = ["anon-rss:", "file-rss:", "shmem-rss:"]
            .iter()
            .filter_map(|k| kib_field(rest, k))
            .collect();
        if !rss.is_empty() {
            inc.rss_bytes = Some(rss.iter().sum());
        }
        if line.contains("Memory cgroup out of memory") {
            inc.labels.insert("constraint".into(), "memcg".into());
        }
        return Some(inc);
    }
    if let Some(pos) = line.find("oom-kill:") {
        let rest = &line[pos + "oom-kill:".len()..];
        let mut inc = Incident::new(IncidentKind::OomKill, "kernel", lineno, line);
        for kv in rest.split(',') {
            let Some((k, v)) = kv.trim().split_once('=') else {
                continue;
            };
            match k {
                "pid" => inc.pid = v.parse().ok(),
                "task" => inc.process = Some(v.to_string()),
                "oom_memcg" | "task_memcg" | "constraint" => {
                    inc.labels.insert(k.to_string(), v.to_string());
                }
                _ => {}
            }
        }
        return Some(inc);
    }
    if let Some(pos) = line.find(" invoked oom-killer") {
        // "node invoked oom-killer: gfp_mask=..." names the allocating task, not the victim:
        // kept only when no kill line follows (merged away otherwise).
        let before = line[..pos].trim_end();
        let name = before
            .rsplit([' ', ']', ':'])
            .next()
            .unwrap_or("")
            .to_string();
        let mut inc = Incident::new(IncidentKind::OomKill, "kernel", lineno, line);
        if !name.is_empty() {
            inc.process = Some(name);
        }
        inc.labels.insert("invoked_only".into(), "true".into());
        return Some(inc);
    }
    None
}

/// Lines of one OOM kill are merged: an incident of the same kind within 60 lines whose pid
/// (when both have one) is the same, from the same source, or the kernel's kill and systemd's
/// report of it within 10 lines.
fn merge_or_push(out: &mut Vec<Incident>, inc: Incident) {
    let line = inc.line.unwrap_or(0);
    if let Some(prev) = out.iter_mut().rev().take(8).find(|p| {
        let gap = line.saturating_sub(p.line.unwrap_or(0));
        p.kind == inc.kind
            && gap <= 60
            && match (p.pid, inc.pid) {
                (Some(a), Some(b)) => a == b,
                // systemd reports the kernel's kill of its unit's process.
                _ => {
                    p.source == inc.source
                        || p.labels.contains_key("invoked_only")
                        || (gap <= 10
                            && matches!(
                                (p.source.as_str(), inc.source.as_str()),
                                ("kernel", "systemd") | ("systemd", "kernel")
                            ))
                }
            }
    }) {
        // Keep the most informative figures and message (the "Killed process" line).
        let invoked_only = prev.labels.remove("invoked_only").is_some();
        prev.pid = prev.pid.or(inc.pid);
        if inc.rss_bytes.is_some() || invoked_only {
            prev.process = inc.process.clone().or(prev.process.take());
            prev.message = inc.message.clone();
            prev.line = inc.line;
            prev.source = inc.source.clone();
        } else {
            prev.process = prev.process.take().or(inc.process.clone());
        }
        prev.rss_bytes = prev.rss_bytes.or(inc.rss_bytes);
        prev.anon_rss_bytes = prev.anon_rss_bytes.or(inc.anon_rss_bytes);
        prev.total_vm_bytes = prev.total_vm_bytes.or(inc.total_vm_bytes);
        prev.time = prev.time.take().or(inc.time);
        prev.unix_s = prev.unix_s.or(inc.unix_s);
        for (k, v) in inc.labels {
            if k != "invoked_only" {
                prev.labels.entry(k).or_insert(v);
            }
        }
        return;
    }
    out.push(inc);
}

/// `systemd[1]: app.service: ...` -> `app.service`.
fn systemd_unit(line: &str) -> Option<String> {
    let pos = line.find("]: ")?;
    let rest = &line[pos + 3..];
    let end = rest.find(": ")?;
    let unit = &rest[..end];
    (unit.contains('.') && !unit.contains(' ')).then(|| unit.to_string())
}

/// The time a line starts with, after a `kubectl logs --timestamps` or collector prefix:
/// ISO 8601 (`2026-11-24T17:00:01.123Z`, `2026-11-24 17:00:01,123`), syslog
/// (`Nov 24 17:00:01`) or dmesg (`[12345.678901]`). Returns (text, Unix seconds when dated).
pub fn line_time(line: &str) -> (Option<String>, Option<f64>) {
    let s = line.trim_start();
    let b = s.as_bytes();
    // ISO 8601.
    if b.len() >= 19
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[7] == b'-'
        && (b[10] == b'T' || b[10] == b' ')
    {
        // A space between date and time belongs to the stamp; the next one ends it.
        let from = if b[10] == b' ' { 11 } else { 0 };
        let end = s[from..]
            .find(char::is_whitespace)
            .map_or(s.len(), |e| e + from);
        let text = s[..end].trim_end_matches([',', ';']).to_string();
        // Python logging writes a comma before the milliseconds.
        let norm = text.replacen(',', ".", 1);
        let unix = crate::series::prometheus::parse_time(&norm)
            .or_else(|| crate::series::prometheus::parse_time(norm.get(..19).unwrap_or("")));
        return (Some(text), unix);
    }
    // dmesg.
    if let Some(r) = s.strip_prefix('[')
        && let Some(end) = r.find(']')
        && !r[..end].trim().is_empty()
        && r[..end]
            .trim()
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.')
    {
        return (Some(format!("[{}]", r[..end].trim())), None);
    }
    // syslog: "Nov 24 17:00:01".
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    if s.len() >= 15
        && MONTHS.iter().any(|m| s.starts_with(m))
        && s.is_char_boundary(15)
        && s.as_bytes()[9] == b':'
    {
        return (Some(s[..15].to_string()), None);
    }
    (None, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_of_every_prefix() {
        assert_eq!(
            line_time("2026-11-24T17:00:01.5Z stderr F FATAL"),
            (Some("2026-11-24T17:00:01.5Z".into()), Some(1_795_539_601.5))
        );
        assert_eq!(
            line_time("2026-11-24 17:00:01,250 ERROR x").1,
            Some(1_795_539_601.25)
        );
        assert_eq!(
            line_time("[ 5123.456789] Out of memory").0.as_deref(),
            Some("[5123.456789]")
        );
        assert_eq!(
            line_time("Nov 24 17:00:01 host kernel: x").0.as_deref(),
            Some("Nov 24 17:00:01")
        );
        assert_eq!(line_time("hello"), (None, None));
    }

    #[test]
    fn one_kernel_kill_is_one_incident() {
        let text = "\
[ 5123.1] node invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0
[ 5123.2] Mem-Info:
[ 5123.3] oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,oom_memcg=/kubepods/pod1,task_memcg=/kubepods/pod1/c1,task=node,pid=4321,uid=1000
[ 5123.4] Memory cgroup out of memory: Killed process 4321 (node) total-vm:1234560kB, anon-rss:262144kB, file-rss:1024kB, shmem-rss:0kB, UID:1000 pgtables:1000kB oom_score_adj:0
";
        let v = parse(text);
        assert_eq!(v.len(), 1, "{v:#?}");
        let i = &v[0];
        assert_eq!(i.kind, IncidentKind::OomKill);
        assert_eq!(i.pid, Some(4321));
        assert_eq!(i.process.as_deref(), Some("node"));
        assert_eq!(i.anon_rss_bytes, Some(262144 * 1024));
        assert_eq!(i.rss_bytes, Some((262144 + 1024) * 1024));
        assert_eq!(
            i.labels.get("oom_memcg").map(String::as_str),
            Some("/kubepods/pod1")
        );
        assert_eq!(i.time.as_deref(), Some("[5123.1]"));
        assert!(!i.labels.contains_key("invoked_only"));
    }

    #[test]
    fn hostile_lines_never_panic() {
        let samples = [
            "Killed process ",
            "Killed process 12(",
            "oom-kill:pid=,task",
            "MemoryError",
            "  File \"x",
            "Restart Count: 99999999999999999999999",
            "[ ] x",
            "2026-13-99T99:99:99Z é FATAL ERROR: heap out of memory",
            "Nov 24 1é:00:01 x",
        ];
        for s in samples {
            for i in 0..=s.len() {
                if s.is_char_boundary(i) {
                    let _ = parse(&s[..i]);
                    let _ = parse(&s[i..]);
                }
            }
        }
    }
}
