use sea_orm::entity::prelude::*;

/// A tenant. Every tenant-owned row points here through `account_id`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "accounts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub name: String,
    #[sea_orm(unique)]
    pub slug: String,
    pub hipaa_mode: bool,
    /// Minutes without a page (by event time) that end a visit: 1–1440, 30 by default.
    pub visit_timeout_minutes: i32,
    /// Every member must log in with two-factor; members without it are led to set it up.
    pub require_two_factor: bool,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
