//! Starting and stopping the service, and looking at other processes through `/proc`.
//!
//! The service runs in a process group of its own (`process_group(0)`), so that stopping it
//! stops everything it started (workers, shells) and so that Ctrl-C in the terminal reaches
//! memsleuth only, which then stops the group itself. Signals are sent with the shell's
//! `kill` (std has no `kill(2)`; `/bin/sh` is on every machine this runs on).
//!
//! A watchdog shell guards against memsleuth dying without cleaning up (SIGKILL, a second
//! Ctrl-C): it waits for end-of-file on a pipe only memsleuth holds, then stops the group.
//!
//! The service's stdout and stderr are read line by line: `--trace-gc` lines go to the GC
//! log, everything else to the service log, and the last lines are kept for error messages.

use anyhow::{Context, anyhow, bail};
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

/// A free TCP port on 127.0.0.1 (bound, read, released).
pub fn free_port() -> anyhow::Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0").context("cannot find a free port on 127.0.0.1")?;
    Ok(l.local_addr()?.port())
}

/// Sends `signal` (`TERM`, `KILL`, `USR1`, `0`) to a pid, or to a process group when
/// `group` is set. Returns whether the target existed.
pub fn send_signal(id: u32, signal: &str, group: bool) -> bool {
    let target = if group {
        format!("-{id}")
    } else {
        id.to_string()
    };
    Command::new("sh")
        .arg("-c")
        .arg(format!("kill -{signal} {target} 2>/dev/null"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Whether `pid` has exited (gone or a zombie), without reaping it: `/proc/PID/stat`.
/// `None` where `/proc` cannot tell.
pub fn has_exited(pid: u32) -> Option<bool> {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => {
            // The state follows the command name in parentheses, which may hold spaces.
            let state = s
                .rsplit_once(')')
                .and_then(|(_, r)| r.trim_start().chars().next());
            Some(matches!(state, Some('Z' | 'X')))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if Path::new("/proc/self/stat").exists() {
                Some(true)
            } else {
                None
            }
        }
        Err(_) => None,
    }
}

/// The command line of `pid` (`/proc/PID/cmdline`).
pub fn cmdline(pid: u32) -> Option<Vec<String>> {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    Some(
        raw.split(|&b| b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect(),
    )
}

/// The executable of `pid` (`/proc/PID/exe`).
pub fn exe(pid: u32) -> Option<std::path::PathBuf> {
    std::fs::read_link(format!("/proc/{pid}/exe")).ok()
}

/// Whether a program path names a Node.js binary (`node`, `nodejs`, `node22`, `node.exe`).
pub fn is_node_program(program: &str) -> bool {
    let base = Path::new(program)
        .file_name()
        .map(|s| s.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let base = base.trim_end_matches(".exe");
    base == "node"
        || base == "nodejs"
        || (base.starts_with("node") && base[4..].chars().all(|c| c.is_ascii_digit() || c == '.'))
}

/// The TCP addresses `pid` listens on: its socket inodes (`/proc/PID/fd`) matched against
/// the listening sockets of its network namespace (`/proc/PID/net/tcp`, `tcp6`).
pub fn listening_addrs(pid: u32) -> Vec<SocketAddr> {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return Vec::new();
    };
    let mut inodes = Vec::new();
    for fd in fds.flatten() {
        if let Ok(target) = std::fs::read_link(fd.path()) {
            let t = target.to_string_lossy();
            if let Some(n) = t
                .strip_prefix("socket:[")
                .and_then(|r| r.strip_suffix(']'))
                .and_then(|n| n.parse::<u64>().ok())
            {
                inodes.push(n);
            }
        }
    }
    let mut out = Vec::new();
    for table in ["tcp", "tcp6"] {
        let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            // sl local rem st tx:rx tr:when retrnsmt uid timeout inode
            if f.len() < 10 || f[3] != "0A" {
                continue;
            }
            let Ok(inode) = f[9].parse::<u64>() else {
                continue;
            };
            if !inodes.contains(&inode) {
                continue;
            }
            if let Some(a) = parse_proc_addr(f[1]) {
                out.push(a);
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// `0100007F:9C5D` (IPv4) or 32 hex digits + port (IPv6), as `/proc/net/tcp` writes them.
fn parse_proc_addr(s: &str) -> Option<SocketAddr> {
    let (ip, port) = s.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    match ip.len() {
        8 => {
            let v = u32::from_str_radix(ip, 16).ok()?;
            let b = v.to_le_bytes();
            Some(SocketAddr::from((b, port)))
        }
        32 => {
            let mut bytes = [0u8; 16];
            for (k, word) in bytes.chunks_mut(4).enumerate() {
                let v = u32::from_str_radix(&ip[k * 8..k * 8 + 8], 16).ok()?;
                word.copy_from_slice(&v.to_le_bytes());
            }
            Some(SocketAddr::from((std::net::Ipv6Addr::from(bytes), port)))
        }
        _ => None,
    }
}

/// Whether a line is V8 GC output (`--trace-gc`: `[pid:0x55d5c0]   16 ms: Scavenge ...`)
/// or part of V8's out-of-memory report, which the GC log analysis reads too.
pub fn is_gc_line(line: &str) -> bool {
    if let Some(rest) = line.strip_prefix('[') {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        return digits > 0 && rest[digits..].starts_with(":0x");
    }
    line.starts_with("<--- Last few GCs")
        || line.starts_with("<--- JS stacktrace")
        || (line.starts_with("FATAL ERROR:") && line.contains("heap"))
}

/// Lines kept for error messages.
const TAIL: usize = 20;

/// What the output readers share.
#[derive(Default)]
struct Shared {
    tail: VecDeque<String>,
    inspector_url: Option<String>,
    inspector_failure: Option<String>,
    /// Node printed "Waiting for the debugger to disconnect...": it called exit.
    debugger_wait: bool,
    gc: Option<std::io::BufWriter<std::fs::File>>,
    log: Option<std::io::BufWriter<std::fs::File>>,
    write_error: Option<String>,
}

/// How to start the service.
pub struct StartSpec<'a> {
    /// The user's command: `node` (or another Node binary) first.
    pub command: &'a [String],
    /// Flags for node, placed before the user's arguments.
    pub node_flags: Vec<String>,
    /// Environment variables added.
    pub env: Vec<(String, String)>,
    /// Where `--trace-gc` lines go (none: they go to the service log like any line).
    pub gc_log: Option<&'a Path>,
    /// Where the service's other output goes.
    pub service_log: &'a Path,
}

/// A started service: its process group, output readers and watchdog.
pub struct Service {
    child: Child,
    pid: u32,
    watchdog: Option<(Child, ChildStdin)>,
    shared: Arc<Mutex<Shared>>,
    readers_done: mpsc::Receiver<()>,
    readers: usize,
    stopped: bool,
    exit: Option<ExitStatus>,
}

fn lock(m: &Mutex<Shared>) -> std::sync::MutexGuard<'_, Shared> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Service {
    /// Starts the service in its own process group.
    pub fn start(spec: &StartSpec<'_>) -> anyhow::Result<Service> {
        let (program, args) = spec
            .command
            .split_first()
            .ok_or_else(|| anyhow!("no command to start (give it after `--`)"))?;
        let file = |p: &Path| {
            std::fs::File::create(p).with_context(|| format!("cannot create {}", p.display()))
        };
        let shared = Arc::new(Mutex::new(Shared {
            gc: match spec.gc_log {
                Some(p) => Some(std::io::BufWriter::new(file(p)?)),
                None => None,
            },
            log: Some(std::io::BufWriter::new(file(spec.service_log)?)),
            ..Shared::default()
        }));
        let mut cmd = Command::new(program);
        cmd.args(&spec.node_flags)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        for (k, v) in &spec.env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                anyhow!("cannot start `{program}`: not found")
            } else {
                anyhow!("cannot start `{program}`: {e}")
            }
        })?;
        let pid = child.id();
        let watchdog = spawn_watchdog(pid);
        let (done_tx, readers_done) = mpsc::channel();
        let mut readers = 0;
        if let Some(out) = child.stdout.take() {
            spawn_reader(out, shared.clone(), done_tx.clone());
            readers += 1;
        }
        if let Some(err) = child.stderr.take() {
            spawn_reader(err, shared.clone(), done_tx);
            readers += 1;
        }
        Ok(Service {
            child,
            pid,
            watchdog,
            shared,
            readers_done,
            readers,
            stopped: false,
            exit: None,
        })
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// How the service ended, once it has: `exit status 1`, `killed by signal 9`.
    pub fn exited(&mut self) -> Option<String> {
        if self.exit.is_none()
            && has_exited(self.pid) != Some(false)
            && let Ok(Some(s)) = self.child.try_wait()
        {
            self.exit = Some(s);
        }
        self.exit.map(describe_exit)
    }

    /// The `ws://` URL node printed when its inspector started.
    pub fn inspector_url(&self) -> Option<String> {
        lock(&self.shared).inspector_url.clone()
    }

    /// Node's message when its inspector could not start.
    pub fn inspector_failure(&self) -> Option<String> {
        lock(&self.shared).inspector_failure.clone()
    }

    /// Whether node called exit and now waits for the debugger to disconnect.
    pub fn waiting_for_debugger(&self) -> bool {
        lock(&self.shared).debugger_wait
    }

    /// The last lines the service printed (not GC lines).
    pub fn tail(&self) -> Vec<String> {
        lock(&self.shared).tail.iter().cloned().collect()
    }

    /// The tail formatted for an error message.
    pub fn tail_text(&self) -> String {
        let t = self.tail();
        if t.is_empty() {
            " (it printed nothing)".into()
        } else {
            format!("; its last output:\n  {}", t.join("\n  "))
        }
    }

    /// Stops the whole process group (SIGTERM, then SIGKILL after `grace`), reaps the
    /// service, waits briefly for its output to be read, and flushes the logs. Returns how
    /// the service ended.
    pub fn stop(&mut self, grace: Duration) -> anyhow::Result<String> {
        if self.stopped {
            return Ok(self.exit.map(describe_exit).unwrap_or_default());
        }
        self.stopped = true;
        // The watchdog goes first: it must not signal a group id that may be reused later.
        if let Some((mut w, stdin)) = self.watchdog.take() {
            let _ = w.kill();
            let _ = w.wait();
            drop(stdin);
        }
        if self.exit.is_none() {
            send_signal(self.pid, "TERM", true);
            let end = Instant::now() + grace;
            while Instant::now() < end && has_exited(self.pid) == Some(false) {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        // Whatever the service started and left behind goes too. While the leader is
        // unreaped (or any member is alive) the group id cannot be reused, so it is ours.
        send_signal(self.pid, "KILL", true);
        let status = match self.exit {
            Some(s) => s,
            None => self.child.wait().context("cannot wait for the service")?,
        };
        self.exit = Some(status);
        // The readers end when every process holding the pipes is gone.
        for _ in 0..self.readers {
            if self
                .readers_done
                .recv_timeout(Duration::from_secs(2))
                .is_err()
            {
                break;
            }
        }
        let mut sh = lock(&self.shared);
        let sh = &mut *sh;
        for w in [sh.gc.as_mut(), sh.log.as_mut()].into_iter().flatten() {
            w.flush().context("cannot write the service's logs")?;
        }
        sh.gc = None;
        sh.log = None;
        if let Some(e) = sh.write_error.take() {
            bail!("cannot write the service's logs: {e}");
        }
        Ok(describe_exit(status))
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if !self.stopped {
            let _ = self.stop(Duration::from_secs(3));
        }
    }
}

/// `exit status 1`, `killed by signal 9`.
pub fn describe_exit(s: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (s.code(), s.signal()) {
        (Some(c), _) => format!("exit status {c}"),
        (None, Some(sig)) => format!("killed by signal {sig}"),
        _ => "ended".into(),
    }
}

/// The watchdog: a shell in a group of its own that stops the service's group when the
/// pipe from memsleuth reaches end-of-file, i.e. when memsleuth is gone.
fn spawn_watchdog(pgid: u32) -> Option<(Child, ChildStdin)> {
    let script = "trap '' INT TERM HUP QUIT; read _; kill -TERM -\"$1\" 2>/dev/null; sleep 3; kill -KILL -\"$1\" 2>/dev/null";
    let mut c = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg("memsleuth-watchdog")
        .arg(pgid.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .ok()?;
    let stdin = c.stdin.take()?;
    Some((c, stdin))
}

fn spawn_reader(
    stream: impl std::io::Read + Send + 'static,
    shared: Arc<Mutex<Shared>>,
    done: mpsc::Sender<()>,
) {
    std::thread::spawn(move || {
        let mut r = BufReader::new(stream);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match r.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            let line = String::from_utf8_lossy(&buf);
            let line = line.trim_end_matches(['\n', '\r']);
            let mut sh = lock(&shared);
            let gc = sh.gc.is_some() && is_gc_line(line);
            let w = if gc { sh.gc.as_mut() } else { sh.log.as_mut() };
            if let Some(w) = w
                && let Err(e) = writeln!(w, "{line}")
            {
                sh.write_error.get_or_insert(e.to_string());
            }
            if !gc {
                if let Some(u) = line
                    .strip_prefix("Debugger listening on ")
                    .filter(|u| u.starts_with("ws://"))
                {
                    sh.inspector_url.get_or_insert(u.trim().to_string());
                }
                if line.starts_with("Waiting for the debugger to disconnect") {
                    sh.debugger_wait = true;
                }
                if line.starts_with("Starting inspector on") && line.contains("failed") {
                    sh.inspector_failure.get_or_insert(line.to_string());
                }
                if sh.tail.len() == TAIL {
                    sh.tail.pop_front();
                }
                sh.tail.push_back(line.chars().take(300).collect());
            }
        }
        let _ = done.send(());
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gc_lines() {
        assert!(is_gc_line(
            "[18996:0x11ff8c00]     1866 ms: Scavenge 32.9 (54.2) -> 14.6 (44.4) MB, 3.71 / 0.00 ms"
        ));
        assert!(is_gc_line("<--- Last few GCs --->"));
        assert!(!is_gc_line("[server] listening on 8080"));
        assert!(!is_gc_line("Debugger listening on ws://127.0.0.1:9229/x"));
    }

    #[test]
    fn node_programs() {
        for p in ["node", "/usr/bin/node", "nodejs", "node22", "/x/node.exe"] {
            assert!(is_node_program(p), "{p}");
        }
        for p in ["npm", "nodemon", "python3", "/bin/sh", "deno"] {
            assert!(!is_node_program(p), "{p}");
        }
    }

    #[test]
    fn proc_addresses() {
        assert_eq!(
            parse_proc_addr("0100007F:9C5D"),
            Some("127.0.0.1:40029".parse().unwrap())
        );
        assert_eq!(
            parse_proc_addr("00000000000000000000000001000000:1F90"),
            Some("[::1]:8080".parse().unwrap())
        );
        assert_eq!(parse_proc_addr("zz"), None);
    }

    #[test]
    fn own_listening_socket_is_found() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let found = listening_addrs(std::process::id());
        assert!(found.contains(&addr), "{found:?} lacks {addr}");
        assert_eq!(has_exited(std::process::id()), Some(false));
    }
}
