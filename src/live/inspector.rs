//! A client of the V8 inspector protocol (the Chrome DevTools protocol as Node serves it)
//! over its WebSocket: forced GC, heap usage, `process.memoryUsage()`, heap snapshots
//! streamed to disk chunk by chunk, allocation tracking.
//!
//! One thread owns the connection; it reads with a short timeout so that a stop request
//! (Ctrl-C) is noticed within a fraction of a second, and it keeps draining the events the
//! inspector sends (allocation tracking sends heap statistics every 50 ms) so that they do
//! not pile up in the measured process.

use super::Stop;
use super::http::{self, Url};
use anyhow::{Context, anyhow, bail};
use serde::Deserialize;
use serde_json::{Value, json};
use std::io::Write;
use std::net::TcpStream;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};
use tungstenite::{Message, WebSocket};

/// How long one read may block before the stop flag is looked at again.
const SLICE: Duration = Duration::from_millis(100);

/// Longest silence accepted while waiting for an answer (a snapshot of a large heap sends
/// its first chunk only after the whole graph was built).
pub const DEFAULT_SILENCE: Duration = Duration::from_secs(300);

/// A connected inspector session.
pub struct Inspector {
    ws: WebSocket<TcpStream>,
    next_id: u64,
    /// The WebSocket URL, for messages.
    pub url: String,
    /// Longest silence accepted while waiting for an answer.
    pub silence: Duration,
}

/// One message from the inspector: an answer (`id`) or an event (`method`).
#[derive(Deserialize)]
struct Incoming {
    id: Option<u64>,
    method: Option<String>,
    #[serde(default)]
    params: Option<Value>,
    #[serde(default)]
    result: Option<Value>,
    #[serde(default)]
    error: Option<ProtocolError>,
}

#[derive(Deserialize, Debug)]
struct ProtocolError {
    #[serde(default)]
    code: i64,
    #[serde(default)]
    message: String,
}

/// `process.memoryUsage()` of the target.
#[derive(Deserialize, Debug, Clone, Copy, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct MemoryUsage {
    pub rss: u64,
    pub heap_total: u64,
    pub heap_used: u64,
    pub external: u64,
    #[serde(default)]
    pub array_buffers: Option<u64>,
}

/// The request counter: one object on the global (under a registered symbol, so it cannot
/// clash with the service's names) and one channel subscriber; installed once.
const COUNTER_JS: &str = "(() => {
  const key = Symbol.for('memsleuth.requests');
  if (globalThis[key]) return true;
  const load = (m) => typeof require === 'function' ? require(m)
    : (process.getBuiltinModule ? process.getBuiltinModule(m) : null);
  const dc = load('diagnostics_channel');
  if (!dc || typeof dc.channel !== 'function') return false;
  const counter = { n: 0, channel: dc.channel('http.server.request.start') };
  counter.onRequest = () => { counter.n++; };
  counter.channel.subscribe(counter.onRequest);
  Object.defineProperty(globalThis, key, { value: counter, enumerable: false });
  return true;
})()";

/// Where a snapshot's chunks go while a call runs.
type Sink<'a> = Option<(&'a mut dyn Write, &'a mut dyn FnMut(u64))>;

