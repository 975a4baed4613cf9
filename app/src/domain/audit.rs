//! The audit log: who changed what, when, from where. Rows are only ever inserted.

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde_json::{Map, Value, json};

use entity::audit_log::{self, ActorType};
use entity::tenant::AccountScoped;

use super::{
    DomainError, DomainResult,
    page::{Page, PageRequest},
};
use crate::timestamps::now_ms;

/// Replaces secret values in diffs and logs.
pub const REDACTED: &str = "[redacted]";

/// Who is acting, in which account, and from where. Built by the web layer from a session or a
/// token; recorded on every audit row.
#[derive(Debug, Clone)]
pub struct Actor {
    pub account_id: i64,
    pub kind: ActorKind,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// The principal behind an [`Actor`]; recorded as an [`ActorType`] with its id and name.
#[derive(Debug, Clone)]
pub enum ActorKind {
    User {
        id: i64,
        email: String,
    },
    Token {
        id: i64,
        name: String,
    },
    /// Herald itself (e.g. a login-throttling notice).
    System,
}

impl Actor {
    /// The user's id when a person is acting.
    #[must_use]
    pub fn user_id(&self) -> Option<i64> {
        match self.kind {
            ActorKind::User { id, .. } => Some(id),
            _ => None,
        }
    }

    /// The token's id when an API token is acting.
    #[must_use]
    pub fn token_id(&self) -> Option<i64> {
        match self.kind {
            ActorKind::Token { id, .. } => Some(id),
            _ => None,
        }
    }
}

/// What happened to which object.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Dotted verb, e.g. `token.created`.
    pub action: &'static str,
    pub target_type: &'static str,
    pub target_id: Option<String>,
    pub target_label: String,
    /// `{field: {"before": …, "after": …}}` (lists also `"added"`, `"removed"`), secrets
    /// already redacted (see [`diff`]).
    pub diff: Value,
}

/// Appends an audit row; call it inside the transaction that makes the change, so both or
/// neither are stored.
///
/// # Errors
/// Database failure.
pub async fn record(conn: &impl ConnectionTrait, actor: &Actor, entry: Entry) -> Result<(), sea_orm::DbErr> {
    let (actor_type, actor_id, actor_label) = match &actor.kind {
        ActorKind::User { id, email } => (ActorType::User, Some(*id), email.clone()),
        ActorKind::Token { id, name } => (ActorType::Token, Some(*id), name.clone()),
        ActorKind::System => (ActorType::System, None, "Herald".to_owned()),
    };
    let row = audit_log::ActiveModel {
        account_id: Set(actor.account_id),
        actor_type: Set(actor_type),
        actor_id: Set(actor_id),
        actor_label: Set(actor_label),
        action: Set(entry.action.to_owned()),
        target_type: Set(entry.target_type.to_owned()),
        target_id: Set(entry.target_id),
        target_label: Set(entry.target_label),
        diff: Set(entry.diff.to_string()),
        ip: Set(actor.ip.clone()),
        user_agent: Set(actor.user_agent.clone()),
        created_at: Set(now_ms()),
        ..Default::default()
    };
    audit_log::Entity::insert(row)
        .exec_without_returning(conn)
        .await
        .map(drop)
}

/// Field-level difference of two JSON objects: only changed keys, each `{"before", "after"}`.
/// A changed list (both sides arrays) also gets `"added"` and `"removed"`: the items only one
/// side has (counted as a multiset, so a reordered list has neither), which is what a reader
/// wants for a one-item change. Keys listed in `secret_fields` are always shown as
/// [`REDACTED`] on both sides. An empty object means nothing changed: record nothing then.
#[must_use]
pub fn diff(before: &Value, after: &Value, secret_fields: &[&str]) -> Value {
    let empty = Map::new();
    let b = before.as_object().unwrap_or(&empty);
    let a = after.as_object().unwrap_or(&empty);
    let mut keys: Vec<&String> = b.keys().chain(a.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut out = Map::new();
    for key in keys {
        let (old, new) = (b.get(key).unwrap_or(&Value::Null), a.get(key).unwrap_or(&Value::Null));
        if old == new {
            continue;
        }
        if secret_fields.contains(&key.as_str()) {
            let shown = |v: &Value| if v.is_null() { Value::Null } else { json!(REDACTED) };
            out.insert(key.clone(), json!({ "before": shown(old), "after": shown(new) }));
            continue;
        }
        let mut change = json!({ "before": old, "after": new });
        if let (Value::Array(old_items), Value::Array(new_items)) = (old, new) {
            change["removed"] = Value::Array(only_in(old_items, new_items));
            change["added"] = Value::Array(only_in(new_items, old_items));
        }
        out.insert(key.clone(), change);
    }
    Value::Object(out)
}

/// The items of `these` not matched one-for-one by an equal item of `others`, in order.
fn only_in(these: &[Value], others: &[Value]) -> Vec<Value> {
    let mut unmatched: Vec<&Value> = others.iter().collect();
    these
        .iter()
        .filter(|item| match unmatched.iter().position(|o| o == item) {
            Some(i) => {
                unmatched.swap_remove(i);
                false
            }
            None => true,
        })
        .cloned()
        .collect()
}

/// Filters for the audit list.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub target_type: Option<String>,
    pub target_id: Option<String>,
}

/// One page of the account's audit log, newest first.
///
/// # Errors
/// Database failure.
pub async fn list(
    conn: &impl ConnectionTrait,
    account_id: i64,
    filter: &Filter,
    req: PageRequest,
) -> DomainResult<Page<audit_log::Model>> {
    let mut q = audit_log::Entity::find_in(account_id);
    if let Some(t) = &filter.target_type {
        q = q.filter(audit_log::Column::TargetType.eq(t.as_str()));
    }
    if let Some(id) = &filter.target_id {
        q = q.filter(audit_log::Column::TargetId.eq(id.as_str()));
    }
    Ok(crate::domain::page::fetch(conn, q, audit_log::Column::Id, req, |r| r.id).await?)
}

/// One audit row of the account.
///
/// # Errors
/// [`DomainError::NotFound`] when it belongs to another account or does not exist.
pub async fn get(conn: &impl ConnectionTrait, account_id: i64, id: i64) -> DomainResult<audit_log::Model> {
    audit_log::Entity::find_by_id_in(account_id, id)
        .one(conn)
        .await?
        .ok_or(DomainError::NotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_diff_lists_only_changes_and_hides_secrets() {
        let d = diff(
            &json!({"name": "a", "url": "u", "secret": "s1"}),
            &json!({"name": "b", "url": "u", "secret": "s2"}),
            &["secret"],
        );
        assert_eq!(
            d,
            json!({"name": {"before": "a", "after": "b"}, "secret": {"before": REDACTED, "after": REDACTED}})
        );
    }

    #[test]
    fn a_list_diff_names_the_items_added_and_removed() {
        let d = diff(
            &json!({"patterns": ["a", "b", "b"], "apps": [1, 2]}),
            &json!({"patterns": ["b", "c", "a"], "apps": [2, 1]}),
            &[],
        );
        assert_eq!(d["patterns"]["added"], json!(["c"]));
        assert_eq!(d["patterns"]["removed"], json!(["b"]));
        assert_eq!(d["patterns"]["after"], json!(["b", "c", "a"]));
        assert_eq!(d["apps"]["added"], json!([]), "a reordered list adds nothing");
        assert_eq!(d["apps"]["removed"], json!([]));
        assert_eq!(diff(&json!({"x": [1]}), &json!({"x": [1]}), &[]), json!({}));
    }
}
