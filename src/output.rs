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

/// Progress on stderr: a spinner on a terminal, plain lines otherwise (CI logs stay readable).
pub struct Progress {
    spinner: Option<indicatif::ProgressBar>,
}

impl Progress {
    pub fn new() -> Self {
        let spinner = stderr_is_fancy().then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.enable_steady_tick(std::time::Duration::from_millis(100));
            bar
        });
        Progress { spinner }
    }

    /// A transient status: the spinner's message, or a plain line when there is no spinner.
    pub fn status(&self, message: &str) {
        match &self.spinner {
            Some(bar) => bar.set_message(message.to_string()),
            None => note(message),
        }
    }

    /// A line that stays in the output.
    pub fn line(&self, message: &str) {
        match &self.spinner {
            Some(bar) => bar.println(message),
            None => note(message),
        }
    }
}

impl Default for Progress {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = &self.spinner {
            bar.finish_and_clear();
        }
    }
}
