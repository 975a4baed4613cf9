//! The `visitors` table: one row per (account, visitor key), moved forward by each page.
//!
//! Race-free without locks or read-then-write decisions that can go stale:
//! - A new visitor is an `INSERT … ON CONFLICT DO NOTHING` on the unique
//!   `(account_id, visitor_key)` index; only the transaction whose row went in emits
//!   `NEW_VISITOR`. On PostgreSQL a concurrent second insert waits for the first transaction and
//!   then does nothing; on SQLite ingest transactions are serialized (`BEGIN IMMEDIATE`).
//! - A visit boundary is a compare-and-set: `UPDATE … SET last_page_at, current_visit_id
//!   WHERE id = ? AND last_page_at = <read> AND current_visit_id = <read>`. Zero rows affected
//!   means another transaction moved the visitor first (PostgreSQL re-checks the `WHERE` on the
//!   committed row under READ COMMITTED); the row is re-read and the decision made again, so
//!   exactly one of two concurrent pages opens the new visit.

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set, TryInsertResult};

use entity::tenant::AccountScoped;
use entity::visitor;

use super::VisitError;
use crate::crypto;
use crate::domain::DomainResult;

/// Compare-and-set attempts before giving up; each failure means another page of the same
/// visitor committed in between, so this is only reached under pathological contention.
const MAX_TRIES: usize = 8;

/// What a page did to its visitor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The visitor's first page: a new visitor and a new visit.
    NewVisitor {
        row_id: i64,
        first_seen: i64,
        visit_id: String,
    },
    /// The first page after the timeout: a new visit.
    NewVisit { first_seen: i64, visit_id: String },
    /// A page within the current visit (or older than the latest page: late pages never open a
    /// visit).
    SameVisit,
}

/// A fresh public visit id: 128 random bits, hex.
fn new_visit_id() -> String {
    crypto::random_hex(16)
}

/// Records a page at event time `at` (unix ms) for `key` and says whether it starts a visitor or a
/// visit. A visit ends once `timeout_ms` pass without a page: a gap of exactly the timeout starts
/// a new one.
///
/// # Errors
/// Database failure, or [`VisitError::Contended`] after [`MAX_TRIES`] lost compare-and-sets.
pub async fn record_page(
    conn: &impl ConnectionTrait,
    account_id: i64,
    key: &str,
    at: i64,
    timeout_ms: i64,
) -> DomainResult<Step> {
    let visit_id = new_visit_id();
    let inserted = visitor::Entity::insert(visitor::ActiveModel {
        account_id: Set(account_id),
        visitor_key: Set(key.to_owned()),
        first_seen: Set(at),
        last_page_at: Set(at),
        current_visit_id: Set(visit_id.clone()),
        ..Default::default()
    })
    .on_conflict_do_nothing_on([visitor::Column::AccountId, visitor::Column::VisitorKey])
    .exec(conn)
    .await?;
    if let TryInsertResult::Inserted(r) = inserted {
        return Ok(Step::NewVisitor {
            row_id: r.last_insert_id,
            first_seen: at,
            visit_id,
        });
    }
    for _ in 0..MAX_TRIES {
        let row = visitor::Entity::find_in(account_id)
            .filter(visitor::Column::VisitorKey.eq(key))
            .one(conn)
            .await?
            .ok_or(VisitError::Vanished)?;
        if at <= row.last_page_at {
            // A late page: the visit is not moved back, but an earlier first page is remembered
            // (monotonic, so it needs no compare-and-set).
            visitor::Entity::update_many_in(account_id)
                .col_expr(visitor::Column::FirstSeen, Expr::value(at))
                .filter(visitor::Column::Id.eq(row.id))
                .filter(visitor::Column::FirstSeen.gt(at))
                .exec(conn)
                .await?;
            return Ok(Step::SameVisit);
        }
        let starts_visit = at - row.last_page_at >= timeout_ms;
        let next_visit = if starts_visit {
            visit_id.clone()
        } else {
            row.current_visit_id.clone()
        };
        let moved = visitor::Entity::update_many_in(account_id)
            .col_expr(visitor::Column::LastPageAt, Expr::value(at))
            .col_expr(visitor::Column::CurrentVisitId, Expr::value(next_visit))
            .filter(visitor::Column::Id.eq(row.id))
            .filter(visitor::Column::LastPageAt.eq(row.last_page_at))
            .filter(visitor::Column::CurrentVisitId.eq(row.current_visit_id.as_str()))
            .exec(conn)
            .await?;
        if moved.rows_affected == 1 {
            return Ok(if starts_visit {
                Step::NewVisit {
                    first_seen: row.first_seen,
                    visit_id,
                }
            } else {
                Step::SameVisit
            });
        }
    }
    Err(VisitError::Contended.into())
}
