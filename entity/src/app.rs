use sea_orm::entity::prelude::*;

/// A tenant's source of events (a website, a mobile app, a backend).
/// `app_token` is public (sent in envelope payloads); `write_key` authenticates Segment SDKs.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "apps")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub account_id: i64,
    pub name: String,
    #[sea_orm(unique)]
    pub app_token: String,
    #[sea_orm(unique)]
    pub write_key: String,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
