use sea_orm::entity::prelude::*;

/// A subscription of an HTTP endpoint to the account's events.
///
/// The JSON text columns (`headers`, `event_types`, `triggers`, `properties`, `payload_format`,
/// `filter`, `app_ids`) hold the validated [`crate::spec`] types. Secrets are sealed
/// (AES-256-GCM); the previous secret stays valid until `previous_secret_expires_at` after a
/// rotation.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhooks")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub public_id: String,
    pub account_id: i64,
    pub name: String,
    #[sea_orm(column_type = "Text")]
    pub description: String,
    #[sea_orm(column_type = "Text")]
    pub url: String,
    pub method: String,
    #[sea_orm(column_type = "Text")]
    pub headers: String,
    pub signature_scheme: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub secret_sealed: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub previous_secret_sealed: Option<String>,
    pub previous_secret_expires_at: Option<i64>,
    pub enabled: bool,
    #[sea_orm(column_type = "Text", nullable)]
    pub disabled_reason: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub event_types: String,
    #[sea_orm(column_type = "Text")]
    pub triggers: String,
    #[sea_orm(column_type = "Text")]
    pub properties: String,
    #[sea_orm(column_type = "Text")]
    pub payload_format: String,
    pub batch_max_events: Option<i32>,
    pub batch_max_wait_secs: Option<i32>,
    #[sea_orm(column_type = "Text")]
    pub filter: String,
    #[sea_orm(column_type = "Text")]
    pub app_ids: String,
    pub timeout_secs: i32,
    pub created_by: String,
    pub updated_by: String,
    pub created_at: i64,
    pub updated_at: i64,
    /// Raised by the database on every update of the row (a trigger): the claim returns it, so
    /// a worker's cached copy of the webhook is used only while it is current.
    pub version: i64,
    /// Most deliveries of this webhook claimed and not yet settled, across all processes (1–100).
    pub max_in_flight: i32,
    /// Deliveries per second at most, across all processes (1–10,000); `None`: no limit.
    pub rate_limit: Option<i32>,
    /// One delivery at a time, in ingest order; a failing head holds the ones behind it.
    pub ordered: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
