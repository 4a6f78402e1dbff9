//! The built-in load generator: `concurrency` keep-alive connections, each on a thread of
//! its own, sending numbered requests (`{i}` = 1, 2, ...) until a target count is reached.
//! The load runs in segments between checkpoints: a segment ends when every request up to
//! its target has been answered (or failed), so a checkpoint sees a quiet service and an
//! exact request count. Connections are reopened after each checkpoint.

use super::http::{self, Conn, Failure, RequestTemplate};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// What the load measured so far.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    /// Latency of the answered requests.
    pub latency: super::stats::Histogram,
    /// Answered requests per HTTP status.
    pub status: BTreeMap<u16, u64>,
    /// Requests without an answer.
    pub transport_errors: u64,
    pub first_error: Option<String>,
}

impl Tally {
    /// Requests answered with status 400 or more, plus those without an answer.
    pub fn errors(&self) -> u64 {
        self.transport_errors
            + self
                .status
                .iter()
                .filter(|(s, _)| **s >= 400)
                .map(|(_, n)| n)
                .sum::<u64>()
    }

    /// Requests answered with a status below 400.
    pub fn successes(&self) -> u64 {
        self.status
            .iter()
            .filter(|(s, _)| **s < 400)
            .map(|(_, n)| n)
            .sum()
    }

    fn merge(&mut self, other: Tally) {
        self.latency.merge(&other.latency);
        for (s, n) in other.status {
            *self.status.entry(s).or_default() += n;
        }
        self.transport_errors += other.transport_errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }
}

/// The load generator.
pub struct Load {
    template: RequestTemplate,
    addr: SocketAddr,
    head_only: bool,
    timeout: Duration,
    conns: Vec<Option<Conn>>,
    /// Requests sent so far (the last request number).
    pub sent: u64,
    pub tally: Tally,
}

/// Shared by the workers of one segment.
struct SegmentState {
    next: AtomicU64,
    done: AtomicU64,
    failing: AtomicU64,
    finished: AtomicUsize,
    halt: AtomicBool,
}

impl Load {
    pub fn new(
        template: RequestTemplate,
        addr: SocketAddr,
        concurrency: u32,
        timeout: Duration,
    ) -> Load {
        let head_only = template.method == "HEAD";
        Load {
            template,
            addr,
            head_only,
            timeout,
            conns: (0..concurrency.max(1)).map(|_| None).collect(),
            sent: 0,
            tally: Tally::default(),
        }
    }

    /// Closes the connections; the next requests open new ones. Called after each
    /// checkpoint: a server closes keep-alive connections left idle during a long pause
    /// (Node after 5 s), and a request sent on one of those would fail for nothing.
    pub fn reconnect(&mut self) {
        for c in &mut self.conns {
            *c = None;
        }
    }

    /// Sends requests `sent+1 ..= to`. `tick` runs on the calling thread about every
    /// 100 ms with the requests done so far (it also paces the loop: it should wait about
    /// that long) and with how many requests failed in a row; an error from it halts the
    /// segment and is returned.
    pub fn run_to(
        &mut self,
        to: u64,
        tick: &mut dyn FnMut(u64, u64) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        if to <= self.sent {
            return Ok(());
        }
        let st = SegmentState {
            next: AtomicU64::new(self.sent + 1),
            done: AtomicU64::new(self.sent),
            failing: AtomicU64::new(0),
            finished: AtomicUsize::new(0),
            halt: AtomicBool::new(false),
        };
        let workers = self.conns.len();
        let tallies: Mutex<Vec<Tally>> = Mutex::new(Vec::new());
        let (template, addr, head_only, timeout) =
            (&self.template, self.addr, self.head_only, self.timeout);
        let result = std::thread::scope(|s| {
            for conn in self.conns.iter_mut() {
                let (st, tallies) = (&st, &tallies);
                s.spawn(move || {
                    let t = worker(conn, template, addr, head_only, timeout, to, st);
                    tallies.lock().unwrap_or_else(|p| p.into_inner()).push(t);
                    st.finished.fetch_add(1, Ordering::SeqCst);
                });
            }
            let mut result = Ok(());
            while st.finished.load(Ordering::SeqCst) < workers {
                if let Err(e) = tick(
                    st.done.load(Ordering::Relaxed),
                    st.failing.load(Ordering::Relaxed),
                ) {
                    st.halt.store(true, Ordering::SeqCst);
                    result = Err(e);
                    break;
                }
            }
            result
        });
        for t in tallies.into_inner().unwrap_or_else(|p| p.into_inner()) {
            self.tally.merge(t);
        }
        self.sent = st.done.load(Ordering::SeqCst).min(to);
        result
    }
}

