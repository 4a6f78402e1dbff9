//! A small HTTP/1.1 client for the load generator and the readiness probe: `http://` URLs,
//! keep-alive connections, request templates with `{i}` (the request's number), and a
//! response reader that understands Content-Length, chunked bodies and close-delimited
//! bodies. Bodies are read and dropped. Every wait is cut in short slices so that a stop
//! request (Ctrl-C) is noticed within a fraction of a second.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// A parsed `http://host:port/path` URL (the path may hold `{i}`).
#[derive(Clone, Debug, PartialEq)]
pub struct Url {
    pub host: String,
    pub port: u16,
    /// Path and query, starting with `/`.
    pub path: String,
}

impl Url {
    /// Parses `http://host[:port][/path]`. Only plain HTTP: the load stays on the machine
    /// or the network the user points it at, without TLS.
    pub fn parse(url: &str) -> Result<Url, String> {
        let rest = if let Some(r) = url.strip_prefix("http://") {
            r
        } else if url.starts_with("https://") {
            return Err(format!("{url}: https is not supported; use an http:// URL"));
        } else {
            return Err(format!(
                "{url}: not an http:// URL (example: http://127.0.0.1:{{port}}/quote/{{i}})"
            ));
        };
        let (authority, path) = match rest.find('/') {
            Some(k) => (&rest[..k], &rest[k..]),
            None => (rest, "/"),
        };
        if authority.contains('@') {
            return Err(format!("{url}: user names in URLs are not supported"));
        }
        let (host, port) = if let Some(h) = authority.strip_prefix('[') {
            // [::1]:8080
            let end = h
                .find(']')
                .ok_or_else(|| format!("{url}: unclosed '[' in the host"))?;
            let port = &h[end + 1..];
            let port = match port.strip_prefix(':') {
                Some(p) => parse_port(url, p)?,
                None if port.is_empty() => 80,
                None => return Err(format!("{url}: bad port")),
            };
            (format!("[{}]", &h[..end]), port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), parse_port(url, p)?),
                None => (authority.to_string(), 80),
            }
        };
        if host.is_empty() {
            return Err(format!("{url}: no host"));
        }
        Ok(Url {
            host,
            port,
            path: path.to_string(),
        })
    }

    /// The `Host` header value.
    pub fn host_header(&self) -> String {
        if self.port == 80 {
            self.host.clone()
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// Resolves the host (IPv4 first).
    pub fn resolve(&self) -> Result<SocketAddr, String> {
        let host = self.host.trim_start_matches('[').trim_end_matches(']');
        let addrs: Vec<SocketAddr> = (host, self.port)
            .to_socket_addrs()
            .map_err(|e| format!("cannot resolve {}: {e}", self.host))?
            .collect();
        addrs
            .iter()
            .find(|a| a.is_ipv4())
            .or(addrs.first())
            .copied()
            .ok_or_else(|| format!("cannot resolve {}", self.host))
    }
}

fn parse_port(url: &str, p: &str) -> Result<u16, String> {
    match p.parse::<u16>() {
        Ok(0) | Err(_) => Err(format!("{url}: bad port {p:?}")),
        Ok(v) => Ok(v),
    }
}

/// Text with `{i}` holes, filled with a request number.
#[derive(Clone, Debug, PartialEq)]
pub struct Template {
    parts: Vec<String>,
}

impl Template {
    pub fn new(text: &str) -> Template {
        Template {
            parts: text.split("{i}").map(str::to_string).collect(),
        }
    }

    /// Appends the text with every `{i}` replaced by `i`.
    pub fn render(&self, i: u64, out: &mut Vec<u8>) {
        for (k, p) in self.parts.iter().enumerate() {
            if k > 0 {
                let _ = write!(out, "{i}");
            }
            out.extend_from_slice(p.as_bytes());
        }
    }

    pub fn render_string(&self, i: u64) -> String {
        let mut v = Vec::new();
        self.render(i, &mut v);
        String::from_utf8_lossy(&v).into_owned()
    }
}

/// The request the load sends, with `{i}` in path, header values and body.
#[derive(Clone, Debug)]
pub struct RequestTemplate {
    pub method: String,
    pub path: Template,
    pub host_header: String,
    pub headers: Vec<(String, Template)>,
    pub body: Option<Template>,
}

impl RequestTemplate {
    /// Builds the template from the URL, the method, `Name: value` header lines and a body.
    pub fn new(
        url: &Url,
        method: &str,
        headers: &[String],
        body: Option<&str>,
    ) -> Result<RequestTemplate, String> {
        if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(format!("bad HTTP method {method:?}"));
        }
        let mut hs = Vec::new();
        for h in headers {
            let (name, value) = h
                .split_once(':')
                .ok_or_else(|| format!("header {h:?} is not `Name: value`"))?;
            let name = name.trim();
            if name.is_empty()
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_!#$%&'*+.^`|~".contains(&b))
            {
                return Err(format!("header {h:?}: bad name"));
            }
            if value.contains(['\r', '\n']) {
                return Err(format!("header {h:?}: line breaks are not allowed"));
            }
            let lower = name.to_ascii_lowercase();
            if lower == "content-length" || lower == "transfer-encoding" {
                return Err(format!(
                    "header {h:?}: memsleuth sets the body's length itself"
                ));
            }
            hs.push((name.to_string(), Template::new(value.trim())));
        }
        Ok(RequestTemplate {
            method: method.to_ascii_uppercase(),
            path: Template::new(&url.path),
            host_header: url.host_header(),
            headers: hs,
            body: body.map(Template::new),
        })
    }

    /// Writes request number `i` into `out` (cleared first); `body` is scratch space.
    pub fn render(&self, i: u64, out: &mut Vec<u8>, body: &mut Vec<u8>) {
        out.clear();
        body.clear();
        out.extend_from_slice(self.method.as_bytes());
        out.push(b' ');
        self.path.render(i, out);
        out.extend_from_slice(b" HTTP/1.1\r\nHost: ");
        out.extend_from_slice(self.host_header.as_bytes());
        out.extend_from_slice(b"\r\nUser-Agent: memsleuth\r\nAccept: */*\r\n");
        let mut has_type = false;
        for (name, value) in &self.headers {
            has_type |= name.eq_ignore_ascii_case("content-type");
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            value.render(i, out);
            out.extend_from_slice(b"\r\n");
        }
        if let Some(b) = &self.body {
            b.render(i, body);
            if !has_type {
                out.extend_from_slice(b"Content-Type: application/json\r\n");
            }
        }
        if self.body.is_some() || matches!(self.method.as_str(), "POST" | "PUT" | "PATCH") {
            let _ = write!(out, "Content-Length: {}\r\n", body.len());
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(body);
    }
}

/// Why a request got no answer.
#[derive(Debug)]
pub enum Failure {
    /// Stopped from outside (Ctrl-C, the capture ending).
    Stopped,
    /// No answer within the timeout.
    Timeout,
    /// Connection refused, reset, closed early, or a malformed answer.
    Io(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Stopped => f.write_str("stopped"),
            Failure::Timeout => f.write_str("timed out"),
            Failure::Io(s) => f.write_str(s),
        }
    }
}