/// Finds the WebSocket URL of the first target an inspector at `host:port` lists
/// (`/json/list`), or takes `ws://...` as it is.
pub fn resolve_ws_url(address: &str, timeout: Duration, stop: &Stop) -> anyhow::Result<String> {
    if address.starts_with("ws://") {
        return Ok(address.to_string());
    }
    if address.starts_with("wss://") {
        bail!("{address}: wss:// is not supported; the Node inspector speaks plain ws://");
    }
    let base = address.trim_start_matches("http://").trim_end_matches('/');
    let url = Url::parse(&format!("http://{base}/json/list"))
        .map_err(|e| anyhow!("--inspect {address}: expected HOST:PORT ({e})"))?;
    let deadline = Instant::now() + timeout;
    let flag = AtomicBool::new(false);
    let body = loop {
        stop.check()?;
        match http::get(&url, Duration::from_secs(5), &flag) {
            Ok((200, body)) => break body,
            Ok((status, _)) => {
                bail!("{base} is not a Node inspector: /json/list answered HTTP {status}")
            }
            Err(e) if Instant::now() >= deadline => {
                bail!("no inspector answers at {base}: {e}")
            }
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    };
    let list: Vec<Value> = serde_json::from_slice(&body)
        .map_err(|e| anyhow!("{base}: /json/list is not an inspector's target list: {e}"))?;
    list.iter()
        .find_map(|t| t.get("webSocketDebuggerUrl")?.as_str().map(str::to_string))
        .ok_or_else(|| {
            anyhow!("{base}: the inspector lists no target (is another debugger attached?)")
        })
}

impl Inspector {
    /// Connects to a `ws://host:port/id` URL.
    pub fn connect(ws_url: &str, timeout: Duration) -> anyhow::Result<Inspector> {
        let rest = ws_url
            .strip_prefix("ws://")
            .ok_or_else(|| anyhow!("{ws_url}: not a ws:// URL"))?;
        let url = Url::parse(&format!("http://{rest}"))
            .map_err(|e| anyhow!("{ws_url}: not an inspector URL ({e})"))?;
        let addr = url.resolve().map_err(|e| anyhow!(e))?;
        let stream = TcpStream::connect_timeout(&addr, timeout)
            .with_context(|| format!("cannot connect to the inspector at {ws_url}"))?;
        let _ = stream.set_nodelay(true);
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        let (ws, _) = tungstenite::client(ws_url, stream).map_err(|e| match e {
            tungstenite::HandshakeError::Failure(e) => {
                anyhow!("the inspector at {ws_url} refused the WebSocket handshake: {e}")
            }
            tungstenite::HandshakeError::Interrupted(_) => {
                anyhow!("the inspector at {ws_url} did not complete the WebSocket handshake")
            }
        })?;
        ws.get_ref().set_read_timeout(Some(SLICE))?;
        Ok(Inspector {
            ws,
            next_id: 1,
            url: ws_url.to_string(),
            silence: DEFAULT_SILENCE,
        })
    }

    /// Reads one message, `None` after a read slice without one.
    fn read_one(&mut self) -> anyhow::Result<Option<Incoming>> {
        match self.ws.read() {
            Ok(Message::Text(t)) => {
                let m: Incoming = serde_json::from_str(t.as_str()).map_err(|e| {
                    anyhow!("the inspector sent a message that is not protocol JSON: {e}")
                })?;
                Ok(Some(m))
            }
            Ok(Message::Close(f)) => bail!(
                "the inspector closed the connection{} (did the process exit?)",
                f.map(|f| format!(": {}", f.reason)).unwrap_or_default()
            ),
            Ok(_) => Ok(None),
            Err(tungstenite::Error::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock
                        | std::io::ErrorKind::TimedOut
                        | std::io::ErrorKind::Interrupted
                ) =>
            {
                Ok(None)
            }
            Err(
                tungstenite::Error::ConnectionClosed
                | tungstenite::Error::AlreadyClosed
                | tungstenite::Error::Protocol(
                    tungstenite::error::ProtocolError::ResetWithoutClosingHandshake,
                ),
            ) => bail!("the inspector connection was closed (did the process exit?)"),
            Err(e) => Err(anyhow!("inspector connection failed: {e}")),
        }
    }

    /// Handles an event; chunks of a snapshot go to the sink.
    fn on_event(m: Incoming, sink: &mut Sink<'_>) -> anyhow::Result<()> {
        match m.method.as_deref() {
            Some("HeapProfiler.addHeapSnapshotChunk") => {
                let chunk = m
                    .params
                    .as_ref()
                    .and_then(|p| p.get("chunk"))
                    .and_then(|c| c.as_str())
                    .ok_or_else(|| anyhow!("a snapshot chunk without text"))?;
                match sink {
                    Some((w, progress)) => {
                        w.write_all(chunk.as_bytes())
                            .context("cannot write the snapshot")?;
                        progress(chunk.len() as u64);
                    }
                    None => bail!("the inspector sent snapshot chunks nobody asked for"),
                }
            }
            Some("Inspector.detached") => {
                let reason = m
                    .params
                    .as_ref()
                    .and_then(|p| p.get("reason"))
                    .and_then(|r| r.as_str())
                    .unwrap_or("no reason given")
                    .to_string();
                bail!("the inspector detached this session: {reason}");
            }
            // Heap statistics of allocation tracking and anything else: not needed.
            _ => {}
        }
        Ok(())
    }

    /// Sends a command and waits for its answer, handling events meanwhile.
    fn call_with(
        &mut self,
        method: &str,
        params: Value,
        stop: &Stop,
        mut sink: Sink<'_>,
    ) -> anyhow::Result<Value> {
        let id = self.next_id;
        self.next_id += 1;
        let msg = json!({"id": id, "method": method, "params": params}).to_string();
        // A signal (Ctrl-C) or a full socket buffer interrupts a write; the rest of the
        // message is still in tungstenite's buffer and goes out with the next flush.
        let mut sent = self.ws.send(Message::text(msg));
        loop {
            match sent {
                Ok(()) => break,
                Err(tungstenite::Error::Io(e))
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock
                            | std::io::ErrorKind::TimedOut
                            | std::io::ErrorKind::Interrupted
                    ) =>
                {
                    stop.check()?;
                    sent = self.ws.flush();
                }
                Err(e) => bail!("cannot send {method} to the inspector: {e}"),
            }
        }
        let mut last = Instant::now();
        loop {
            stop.check()?;
            let Some(m) = self.read_one()? else {
                if last.elapsed() > self.silence {
                    bail!(
                        "the inspector did not answer {method} within {} s",
                        self.silence.as_secs()
                    );
                }
                continue;
            };
            last = Instant::now();
            if m.id == Some(id) {
                if let Some(e) = m.error {
                    bail!("{method} failed: {} (code {})", e.message, e.code);
                }
                return Ok(m.result.unwrap_or(Value::Null));
            }
            if m.id.is_none() {
                Self::on_event(m, &mut sink)?;
            }
        }
    }

    /// Sends a command and waits for its answer.
    pub fn call(&mut self, method: &str, params: Value, stop: &Stop) -> anyhow::Result<Value> {
        self.call_with(method, params, stop, None)
    }

    /// Reads and drops events for `d` (between checkpoints).
    pub fn idle(&mut self, d: Duration, stop: &Stop) -> anyhow::Result<()> {
        let end = Instant::now() + d;
        while Instant::now() < end {
            stop.check()?;
            if let Some(m) = self.read_one()?
                && m.id.is_none()
            {
                Self::on_event(m, &mut None)?;
            }
        }
        Ok(())
    }

    /// Evaluates `expression` in the target's main context and returns its value as JSON.
    pub fn evaluate(&mut self, expression: &str, stop: &Stop) -> anyhow::Result<Value> {
        let r = self.call(
            "Runtime.evaluate",
            json!({"expression": expression, "returnByValue": true, "silent": true}),
            stop,
        )?;
        if let Some(ex) = r.get("exceptionDetails") {
            let text = ex
                .pointer("/exception/description")
                .or_else(|| ex.get("text"))
                .and_then(|t| t.as_str())
                .unwrap_or("an exception");
            bail!("evaluating `{expression}` in the target threw: {text}");
        }
        Ok(r.pointer("/result/value").cloned().unwrap_or(Value::Null))
    }

    /// Installs a counter of the HTTP requests the target's servers receive (Node's
    /// `http.server.request.start` diagnostics channel, Node 16.17+/18.7+), for loads
    /// memsleuth does not send itself. Returns whether it could be installed.
    pub fn count_requests(&mut self, stop: &Stop) -> anyhow::Result<bool> {
        let r = self.call(
            "Runtime.evaluate",
            json!({
                "expression": COUNTER_JS,
                "returnByValue": true,
                "silent": true,
                "includeCommandLineAPI": true,
            }),
            stop,
        )?;
        Ok(r.get("exceptionDetails").is_none()
            && r.pointer("/result/value").and_then(|v| v.as_bool()) == Some(true))
    }

    /// The number of cluster workers the target (a cluster primary) runs; 0 when none.
    pub fn cluster_workers(&mut self, stop: &Stop) -> anyhow::Result<u64> {
        let r = self.call(
            "Runtime.evaluate",
            json!({
                "expression": "(() => { try { const c = require('cluster'); return c.isPrimary !== false && c.workers ? Object.keys(c.workers).length : 0; } catch (e) { return 0; } })()",
                "returnByValue": true,
                "silent": true,
                "includeCommandLineAPI": true,
            }),
            stop,
        )?;
        Ok(r.pointer("/result/value")
            .and_then(|v| v.as_u64())
            .unwrap_or(0))
    }

    /// The counter installed by [`Inspector::count_requests`].
    pub fn requests_counted(&mut self, stop: &Stop) -> anyhow::Result<Option<u64>> {
        let v = self.evaluate("globalThis[Symbol.for('memsleuth.requests')]?.n", stop)?;
        Ok(v.as_u64())
    }

    /// A full garbage collection (`HeapProfiler.collectGarbage`).
    pub fn collect_garbage(&mut self, stop: &Stop) -> anyhow::Result<()> {
        self.call("HeapProfiler.collectGarbage", json!({}), stop)?;
        Ok(())
    }

    /// V8 heap used and total, bytes (`Runtime.getHeapUsage`).
    pub fn heap_usage(&mut self, stop: &Stop) -> anyhow::Result<(u64, u64)> {
        let r = self.call("Runtime.getHeapUsage", json!({}), stop)?;
        let get = |k: &str| {
            r.get(k)
                .and_then(|v| v.as_f64())
                .filter(|v| v.is_finite() && *v >= 0.0)
                .map(|v| v as u64)
                .ok_or_else(|| anyhow!("Runtime.getHeapUsage answered without {k}: {r}"))
        };
        Ok((get("usedSize")?, get("totalSize")?))
    }

    /// `process.memoryUsage()` of a Node target.
    pub fn memory_usage(&mut self, stop: &Stop) -> anyhow::Result<MemoryUsage> {
        let v = self.evaluate(
            "(() => { const m = globalThis.process.memoryUsage(); return { rss: m.rss, heapTotal: m.heapTotal, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers }; })()",
            stop,
        )?;
        serde_json::from_value(v.clone())
            .map_err(|e| anyhow!("process.memoryUsage() gave {v}, not memory figures: {e}"))
    }

    /// Starts allocation tracking: later snapshots carry allocation stacks.
    pub fn track_allocations(&mut self, stop: &Stop) -> anyhow::Result<()> {
        self.call("HeapProfiler.enable", json!({}), stop)?;
        self.call(
            "HeapProfiler.startTrackingHeapObjects",
            json!({"trackAllocations": true}),
            stop,
        )?;
        Ok(())
    }

    /// Takes a heap snapshot, writing its chunks to `out` as they arrive; `progress` gets
    /// the bytes written so far. Returns the snapshot's size in bytes.
    pub fn take_snapshot(
        &mut self,
        out: &mut dyn Write,
        progress: &mut dyn FnMut(u64),
        stop: &Stop,
    ) -> anyhow::Result<u64> {
        let mut total = 0u64;
        let mut count = |n: u64| {
            total += n;
            progress(total);
        };
        self.call_with(
            "HeapProfiler.takeHeapSnapshot",
            json!({"reportProgress": false}),
            stop,
            Some((out, &mut count)),
        )?;
        if total == 0 {
            bail!(
                "the inspector answered HeapProfiler.takeHeapSnapshot without sending a snapshot"
            );
        }
        Ok(total)
    }

    /// Closes the session politely (errors ignored: the process may be gone).
    pub fn close(mut self) {
        let _ = self.ws.close(None);
        let _ = self.ws.flush();
    }
}