fn worker(
    conn: &mut Option<Conn>,
    template: &RequestTemplate,
    addr: SocketAddr,
    head_only: bool,
    timeout: Duration,
    to: u64,
    st: &SegmentState,
) -> Tally {
    let mut tally = Tally::default();
    let (mut req, mut body) = (Vec::new(), Vec::new());
    let fail = |tally: &mut Tally, e: &Failure| {
        tally.transport_errors += 1;
        tally.first_error.get_or_insert_with(|| e.to_string());
        st.failing.fetch_add(1, Ordering::Relaxed);
    };
    while !st.halt.load(Ordering::Relaxed) {
        let i = st.next.fetch_add(1, Ordering::Relaxed);
        if i > to {
            break;
        }
        template.render(i, &mut req, &mut body);
        let started = Instant::now();
        let deadline = started + timeout;
        if conn.as_ref().is_none_or(|c| c.closed) {
            match http::connect(addr, timeout) {
                Ok(c) => *conn = Some(c),
                Err(Failure::Stopped) => break,
                Err(e) => {
                    fail(&mut tally, &e);
                    st.done.fetch_add(1, Ordering::Relaxed);
                    // Do not spin on a refused port.
                    std::thread::sleep(Duration::from_millis(20));
                    continue;
                }
            }
        }
        let Some(c) = conn.as_mut() else { continue };
        match c.exchange(&req, head_only, deadline, &st.halt) {
            Ok(status) => {
                let us = started.elapsed().as_micros().min(u128::from(u32::MAX)) as u32;
                tally.latency.record(us);
                *tally.status.entry(status).or_default() += 1;
                st.failing.store(0, Ordering::Relaxed);
            }
            Err(Failure::Stopped) => break,
            Err(e) => {
                fail(&mut tally, &e);
                *conn = None;
            }
        }
        st.done.fetch_add(1, Ordering::Relaxed);
    }
    tally
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;

    /// A keep-alive server answering every request with 200 and counting them.
    fn server() -> (SocketAddr, std::sync::Arc<AtomicU64>) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let count = std::sync::Arc::new(AtomicU64::new(0));
        let c2 = count.clone();
        std::thread::spawn(move || {
            for s in l.incoming() {
                let Ok(mut s) = s else { return };
                let count = c2.clone();
                std::thread::spawn(move || {
                    let mut buf = [0u8; 8192];
                    let mut pending = Vec::new();
                    loop {
                        let n = match s.read(&mut buf) {
                            Ok(0) | Err(_) => return,
                            Ok(n) => n,
                        };
                        pending.extend_from_slice(&buf[..n]);
                        while let Some(k) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
                            pending.drain(..k + 4);
                            count.fetch_add(1, Ordering::SeqCst);
                            if s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                                .is_err()
                            {
                                return;
                            }
                        }
                    }
                });
            }
        });
        (addr, count)
    }

    #[test]
    fn segments_send_exact_counts_over_kept_connections() {
        let (addr, count) = server();
        let url = http::Url::parse(&format!("http://{addr}/x/{{i}}")).unwrap();
        let t = RequestTemplate::new(&url, "GET", &[], None).unwrap();
        let mut load = Load::new(t, addr, 4, Duration::from_secs(5));
        let mut tick = |_: u64, _: u64| {
            std::thread::sleep(Duration::from_millis(5));
            Ok(())
        };
        load.run_to(100, &mut tick).unwrap();
        assert_eq!(load.sent, 100);
        assert_eq!(count.load(Ordering::SeqCst), 100);
        load.run_to(250, &mut tick).unwrap();
        assert_eq!(count.load(Ordering::SeqCst), 250);
        assert_eq!(load.tally.status.get(&200), Some(&250));
        assert_eq!(load.tally.latency.len(), 250);
        assert_eq!(load.tally.errors(), 0);
    }

    #[test]
    fn refused_connections_are_counted_and_a_tick_error_halts() {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let url = http::Url::parse(&format!("http://{port}/")).unwrap();
        let t = RequestTemplate::new(&url, "GET", &[], None).unwrap();
        let mut load = Load::new(t, port, 2, Duration::from_secs(1));
        let mut tick = |_: u64, failing: u64| {
            std::thread::sleep(Duration::from_millis(10));
            if failing > 5 {
                anyhow::bail!("failing")
            }
            Ok(())
        };
        let r = load.run_to(1_000_000, &mut tick);
        assert!(r.is_err());
        assert!(load.tally.transport_errors > 5);
        assert!(load.sent < 1_000_000);
        assert!(load.tally.first_error.unwrap().contains("cannot connect"));
    }
}
