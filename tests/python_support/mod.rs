//! Helpers of the Python service tests: the venv, a service started with memsleuth's probe
//! (stopped on drop, also when a test fails), a small HTTP client over loopback, and the
//! checkpoint loop that stands in for `capture` until it drives Python itself.
#![allow(dead_code)]

use memsleuth::python::driver::{ProbeDir, ProbeProcess};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The venv made by scripts/setup.sh.
pub fn venv() -> PathBuf {
    let v = std::env::var_os("MEMSLEUTH_PYVENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target/pyvenv"));
    assert!(
        v.join("bin/python").exists(),
        "no venv at {} (run scripts/setup.sh or set MEMSLEUTH_PYVENV)",
        v.display()
    );
    v
}

pub fn python() -> PathBuf {
    venv().join("bin/python")
}

pub fn service(name: &str) -> PathBuf {
    repo().join("tests/pyservices").join(name)
}

/// A free loopback port (bound, then released for the service).
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// One GET over a fresh connection; returns the status code.
pub fn get(port: u16, path: &str) -> std::io::Result<u16> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(60)))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf)?;
    let head = String::from_utf8_lossy(&buf[..buf.len().min(64)]).into_owned();
    head.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad response {head:?}")))
}

/// A service started with the probe; killed on drop.
pub struct Service {
    pub child: Child,
    pub port: u16,
    pub probe: ProbeDir,
    pub dir: tempfile::TempDir,
    pub proc: ProbeProcess,
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `python ARGS` in `cwd` with PORT, the given environment and the probe; waits for
/// `/health` and for the probe.
pub fn start(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Service {
    let dir = tempfile::tempdir().unwrap();
    let probe = ProbeDir::create(&dir.path().join("probe")).unwrap();
    let port = free_port();
    let mut cmd = Command::new(python());
    cmd.args(args)
        .current_dir(cwd)
        .env("PORT", port.to_string())
        .env("MAX_SECONDS", "900")
        .env("DATA_DIR", dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (k, v) in probe.env(None) {
        cmd.env(k, v);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = cmd.spawn().unwrap();
    let mut svc = Service {
        child,
        port,
        probe,
        dir,
        proc: ProbeProcess {
            pid: 0,
            ppid: 0,
            port: 0,
            argv: Vec::new(),
        },
    };
    let start = Instant::now();
    while get(port, "/health").is_err() {
        assert!(
            svc.child.try_wait().unwrap().is_none(),
            "service {args:?} exited before answering"
        );
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no answer on /health"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let procs = svc
        .probe
        .wait(Duration::from_secs(30), &mut || true)
        .unwrap();
    svc.proc = ProbeDir::main_process(&procs).unwrap().clone();
    assert!(
        svc.probe
            .start_tracing(&svc.proc, Duration::from_secs(60))
            .unwrap(),
        "tracemalloc did not start"
    );
    svc
}

impl Service {
    /// Sends `n` requests to `route/{i}` starting at `*i`.
    pub fn load(&self, route: &str, n: u64, i: &mut u64) {
        for _ in 0..n {
            let code = get(self.port, &format!("/{route}/{i}")).unwrap();
            assert_eq!(code, 200, "/{route}/{i}");
            *i += 1;
        }
    }

    /// Writes checkpoint `k` and returns its path.
    pub fn checkpoint(&self, k: usize) -> PathBuf {
        let out = self.dir.path().join(format!("cp-{k}.json"));
        self.probe
            .checkpoint(
                &self.proc,
                &out,
                &format!("cp{k}"),
                Duration::from_secs(300),
            )
            .unwrap();
        out
    }
}

/// Warm-up, then `intervals` rounds of load, each followed by a checkpoint; returns the
/// checkpoint files and the request counts at each.
pub fn checkpoints(
    svc: &Service,
    route: &str,
    per: u64,
    intervals: usize,
) -> (Vec<PathBuf>, Vec<u64>) {
    let mut i = 0;
    svc.load(route, 10, &mut i);
    let mut files = vec![svc.checkpoint(0)];
    let mut reqs = vec![i];
    for k in 1..=intervals {
        svc.load(route, per, &mut i);
        files.push(svc.checkpoint(k));
        reqs.push(i);
    }
    (files, reqs)
}

/// `memsleuth python FILES --requests R --format json`.
pub fn analyze(files: &[PathBuf], reqs: &[u64]) -> serde_json::Value {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_memsleuth"));
    cmd.arg("python");
    for f in files {
        cmd.arg(f);
    }
    let r: Vec<String> = reqs.iter().map(|r| r.to_string()).collect();
    cmd.args(["--requests", &r.join(","), "--format", "json"]);
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "memsleuth python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// 1-based number of the first line of `file` containing `needle` (the tests find lines by
/// their code, not by number, so editing a service does not break them silently).
pub fn line_of(file: &Path, needle: &str) -> u64 {
    let text = std::fs::read_to_string(file).unwrap();
    text.lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle:?} not in {}", file.display())) as u64
        + 1
}
