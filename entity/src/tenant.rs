//! Account-scoped queries: tenant isolation by construction.
//!
//! Every table with an `account_id` column implements [`AccountScoped`]. Code in the `herald`
//! crate reads and changes these tables only through its constructors: the `_in` ones add the
//! account filter themselves, so a query cannot forget it; the `_across_accounts` ones say in
//! their name that a read or write is deliberately not limited to one account (the delivery
//! engine, maintenance, and look-ups by a global secret such as a login email, a token hash or
//! a write key). `.ci/tenant-scope` fails the build when app code calls `find()`,
//! `find_by_id()`, `update_many()`, `delete_many()` or `update()` on these entities directly,
//! or filters on their `account_id` column by hand.

use sea_orm::sea_query::SimpleExpr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DbErr, DeleteMany, EntityTrait, PrimaryKeyTrait, QueryFilter, Select, UpdateMany,
    ValidatedDeleteOne, ValidatedUpdateOne,
};

/// A table whose rows each belong to one account.
pub trait AccountScoped: EntityTrait {
    /// The column holding the owning account's id.
    fn account_column() -> Self::Column;

    /// The condition "the row belongs to `account_id`", for sub-queries built with sea-query
    /// (`Query::select()`), which the constructors below cannot start.
    fn in_account(account_id: i64) -> SimpleExpr {
        Self::account_column().eq(account_id)
    }

    /// `SELECT` of the account's rows.
    fn find_in(account_id: i64) -> Select<Self> {
        Self::find().filter(Self::in_account(account_id))
    }

    /// `SELECT` of the row with primary key `id`, only if it belongs to the account: another
    /// account's id finds nothing, exactly like an id that does not exist.
    fn find_by_id_in<T>(account_id: i64, id: T) -> Select<Self>
    where
        T: Into<<Self::PrimaryKey as PrimaryKeyTrait>::ValueType>,
    {
        Self::find_by_id(id).filter(Self::in_account(account_id))
    }

    /// `UPDATE` of the account's rows (narrow it further with `.filter`).
    fn update_many_in(account_id: i64) -> UpdateMany<Self> {
        Self::update_many().filter(Self::in_account(account_id))
    }

    /// `UPDATE` of one row by the primary key set in `model`, only if the row belongs to the
    /// account; otherwise executing it fails with `DbErr::RecordNotUpdated`.
    ///
    /// # Errors
    /// `DbErr::PrimaryKeyNotSet` when `model` has no primary key.
    fn update_in<A>(account_id: i64, model: A) -> Result<ValidatedUpdateOne<A>, DbErr>
    where
        A: ActiveModelTrait<Entity = Self>,
    {
        Ok(Self::update(model).validate()?.filter(Self::in_account(account_id)))
    }

    /// `DELETE` of the account's rows (narrow it further with `.filter`).
    fn delete_many_in(account_id: i64) -> DeleteMany<Self> {
        Self::delete_many().filter(Self::in_account(account_id))
    }

    /// `DELETE` of the row with primary key `id`, only if it belongs to the account.
    fn delete_by_id_in<T>(account_id: i64, id: T) -> ValidatedDeleteOne<Self>
    where
        T: Into<<Self::PrimaryKey as PrimaryKeyTrait>::ValueType>,
    {
        Self::delete_by_id(id).filter(Self::in_account(account_id))
    }

    /// `SELECT` over every account's rows. Only for the delivery engine, maintenance, and
    /// look-ups by a value that is unique across accounts (a token hash, a write key, a user's
    /// own rows); the call site says which.
    fn find_across_accounts() -> Select<Self> {
        Self::find()
    }

    /// `SELECT` of the row with primary key `id` whatever its account: for the delivery engine
    /// and maintenance, which work on rows they were handed, not on a request's account.
    fn find_by_id_across_accounts<T>(id: T) -> Select<Self>
    where
        T: Into<<Self::PrimaryKey as PrimaryKeyTrait>::ValueType>,
    {
        Self::find_by_id(id)
    }

    /// `UPDATE` over every account's rows: for the delivery engine and maintenance.
    fn update_many_across_accounts() -> UpdateMany<Self> {
        Self::update_many()
    }

    /// `DELETE` over every account's rows: for maintenance and a user's own rows.
    fn delete_many_across_accounts() -> DeleteMany<Self> {
        Self::delete_many()
    }
}

/// Implements [`AccountScoped`] for each listed entity module; `.ci/tenant-scope` reads this
/// list to know the tenant tables, and checks it names every entity with an `account_id`.
macro_rules! account_scoped {
    ($($table:ident),+ $(,)?) => {
        $(
            impl AccountScoped for crate::$table::Entity {
                fn account_column() -> crate::$table::Column {
                    crate::$table::Column::AccountId
                }
            }
        )+
    };
}

account_scoped!(
    api_token,
    app,
    audit_log,
    company,
    delivery,
    delivery_attempt,
    event,
    event_type,
    invitation,
    membership,
    profile,
    session,
    visitor,
    webhook,
);
