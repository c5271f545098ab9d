use mlsec_core::Fault;
use std::path::PathBuf;

/// Why policies could not be loaded or evaluated. A denial is a decision,
/// never one of these.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// A policy or data file that cannot be read.
    #[error("{}: {reason}", path.display())]
    Io {
        path: PathBuf,
        reason: String,
        fault: Fault,
    },
    /// A policy that does not compile, or a data file that is not JSON: the
    /// message names the file, line and column.
    #[error("{0}")]
    Invalid(String),
    /// A policy that fails while it runs (a builtin error, a conflict, the
    /// time limit): the message names the rule and, where known, the line.
    #[error("{0}")]
    Runtime(String),
    /// A pack name or rule id that does not exist.
    #[error("{0}")]
    Usage(String),
}

impl PolicyError {
    pub fn fault(&self) -> Fault {
        match self {
            PolicyError::Io { fault, .. } => *fault,
            PolicyError::Invalid(_) | PolicyError::Runtime(_) | PolicyError::Usage(_) => {
                Fault::Input
            }
        }
    }
}

/// regorus reports errors over several lines (`--> file:line:col`, the
/// source line, a caret, `error: message`); one line for people and CI logs.
pub(crate) fn one_line(text: &str) -> String {
    let at = text
        .lines()
        .find_map(|l| l.trim_start().strip_prefix("--> "))
        .map(str::trim);
    let is_source = |l: &str| l.starts_with('|') || l.starts_with(|c: char| c.is_ascii_digit());
    let last = text
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty() && !is_source(l))
        .unwrap_or(text.trim());
    let last = last.strip_prefix("error: ").unwrap_or(last);
    match at {
        Some(at) => format!("{at}: {last}"),
        None => last.to_string(),
    }
}
