//! Drives the probe in a Python service: writes the probe into a folder, gives the environment
//! that makes every interpreter of the service load it, finds the processes that started it,
//! and asks one for a checkpoint over loopback.
//!
//! Made to plug into `capture`: the caller starts the service with [`ProbeDir::env`] added to
//! its environment, sends load, and calls [`ProbeDir::checkpoint`] at each checkpoint. Nothing
//! here prints or reads the caller's environment.
//!
//! What attaching can and cannot do: a process started with this environment (by memsleuth
//! or by hand, see [`ProbeDir::env`]) can be attached to at any time through its probe folder
//! and token. A Python process started without it cannot be given the probe: CPython before
//! 3.14 has no supported way to run code in another process (3.14's `sys.remote_exec` is not
//! used here), and tracemalloc only sees allocations made after it starts. For such a process,
//! `memray attach PID` (needs gdb or lldb, and ptrace permission) records allocations from then
//! on; `memray transform csv --leaks` of its output is read by `memsleuth python`.

use super::probe::{PROBE_PY, SITECUSTOMIZE_PY};
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A folder holding the probe, and the token its listeners accept.
#[derive(Clone, Debug)]
pub struct ProbeDir {
    pub dir: PathBuf,
    pub token: String,
    /// Frames per tracemalloc traceback (MEMSLEUTH_PROBE_FRAMES).
    pub frames: u32,
}

/// A process whose probe is listening.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
pub struct ProbeProcess {
    pub pid: u64,
    #[serde(default)]
    pub ppid: u64,
    pub port: u16,
    #[serde(default)]
    pub argv: Vec<String>,
}

/// The probe's answer to a checkpoint request.
#[derive(Clone, Debug, PartialEq, serde::Deserialize)]
pub struct Reply {
    pub ok: bool,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub seq: u64,
    #[serde(default)]
    pub probe_seconds: f64,
    #[serde(default)]
    pub pid: u64,
    /// Answer to `trace`, `ping` and `untrace`: tracemalloc runs.
    #[serde(default)]
    pub tracing: Option<bool>,
    /// Answer to `ping`: the interpreter's version (`3.11.7`).
    #[serde(default)]
    pub python: Option<String>,
}

/// Errors of the driver, each saying what to do.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    #[error("cannot write the probe into {dir}: {source}")]
    Write { dir: String, source: std::io::Error },
    #[error(
        "no Python process started the probe within {secs:.0} s{detail} (is the command a Python program? `python -I` or `-E` ignore PYTHONPATH, and `-S` skips sitecustomize)"
    )]
    NoProbe { secs: f64, detail: String },
    #[error("probe of process {pid} on 127.0.0.1:{port}: {message}")]
    Request {
        pid: u64,
        port: u16,
        message: String,
    },
}

