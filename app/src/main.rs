//! The `herald` command: parses the command line and hands over to the library.

use clap::Parser;
use herald::cli::Cli;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    herald::telemetry::init();
    Cli::parse().run().await
}
