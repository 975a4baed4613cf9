//! Logging in: password checks with throttling, and server-side sessions.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Set, TransactionTrait,
};
use serde_json::json;

use entity::membership::Role;
use entity::tenant::AccountScoped;
use entity::{account, login_failure, membership, session, user};

use super::audit::{self, Actor, ActorKind, Entry};
use super::{DomainError, DomainResult, validate};
use crate::crypto::{self, DUMMY_PASSWORD_HASH};
use crate::timestamps::now_ms;

/// Failed logins allowed per email within [`THROTTLE_WINDOW_MS`] before further tries get 429.
pub const MAX_FAILURES: u64 = 10;
/// The sliding window for [`MAX_FAILURES`]: 15 minutes.
pub const THROTTLE_WINDOW_MS: i64 = 15 * 60 * 1000;
/// The one message for an unknown email and a wrong password, so neither is revealed.
pub const BAD_CREDENTIALS: &str = "Invalid email or password.";

/// Where a request came from, for audit rows written before anyone is authenticated.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// Verifies a password off the async threads (argon2 is deliberately slow).
pub(crate) async fn verify_password(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || crypto::verify_password(&password, &hash))
        .await
        .unwrap_or(false)
}

/// Hashes a new password off the async threads.
pub(crate) async fn hash_password(password: String) -> DomainResult<String> {
    tokio::task::spawn_blocking(move || crypto::hash_password(&password))
        .await
        .map_err(|_| DomainError::Hashing)?
        .map_err(|_| DomainError::Hashing)
}

/// Checks an email and password. After [`MAX_FAILURES`] failures for an email within 15 minutes
/// every attempt is refused with [`DomainError::RateLimited`] until the window passes; the
/// failure that reaches the limit is written to the audit log of the user's accounts.
///
/// # Errors
/// [`DomainError::Unauthorized`] with [`BAD_CREDENTIALS`], or `RateLimited`.
pub async fn login(db: &DatabaseConnection, email: &str, password: &str, origin: &Origin) -> DomainResult<user::Model> {
    let email = email.trim().to_lowercase();
    let failures = check_throttle(db, &email).await?;
    let found = user::Entity::find()
        .filter(user::Column::Email.eq(email.as_str()))
        .one(db)
        .await?;
    let hash = found
        .as_ref()
        .map_or_else(|| DUMMY_PASSWORD_HASH.clone(), |u| u.password_hash.clone());
    if verify_password(password.to_owned(), hash).await
        && let Some(user) = found
    {
        return Ok(user);
    }
    record_failure(db, &email, found.as_ref(), failures + 1, origin).await?;
    Err(DomainError::Unauthorized(BAD_CREDENTIALS.into()))
}

/// The failed logins (passwords and two-factor codes) of `email` in the throttle window.
///
/// # Errors
/// `RateLimited` at [`MAX_FAILURES`].
pub(crate) async fn check_throttle(db: &DatabaseConnection, email: &str) -> DomainResult<u64> {
    let failures = login_failure::Entity::find()
        .filter(login_failure::Column::Email.eq(email))
        .filter(login_failure::Column::CreatedAt.gt(now_ms() - THROTTLE_WINDOW_MS))
        .count(db)
        .await?;
    if failures >= MAX_FAILURES {
        return Err(DomainError::RateLimited(
            "Too many failed logins for this email. Try again in 15 minutes.".into(),
        ));
    }
    Ok(failures)
}