fn random_token() -> String {
    let mut b = [0u8; 16];
    let ok = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut b))
        .is_ok();
    if !ok {
        // No /dev/urandom: a token from the clock and the pid is still unguessable enough for
        // a loopback listener that lives as long as a capture.
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let x = t ^ ((std::process::id() as u128) << 64);
        b.copy_from_slice(&x.to_le_bytes());
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

impl ProbeDir {
    /// Writes the probe into `dir` (created if needed) with a new token.
    pub fn create(dir: &Path) -> Result<ProbeDir, DriverError> {
        let werr = |e| DriverError::Write {
            dir: dir.display().to_string(),
            source: e,
        };
        std::fs::create_dir_all(dir).map_err(werr)?;
        std::fs::write(dir.join("memsleuth_probe.py"), PROBE_PY).map_err(werr)?;
        std::fs::write(dir.join("sitecustomize.py"), SITECUSTOMIZE_PY).map_err(werr)?;
        Ok(ProbeDir {
            dir: dir.to_path_buf(),
            token: random_token(),
            frames: 25,
        })
    }

    /// An existing probe folder (a process started by hand with [`ProbeDir::env`]).
    pub fn open(dir: &Path, token: &str) -> ProbeDir {
        ProbeDir {
            dir: dir.to_path_buf(),
            token: token.to_string(),
            frames: 25,
        }
    }

    /// The environment to add to the service's: the probe folder first on PYTHONPATH
    /// (`pythonpath` is the service's own PYTHONPATH, kept after it), the folder and token.
    pub fn env(&self, pythonpath: Option<&std::ffi::OsStr>) -> Vec<(OsString, OsString)> {
        let mut pp = OsString::from(self.dir.as_os_str());
        if let Some(p) = pythonpath.filter(|p| !p.is_empty()) {
            pp.push(":");
            pp.push(p);
        }
        vec![
            ("PYTHONPATH".into(), pp),
            (
                "MEMSLEUTH_PROBE_DIR".into(),
                self.dir.clone().into_os_string(),
            ),
            ("MEMSLEUTH_PROBE_TOKEN".into(), self.token.clone().into()),
            (
                "MEMSLEUTH_PROBE_FRAMES".into(),
                self.frames.to_string().into(),
            ),
        ]
    }

    /// Processes whose probe is listening (their port files), alive ones only, by pid.
    pub fn processes(&self) -> Vec<ProbeProcess> {
        let mut out = Vec::new();
        let Ok(rd) = std::fs::read_dir(&self.dir) else {
            return out;
        };
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if !(name.starts_with("probe-") && name.ends_with(".port")) {
                continue;
            }
            let Ok(text) = std::fs::read_to_string(e.path()) else {
                continue;
            };
            if let Ok(p) = serde_json::from_str::<ProbeProcess>(&text)
                && Path::new(&format!("/proc/{}", p.pid)).exists()
            {
                out.push(p);
            }
        }
        out.sort_by_key(|p| p.pid);
        out
    }

    /// Why a probe could not start, as the processes wrote it (`probe-PID.error`).
    pub fn errors(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Ok(rd) = std::fs::read_dir(&self.dir) {
            for e in rd.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if name.ends_with(".error")
                    && let Ok(t) = std::fs::read_to_string(e.path())
                {
                    out.push(format!("{name}: {}", t.trim()));
                }
            }
        }
        out.sort();
        out
    }

    /// Waits until at least one process listens, or `timeout`; `alive` is asked between polls
    /// (return false when the service has exited) so a dead service fails at once.
    pub fn wait(
        &self,
        timeout: Duration,
        alive: &mut dyn FnMut() -> bool,
    ) -> Result<Vec<ProbeProcess>, DriverError> {
        let start = Instant::now();
        loop {
            let p = self.processes();
            if !p.is_empty() {
                return Ok(p);
            }
            if start.elapsed() >= timeout || !alive() {
                let errs = self.errors();
                return Err(DriverError::NoProbe {
                    secs: start.elapsed().as_secs_f64(),
                    detail: if errs.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", errs.join("; "))
                    },
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The process to follow: the one most likely serving requests, i.e. the newest process
    /// whose parent is not itself probed as its only child (a reloader's or a pre-fork
    /// master's worker), else the only one.
    pub fn main_process(procs: &[ProbeProcess]) -> Option<&ProbeProcess> {
        let children: Vec<&ProbeProcess> = procs
            .iter()
            .filter(|p| procs.iter().any(|q| q.pid == p.ppid))
            .collect();
        children.last().copied().or_else(|| procs.last())
    }

    /// The process serving `port`: the probed process holding the most established
    /// connections on that local port (the load's keep-alive connections), so that a pre-fork
    /// server's worker is chosen over its master, and the server over its multiprocessing
    /// pool's workers (which inherit the listening socket but accept nothing). None when no
    /// probed process holds a connection on the port (then see [`ProbeDir::main_process`]).
    /// Linux: reads /proc/net/tcp, /proc/net/tcp6 and each process's descriptors.
    pub fn serving(procs: &[ProbeProcess], port: u16) -> Option<&ProbeProcess> {
        let inodes = established_inodes(port);
        if inodes.is_empty() {
            return None;
        }
        procs
            .iter()
            .map(|p| (p, socket_inodes(p.pid).intersection(&inodes).count()))
            .filter(|(_, n)| *n > 0)
            .max_by_key(|(p, n)| (*n, p.pid))
            .map(|(p, _)| p)
    }

    /// The probe folder and token of a running process started with the probe's
    /// environment (read from /proc/PID/environ; the same user only), for attaching to it.
    pub fn of_process(pid: u32) -> Option<ProbeDir> {
        let env = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
        let mut dir = None;
        let mut token = None;
        for kv in env.split(|b| *b == 0) {
            let kv = String::from_utf8_lossy(kv);
            if let Some(v) = kv.strip_prefix("MEMSLEUTH_PROBE_DIR=") {
                dir = Some(PathBuf::from(v));
            } else if let Some(v) = kv.strip_prefix("MEMSLEUTH_PROBE_TOKEN=") {
                token = Some(v.to_string());
            }
        }
        Some(ProbeDir::open(&dir?, &token?))
    }

    /// Asks `proc` whether its probe answers; returns the interpreter's version and whether
    /// tracemalloc traces already.
    pub fn ping(
        &self,
        proc: &ProbeProcess,
        timeout: Duration,
    ) -> Result<(String, bool), DriverError> {
        let req = serde_json::json!({"token": self.token, "cmd": "ping"});
        let reply = self.ok(proc, self.request(proc, &req, timeout)?)?;
        Ok((
            reply.python.unwrap_or_default(),
            reply.tracing.unwrap_or(false),
        ))
    }

    /// Asks `proc` to stop tracemalloc (after attaching to a running service whose tracing
    /// memsleuth started, so that it does not keep paying for it).
    pub fn stop_tracing(&self, proc: &ProbeProcess, timeout: Duration) -> Result<(), DriverError> {
        let req = serde_json::json!({"token": self.token, "cmd": "untrace"});
        self.ok(proc, self.request(proc, &req, timeout)?)?;
        Ok(())
    }

    /// A reply that says it failed, as an error.
    fn ok(&self, proc: &ProbeProcess, reply: Reply) -> Result<Reply, DriverError> {
        if reply.ok {
            return Ok(reply);
        }
        Err(DriverError::Request {
            pid: proc.pid,
            port: proc.port,
            message: reply.error.unwrap_or_else(|| "refused".into()),
        })
    }

    /// Asks `proc` to start tracemalloc now (the probe leaves it off while the service
    /// imports and starts up, where tracing deep tracebacks costs seconds); returns whether
    /// it traces (false: the service runs with MEMSLEUTH_PROBE_TRACEMALLOC=0).
    pub fn start_tracing(
        &self,
        proc: &ProbeProcess,
        timeout: Duration,
    ) -> Result<bool, DriverError> {
        let req = serde_json::json!({"token": self.token, "cmd": "trace"});
        let reply = self.request(proc, &req, timeout)?;
        if !reply.ok {
            return Err(DriverError::Request {
                pid: proc.pid,
                port: proc.port,
                message: reply.error.unwrap_or_else(|| "refused".into()),
            });
        }
        Ok(reply.tracing.unwrap_or(false))
    }

    /// Asks `proc` for a checkpoint written to `out`; waits up to `timeout` for the answer.
    pub fn checkpoint(
        &self,
        proc: &ProbeProcess,
        out: &Path,
        label: &str,
        timeout: Duration,
    ) -> Result<Reply, DriverError> {
        let req = serde_json::json!({
            "token": self.token,
            "cmd": "checkpoint",
            "out": out.to_string_lossy(),
            "label": label,
        });
        let reply = self.request(proc, &req, timeout)?;
        if !reply.ok {
            return Err(DriverError::Request {
                pid: proc.pid,
                port: proc.port,
                message: reply.error.unwrap_or_else(|| "refused".into()),
            });
        }
        Ok(reply)
    }

    fn request(
        &self,
        proc: &ProbeProcess,
        req: &serde_json::Value,
        timeout: Duration,
    ) -> Result<Reply, DriverError> {
        let fail = |m: String| DriverError::Request {
            pid: proc.pid,
            port: proc.port,
            message: m,
        };
        let addr = SocketAddr::from(([127, 0, 0, 1], proc.port));
        let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
            .map_err(|e| fail(format!("cannot connect: {e}")))?;
        s.set_read_timeout(Some(timeout))
            .map_err(|e| fail(e.to_string()))?;
        let mut line = req.to_string();
        line.push('\n');
        s.write_all(line.as_bytes())
            .map_err(|e| fail(format!("cannot send: {e}")))?;
        let mut answer = String::new();
        BufReader::new(s.take(1 << 20))
            .read_line(&mut answer)
            .map_err(|e| {
                fail(format!(
                    "no answer within {:.0} s: {e}",
                    timeout.as_secs_f64()
                ))
            })?;
        serde_json::from_str(&answer).map_err(|e| fail(format!("bad answer {answer:?}: {e}")))
    }
}

/// Inodes of the TCP sockets in state ESTABLISHED whose local port is `port`.
fn established_inodes(port: u16) -> std::collections::BTreeSet<u64> {
    let mut out = std::collections::BTreeSet::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
            let (Some(local), Some(state), Some(inode)) = (f.get(1), f.get(3), f.get(9)) else {
                continue;
            };
            let lport = local
                .rsplit(':')
                .next()
                .and_then(|p| u16::from_str_radix(p, 16).ok());
            if lport == Some(port)
                && *state == "01"
                && let Ok(i) = inode.parse::<u64>()
                && i != 0
            {
                out.insert(i);
            }
        }
    }
    out
}

/// Inodes of the sockets a process has open (`socket:[N]` descriptors).
fn socket_inodes(pid: u64) -> std::collections::BTreeSet<u64> {
    let mut out = std::collections::BTreeSet::new();
    let Ok(rd) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return out;
    };
    for e in rd.flatten() {
        if let Ok(t) = std::fs::read_link(e.path())
            && let Some(n) = t
                .to_str()
                .and_then(|t| t.strip_prefix("socket:["))
                .and_then(|t| t.strip_suffix(']'))
                .and_then(|t| t.parse::<u64>().ok())
        {
            out.insert(n);
        }
    }
    out
}
