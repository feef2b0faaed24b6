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
        Command::Run(args) => {
            tracing_subscriber::fmt()
                .json()
                .with_env_filter(
                    tracing_subscriber::EnvFilter::try_from_default_env()
                        .unwrap_or_else(|_| "info,kube=warn".into()),
                )
                .init();
            let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
            runtime.block_on(atendo_operator::run::run(*args))?;
        }
    }
    Ok(())
}
