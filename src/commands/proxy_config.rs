use crate::cli::{GlobalArgs, ProxyConfigArgs};
use crate::exit::Outcome;

pub async fn run(_global: &GlobalArgs, _args: &ProxyConfigArgs) -> anyhow::Result<Outcome> {
    anyhow::bail!("not implemented yet")
}
