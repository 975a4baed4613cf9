use sea_orm::entity::prelude::*;

/// One request to send to one webhook (one event, or a batch of events): also the queue.
///
/// `lane` 0 holds first attempts and 1 retries, so a backlog of retries never delays fresh
/// deliveries. `attempts` counts recorded attempts: it is raised in the commit that writes the
/// attempt row, so it always equals the delivery's rows in `delivery_attempts`. `lease_until`
/// is set by a claim and fences its outcome (it grows from one claim of a row to the next).
/// `body` is frozen when the delivery is ready, so every attempt sends the same bytes.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "deliveries")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub account_id: i64,
    pub webhook_id: i64,
    pub event_id: Option<i64>,
    pub status: DeliveryStatus,
    pub lane: i32,
    pub attempts: i32,
    pub next_attempt_at: i64,
    pub lease_until: Option<i64>,
    /// `scheduled`, `manual` (retry/replay) or `test`.
    pub trigger: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub body: Option<String>,
    pub event_count: i32,
    #[sea_orm(column_type = "Text", nullable)]
    pub event_name: Option<String>,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Where a delivery is in its life. Stored as its lower-case name (`in_flight` …); the queue's
/// SQL compares the same literals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, serde::Serialize, serde::Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// A batch still filling; it becomes `pending` when full or when its wait is over.
    #[sea_orm(string_value = "collecting")]
    Collecting,
    /// Due at `next_attempt_at` (first attempt, retry, or a manual resend).
    #[sea_orm(string_value = "pending")]
    Pending,
    /// Claimed by a worker until `lease_until`.
    #[sea_orm(string_value = "in_flight")]
    InFlight,
    /// A 2xx answered.
    #[sea_orm(string_value = "succeeded")]
    Succeeded,
    /// Given up: attempts exhausted, `410 Gone`, or a blocked target.
    #[sea_orm(string_value = "failed")]
    Failed,
    /// Not sent because its webhook was disabled.
    #[sea_orm(string_value = "cancelled")]
    Cancelled,
}

impl DeliveryStatus {
    /// Every status, in the order lists and filters offer them.
    pub const ALL: [DeliveryStatus; 6] = [
        Self::Succeeded,
        Self::Failed,
        Self::Pending,
        Self::InFlight,
        Self::Cancelled,
        Self::Collecting,
    ];

    /// The stored name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Collecting => "collecting",
            Self::Pending => "pending",
            Self::InFlight => "in_flight",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    /// The status stored as `s`, if any.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// The status in words (`in flight`), for people.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::InFlight => "in flight",
            other => other.as_str(),
        }
    }
}

impl std::fmt::Display for DeliveryStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
