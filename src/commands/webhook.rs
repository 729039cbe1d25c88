use crate::cli::{GlobalArgs, WebhookArgs};
use crate::exit::Outcome;

pub async fn run(_global: &GlobalArgs, _args: &WebhookArgs) -> anyhow::Result<Outcome> {
    anyhow::bail!("not implemented yet")
}
