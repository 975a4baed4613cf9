use sea_orm::entity::prelude::*;

/// Append-only record of who changed what. `diff` is a JSON object
/// `{field: {"before": …, "after": …}}` with secrets already replaced by `"[redacted]"`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_log")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub account_id: i64,
    pub actor_type: ActorType,
    pub actor_id: Option<i64>,
    pub actor_label: String,
    pub action: String,
    pub target_type: String,
    pub target_id: Option<String>,
    pub target_label: String,
    #[sea_orm(column_type = "Text")]
    pub diff: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// What kind of principal acted, stored as its lower-case name in `audit_log.actor_type`.
/// `actor_id` is the user's or token's id, and absent for [`ActorType::System`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
pub enum ActorType {
    /// A signed-in person.
    #[sea_orm(string_value = "user")]
    User,
    /// An API token.
    #[sea_orm(string_value = "token")]
    Token,
    /// Herald itself (e.g. a login-throttling notice).
    #[sea_orm(string_value = "system")]
    System,
}

impl ActorType {
    /// The stored and displayed name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Token => "token",
            Self::System => "system",
        }
    }
}

impl std::fmt::Display for ActorType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
