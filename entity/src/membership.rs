use sea_orm::entity::prelude::*;

/// A user's [`Role`] in an account.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "memberships")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub account_id: i64,
    pub user_id: i64,
    pub role: Role,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// What a member may do in an account, stored as its lower-case name in `memberships.role`
/// and `invitations.role`. Ordered by power (`Viewer < Admin < Owner`), so "at least admin" is
/// `role >= Role::Admin`. A stored name outside the set is a read error, never a guess. What
/// each role may do, and parsing a role typed by a person, are the app's rules
/// (`herald::domain::roles`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, EnumIter, DeriveActiveEnum, serde::Serialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads everything, changes nothing.
    #[sea_orm(string_value = "viewer")]
    Viewer,
    /// Changes everything except owners.
    #[sea_orm(string_value = "admin")]
    Admin,
    /// Also manages owners and account-wide security.
    #[sea_orm(string_value = "owner")]
    Owner,
}

impl Role {
    /// All roles, most powerful first (for select boxes).
    pub const ALL: [Role; 3] = [Role::Owner, Role::Admin, Role::Viewer];

    /// The stored and displayed name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Viewer => "viewer",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
