//! Exit codes, the same whatever `-o` is (documented in README.md).

use thiserror::Error;

/// The command did its job.
pub const SUCCESS: u8 = 0;
/// The command's job failed: a check failed, an apply failed, input was invalid.
pub const FAILURE: u8 = 1;
/// The command line was wrong.
pub const USAGE: u8 = 2;

/// How a command that ran to completion ended. Errors travel as `anyhow::Error` instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    /// The job failed and the command has already reported why (e.g. a check failed).
    Failure,
}

/// A usage error found after clap parsed the line (e.g. `-o` value a command does not accept).
/// Exits 2, like clap's own usage errors.
#[derive(Debug, Error)]
#[error("{0}")]
pub struct UsageError(pub String);

impl UsageError {
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}
