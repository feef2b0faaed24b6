//! Command line: one subcommand per job the binary does.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::settings::{BusArgs, DatabaseArgs, NoticeArgs, RuntimeArgs, Settings};

#[derive(Debug, Parser)]
#[command(
    name = "atendo-operator",
    version,
    about = "Atendo operator: one Tenant in, one tenant's chat platform out"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the Tenant CustomResourceDefinition as YAML.
    Crd,
    /// Print every object the operator would apply for a Tenant, as multi-document YAML.
    Render(Box<RenderArgs>),
    /// Run the controller.
    Run(Box<RunArgs>),
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub settings: Settings,

    #[command(flatten)]
    pub database: DatabaseArgs,

    #[command(flatten)]
    pub bus: BusArgs,

    #[command(flatten)]
    pub runtime: RuntimeArgs,

    #[command(flatten)]
    pub notices: NoticeArgs,
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    /// Tenant manifest to render; - reads standard input.
    #[arg(short = 'f', long = "filename", value_name = "FILE")]
    pub file: PathBuf,

    #[command(flatten)]
    pub settings: Settings,
}
