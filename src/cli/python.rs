//! `memsleuth python`.

/// Flags of `memsleuth python`.
#[derive(clap::Args, Debug)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<i32> {
    anyhow::bail!("`memsleuth python` is not built yet")
}
