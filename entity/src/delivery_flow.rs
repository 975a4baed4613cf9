use sea_orm::entity::prelude::*;

/// The delivery queue's shared state of one webhook, written by the claim and the settle
/// transaction (never by hand): the circuit breaker and the rate limiter's clock. No row means
/// a webhook that never failed and was never rate-limited.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "delivery_flows")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub webhook_id: i64,
    /// Failed attempts in a row since the last success.
    pub failures: i32,
    /// Unix ms of the first failure of the current run of failures.
    pub failing_since: Option<i64>,
    /// Set while the breaker is open: when the next probe may be claimed (unix ms).
    pub next_probe_at: Option<i64>,
    /// Probes claimed since the breaker opened (the probe interval doubles with each).
    pub probes: i32,
    /// The rate limiter's theoretical arrival time (GCRA), unix µs.
    pub rate_tat: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
