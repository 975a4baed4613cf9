use sea_orm::entity::prelude::*;

use super::membership::Role;

/// A pending invitation to join an account. The link's secret is shown once; only its hash is kept.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "invitations")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub account_id: i64,
    pub email: String,
    /// The role the invitee gets on accepting.
    pub role: Role,
    #[sea_orm(unique)]
    pub token_hash: String,
    pub invited_by_user_id: i64,
    pub created_at: i64,
    pub expires_at: i64,
    pub accepted_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
