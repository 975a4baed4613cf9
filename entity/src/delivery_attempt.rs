use sea_orm::entity::prelude::*;

/// One HTTP attempt of a delivery: what was sent (secrets redacted) and what came back
/// (body truncated to 4 KB), or why nothing came back (`error_kind`: `timeout`, `connect`,
/// `dns`, `tls`, `blocked`, `http_status`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "delivery_attempts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub account_id: i64,
    pub delivery_id: i64,
    pub attempt: i32,
    pub trigger: String,
    pub started_at: i64,
    pub duration_ms: i32,
    #[sea_orm(column_type = "Text")]
    pub request_headers: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub request_body: Option<String>,
    pub response_status: Option<i32>,
    #[sea_orm(column_type = "Text", nullable)]
    pub response_headers: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub response_body: Option<String>,
    pub error_kind: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub error_message: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