/// How long one blocking read or write may wait before the stop flag is looked at again.
const SLICE: Duration = Duration::from_millis(100);

/// A keep-alive connection.
pub struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// The server said `Connection: close` or closed; a new connection is needed.
    pub closed: bool,
}

/// Opens a connection, giving up after `timeout`.
pub fn connect(addr: SocketAddr, timeout: Duration) -> Result<Conn, Failure> {
    let stream = TcpStream::connect_timeout(&addr, timeout).map_err(|e| {
        if e.kind() == io::ErrorKind::TimedOut {
            Failure::Timeout
        } else {
            Failure::Io(format!("cannot connect to {addr}: {e}"))
        }
    })?;
    let _ = stream.set_nodelay(true);
    stream
        .set_read_timeout(Some(SLICE))
        .and_then(|_| stream.set_write_timeout(Some(SLICE)))
        .map_err(|e| Failure::Io(e.to_string()))?;
    Ok(Conn {
        stream,
        buf: vec![0; 64 << 10],
        start: 0,
        end: 0,
        closed: false,
    })
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
    )
}

/// Largest response head accepted.
const MAX_HEAD: usize = 64 << 10;

impl Conn {
    /// Sends `request` and reads the whole answer; returns its status code.
    pub fn exchange(
        &mut self,
        request: &[u8],
        head_only: bool,
        deadline: Instant,
        stop: &AtomicBool,
    ) -> Result<u16, Failure> {
        self.write_all(request, deadline, stop)?;
        loop {
            let (status, framing) = self.read_head(head_only, deadline, stop)?;
            // 1xx answers (100 Continue) come before the real one.
            if (100..200).contains(&status) && status != 101 {
                continue;
            }
            match framing {
                Framing::None => {}
                Framing::Length(n) => self.skip(n, deadline, stop)?,
                Framing::Chunked => self.skip_chunked(deadline, stop)?,
                Framing::UntilClose => {
                    self.skip_to_eof(deadline, stop)?;
                    self.closed = true;
                }
            }
            return Ok(status);
        }
    }

