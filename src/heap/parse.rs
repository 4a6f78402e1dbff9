//! Streaming reader of `.heapsnapshot` JSON into flat columns.
//!
//! The file is never held as a JSON DOM: a byte-level tokenizer walks the top-level object,
//! reads `snapshot` (the small header) with serde, and parses the big numeric arrays
//! (`nodes`, `edges`, `locations`) block by block, each block split across threads with rayon.
//! `strings` is decoded into one interned buffer; it accepts the lone surrogates V8 writes
//! (they become U+FFFD). Input is read through `Read`, so plain files, gzip and stdin all
//! stream with bounded buffers; offsets are u64, node ordinals u32.
//!
//! Every malformed input is an [`InputError`] naming the file and the byte offset.

use crate::error::InputError;
use rayon::prelude::*;
use serde::Deserialize;
use std::io::Read;

/// Bytes read from the input per block. Numeric arrays are parsed one block at a time.
const BLOCK: usize = 8 << 20;
/// Deepest nesting accepted in parts of the file we skip.
const MAX_DEPTH: usize = 4096;
/// Most records reserved up front from the header's counts. The header may lie: reserving
/// its `node_count` of 4294967295 asked for 16 GiB at once and aborted the process where
/// that much address space is not available. Past this the columns grow as they fill.
const MAX_RESERVE: u64 = 1 << 26;
/// Largest `extra_native_bytes` accepted: 2^53, where doubles stop counting bytes exactly.
const MAX_EXTRA_NATIVE_BYTES: f64 = 9_007_199_254_740_992.0;

/// The header (`snapshot.meta` and counts) as written by V8.
#[derive(Debug, Clone)]
pub struct Meta {
    pub node_fields: Vec<String>,
    pub node_types: Vec<String>,
    pub edge_fields: Vec<String>,
    pub edge_types: Vec<String>,
    pub location_fields: Vec<String>,
    /// Field names of `trace_function_infos` and `trace_tree` rows (allocation stacks).
    pub trace_function_info_fields: Vec<String>,
    pub trace_node_fields: Vec<String>,
    pub node_count: u64,
    pub edge_count: u64,
    pub extra_native_bytes: u64,
}

/// Interned strings of the snapshot: one buffer, offsets into it.
#[derive(Debug, Default, Clone)]
pub struct Strings {
    data: String,
    ends: Vec<usize>,
}

impl Strings {
    pub fn len(&self) -> usize {
        self.ends.len()
    }
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }
    /// The string at `idx`; an out-of-range index gives `""` (indexes are validated at load).
    pub fn get(&self, idx: u32) -> &str {
        let i = idx as usize;
        if i >= self.ends.len() {
            return "";
        }
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.data[start..self.ends[i]]
    }
    pub fn push(&mut self, s: &str) -> u32 {
        self.data.push_str(s);
        self.ends.push(self.data.len());
        (self.ends.len() - 1) as u32
    }
    fn finish_one(&mut self) {
        self.ends.push(self.data.len());
    }
}

/// A parsed snapshot: columns of nodes and edges, locations, strings.
#[derive(Debug, Clone)]
pub struct RawSnapshot {
    pub meta: Meta,
    /// Index into `meta.node_types`.
    pub node_type: Vec<u8>,
    pub node_name: Vec<u32>,
    pub node_id: Vec<u32>,
    pub node_self: Vec<u32>,
    /// `detachedness` per node (0 unknown, 1 attached, 2 detached); empty if absent.
    pub node_det: Vec<u8>,
    /// Prefix sums of `edge_count`: node `o` owns edges `first_edge[o]..first_edge[o+1]`.
    pub first_edge: Vec<u32>,
    /// Index into `meta.edge_types`.
    pub edge_type: Vec<u8>,
    /// String index for named edges, the number for `element` and `hidden` edges.
    pub edge_name: Vec<u32>,
    /// Target node ordinal (the file stores node-array indexes; they are divided here).
    pub edge_to: Vec<u32>,
    /// `(ordinal, script_id, line, column)`, 0-based line and column, as in the file.
    pub locations: Vec<[u32; 4]>,
    pub strings: Strings,
    /// `trace_node_id` per node; empty when absent or all zero (no allocation tracking).
    pub node_trace: Vec<u32>,
    /// Allocation stacks (`trace_function_infos`, `trace_tree`); empty without tracking.
    pub alloc: super::alloc::AllocTraces,
}

impl RawSnapshot {
    pub fn node_count(&self) -> usize {
        self.node_type.len()
    }
    pub fn edge_count(&self) -> usize {
        self.edge_type.len()
    }
}

#[derive(Deserialize)]
struct HeaderJson {
    meta: MetaJson,
    #[serde(default)]
    node_count: Option<u64>,
    #[serde(default)]
    edge_count: Option<u64>,
    #[serde(default)]
    extra_native_bytes: Option<f64>,
}

#[derive(Deserialize)]
struct MetaJson {
    node_fields: Vec<String>,
    node_types: Vec<serde_json::Value>,
    edge_fields: Vec<String>,
    edge_types: Vec<serde_json::Value>,
    #[serde(default)]
    location_fields: Vec<String>,
    #[serde(default)]
    trace_function_info_fields: Vec<String>,
    #[serde(default)]
    trace_node_fields: Vec<String>,
}

