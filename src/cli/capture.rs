//! `memsleuth capture`: runs a Node service under load (or attaches to one), takes
//! checkpoints and heap snapshots (`live::capture`), then writes the leak finder's output
//! (`leaks.json`) and the full report into the same folder.
//!
//! Ctrl-C (SIGINT), SIGTERM and SIGHUP stop the capture cleanly: the service is stopped and
//! nothing is left half-written; the exit code is 2. A second signal exits at once (the
//! watchdog still stops the service).

use super::{Format, print_json, print_text};
use crate::leaks::LeaksOutput;
use crate::live::capture::{self as cap, LoadPlan, Target};
use crate::live::format::{Capture, Checkpoint};
use crate::live::{Event, Observer, Stop};
use crate::units;
use anyhow::{Context, anyhow, bail};
use serde::Serialize;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

/// Flags of `memsleuth capture`.
#[derive(clap::Args, Debug, Clone)]
#[command(after_help = "Examples:
  memsleuth capture --out cap --url 'http://127.0.0.1:{port}/quote/{i}' -- node server.js
  memsleuth capture --out cap --inspect 127.0.0.1:9229 --url http://127.0.0.1:8080/quote/{i}
  memsleuth capture --out cap --pid 4242 --url http://127.0.0.1:8080/
  memsleuth capture --out cap --load 'autocannon -d 60 {url}' --duration 60s -- node server.js")]