    fn write_all(
        &mut self,
        mut data: &[u8],
        deadline: Instant,
        stop: &AtomicBool,
    ) -> Result<(), Failure> {
        while !data.is_empty() {
            check(deadline, stop)?;
            match self.stream.write(data) {
                Ok(0) => return Err(Failure::Io("connection closed while sending".into())),
                Ok(n) => data = &data[n..],
                Err(e) if is_timeout(&e) => {}
                Err(e) => return Err(Failure::Io(format!("send failed: {e}"))),
            }
        }
        Ok(())
    }

    /// Reads more bytes into the buffer; `Ok(false)` at end of stream.
    fn fill(&mut self, deadline: Instant, stop: &AtomicBool) -> Result<bool, Failure> {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        } else if self.end == self.buf.len() {
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            } else {
                self.buf.resize(self.buf.len() * 2, 0);
            }
        }
        loop {
            check(deadline, stop)?;
            match self.stream.read(&mut self.buf[self.end..]) {
                Ok(0) => return Ok(false),
                Ok(n) => {
                    self.end += n;
                    return Ok(true);
                }
                Err(e) if is_timeout(&e) => {}
                Err(e) => return Err(Failure::Io(format!("receive failed: {e}"))),
            }
        }
    }

    fn read_head(
        &mut self,
        head_only: bool,
        deadline: Instant,
        stop: &AtomicBool,
    ) -> Result<(u16, Framing), Failure> {
        let head_end = loop {
            if let Some(k) = find(&self.buf[self.start..self.end], b"\r\n\r\n") {
                break self.start + k + 4;
            }
            if self.end - self.start > MAX_HEAD {
                return Err(Failure::Io("answer head larger than 64 KiB".into()));
            }
            if !self.fill(deadline, stop)? {
                return Err(Failure::Io(if self.start == self.end {
                    "connection closed without an answer".into()
                } else {
                    "connection closed in the middle of the answer's head".into()
                }));
            }
        };
        let head = String::from_utf8_lossy(&self.buf[self.start..head_end]).into_owned();
        self.start = head_end;
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or_default();
        let mut parts = status_line.splitn(3, ' ');
        let version = parts.next().unwrap_or_default();
        if !version.starts_with("HTTP/1.") {
            return Err(Failure::Io(format!(
                "not an HTTP/1.x answer: {:?}",
                status_line.chars().take(80).collect::<String>()
            )));
        }
        let status: u16 = parts
            .next()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| Failure::Io(format!("bad status line {status_line:?}")))?;
        let mut length = None;
        let mut chunked = false;
        let mut close = version == "HTTP/1.0";
        for l in lines {
            let Some((name, value)) = l.split_once(':') else {
                continue;
            };
            let value = value.trim();
            match name.trim().to_ascii_lowercase().as_str() {
                "content-length" => {
                    length = Some(
                        value
                            .parse::<u64>()
                            .map_err(|_| Failure::Io(format!("bad Content-Length {value:?}")))?,
                    )
                }
                "transfer-encoding" => chunked = value.to_ascii_lowercase().contains("chunked"),
                "connection" => {
                    let v = value.to_ascii_lowercase();
                    if v.contains("close") {
                        close = true;
                    } else if v.contains("keep-alive") {
                        close = false;
                    }
                }
                _ => {}
            }
        }
        if close {
            self.closed = true;
        }
        let framing = if head_only || status == 204 || status == 304 || (100..200).contains(&status)
        {
            Framing::None
        } else if chunked {
            Framing::Chunked
        } else if let Some(n) = length {
            Framing::Length(n)
        } else {
            Framing::UntilClose
        };
        Ok((status, framing))
    }

    fn skip(&mut self, mut n: u64, deadline: Instant, stop: &AtomicBool) -> Result<(), Failure> {
        loop {
            let have = (self.end - self.start) as u64;
            if have >= n {
                self.start += n as usize;
                return Ok(());
            }
            n -= have;
            self.start = self.end;
            if !self.fill(deadline, stop)? {
                return Err(Failure::Io(
                    "connection closed in the middle of a body".into(),
                ));
            }
        }
    }

    fn read_line(&mut self, deadline: Instant, stop: &AtomicBool) -> Result<String, Failure> {
        loop {
            if let Some(k) = find(&self.buf[self.start..self.end], b"\r\n") {
                let line =
                    String::from_utf8_lossy(&self.buf[self.start..self.start + k]).into_owned();
                self.start += k + 2;
                return Ok(line);
            }
            if self.end - self.start > MAX_HEAD {
                return Err(Failure::Io("chunk header line too long".into()));
            }
            if !self.fill(deadline, stop)? {
                return Err(Failure::Io("connection closed in a chunked body".into()));
            }
        }
    }

    fn skip_chunked(&mut self, deadline: Instant, stop: &AtomicBool) -> Result<(), Failure> {
        loop {
            let line = self.read_line(deadline, stop)?;
            let size = line.split(';').next().unwrap_or_default().trim();
            let n = u64::from_str_radix(size, 16)
                .map_err(|_| Failure::Io(format!("bad chunk size {size:?}")))?;
            if n == 0 {
                // Trailers, up to the empty line.
                while !self.read_line(deadline, stop)?.is_empty() {}
                return Ok(());
            }
            self.skip(n + 2, deadline, stop)?;
        }
    }

    fn skip_to_eof(&mut self, deadline: Instant, stop: &AtomicBool) -> Result<(), Failure> {
        loop {
            self.start = self.end;
            if !self.fill(deadline, stop)? {
                return Ok(());
            }
        }
    }
}

