//! Colour on terminals: `--color auto|always|never`, with `NO_COLOR` respected.
//!
//! `auto` (the default) colours a stream only when it is a terminal and the `NO_COLOR`
//! environment variable is unset or empty (<https://no-color.org>); `always` colours even
//! into pipes (for `less -R`); `never` never does. The choice is made once in `main` and read
//! by the text renderers of `cli/` through [`stdout`] and [`stderr`]; the library never
//! colours anything.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU8, Ordering};

/// `--color`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

const UNSET: u8 = 0;
const ON: u8 = 1;
const OFF: u8 = 2;

static STDOUT: AtomicU8 = AtomicU8::new(UNSET);
static STDERR: AtomicU8 = AtomicU8::new(UNSET);

/// Decides colour for both streams from the flag, `NO_COLOR` and whether each is a terminal.
pub fn init(choice: ColorChoice) {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let decide = |is_tty: bool| match choice {
        ColorChoice::Always => ON,
        ColorChoice::Never => OFF,
        ColorChoice::Auto if is_tty && !no_color => ON,
        ColorChoice::Auto => OFF,
    };
    STDOUT.store(decide(std::io::stdout().is_terminal()), Ordering::Relaxed);
    STDERR.store(decide(std::io::stderr().is_terminal()), Ordering::Relaxed);
}

/// A painter for one stream; a no-op when colour is off for it.
#[derive(Clone, Copy, Debug)]
pub struct Painter {
    on: bool,
}

/// The painter for text printed on stdout.
pub fn stdout() -> Painter {
    Painter {
        on: STDOUT.load(Ordering::Relaxed) == ON,
    }
}

/// The painter for messages printed on stderr.
pub fn stderr() -> Painter {
    Painter {
        on: STDERR.load(Ordering::Relaxed) == ON,
    }
}

impl Painter {
    fn sgr(self, code: &str, text: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
    /// Errors and `leak` verdicts.
    pub fn red(self, text: &str) -> String {
        self.sgr("1;31", text)
    }
    /// Warnings and `inconclusive` verdicts.
    pub fn yellow(self, text: &str) -> String {
        self.sgr("33", text)
    }
    /// `no-leak` verdicts and successful checks.
    pub fn green(self, text: &str) -> String {
        self.sgr("32", text)
    }
    /// Headings.
    pub fn bold(self, text: &str) -> String {
        self.sgr("1", text)
    }
    /// Secondary detail (ids, edge types).
    pub fn dim(self, text: &str) -> String {
        self.sgr("2", text)
    }
    /// A verdict word in its colour.
    pub fn verdict(self, verdict: &str) -> String {
        match verdict {
            "leak" => self.red(verdict),
            "no-leak" => self.green(verdict),
            _ => self.yellow(verdict),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn painter_off_leaves_text_alone() {
        let p = Painter { on: false };
        assert_eq!(p.red("leak"), "leak");
        let p = Painter { on: true };
        assert_eq!(p.verdict("leak"), "\x1b[1;31mleak\x1b[0m");
        assert_eq!(p.verdict("inconclusive"), "\x1b[33minconclusive\x1b[0m");
    }
}