/// Receives each parsed block of a numeric array and the block's byte offset.
type Emit<'a> = dyn FnMut(&[u32], u64) -> Result<(), InputError> + 'a;

/// Progress callback: bytes consumed so far.
pub type Progress<'a> = &'a dyn Fn(u64);

/// Streaming byte source with absolute offsets.
struct Src<'a, R: Read> {
    r: R,
    name: &'a str,
    buf: Vec<u8>,
    pos: usize,
    len: usize,
    /// Absolute offset of `buf[0]`.
    base: u64,
    eof: bool,
    progress: Progress<'a>,
}

impl<'a, R: Read> Src<'a, R> {
    fn new(r: R, name: &'a str, progress: Progress<'a>) -> Self {
        Src {
            r,
            name,
            buf: vec![0; BLOCK],
            pos: 0,
            len: 0,
            base: 0,
            eof: false,
            progress,
        }
    }

    fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    fn err(&self, msg: impl Into<String>) -> InputError {
        InputError::at_byte(self.name, self.offset(), msg)
    }

    fn err_at(&self, off: u64, msg: impl Into<String>) -> InputError {
        InputError::at_byte(self.name, off, msg)
    }

    /// Moves unread bytes to the front and reads more. Returns false at end of input.
    fn fill(&mut self) -> Result<bool, InputError> {
        if self.eof {
            return Ok(false);
        }
        if self.pos > 0 {
            self.buf.copy_within(self.pos..self.len, 0);
            self.base += self.pos as u64;
            self.len -= self.pos;
            self.pos = 0;
        }
        if self.len == self.buf.len() {
            let n = self.buf.len();
            self.buf.resize(n * 2, 0);
        }
        loop {
            match self.r.read(&mut self.buf[self.len..]) {
                Ok(0) => {
                    self.eof = true;
                    (self.progress)(self.base + self.len as u64);
                    return Ok(self.len > self.pos);
                }
                Ok(n) => {
                    self.len += n;
                    if self.len < self.buf.len() {
                        continue; // fill the whole buffer: callers scan it once per fill
                    }
                    (self.progress)(self.base + self.len as u64);
                    return Ok(true);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let at = self.base + self.len as u64;
                    return Err(self.err_at(at, format!("read error: {e}")));
                }
            }
        }
    }

    fn peek(&mut self) -> Result<Option<u8>, InputError> {
        if self.pos == self.len && !self.fill()? {
            return Ok(None);
        }
        Ok(Some(self.buf[self.pos]))
    }

    fn skip_ws(&mut self) -> Result<Option<u8>, InputError> {
        loop {
            while self.pos < self.len {
                let b = self.buf[self.pos];
                if !matches!(b, b' ' | b'\n' | b'\r' | b'\t') {
                    return Ok(Some(b));
                }
                self.pos += 1;
            }
            if !self.fill()? {
                return Ok(None);
            }
        }
    }

    fn expect(&mut self, want: u8, what: &str) -> Result<(), InputError> {
        match self.skip_ws()? {
            Some(b) if b == want => {
                self.pos += 1;
                Ok(())
            }
            Some(b) => Err(self.err(format!("expected {what}, found {}", describe_byte(b)))),
            None => Err(self.err(format!("unexpected end of input, expected {what}"))),
        }
    }

