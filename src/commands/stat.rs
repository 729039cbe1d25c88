use crate::cli::{GlobalArgs, StatArgs};
use crate::exit::Outcome;

pub async fn run(_global: &GlobalArgs, _args: &StatArgs) -> anyhow::Result<Outcome> {
    anyhow::bail!("not implemented yet")
}