pub struct Args {
    /// Folder for the capture: snapshots, GC log, capture.json, leaks.json and the report
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Requests the built-in load sends
    #[arg(long, default_value_t = 10_000, value_name = "N")]
    pub requests: u64,
    /// Where to take heap snapshots (at least three): request counts (default: 10 %, 50 %
    /// and 100 % of --requests), or times with --load (default: 10 %, 50 %, 100 % of --duration)
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    pub checkpoints: Vec<String>,
    /// Extra checkpoints without a snapshot (memory only), evenly spread
    #[arg(long, default_value_t = 10, value_name = "K")]
    pub samples: u32,
    /// The URL the load requests; `{port}` is the port memsleuth gives the service in PORT,
    /// `{i}` the request's number [default when starting: http://127.0.0.1:{port}/]
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// HTTP method of the load
    #[arg(long, default_value = "GET", value_name = "M")]
    pub method: String,
    /// A request header `Name: value` (repeatable; `{i}` allowed)
    #[arg(long = "header", value_name = "H")]
    pub headers: Vec<String>,
    /// Request body (`{i}` allowed; sent as application/json unless a Content-Type is given)
    #[arg(long, value_name = "B")]
    pub body: Option<String>,
    /// Concurrent keep-alive connections of the load
    #[arg(long, default_value_t = 8, value_name = "C")]
    pub concurrency: u32,
    /// Your own load command (run with sh -c; `{url}` and `{port}` filled in, URL and PORT
    /// in its environment) instead of the built-in load; checkpoints are then by time (the
    /// time the load ran, pauses for checkpoints not counted), and requests are counted in
    /// the service (Node's http.server.request.start channel)
    #[arg(long, value_name = "COMMAND")]
    pub load: Option<String>,
    /// How long to run --load
    #[arg(long, default_value = "60s", value_name = "D")]
    pub duration: String,
    /// Time one request may take
    #[arg(long, default_value = "30s", value_name = "D")]
    pub timeout: String,
    /// Time the started service may take to answer
    #[arg(long, default_value = "30s", value_name = "D")]
    pub start_timeout: String,
    /// Record allocation stacks (the snapshots then tell where each object was allocated).
    /// Costly: while it tracks, V8's inspector runs a full GC every 50 ms, so a service with
    /// a large heap slows down many times (see scripts/bench-capture.sh)
    #[arg(long)]
    pub track_allocations: bool,
    /// Exit with code 1 when the leak finder reports a leak (for CI)
    #[arg(long, conflicts_with = "no_report")]
    pub fail_on_leak: bool,
    /// Only capture: no leak finder, no report (analyse the folder later, or elsewhere)
    #[arg(long)]
    pub no_report: bool,
    /// Attach to a running process's inspector: HOST:PORT or a ws:// URL
    #[arg(long, value_name = "HOST:PORT", conflicts_with = "pid")]
    pub inspect: Option<String>,
    /// Attach to a running Node process: SIGUSR1 opens its inspector (port 9229 unless it
    /// was started with another --inspect-port)
    #[arg(long, value_name = "PID")]
    pub pid: Option<u32>,
    /// The service's name in the report
    #[arg(long)]
    pub service: Option<String>,
    /// The service's memory limit, for the report's time to OOM (512M, 2G, ...)
    #[arg(long, value_name = "BYTES", value_parser = super::report::parse_bytes)]
    pub memory_limit: Option<u64>,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// The service to start: `node server.js [ARGS...]`
    #[arg(last = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

/// The JSON output of `memsleuth capture --format json`.
#[derive(Serialize, Debug)]
pub struct CaptureOutput {
    /// The folder written.
    pub dir: String,
    /// `capture.json` as written.
    pub capture: Capture,
    /// The leak finder's output on the snapshots (also in `leaks.json`); for a Python
    /// capture, the probe's findings in the same shape.
    pub leaks: Option<LeaksOutput>,
    /// Python captures: the analysis of the probe's checkpoints (also in `python.json`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub python: Option<crate::python::PythonReport>,
    /// Every file written, in the order written.
    pub files: Vec<String>,
}

fn duration(flag: &str, s: &str) -> anyhow::Result<Duration> {
    let secs = crate::series::prometheus::parse_duration(s)
        .ok_or_else(|| anyhow!("--{flag} {s:?}: not a duration (examples: 30s, 2m, 500ms)"))?;
    Ok(Duration::from_secs_f64(secs))
}

/// Turns the flags into capture options.
pub fn options(args: &Args) -> anyhow::Result<cap::Options> {
    let target = match (&args.inspect, args.pid, args.command.is_empty()) {
        (Some(_), _, false) | (_, Some(_), false) => {
            bail!("give either a command to start (after --) or --inspect/--pid, not both")
        }
        (Some(a), None, true) => Target::Inspect { address: a.clone() },
        (None, Some(p), true) => Target::Pid { pid: p },
        (None, None, true) => bail!(
            "nothing to capture: give the service's command after `--` (memsleuth capture --out DIR -- node server.js), or --inspect HOST:PORT, or --pid PID"
        ),
        (None, None, false) => Target::Start {
            command: args.command.clone(),
            start_timeout: duration("start-timeout", &args.start_timeout)?,
        },
        (Some(_), Some(_), true) => bail!("give --inspect or --pid, not both"),
    };
    if args.samples > 1000 {
        bail!("--samples {}: at most 1000", args.samples);
    }
    let load = match &args.load {
        None => {
            if args.requests == 0 {
                bail!("--requests must be at least 1");
            }
            if args.concurrency == 0 || args.concurrency > 1024 {
                bail!("--concurrency must be between 1 and 1024");
            }
            let n = args.requests;
            let mut at: Vec<u64> = if args.checkpoints.is_empty() {
                vec![n / 10, n / 2, n]
            } else {
                args.checkpoints
                    .iter()
                    .map(|c| {
                        c.trim().parse::<u64>().map_err(|_| {
                            anyhow!(
                                "--checkpoints {c:?}: not a request count (with --load, give times)"
                            )
                        })
                    })
                    .collect::<anyhow::Result<_>>()?
            };
            at.sort_unstable();
            at.dedup();
            at.retain(|&a| a > 0);
            if at.len() < 3 {
                bail!(
                    "--checkpoints: at least three distinct request counts above 0 are needed (the leak finder compares three snapshots); --requests {n} gives {:?}",
                    at
                );
            }
            if let Some(&big) = at.iter().find(|&&a| a > n) {
                bail!("--checkpoints: {big} is beyond --requests {n}");
            }
            if args.url.is_none() && !matches!(target, Target::Start { .. }) {
                bail!("--url is needed to load a service memsleuth did not start");
            }
            LoadPlan::BuiltIn {
                url: args
                    .url
                    .clone()
                    .unwrap_or_else(|| "http://127.0.0.1:{port}/".into()),
                method: args.method.clone(),
                headers: args.headers.clone(),
                body: args.body.clone(),
                concurrency: args.concurrency,
                requests: n,
                snapshots_at: at,
                samples: args.samples,
                timeout: duration("timeout", &args.timeout)?,
            }
        }
        Some(cmd) => {
            let total = duration("duration", &args.duration)?;
            if total < Duration::from_secs(1) {
                bail!("--duration must be at least 1s");
            }
            let mut at: Vec<Duration> = if args.checkpoints.is_empty() {
                vec![total / 10, total / 2, total]
            } else {
                args.checkpoints
                    .iter()
                    .map(|c| duration("checkpoints", c))
                    .collect::<anyhow::Result<_>>()?
            };
            at.sort();
            at.dedup();
            at.retain(|d| !d.is_zero());
            if at.len() < 3 {
                bail!("--checkpoints: at least three distinct times are needed");
            }
            if let Some(big) = at.iter().find(|&&a| a > total) {
                bail!(
                    "--checkpoints: {:.1}s is beyond --duration {}",
                    big.as_secs_f64(),
                    args.duration
                );
            }
            LoadPlan::Command {
                command: cmd.clone(),
                url: args.url.clone(),
                duration: total,
                snapshots_at: at,
                samples: args.samples,
            }
        }
    };
    Ok(cap::Options {
        out: args.out.clone(),
        target,
        load,
        track_allocations: args.track_allocations,
    })
}

/// Shows progress on stderr: a bar on a terminal, one line per checkpoint otherwise.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    terminal: bool,
}

