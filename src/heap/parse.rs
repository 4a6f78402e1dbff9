//! Streaming reader of `.heapsnapshot` JSON into flat columns.
//!
//! The file is never held as a JSON DOM, nor whole in memory: it comes in blocks
//! ([`crate::input::Blocks`], read ahead on a thread for files), a byte-level tokenizer walks
//! the top-level object, reads `snapshot` (the small header) with serde, and parses the big
//! numeric arrays (`nodes`, `edges`, `locations`) on every core straight into their final
//! columns: each block is cut into parts at separators, the numbers of each part are counted
//! in parallel, which tells every part which records it owns (a record cut by a part
//! boundary belongs to the part where it starts), and then every part parses and checks its
//! records into its own slices of the columns. `strings` is decoded into one interned
//! buffer; it accepts the lone surrogates V8 writes (they become U+FFFD). Offsets are u64,
//! node ordinals u32, self sizes u64 (up to 2^53, as DevTools and memlab hold them in doubles).
//!
//! Every malformed input is an [`InputError`] naming the file and the byte offset; when
//! several parts hold errors, the first in the file is reported.

use super::mem::advise_huge;
use crate::error::InputError;
use crate::input::{BLOCK_HEAD, Block, Blocks, ReadBlocks};
use rayon::prelude::*;
use serde::Deserialize;
use std::io::Read;

/// Deepest nesting accepted in parts of the file we skip.
const MAX_DEPTH: usize = 4096;
/// Most records reserved up front from the header's counts. The header may lie: reserving
/// its `node_count` of 4294967295 asked for 16 GiB at once and aborted the process where
/// that much address space is not available. Past this the columns grow as they fill.
const MAX_RESERVE: u64 = 1 << 26;
/// Largest `extra_native_bytes` accepted: 2^53, where doubles stop counting bytes exactly.
const MAX_EXTRA_NATIVE_BYTES: f64 = 9_007_199_254_740_992.0;
/// Largest `self_size` accepted: 2^53. One object can exceed 4 GiB (an `ArrayBuffer` of
/// 5 GiB is legal in Node); DevTools and memlab hold sizes in doubles, exact up to 2^53.
pub const MAX_SELF_SIZE: u64 = 1 << 53;
/// Most fields per record of a numeric array.
const MAX_FIELDS: usize = 32;
/// Bytes of a numeric block handed to one task: small enough for the cores to share a block
/// evenly, large enough that task overhead does not show.
const PART: usize = 256 << 10;

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
    /// `self_size` as in the file (up to 2^53). [`crate::heap::HeapGraph::build`] moves this
    /// column into `HeapGraph::self_size` (DevTools' adjusted sizes), leaving it empty.
    pub node_self: Vec<u64>,
    /// `detachedness` per node (0 unknown, 1 attached, 2 detached); empty if absent.
    /// [`crate::heap::HeapGraph::build`] moves it into `HeapGraph::det_state`.
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

/// What to keep of a snapshot.
#[derive(Debug, Clone, Copy)]
pub struct ParseOptions {
    /// Keep the text of strings that only name `string` nodes (the contents of JavaScript
    /// strings). The Summary and Comparison views never read it; without it the strings
    /// of a string-heavy heap take a fraction of the memory. Such strings read as `""`.
    pub string_contents: bool,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            string_contents: true,
        }
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

/// Progress callback: bytes consumed so far.
pub type Progress<'a> = &'a dyn Fn(u64);

/// Streaming byte source with absolute offsets: a window `buf[pos..len]` over the current
/// block, with the unread end of the previous block copied in front of it.
struct Src<'a, B: Blocks> {
    blocks: B,
    name: &'a str,
    buf: Vec<u8>,
    pos: usize,
    len: usize,
    /// Absolute offset of `buf[0]` (wrapping: the first block's free room lies before 0).
    base: u64,
    eof: bool,
    progress: Progress<'a>,
    /// A block buffer to hand back at the next fill.
    spare: Option<Vec<u8>>,
    /// Bytes of a numeric block per task ([`PART`]; smaller in tests of the splitting).
    part: usize,
}

impl<'a, B: Blocks> Src<'a, B> {
    fn new(blocks: B, name: &'a str, progress: Progress<'a>) -> Self {
        Src {
            blocks,
            name,
            buf: Vec::new(),
            pos: 0,
            len: 0,
            base: 0,
            eof: false,
            progress,
            spare: None,
            part: PART,
        }
    }

    fn offset(&self) -> u64 {
        self.base.wrapping_add(self.pos as u64)
    }

    fn err(&self, msg: impl Into<String>) -> InputError {
        InputError::at_byte(self.name, self.offset(), msg)
    }

    fn err_at(&self, off: u64, msg: impl Into<String>) -> InputError {
        InputError::at_byte(self.name, off, msg)
    }

