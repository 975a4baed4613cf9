//! The attempt log writer: every attempt's log row and its delivery's last outcome, written
//! for many concurrent attempts in one transaction (see [`crate::db::group_commit`]). HIPAA
//! accounts keep no bodies: the account's flag is read in the same transaction as the write.

use std::collections::HashSet;

use sea_orm::sea_query::{CaseStatement, Expr};
use sea_orm::{ColumnTrait, DatabaseConnection, DatabaseTransaction, EntityTrait, QueryFilter, QuerySelect, Set};

use entity::{account, delivery, delivery_attempt};

use crate::db::group_commit::{GroupCommit, GroupFuture, GroupWork};
use crate::domain::DomainResult;

/// One finished attempt, as the handler saw it.
#[derive(Debug, Clone)]
pub struct AttemptRecord {
    pub account_id: i64,
    pub delivery_id: i64,
    pub attempt: i32,
    pub trigger: String,
    pub started_at: i64,
    pub duration_ms: i32,
    /// JSON array of `[name, value]` pairs, secrets already redacted by the sender.
    pub request_headers: String,
    pub request_body: String,
    pub response_status: Option<i32>,
    pub response_headers: String,
    pub response_body: String,
    pub error_kind: Option<String>,
    pub error_message: Option<String>,
    /// A 2xx: on HIPAA accounts the delivery's frozen body is dropped too.
    pub delivered: bool,
}

/// Handle to the attempt log writer of a process.
pub type AttemptLog = GroupCommit<AttemptLogWork>;

/// Writes [`AttemptRecord`]s.
pub struct AttemptLogWork;

/// Most attempts logged in one transaction.
const MAX_GROUP: usize = 128;

impl AttemptLogWork {
    /// Starts the attempt log writer on `writer` (see [`crate::db::connect_writer`]).
    #[must_use]
    pub fn start(writer: DatabaseConnection) -> AttemptLog {
        GroupCommit::start(writer, AttemptLogWork, MAX_GROUP)
    }
}

impl GroupWork for AttemptLogWork {
    const NAME: &'static str = "attempt_log";
    type Job = AttemptRecord;
    type Output = ();

    fn apply<'a>(&'a self, txn: &'a DatabaseTransaction, jobs: &'a [AttemptRecord]) -> GroupFuture<'a, Vec<()>> {
        Box::pin(write(txn, jobs))
    }
}

async fn write(txn: &DatabaseTransaction, records: &[AttemptRecord]) -> DomainResult<Vec<()>> {
    let accounts: HashSet<i64> = records.iter().map(|r| r.account_id).collect();
    let hipaa: HashSet<i64> = account::Entity::find()
        .select_only()
        .column(account::Column::Id)
        .filter(account::Column::Id.is_in(accounts))
        .filter(account::Column::HipaaMode.eq(true))
        .into_tuple::<i64>()
        .all(txn)
        .await?
        .into_iter()
        .collect();
    let rows = records.iter().map(|r| {
        let keep_bodies = !hipaa.contains(&r.account_id);
        delivery_attempt::ActiveModel {
            account_id: Set(r.account_id),
            delivery_id: Set(r.delivery_id),
            attempt: Set(r.attempt),
            trigger: Set(r.trigger.clone()),
            started_at: Set(r.started_at),
            duration_ms: Set(r.duration_ms),
            request_headers: Set(r.request_headers.clone()),
            request_body: Set(keep_bodies.then(|| r.request_body.clone())),
            response_status: Set(r.response_status),
            response_headers: Set(Some(r.response_headers.clone())),
            response_body: Set(keep_bodies.then(|| r.response_body.clone())),
            error_kind: Set(r.error_kind.clone()),
            error_message: Set(r.error_message.clone()),
            ..Default::default()
        }
    });
    delivery_attempt::Entity::insert_many(rows)
        .exec_without_returning(txn)
        .await?;

    // One UPDATE for the group: `CASE id WHEN … THEN …` per column.
    let (mut status, mut error, mut body) = (CaseStatement::new(), CaseStatement::new(), None);
    for r in records {
        let this = || delivery::Column::Id.eq(r.delivery_id);
        status = status.case(this(), Expr::val(r.response_status));
        error = error.case(this(), Expr::val(r.error_kind.clone()));
        if r.delivered && hipaa.contains(&r.account_id) {
            body = Some(
                body.unwrap_or_else(CaseStatement::new)
                    .case(this(), Expr::val(Option::<String>::None)),
            );
        }
    }
    let mut update = delivery::Entity::update_many()
        .col_expr(delivery::Column::LastStatus, status.into())
        .col_expr(delivery::Column::LastError, error.into())
        .filter(delivery::Column::Id.is_in(records.iter().map(|r| r.delivery_id)));
    if let Some(body) = body {
        update = update.col_expr(
            delivery::Column::Body,
            body.finally(Expr::col(delivery::Column::Body)).into(),
        );
    }
    update.exec(txn).await?;
    Ok(vec![(); records.len()])
}
