//! The names of the metrics the delivery engine records, defined once here (the lowest crate
//! that records them) and used by the app's exporter (`herald::metrics`), which describes them,
//! sets their buckets and lists them in one table.

/// Histogram by `writer`: jobs per group-commit transaction.
pub const GROUP_COMMIT_SIZE: &str = "herald_group_commit_size";
/// Histogram by `writer`: seconds per group-commit transaction.
pub const GROUP_COMMIT_SECONDS: &str = "herald_group_commit_seconds";
/// Counter by `outcome`: settled claims by what became of the delivery.
pub const DELIVERIES: &str = "herald_deliveries_total";
/// Histogram: the receiver's seconds for one recorded attempt.
pub const ATTEMPT_DURATION: &str = "herald_attempt_duration_seconds";
/// Histogram: seconds per queue claim.
pub const QUEUE_CLAIM_SECONDS: &str = "herald_queue_claim_seconds";
/// Histogram: rows per queue claim.
pub const QUEUE_CLAIM_ROWS: &str = "herald_queue_claim_rows";
