//! User and company profiles: the latest traits from identify and group calls, merged key by
//! key, and the user → company link from group calls.

use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, QueryFilter, Set};
use serde_json::{Map, Value};

use entity::tenant::AccountScoped;
use entity::{company, profile};

use super::message::{Kind, Message};
use crate::domain::{DomainResult, stored_json};

/// `base` (the stored traits, or none yet) with `new`'s keys written over it.
fn merged(mut base: Map<String, Value>, new: Option<&Value>) -> String {
    if let Some(Value::Object(update)) = new {
        for (k, v) in update {
            base.insert(k.clone(), v.clone());
        }
    }
    Value::Object(base).to_string()
}

/// Records an identify's traits on the user, or a group's traits on the company and the user's
/// link to it. Other calls change nothing.
///
/// # Errors
/// Database failure.
pub async fn apply(conn: &impl ConnectionTrait, account_id: i64, m: &Message, now: i64) -> DomainResult<()> {
    match (m.kind, &m.user_id) {
        (Kind::Identify, Some(user_id)) => {
            upsert_user(conn, account_id, user_id, m.body.get("traits"), None, now).await
        }
        (Kind::Group, _) => {
            let Some(group_id) = &m.group_id else { return Ok(()) };
            let existing = company::Entity::find_in(account_id)
                .filter(company::Column::GroupId.eq(group_id.as_str()))
                .one(conn)
                .await?;
            match existing {
                Some(c) => {
                    let traits = merged(
                        stored_json::parse("companies.traits", c.id, &c.traits)?,
                        m.body.get("traits"),
                    );
                    let mut active: company::ActiveModel = c.into();
                    active.traits = Set(traits);
                    active.updated_at = Set(now);
                    company::Entity::update_in(account_id, active)?.exec(conn).await?;
                }
                None => {
                    company::ActiveModel {
                        account_id: Set(account_id),
                        group_id: Set(group_id.clone()),
                        traits: Set(merged(Map::new(), m.body.get("traits"))),
                        updated_at: Set(now),
                        ..Default::default()
                    }
                    .insert(conn)
                    .await?;
                }
            }
            match &m.user_id {
                Some(user_id) => upsert_user(conn, account_id, user_id, None, Some(group_id), now).await,
                None => Ok(()),
            }
        }
        _ => Ok(()),
    }
}

async fn upsert_user(
    conn: &impl ConnectionTrait,
    account_id: i64,
    user_id: &str,
    traits: Option<&Value>,
    group_id: Option<&String>,
    now: i64,
) -> DomainResult<()> {
    let existing = profile::Entity::find_in(account_id)
        .filter(profile::Column::UserId.eq(user_id))
        .one(conn)
        .await?;
    match existing {
        Some(p) => {
            let new_traits = merged(stored_json::parse("profiles.traits", p.id, &p.traits)?, traits);
            let mut active: profile::ActiveModel = p.into();
            active.traits = Set(new_traits);
            if let Some(g) = group_id {
                active.group_id = Set(Some(g.clone()));
            }
            active.updated_at = Set(now);
            profile::Entity::update_in(account_id, active)?.exec(conn).await?;
        }
        None => {
            profile::ActiveModel {
                account_id: Set(account_id),
                user_id: Set(user_id.to_owned()),
                traits: Set(merged(Map::new(), traits)),
                group_id: Set(group_id.cloned()),
                updated_at: Set(now),
                ..Default::default()
            }
            .insert(conn)
            .await?;
        }
    }
    Ok(())
}

/// What payloads need from the profiles.
#[derive(Debug, Clone, Default)]
pub struct Found {
    pub user_traits: Value,
    pub company_id: Option<String>,
    pub company_traits: Value,
}

/// The user's traits and their company's (the event's `groupId`, else the user's last group).
///
/// # Errors
/// Database failure.
pub async fn lookup(
    conn: &impl ConnectionTrait,
    account_id: i64,
    user_id: Option<&str>,
    group_id: Option<&str>,
) -> DomainResult<Found> {
    let mut found = Found {
        user_traits: Value::Object(Map::new()),
        company_id: None,
        company_traits: Value::Object(Map::new()),
    };
    let mut company_id = group_id.map(str::to_owned);
    if let Some(user_id) = user_id
        && let Some(p) = profile::Entity::find_in(account_id)
            .filter(profile::Column::UserId.eq(user_id))
            .one(conn)
            .await?
    {
        found.user_traits = stored_json::parse("profiles.traits", p.id, &p.traits)?;
        if company_id.is_none() {
            company_id = p.group_id;
        }
    }
    if let Some(gid) = &company_id
        && let Some(c) = company::Entity::find_in(account_id)
            .filter(company::Column::GroupId.eq(gid.as_str()))
            .one(conn)
            .await?
    {
        found.company_traits = stored_json::parse("companies.traits", c.id, &c.traits)?;
    }
    found.company_id = company_id;
    Ok(found)
}
