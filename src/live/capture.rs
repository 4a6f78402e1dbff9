//! The capture: start the service (or attach to it), wait until it answers, drive the load
//! in segments, and at each checkpoint force a full GC, record heap used/total, RSS and
//! external memory, and take a heap snapshot where asked. Everything is written into a
//! staging folder inside the output folder and moved into place only when the capture is
//! complete, so an error or Ctrl-C leaves nothing half-written; the service is stopped in
//! every case (see [`super::process`]).

use super::format::{self, Capture, Checkpoint};
use super::http::{self, RequestTemplate, Url};
use super::inspector::{self, Inspector};
use super::load::Load;
use super::process::{self, Service, StartSpec};
use super::{Event, Observer, Stop, stats};
use crate::python::driver::{ProbeDir, ProbeProcess};
use anyhow::{Context, anyhow, bail};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

/// Which process to measure.
#[derive(Clone, Debug)]
pub enum Target {
    /// Start this command (`node server.js ...`), then stop it at the end.
    Start {
        command: Vec<String>,
        /// How long the service may take to answer.
        start_timeout: Duration,
    },
    /// Attach to an inspector: `HOST:PORT` or a `ws://` URL.
    Inspect { address: String },
    /// Open the inspector of a running Node process with SIGUSR1, then attach.
    Pid { pid: u32 },
}

/// The load, and where the checkpoints are.
#[derive(Clone, Debug)]
pub enum LoadPlan {
    /// The built-in HTTP/1.1 load: checkpoints by request count.
    BuiltIn {
        /// `http://127.0.0.1:{port}/quote/{i}`.
        url: String,
        method: String,
        headers: Vec<String>,
        body: Option<String>,
        concurrency: u32,
        requests: u64,
        /// Request counts with a heap snapshot (sorted, distinct, within `requests`).
        snapshots_at: Vec<u64>,
        /// Extra checkpoints without a snapshot, evenly spread (0 for none).
        samples: u32,
        /// Time one request may take.
        timeout: Duration,
    },
    /// The user's load command (run with `sh -c`): checkpoints by time since it started.
    Command {
        command: String,
        /// Waited for before the load starts (start mode), and given to the command.
        url: Option<String>,
        duration: Duration,
        snapshots_at: Vec<Duration>,
        samples: u32,
    },
}

/// Everything a capture needs.
#[derive(Clone, Debug)]
pub struct Options {
    pub out: PathBuf,
    pub target: Target,
    pub load: LoadPlan,
    pub track_allocations: bool,
}

/// A finished capture: what was measured and the files written into `out`.
#[derive(Debug)]
pub struct Outcome {
    pub capture: Capture,
    pub files: Vec<PathBuf>,
}

/// The staging folder inside the output folder; removed unless the capture completes.
struct Staging {
    dir: PathBuf,
    out: PathBuf,
    created_out: bool,
    done: bool,
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_dir_all(&self.dir);
            if self.created_out {
                // Only removes the folder if it is still empty.
                let _ = std::fs::remove_dir(&self.out);
            }
        }
    }
}

/// A checkpoint to take: at a request count (or a time, in milliseconds, with `--load`).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Planned {
    at: u64,
    snapshot: bool,
}

/// The checkpoints: one before the load, the snapshot points, and `samples` evenly spread
/// points, merged (a point in both takes a snapshot).
fn plan(total: u64, snapshots_at: &[u64], samples: u32) -> Vec<Planned> {
    let mut v: Vec<Planned> = vec![Planned {
        at: 0,
        snapshot: false,
    }];
    for k in 1..=u64::from(samples) {
        v.push(Planned {
            at: total * k / u64::from(samples),
            snapshot: false,
        });
    }
    for &s in snapshots_at {
        v.push(Planned {
            at: s,
            snapshot: true,
        });
    }
    v.sort_by_key(|p| (p.at, !p.snapshot));
    v.dedup_by(|b, a| {
        if a.at == b.at {
            a.snapshot |= b.snapshot;
            true
        } else {
            false
        }
    });
    v
}

/// The node flags memsleuth adds: the GC log and an inspector on a port node picks.
fn node_flags() -> Vec<String> {
    vec!["--trace-gc".into(), "--inspect=127.0.0.1:0".into()]
}