impl Progress {
    fn line(&self, s: &str) {
        match &self.bar {
            Some(b) => b.println(s),
            None => eprintln!("{s}"),
        }
    }
}

impl Observer for Progress {
    fn event(&mut self, e: Event<'_>) {
        match e {
            Event::Started { pid, command, port } => self.line(&format!(
                "memsleuth: started `{}` (pid {pid}{})",
                command.join(" "),
                port.map(|p| format!(", PORT={p}")).unwrap_or_default()
            )),
            Event::Attached { url, pid } => {
                self.line(&format!("memsleuth: inspector of pid {pid}: {url}"))
            }
            Event::Ready { url, status } => {
                self.line(&format!("memsleuth: {url} answers (HTTP {status})"))
            }
            Event::Progress { done, total } => {
                if self.terminal {
                    let bar = self.bar.get_or_insert_with(|| {
                        let b = indicatif::ProgressBar::new(total);
                        if let Ok(s) = indicatif::ProgressStyle::with_template(
                            "load [{bar:30}] {pos}/{len} ({per_sec}, {eta}) {msg}",
                        ) {
                            b.set_style(s.progress_chars("=> "));
                        }
                        b
                    });
                    bar.set_position(done.min(total));
                }
            }
            Event::Checkpoint {
                index,
                count,
                checkpoint,
            } => self.line(&format!(
                "memsleuth: checkpoint {}/{count}: {}",
                index + 1,
                checkpoint_line(checkpoint)
            )),
            Event::Snapshot { name, bytes } => {
                if let Some(b) = &self.bar {
                    b.set_message(format!("{name}: {}", units::bytes_u64(bytes)));
                }
            }
            Event::Note(s) => self.line(&format!("memsleuth: {s}")),
        }
    }
}

fn checkpoint_line(c: &Checkpoint) -> String {
    let at = match c.requests {
        Some(r) => format!("{r} requests"),
        None => format!("{:.1} s", c.seconds),
    };
    let snap = match (&c.snapshot, c.snapshot_bytes) {
        (Some(n), Some(b)) => format!(", {n} ({})", units::bytes_u64(b)),
        (Some(n), None) => format!(", {n}"),
        _ => String::new(),
    };
    let what = if c.probe.is_some() {
        "traced by tracemalloc"
    } else {
        "heap used"
    };
    format!(
        "{at}: {what} {} (after GC), RSS {}{snap}",
        units::bytes_u64(c.heap_used_bytes),
        units::bytes_u64(c.rss_bytes)
    )
}

/// Installs the signal handlers: the first SIGINT/SIGTERM/SIGHUP asks the capture to stop,
/// a second one exits at once with code 2.
fn install_signals(stop: &Stop) -> anyhow::Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let armed = Arc::new(AtomicBool::new(false));
    for sig in [SIGINT, SIGTERM, SIGHUP] {
        signal_hook::flag::register_conditional_shutdown(sig, 2, armed.clone())
            .and_then(|_| signal_hook::flag::register(sig, armed.clone()))
            .and_then(|_| signal_hook::flag::register_usize(sig, stop.0.clone(), sig as usize))
            .context("cannot install the signal handlers")?;
    }
    Ok(())
}

