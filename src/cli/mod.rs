//! One module per command: turns flags into library calls, prints, returns the exit code.
//! Only this layer (and `main.rs`) touches stdout, stderr, the environment and exit codes.

pub mod alerts;
pub mod applog;
pub mod color;
pub mod demo;
pub mod diff;
pub mod gc;
pub mod leaks;
pub mod metrics;
pub mod path;
pub mod python;
pub mod report;
pub mod shell;
pub mod summary;

use std::io::Write;

/// `--format text|json`, shared by every command.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum Format {
    #[default]
    Text,
    Json,
}

/// Prints a serializable value as pretty JSON on stdout, followed by a newline.
pub fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    let stdout = std::io::stdout();
    let mut w = std::io::BufWriter::new(stdout.lock());
    let written = serde_json::to_writer_pretty(&mut w, value)
        .map_err(std::io::Error::from)
        .and_then(|_| writeln!(w))
        .and_then(|_| w.flush());
    match written {
        // A closed pipe (`| head`) is not an error, as for text.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => Ok(r?),
    }
}

/// Prints text on stdout through a buffer; a closed pipe (`| head`) is not an error.
pub fn print_text(text: &str) -> anyhow::Result<()> {
    let stdout = std::io::stdout();
    let mut w = std::io::BufWriter::new(stdout.lock());
    match w.write_all(text.as_bytes()).and_then(|_| w.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// A progress bar on stderr for reading large inputs, shown only when stderr is a terminal.
pub fn progress_bar(len: u64, what: &str) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() || len < (16 << 20) {
        return None;
    }
    let pb = indicatif::ProgressBar::new(len);
    let style =
        indicatif::ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} ({eta})")
            .ok()?
            .progress_chars("=> ");
    pb.set_style(style);
    pb.set_message(what.to_string());
    Some(pb)
}

/// Loads and analyses a heap snapshot, with a progress bar on a terminal.
pub fn load_snapshot(path: &str) -> anyhow::Result<crate::heap::HeapGraph> {
    let size = if path == "-" {
        None
    } else {
        std::fs::metadata(path).ok().map(|m| m.len())
    };
    let pb = size.and_then(|s| progress_bar(s, path));
    let graph = {
        let report = |n: u64| {
            if let Some(pb) = &pb {
                pb.set_position(n.min(pb.length().unwrap_or(n)));
            }
        };
        crate::heap::load(path, &report)
    };
    if let Some(pb) = pb {
        pb.finish_and_clear();
    }
    Ok(graph?)
}

/// Reads a snapshot only as far as its ids (the leak finder's earlier snapshots), with a
/// progress bar on a terminal. The columns are dropped once the ids are taken.
pub fn load_snapshot_ids(path: &str) -> anyhow::Result<crate::heap::ids::SnapshotIds> {
    let size = if path == "-" {
        None
    } else {
        std::fs::metadata(path).ok().map(|m| m.len())
    };
    let pb = size.and_then(|s| progress_bar(s, path));
    let raw = {
        let report = |n: u64| {
            if let Some(pb) = &pb {
                pb.set_position(n.min(pb.length().unwrap_or(n)));
            }
        };
        crate::heap::read(path, &report)
    };
    if let Some(pb) = pb {
        pb.finish_and_clear();
    }
    Ok(crate::heap::ids::SnapshotIds::from_raw(&raw?))
}