    /// Reads a JSON string (after skipping whitespace) into `out`.
    fn string_into(&mut self, out: &mut String) -> Result<(), InputError> {
        self.expect(b'"', "a string")?;
        let start = self.offset() - 1;
        let mut pending_high: Option<u16> = None;
        loop {
            if self.pos == self.len && !self.fill()? {
                return Err(self.err_at(start, "unterminated string (input ends inside it)"));
            }
            // Fast path: copy a run of plain bytes.
            let run_start = self.pos;
            while self.pos < self.len {
                let b = self.buf[self.pos];
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            // A multi-byte UTF-8 character cut by the end of the buffer stays for the next
            // fill (decoding its halves apart turned it into U+FFFD).
            let mut held = false;
            if self.pos == self.len && !self.eof {
                let mut i = self.pos;
                while i > run_start && self.pos - i < 3 && (0x80..0xC0).contains(&self.buf[i - 1]) {
                    i -= 1;
                }
                if i > run_start && self.buf[i - 1] >= 0xC0 {
                    let lead = i - 1;
                    let need = match self.buf[lead] {
                        0xC0..=0xDF => 2,
                        0xE0..=0xEF => 3,
                        _ => 4,
                    };
                    if self.pos - lead < need {
                        self.pos = lead;
                        held = true;
                    }
                }
            }
            if self.pos > run_start {
                if pending_high.take().is_some() {
                    out.push('\u{FFFD}');
                }
                match std::str::from_utf8(&self.buf[run_start..self.pos]) {
                    Ok(s) => out.push_str(s),
                    Err(_) => {
                        out.push_str(&String::from_utf8_lossy(&self.buf[run_start..self.pos]))
                    }
                }
            }
            if held {
                self.fill()?;
                continue;
            }
            if self.pos == self.len {
                continue;
            }
            let b = self.buf[self.pos];
            if b == b'"' {
                self.pos += 1;
                if pending_high.take().is_some() {
                    out.push('\u{FFFD}');
                }
                return Ok(());
            }
            if b < 0x20 {
                return Err(self.err(format!(
                    "control character {} inside a string",
                    describe_byte(b)
                )));
            }
            // Backslash escape.
            let esc_off = self.offset();
            self.pos += 1;
            let Some(e) = self.peek()? else {
                return Err(self.err_at(start, "unterminated string (input ends inside it)"));
            };
            self.pos += 1;
            if e != b'u' && pending_high.take().is_some() {
                out.push('\u{FFFD}');
            }
            match e {
                b'"' => out.push('"'),
                b'\\' => out.push('\\'),
                b'/' => out.push('/'),
                b'b' => out.push('\u{8}'),
                b'f' => out.push('\u{c}'),
                b'n' => out.push('\n'),
                b'r' => out.push('\r'),
                b't' => out.push('\t'),
                b'u' => {
                    let mut v: u16 = 0;
                    for _ in 0..4 {
                        let Some(h) = self.peek()? else {
                            return Err(self.err_at(esc_off, "truncated \\u escape"));
                        };
                        let d = match h {
                            b'0'..=b'9' => h - b'0',
                            b'a'..=b'f' => h - b'a' + 10,
                            b'A'..=b'F' => h - b'A' + 10,
                            _ => return Err(self.err_at(esc_off, "invalid \\u escape")),
                        };
                        v = (v << 4) | d as u16;
                        self.pos += 1;
                    }
                    match v {
                        0xD800..=0xDBFF => {
                            if pending_high.replace(v).is_some() {
                                out.push('\u{FFFD}');
                            }
                        }
                        0xDC00..=0xDFFF => match pending_high.take() {
                            Some(hi) => {
                                let c = 0x10000
                                    + (((hi as u32) - 0xD800) << 10)
                                    + ((v as u32) - 0xDC00);
                                out.push(char::from_u32(c).unwrap_or('\u{FFFD}'));
                            }
                            None => out.push('\u{FFFD}'),
                        },
                        _ => {
                            if pending_high.take().is_some() {
                                out.push('\u{FFFD}');
                            }
                            out.push(char::from_u32(v as u32).unwrap_or('\u{FFFD}'));
                        }
                    }
                }
                other => {
                    return Err(self.err_at(
                        esc_off,
                        format!("invalid escape \\{}", describe_byte(other)),
                    ));
                }
            }
        }
    }

    /// Collects the raw bytes of one JSON value (for the small header).
    fn collect_value(&mut self, limit: usize) -> Result<Vec<u8>, InputError> {
        let start = self.offset();
        let mut out = Vec::new();
        self.walk_value(&mut |chunk| {
            out.extend_from_slice(chunk);
            out.len() <= limit
        })
        .map_err(|e| {
            if e.message.contains("too large") {
                self.err_at(start, "the `snapshot` header is too large")
            } else {
                e
            }
        })?;
        Ok(out)
    }

    /// Skips one JSON value of any shape, iteratively (no recursion, depth-limited).
    fn skip_value(&mut self) -> Result<(), InputError> {
        self.walk_value(&mut |_| true)
    }

    /// Walks one JSON value, handing its bytes to `sink` (which returns false to abort).
    fn walk_value(&mut self, sink: &mut dyn FnMut(&[u8]) -> bool) -> Result<(), InputError> {
        let Some(first) = self.skip_ws()? else {
            return Err(self.err("unexpected end of input, expected a value"));
        };
        let start = self.offset();
        if first != b'{' && first != b'[' {
            // A scalar: a string, or a run of literal characters.
            if first == b'"' {
                let mut s = String::new();
                self.string_into(&mut s)?;
                let quoted = serde_json::to_string(&s).unwrap_or_default();
                sink(quoted.as_bytes());
                return Ok(());
            }
            let mut lit = Vec::new();
            loop {
                match self.peek()? {
                    Some(b) if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'+' | b'.') => {
                        lit.push(b);
                        self.pos += 1;
                    }
                    _ => break,
                }
            }
            if lit.is_empty() {
                return Err(self.err(format!("unexpected {}", describe_byte(first))));
            }
            sink(&lit);
            return Ok(());
        }
        let mut depth = 0usize;
        let mut in_str = false;
        let mut escaped = false;
        loop {
            if self.pos == self.len && !self.fill()? {
                return Err(self.err_at(
                    start,
                    "unexpected end of input inside this value (file truncated?)",
                ));
            }
            let chunk_start = self.pos;
            let mut done = false;
            while self.pos < self.len {
                let b = self.buf[self.pos];
                self.pos += 1;
                if in_str {
                    if escaped {
                        escaped = false;
                    } else if b == b'\\' {
                        escaped = true;
                    } else if b == b'"' {
                        in_str = false;
                    }
                    continue;
                }
                match b {
                    b'"' => in_str = true,
                    b'{' | b'[' => {
                        depth += 1;
                        if depth > MAX_DEPTH {
                            return Err(self.err("nesting too deep"));
                        }
                    }
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            done = true;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let chunk = &self.buf[chunk_start..self.pos];
            if !sink(chunk) {
                return Err(self.err_at(start, "value too large"));
            }
            if done {
                return Ok(());
            }
        }
    }

    /// Parses a flat array of unsigned integers, calling `emit` with each block of values
    /// in order. Returns the number of values.
    fn numeric_array(&mut self, what: &str, emit: &mut Emit<'_>) -> Result<u64, InputError> {
        self.expect(b'[', &format!("`[` opening the `{what}` array"))?;
        let truncated = |s: &Self| {
            s.err(format!(
                "unexpected end of input inside the `{what}` array (file truncated?)"
            ))
        };
        let mut total = 0u64;
        loop {
            // Work on a full buffer: fewer, larger blocks parallelize better.
            if !self.eof && (self.pos > 0 || self.len < self.buf.len()) {
                self.fill()?;
            }
            if self.pos == self.len {
                return Err(truncated(self));
            }
            let window = &self.buf[self.pos..self.len];
            // Cut after the last separator (or `]`) so that no number is split.
            let cut = if self.eof {
                window.len()
            } else {
                match window.iter().rposition(|&b| is_sep(b) || b == b']') {
                    Some(j) => j + 1,
                    // A whole buffer (megabytes) without a separator cannot be a u32:
                    // parsing it reports the error. (Growing the buffer to find the end of
                    // the token read an endless run of digits until memory ran out.)
                    None => window.len(),
                }
            };
            let block_off = self.offset();
            let (values, close) = parse_block(&window[..cut]).map_err(|(rel, msg)| {
                InputError::at_byte(
                    self.name,
                    block_off + rel as u64,
                    format!("in `{what}`: {msg}"),
                )
            })?;
            if close.is_none() && self.eof {
                // Truncated: say so before the records are checked, as the last number
                // may be cut short ("15141" read as "1514") and fail a check misleadingly.
                self.pos += cut;
                return Err(truncated(self));
            }
            total += values.len() as u64;
            emit(&values, block_off)?;
            match close {
                Some(j) => {
                    self.pos += j + 1;
                    return Ok(total);
                }
                None => {
                    self.pos += cut;
                    if self.eof && self.pos == self.len {
                        return Err(truncated(self));
                    }
                }
            }
        }
    }
}

fn describe_byte(b: u8) -> String {
    if b.is_ascii_graphic() {
        format!("`{}`", b as char)
    } else {
        format!("byte 0x{b:02x}")
    }
}

fn is_sep(b: u8) -> bool {
    matches!(b, b',' | b' ' | b'\n' | b'\r' | b'\t')
}

/// Parses a block of `1,2 ,3\n,4` into numbers, up to a closing `]` if the block holds
/// one (its position is returned), in parallel for large blocks. Errors carry the offset
/// relative to the block.
type BlockResult = Result<(Vec<u32>, Option<usize>), (usize, String)>;

fn parse_block(block: &[u8]) -> BlockResult {
    const PIECE: usize = 1 << 20;
    if block.len() < 2 * PIECE {
        let mut out = Vec::with_capacity(block.len() / 3);
        let close = parse_piece(block, 0, &mut out)?;
        return Ok((out, close));
    }
    // Cut at separators so that no number is split.
    let mut cuts = vec![0usize];
    let mut at = PIECE;
    while at < block.len() {
        let mut c = at;
        while c < block.len() && !is_sep(block[c]) && block[c] != b']' {
            c += 1;
        }
        cuts.push(c);
        at = c + PIECE;
    }
    cuts.push(block.len());
    cuts.dedup();
    let parts: Vec<BlockResult> = cuts
        .par_windows(2)
        .map(|w| {
            let mut out = Vec::with_capacity((w[1] - w[0]) / 3);
            let close = parse_piece(&block[w[0]..w[1]], w[0], &mut out)?;
            Ok((out, close))
        })
        .collect();
    // Pieces after the one holding `]` hold other JSON: their results are ignored.
    let mut n = 0;
    for p in &parts {
        match p {
            Ok((v, close)) => {
                n += v.len();
                if close.is_some() {
                    break;
                }
            }
            Err(e) => return Err(e.clone()),
        }
    }
    let mut out = Vec::with_capacity(n);
    for p in parts {
        let Ok((v, close)) = p else { break };
        out.extend_from_slice(&v);
        if close.is_some() {
            return Ok((out, close));
        }
    }
    Ok((out, None))
}

/// Parses numbers until the end of `bytes` or a `]` (whose absolute position is returned).
fn parse_piece(
    bytes: &[u8],
    base: usize,
    out: &mut Vec<u32>,
) -> Result<Option<usize>, (usize, String)> {
    let mut i = 0;
    let n = bytes.len();
    let bad = |i: usize, b: u8| {
        (
            base + i,
            format!(
                "unexpected {} in a numeric array (only unsigned integers are valid)",
                describe_byte(b)
            ),
        )
    };
    while i < n {
        let b = bytes[i];
        if is_sep(b) {
            i += 1;
            continue;
        }
        if b == b']' {
            return Ok(Some(base + i));
        }
        if !b.is_ascii_digit() {
            return Err(bad(i, b));
        }
        let start = i;
        let mut v: u64 = 0;
        while i < n && bytes[i].is_ascii_digit() {
            v = v * 10 + (bytes[i] - b'0') as u64;
            if v > u32::MAX as u64 {
                return Err((base + start, "number larger than 4294967295".into()));
            }
            i += 1;
        }
        if i < n && !is_sep(bytes[i]) && bytes[i] != b']' {
            return Err(bad(i, bytes[i]));
        }
        out.push(v as u32);
    }
    Ok(None)
}

fn field_index(fields: &[String], name: &str) -> Option<usize> {
    fields.iter().position(|f| f == name)
}

fn type_names(v: &[serde_json::Value], field: &str) -> Result<Vec<String>, String> {
    match v.first() {
        Some(serde_json::Value::Array(a)) => a
            .iter()
            .map(|x| {
                x.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| format!("`{field}` type names must be strings"))
            })
            .collect(),
        _ => Err(format!("`{field}` must start with the list of type names")),
    }
}

struct NodeLayout {
    nf: usize,
    t: usize,
    name: usize,
    id: usize,
    size: usize,
    ec: usize,
    det: Option<usize>,
    trace: Option<usize>,
}

/// Parses a whole snapshot from a reader. `name` is used in error messages.
pub fn parse_reader<R: Read>(
    r: R,
    name: &str,
    progress: Progress<'_>,
) -> Result<RawSnapshot, InputError> {
    let mut src = Src::new(r, name, progress);
    match src.skip_ws()? {
        None => return Err(InputError::whole(name, "empty file: not a heap snapshot")),
        Some(b'{') => src.pos += 1,
        Some(b) => {
            return Err(src.err(format!(
                "not a heap snapshot: expected `{{`, found {}",
                describe_byte(b)
            )));
        }
    }
    let mut meta: Option<Meta> = None;
    let mut layout: Option<NodeLayout> = None;
    let mut edge_layout: Option<(usize, usize, usize, usize)> = None;
    let mut node_type = Vec::new();
    let mut node_name = Vec::new();
    let mut node_id = Vec::new();
    let mut node_self = Vec::new();
    let mut node_det = Vec::new();
    let mut node_trace: Vec<u32> = Vec::new();
    let mut alloc = super::alloc::AllocTraces::default();
    let mut first_edge: Vec<u32> = Vec::new();
    let mut edge_type: Vec<u8> = Vec::new();
    let mut edge_name = Vec::new();
    let mut edge_to_raw: Vec<u32> = Vec::new();
    let mut locations: Vec<[u32; 4]> = Vec::new();
    let mut strings = Strings::default();
    let mut seen_nodes = false;
    let mut seen_edges = false;
    let mut seen_strings = false;
    let mut nodes_off = 0u64;
    let mut edges_off = 0u64;
    let mut key = String::new();
    // The largest string index named by a node and by a named edge, and where.
    let mut max_node_str: (u32, u64) = (0, 0);
    let mut max_edge_str: (u32, u64) = (0, 0);
    loop {
        match src.skip_ws()? {
            Some(b'}') => {
                src.pos += 1;
                break;
            }
            Some(b',') => {
                src.pos += 1;
                continue;
            }
            Some(b'"') => {}
            Some(b) => {
                return Err(src.err(format!(
                    "expected a key of the top-level object, found {}",
                    describe_byte(b)
                )));
            }
            None => {
                return Err(src.err("unexpected end of input (file truncated?)"));
            }
        }
        let key_off = src.offset();
        key.clear();
        src.string_into(&mut key)?;
        src.expect(b':', "`:` after a key")?;
        match key.as_str() {
            "snapshot" => {
                let off = src.offset();
                let raw = src.collect_value(64 << 20)?;
                let h: HeaderJson = serde_json::from_slice(&raw).map_err(|e| {
                    InputError::at_byte(name, off, format!("bad `snapshot` header: {e}"))
                })?;
                let bad = |m: String| InputError::at_byte(name, off, m);
                let node_types = type_names(&h.meta.node_types, "node_types").map_err(bad)?;
                let edge_types = type_names(&h.meta.edge_types, "edge_types").map_err(bad)?;
                let m = &h.meta;
                let need = |f: &[String], n: &str, w: &str| {
                    field_index(f, n).ok_or_else(|| {
                        InputError::at_byte(name, off, format!("`{w}` has no `{n}` field"))
                    })
                };
                let nl = NodeLayout {
                    nf: m.node_fields.len(),
                    t: need(&m.node_fields, "type", "node_fields")?,
                    name: need(&m.node_fields, "name", "node_fields")?,
                    id: need(&m.node_fields, "id", "node_fields")?,
                    size: need(&m.node_fields, "self_size", "node_fields")?,
                    ec: need(&m.node_fields, "edge_count", "node_fields")?,
                    det: field_index(&m.node_fields, "detachedness"),
                    trace: field_index(&m.node_fields, "trace_node_id"),
                };
                let el = (
                    m.edge_fields.len(),
                    need(&m.edge_fields, "type", "edge_fields")?,
                    need(&m.edge_fields, "name_or_index", "edge_fields")?,
                    need(&m.edge_fields, "to_node", "edge_fields")?,
                );
                if node_types.len() > 255 || edge_types.len() > 255 {
                    return Err(bad("too many node or edge types".into()));
                }
                let extra = h.extra_native_bytes.unwrap_or(0.0);
                // Past 2^53 a double is no longer an exact byte count, and a value like
                // 4e99 (saturating to u64::MAX) overflowed the total size in the analysis.
                if extra > MAX_EXTRA_NATIVE_BYTES {
                    return Err(bad(format!(
                        "extra_native_bytes {extra} is not a plausible byte count"
                    )));
                }
                meta = Some(Meta {
                    node_fields: m.node_fields.clone(),
                    node_types,
                    edge_fields: m.edge_fields.clone(),
                    edge_types,
                    location_fields: m.location_fields.clone(),
                    trace_function_info_fields: m.trace_function_info_fields.clone(),
                    trace_node_fields: m.trace_node_fields.clone(),
                    node_count: h.node_count.unwrap_or(0),
                    edge_count: h.edge_count.unwrap_or(0),
                    extra_native_bytes: if extra.is_finite() && extra > 0.0 {
                        extra as u64
                    } else {
                        0
                    },
                });
                layout = Some(nl);
                edge_layout = Some(el);
            }
            "nodes" => {
                let (Some(m), Some(l)) = (&meta, &layout) else {
                    return Err(InputError::at_byte(
                        name,
                        key_off,
                        "`nodes` comes before the `snapshot` header",
                    ));
                };
                seen_nodes = true;
                nodes_off = src.offset();
                let cap = m.node_count.min(MAX_RESERVE) as usize;
                node_type.reserve(cap);
                node_name.reserve(cap);
                node_id.reserve(cap);
                node_self.reserve(cap);
                first_edge.reserve(cap + 1);
                if l.det.is_some() {
                    node_det.reserve(cap);
                }
                let ntypes = m.node_types.len();
                let mut rec = vec![0u32; l.nf];
                let mut fill = 0usize;
                let mut edges_sum: u64 = 0;
                let mut count: u64 = 0;
                let nf = l.nf;
                src.numeric_array("nodes", &mut |vals, block_off| {
                    for &v in vals {
                        rec[fill] = v;
                        fill += 1;
                        if fill == nf {
                            fill = 0;
                            if rec[l.t] as usize >= ntypes {
                                return Err(InputError::at_byte(
                                    name,
                                    block_off,
                                    format!(
                                        "node {count} has type {} but only {ntypes} node types exist",
                                        rec[l.t]
                                    ),
                                ));
                            }
                            if count >= u32::MAX as u64 - 1 {
                                return Err(InputError::at_byte(
                                    name,
                                    block_off,
                                    "more than 4294967294 nodes",
                                ));
                            }
                            if rec[l.name] >= max_node_str.0 {
                                max_node_str = (rec[l.name], count);
                            }
                            node_type.push(rec[l.t] as u8);
                            node_name.push(rec[l.name]);
                            node_id.push(rec[l.id]);
                            node_self.push(rec[l.size]);
                            if let Some(d) = l.det {
                                node_det.push((rec[d] & 3) as u8);
                            }
                            if let Some(t) = l.trace {
                                node_trace.push(rec[t]);
                            }
                            first_edge.push(edges_sum as u32);
                            edges_sum += rec[l.ec] as u64;
                            if edges_sum > u32::MAX as u64 {
                                return Err(InputError::at_byte(
                                    name,
                                    block_off,
                                    "edge counts add up to more than 4294967295 edges",
                                ));
                            }
                            count += 1;
                        }
                    }
                    Ok(())
                })?;
                if fill != 0 {
                    return Err(InputError::at_byte(
                        name,
                        nodes_off,
                        format!(
                            "`nodes` has a partial record: its length is not a multiple of {nf} node fields"
                        ),
                    ));
                }
                first_edge.push(edges_sum as u32);
                if m.node_count != 0 && m.node_count != count {
                    return Err(InputError::at_byte(
                        name,
                        nodes_off,
                        format!(
                            "header says node_count {} but `nodes` holds {count} nodes",
                            m.node_count
                        ),
                    ));
                }
            }
            "edges" => {
                let (Some(m), Some((ef, et, en, eto))) = (&meta, edge_layout) else {
                    return Err(InputError::at_byte(
                        name,
                        key_off,
                        "`edges` comes before the `snapshot` header",
                    ));
                };
                seen_edges = true;
                edges_off = src.offset();
                let cap = m.edge_count.min(MAX_RESERVE) as usize;
                edge_type.reserve(cap);
                edge_name.reserve(cap);
                edge_to_raw.reserve(cap);
                let etypes = m.edge_types.len();
                if !seen_nodes {
                    return Err(InputError::at_byte(
                        name,
                        key_off,
                        "`edges` comes before `nodes`",
                    ));
                }
                let n_nodes = node_type.len() as u64;
                let nf = layout.as_ref().map_or(1, |l| l.nf as u32);
                let named: Vec<bool> = m
                    .edge_types
                    .iter()
                    .map(|t| t != "element" && t != "hidden")
                    .collect();
                let mut rec = [0u32; 16];
                if ef > rec.len() || ef == 0 {
                    return Err(InputError::at_byte(
                        name,
                        key_off,
                        "unsupported edge_fields",
                    ));
                }
                let mut fill = 0usize;
                let mut count = 0u64;
                src.numeric_array("edges", &mut |vals, block_off| {
                    for &v in vals {
                        rec[fill] = v;
                        fill += 1;
                        if fill == ef {
                            fill = 0;
                            if rec[et] as usize >= etypes {
                                return Err(InputError::at_byte(
                                    name,
                                    block_off,
                                    format!(
                                        "edge {count} has type {} but only {etypes} edge types exist",
                                        rec[et]
                                    ),
                                ));
                            }
                            let to = rec[eto];
                            if to % nf != 0 || (to / nf) as u64 >= n_nodes {
                                return Err(InputError::at_byte(
                                    name,
                                    block_off,
                                    format!(
                                        "edge {count} points to node index {to} which is not a node (node_count {n_nodes}, {nf} fields)"
                                    ),
                                ));
                            }
                            if named[rec[et] as usize] && rec[en] >= max_edge_str.0 {
                                max_edge_str = (rec[en], count);
                            }
                            edge_type.push(rec[et] as u8);
                            edge_name.push(rec[en]);
                            edge_to_raw.push(to / nf);
                            count += 1;
                        }
                    }
                    Ok(())
                })?;
                if fill != 0 {
                    return Err(InputError::at_byte(
                        name,
                        edges_off,
                        format!(
                            "`edges` has a partial record: its length is not a multiple of {ef} edge fields"
                        ),
                    ));
                }
            }
            "trace_function_infos" => {
                let Some(m) = &meta else {
                    src.skip_value()?;
                    continue;
                };
                let mut flat: Vec<u32> = Vec::new();
                src.numeric_array("trace_function_infos", &mut |vals, _| {
                    flat.extend_from_slice(vals);
                    Ok(())
                })?;
                alloc.set_functions(&m.trace_function_info_fields, &flat);
            }
            "trace_tree" => {
                let Some(m) = &meta else {
                    src.skip_value()?;
                    continue;
                };
                let off = src.offset();
                let text = src.collect_value(1 << 30)?;
                alloc
                    .set_tree(&m.trace_node_fields, &text)
                    .map_err(|e| InputError::at_byte(name, off, e))?;
            }
            "locations" => {
                let Some(m) = &meta else {
                    src.skip_value()?;
                    continue;
                };
                let lf = m.location_fields.len();
                let oi = field_index(&m.location_fields, "object_index");
                let si = field_index(&m.location_fields, "script_id");
                let li = field_index(&m.location_fields, "line");
                let ci = field_index(&m.location_fields, "column");
                let (Some(oi), Some(si), Some(li), Some(ci)) = (oi, si, li, ci) else {
                    src.skip_value()?;
                    continue;
                };
                let loc_off = src.offset();
                let mut rec = [0u32; 16];
                if lf > rec.len() {
                    src.skip_value()?;
                    continue;
                }
                let mut fill = 0;
                src.numeric_array("locations", &mut |vals, _| {
                    for &v in vals {
                        rec[fill] = v;
                        fill += 1;
                        if fill == lf {
                            fill = 0;
                            locations.push([rec[oi], rec[si], rec[li], rec[ci]]);
                        }
                    }
                    Ok(())
                })?;
                if fill != 0 {
                    return Err(InputError::at_byte(
                        name,
                        loc_off,
                        "`locations` has a partial record",
                    ));
                }
            }
            "strings" => {
                seen_strings = true;
                src.expect(b'[', "`[` opening the `strings` array")?;
                let mut first = true;
                loop {
                    match src.skip_ws()? {
                        Some(b']') => {
                            src.pos += 1;
                            break;
                        }
                        Some(b',') if !first => {
                            src.pos += 1;
                        }
                        Some(_) if first => {}
                        Some(b) => {
                            return Err(src.err(format!(
                                "expected `,` or `]` in `strings`, found {}",
                                describe_byte(b)
                            )));
                        }
                        None => {
                            return Err(src.err(
                                "unexpected end of input inside `strings` (file truncated?)",
                            ));
                        }
                    }
                    first = false;
                    let mut s = std::mem::take(&mut strings.data);
                    let r = src.string_into(&mut s);
                    strings.data = s;
                    r?;
                    strings.finish_one();
                    if strings.len() >= u32::MAX as usize {
                        return Err(src.err("more than 4294967295 strings"));
                    }
                }
            }
            _ => src.skip_value()?,
        }
    }
    if let Some(b) = src.skip_ws()? {
        return Err(src.err(format!(
            "unexpected {} after the end of the snapshot",
            describe_byte(b)
        )));
    }
    let Some(meta) = meta else {
        return Err(InputError::whole(
            name,
            "not a heap snapshot: no `snapshot` header",
        ));
    };
    let Some(layout) = layout else {
        return Err(InputError::whole(name, "not a heap snapshot"));
    };
    for (seen, what) in [
        (seen_nodes, "nodes"),
        (seen_edges, "edges"),
        (seen_strings, "strings"),
    ] {
        if !seen {
            return Err(InputError::whole(
                name,
                format!("not a heap snapshot: no `{what}` array"),
            ));
        }
    }
    let n = node_type.len() as u64;
    let m_edges = edge_type.len() as u64;
    if meta.node_count != 0 && meta.node_count != n {
        return Err(InputError::at_byte(
            name,
            nodes_off,
            format!(
                "header says node_count {} but `nodes` holds {n} nodes",
                meta.node_count
            ),
        ));
    }
    if meta.edge_count != 0 && meta.edge_count != m_edges {
        return Err(InputError::at_byte(
            name,
            edges_off,
            format!(
                "header says edge_count {} but `edges` holds {m_edges} edges",
                meta.edge_count
            ),
        ));
    }
    if n == 0 {
        return Err(InputError::at_byte(
            name,
            nodes_off,
            "the snapshot has no nodes",
        ));
    }
    let sum = *first_edge.last().unwrap_or(&0) as u64;
    if sum != m_edges {
        return Err(InputError::at_byte(
            name,
            nodes_off,
            format!("node edge_count fields add up to {sum} but `edges` holds {m_edges} edges"),
        ));
    }
    let ns = strings.len() as u32;
    if max_node_str.0 >= ns {
        return Err(InputError::at_byte(
            name,
            nodes_off,
            format!(
                "node {} names string {} but there are only {ns} strings",
                max_node_str.1, max_node_str.0
            ),
        ));
    }
    if m_edges > 0 && max_edge_str.0 >= ns {
        return Err(InputError::at_byte(
            name,
            edges_off,
            format!(
                "edge {} names string {} but there are only {ns} strings",
                max_edge_str.1, max_edge_str.0
            ),
        ));
    }
    let nf = layout.nf as u32;
    // Locations: object_index is a node-array index too. Invalid ones are dropped.
    locations.retain(|l| l[0] % nf == 0 && ((l[0] / nf) as u64) < n);
    for l in &mut locations {
        l[0] /= nf;
    }
    if node_trace.iter().all(|&t| t == 0) {
        node_trace = Vec::new();
    }
    Ok(RawSnapshot {
        node_trace,
        alloc,
        meta,
        node_type,
        node_name,
        node_id,
        node_self,
        node_det,
        first_edge,
        edge_type,
        edge_name,
        edge_to: edge_to_raw,
        locations,
        strings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<RawSnapshot, InputError> {
        parse_reader(s.as_bytes(), "t.heapsnapshot", &|_| {})
    }

    const HEAD: &str = r#"{"snapshot":{"meta":{"node_fields":["type","name","id","self_size","edge_count"],"node_types":[["hidden","synthetic","object"],"string","number","number","number"],"edge_fields":["type","name_or_index","to_node"],"edge_types":[["element","property","weak"],"string_or_number","node"],"location_fields":["object_index","script_id","line","column"]},"node_count":2,"edge_count":1},"#;

    #[test]
    fn parses_minimal_snapshot() {
        let s = format!(
            "{HEAD}\"nodes\":[1,1,1,0,1\n,2,2,3,10,0],\"edges\":[1,2,5],\"locations\":[5,1,2,3],\"strings\":[\"<dummy>\",\"\",\"a\\ud800b\",\"x\"]}}"
        );
        let r = parse(&s).unwrap();
        assert_eq!(r.node_count(), 2);
        assert_eq!(r.edge_to, vec![1]);
        assert_eq!(r.strings.get(2), "a\u{FFFD}b");
        assert_eq!(r.locations, vec![[1, 1, 2, 3]]);
    }

    #[test]
    fn counts_that_lie_are_errors() {
        let s = format!(
            "{}\"nodes\":[1,1,1,0,1],\"edges\":[1,2,5],\"strings\":[\"\"]}}",
            HEAD
        );
        let e = parse(&s).unwrap_err();
        assert!(e.to_string().contains("node_count 2"), "{e}");
    }

    #[test]
    fn out_of_range_edge_target_is_an_error() {
        let s = format!(
            "{HEAD}\"nodes\":[1,1,1,0,1,2,2,3,10,0],\"edges\":[1,2,10],\"strings\":[\"<dummy>\",\"\",\"a\",\"x\"]}}"
        );
        let e = parse(&s).unwrap_err();
        assert!(e.to_string().contains("points to node index 10"), "{e}");
    }

    #[test]
    fn numbers_over_u32_are_errors() {
        let s = format!(
            "{HEAD}\"nodes\":[1,1,1,0,1,2,2,3,99999999999,0],\"edges\":[1,2,5],\"strings\":[\"\"]}}"
        );
        let e = parse(&s).unwrap_err();
        assert!(e.to_string().contains("larger than"), "{e}");
    }

    #[test]
    fn truncation_anywhere_is_an_error_not_a_panic() {
        let s = format!(
            "{HEAD}\"nodes\":[1,1,1,0,1,2,2,3,10,0],\"edges\":[1,2,5],\"strings\":[\"<dummy>\",\"\",\"a\",\"x\"]}}"
        );
        assert!(parse(&s).is_ok());
        for cut in 0..s.len() {
            assert!(parse(&s[..cut]).is_err(), "cut at {cut} parsed");
        }
    }
}
