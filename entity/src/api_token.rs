use sea_orm::entity::prelude::*;

/// A REST API credential. The secret is shown once; only its SHA-256 is kept, and `prefix`
/// identifies it in lists. `scopes` is a comma-separated subset of `ingest,read,write`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_tokens")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub account_id: i64,
    pub app_id: Option<i64>,
    pub name: String,
    pub prefix: String,
    #[sea_orm(unique)]
    pub token_hash: String,
    pub scopes: String,
    pub created_by_user_id: Option<i64>,
    pub created_by_token_id: Option<i64>,
    pub last_used_at: Option<i64>,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
