//! The delivery log: one account's deliveries across its webhooks (or one webhook's), filtered,
//! newest first, keyset-paginated both ways. Each row carries its webhook's name and the duration
//! of its latest attempt, read for the page's rows only.

use std::collections::HashMap;

use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr, Query};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, QueryFilter, QuerySelect};

use entity::tenant::AccountScoped;
use entity::{app, delivery, delivery_attempt, delivery_item, event, webhook};

use super::filter::Filter;
use crate::domain::page::{Page, PageRequest};
use crate::domain::webhooks;
use crate::domain::{DomainError, DomainResult};

/// A delivery as the log shows it.
#[derive(Debug, Clone)]
pub struct Row {
    pub delivery: delivery::Model,
    /// The webhook's public id and name.
    pub webhook_id: String,
    pub webhook_name: String,
    /// How long its latest attempt took; `None` before the first.
    pub duration_ms: Option<i32>,
}

/// `LIKE` pattern for names starting with `prefix`, any case (`%`, `_` and `\` taken literally).
fn prefix_pattern(prefix: &str) -> String {
    let mut out = String::with_capacity(prefix.len() + 1);
    for c in prefix.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// Deliveries of the account's events that match `column = value`: single-event deliveries by
/// `event_id`, batches through their items.
fn of_events(account_id: i64, column: event::Column, value: &str) -> Condition {
    let mut events = Query::select();
    events
        .column(event::Column::Id)
        .from(event::Entity)
        .and_where(event::Entity::in_account(account_id))
        .and_where(column.eq(value));
    if matches!(column, event::Column::MessageId) {
        // Message ids are unique per app: this lets the (app_id, message_id) index answer.
        events.and_where(
            event::Column::AppId.in_subquery(
                Query::select()
                    .column(app::Column::Id)
                    .from(app::Entity)
                    .and_where(app::Entity::in_account(account_id))
                    .to_owned(),
            ),
        );
    }
    let items = Query::select()
        .column(delivery_item::Column::DeliveryId)
        .from(delivery_item::Entity)
        .and_where(delivery_item::Column::EventId.in_subquery(events.clone()))
        .to_owned();
    Condition::any()
        .add(delivery::Column::EventId.in_subquery(events))
        .add(delivery::Column::Id.in_subquery(items))
}

/// One page of the account's deliveries matching `filter`.
///
/// # Errors
/// `Invalid` on `webhook` when the filter names a webhook the account does not have.
pub async fn list(
    conn: &impl ConnectionTrait,
    account_id: i64,
    filter: &Filter,
    req: PageRequest,
) -> DomainResult<Page<Row>> {
    let mut q = delivery::Entity::find_in(account_id);
    if let Some(w) = &filter.webhook {
        let hook = webhooks::get(conn, account_id, w).await.map_err(|e| match e {
            DomainError::NotFound => {
                DomainError::invalid("webhook", format!("This account has no webhook with id “{w}”."))
            }
            other => other,
        })?;
        q = q.filter(delivery::Column::WebhookId.eq(hook.model.id));
    }
    if let Some(s) = filter.stage {
        q = q.filter(s.condition());
    }
    if let Some(p) = &filter.event_prefix {
        let lower = Expr::expr(Func::lower(Expr::col(delivery::Column::EventName)));
        q = q.filter(lower.like(LikeExpr::new(prefix_pattern(p)).escape('\\')));
    }
    if let Some(u) = &filter.user_id {
        q = q.filter(of_events(account_id, event::Column::UserId, u));
    }
    if let Some(m) = &filter.message_id {
        q = q.filter(of_events(account_id, event::Column::MessageId, m));
    }
    if let Some(t) = filter.since {
        q = q.filter(delivery::Column::CreatedAt.gte(t));
    }
    if let Some(t) = filter.until {
        q = q.filter(delivery::Column::CreatedAt.lt(t));
    }
    let page = crate::domain::page::fetch(conn, q, delivery::Column::Id, req, |d| d.id).await?;
    let webhook_ids: Vec<i64> = page.items.iter().map(|d| d.webhook_id).collect();
    let names: HashMap<i64, (String, String)> = webhook::Entity::find_in(account_id)
        .filter(webhook::Column::Id.is_in(webhook_ids))
        .select_only()
        .columns([webhook::Column::Id, webhook::Column::PublicId, webhook::Column::Name])
        .into_tuple::<(i64, String, String)>()
        .all(conn)
        .await?
        .into_iter()
        .map(|(id, public, name)| (id, (public, name)))
        .collect();
    let latest: Vec<(i64, i32)> = page.items.iter().map(|d| (d.id, d.attempts)).collect();
    let durations: HashMap<(i64, i32), i32> = delivery_attempt::Entity::find_in(account_id)
        .filter(delivery_attempt::Column::DeliveryId.is_in(latest.iter().map(|(id, _)| *id)))
        .select_only()
        .columns([
            delivery_attempt::Column::DeliveryId,
            delivery_attempt::Column::Attempt,
            delivery_attempt::Column::DurationMs,
        ])
        .into_tuple::<(i64, i32, i32)>()
        .all(conn)
        .await?
        .into_iter()
        .map(|(d, a, ms)| ((d, a), ms))
        .collect();
    Ok(page.map(|d| {
        let (webhook_id, webhook_name) = names.get(&d.webhook_id).cloned().unwrap_or_default();
        Row {
            duration_ms: durations.get(&(d.id, d.attempts)).copied(),
            webhook_id,
            webhook_name,
            delivery: d,
        }
    }))
}

#[cfg(test)]
mod tests {
    #[test]
    fn prefixes_match_any_case_and_take_wildcards_literally() {
        assert_eq!(super::prefix_pattern("Order_"), "order\\_%");
        assert_eq!(super::prefix_pattern("50%"), "50\\%%");
    }
}
