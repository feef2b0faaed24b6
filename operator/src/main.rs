//! `atendo-operator`: thin dispatcher over the library.

use anyhow::Context;
use atendo_operator::cli::{Cli, Command};
use clap::Parser;

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Crd => {
            let yaml = atendo_operator::crd::tenant_crd_yaml().context("serialising the CRD")?;
            print!("{yaml}");
        }
    }
    Ok(())
}
