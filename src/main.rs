use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // Parse before building any runtime: `meshctl --version` and usage errors stay instant.
    let cli = match meshctl::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let code = if err.use_stderr() {
                meshctl::exit::USAGE
            } else {
                meshctl::exit::SUCCESS
            };
            // Printing help or a usage error can only fail on a closed stream; nothing to add then.
            let _ = err.print();
            return ExitCode::from(code);
        }
    };
    ExitCode::from(meshctl::commands::run(cli))
}