/// Runs a capture. On error (or Ctrl-C: [`super::Interrupted`]) the service is stopped and
/// nothing is left in `opts.out` but what was there before.
pub fn run(opts: &Options, stop: &Stop, obs: &mut dyn Observer) -> anyhow::Result<Outcome> {
    let created_out = !opts.out.exists();
    std::fs::create_dir_all(&opts.out)
        .with_context(|| format!("cannot create {}", opts.out.display()))?;
    remove_stale_staging(&opts.out);
    let staging_dir = opts
        .out
        .join(format!(".memsleuth-capture.{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging_dir);
    let mut staging = Staging {
        dir: staging_dir,
        out: opts.out.clone(),
        created_out,
        done: false,
    };
    std::fs::create_dir(&staging.dir)
        .with_context(|| format!("cannot create {}", staging.dir.display()))?;
    let mut session = Session {
        opts,
        stop,
        staging: staging.dir.clone(),
        service: None,
        load_cmd: None,
        inspector: None,
        python: None,
        notes: Vec::new(),
    };
    let mut result = session.capture(obs);
    // Stop what was started, whatever happened.
    if let Some(py) = session.python.take()
        && py.untrace
        && let Some(p) = &py.proc
        && let Err(e) = py.probe.stop_tracing(p, Duration::from_secs(10))
    {
        let msg = format!(
            "tracemalloc, started by memsleuth in pid {}, could not be stopped: {e}; the service keeps tracing until it restarts",
            p.pid
        );
        match &mut result {
            Ok(c) => c.notes.push(msg),
            Err(_) => obs.event(Event::Note(&msg)),
        }
    }
    let inspector = session.inspector.take();
    if let Some(i) = inspector {
        i.close();
    }
    let mut stop_err = None;
    if let Some(mut l) = session.load_cmd.take() {
        let _ = l.stop(Duration::from_secs(2));
    }
    let mut service_end = None;
    if let Some(mut s) = session.service.take() {
        match s.stop(Duration::from_secs(5)) {
            Ok(how) => service_end = Some((s.pid(), how)),
            Err(e) => stop_err = Some(e),
        }
    }
    let mut capture = match result {
        Ok(c) => c,
        Err(e) => {
            let what = match &service_end {
                Some((pid, _)) => format!("the service (pid {pid}) is stopped; "),
                None => String::new(),
            };
            return Err(e.context(format!(
                "capture failed: {what}nothing was written to {}",
                opts.out.display()
            )));
        }
    };
    if let Some(e) = stop_err {
        return Err(e);
    }
    capture.notes.append(&mut session.notes);
    let files = commit(&mut staging, &capture)?;
    Ok(Outcome { capture, files })
}

/// Removes staging folders that captures killed outright (SIGKILL) left behind: those
/// whose memsleuth process is gone.
fn remove_stale_staging(out: &Path) {
    let Ok(entries) = std::fs::read_dir(out) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(pid) = name
            .strip_prefix(".memsleuth-capture.")
            .and_then(|p| p.parse::<u32>().ok())
            && pid != std::process::id()
            && process::has_exited(pid) == Some(true)
        {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// What a capture holds while it runs.
struct Session<'a> {
    opts: &'a Options,
    stop: &'a Stop,
    staging: PathBuf,
    service: Option<Service>,
    load_cmd: Option<Service>,
    inspector: Option<Inspector>,
    /// A Python service: its probe instead of an inspector.
    python: Option<PySession>,
    notes: Vec<String>,
}

/// Whether a running process is a Python interpreter (its executable, else its argv[0]).
fn is_python_process(pid: u32) -> bool {
    process::exe(pid)
        .map(|e| is_python_program(&e.to_string_lossy()))
        .or_else(|| process::cmdline(pid).and_then(|c| c.first().map(|a| is_python_program(a))))
        .unwrap_or(false)
}

/// The probe of a Python service (see `crate::python::driver`): its folder and token, and
/// the process measured once chosen.
struct PySession {
    probe: ProbeDir,
    proc: Option<ProbeProcess>,
    /// Attached to a running service whose tracing memsleuth started: stop it at the end.
    untrace: bool,
}

/// Whether a program path names a Python interpreter (`python`, `python3`, `python3.11`,
/// a venv's `bin/python`).
pub fn is_python_program(program: &str) -> bool {
    let base = Path::new(program)
        .file_name()
        .map(|s| s.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let base = base.trim_end_matches(".exe");
    base.strip_prefix("python")
        .is_some_and(|v| v.chars().all(|c| c.is_ascii_digit() || c == '.'))
}

impl Session<'_> {
    fn capture(&mut self, obs: &mut dyn Observer) -> anyhow::Result<Capture> {
        let (url_template, readiness) = self.url_and_request()?;
        let (command, mode, port) = match &self.opts.target {
            Target::Start {
                command,
                start_timeout,
            } => {
                let port = self.start_service(command, url_template.as_deref(), obs)?;
                let url = url_template
                    .as_deref()
                    .map(|u| u.replace("{port}", &port.to_string()));
                self.wait_ready(url.as_deref(), readiness.as_ref(), *start_timeout, obs)?;
                (command.clone(), "start", Some(port))
            }
            Target::Inspect { address } => {
                let ws = inspector::resolve_ws_url(address, Duration::from_secs(10), self.stop)?;
                self.inspector = Some(Inspector::connect(&ws, Duration::from_secs(10))?);
                (Vec::new(), "attach", None)
            }
            Target::Pid { pid } if is_python_process(*pid) => {
                let probe = ProbeDir::of_process(*pid).ok_or_else(|| {
                    anyhow!(
                        "pid {pid} is a Python process started without memsleuth's probe: CPython before 3.14 cannot load code into a running interpreter, and tracemalloc sees only what is allocated after it starts. Start the service with `memsleuth capture -- python ...`, or start it after `eval \"$(memsleuth python --write-probe DIR)\"` (the probe's environment) and attach with --pid; `memray attach {pid}` (gdb or lldb needed) can record it from now on"
                    )
                })?;
                self.python = Some(PySession {
                    probe,
                    proc: None,
                    untrace: false,
                });
                (Vec::new(), "attach", None)
            }
            Target::Pid { pid } => {
                let ws = open_inspector_of(*pid, self.stop)?;
                self.inspector = Some(Inspector::connect(&ws, Duration::from_secs(10))?);
                (Vec::new(), "attach", None)
            }
        };
        let url = url_template
            .as_deref()
            .map(|u| u.replace("{port}", &port.map(|p| p.to_string()).unwrap_or_default()));
        let (version, pid, argv) = if self.python.is_some() {
            self.identify_python(url.as_deref(), readiness.as_ref())
        } else {
            self.identify()
        }
        .map_err(|e| self.explain_as(e, "before the load"))?;
        // In attach mode the command is what the process itself reports.
        let command = if mode == "attach" { argv } else { command };
        if let Target::Pid { pid: want } = self.opts.target
            && pid != want
        {
            bail!(
                "the inspector found for pid {want} belongs to pid {pid}; refusing to measure another process"
            );
        }
        let python = self.python.is_some();
        if python {
            let msg = format!("Python {version} probe of pid {pid}");
            obs.event(Event::Note(&msg));
        } else {
            let ws_url = self.inspector()?.url.clone();
            obs.event(Event::Attached { url: &ws_url, pid });
        }
        if mode == "attach"
            && let (Some(u), Some(req)) = (&url, &readiness)
        {
            // An attached service must answer before the load starts, too.
            self.wait_ready(Some(u), Some(req), Duration::from_secs(10), obs)?;
        }
        let stop = self.stop;
        let workers = if python {
            0
        } else {
            self.inspector()?
                .cluster_workers(stop)
                .map_err(|e| self.explain_as(e, "before the load"))?
        };
        if workers > 0 {
            let msg = format!(
                "pid {pid} is a cluster primary with {workers} worker(s): the workers handle the requests, but memsleuth measures the primary; capture a worker with --pid, or run the service without cluster"
            );
            obs.event(Event::Note(&msg));
            self.notes.push(msg);
        }
        if let Some(msg) = url.as_deref().and_then(|u| port_not_held(u, pid)) {
            obs.event(Event::Note(&msg));
            self.notes.push(msg);
        }
        if self.opts.track_allocations && python {
            let msg = "--track-allocations is for Node: the Python probe records allocation tracebacks with tracemalloc in any case";
            obs.event(Event::Note(msg));
            self.notes.push(msg.into());
        } else if self.opts.track_allocations {
            let stop = self.stop;
            self.inspector()?.track_allocations(stop)?;
        }
        // The wall clock when the load starts (the service is ready).
        let started_at = format::rfc3339_utc(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0),
        );
        let mut capture = Capture {
            schema: format::SCHEMA.into(),
            runtime: if python { "python" } else { "node" }.into(),
            runtime_version: version,
            command,
            url: url.clone(),
            method: None,
            concurrency: None,
            started_at,
            checkpoints: Vec::new(),
            bytes_per_request: None,
            latency_ms: None,
            requests_total: None,
            errors: None,
            gc_log: (mode == "start" && !python).then(|| "gc.log".to_string()),
            snapshots: Vec::new(),
            python_probe: None,
            memsleuth_version: env!("CARGO_PKG_VERSION").into(),
            mode: mode.into(),
            pid: Some(pid),
            load: None,
            track_allocations: self.opts.track_allocations && !python,
            status_counts: Default::default(),
            transport_errors: None,
            first_error: None,
            duration_s: 0.0,
            service_log: (mode == "start").then(|| "service.log".to_string()),
            leaks: None,
            notes: Vec::new(),
        };
        match &self.opts.load {
            LoadPlan::BuiltIn {
                method,
                concurrency,
                requests,
                snapshots_at,
                samples,
                timeout,
                ..
            } => {
                let url = Url::parse(url.as_deref().unwrap_or_default()).map_err(|e| anyhow!(e))?;
                let addr = url.resolve().map_err(|e| anyhow!(e))?;
                let template = readiness.clone().ok_or_else(|| anyhow!("no request"))?;
                capture.method = Some(method.to_ascii_uppercase());
                capture.concurrency = Some(*concurrency);
                capture.load = Some("built-in".into());
                let mut load = Load::new(template, addr, *concurrency, *timeout);
                let planned = plan(*requests, snapshots_at, *samples);
                self.run_builtin(&mut load, &planned, *requests, &mut capture, obs)?;
                let t = &load.tally;
                capture.requests_total = Some(load.sent);
                capture.errors = Some(t.errors());
                capture.transport_errors = Some(t.transport_errors);
                capture.first_error = t.first_error.clone();
                capture.status_counts = t.status.iter().map(|(s, n)| (s.to_string(), *n)).collect();
                capture.latency_ms = t.latency.latency();
                if t.successes() == 0 {
                    bail!(
                        "none of the {} requests succeeded ({}); check --url and --method",
                        load.sent,
                        describe_failures(t)
                    );
                }
                if t.errors() > 0 {
                    self.notes.push(format!(
                        "{} of {} requests failed ({})",
                        t.errors(),
                        load.sent,
                        describe_failures(t)
                    ));
                }
            }
            LoadPlan::Command {
                command,
                duration,
                snapshots_at,
                samples,
                ..
            } => {
                capture.load = Some(command.clone());
                let ms: Vec<u64> = snapshots_at.iter().map(|d| d.as_millis() as u64).collect();
                let total = duration.as_millis() as u64;
                let planned = plan(total, &ms, *samples);
                self.run_command(
                    command,
                    url.as_deref(),
                    port,
                    &planned,
                    total,
                    &mut capture,
                    obs,
                )?;
                // Requests counted in the service, when it could count them.
                capture.requests_total = capture.checkpoints.last().and_then(|c| c.requests);
            }
        }
        capture.bytes_per_request = stats::bytes_per_request(&capture.checkpoints);
        capture.snapshots = capture
            .checkpoints
            .iter()
            .filter_map(|c| c.snapshot.clone())
            .collect();
        capture.duration_s = capture.checkpoints.last().map_or(0.0, |c| c.seconds);
        if let Some(how) = self.service_ended() {
            bail!(
                "the service ended during the capture ({how}){}",
                self.tail()
            );
        }
        Ok(capture)
    }

    fn inspector(&mut self) -> anyhow::Result<&mut Inspector> {
        self.inspector
            .as_mut()
            .ok_or_else(|| anyhow!("not connected to an inspector"))
    }

    /// The URL template (with `{port}` still in it) and the request the load sends.
    fn url_and_request(&self) -> anyhow::Result<(Option<String>, Option<RequestTemplate>)> {
        let (url, method, headers, body) = match &self.opts.load {
            LoadPlan::BuiltIn {
                url,
                method,
                headers,
                body,
                ..
            } => (
                Some(url.clone()),
                method.as_str(),
                headers.as_slice(),
                body.as_deref(),
            ),
            LoadPlan::Command { url, .. } => (url.clone(), "GET", &[][..], None),
        };
        let url = match (url, &self.opts.target) {
            (Some(u), _) => Some(u),
            (None, Target::Start { .. }) => Some("http://127.0.0.1:{port}/".to_string()),
            (None, _) => None,
        };
        let Some(u) = url else {
            return Ok((None, None));
        };
        if !matches!(self.opts.target, Target::Start { .. }) && u.contains("{port}") {
            bail!(
                "--url {u}: {{port}} is only known when memsleuth starts the service; give the service's port"
            );
        }
        // Check the template now, with a placeholder port, so a bad URL fails before start.
        let probe = Url::parse(&u.replace("{port}", "1")).map_err(|e| anyhow!("--url {e}"))?;
        let req = RequestTemplate::new(&probe, method, headers, body).map_err(|e| anyhow!(e))?;
        Ok((Some(u), Some(req)))
    }

    /// Starts the service with the GC log and the inspector; returns the port in `PORT`.
    fn start_service(
        &mut self,
        command: &[String],
        url: Option<&str>,
        obs: &mut dyn Observer,
    ) -> anyhow::Result<u16> {
        let program = command.first().ok_or_else(|| {
            anyhow!("no command to start: give it after `--` (-- node server.js)")
        })?;
        let python = is_python_program(program);
        if !python && !process::is_node_program(program) {
            bail!(
                "`{program}` is neither node nor python: memsleuth starts the service as `node [--trace-gc --inspect] script ...` or `python script ...` (with its probe), so the command must begin with a Node.js or Python binary (for npm scripts and other launchers, start the service yourself with --inspect=127.0.0.1:0 and use --inspect HOST:PORT)"
            );
        }
        let url = url.unwrap_or("http://127.0.0.1:{port}/");
        let port = if url.contains("{port}") {
            process::free_port()?
        } else {
            let u = Url::parse(url).map_err(|e| anyhow!("--url {e}"))?;
            let addr = u.resolve().map_err(|e| anyhow!(e))?;
            // Something already answering there would get the load instead of the service.
            if std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_ok() {
                bail!(
                    "port {} of --url {url} is already in use by another process: the service could not listen there and the load would measure that other process; stop it, or put {{port}} in --url to let memsleuth pick a free port",
                    u.port
                );
            }
            u.port
        };
        let gc_log = self.staging.join("gc.log");
        let service_log = self.staging.join("service.log");
        let mut env = vec![("PORT".to_string(), port.to_string())];
        if python {
            // The probe goes first on PYTHONPATH; the service's own PYTHONPATH follows it.
            let probe = ProbeDir::create(&self.staging.join(".probe"))?;
            let theirs = std::env::var_os("PYTHONPATH");
            env.extend(probe.env(theirs.as_deref()).into_iter().map(|(k, v)| {
                (
                    k.to_string_lossy().into_owned(),
                    v.to_string_lossy().into_owned(),
                )
            }));
            self.python = Some(PySession {
                probe,
                proc: None,
                untrace: false,
            });
        }
        let spec = StartSpec {
            command,
            node_flags: if python { Vec::new() } else { node_flags() },
            env,
            gc_log: (!python).then_some(gc_log.as_path()),
            service_log: &service_log,
        };
        let service = Service::start(&spec)?;
        obs.event(Event::Started {
            pid: service.pid(),
            command,
            port: Some(port),
        });
        self.service = Some(service);
        Ok(port)
    }

    /// Waits until the inspector is up (start mode) and the URL answers anything.
    fn wait_ready(
        &mut self,
        url: Option<&str>,
        request: Option<&RequestTemplate>,
        timeout: Duration,
        obs: &mut dyn Observer,
    ) -> anyhow::Result<()> {
        let started = Instant::now();
        let target = match url {
            Some(u) => {
                let parsed = Url::parse(u).map_err(|e| anyhow!("--url {e}"))?;
                Some((parsed.resolve().map_err(|e| anyhow!(e))?, u))
            }
            None => None,
        };
        let flag = AtomicBool::new(false);
        let (mut req, mut body) = (Vec::new(), Vec::new());
        if let Some(r) = request {
            r.render(0, &mut req, &mut body);
        }
        let mut answered: Option<u16> = None;
        let mut last_error = String::from("no attempt yet");
        loop {
            self.stop.check()?;
            if let Some(how) = self.service_ended() {
                let when = if started.elapsed() < Duration::from_secs(2) {
                    "at once"
                } else {
                    "before answering"
                };
                bail!("the service exited {when} ({how}){}", self.tail());
            }
            if let Some(s) = self.service.as_mut().filter(|_| self.python.is_none()) {
                if let Some(f) = s.inspector_failure() {
                    bail!("node could not open its inspector: {f}");
                }
                if self.inspector.is_none()
                    && let Some(ws) = s.inspector_url()
                {
                    match Inspector::connect(&ws, Duration::from_secs(10)) {
                        Ok(i) => self.inspector = Some(i),
                        Err(e) => return Err(self.explain_as(e, "at once")),
                    }
                }
            }
            if answered.is_none()
                && let Some((addr, _)) = target
            {
                match http::connect(addr, Duration::from_secs(2)) {
                    Ok(mut c) => {
                        let deadline = Instant::now() + Duration::from_secs(10);
                        match c.exchange(&req, false, deadline, &flag) {
                            Ok(status) => answered = Some(status),
                            Err(e) => last_error = e.to_string(),
                        }
                    }
                    Err(e) => last_error = e.to_string(),
                }
            }
            let url_ok = target.is_none() || answered.is_some();
            // The runtime side: node's inspector, or a Python process whose probe listens.
            let runtime_ok = match &self.python {
                Some(py) => !py.probe.processes().is_empty(),
                None => self.inspector.is_some(),
            };
            if url_ok && runtime_ok {
                if let (Some((_, u)), Some(status)) = (target, answered) {
                    obs.event(Event::Ready { url: u, status });
                }
                return Ok(());
            }
            if started.elapsed() > timeout {
                let missing = match &self.python {
                    Some(py) => {
                        let errs = py.probe.errors();
                        format!(
                            "the Python probe did not start{} (`python -I` or `-E` ignore PYTHONPATH, and `-S` skips sitecustomize)",
                            if errs.is_empty() {
                                String::new()
                            } else {
                                format!(": {}", errs.join("; "))
                            }
                        )
                    }
                    None => "node did not report its inspector".to_string(),
                };
                // The URL counts as silent only when it never answered.
                let silent = target.filter(|_| answered.is_none());
                let what = match (silent, runtime_ok) {
                    (Some((_, u)), true) => format!("{u} did not answer ({last_error})"),
                    (Some((_, u)), false) => {
                        format!("{u} did not answer ({last_error}) and {missing}")
                    }
                    (None, _) => missing,
                };
                let pid = self
                    .service
                    .as_ref()
                    .map(|s| {
                        let ask = if silent.is_some() {
                            "; does it listen on the PORT it is given?"
                        } else {
                            ""
                        };
                        format!(" (the service is running, pid {}{ask})", s.pid())
                    })
                    .unwrap_or_default();
                let tail = self
                    .service
                    .as_ref()
                    .map(|s| s.tail_text())
                    .unwrap_or_default();
                bail!("{what} within {} s{pid}{tail}", timeout.as_secs());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The runtime's version, the pid and the command line (node, its flags, the script
    /// and its arguments) of the process behind the inspector, as the process reports them.
    fn identify(&mut self) -> anyhow::Result<(String, u32, Vec<String>)> {
        let stop = self.stop;
        let i = self.inspector()?;
        let v = i.evaluate(
            "typeof process === 'object' ? [process.version, process.pid, [process.argv[0], ...process.execArgv, ...process.argv.slice(1)]] : null",
            stop,
        )?;
        let version = v.get(0).and_then(|x| x.as_str()).map(str::to_string);
        let pid = v
            .get(1)
            .and_then(|x| x.as_u64())
            .and_then(|p| u32::try_from(p).ok());
        let argv = v
            .get(2)
            .and_then(|a| a.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        match (version, pid) {
            (Some(v), Some(p)) => Ok((v, p, argv)),
            _ => bail!(
                "the inspector at {} is not a Node.js process (no `process` object); memsleuth captures Node services",
                i.url
            ),
        }
    }

    /// The Python process to measure, its version and command line: among the processes
    /// whose probe listens (a reloader and its child, a pre-fork master and its workers, a
    /// multiprocessing pool), the one holding a connection memsleuth opens to the URL; then
    /// its tracemalloc is started (the probe leaves it off while the service starts up).
    fn identify_python(
        &mut self,
        url: Option<&str>,
        request: Option<&RequestTemplate>,
    ) -> anyhow::Result<(String, u32, Vec<String>)> {
        let want = match self.opts.target {
            Target::Pid { pid } => Some(pid as u64),
            _ => None,
        };
        let stop = self.stop;
        let Some(py) = self.python.as_ref() else {
            bail!("no Python probe");
        };
        let procs = py
            .probe
            .wait(Duration::from_secs(10), &mut || stop.check().is_ok())?;
        let chosen = match want {
            Some(pid) => procs.iter().find(|p| p.pid == pid).cloned().ok_or_else(|| {
                anyhow!(
                    "pid {pid} was started with memsleuth's probe environment, but its probe does not answer (its folder {} lists {:?})",
                    py.probe.dir.display(),
                    procs.iter().map(|p| p.pid).collect::<Vec<_>>()
                )
            })?,
            None => {
                // A kept-alive connection tells which process accepts the load's requests.
                let mut serving = None;
                if let (Some(u), Some(r)) = (url, request)
                    && let Ok(parsed) = Url::parse(u)
                    && let Ok(addr) = parsed.resolve()
                    && let Ok(mut c) = http::connect(addr, Duration::from_secs(2))
                {
                    let (mut req, mut body) = (Vec::new(), Vec::new());
                    r.render(0, &mut req, &mut body);
                    req.extend_from_slice(&body);
                    let flag = AtomicBool::new(false);
                    let deadline = Instant::now() + Duration::from_secs(10);
                    if c.exchange(&req, false, deadline, &flag).is_ok() {
                        // The probe of a just-forked worker may still be starting.
                        let procs = py.probe.processes();
                        serving = ProbeDir::serving(&procs, addr.port()).cloned();
                    }
                }
                match serving.or_else(|| ProbeDir::main_process(&procs).cloned()) {
                    Some(p) => p,
                    None => bail!("no Python process started the probe"),
                }
            }
        };
        let (version, traced_before) = py.probe.ping(&chosen, Duration::from_secs(10))?;
        let tracing = py.probe.start_tracing(&chosen, Duration::from_secs(60))?;
        let untrace = want.is_some() && tracing && !traced_before;
        if !tracing {
            self.notes.push(
                "tracemalloc is off in the service (MEMSLEUTH_PROBE_TRACEMALLOC=0): no allocation lines or tracebacks".into(),
            );
        }
        let others = procs.len().saturating_sub(1);
        if others > 0 {
            self.notes.push(format!(
                "{} other Python process(es) of the service run the probe (workers, a reloader or a pool); measured: pid {}, the one that accepted a request",
                others, chosen.pid
            ));
        }
        let pid =
            u32::try_from(chosen.pid).map_err(|_| anyhow!("pid {} out of range", chosen.pid))?;
        let argv = chosen.argv.clone();
        if let Some(py) = self.python.as_mut() {
            py.proc = Some(chosen);
            py.untrace = untrace;
        }
        Ok((version, pid, argv))
    }

    /// One checkpoint: forced GC, heap usage, `process.memoryUsage()`, maybe a snapshot.
    fn checkpoint(
        &mut self,
        requests: Option<u64>,
        seconds: f64,
        snapshot_index: Option<usize>,
        obs: &mut dyn Observer,
    ) -> anyhow::Result<Checkpoint> {
        if self.python.is_some() {
            return self.checkpoint_python(requests, seconds);
        }
        let stop = self.stop;
        let staging = self.staging.clone();
        let i = self.inspector()?;
        let t0 = Instant::now();
        i.collect_garbage(stop)?;
        let gc_ms = t0.elapsed().as_secs_f64() * 1000.0;
        let (used, total) = i.heap_usage(stop)?;
        let mu = i.memory_usage(stop)?;
        let mut cp = Checkpoint {
            requests,
            seconds,
            heap_used_bytes: used,
            heap_total_bytes: total,
            rss_bytes: mu.rss,
            external_bytes: mu.external,
            snapshot: None,
            array_buffers_bytes: mu.array_buffers,
            snapshot_bytes: None,
            gc_ms,
            snapshot_ms: None,
            pause_ms: 0.0,
            probe: None,
        };
        if let Some(k) = snapshot_index {
            let name = format!("s{k}.heapsnapshot");
            let t1 = Instant::now();
            let bytes = write_snapshot(i, &staging.join(&name), &name, stop, obs)?;
            cp.snapshot_ms = Some(t1.elapsed().as_secs_f64() * 1000.0);
            cp.snapshot_bytes = Some(bytes);
            cp.snapshot = Some(name);
        }
        cp.pause_ms = t0.elapsed().as_secs_f64() * 1000.0;
        Ok(cp)
    }

    /// A Python checkpoint: the probe collects garbage and writes `probe-K.json` (at every
    /// checkpoint: it is small); the memory figures are the traced bytes and the RSS it
    /// measured.
    fn checkpoint_python(
        &mut self,
        requests: Option<u64>,
        seconds: f64,
    ) -> anyhow::Result<Checkpoint> {
        let Some(py) = self.python.as_ref() else {
            bail!("no Python probe");
        };
        let Some(proc) = py.proc.as_ref() else {
            bail!("no Python process chosen");
        };
        let k = std::fs::read_dir(&self.staging)
            .map(|d| {
                d.flatten()
                    .filter(|e| e.file_name().to_string_lossy().starts_with("probe-"))
                    .count()
            })
            .unwrap_or(0);
        let name = format!("probe-{k}.json");
        let path = self.staging.join(&name);
        let t0 = Instant::now();
        py.probe.checkpoint(
            proc,
            &path,
            &format!("checkpoint {k}"),
            Duration::from_secs(600),
        )?;
        let pause_ms = t0.elapsed().as_secs_f64() * 1000.0;
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let cp = crate::python::probe::parse(&name, &text)?;
        let traced = cp.tracemalloc.as_ref().map_or(0, |t| t.traced_bytes);
        Ok(Checkpoint {
            requests,
            seconds,
            heap_used_bytes: traced,
            heap_total_bytes: traced,
            rss_bytes: cp.process.rss_bytes.unwrap_or(0),
            external_bytes: 0,
            snapshot: None,
            array_buffers_bytes: None,
            snapshot_bytes: None,
            gc_ms: 0.0,
            snapshot_ms: None,
            pause_ms,
            probe: Some(name),
        })
    }

    /// Serves the inspector for about 100 ms and checks that the service is still there.
    fn tick(&mut self) -> anyhow::Result<()> {
        let stop = self.stop;
        if self.python.is_some() {
            // Nothing to serve: the probe answers on its own thread.
            std::thread::sleep(Duration::from_millis(100));
            stop.check()?;
            if let Some(how) = self.service_ended() {
                bail!("the service exited during the load ({how}){}", self.tail());
            }
            return Ok(());
        }
        let idle = self.inspector()?.idle(Duration::from_millis(100), stop);
        // A service that exits says so better than the broken inspector connection.
        if let Some(how) = self.service_ended() {
            bail!("the service exited during the load ({how}){}", self.tail());
        }
        idle
    }

    /// How the started service ended, once it has. Node does not exit while a debugger is
    /// attached ("Waiting for the debugger to disconnect..."): then the inspector session
    /// is closed so that it can, and its exit status is awaited briefly.
    fn service_ended(&mut self) -> Option<String> {
        let tracking = self.opts.track_allocations && self.python.is_none();
        let s = self.service.as_mut()?;
        if let Some(how) = s.exited() {
            // A crash (SIGSEGV 11, SIGABRT 6) while V8 tracks allocations is V8's own: on
            // Node 20 it happens in some runs (4 of 20 measured when tracking is started over
            // the inspector; none of 12 on Node 22).
            if tracking && (how.ends_with("signal 11") || how.ends_with("signal 6")) {
                return Some(format!(
                    "{how}: Node crashed while V8 tracked allocations (--track-allocations), a V8 fault seen in some runs on Node 20; run the capture again, use a newer Node, or capture without --track-allocations"
                ));
            }
            return Some(how);
        }
        if !s.waiting_for_debugger() {
            return None;
        }
        if let Some(i) = self.inspector.take() {
            i.close();
        }
        let s = self.service.as_mut()?;
        let end = Instant::now() + Duration::from_secs(3);
        while Instant::now() < end {
            if let Some(how) = s.exited() {
                return Some(how);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Some("it called exit and waited for the debugger".into())
    }

    /// An error of the inspector, or the service's end when that is what caused it.
    fn explain(&mut self, e: anyhow::Error) -> anyhow::Error {
        self.explain_as(e, "during a checkpoint")
    }

    /// [`Session::explain`] with the moment named. The service may still be on its way
    /// out when the inspector fails: it gets a second to finish exiting.
    fn explain_as(&mut self, e: anyhow::Error, when: &str) -> anyhow::Error {
        if e.downcast_ref::<super::Interrupted>().is_some() || self.service.is_none() {
            return e;
        }
        let end = Instant::now() + Duration::from_secs(1);
        loop {
            if let Some(how) = self.service_ended() {
                return anyhow!("the service exited {when} ({how}){}", self.tail());
            }
            if Instant::now() >= end {
                return e;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The service's last output, for error messages.
    fn tail(&self) -> String {
        self.service
            .as_ref()
            .map(|s| s.tail_text())
            .unwrap_or_default()
    }

    fn run_builtin(
        &mut self,
        load: &mut Load,
        planned: &[Planned],
        total: u64,
        capture: &mut Capture,
        obs: &mut dyn Observer,
    ) -> anyhow::Result<()> {
        let load_start = Instant::now();
        let mut snap_k = 0;
        for (index, p) in planned.iter().enumerate() {
            {
                let mut tick = |done: u64, failing: u64| -> anyhow::Result<()> {
                    obs.event(Event::Progress { done, total });
                    self.tick()?;
                    if failing >= 200 {
                        bail!(
                            "the service stopped answering: the last {failing} requests got no answer"
                        );
                    }
                    Ok(())
                };
                load.run_to(p.at, &mut tick)
                    .map_err(|e| match &load.tally.first_error {
                        Some(first)
                            if e.to_string().starts_with("the service stopped answering") =>
                        {
                            anyhow!("{e} (first error: {first})")
                        }
                        _ => e,
                    })?;
            }
            obs.event(Event::Progress {
                done: load.sent,
                total,
            });
            let snap = p.snapshot.then(|| {
                snap_k += 1;
                snap_k
            });
            // The first checkpoint is the baseline, before any load.
            let seconds = if index == 0 {
                0.0
            } else {
                load_start.elapsed().as_secs_f64()
            };
            let cp = self
                .checkpoint(Some(load.sent), seconds, snap, obs)
                .map_err(|e| self.explain(e))?;
            obs.event(Event::Checkpoint {
                index,
                count: planned.len(),
                checkpoint: &cp,
            });
            capture.checkpoints.push(cp);
            load.reconnect();
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn run_command(
        &mut self,
        command: &str,
        url: Option<&str>,
        port: Option<u16>,
        planned: &[Planned],
        total_ms: u64,
        capture: &mut Capture,
        obs: &mut dyn Observer,
    ) -> anyhow::Result<()> {
        let port_s = port.map(|p| p.to_string()).unwrap_or_default();
        let cmd = command
            .replace("{port}", &port_s)
            .replace("{url}", url.unwrap_or_default());
        let log = self.staging.join("load.log");
        let mut env = Vec::new();
        if let Some(u) = url {
            env.push(("URL".to_string(), u.to_string()));
        }
        if port.is_some() {
            env.push(("PORT".to_string(), port_s.clone()));
        }
        let argv = vec!["sh".to_string(), "-c".to_string(), cmd];
        let spec = StartSpec {
            command: &argv,
            node_flags: Vec::new(),
            env,
            gc_log: None,
            service_log: &log,
        };
        let stop = self.stop;
        let counting = if self.python.is_some() {
            let msg = "requests are not counted in a Python service under --load; growth per request is unknown (the built-in load counts them)";
            obs.event(Event::Note(msg));
            self.notes.push(msg.into());
            false
        } else {
            let counting = self.inspector()?.count_requests(stop)?;
            if !counting {
                let msg = "requests are not counted: this Node has no http.server.request.start diagnostics channel (Node 16.17+/18.7+); growth per request is unknown";
                obs.event(Event::Note(msg));
                self.notes.push(msg.into());
            }
            counting
        };
        let mut snap_k = 0;
        let mut load_ended: Option<String> = None;
        let mut load_start = Instant::now();
        // Checkpoints are placed on the time the load ran, not counting the pauses for
        // earlier checkpoints: a snapshot freezes the service, and the next interval must
        // still have its full share of load.
        let mut paused = Duration::ZERO;
        let ran = |start: Instant, paused: Duration| start.elapsed().saturating_sub(paused);
        for (index, p) in planned.iter().enumerate() {
            if index == 1 {
                // The baseline (index 0) is taken before the load command starts.
                self.load_cmd = Some(Service::start(&spec)?);
                load_start = Instant::now();
            }
            while load_ended.is_none() && (ran(load_start, paused).as_millis() as u64) < p.at {
                if index > 0 {
                    obs.event(Event::Progress {
                        done: ran(load_start, paused).as_secs(),
                        total: total_ms / 1000,
                    });
                }
                self.tick()?;
                if let Some(l) = self.load_cmd.as_mut()
                    && let Some(how) = l.exited()
                {
                    if how != "exit status 0" {
                        bail!("the load command failed ({how}){}", l.tail_text());
                    }
                    let msg = format!(
                        "the load command ended after {:.1} s of load, before the checkpoint at {:.1} s; the capture ends there",
                        ran(load_start, paused).as_secs_f64(),
                        p.at as f64 / 1000.0
                    );
                    obs.event(Event::Note(&msg));
                    self.notes.push(msg);
                    load_ended = Some(how);
                }
            }
            let last = load_ended.is_some() || index + 1 == planned.len();
            let snap = (p.snapshot || (last && load_ended.is_some())).then(|| {
                snap_k += 1;
                snap_k
            });
            let seconds = if index == 0 {
                0.0
            } else {
                load_start.elapsed().as_secs_f64()
            };
            let requests = if counting {
                self.inspector()?
                    .requests_counted(stop)
                    .map_err(|e| self.explain(e))?
            } else {
                None
            };
            let cp = self
                .checkpoint(requests, seconds, snap, obs)
                .map_err(|e| self.explain(e))?;
            if index > 0 {
                paused += Duration::from_secs_f64(cp.pause_ms / 1000.0);
            }
            obs.event(Event::Checkpoint {
                index,
                count: planned.len(),
                checkpoint: &cp,
            });
            capture.checkpoints.push(cp);
            if load_ended.is_some() {
                break;
            }
        }
        if snap_k < 2 {
            bail!(
                "the load command ended before the second snapshot: fewer than two snapshots to compare; make the load run at least as long as --duration"
            );
        }
        if let Some(mut l) = self.load_cmd.take() {
            l.stop(Duration::from_secs(2))?;
        }
        Ok(())
    }
}

/// A warning when the load's URL is on this machine but its port is not one the measured
/// process listens on: the load may be reaching another process (a proxy is fine, a
/// cluster worker or a different service is not what is measured). `None` when `/proc`
/// cannot tell.
fn port_not_held(url: &str, pid: u32) -> Option<String> {
    let u = Url::parse(url).ok()?;
    let addr = u.resolve().ok()?;
    if !addr.ip().is_loopback() {
        return None;
    }
    let held = process::listening_addrs(pid);
    if held.is_empty() || held.iter().any(|a| a.port() == u.port) {
        return None;
    }
    let ports: Vec<String> = held.iter().map(|a| a.port().to_string()).collect();
    Some(format!(
        "the measured process (pid {pid}) does not listen on port {} of the URL (it listens on {}): the load may reach another process (a proxy, a cluster worker) than the one measured",
        u.port,
        ports.join(", ")
    ))
}

fn describe_failures(t: &super::load::Tally) -> String {
    let mut parts: Vec<String> = t
        .status
        .iter()
        .filter(|(s, _)| **s >= 400)
        .map(|(s, n)| format!("HTTP {s}: {n}"))
        .collect();
    if t.transport_errors > 0 {
        parts.push(format!(
            "no answer: {}{}",
            t.transport_errors,
            t.first_error
                .as_ref()
                .map(|e| format!(", first: {e}"))
                .unwrap_or_default()
        ));
    }
    if parts.is_empty() {
        "none".into()
    } else {
        parts.join("; ")
    }
}

/// Streams a snapshot into `path` through a `.part` file renamed when complete.
fn write_snapshot(
    i: &mut Inspector,
    path: &Path,
    name: &str,
    stop: &Stop,
    obs: &mut dyn Observer,
) -> anyhow::Result<u64> {
    use std::io::Write;
    let part = path.with_extension("heapsnapshot.part");
    let result = (|| -> anyhow::Result<u64> {
        let f = std::fs::File::create(&part)
            .with_context(|| format!("cannot create {}", part.display()))?;
        let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
        let mut last_report = 0u64;
        let mut progress = |n: u64| {
            if n - last_report >= 8 << 20 {
                last_report = n;
                obs.event(Event::Snapshot { name, bytes: n });
            }
        };
        let bytes = i.take_snapshot(&mut w, &mut progress, stop)?;
        w.flush()
            .with_context(|| format!("cannot write {}", part.display()))?;
        let f = w.into_inner().map_err(|e| e.into_error())?;
        f.sync_all()
            .with_context(|| format!("cannot write {}", part.display()))?;
        std::fs::rename(&part, path).with_context(|| format!("cannot write {}", path.display()))?;
        Ok(bytes)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&part);
    }
    result
}

/// Finds or opens the inspector of a running Node process and returns its WebSocket URL.
///
/// If the process already listens with an inspector, that one is used. Otherwise SIGUSR1
/// makes Node open it on the port it was configured with (`--inspect-port`, 9229 by
/// default); a port held by another process is refused before the signal is sent.
pub fn open_inspector_of(pid: u32, stop: &Stop) -> anyhow::Result<String> {
    let Some(exe) = process::exe(pid) else {
        bail!(
            "no process with pid {pid} (or not one of this user's: its /proc entry cannot be read)"
        );
    };
    let argv = process::cmdline(pid).unwrap_or_default();
    let node = process::is_node_program(&exe.to_string_lossy())
        || argv.first().is_some_and(|a| process::is_node_program(a));
    if !node {
        bail!(
            "pid {pid} is `{}`, not Node.js: SIGUSR1 would stop it rather than open an inspector",
            exe.display()
        );
    }
    let find = |stop: &Stop| -> anyhow::Result<Option<String>> {
        for addr in process::listening_addrs(pid) {
            stop.check()?;
            let host = if addr.ip().is_unspecified() {
                "127.0.0.1".to_string()
            } else {
                addr.ip().to_string()
            };
            let address = if addr.is_ipv6() && !addr.ip().is_unspecified() {
                format!("[{host}]:{}", addr.port())
            } else {
                format!("{host}:{}", addr.port())
            };
            // A busy process answers its inspector's HTTP endpoint late: allow it time.
            if let Ok(ws) = inspector::resolve_ws_url(&address, Duration::from_millis(1500), stop) {
                return Ok(Some(ws));
            }
        }
        Ok(None)
    };
    if let Some(ws) = find(stop)? {
        return Ok(ws);
    }
    let port = inspect_port_of(&argv, pid);
    if port != 0 {
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        if std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_ok() {
            bail!(
                "port {port}, where pid {pid} would open its inspector on SIGUSR1, is already in use by another process; stop that process, or restart pid {pid} with --inspect=127.0.0.1:0 and use --inspect HOST:PORT"
            );
        }
    }
    if !process::send_signal(pid, "USR1", false) {
        bail!("cannot send SIGUSR1 to pid {pid}");
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        stop.check()?;
        if let Some(ws) = find(stop)? {
            return Ok(ws);
        }
        if process::has_exited(pid) == Some(true) {
            bail!("pid {pid} exited after SIGUSR1 (was it started with --disable-sigusr1?)");
        }
        if Instant::now() > deadline {
            bail!(
                "pid {pid} did not open its inspector within 30 s after SIGUSR1 (port {} taken, or started with --disable-sigusr1? see the process's stderr)",
                if port == 0 {
                    "chosen by node".to_string()
                } else {
                    port.to_string()
                }
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The inspector port a Node process was configured with: `--inspect-port=N`,
/// `--inspect[-brk]=[HOST:]N`, `--debug-port=N` on its command line or in its
/// `NODE_OPTIONS`; 9229 when none.
fn inspect_port_of(argv: &[String], pid: u32) -> u16 {
    let mut args: Vec<String> = argv.iter().skip(1).cloned().collect();
    if let Ok(env) = std::fs::read(format!("/proc/{pid}/environ")) {
        for var in env.split(|&b| b == 0) {
            if let Some(v) = var.strip_prefix(b"NODE_OPTIONS=") {
                args.extend(
                    String::from_utf8_lossy(v)
                        .split_whitespace()
                        .map(str::to_string),
                );
            }
        }
    }
    let mut port = 9229;
    for a in &args {
        for flag in [
            "--inspect-port=",
            "--debug-port=",
            "--inspect=",
            "--inspect-brk=",
        ] {
            if let Some(v) = a.strip_prefix(flag) {
                let p = v.rsplit(':').next().unwrap_or(v);
                if let Ok(n) = p.parse::<u16>() {
                    port = n;
                }
            }
        }
    }
    port
}

/// Moves the finished capture from the staging folder into the output folder: first the
/// files of a previous capture there are removed (those its `capture.json` lists, and the
/// report files), then the new files are renamed in, `capture.json` last.
fn commit(staging: &mut Staging, capture: &Capture) -> anyhow::Result<Vec<PathBuf>> {
    let out = staging.out.clone();
    let old = out.join("capture.json");
    if let Ok(bytes) = std::fs::read(&old)
        && let Ok(prev) = format::parse(&old.to_string_lossy(), &bytes)
    {
        let mut names: Vec<String> = prev.snapshots.clone();
        names.extend(prev.checkpoints.iter().filter_map(|c| c.probe.clone()));
        names.extend(prev.python_probe.clone());
        names.extend(prev.gc_log.clone());
        names.extend(prev.service_log.clone());
        names.extend(prev.leaks.clone());
        names.push("load.log".into());
        names.extend(REPORT_FILES.iter().map(|s| s.to_string()));
        for n in names {
            if is_plain_name(&n) {
                let _ = std::fs::remove_file(out.join(n));
            }
        }
    }
    let mut names: Vec<String> = capture.snapshots.clone();
    names.extend(capture.checkpoints.iter().filter_map(|c| c.probe.clone()));
    names.extend(capture.gc_log.clone());
    names.extend(capture.service_log.clone());
    if staging.dir.join("load.log").exists() {
        names.push("load.log".into());
    }
    let mut files = Vec::new();
    for n in &names {
        let from = staging.dir.join(n);
        if !from.exists() {
            continue;
        }
        let to = out.join(n);
        std::fs::rename(&from, &to).with_context(|| format!("cannot write {}", to.display()))?;
        files.push(to);
    }
    let path = out.join("capture.json");
    write_capture(&path, capture)?;
    files.push(path);
    staging.done = true;
    let _ = std::fs::remove_dir_all(&staging.dir);
    Ok(files)
}

/// The report files `memsleuth capture` writes beside the capture.
pub const REPORT_FILES: &[&str] = &[
    "report.md",
    "report.html",
    "report.json",
    "alerts.rules.yml",
    "grafana-dashboard.json",
];

/// A file name without any folder part (names from a `capture.json` are trusted only so far).
pub fn is_plain_name(n: &str) -> bool {
    !n.is_empty() && n != "." && n != ".." && !n.contains(['/', '\\']) && !n.starts_with('.')
}

/// Writes `capture.json` atomically.
pub fn write_capture(path: &Path, capture: &Capture) -> anyhow::Result<()> {
    crate::input::write_atomic(path, |w| {
        serde_json::to_writer_pretty(&mut *w, capture).map_err(std::io::Error::other)?;
        w.write_all(b"\n")
    })
}

/// Reads `DIR/capture.json`.
pub fn read_capture(dir: &Path) -> anyhow::Result<Capture> {
    let path = dir.join("capture.json");
    let name = path.to_string_lossy().into_owned();
    let bytes = std::fs::read(&path).map_err(|e| {
        anyhow!(
            "{name}: cannot read: {e} (is {} a capture folder?)",
            dir.display()
        )
    })?;
    Ok(format::parse(&name, &bytes)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_merges_samples_and_snapshots() {
        let p = plan(3000, &[300, 1500, 3000], 10);
        let at: Vec<u64> = p.iter().map(|p| p.at).collect();
        assert_eq!(
            at,
            vec![0, 300, 600, 900, 1200, 1500, 1800, 2100, 2400, 2700, 3000]
        );
        let snaps: Vec<u64> = p.iter().filter(|p| p.snapshot).map(|p| p.at).collect();
        assert_eq!(snaps, vec![300, 1500, 3000]);
        let p = plan(100, &[10, 55, 100], 0);
        assert_eq!(p.len(), 4);
    }

    #[test]
    fn inspect_ports_from_the_command_line() {
        let a = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(inspect_port_of(&a(&["node", "s.js"]), 0), 9229);
        assert_eq!(
            inspect_port_of(&a(&["node", "--inspect-port=0", "s.js"]), 0),
            0
        );
        assert_eq!(
            inspect_port_of(&a(&["node", "--inspect=127.0.0.1:9333", "s.js"]), 0),
            9333
        );
    }

    #[test]
    fn names_from_capture_json_stay_inside_the_folder() {
        assert!(is_plain_name("s1.heapsnapshot"));
        for bad in ["", "..", "../x", "/etc/passwd", "a/b", ".hidden"] {
            assert!(!is_plain_name(bad), "{bad}");
        }
    }
}
