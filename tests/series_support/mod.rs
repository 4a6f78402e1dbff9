//! Helpers shared by the `series_*` integration tests: running the binary, finding programs,
//! killing child processes on drop.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(name: &str) -> PathBuf {
    repo().join("tests/fixtures/series").join(name)
}

pub fn program(name: &str) -> PathBuf {
    repo().join("tests/programs/series").join(name)
}

/// Runs `memsleuth ARGS` and returns its output.
pub fn memsleuth(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_memsleuth"))
        .args(args)
        .output()
        .expect("run memsleuth")
}

/// Runs `memsleuth ARGS --format json`, asserts exit 0 and returns the parsed JSON.
pub fn memsleuth_json(args: &[&str]) -> serde_json::Value {
    let mut a: Vec<&str> = args.to_vec();
    a.extend(["--format", "json"]);
    let out = memsleuth(&a);
    assert!(
        out.status.success(),
        "memsleuth {args:?} failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "bad JSON from memsleuth {args:?}: {e}\n{}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// Asserts `memsleuth ARGS` exits 2 with a message on stderr containing every `needle`.
pub fn assert_fails(args: &[&str], needles: &[&str]) -> String {
    let out = memsleuth(args);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(2),
        "memsleuth {args:?} should exit 2; stderr: {err}; stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    for n in needles {
        assert!(err.contains(n), "stderr of {args:?} lacks {n:?}: {err}");
    }
    assert!(!err.contains("panicked"), "{err}");
    err
}

/// Kills and reaps its children when dropped, so a failing test leaves no process behind.
#[derive(Default)]
pub struct Children(pub Vec<Child>);

impl Children {
    pub fn push(&mut self, c: Child) -> &mut Child {
        self.0.push(c);
        self.0.last_mut().expect("just pushed")
    }
}

impl Drop for Children {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A free TCP port on 127.0.0.1 (bound then released).
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local addr").port()
}

/// Relative difference |a - b| / |b|.
pub fn rel_err(measured: f64, truth: f64) -> f64 {
    (measured - truth).abs() / truth.abs()
}

pub fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("write temp file");
    p
}
