//! Command line: one subcommand per job the binary does.

use clap::{Parser, Subcommand};

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
}
