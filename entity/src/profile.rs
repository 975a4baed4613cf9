use sea_orm::entity::prelude::*;

/// The latest traits of a user (merged from identify calls) and the company (group) they were
/// last seen in; property selection reads it when building payloads.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "profiles")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub account_id: i64,
    pub user_id: String,
    #[sea_orm(column_type = "Text")]
    pub traits: String,
    pub group_id: Option<String>,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