    /// Appends the next block to the unread bytes. Returns false at end of input.
    fn fill(&mut self) -> Result<bool, InputError> {
        if self.eof {
            return Ok(false);
        }
        let end_so_far = self.base.wrapping_add(self.len as u64);
        let next = self
            .blocks
            .next_block(self.spare.take())
            .map_err(|e| self.err_at(end_so_far, format!("read error: {e}")))?;
        let Some(Block { buf, end }) = next else {
            self.eof = true;
            (self.progress)(end_so_far);
            return Ok(false);
        };
        let first_unread = self.offset();
        let tail = self.len - self.pos;
        let old = std::mem::take(&mut self.buf);
        if tail <= BLOCK_HEAD {
            let mut buf = buf;
            let start = BLOCK_HEAD - tail;
            buf[start..BLOCK_HEAD].copy_from_slice(&old[self.pos..self.len]);
            self.buf = buf;
            self.pos = start;
            self.len = end;
            if !old.is_empty() {
                self.spare = Some(old);
            }
        } else {
            // A token longer than the free room: rare (the parser consumes as it goes), so
            // copying is fine.
            let mut v = Vec::with_capacity(tail + end - BLOCK_HEAD);
            v.extend_from_slice(&old[self.pos..self.len]);
            v.extend_from_slice(&buf[BLOCK_HEAD..end]);
            self.len = v.len();
            self.buf = v;
            self.pos = 0;
            self.spare = Some(buf);
        }
        self.base = first_unread.wrapping_sub(self.pos as u64);
        (self.progress)(self.base.wrapping_add(self.len as u64));
        Ok(true)
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

    /// Passes over a JSON string (after skipping whitespace), refusing what
    /// [`Src::string_into`] refuses, without decoding it.
    fn skip_string(&mut self) -> Result<(), InputError> {
        self.expect(b'"', "a string")?;
        let start = self.offset() - 1;
        loop {
            if self.pos == self.len && !self.fill()? {
                return Err(self.err_at(start, "unterminated string (input ends inside it)"));
            }
            while self.pos < self.len {
                let b = self.buf[self.pos];
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            if self.pos == self.len {
                continue;
            }
            let b = self.buf[self.pos];
            if b == b'"' {
                self.pos += 1;
                return Ok(());
            }
            if b < 0x20 {
                return Err(self.err(format!(
                    "control character {} inside a string",
                    describe_byte(b)
                )));
            }
            let esc_off = self.offset();
            self.pos += 1;
            let Some(e) = self.peek()? else {
                return Err(self.err_at(start, "unterminated string (input ends inside it)"));
            };
            self.pos += 1;
            match e {
                b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {}
                b'u' => {
                    for _ in 0..4 {
                        let Some(h) = self.peek()? else {
                            return Err(self.err_at(esc_off, "truncated \\u escape"));
                        };
                        if !h.is_ascii_hexdigit() {
                            return Err(self.err_at(esc_off, "invalid \\u escape"));
                        }
                        self.pos += 1;
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

    /// Parses one numeric array (after `[`) block by block, as the module doc says: `limits[f]`
    /// is the largest value of field `f` of the `nf`; `on_block` stores each block's complete
    /// records (see [`BlockJob`]). A record cut by the end of a block is carried over as values.
    /// Returns the number of records (counted even where `on_block` stores nothing).
    fn numeric_array(
        &mut self,
        what: &str,
        nf: usize,
        limits: &[u64],
        on_block: &mut OnBlock<'_>,
    ) -> Result<u64, InputError> {
        self.expect(b'[', &format!("`[` opening the `{what}` array"))?;
        if nf == 0 || nf > MAX_FIELDS || limits.len() != nf {
            return Err(self.err(format!("unsupported number of `{what}` fields: {nf}")));
        }
        // Reported where the input ends.
        let truncated = |s: &Self| {
            s.err_at(
                s.base.wrapping_add(s.len as u64),
                format!("unexpected end of input inside the `{what}` array (file truncated?)"),
            )
        };
        let name = self.name;
        let in_what = |(off, msg): (u64, String)| {
            InputError::at_byte(name, off, format!("in `{what}`: {msg}"))
        };
        let mut carry: Vec<u64> = Vec::with_capacity(nf);
        let mut carry_off = 0u64;
        let mut records = 0u64;
        loop {
            if self.pos == self.len && !self.fill()? {
                return Err(truncated(self));
            }
            let window = &self.buf[self.pos..self.len];
            // Cut after the last separator (or `]`) so that no number is split. A large
            // window without one cannot hold a valid number: parsing it reports the error
            // (growing the window to find the end of the token read an endless run of digits
            // until memory ran out).
            let cut = if self.eof {
                window.len()
            } else {
                match window.iter().rposition(|&b| is_sep(b) || b == b']') {
                    Some(j) => j + 1,
                    None if window.len() < BLOCK_HEAD => {
                        if !self.fill()? {
                            return Err(truncated(self));
                        }
                        continue;
                    }
                    None => window.len(),
                }
            };
            let w_off = self.offset();
            let plan = plan_block(&window[..cut], w_off, carry.len(), nf, self.part);
            if plan.close.is_none() && self.eof {
                // Truncated: say so before the records are checked, as the last number
                // may be cut short ("15141" read as "1514") and fail a check misleadingly.
                self.pos += cut;
                return Err(truncated(self));
            }
            let body = &window[..plan.close.unwrap_or(cut)];
            let job = BlockJob {
                bytes: body,
                off: w_off,
                tasks: &plan.tasks,
                records: plan.records,
                first_record: records,
                pre: &carry,
                pre_off: carry_off,
                nf,
                limits,
            };
            let mut first_err = plan.bad_byte.map(|(at, b)| {
                (
                    at,
                    format!(
                        "unexpected {} in a numeric array (only unsigned integers are valid)",
                        describe_byte(b)
                    ),
                )
            });
            if let Err(e) = on_block(&job) {
                first_err = earliest(first_err, Some(e));
            }
            // The values after the last complete record start the next one.
            let mut rest = Vec::with_capacity(nf);
            let mut rest_off = carry_off;
            if plan.records == 0 {
                rest.extend_from_slice(&carry);
            }
            if let Some((at, skip)) = plan.rest {
                let base = rest.len();
                match parse_rest(body, w_off, at, skip, base, nf, limits, &mut rest) {
                    Ok(Some(off)) if base == 0 => rest_off = off,
                    Ok(_) => {}
                    Err(e) => first_err = earliest(first_err, Some(e)),
                }
            }
            if let Some(e) = first_err {
                return Err(in_what(e));
            }
            records += plan.records as u64;
            carry = rest;
            carry_off = rest_off;
            match plan.close {
                Some(j) => {
                    if !carry.is_empty() {
                        return Err(in_what((
                            carry_off,
                            format!(
                                "partial record: the array's length is not a multiple of its {nf} fields"
                            ),
                        )));
                    }
                    self.pos += j + 1;
                    return Ok(records);
                }
                None => self.pos += cut,
            }
        }
    }
}

/// An error at an absolute byte offset.
type PosError = (u64, String);
/// Stores the records of one block of a numeric array (see [`BlockJob`]).
type OnBlock<'s> = dyn FnMut(&BlockJob<'_>) -> Result<(), PosError> + 's;

/// One block of a numeric array, ready to be parsed into columns: `tasks` split it; task 0
/// completes the record begun by the carried values `pre` (first value at `pre_off`).
struct BlockJob<'a> {
    bytes: &'a [u8],
    /// Absolute offset of `bytes[0]`.
    off: u64,
    tasks: &'a [Task],
    /// Complete records in the block (the carried one included).
    records: usize,
    /// Records of the array before this block.
    first_record: u64,
    pre: &'a [u64],
    pre_off: u64,
    nf: usize,
    limits: &'a [u64],
}

/// Where one task starts in a block, how many numbers there end the record before it, and
/// which records (block-relative, `first..first + n`) it parses.
struct Task {
    start: usize,
    skip: usize,
    first: usize,
    n: usize,
}

struct Plan {
    tasks: Vec<Task>,
    records: usize,
    /// Position of the `]` closing the array, if in the block.
    close: Option<usize>,
    /// The values after the last complete record: the byte where counting starts, and how
    /// many numbers to pass there first.
    rest: Option<(usize, usize)>,
    /// The first byte that has no place in a numeric array, if any.
    bad_byte: Option<(u64, u8)>,
}

/// Counts the numbers of the parts of `b` in parallel and tells each part which records it
/// parses: a record belongs to the part holding its first value. `carried` values of a
/// record precede the block.
fn plan_block(b: &[u8], off: u64, carried: usize, nf: usize, part: usize) -> Plan {
    let part = part.max(1);
    let mut bounds = vec![0usize];
    let mut at = part;
    while at < b.len() {
        let mut c = at;
        while c < b.len() && b[c].is_ascii_digit() {
            c += 1;
        }
        if c < b.len() {
            bounds.push(c);
        }
        at = c + part;
    }
    bounds.push(b.len());
    bounds.dedup();
    let counts: Vec<PartCount> = bounds
        .par_windows(2)
        .map(|w| count_part(&b[w[0]..w[1]], w[0]))
        .collect();
    // Parts after the one holding `]` hold other JSON.
    let mut close = None;
    let mut bad_byte = None;
    let mut n_parts = counts.len();
    for (i, c) in counts.iter().enumerate() {
        if bad_byte.is_none()
            && let Some(p) = c.bad
        {
            bad_byte = Some((off + p as u64, b[p]));
        }
        if c.close.is_some() {
            close = c.close;
            n_parts = i + 1;
            break;
        }
    }
    if let (Some((p, _)), Some(cl)) = (bad_byte, close)
        && p >= off + cl as u64
    {
        bad_byte = None;
    }
    // Value index (from the carried values on) where each part starts.
    let mut v = Vec::with_capacity(n_parts + 1);
    let mut acc = carried;
    for c in &counts[..n_parts] {
        v.push(acc);
        acc += c.numbers;
    }
    v.push(acc);
    let total = acc;
    let records = total / nf;
    let ceil = |x: usize| x.div_ceil(nf);
    let mut tasks = Vec::with_capacity(n_parts);
    for i in 0..n_parts {
        let first = if i == 0 { 0 } else { ceil(v[i]).min(records) };
        let end = if i + 1 == n_parts {
            records
        } else {
            ceil(v[i + 1]).min(records)
        };
        let skip = if i == 0 { 0 } else { ceil(v[i]) * nf - v[i] };
        if end > first {
            tasks.push(Task {
                start: bounds[i],
                skip,
                first,
                n: end - first,
            });
        }
    }
    let rest = if total > records * nf {
        let r = records * nf;
        if r < carried {
            Some((0, 0))
        } else {
            // The part holding value `r`.
            let j = (0..n_parts).rev().find(|&j| v[j] <= r).unwrap_or(0);
            Some((bounds[j], r - v[j]))
        }
    } else {
        None
    };
    Plan {
        tasks,
        records,
        close,
        rest,
        bad_byte,
    }
}

struct PartCount {
    numbers: usize,
    /// First `]` (block-relative).
    close: Option<usize>,
    /// First byte that is no digit, separator or `]` (block-relative).
    bad: Option<usize>,
}

/// Bit i of the first mask: byte i of `c` (64 bytes) is a digit; of the second: it is a
/// digit or a separator. SSE2 (part of every x86-64) compares 16 bytes at a time.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
fn classify64(c: &[u8]) -> (u64, u64) {
    use std::arch::x86_64::*;
    assert!(c.len() >= 64);
    let (mut digits, mut valid) = (0u64, 0u64);
    for k in 0..4 {
        // SAFETY: SSE2 is enabled on every x86-64 target; the load reads 16 bytes at
        // `16 * k`, inside `c` (64 bytes or more, asserted above), unaligned as allowed.
        let x = unsafe { _mm_loadu_si128(c.as_ptr().add(16 * k) as *const __m128i) };
        let v = _mm_sub_epi8(x, _mm_set1_epi8(b'0' as i8));
        let d = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(9)), v);
        let sep = _mm_or_si128(
            _mm_or_si128(
                _mm_cmpeq_epi8(x, _mm_set1_epi8(b',' as i8)),
                _mm_cmpeq_epi8(x, _mm_set1_epi8(b'\n' as i8)),
            ),
            _mm_or_si128(
                _mm_or_si128(
                    _mm_cmpeq_epi8(x, _mm_set1_epi8(b' ' as i8)),
                    _mm_cmpeq_epi8(x, _mm_set1_epi8(b'\r' as i8)),
                ),
                _mm_cmpeq_epi8(x, _mm_set1_epi8(b'\t' as i8)),
            ),
        );
        digits |= (_mm_movemask_epi8(d) as u32 as u64 & 0xFFFF) << (16 * k);
        valid |= (_mm_movemask_epi8(_mm_or_si128(d, sep)) as u32 as u64 & 0xFFFF) << (16 * k);
    }
    (digits, valid)
}

/// [`classify64`] byte by byte, where SSE2 is not available.
#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn classify64(c: &[u8]) -> (u64, u64) {
    let (mut digits, mut valid) = (0u64, 0u64);
    for (i, &x) in c[..64].iter().enumerate() {
        let d = x.is_ascii_digit();
        digits |= (d as u64) << i;
        valid |= ((d || is_sep(x)) as u64) << i;
    }
    (digits, valid)
}

/// Counts the numbers of `b` (up to a `]`) and finds the first stray byte. `at` is the
/// position of `b` in its block.
fn count_part(b: &[u8], at: usize) -> PartCount {
    // SAFETY: SSE2 is part of the x86-64 baseline: every x86-64 CPU has it.
    #[cfg(target_arch = "x86_64")]
    return unsafe { count_part_sse2(b, at) };
    #[cfg(not(target_arch = "x86_64"))]
    count_part_with(b, at, classify64)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
fn count_part_sse2(b: &[u8], at: usize) -> PartCount {
    count_part_with(b, at, |c| classify64(c))
}

#[inline(always)]
fn count_part_with(b: &[u8], at: usize, classify64: impl Fn(&[u8]) -> (u64, u64)) -> PartCount {
    // 64 bytes at a time into bit masks: number starts are digits after a non-digit; any
    // byte that is neither a digit nor a separator sends us to the slow path below.
    let mut numbers = 0usize;
    let mut odd = false;
    let mut prev = 0u64;
    let mut chunks = b.chunks_exact(64);
    for c in &mut chunks {
        let (digits, valid) = classify64(c);
        numbers += (digits & !((digits << 1) | prev)).count_ones() as usize;
        odd |= valid != u64::MAX;
        prev = digits >> 63;
    }
    let mut prev = prev as u8;
    let mut odd = odd as u8;
    for &x in chunks.remainder() {
        let d = x.is_ascii_digit() as u8;
        numbers += (d & (prev ^ 1)) as usize;
        odd |= (d == 0 && !is_sep(x)) as u8;
        prev = d;
    }
    if odd == 0 {
        return PartCount {
            numbers,
            close: None,
            bad: None,
        };
    }
    // Something other than digits and separators: find the `]` and what precedes it.
    let close = b.iter().position(|&c| c == b']');
    let body = &b[..close.unwrap_or(b.len())];
    let bad = body
        .iter()
        .position(|&c| !c.is_ascii_digit() && !is_sep(c))
        .map(|p| at + p);
    let mut numbers = 0;
    let mut prev = false;
    for &c in body {
        let d = c.is_ascii_digit();
        numbers += (d && !prev) as usize;
        prev = d;
    }
    PartCount {
        numbers,
        close: close.map(|p| at + p),
        bad,
    }
}

/// The earlier of two errors.
fn earliest(a: Option<(u64, String)>, b: Option<(u64, String)>) -> Option<(u64, String)> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if b.0 < a.0 { b } else { a }),
        (a, None) => a,
        (None, b) => b,
    }
}

