//! `memsleuth summary`.

/// Flags of `memsleuth summary`.
#[derive(clap::Args, Debug)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<i32> {
    anyhow::bail!("`memsleuth summary` is not built yet")
}
