//! `atendo-operator`: thin dispatcher over the library.

use std::io::Read;

use anyhow::Context;
use atendo_operator::cli::{Cli, Command};
use clap::Parser;

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Crd => {
            let yaml = atendo_operator::crd::tenant_crd_yaml().context("serialising the CRD")?;
            print!("{yaml}");
        }
        Command::Render(args) => {
            let input = if args.file.as_os_str() == "-" {
                let mut s = String::new();
                std::io::stdin()
                    .read_to_string(&mut s)
                    .context("reading the Tenant from standard input")?;
                s
            } else {
                std::fs::read_to_string(&args.file)
                    .with_context(|| format!("reading {}", args.file.display()))?
            };
            let yaml = atendo_operator::render::render(&input, &args.settings)
                .with_context(|| format!("rendering {}", args.file.display()))?;
            print!("{yaml}");
        }
    }
    Ok(())
}
