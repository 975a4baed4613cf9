use sea_orm::entity::prelude::*;

/// A person who can log in. `email` is stored lower-cased; `password_hash` is an argon2id PHC string.
/// Two-factor login is on when `totp_enabled_at` is set.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub email: String,
    pub password_hash: String,
    pub created_at: i64,
    /// The TOTP secret (RFC 6238), sealed like webhook secrets; set while setting up, in use once
    /// `totp_enabled_at` is set.
    #[sea_orm(column_type = "Text", nullable)]
    pub totp_secret_sealed: Option<String>,
    pub totp_enabled_at: Option<i64>,
    /// The time step of the last code accepted: a code is never accepted twice.
    pub totp_last_step: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
