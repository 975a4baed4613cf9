use sea_orm::entity::prelude::*;

/// One request to send to one webhook (one event, or a batch of events): also the queue.
///
/// `status`: `collecting` (a batch still filling), `pending` (due at `next_attempt_at`),
/// `in_flight` (claimed; `lease_until` set), `succeeded`, `failed`, `cancelled`.
/// `lane` 0 holds first attempts and 1 retries, so a backlog of retries never delays fresh
/// deliveries. `attempts` counts claims and fences acknowledgements. `body` is frozen when the
/// delivery is ready, so every attempt sends the same bytes.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "deliveries")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub account_id: i64,
    pub webhook_id: i64,
    pub event_id: Option<i64>,
    pub status: String,
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