/// Why [`next_number`] found no number (block-relative positions).
#[derive(Clone, Copy)]
enum NumError {
    /// More than 19 digits, starting here.
    TooLong(usize),
    /// This byte where a number should start.
    Stray(usize),
    /// The bytes end where a number should start.
    End(usize),
}

/// The error message of a [`NumError`] or of a number over its field's limit.
#[cold]
fn num_error(b: &[u8], e: NumError, limit: u64) -> (usize, String) {
    match e {
        NumError::TooLong(at) => (at, format!("number larger than {limit}")),
        NumError::Stray(at) => (
            at,
            format!(
                "unexpected {} in a numeric array (only unsigned integers are valid)",
                describe_byte(b[at])
            ),
        ),
        NumError::End(at) => (at, "a record ends early".into()),
    }
}

/// Parses the number at or after `b[i]` (separators first). Returns the value, where it
/// starts and where it ends.
#[inline(always)]
fn next_number(b: &[u8], mut i: usize) -> Result<(u64, usize, usize), NumError> {
    while i < b.len() && is_sep(b[i]) {
        i += 1;
    }
    let start = i;
    let mut v: u64 = 0;
    while i < b.len() {
        let d = b[i].wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        if i - start == 19 {
            return Err(NumError::TooLong(start));
        }
        v = v * 10 + d as u64;
        i += 1;
    }
    if i == start {
        return Err(if i < b.len() {
            NumError::Stray(i)
        } else {
            NumError::End(i)
        });
    }
    Ok((v, start, i))
}

