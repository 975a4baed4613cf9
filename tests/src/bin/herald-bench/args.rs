//! The command line.

use clap::{Parser, ValueEnum};

/// Which processes run Herald, on which database.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Topology {
    /// One `herald serve` on SQLite.
    Single,
    /// One `serve --no-workers` plus `--workers` worker processes on PostgreSQL (`TEST_DATABASE_URL`).
    Pg,
}

/// End-to-end benchmark of Herald on loopback.
#[derive(Debug, Parser)]
pub struct Args {
    #[arg(long, value_enum, default_value = "single")]
    pub topology: Topology,
    /// Worker processes (pg topology).
    #[arg(long, default_value_t = 2)]
    pub workers: usize,
    /// Webhooks subscribed to every event.
    #[arg(long, default_value_t = 1)]
    pub webhooks: usize,
    /// Events to send.
    #[arg(long, default_value_t = 20_000)]
    pub events: usize,
    /// Concurrent sending clients.
    #[arg(long, default_value_t = 32)]
    pub clients: usize,
    /// Events per ingest request.
    #[arg(long, default_value_t = 1)]
    pub batch: usize,
    /// Concurrent deliveries per Herald process (`HERALD_WORKERS`).
    #[arg(long, default_value_t = 64)]
    pub herald_workers: usize,
    /// Target events/s in total (0 = as fast as possible); use a low rate to measure latency.
    #[arg(long, default_value_t = 0)]
    pub rate: u64,
}
