//! The output layer: stdout carries only the result and is written once, whole, at the end of a
//! command (so an error never leaves half a document behind); everything else goes to stderr.

use std::io::{self, IsTerminal, Write};

use crate::exit::UsageError;

/// Writes the whole result to stdout. A reader that went away early (`meshctl install | head`) is
/// not an error: the user asked for less than everything.
pub fn write_stdout(bytes: &[u8]) -> io::Result<()> {
    let mut out = io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// A line on stderr (progress, warnings, reports). Failing to write to stderr is not worth failing
/// the command for.
pub fn note(line: impl AsRef<str>) {
    let mut err = io::stderr().lock();
    let _ = writeln!(err, "{}", line.as_ref());
}

/// Whether to draw spinners and colours: only on a terminal, and never under NO_COLOR.
pub fn stderr_is_fancy() -> bool {
    io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Whether stdout may carry colour.
pub fn stdout_is_fancy() -> bool {
    io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Resolves `-o` against the formats a command accepts; anything else is a usage error (exit 2).
pub fn parse_format<T: Copy>(
    given: Option<&str>,
    default: T,
    accepted: &[(&str, T)],
) -> Result<T, UsageError> {
    let Some(given) = given else {
        return Ok(default);
    };
    accepted
        .iter()
        .find(|(name, _)| *name == given)
        .map(|(_, value)| *value)
        .ok_or_else(|| {
            let names: Vec<&str> = accepted.iter().map(|(n, _)| *n).collect();
            UsageError::new(format!(
                "unsupported output format '{given}' for this command (accepted: {})",
                names.join(", ")
            ))
        })
}