/// Passes `k` numbers from `b[i]` on; returns the position after the last.
fn skip_numbers(b: &[u8], mut i: usize, k: usize) -> usize {
    for _ in 0..k {
        while i < b.len() && !b[i].is_ascii_digit() {
            i += 1;
        }
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
    }
    i
}

/// Parses the values after the last complete record of a block into `out` (which may hold
/// the carried values of the same record). Returns the offset of the first value parsed.
#[allow(clippy::too_many_arguments)]
fn parse_rest(
    b: &[u8],
    off: u64,
    at: usize,
    skip: usize,
    field: usize,
    nf: usize,
    limits: &[u64],
    out: &mut Vec<u64>,
) -> Result<Option<u64>, (u64, String)> {
    let mut i = skip_numbers(b, at, skip);
    let mut f = field;
    let mut first = None;
    loop {
        while i < b.len() && is_sep(b[i]) {
            i += 1;
        }
        if i == b.len() || f >= nf {
            return Ok(first);
        }
        let (v, start, next) = match next_number(b, i) {
            Ok(x) if x.0 <= limits[f] => x,
            Ok(x) => {
                return Err((
                    off + x.1 as u64,
                    format!("number larger than {}", limits[f]),
                ));
            }
            Err(e) => {
                let (p, m) = num_error(b, e, limits[f]);
                return Err((off + p as u64, m));
            }
        };
        first.get_or_insert(off + start as u64);
        out.push(v);
        f += 1;
        i = next;
    }
}

