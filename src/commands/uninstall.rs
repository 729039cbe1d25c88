use crate::cli::{GlobalArgs, UninstallArgs};
use crate::exit::Outcome;

pub async fn run(_global: &GlobalArgs, _args: &UninstallArgs) -> anyhow::Result<Outcome> {
    anyhow::bail!("not implemented yet")
}
