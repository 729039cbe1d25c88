use crate::cli::{CheckArgs, GlobalArgs};
use crate::exit::Outcome;

pub async fn run(_global: &GlobalArgs, _args: &CheckArgs) -> anyhow::Result<Outcome> {
    anyhow::bail!("not implemented yet")
}
