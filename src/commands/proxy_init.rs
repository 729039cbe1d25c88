use crate::cli::{GlobalArgs, ProxyInitArgs};
use crate::exit::Outcome;

pub fn run(_global: &GlobalArgs, _args: &ProxyInitArgs) -> anyhow::Result<Outcome> {
    anyhow::bail!("not implemented yet")
}