enum Framing {
    None,
    Length(u64),
    Chunked,
    UntilClose,
}

fn check(deadline: Instant, stop: &AtomicBool) -> Result<(), Failure> {
    if stop.load(Ordering::Relaxed) {
        return Err(Failure::Stopped);
    }
    if Instant::now() >= deadline {
        return Err(Failure::Timeout);
    }
    Ok(())
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// One GET of `url` on a fresh connection; the status when anything answered.
pub fn get(url: &Url, timeout: Duration, stop: &AtomicBool) -> Result<(u16, Vec<u8>), Failure> {
    let addr = url.resolve().map_err(Failure::Io)?;
    let deadline = Instant::now() + timeout;
    let mut c = connect(addr, timeout)?;
    let req = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: memsleuth\r\nAccept: */*\r\nConnection: close\r\n\r\n",
        url.path,
        url.host_header()
    );
    c.write_all(req.as_bytes(), deadline, stop)?;
    let (status, framing) = c.read_head(false, deadline, stop)?;
    let body_start = c.start;
    match framing {
        Framing::Length(n) => {
            while ((c.end - body_start) as u64) < n {
                if n > 16 << 20 {
                    return Err(Failure::Io("answer larger than 16 MiB".into()));
                }
                if !c.fill(deadline, stop)? {
                    break;
                }
            }
            let end = (body_start + n as usize).min(c.end);
            Ok((status, c.buf[body_start..end].to_vec()))
        }
        Framing::UntilClose => {
            while c.fill(deadline, stop)? {
                if c.end - body_start > 16 << 20 {
                    return Err(Failure::Io("answer larger than 16 MiB".into()));
                }
            }
            Ok((status, c.buf[body_start..c.end].to_vec()))
        }
        _ => Ok((status, Vec::new())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn urls() {
        let u = Url::parse("http://127.0.0.1:8080/quote/{i}?x=1").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.path.as_str()),
            ("127.0.0.1", 8080, "/quote/{i}?x=1")
        );
        let u = Url::parse("http://localhost").unwrap();
        assert_eq!((u.port, u.path.as_str()), (80, "/"));
        let u = Url::parse("http://[::1]:9000/a").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("[::1]", 9000));
        assert!(Url::parse("https://x/").unwrap_err().contains("https"));
        assert!(Url::parse("ftp://x/").is_err());
        assert!(Url::parse("http://x:0/").is_err());
        assert!(Url::parse("http://x:99999/").is_err());
        assert!(Url::parse("http://:80/").is_err());
    }

    #[test]
    fn request_number_fills_path_headers_and_body() {
        let u = Url::parse("http://h:81/q/{i}").unwrap();
        let t = RequestTemplate::new(&u, "post", &["X-Req: r-{i}".into()], Some(r#"{"n": {i}}"#))
            .unwrap();
        let (mut out, mut body) = (Vec::new(), Vec::new());
        t.render(42, &mut out, &mut body);
        let s = String::from_utf8(out).unwrap();
        assert_eq!(
            s,
            "POST /q/42 HTTP/1.1\r\nHost: h:81\r\nUser-Agent: memsleuth\r\nAccept: */*\r\nX-Req: r-42\r\nContent-Type: application/json\r\nContent-Length: 9\r\n\r\n{\"n\": 42}"
        );
        assert!(RequestTemplate::new(&u, "GET", &["nocolon".into()], None).is_err());
        assert!(RequestTemplate::new(&u, "GET", &["Content-Length: 3".into()], None).is_err());
        assert!(RequestTemplate::new(&u, "G T", &[], None).is_err());
    }

    /// A canned server answering each request with the next of `answers` on one connection.
    fn serve(answers: Vec<&'static str>) -> SocketAddr {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            let mut buf = [0u8; 4096];
            for a in answers {
                let mut got = Vec::new();
                while find(&got, b"\r\n\r\n").is_none() {
                    let n = s.read(&mut buf).unwrap();
                    if n == 0 {
                        return;
                    }
                    got.extend_from_slice(&buf[..n]);
                }
                s.write_all(a.as_bytes()).unwrap();
            }
        });
        addr
    }

    #[test]
    fn keep_alive_with_every_kind_of_body() {
        let addr = serve(vec![
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
            "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3;x\r\nabc\r\n2\r\nde\r\n0\r\nT: 1\r\n\r\n",
            "HTTP/1.1 204 No Content\r\n\r\n",
            "HTTP/1.1 500 Oops\r\nConnection: close\r\n\r\nbye",
        ]);
        let stop = AtomicBool::new(false);
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut c = connect(addr, Duration::from_secs(5)).unwrap();
        let req = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
        assert_eq!(c.exchange(req, false, deadline, &stop).unwrap(), 200);
        assert_eq!(c.exchange(req, false, deadline, &stop).unwrap(), 404);
        assert_eq!(c.exchange(req, false, deadline, &stop).unwrap(), 204);
        assert!(!c.closed);
        assert_eq!(c.exchange(req, false, deadline, &stop).unwrap(), 500);
        assert!(c.closed);
    }

    #[test]
    fn a_silent_server_times_out_and_a_stop_is_noticed() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let stop = AtomicBool::new(false);
        let mut c = connect(addr, Duration::from_secs(5)).unwrap();
        let r = c.exchange(
            b"GET / HTTP/1.1\r\n\r\n",
            false,
            Instant::now() + Duration::from_millis(300),
            &stop,
        );
        assert!(matches!(r, Err(Failure::Timeout)), "{r:?}");
        stop.store(true, Ordering::Relaxed);
        let r = c.exchange(
            b"GET / HTTP/1.1\r\n\r\n",
            false,
            Instant::now() + Duration::from_secs(60),
            &stop,
        );
        assert!(matches!(r, Err(Failure::Stopped)), "{r:?}");
        drop(l);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let addr = serve(vec!["SSH-2.0-OpenSSH\r\n\r\n"]);
        let stop = AtomicBool::new(false);
        let mut c = connect(addr, Duration::from_secs(5)).unwrap();
        let r = c.exchange(
            b"GET / HTTP/1.1\r\n\r\n",
            false,
            Instant::now() + Duration::from_secs(5),
            &stop,
        );
        assert!(
            matches!(r, Err(Failure::Io(ref m)) if m.contains("not an HTTP")),
            "{r:?}"
        );
    }
}
