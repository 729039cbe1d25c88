//! One file per command: each turns its flags into a plain options struct and calls an engine.

pub mod check;
pub mod completion;
pub mod inject;
pub mod install;
pub mod man;
pub mod proxy_config;
pub mod proxy_init;
pub mod stat;
pub mod tap;
pub mod uninstall;
pub mod version;
pub mod webhook;

use crate::cli::{Cli, Command};
use crate::exit::{self, Outcome, UsageError};

/// Runs a parsed command line and returns the process exit code.
pub fn run(cli: Cli) -> u8 {
    // kube, the webhook and the test harness all use rustls; choose ring once, before any of them
    // asks (two providers in the tree would otherwise panic at first use).
    let _ = rustls::crypto::ring::default_provider().install_default();

    match dispatch(cli) {
        Ok(Outcome::Success) => exit::SUCCESS,
        Ok(Outcome::Failure) => exit::FAILURE,
        Err(err) => {
            crate::output::note(format!("error: {err:#}"));
            if err.downcast_ref::<UsageError>().is_some() {
                exit::USAGE
            } else {
                exit::FAILURE
            }
        }
    }
}

fn dispatch(cli: Cli) -> anyhow::Result<Outcome> {
    let global = cli.global;
    match cli.command {
        // Commands that never touch the network run without an async runtime.
        Command::Completion(args) => completion::run(&global, &args),
        Command::Man(args) => man::run(&args),
        Command::ProxyInit(args) => proxy_init::run(&global, &args),
        command => runtime()?.block_on(async move {
            match command {
                Command::Install(args) => install::run(&global, &args).await,
                Command::Uninstall(args) => uninstall::run(&global, &args).await,
                Command::Inject(args) => {
                    inject::run(&global, &args, inject::Direction::Inject).await
                }
                Command::Uninject(args) => {
                    inject::run(&global, &args, inject::Direction::Uninject).await
                }
                Command::Check(args) => check::run(&global, &args).await,
                Command::Stat(args) => stat::run(&global, &args).await,
                Command::Tap(args) => tap::run(&global, &args).await,
                Command::ProxyConfig(args) => proxy_config::run(&global, &args).await,
                Command::Version(args) => version::run(&global, &args).await,
                Command::Webhook(args) => webhook::run(&global, &args).await,
                Command::Completion(_) | Command::Man(_) | Command::ProxyInit(_) => {
                    unreachable!("handled above")
                }
            }
        }),
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}
