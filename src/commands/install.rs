use crate::cli::{GlobalArgs, InstallArgs};
use crate::exit::Outcome;

pub async fn run(_global: &GlobalArgs, _args: &InstallArgs) -> anyhow::Result<Outcome> {
    anyhow::bail!("not implemented yet")
}
