//! Reading evidence files and writing outputs.
//!
//! Inputs: a path, or `-` for stdin; gzip is detected by its magic bytes, not by the name.
//! `load` memory-maps plain files; `open_stream` streams large inputs (heap snapshots).
//! Outputs are written to a temporary file in the target directory and renamed into place,
//! so a failed run never leaves a half-written file.

use crate::error::InputError;
use std::io::{Read, Write};
use std::path::Path;

/// The bytes of one input, memory-mapped or owned.
pub enum Bytes {
    Mapped(memmap2::Mmap),
    Owned(Vec<u8>),
}

impl std::ops::Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Mapped(m) => m,
            Bytes::Owned(v) => v,
        }
    }
}

/// A loaded input: its display name and its (decompressed) bytes.
pub struct Input {
    pub name: String,
    pub bytes: Bytes,
}

fn io_err(name: &str, e: std::io::Error) -> InputError {
    InputError::whole(name, format!("cannot read: {e}"))
}

/// Reads `path` (or stdin for `-`), decompressing gzip transparently.
pub fn load(path: &str) -> Result<Input, InputError> {
    let name = if path == "-" { "<stdin>" } else { path }.to_string();
    let raw = if path == "-" {
        let mut v = Vec::new();
        std::io::stdin()
            .lock()
            .read_to_end(&mut v)
            .map_err(|e| io_err(&name, e))?;
        Bytes::Owned(v)
    } else {
        let f = std::fs::File::open(path).map_err(|e| io_err(&name, e))?;
        let meta = f.metadata().map_err(|e| io_err(&name, e))?;
        if meta.is_dir() {
            return Err(InputError::whole(&name, "is a directory, not a file"));
        }
        if meta.len() == 0 {
            Bytes::Owned(Vec::new())
        } else {
            // SAFETY: the map is read-only and private to this process; a file truncated by
            // another process while we read it is outside what this tool can defend against,
            // the same trade-off ripgrep makes for its mmap search.
            match unsafe { memmap2::Mmap::map(&f) } {
                Ok(m) => Bytes::Mapped(m),
                Err(_) => {
                    let mut v = Vec::with_capacity(meta.len() as usize);
                    let mut f = f;
                    f.read_to_end(&mut v).map_err(|e| io_err(&name, e))?;
                    Bytes::Owned(v)
                }
            }
        }
    };
    if is_gzip(&raw) {
        let mut out = Vec::new();
        let mut dec = flate2::read::MultiGzDecoder::new(&raw[..]);
        if let Err(e) = dec.read_to_end(&mut out) {
            return Err(InputError::whole(
                &name,
                format!(
                    "broken gzip data after {} decompressed bytes: {e}",
                    out.len()
                ),
            ));
        }
        return Ok(Input {
            name,
            bytes: Bytes::Owned(out),
        });
    }
    Ok(Input { name, bytes: raw })
}

/// Reads a whole text input (gzip allowed) as UTF-8, replacing invalid sequences.
pub fn load_text(path: &str) -> Result<(String, String), InputError> {
    let inp = load(path)?;
    let text = String::from_utf8_lossy(&inp.bytes).into_owned();
    Ok((inp.name, text))
}

/// Writes `path` atomically: `write` fills a temporary file beside it, which is renamed
/// over `path` only when everything succeeded.
pub fn write_atomic(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> anyhow::Result<()> {
    use anyhow::Context;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let file_name = path
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    let tmp = dir.join(format!(".{file_name}.tmp.{}", std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let f = std::fs::File::create(&tmp)?;
        let mut w = std::io::BufWriter::new(f);
        write(&mut w)?;
        w.flush()?;
        w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.with_context(|| format!("cannot write {}", path.display()))
}

/// Whether bytes start with the gzip magic number.
fn is_gzip(head: &[u8]) -> bool {
    head.len() >= 2 && head[0] == 0x1f && head[1] == 0x8b
}

/// Opens `path` (or `-`) as a stream for large inputs (heap snapshots): gunzipped when the
/// data is gzip, read ahead on a thread of its own. Returns the display name and the reader.
pub fn open_stream(path: &str) -> Result<(String, Prefetch), InputError> {
    let (name, reader) = open(path)?;
    Ok((name, Prefetch::new(Box::new(GzErrors { inner: reader }))))
}

/// Opens `path` (or `-` for stdin) as a byte stream, gunzipping when the data is gzip.
/// Returns the display name and the reader.
fn open(path: &str) -> Result<(String, Box<dyn Read + Send>), InputError> {
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
    if is_gzip(head) {
        return Ok((name, Box::new(flate2::bufread::MultiGzDecoder::new(br))));
    }
    Ok((name, Box::new(br)))
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
pub struct Prefetch {
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
