//! Typed errors for bad input: every one names the file and, where it makes sense, the byte
//! offset or line, so the binary can print one clear message and exit 2.

use std::fmt;

/// Where in an input a problem was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    None,
    Byte(u64),
    Line(u64),
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Position::None => Ok(()),
            Position::Byte(b) => write!(f, " at byte {b}"),
            Position::Line(l) => write!(f, " at line {l}"),
        }
    }
}

/// An input file that cannot be read as what it should be.
#[derive(Debug, thiserror::Error)]
#[error("{file}{pos}: {message}")]
pub struct InputError {
    pub file: String,
    pub pos: Position,
    pub message: String,
}

impl InputError {
    pub fn new(file: impl Into<String>, pos: Position, message: impl Into<String>) -> Self {
        InputError {
            file: file.into(),
            pos,
            message: message.into(),
        }
    }
    pub fn at_byte(file: impl Into<String>, offset: u64, message: impl Into<String>) -> Self {
        Self::new(file, Position::Byte(offset), message)
    }
    pub fn at_line(file: impl Into<String>, line: u64, message: impl Into<String>) -> Self {
        Self::new(file, Position::Line(line), message)
    }
    pub fn whole(file: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(file, Position::None, message)
    }
}