/// Parses the records of one task into `part` through `store(part, k, record, offset)`.
fn run_task<P, F>(job: &BlockJob<'_>, task: &Task, part: &mut P, store: &F) -> Result<(), PosError>
where
    F: Fn(&mut P, usize, &[u64], u64) -> Result<(), String>,
{
    let b = job.bytes;
    let nf = job.nf.min(MAX_FIELDS);
    let mut limits = [u64::MAX; MAX_FIELDS];
    limits[..nf].copy_from_slice(&job.limits[..nf]);
    let abs = |p: usize| job.off + p as u64;
    let mut i = skip_numbers(b, task.start, task.skip);
    let mut rec = [0u64; MAX_FIELDS];
    for k in 0..task.n {
        let mut f = 0;
        let mut rec_off = 0u64;
        if k == 0 && task.first == 0 && !job.pre.is_empty() {
            let pre = &job.pre[..job.pre.len().min(nf)];
            rec[..pre.len()].copy_from_slice(pre);
            f = pre.len();
            rec_off = job.pre_off;
        }
        while f < nf {
            let (v, start, next) = match next_number(b, i) {
                Ok(x) => x,
                Err(e) => {
                    let (p, m) = num_error(b, e, limits[f]);
                    return Err((abs(p), m));
                }
            };
            if v > limits[f] {
                return Err((abs(start), format!("number larger than {}", limits[f])));
            }
            if f == 0 {
                rec_off = abs(start);
            }
            rec[f] = v;
            f += 1;
            i = next;
        }
        if let Err(m) = store(part, k, &rec[..nf], rec_off) {
            return Err((rec_off, m));
        }
    }
    Ok(())
}

/// Runs every task of a block on its own part of the columns, in parallel; the first error
/// in the file wins.
fn run_tasks<P, F>(job: &BlockJob<'_>, parts: Vec<P>, store: &F) -> Result<Vec<P>, PosError>
where
    P: Send,
    F: Fn(&mut P, usize, &[u64], u64) -> Result<(), String> + Sync,
{
    let results: Vec<Result<P, PosError>> = job
        .tasks
        .par_iter()
        .zip(parts.into_par_iter())
        .map(|(t, mut p)| run_task(job, t, &mut p, store).map(|()| p))
        .collect();
    let mut out = Vec::with_capacity(results.len());
    let mut err = None;
    for r in results {
        match r {
            Ok(p) => out.push(p),
            Err(e) => err = earliest(err, Some(e)),
        }
    }
    match err {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

/// Splits `s` into consecutive slices of the given sizes (empty slices when `s` is empty:
/// an absent optional column).
fn split_sizes<'a, T>(mut s: &'a mut [T], sizes: &[usize]) -> Vec<&'a mut [T]> {
    let mut out = Vec::with_capacity(sizes.len());
    for &n in sizes {
        let n = n.min(s.len());
        let (a, b) = std::mem::take(&mut s).split_at_mut(n);
        out.push(a);
        s = b;
    }
    out
}

/// Lengthens a column by `n` zeroed values, growing its capacity towards `hint` (the
/// header's count, 0 if none) rather than doubling past it.
fn grow<T: Copy + Default>(v: &mut Vec<T>, n: usize, hint: u64) {
    let want = v.len() + n;
    if want > v.capacity() {
        // Doubling (amortized), but not past the header's count while it is still ahead.
        let doubled = (v.capacity() as u64 * 2).max(1 << 16);
        let target = if hint > want as u64 {
            hint.min(doubled)
        } else {
            doubled
        };
        let target = (target as usize).max(want);
        v.reserve_exact(target - v.len());
        advise_huge(v);
    }
    v.resize(want, T::default());
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

/// Divides node-array indexes by the node field count without a division per edge
/// (`to / nf` for every one of hundreds of millions of edges showed in profiles).
#[derive(Clone, Copy)]
struct FastDiv {
    d: u64,
    m: u64,
}

impl FastDiv {
    fn new(d: u64) -> FastDiv {
        // ceil(2^64 / d): exact quotients for every 32-bit dividend (Lemire, Kaser, Kurz).
        let m = if d <= 1 { 0 } else { u64::MAX / d + 1 };
        FastDiv { d: d.max(1), m }
    }
    #[inline(always)]
    fn div(self, n: u32) -> u64 {
        if self.d == 1 {
            n as u64
        } else {
            ((self.m as u128 * n as u128) >> 64) as u64
        }
    }
}

/// One task's slices of the node columns.
struct NodePart<'a> {
    first: u64,
    ty: &'a mut [u8],
    name: &'a mut [u32],
    id: &'a mut [u32],
    size: &'a mut [u64],
    det: &'a mut [u8],
    trace: &'a mut [u32],
    ec: &'a mut [u32],
    max_name: (u32, u64),
}

/// One task's slices of the edge columns.
struct EdgePart<'a> {
    first: u64,
    ty: &'a mut [u8],
    name: &'a mut [u32],
    to: &'a mut [u32],
    max_name: (u32, u64),
}

/// The block-record sizes of a job's tasks.
fn task_sizes(job: &BlockJob<'_>) -> Vec<usize> {
    job.tasks.iter().map(|t| t.n).collect()
}

/// Strings that something other than a `string` node names: node names of other types and
/// the names of named edges. Index `i` is bit `i % 64` of word `i / 64`. One bitset per
/// thread, then merged. `None` when the largest index named is out of proportion to the
/// snapshot (the file is then refused once the strings are counted; a bitset that large
/// would only use memory on the way).
fn named_by_others(
    node_type: &[u8],
    node_name: &[u32],
    edge_type: &[u8],
    edge_name: &[u32],
    string_type: u8,
    named: &[bool],
    n_strings: usize,
) -> Option<Vec<u64>> {
    if n_strings > 2 * (node_type.len() + edge_type.len()) + 1024 {
        return None;
    }
    let words = n_strings.div_ceil(64);
    let parts = rayon::current_num_threads().max(1);
    let chunk = |len: usize| len.div_ceil(parts).max(1);
    let mark = |set: &mut [u64], s: u32| {
        if let Some(w) = set.get_mut(s as usize / 64) {
            *w |= 1 << (s % 64);
        }
    };
    let node_sets: Vec<Vec<u64>> = node_type
        .par_chunks(chunk(node_type.len()))
        .zip(node_name.par_chunks(chunk(node_type.len())))
        .map(|(ts, ss)| {
            let mut set = vec![0u64; words];
            for (&t, &s) in ts.iter().zip(ss) {
                if t != string_type {
                    mark(&mut set, s);
                }
            }
            set
        })
        .collect();
    let edge_sets: Vec<Vec<u64>> = edge_type
        .par_chunks(chunk(edge_type.len()))
        .zip(edge_name.par_chunks(chunk(edge_type.len())))
        .map(|(ts, ss)| {
            let mut set = vec![0u64; words];
            for (&t, &s) in ts.iter().zip(ss) {
                if named.get(t as usize).copied().unwrap_or(false) {
                    mark(&mut set, s);
                }
            }
            set
        })
        .collect();
    let mut all = vec![0u64; words];
    for set in node_sets.iter().chain(&edge_sets) {
        for (x, y) in all.iter_mut().zip(set) {
            *x |= y;
        }
    }
    Some(all)
}

/// Parses a whole snapshot from a reader. `name` is used in error messages.
pub fn parse_reader<R: Read>(
    r: R,
    name: &str,
    progress: Progress<'_>,
) -> Result<RawSnapshot, InputError> {
    parse_blocks(ReadBlocks::new(r), name, progress, ParseOptions::default())
}

/// Parses a whole snapshot from blocks ([`crate::input::open_stream`] reads them ahead).
pub fn parse_blocks<B: Blocks>(
    blocks: B,
    name: &str,
    progress: Progress<'_>,
    opts: ParseOptions,
) -> Result<RawSnapshot, InputError> {
    parse_impl(blocks, name, progress, opts, false, PART)
}

/// [`parse_reader`] with numeric blocks cut into parts of `part` bytes instead of 256 KiB,
/// so that small inputs exercise how records are shared out between parts (tests, fuzzing).
/// The result must be the same for every `part`.
#[doc(hidden)]
pub fn parse_reader_parts<R: Read>(
    r: R,
    name: &str,
    part: usize,
) -> Result<RawSnapshot, InputError> {
    parse_impl(
        ReadBlocks::new(r),
        name,
        &|_| {},
        ParseOptions::default(),
        false,
        part,
    )
}

/// Reads a snapshot as far as the leak finder needs a snapshot other than the last one
/// ([`SnapshotIds`](super::ids::SnapshotIds)): the nodes and the strings are parsed as
/// always; `edges` and `locations` are only checked for stray bytes and counted (the counts
/// must still agree), never stored, and the allocation stacks are passed over. The columns
/// are dropped once the ids are taken. About half the work and a fifth of the memory of a
/// whole parse.
pub fn parse_ids<B: Blocks>(
    blocks: B,
    name: &str,
    progress: Progress<'_>,
) -> Result<super::ids::SnapshotIds, InputError> {
    let raw = parse_impl(blocks, name, progress, ParseOptions::default(), true, PART)?;
    Ok(super::ids::SnapshotIds::from_raw(&raw))
}

/// The parser. `ids_only`: store no edges, locations or allocation stacks ([`parse_ids`]);
/// `part`: bytes of a numeric block per task.
fn parse_impl<B: Blocks>(
    blocks: B,
    name: &str,
    progress: Progress<'_>,
    opts: ParseOptions,
    ids_only: bool,
    part: usize,
) -> Result<RawSnapshot, InputError> {
    let mut src = Src::new(blocks, name, progress);
    src.part = part;
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
    let mut node_type: Vec<u8> = Vec::new();
    let mut node_name: Vec<u32> = Vec::new();
    let mut node_id: Vec<u32> = Vec::new();
    let mut node_self: Vec<u64> = Vec::new();
    let mut node_det: Vec<u8> = Vec::new();
    let mut node_trace: Vec<u32> = Vec::new();
    let mut alloc = super::alloc::AllocTraces::default();
    let mut first_edge: Vec<u32> = Vec::new();
    let mut edge_type: Vec<u8> = Vec::new();
    let mut edge_name: Vec<u32> = Vec::new();
    let mut edge_to: Vec<u32> = Vec::new();
    let mut locations: Vec<[u32; 4]> = Vec::new();
    let mut strings = Strings::default();
    let mut seen_nodes = false;
    let mut seen_edges = false;
    let mut seen_strings = false;
    let mut edge_records = 0u64;
    let mut nodes_off = 0u64;
    let mut edges_off = 0u64;
    let mut key = String::new();
    // The largest string index named by a node and by a named edge, and which one.
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
                if nl.nf > MAX_FIELDS || el.0 > MAX_FIELDS {
                    return Err(bad("too many node or edge fields".into()));
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
                if seen_nodes {
                    return Err(InputError::at_byte(name, key_off, "a second `nodes` array"));
                }
                seen_nodes = true;
                nodes_off = src.offset();
                let hint = m.node_count;
                let cap = hint.min(MAX_RESERVE) as usize;
                node_type.reserve_exact(cap);
                node_name.reserve_exact(cap);
                node_id.reserve_exact(cap);
                node_self.reserve_exact(cap);
                first_edge.reserve_exact(cap + 1);
                if l.det.is_some() {
                    node_det.reserve_exact(cap);
                }
                advise_huge(&mut node_type);
                advise_huge(&mut node_name);
                advise_huge(&mut node_id);
                advise_huge(&mut node_self);
                advise_huge(&mut first_edge);
                advise_huge(&mut node_det);
                let ntypes = m.node_types.len() as u64;
                let mut limits = vec![u32::MAX as u64; l.nf];
                limits[l.size] = MAX_SELF_SIZE;
                let det_field = if ids_only { None } else { l.det };
                let trace_field = if ids_only { None } else { l.trace };
                let store = |p: &mut NodePart<'_>, k: usize, rec: &[u64], _: u64| {
                    let t = rec[l.t];
                    if t >= ntypes {
                        return Err(format!(
                            "node {} has type {t} but only {ntypes} node types exist",
                            p.first + k as u64
                        ));
                    }
                    p.ty[k] = t as u8;
                    let nm = rec[l.name] as u32;
                    p.name[k] = nm;
                    if nm >= p.max_name.0 {
                        p.max_name = (nm, p.first + k as u64);
                    }
                    p.id[k] = rec[l.id] as u32;
                    p.size[k] = rec[l.size];
                    if let Some(d) = det_field {
                        p.det[k] = (rec[d] & 3) as u8;
                    }
                    if let Some(t) = trace_field {
                        p.trace[k] = rec[t] as u32;
                    }
                    p.ec[k] = rec[l.ec] as u32;
                    Ok(())
                };
                let has_det = det_field.is_some();
                let has_trace = trace_field.is_some();
                src.numeric_array("nodes", l.nf, &limits, &mut |job| {
                    if job.first_record + job.records as u64 > u32::MAX as u64 - 1 {
                        return Err((job.off, "more than 4294967294 nodes".into()));
                    }
                    let at = node_type.len();
                    let n = job.records;
                    grow(&mut node_type, n, hint);
                    grow(&mut node_name, n, hint);
                    grow(&mut node_id, n, hint);
                    grow(&mut node_self, n, hint);
                    grow(&mut first_edge, n, hint + 1);
                    if has_det {
                        grow(&mut node_det, n, hint);
                    }
                    if has_trace {
                        grow(&mut node_trace, n, hint);
                    }
                    let sizes = task_sizes(job);
                    let mut ty = split_sizes(&mut node_type[at..], &sizes).into_iter();
                    let mut nm = split_sizes(&mut node_name[at..], &sizes).into_iter();
                    let mut id = split_sizes(&mut node_id[at..], &sizes).into_iter();
                    let mut sz = split_sizes(&mut node_self[at..], &sizes).into_iter();
                    let mut ec = split_sizes(&mut first_edge[at..], &sizes).into_iter();
                    let det_from = at.min(node_det.len());
                    let mut det = split_sizes(&mut node_det[det_from..], &sizes).into_iter();
                    let trace_from = at.min(node_trace.len());
                    let mut trace = split_sizes(&mut node_trace[trace_from..], &sizes).into_iter();
                    let parts: Vec<NodePart<'_>> = job
                        .tasks
                        .iter()
                        .map(|t| NodePart {
                            first: job.first_record + t.first as u64,
                            ty: ty.next().unwrap_or_default(),
                            name: nm.next().unwrap_or_default(),
                            id: id.next().unwrap_or_default(),
                            size: sz.next().unwrap_or_default(),
                            det: det.next().unwrap_or_default(),
                            trace: trace.next().unwrap_or_default(),
                            ec: ec.next().unwrap_or_default(),
                            max_name: (0, 0),
                        })
                        .collect();
                    // The last node naming the largest index, as a sequential scan finds it.
                    for p in run_tasks(job, parts, &store)? {
                        max_node_str = max_node_str.max(p.max_name);
                    }
                    Ok(())
                })?;
                let count = node_type.len() as u64;
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
                // Every size sum (retained sizes, class totals, the total) stays exact and
                // cannot overflow when the sizes add up to at most 2^53 (8 PiB, far past any
                // real heap).
                let total = node_self.iter().fold(0u64, |a, &s| a.saturating_add(s));
                if total > MAX_SELF_SIZE {
                    return Err(InputError::at_byte(
                        name,
                        nodes_off,
                        format!("self sizes add up to more than {MAX_SELF_SIZE} bytes"),
                    ));
                }
                // Edge counts into their prefix sums, in place.
                let mut sum: u64 = 0;
                for fe in first_edge.iter_mut() {
                    let c = *fe as u64;
                    *fe = sum as u32;
                    sum += c;
                    if sum > u32::MAX as u64 {
                        return Err(InputError::at_byte(
                            name,
                            nodes_off,
                            "edge counts add up to more than 4294967295 edges",
                        ));
                    }
                }
                first_edge.push(sum as u32);
            }
            "edges" => {
                let (Some(m), Some((ef, et, en, eto))) = (&meta, edge_layout) else {
                    return Err(InputError::at_byte(
                        name,
                        key_off,
                        "`edges` comes before the `snapshot` header",
                    ));
                };
                if !seen_nodes {
                    return Err(InputError::at_byte(
                        name,
                        key_off,
                        "`edges` comes before `nodes`",
                    ));
                }
                if seen_edges {
                    return Err(InputError::at_byte(name, key_off, "a second `edges` array"));
                }
                seen_edges = true;
                edges_off = src.offset();
                let hint = m.edge_count;
                let cap = hint.min(MAX_RESERVE) as usize;
                edge_type.reserve_exact(cap);
                edge_name.reserve_exact(cap);
                edge_to.reserve_exact(cap);
                advise_huge(&mut edge_type);
                advise_huge(&mut edge_name);
                advise_huge(&mut edge_to);
                let etypes = m.edge_types.len() as u64;
                let n_nodes = node_type.len() as u64;
                let nf = layout.as_ref().map_or(1, |l| l.nf as u64);
                let div = FastDiv::new(nf);
                let named: Vec<bool> = m
                    .edge_types
                    .iter()
                    .map(|t| t != "element" && t != "hidden")
                    .collect();
                let limits = vec![u32::MAX as u64; ef];
                let store = |p: &mut EdgePart<'_>, k: usize, rec: &[u64], _: u64| {
                    let t = rec[et];
                    if t >= etypes {
                        return Err(format!(
                            "edge {} has type {t} but only {etypes} edge types exist",
                            p.first + k as u64
                        ));
                    }
                    let to = rec[eto] as u32;
                    let q = div.div(to);
                    if q * nf != to as u64 || q >= n_nodes {
                        return Err(format!(
                            "edge {} points to node index {to} which is not a node (node_count {n_nodes}, {nf} fields)",
                            p.first + k as u64
                        ));
                    }
                    let nm = rec[en] as u32;
                    if named[t as usize] && nm >= p.max_name.0 {
                        p.max_name = (nm, p.first + k as u64);
                    }
                    p.ty[k] = t as u8;
                    p.name[k] = nm;
                    p.to[k] = q as u32;
                    Ok(())
                };
                edge_records = src.numeric_array("edges", ef, &limits, &mut |job| {
                    if ids_only {
                        return Ok(());
                    }
                    let at = edge_type.len();
                    let n = job.records;
                    grow(&mut edge_type, n, hint);
                    grow(&mut edge_name, n, hint);
                    grow(&mut edge_to, n, hint);
                    let sizes = task_sizes(job);
                    let mut ty = split_sizes(&mut edge_type[at..], &sizes).into_iter();
                    let mut nm = split_sizes(&mut edge_name[at..], &sizes).into_iter();
                    let mut to = split_sizes(&mut edge_to[at..], &sizes).into_iter();
                    let parts: Vec<EdgePart<'_>> = job
                        .tasks
                        .iter()
                        .map(|t| EdgePart {
                            first: job.first_record + t.first as u64,
                            ty: ty.next().unwrap_or_default(),
                            name: nm.next().unwrap_or_default(),
                            to: to.next().unwrap_or_default(),
                            max_name: (0, 0),
                        })
                        .collect();
                    for p in run_tasks(job, parts, &store)? {
                        max_edge_str = max_edge_str.max(p.max_name);
                    }
                    Ok(())
                })?;
            }
            "trace_function_infos" => {
                let Some(m) = &meta else {
                    src.skip_value()?;
                    continue;
                };
                let nf = m.trace_function_info_fields.len();
                if ids_only || nf == 0 || nf > MAX_FIELDS {
                    src.skip_value()?;
                    continue;
                }
                // Small (one row per function that allocated): stored row by row.
                let mut flat: Vec<u32> = Vec::new();
                let limits = vec![u32::MAX as u64; nf];
                let store = |p: &mut &mut [u32], k: usize, rec: &[u64], _: u64| {
                    for (f, &v) in rec.iter().enumerate() {
                        p[k * nf + f] = v as u32;
                    }
                    Ok(())
                };
                src.numeric_array("trace_function_infos", nf, &limits, &mut |job| {
                    let at = flat.len();
                    grow(&mut flat, job.records * nf, 0);
                    let sizes: Vec<usize> = task_sizes(job).iter().map(|n| n * nf).collect();
                    let parts = split_sizes(&mut flat[at..], &sizes);
                    run_tasks(job, parts, &store)?;
                    Ok(())
                })?;
                alloc.set_functions(&m.trace_function_info_fields, &flat);
            }
            "trace_tree" => {
                let (Some(m), false) = (&meta, ids_only) else {
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
                if lf > MAX_FIELDS || !locations.is_empty() {
                    src.skip_value()?;
                    continue;
                }
                let limits = vec![u32::MAX as u64; lf];
                let store = |p: &mut &mut [[u32; 4]], k: usize, rec: &[u64], _: u64| {
                    p[k] = [
                        rec[oi] as u32,
                        rec[si] as u32,
                        rec[li] as u32,
                        rec[ci] as u32,
                    ];
                    Ok(())
                };
                src.numeric_array("locations", lf, &limits, &mut |job| {
                    if ids_only {
                        return Ok(());
                    }
                    let at = locations.len();
                    grow(&mut locations, job.records, 0);
                    let sizes = task_sizes(job);
                    let parts = split_sizes(&mut locations[at..], &sizes);
                    run_tasks(job, parts, &store)?;
                    Ok(())
                })?;
            }
            "strings" => {
                if seen_strings {
                    return Err(InputError::at_byte(
                        name,
                        key_off,
                        "a second `strings` array",
                    ));
                }
                seen_strings = true;
                // Which strings to keep the text of (all unless told otherwise, and all when
                // `strings` comes before the arrays that name them).
                let string_type = meta
                    .as_ref()
                    .and_then(|m| m.node_types.iter().position(|t| t == "string"));
                let keep: Option<Vec<u64>> = match (opts.string_contents, string_type, &meta) {
                    (false, Some(st), Some(m)) if seen_nodes && seen_edges => {
                        let named: Vec<bool> = m
                            .edge_types
                            .iter()
                            .map(|t| t != "element" && t != "hidden")
                            .collect();
                        let n = max_node_str.0.max(max_edge_str.0) as usize + 1;
                        named_by_others(
                            &node_type, &node_name, &edge_type, &edge_name, st as u8, &named, n,
                        )
                    }
                    _ => None,
                };
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
                    let i = strings.len();
                    let kept = keep
                        .as_ref()
                        .is_none_or(|k| k.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0));
                    if kept {
                        let mut s = std::mem::take(&mut strings.data);
                        let r = src.string_into(&mut s);
                        strings.data = s;
                        r?;
                    } else {
                        src.skip_string()?;
                    }
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
    let m_edges = edge_records;
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
        edge_to,
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
            "{HEAD}\"nodes\":[1,1,1,0,1,2,2,99999999999,10,0],\"edges\":[1,2,5],\"strings\":[\"\"]}}"
        );
        let e = parse(&s).unwrap_err();
        assert!(e.to_string().contains("larger than 4294967295"), "{e}");
    }

    /// The columns of two parses, for comparing them.
    fn columns(r: &RawSnapshot) -> impl PartialEq + std::fmt::Debug {
        (
            (
                &r.node_type,
                &r.node_name,
                &r.node_id,
                &r.node_self,
                &r.node_det,
            ),
            (&r.first_edge, &r.edge_type, &r.edge_name, &r.edge_to),
            &r.locations,
            (0..r.strings.len() as u32)
                .map(|i| r.strings.get(i).to_string())
                .collect::<Vec<_>>(),
        )
    }

    /// However a block is cut into parts, each record is read once, whole, by the part
    /// holding its first value: the columns do not depend on the part size.
    #[test]
    fn part_size_changes_nothing() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/heap/node24-mixed.heapsnapshot.gz"
        );
        let mut gz = Vec::new();
        flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
            .read_to_end(&mut gz)
            .unwrap();
        let want = parse_reader(&gz[..], "t", &|_| {}).unwrap();
        for part in [1, 5, 64, 97, 4096] {
            let got = parse_reader_parts(&gz[..], "t", part).unwrap();
            assert!(columns(&got) == columns(&want), "part size {part}");
        }
    }

    /// `parse_ids` keeps what the leak finder reads of earlier snapshots, equal to the ids of
    /// a whole parse, and still refuses what a whole parse refuses in the parts it only counts.
    #[test]
    fn ids_only_parse_matches_the_whole_parse() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/heap/node22-seq-2.heapsnapshot.gz"
        );
        let mut gz = Vec::new();
        flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
            .read_to_end(&mut gz)
            .unwrap();
        let whole = parse(std::str::from_utf8(&gz).unwrap()).unwrap();
        let ids = parse_ids(ReadBlocks::new(&gz[..]), "t", &|_| {}).unwrap();
        assert_eq!(ids, crate::heap::ids::SnapshotIds::from_raw(&whole));
        assert_eq!(ids.node_count, whole.node_count() as u64);
        assert!(ids.ids.len() > 1000);
        // A stray byte deep in `edges`, an edge too many, a cut file: refused.
        let edges = gz.windows(9).position(|w| w == b"\"edges\":[").unwrap();
        let mut stray = gz.clone();
        let at = edges + (gz.len() - edges) / 3;
        let at = at + stray[at..].iter().position(|b| b.is_ascii_digit()).unwrap();
        stray[at] = b'x';
        let mut extra = gz.clone();
        extra.splice(edges + 9..edges + 9, b"1,1,7,".iter().copied());
        for (what, bad) in [
            ("stray", &stray[..]),
            ("extra", &extra[..]),
            ("cut", &gz[..gz.len() * 2 / 3]),
        ] {
            assert!(
                parse(std::str::from_utf8(bad).unwrap_or("")).is_err(),
                "{what}"
            );
            assert!(
                parse_ids(ReadBlocks::new(bad), "t", &|_| {}).is_err(),
                "{what}"
            );
        }
    }

    /// Strings whose text is not kept (`string_contents: false`) are checked like the others:
    /// the same input is refused the same way whether it is kept or not.
    #[test]
    fn skipped_strings_are_checked_like_kept_ones() {
        let lean = ParseOptions {
            string_contents: false,
        };
        // Node 1 is a `string` node (type 2) named by string 3, which nothing else names.
        let head = HEAD.replace("\"object\"]", "\"string\"]");
        let snap = |s3: &str| {
            format!(
                "{head}\"nodes\":[1,1,1,0,1,2,3,3,10,0],\"edges\":[1,2,5],\"strings\":[\"<dummy>\",\"\",\"a\",{s3}]}}"
            )
        };
        let ok = snap("\"fine \\u00e9 \\n\"");
        let full = parse(&ok).unwrap();
        let skipped = parse_blocks(ReadBlocks::new(ok.as_bytes()), "t", &|_| {}, lean).unwrap();
        assert_eq!(full.strings.get(3), "fine é \n");
        assert_eq!(skipped.strings.get(3), "");
        assert_eq!(skipped.strings.get(2), "a");
        for bad in [
            "\"tab\there\"",
            "\"bad \\x escape\"",
            "\"cut \\u12\"",
            "\"hex \\u12zz\"",
            "\"never ends",
        ] {
            let text = snap(bad);
            let a = parse(&text).unwrap_err().to_string();
            let b = parse_blocks(
                ReadBlocks::new(text.as_bytes()),
                "t.heapsnapshot",
                &|_| {},
                lean,
            )
            .unwrap_err()
            .to_string();
            assert_eq!(a, b, "{bad}");
        }
    }

    /// Regression: a snapshot holding one object of 4 GiB or more (an `ArrayBuffer` of
    /// 5 GiB, which Node allows) was refused: "in `nodes`: number larger than 4294967295".
    #[test]
    fn self_sizes_past_4_gib_are_read_exactly() {
        for size in [4_294_967_296u64, 5 << 30, 9_007_199_254_740_992] {
            let s = format!(
                "{HEAD}\"nodes\":[1,1,1,0,1,2,2,3,{size},0],\"edges\":[1,2,5],\"strings\":[\"<dummy>\",\"\",\"a\",\"x\"]}}"
            );
            let r = parse(&s).unwrap();
            assert_eq!(r.node_self, vec![0, size]);
        }
        // Sizes adding up past 2^53 would no longer sum exactly (nor fit a u64, in the end).
        let s = format!(
            "{HEAD}\"nodes\":[1,1,1,9007199254740992,1,2,2,3,9007199254740992,0],\"edges\":[1,2,5],\"strings\":[\"<dummy>\",\"\",\"a\",\"x\"]}}"
        );
        let e = parse(&s).unwrap_err();
        assert!(e.to_string().contains("add up to more than"), "{e}");
        let s = format!(
            "{HEAD}\"nodes\":[1,1,1,0,1,2,2,3,9007199254740993,0],\"edges\":[1,2,5],\"strings\":[\"\"]}}"
        );
        let e = parse(&s).unwrap_err();
        assert!(
            e.to_string().contains("larger than 9007199254740992"),
            "{e}"
        );
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
