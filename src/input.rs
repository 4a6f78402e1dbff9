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

/// Bytes kept free at the start of every [`Block`]: the parser copies the unread end of the
/// previous block there, so a token cut by a block boundary becomes contiguous without
/// copying the new block.
pub const BLOCK_HEAD: usize = 64 << 10;
/// Bytes of input per [`Block`].
pub const BLOCK_DATA: usize = 8 << 20;

/// One block of a large input: `buf[BLOCK_HEAD..end]` holds the data, `buf[..BLOCK_HEAD]` is
/// free room for the reader of the blocks.
pub struct Block {
    pub buf: Vec<u8>,
    pub end: usize,
}

/// Large inputs (heap snapshots) in blocks. A consumer hands each block back when it is done
/// with it (`spare`), so the same few buffers carry the whole file: no fresh pages to fault
/// in and zero for every block.
pub trait Blocks {
    /// The next block, or `None` at the end of the input.
    fn next_block(&mut self, spare: Option<Vec<u8>>) -> std::io::Result<Option<Block>>;
}

/// Fills `buf[BLOCK_HEAD..]` from `r` (as far as the input goes); returns the end of the data.
fn read_block(r: &mut dyn Read, buf: &mut Vec<u8>) -> std::io::Result<usize> {
    if buf.len() < BLOCK_HEAD + BLOCK_DATA {
        buf.resize(BLOCK_HEAD + BLOCK_DATA, 0);
    }
    let mut end = BLOCK_HEAD;
    while end < buf.len() {
        match r.read(&mut buf[end..]) {
            Ok(0) => break,
            Ok(k) => end += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(end)
}

/// [`Blocks`] read from any reader on the caller's thread (tests, the fuzzer, small inputs).
pub struct ReadBlocks<R> {
    r: R,
    done: bool,
}

impl<R: Read> ReadBlocks<R> {
    pub fn new(r: R) -> Self {
        ReadBlocks { r, done: false }
    }
}

impl<R: Read> Blocks for ReadBlocks<R> {
    fn next_block(&mut self, spare: Option<Vec<u8>>) -> std::io::Result<Option<Block>> {
        if self.done {
            return Ok(None);
        }
        // Grown as the data comes (small inputs never touch 8 MiB), unlike `read_block`.
        let mut buf = spare.unwrap_or_default();
        buf.clear();
        buf.resize(BLOCK_HEAD, 0);
        (&mut self.r)
            .take(BLOCK_DATA as u64)
            .read_to_end(&mut buf)?;
        let end = buf.len();
        if end == BLOCK_HEAD {
            self.done = true;
            return Ok(None);
        }
        Ok(Some(Block { buf, end }))
    }
}

/// Opens `path` (or `-`) as a stream for large inputs (heap snapshots): gunzipped when the
/// data is gzip, read ahead in blocks on a thread of its own. Returns the display name and
/// the blocks.
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
    let mut br = std::io::BufReader::with_capacity(64 << 10, inner);
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

/// [`Blocks`] read ahead on a thread of its own: file reads and gunzip overlap with parsing.
/// At most [`Prefetch::BUFFERS`] buffers exist; the reader waits for one to come back.
pub struct Prefetch {
    rx: std::sync::mpsc::Receiver<std::io::Result<Block>>,
    spare_tx: std::sync::mpsc::Sender<Vec<u8>>,
    done: bool,
}

impl Prefetch {
    /// One block being parsed, one ready, one being read.
    const BUFFERS: usize = 3;

    fn new(mut inner: Box<dyn Read + Send>) -> Prefetch {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let (spare_tx, spare_rx) = std::sync::mpsc::channel::<Vec<u8>>();
        std::thread::spawn(move || {
            let mut made = 0;
            loop {
                let mut buf = match spare_rx.try_recv() {
                    Ok(b) => b,
                    Err(_) if made < Self::BUFFERS => {
                        made += 1;
                        Vec::new()
                    }
                    Err(_) => match spare_rx.recv() {
                        Ok(b) => b,
                        // The parser stopped: stop reading too.
                        Err(_) => return,
                    },
                };
                let msg = read_block(&mut *inner, &mut buf).map(|end| Block { buf, end });
                let last = matches!(&msg, Ok(b) if b.end == BLOCK_HEAD) || msg.is_err();
                if tx.send(msg).is_err() || last {
                    return;
                }
            }
        });
        Prefetch {
            rx,
            spare_tx,
            done: false,
        }
    }
}

impl Blocks for Prefetch {
    fn next_block(&mut self, spare: Option<Vec<u8>>) -> std::io::Result<Option<Block>> {
        if let Some(b) = spare {
            // A closed channel means the reader has finished: the buffer is simply dropped.
            let _ = self.spare_tx.send(b);
        }
        if self.done {
            return Ok(None);
        }
        match self.rx.recv() {
            Ok(Ok(b)) if b.end > BLOCK_HEAD => Ok(Some(b)),
            Ok(Ok(_)) | Err(_) => {
                self.done = true;
                Ok(None)
            }
            Ok(Err(e)) => {
                self.done = true;
                Err(e)
            }
        }
    }
}