/// The service's name for the report: `--service`, else the script's file stem.
fn service_name(args: &Args, capture: &Capture) -> String {
    if let Some(s) = &args.service {
        return s.clone();
    }
    capture
        .command
        .iter()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .and_then(|a| Path::new(a).file_stem())
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| format!("{} service", capture.runtime))
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    let opts = options(&args)?;
    let stop = Stop::new();
    install_signals(&stop)?;
    use std::io::IsTerminal;
    let terminal = std::io::stderr().is_terminal();
    let mut progress = Progress {
        bar: None,
        terminal,
    };
    let outcome = cap::run(&opts, &stop, &mut progress);
    if let Some(b) = progress.bar.take() {
        b.finish_and_clear();
    }
    let outcome = outcome?;
    let mut capture = outcome.capture;
    let mut files: Vec<PathBuf> = outcome.files;
    let dir = &args.out;
    if args.no_report {
        match args.format {
            Format::Json => print_json(&CaptureOutput {
                dir: dir.to_string_lossy().into_owned(),
                capture,
                leaks: None,
                python: None,
                files: files
                    .iter()
                    .map(|p| p.to_string_lossy().into_owned())
                    .collect(),
            })?,
            Format::Text => print_text(&render_capture(dir, &capture, &files))?,
        }
        return Ok(0);
    }
    if capture.runtime == "python" {
        return finish_python(&args, capture, files);
    }
    eprintln!(
        "memsleuth: capture written to {}; looking for leaks in {} snapshots",
        dir.display(),
        capture.snapshots.len()
    );

    // The analysis: the leak finder once (its output is leaks.json), then the report on the
    // capture folder, as `memsleuth report --capture DIR` makes it.
    let snapshots: Vec<String> = capture
        .snapshots
        .iter()
        .map(|s| dir.join(s).to_string_lossy().into_owned())
        .collect();
    let leaks = super::leaks::find_leaks(&snapshots, 1)?;
    let leaks_path = dir.join("leaks.json");
    crate::input::write_atomic(&leaks_path, |w| {
        serde_json::to_writer_pretty(&mut *w, &leaks).map_err(std::io::Error::other)?;
        w.write_all(b"\n")
    })?;
    files.push(leaks_path.clone());
    capture.leaks = Some("leaks.json".into());
    cap::write_capture(&dir.join("capture.json"), &capture)?;
    let rargs = super::report::Args {
        capture: Some(dir.to_string_lossy().into_owned()),
        service: Some(service_name(&args, &capture)),
        memory_limit: args.memory_limit,
        out: dir.clone(),
        saved: Box::new(super::report::SavedOutputs {
            leaks_json: Some(leaks_path.to_string_lossy().into_owned()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let ev = super::report::gather_evidence(&rargs)?;
    let written = super::report::write_report(dir, &ev)?;
    files.extend(written.paths.iter().cloned());
    let leaks = Some(leaks);

    let found = leaks.as_ref().is_some_and(|l| !l.findings.is_empty());
    match args.format {
        Format::Json => print_json(&CaptureOutput {
            dir: dir.to_string_lossy().into_owned(),
            capture,
            leaks,
            python: None,
            files: files
                .iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect(),
        })?,
        Format::Text => print_text(&render_text(
            dir,
            &capture,
            leaks.as_ref(),
            &files,
            &written,
        ))?,
    }
    Ok(if args.fail_on_leak && found { 1 } else { 0 })
}

/// The analysis of a Python capture: `memsleuth python` on the checkpoints' probe files
/// (with the request counts), written to `python.json`, then the report on the folder.
fn finish_python(
    args: &Args,
    mut capture: Capture,
    mut files: Vec<PathBuf>,
) -> anyhow::Result<i32> {
    let dir = &args.out;
    eprintln!(
        "memsleuth: capture written to {}; analysing {} probe checkpoints",
        dir.display(),
        capture
            .checkpoints
            .iter()
            .filter(|c| c.probe.is_some())
            .count()
    );
    let python = analyse_probe(dir, &capture)?;
    let path = dir.join("python.json");
    crate::input::write_atomic(&path, |w| {
        serde_json::to_writer_pretty(&mut *w, &python).map_err(std::io::Error::other)?;
        w.write_all(b"\n")
    })?;
    files.push(path.clone());
    capture.python_probe = Some("python.json".into());
    cap::write_capture(&dir.join("capture.json"), &capture)?;
    let rargs = super::report::Args {
        capture: Some(dir.to_string_lossy().into_owned()),
        service: Some(service_name(args, &capture)),
        memory_limit: args.memory_limit,
        out: dir.clone(),
        saved: Box::new(super::report::SavedOutputs {
            python_json: vec![path.to_string_lossy().into_owned()],
            ..Default::default()
        }),
        ..Default::default()
    };
    let ev = super::report::gather_evidence(&rargs)?;
    let written = super::report::write_report(dir, &ev)?;
    files.extend(written.paths.iter().cloned());
    // The findings in the leak finder's shape, for the text and the exit code.
    let leaks = LeaksOutput {
        snapshots: Vec::new(),
        findings: serde_json::from_value(serde_json::to_value(&python.leaks)?)?,
    };
    let found = !leaks.findings.is_empty();
    match args.format {
        Format::Json => print_json(&CaptureOutput {
            dir: dir.to_string_lossy().into_owned(),
            capture,
            leaks: Some(leaks),
            python: Some(python),
            files: files
                .iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect(),
        })?,
        Format::Text => print_text(&render_text(dir, &capture, Some(&leaks), &files, &written))?,
    }
    Ok(if args.fail_on_leak && found { 1 } else { 0 })
}

/// `memsleuth python` on a Python capture's probe checkpoints, with their request counts.
pub fn analyse_probe(dir: &Path, capture: &Capture) -> anyhow::Result<crate::python::PythonReport> {
    let mut inputs = Vec::new();
    let mut requests = Vec::new();
    for c in &capture.checkpoints {
        let Some(name) = c.probe.as_deref() else {
            continue;
        };
        if !cap::is_plain_name(name) {
            bail!(
                "{}: probe file {name:?} is not a file name inside the folder",
                dir.join("capture.json").display()
            );
        }
        let inp = crate::input::load(&dir.join(name).to_string_lossy())?;
        inputs.push((inp.name, inp.bytes.to_vec()));
        requests.push(c.requests);
    }
    if inputs.is_empty() {
        bail!("{}: no probe checkpoints in this capture", dir.display());
    }
    let counted: Option<Vec<u64>> = requests.into_iter().collect();
    let mut r =
        crate::python::analyze_inputs(&inputs, counted.as_deref(), &super::python::read_source)?;
    super::python::fill_code(&mut r);
    Ok(r)
}

/// The checkpoint table of a Node capture: V8's heap after a forced full GC, RSS, external
/// memory and the snapshot taken.
fn render_node_checkpoints(o: &mut String, c: &Capture) {
    let _ = writeln!(
        o,
        "\n{:>9} {:>8} {:>11} {:>11} {:>11} {:>11}  snapshot",
        "requests", "seconds", "heap used", "heap total", "RSS", "external"
    );
    for k in &c.checkpoints {
        let _ = writeln!(
            o,
            "{:>9} {:>8.1} {:>11} {:>11} {:>11} {:>11}  {}",
            k.requests
                .map(|r| r.to_string())
                .unwrap_or_else(|| "-".into()),
            k.seconds,
            units::bytes_u64(k.heap_used_bytes),
            units::bytes_u64(k.heap_total_bytes),
            units::bytes_u64(k.rss_bytes),
            units::bytes_u64(k.external_bytes),
            match (&k.snapshot, k.snapshot_bytes) {
                (Some(n), Some(b)) => format!("{n} ({})", units::bytes_u64(b)),
                _ => String::new(),
            }
        );
    }
}

/// The checkpoint table of a Python capture: what tracemalloc traces after `gc.collect()`,
/// RSS, and the probe's file.
fn render_python_checkpoints(o: &mut String, c: &Capture) {
    let _ = writeln!(
        o,
        "\n{:>9} {:>8} {:>11} {:>11}  probe",
        "requests", "seconds", "traced", "RSS"
    );
    for k in &c.checkpoints {
        let _ = writeln!(
            o,
            "{:>9} {:>8.1} {:>11} {:>11}  {}",
            k.requests
                .map(|r| r.to_string())
                .unwrap_or_else(|| "-".into()),
            k.seconds,
            units::bytes_u64(k.heap_used_bytes),
            units::bytes_u64(k.rss_bytes),
            k.probe.as_deref().unwrap_or("")
        );
    }
}

/// The capture's part of the text output: the run, the checkpoints, growth per request.
fn render_capture_part(c: &Capture) -> String {
    let mut o = String::new();
    let who = if c.command.is_empty() {
        format!("pid {}", c.pid.unwrap_or(0))
    } else {
        format!("`{}`", c.command.join(" "))
    };
    let _ = writeln!(
        o,
        "Capture of {who} ({} {}, {} mode){}",
        if c.runtime == "python" {
            "Python"
        } else {
            "Node"
        },
        c.runtime_version,
        c.mode,
        match (c.requests_total, c.concurrency, c.errors) {
            (Some(r), Some(k), Some(e)) => format!(
                ": {r} requests at concurrency {k} in {:.1} s, {e} errors",
                c.duration_s
            ),
            _ => format!(
                ": load `{}` for {:.1} s",
                c.load.as_deref().unwrap_or("?"),
                c.duration_s
            ),
        }
    );
    if let Some(l) = &c.latency_ms {
        let _ = writeln!(
            o,
            "Latency: p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            l.p50, l.p90, l.p99, l.max
        );
    }
    if c.runtime == "python" {
        render_python_checkpoints(&mut o, c);
    } else {
        render_node_checkpoints(&mut o, c);
    }
    match &c.bytes_per_request {
        Some(s) => {
            let _ = writeln!(
                o,
                "\nGrowth: {} per request (95 %: {} to {}); {}",
                units::bytes(s.value),
                units::bytes(s.low),
                units::bytes(s.high),
                s.method
            );
        }
        None => {
            let _ = writeln!(
                o,
                "\nGrowth per request: not measured (requests not counted)"
            );
        }
    }
    for n in &c.notes {
        let _ = writeln!(o, "Note: {n}");
    }
    o
}

fn file_list(dir: &Path, files: &[PathBuf]) -> String {
    let mut o = format!("Wrote {}:\n", dir.display());
    for f in files {
        let _ = writeln!(
            o,
            "  {}",
            f.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        );
    }
    o
}

/// Text output of `--no-report`.
fn render_capture(dir: &Path, c: &Capture, files: &[PathBuf]) -> String {
    format!("{}\n{}", render_capture_part(c), file_list(dir, files))
}

fn render_text(
    dir: &Path,
    c: &Capture,
    leaks: Option<&LeaksOutput>,
    files: &[PathBuf],
    written: &super::report::Written,
) -> String {
    let mut o = render_capture_part(c);
    match leaks {
        Some(l) if !l.findings.is_empty() => {
            let _ = writeln!(o, "\nLeaks found: {}", l.findings.len());
            for (i, f) in l.findings.iter().enumerate() {
                let _ = writeln!(
                    o,
                    "#{} {}: {} × {} retaining {}{}",
                    i + 1,
                    f.pattern.id(),
                    f.count,
                    f.class,
                    units::bytes_u64(f.retained_bytes),
                    f.location
                        .as_ref()
                        .map(|l| format!(" at {}:{}", l.file, l.line))
                        .unwrap_or_default()
                );
                if let Some(code) = &f.code {
                    let _ = writeln!(o, "   {}", code.trim());
                }
                let _ = writeln!(o, "   fix: {}", f.suggestion);
            }
        }
        Some(_) => {
            let _ = writeln!(
                o,
                "\nNo leak found in the {}.",
                if c.runtime == "python" {
                    "probe's checkpoints"
                } else {
                    "snapshots"
                }
            );
        }
        None => {}
    }
    let inv = &written.investigation;
    let _ = writeln!(
        o,
        "\nReport: severity {}; {}",
        inv.header.severity,
        crate::report::text::plain(&inv.executive_summary.tldr)
    );
    o.push_str(&file_list(dir, files));
    o
}
