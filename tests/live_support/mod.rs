//! Helpers shared by the `live_*` tests: the test services, running `memsleuth capture` and
//! `verify`, process checks, and guards that stop what a test started even when it fails.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `tests/services/<name>/server.js`.
pub fn service(name: &str) -> PathBuf {
    let dir = repo().join("tests/services").join(name);
    if name == "express" {
        assert!(
            dir.join("node_modules/express").exists(),
            "tests/services/express/node_modules is missing: run scripts/setup.sh"
        );
    }
    dir.join("server.js")
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_memsleuth")
}

/// Runs `memsleuth ARGS`.
pub fn memsleuth(args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run memsleuth")
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `memsleuth capture --out DIR --requests N --url URL [EXTRA...] -- node SERVICE BUILD`,
/// asserting exit code `want`.
pub fn capture(
    dir: &Path,
    svc: &str,
    build: &str,
    url_path: &str,
    extra: &[&str],
    want: i32,
) -> Output {
    let url = format!("http://127.0.0.1:{{port}}{url_path}");
    let script = service(svc);
    let mut args = vec![
        "capture",
        "--out",
        dir.to_str().unwrap(),
        "--requests",
        "3000",
        "--url",
        &url,
    ];
    args.extend_from_slice(extra);
    args.extend(["--", "node", script.to_str().unwrap(), build]);
    let out = memsleuth(&args);
    assert_eq!(
        out.status.code(),
        Some(want),
        "memsleuth {args:?}\nstdout:\n{}\nstderr:\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    out
}

pub fn read_json(p: &Path) -> serde_json::Value {
    let bytes = std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The pid memsleuth printed when it started the service (`started `...` (pid N`).
pub fn started_pid(stderr: &str) -> Option<u32> {
    let k = stderr.find("(pid ")?;
    stderr[k + 5..]
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

/// Whether a process exists and is not a zombie.
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => !matches!(
            s.rsplit_once(')')
                .and_then(|(_, r)| r.trim_start().chars().next()),
            Some('Z' | 'X')
        ),
        Err(_) => false,
    }
}

/// Waits up to `t` for `pid` to be gone.
pub fn gone_within(pid: u32, t: Duration) -> bool {
    let end = Instant::now() + t;
    while Instant::now() < end {
        if !alive(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    !alive(pid)
}

pub fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status();
}

/// Kills (SIGKILL) and reaps a child when dropped.
pub struct Guard(pub Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts `node ARGS` with PORT set; returns the guard and its stderr lines as they come.
pub fn start_node(args: &[&str], port: u16) -> (Guard, std::sync::mpsc::Receiver<String>) {
    let mut child = Command::new("node")
        .args(args)
        .env("PORT", port.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start node");
    let err = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (Guard(child), rx)
}

/// Waits for a line satisfying `f` on a line channel.
pub fn wait_line(
    rx: &std::sync::mpsc::Receiver<String>,
    t: Duration,
    f: impl Fn(&str) -> bool,
) -> String {
    let end = Instant::now() + t;
    let mut seen = Vec::new();
    while Instant::now() < end {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(l) if f(&l) => return l,
            Ok(l) => seen.push(l),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(_) => break,
        }
    }
    panic!("no expected line within {t:?}; saw: {seen:?}");
}

/// Waits until `127.0.0.1:port` accepts connections.
pub fn wait_listening(port: u16, t: Duration) {
    let end = Instant::now() + t;
    while Instant::now() < end {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("nothing listens on 127.0.0.1:{port} after {t:?}");
}

/// Entries of a folder (names), sorted; empty when it does not exist.
pub fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|r| {
            r.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// The findings of a capture's `leaks.json`.
pub fn findings(dir: &Path) -> Vec<serde_json::Value> {
    read_json(&dir.join("leaks.json"))["findings"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// One line per finding, for failure messages.
pub fn describe(findings: &[serde_json::Value]) -> String {
    findings
        .iter()
        .map(|f| {
            format!(
                "{} × {} ({}) at {}:{} path {}",
                f["count"],
                f["class"],
                f["pattern"],
                f["location"]["file"],
                f["location"]["line"],
                f["retainer_path"]
                    .as_array()
                    .map(|p| p
                        .iter()
                        .map(|s| format!(
                            "{}.{}",
                            s["holder"].as_str().unwrap_or("?"),
                            s["edge"].as_str().unwrap_or("?")
                        ))
                        .collect::<Vec<_>>()
                        .join(" -> "))
                    .unwrap_or_default()
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The 1-based number of the line of `file` that contains `needle` (exactly one must).
pub fn line_of(file: &Path, needle: &str) -> u64 {
    let text = std::fs::read_to_string(file).unwrap();
    let hits: Vec<u64> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains(needle))
        .map(|(i, _)| i as u64 + 1)
        .collect();
    assert_eq!(hits.len(), 1, "{needle:?} in {}: {hits:?}", file.display());
    hits[0]
}