/// Counts a failed login (the `count`th in the window); the one that reaches the limit is written
/// to the audit log of the user's accounts.
pub(crate) async fn record_failure(
    db: &DatabaseConnection,
    email: &str,
    user: Option<&user::Model>,
    count: u64,
    origin: &Origin,
) -> DomainResult<()> {
    let txn = db.begin().await?;
    login_failure::ActiveModel {
        email: Set(email.to_owned()),
        created_at: Set(now_ms()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    if count == MAX_FAILURES
        && let Some(user) = user
    {
        // A user's memberships span accounts: the throttle is audited in each of them.
        let accounts = membership::Entity::find_across_accounts()
            .filter(membership::Column::UserId.eq(user.id))
            .all(&txn)
            .await?;
        for m in accounts {
            let actor = Actor {
                account_id: m.account_id,
                kind: ActorKind::System,
                ip: origin.ip.clone(),
                user_agent: origin.user_agent.clone(),
            };
            let entry = Entry {
                action: "user.login_throttled",
                target_type: "user",
                target_id: Some(user.id.to_string()),
                target_label: user.email.clone(),
                diff: json!({ "failed_logins": { "before": null, "after": count } }),
            };
            audit::record(&txn, &actor, entry).await?;
        }
    }
    txn.commit().await?;
    Ok(())
}

/// How long a session waiting for its second factor lives: 10 minutes to type a code.
pub const PENDING_TWO_FACTOR_MS: i64 = 10 * 60 * 1000;

/// Creates a login session in `account_id` and returns the cookie value (shown only here; the
/// database keeps its SHA-256). A user with two-factor on gets a session that waits for the
/// code ([`PENDING_TWO_FACTOR_MS`]) and opens nothing else until
/// [`super::two_factor::complete_login`].
///
/// # Errors
/// Database failure.
pub async fn create_session(
    conn: &impl ConnectionTrait,
    user: &user::Model,
    account_id: i64,
    ttl_hours: i64,
    origin: &Origin,
) -> DomainResult<String> {
    let token = crypto::random_hex(32);
    let now = now_ms();
    let pending = user.totp_enabled_at.is_some();
    session::ActiveModel {
        token_hash: Set(crypto::sha256_hex(&token)),
        user_id: Set(user.id),
        account_id: Set(account_id),
        created_at: Set(now),
        expires_at: Set(now
            + if pending {
                PENDING_TWO_FACTOR_MS
            } else {
                ttl_hours * 3_600_000
            }),
        pending_two_factor: Set(pending),
        ip: Set(origin.ip.clone()),
        user_agent: Set(origin.user_agent.clone()),
        ..Default::default()
    }
    .insert(conn)
    .await?;
    Ok(token)
}

/// A live session with its user.
#[derive(Debug, Clone)]
pub struct SessionUser {
    pub session: session::Model,
    pub user: user::Model,
}

/// Resolves a cookie value to its session and user; expired or unknown sessions give `None`.
///
/// # Errors
/// Database failure.
pub async fn find_session(db: &DatabaseConnection, token: &str) -> DomainResult<Option<SessionUser>> {
    // The cookie's hash is unique across accounts: it is what says which account is in use.
    let Some(session) = session::Entity::find_across_accounts()
        .filter(session::Column::TokenHash.eq(crypto::sha256_hex(token)))
        .filter(session::Column::ExpiresAt.gt(now_ms()))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let user = user::Entity::find_by_id(session.user_id).one(db).await?;
    Ok(user.map(|user| SessionUser { session, user }))
}

/// Ends a session (logout).
///
/// # Errors
/// Database failure.
pub async fn delete_session(db: &DatabaseConnection, token: &str) -> DomainResult<()> {
    session::Entity::delete_many_across_accounts()
        .filter(session::Column::TokenHash.eq(crypto::sha256_hex(token)))
        .exec(db)
        .await?;
    Ok(())
}

/// Points a session at another of the user's accounts.
///
/// # Errors
/// [`DomainError::NotFound`] when the user is not a member of `account_id`.
pub async fn switch_account(db: &DatabaseConnection, session: &session::Model, account_id: i64) -> DomainResult<()> {
    if role_in(db, session.user_id, account_id).await?.is_none() {
        return Err(DomainError::NotFound);
    }
    let mut active: session::ActiveModel = session.clone().into();
    active.account_id = Set(account_id);
    session::Entity::update_in(session.account_id, active)?.exec(db).await?;
    Ok(())
}

/// The user's role in an account, if a member.
///
/// # Errors
/// Database failure.
pub async fn role_in(conn: &impl ConnectionTrait, user_id: i64, account_id: i64) -> DomainResult<Option<Role>> {
    let m = membership::Entity::find_in(account_id)
        .filter(membership::Column::UserId.eq(user_id))
        .one(conn)
        .await?;
    Ok(m.map(|m| m.role))
}

/// Every account the user belongs to, oldest membership first, with the role held there.
///
/// # Errors
/// Database failure.
pub async fn accounts_of(db: &DatabaseConnection, user_id: i64) -> DomainResult<Vec<(account::Model, Role)>> {
    // The accounts a user may switch between: their memberships in every account.
    let rows = membership::Entity::find_across_accounts()
        .filter(membership::Column::UserId.eq(user_id))
        .order_by_asc(membership::Column::Id)
        .all(db)
        .await?;
    let ids: Vec<i64> = rows.iter().map(|m| m.account_id).collect();
    let accounts = account::Entity::find()
        .filter(account::Column::Id.is_in(ids))
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|m| {
            accounts
                .iter()
                .find(|a| a.id == m.account_id)
                .map(|a| (a.clone(), m.role))
        })
        .collect())
}

/// Parses the login form's email for re-display; login itself accepts any text.
#[must_use]
pub fn normalise_email(email: &str) -> String {
    validate::email("email", email).unwrap_or_else(|_| email.trim().to_owned())
}
