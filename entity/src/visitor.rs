use sea_orm::entity::prelude::*;

/// A visitor of an account's sites, keyed by the page events' `anonymousId` (else `userId`):
/// when they were first seen, the event time of their latest page, and the id of their current
/// visit. Unique per `(account_id, visitor_key)`; that index is what makes `NEW_VISITOR` fire once
/// under concurrent ingest.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "visitors")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub account_id: i64,
    pub visitor_key: String,
    /// Event time (unix ms) of the visitor's first page.
    pub first_seen: i64,
    /// Event time (unix ms) of the latest page seen; never moves backwards.
    pub last_page_at: i64,
    /// Public id of the visit in progress (the `id` of its `NEW_VISIT` payload).
    pub current_visit_id: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
