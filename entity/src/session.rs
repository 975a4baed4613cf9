use sea_orm::entity::prelude::*;

/// A dashboard login. The cookie carries a random id; only its SHA-256 (`token_hash`) is stored.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sessions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub token_hash: String,
    pub user_id: i64,
    /// The account the dashboard currently shows; switched from the layout.
    pub account_id: i64,
    pub created_at: i64,
    pub expires_at: i64,
    /// The password was right but the second factor is still to come: the session opens nothing
    /// but the two-factor step.
    pub pending_two_factor: bool,
    /// Where the login came from, for the sessions list.
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
