use crate::cli::{GlobalArgs, TapArgs};
use crate::exit::Outcome;

pub async fn run(_global: &GlobalArgs, _args: &TapArgs) -> anyhow::Result<Outcome> {
    anyhow::bail!("not implemented yet")
}
