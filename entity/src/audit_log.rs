use sea_orm::entity::prelude::*;

/// Append-only record of who changed what. `diff` is a JSON object
/// `{field: {"before": …, "after": …}}` with secrets already replaced by `"[redacted]"`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_log")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub account_id: i64,
    /// `user`, `token` or `system`.
    pub actor_type: String,
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
