//! V8 heap snapshots: parsing, the graph, and the numbers Chrome DevTools computes
//! (adjusted shallow sizes, dominators, retained sizes, distances, class names, Summary and
//! Comparison views), plus retainer paths and source locations for the leak finder.

pub mod diff;
pub mod dominators;
pub mod graph;
pub mod names;
pub mod parse;
pub mod paths;
pub mod source;
pub mod summary;

pub use graph::HeapGraph;

use crate::error::InputError;
use std::io::Read;

/// Opens `path` (or `-` for stdin) as a byte stream, gunzipping when the data is gzip.
/// Returns the display name and the reader.
pub fn open(path: &str) -> Result<(String, Box<dyn Read + Send>), InputError> {
    use std::io::BufRead;
    let name = if path == "-" { "<stdin>" } else { path }.to_string();
    let inner: Box<dyn Read + Send> = if path == "-" {
        Box::new(std::io::stdin())
    } else {
        let f = std::fs::File::open(path)
            .map_err(|e| InputError::whole(&name, format!("cannot open: {e}")))?;
        let meta = f
            .metadata()
            .map_err(|e| InputError::whole(&name, format!("cannot read: {e}")))?;
        if meta.is_dir() {
            return Err(InputError::whole(&name, "is a directory, not a file"));
        }
        Box::new(f)
    };
    let mut br = std::io::BufReader::with_capacity(1 << 20, inner);
    let head = br
        .fill_buf()
        .map_err(|e| InputError::whole(&name, format!("cannot read: {e}")))?;
    if head.len() >= 2 && head[0] == 0x1f && head[1] == 0x8b {
        return Ok((name, Box::new(flate2::bufread::MultiGzDecoder::new(br))));
    }
    Ok((name, Box::new(br)))
}

/// Reads and parses a snapshot, reporting compressed-or-plain bytes read to `progress`.
pub fn read(path: &str, progress: parse::Progress<'_>) -> Result<parse::RawSnapshot, InputError> {
    let (name, reader) = open(path)?;
    let reader = Prefetch::new(Box::new(GzErrors { inner: reader }));
    parse::parse_reader(reader, &name, progress)
}

/// Reads, parses and analyses a snapshot.
pub fn load(path: &str, progress: parse::Progress<'_>) -> Result<HeapGraph, InputError> {
    Ok(HeapGraph::build(read(path, progress)?))
}

/// Labels read errors of the decompressor as broken gzip data.
struct GzErrors<R> {
    inner: R,
}

impl<R: Read> Read for GzErrors<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.inner.read(buf).map_err(|e| {
            if e.kind() == std::io::ErrorKind::InvalidInput
                || e.kind() == std::io::ErrorKind::InvalidData
                || e.kind() == std::io::ErrorKind::UnexpectedEof
            {
                std::io::Error::new(e.kind(), format!("broken gzip data: {e}"))
            } else {
                e
            }
        })
    }
}

/// Reads ahead on a thread of its own (file reads and gunzip overlap with parsing).
struct Prefetch {
    rx: std::sync::mpsc::Receiver<std::io::Result<Vec<u8>>>,
    cur: Vec<u8>,
    pos: usize,
    done: bool,
}

impl Prefetch {
    const CHUNK: usize = 4 << 20;

    fn new(mut inner: Box<dyn Read + Send>) -> Prefetch {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        std::thread::spawn(move || {
            loop {
                let mut buf = vec![0u8; Self::CHUNK];
                let mut n = 0;
                let res = loop {
                    if n == buf.len() {
                        break Ok(());
                    }
                    match inner.read(&mut buf[n..]) {
                        Ok(0) => break Ok(()),
                        Ok(k) => n += k,
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        Err(e) => break Err(e),
                    }
                };
                buf.truncate(n);
                let last = n == 0;
                let msg = match res {
                    Ok(()) => Ok(buf),
                    Err(e) => Err(e),
                };
                let failed = msg.is_err();
                // A closed receiver means the parser stopped: stop reading too.
                if tx.send(msg).is_err() || last || failed {
                    return;
                }
            }
        });
        Prefetch {
            rx,
            cur: Vec::new(),
            pos: 0,
            done: false,
        }
    }
}

impl Read for Prefetch {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.pos == self.cur.len() {
            if self.done {
                return Ok(0);
            }
            match self.rx.recv() {
                Ok(Ok(v)) => {
                    if v.is_empty() {
                        self.done = true;
                    }
                    self.cur = v;
                    self.pos = 0;
                }
                Ok(Err(e)) => {
                    self.done = true;
                    return Err(e);
                }
                Err(_) => {
                    self.done = true;
                }
            }
        }
        let n = out.len().min(self.cur.len() - self.pos);
        out[..n].copy_from_slice(&self.cur[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}
