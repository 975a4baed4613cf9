use sea_orm::entity::prelude::*;

/// An ingested event, stored as received (with `messageId`, `timestamp` and `receivedAt` filled
/// in). `(app_id, message_id)` is unique: a repeated message is acknowledged and stored once.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub account_id: i64,
    pub app_id: i64,
    pub message_id: String,
    /// Segment call type: `track`, `identify`, `page`, `screen`, `group`, `alias`.
    pub kind: String,
    pub name: Option<String>,
    pub user_id: Option<String>,
    pub anonymous_id: Option<String>,
    pub group_id: Option<String>,
    pub timestamp: i64,
    pub received_at: i64,
    #[sea_orm(column_type = "Text")]
    pub body: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
