//! Command-line interface: `serve` (default), `worker`, `migrate`, `backup`.

use clap::{Parser, Subcommand};

use crate::config::Config;
use crate::startup::Application;

/// Herald: a multi-tenant webhook platform. Configuration comes from `HERALD_*` variables.
#[derive(Debug, Parser)]
#[command(version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Migrate, then run the web server and the background workers (the default).
    Serve {
        /// Run only the web server; background work is left to `herald worker` processes.
        #[arg(long)]
        no_workers: bool,
    },
    /// Run only the background workers.
    Worker,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Write a consistent copy of the SQLite database to FILE while Herald runs (`VACUUM INTO`).
    Backup {
        /// Where the copy goes; it must not exist yet.
        file: std::path::PathBuf,
    },
}

impl Cli {
    /// Runs the chosen subcommand until it finishes or the process is asked to stop.
    ///
    /// # Errors
    /// Configuration, database or bind failures, with their cause chain.
    pub async fn run(self) -> anyhow::Result<()> {
        let config = Config::from_env()?;
        match self.command.unwrap_or(Command::Serve { no_workers: false }) {
            Command::Serve { no_workers } => {
                let app = Application::build(config, !no_workers).await?;
                tracing::info!("dashboard at {}", app.base_url());
                app.run_until_stopped().await
            }
            Command::Worker => crate::startup::run_workers(config).await,
            Command::Migrate => {
                crate::db::connect_and_migrate(&config.database_url, config.sqlite_max_pages).await?;
                tracing::info!("migrations applied");
                Ok(())
            }
            Command::Backup { file } => {
                crate::db::backup::backup(&config.database_url, &file).await?;
                tracing::info!("backup written to {}", file.display());
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
