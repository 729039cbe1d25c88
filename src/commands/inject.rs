use crate::cli::{GlobalArgs, InjectArgs};
use crate::exit::Outcome;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Inject,
    Uninject,
}

pub async fn run(
    _global: &GlobalArgs,
    _args: &InjectArgs,
    _direction: Direction,
) -> anyhow::Result<Outcome> {
    anyhow::bail!("not implemented yet")
}
