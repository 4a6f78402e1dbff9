//! Reading evidence files and writing outputs.
//!
//! Inputs: a path, or `-` for stdin; gzip is detected by its magic bytes, not by the name.
//! Plain files are memory-mapped. Outputs are written to a temporary file in the target
//! directory and renamed into place, so a failed run never leaves a half-written file.

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
    if raw.len() >= 2 && raw[0] == 0x1f && raw[1] == 0x8b {
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
