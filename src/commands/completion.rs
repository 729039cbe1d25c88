//! `meshctl completion SHELL`: the completion script on stdout. The same scripts are committed
//! under `completions/`, and a test fails when they are stale.

use clap::CommandFactory;

use crate::cli::{Cli, CompletionArgs, GlobalArgs};
use crate::exit::Outcome;

/// Renders the completion script for `shell`.
pub fn script(shell: clap_complete::Shell) -> Vec<u8> {
    let mut command = Cli::command();
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut command, "meshctl", &mut buf);
    buf
}

pub fn run(_global: &GlobalArgs, args: &CompletionArgs) -> anyhow::Result<Outcome> {
    crate::output::write_stdout(&script(args.shell))?;
    Ok(Outcome::Success)
}
