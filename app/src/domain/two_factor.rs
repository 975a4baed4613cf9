//! Optional two-factor login with TOTP (RFC 6238: HMAC-SHA1, 6 digits, 30-second steps — what
//! every authenticator app reads from an `otpauth://` URL), computed by the `totp-rs` crate.
//!
//! Setting up is two steps, so a typo in the app never locks anyone out: [`begin_setup`] stores a
//! new secret (sealed like webhook secrets) without turning anything on, and [`confirm_setup`]
//! turns it on only for a correct code, answering ten one-time recovery codes, shown once (only
//! their SHA-256 is kept). At login a password opens a session that waits for its second factor
//! ([`super::auth::create_session`]); [`complete_login`] takes a code — each time step once, one
//! step of clock drift either way — or a recovery code (used up). Wrong codes count as failed
//! logins for the email, throttled like passwords.

use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};
use serde_json::json;
use totp_rs::{Algorithm, Secret, TOTP};

use entity::tenant::AccountScoped;
use entity::{recovery_code, session, user};

use super::audit::{self, Actor};
use super::auth::{self, Origin, verify_password};
use super::security::user_entry;
use super::{DomainError, DomainResult};
use crate::crypto;
use crate::crypto::sealed::SecretBox;
use crate::db::begin_write;
use crate::timestamps::now_ms;

/// Seconds per TOTP step.
const STEP_SECS: u64 = 30;
/// Recovery codes made when two-factor is turned on.
pub const RECOVERY_CODES: usize = 10;
const WRONG_CODE: &str = "That code is not right. Enter the 6 digits your app shows now, or a recovery code.";

/// What an authenticator app needs: the secret as base32 and the `otpauth://` URL with it.
/// No `Debug`: the secret is never printed.
#[derive(Clone)]
pub struct Setup {
    pub secret_base32: String,
    pub otpauth_url: String,
}

fn totp(secret_base32: &str, email: &str) -> DomainResult<TOTP> {
    let corrupt = |e: String| DomainError::Db(sea_orm::DbErr::Custom(format!("users.totp_secret_sealed: {e}")));
    let bytes = Secret::Encoded(secret_base32.to_owned())
        .to_bytes()
        .map_err(|e| corrupt(e.to_string()))?;
    TOTP::new(
        Algorithm::SHA1,
        6,
        1,
        STEP_SECS,
        bytes,
        Some("Herald".into()),
        email.to_owned(),
    )
    .map_err(|e| corrupt(e.to_string()))
}

fn open(secrets: &SecretBox, user: &user::Model) -> DomainResult<Option<String>> {
    user.totp_secret_sealed
        .as_deref()
        .map(|sealed| {
            secrets
                .open(sealed)
                .map_err(|e| DomainError::Db(sea_orm::DbErr::Custom(format!("users.totp_secret_sealed: {e}"))))
        })
        .transpose()
}

fn setup_of(secret_base32: String, email: &str) -> DomainResult<Setup> {
    let otpauth_url = totp(&secret_base32, email)?.get_url();
    Ok(Setup {
        secret_base32,
        otpauth_url,
    })
}

/// Starts setting up (or starts again): a new secret, stored but not yet in use.
///
/// # Errors
/// `Conflict` when two-factor is already on.
pub async fn begin_setup(db: &DatabaseConnection, secrets: &SecretBox, user: &user::Model) -> DomainResult<Setup> {
    if user.totp_enabled_at.is_some() {
        return Err(DomainError::conflict("code", "Two-factor login is already on."));
    }
    let mut raw = [0u8; 20];
    getrandom::fill(&mut raw).map_err(|_| DomainError::Hashing)?;
    let Secret::Encoded(base32) = Secret::Raw(raw.to_vec()).to_encoded() else {
        return Err(DomainError::Hashing);
    };
    let mut row: user::ActiveModel = user.clone().into();
    row.totp_secret_sealed = Set(Some(secrets.seal(&base32)));
    user::Entity::update(row).exec(db).await?;
    setup_of(base32, &user.email)
}

/// The setup in progress, if one was begun and not confirmed.
///
/// # Errors
/// A stored secret that no longer opens (a database error).
pub fn pending_setup(secrets: &SecretBox, user: &user::Model) -> DomainResult<Option<Setup>> {
    if user.totp_enabled_at.is_some() {
        return Ok(None);
    }
    open(secrets, user)?.map(|s| setup_of(s, &user.email)).transpose()
}

/// The step of `code` within one step of `now`, newer than `last` (a code works once).
fn matching_step(totp: &TOTP, code: &str, now_secs: u64, last: Option<i64>) -> Option<i64> {
    let now_step = now_secs / STEP_SECS;
    (now_step.saturating_sub(1)..=now_step + 1)
        .filter_map(|step| i64::try_from(step).ok().map(|s| (step, s)))
        .filter(|(_, s)| last.is_none_or(|l| *s > l))
        .find(|(step, _)| crypto::constant_time_eq(&totp.generate(step * STEP_SECS), code))
        .map(|(_, s)| s)
}

fn now_secs() -> u64 {
    u64::try_from(now_ms() / 1000).unwrap_or(0)
}

/// Turns two-factor on after a correct `code` from the app; answers the recovery codes.
///
/// # Errors
/// `Invalid` on `code` (wrong, or no setup begun).
pub async fn confirm_setup(
    db: &DatabaseConnection,
    secrets: &SecretBox,
    actor: &Actor,
    user: &user::Model,
    code: &str,
) -> DomainResult<Vec<String>> {
    let setup = pending_setup(secrets, user)?
        .ok_or_else(|| DomainError::invalid("code", "Start setting up two-factor login first."))?;
    let step = matching_step(&totp(&setup.secret_base32, &user.email)?, code.trim(), now_secs(), None)
        .ok_or_else(|| DomainError::invalid("code", WRONG_CODE))?;
    let codes: Vec<String> = (0..RECOVERY_CODES)
        .map(|_| {
            let hex = crypto::random_hex(5);
            format!("{}-{}", &hex[..5], &hex[5..])
        })
        .collect();
    let txn = begin_write(db).await?;
    let mut row: user::ActiveModel = user.clone().into();
    row.totp_enabled_at = Set(Some(now_ms()));
    row.totp_last_step = Set(Some(step));
    user::Entity::update(row).exec(&txn).await?;
    replace_recovery_codes(&txn, user.id, &codes).await?;
    let diff = json!({ "two_factor": { "before": false, "after": true } });
    audit::record(&txn, actor, user_entry("user.two_factor_enabled", user, diff)).await?;
    txn.commit().await?;
    Ok(codes)
}

fn recovery_hash(code: &str) -> String {
    crypto::sha256_hex(&code.trim().to_lowercase().replace('-', ""))
}

async fn replace_recovery_codes(
    conn: &impl sea_orm::ConnectionTrait,
    user_id: i64,
    codes: &[String],
) -> DomainResult<()> {
    recovery_code::Entity::delete_many()
        .filter(recovery_code::Column::UserId.eq(user_id))
        .exec(conn)
        .await?;
    for code in codes {
        recovery_code::ActiveModel {
            user_id: Set(user_id),
            code_hash: Set(recovery_hash(code)),
            created_at: Set(now_ms()),
            ..Default::default()
        }
        .insert(conn)
        .await?;
    }
    Ok(())
}

/// Turns two-factor off (the password is asked again); the recovery codes go too.
///
/// # Errors
/// `Invalid` on `password` when it is wrong.
pub async fn disable(db: &DatabaseConnection, actor: &Actor, user: &user::Model, password: &str) -> DomainResult<()> {
    if !verify_password(password.to_owned(), user.password_hash.clone()).await {
        return Err(DomainError::invalid("password", "That is not your password."));
    }
    let txn = begin_write(db).await?;
    let mut row: user::ActiveModel = user.clone().into();
    row.totp_secret_sealed = Set(None);
    row.totp_enabled_at = Set(None);
    row.totp_last_step = Set(None);
    user::Entity::update(row).exec(&txn).await?;
    replace_recovery_codes(&txn, user.id, &[]).await?;
    let diff = json!({ "two_factor": { "before": true, "after": false } });
    audit::record(&txn, actor, user_entry("user.two_factor_disabled", user, diff)).await?;
    txn.commit().await?;
    Ok(())
}

/// The second step of a login: the session waiting for `code` (a TOTP code or a recovery code)
/// becomes a full session of `ttl_hours`.
///
/// # Errors
/// `Unauthorized` for a wrong code or a session that is not waiting; `RateLimited` after
/// [`auth::MAX_FAILURES`] failures for the email.
pub async fn complete_login(
    db: &DatabaseConnection,
    secrets: &SecretBox,
    pending: &auth::SessionUser,
    code: &str,
    ttl_hours: i64,
    origin: &Origin,
) -> DomainResult<()> {
    let user = &pending.user;
    let failures = auth::check_throttle(db, &user.email).await?;
    let secret = open(secrets, user)?.filter(|_| pending.session.pending_two_factor && user.totp_enabled_at.is_some());
    let Some(secret) = secret else {
        return Err(DomainError::Unauthorized("This login does not wait for a code.".into()));
    };
    let txn = begin_write(db).await?;
    let code = code.trim();
    let step = matching_step(&totp(&secret, &user.email)?, code, now_secs(), user.totp_last_step);
    let used_recovery = step.is_none()
        && recovery_code::Entity::delete_many()
            .filter(recovery_code::Column::UserId.eq(user.id))
            .filter(recovery_code::Column::CodeHash.eq(recovery_hash(code)))
            .exec(&txn)
            .await?
            .rows_affected
            == 1;
    if step.is_none() && !used_recovery {
        drop(txn);
        auth::record_failure(db, &user.email, Some(user), failures + 1, origin).await?;
        return Err(DomainError::Unauthorized(WRONG_CODE.into()));
    }
    if let Some(step) = step {
        let mut row: user::ActiveModel = user.clone().into();
        row.totp_last_step = Set(Some(step));
        user::Entity::update(row).exec(&txn).await?;
    }
    let mut s: session::ActiveModel = pending.session.clone().into();
    s.pending_two_factor = Set(false);
    s.expires_at = Set(now_ms() + ttl_hours * 3_600_000);
    session::Entity::update_in(pending.session.account_id, s)?
        .exec(&txn)
        .await?;
    if used_recovery {
        let actor = Actor {
            account_id: pending.session.account_id,
            kind: audit::ActorKind::User {
                id: user.id,
                email: user.email.clone(),
            },
            ip: origin.ip.clone(),
            user_agent: origin.user_agent.clone(),
        };
        let diff = json!({ "recovery_code": { "before": null, "after": "used" } });
        audit::record(&txn, &actor, user_entry("user.recovery_code_used", user, diff)).await?;
    }
    txn.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{matching_step, totp};

    #[test]
    fn a_code_matches_within_one_step_and_only_once() {
        let t = totp("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "ann@example.com").unwrap();
        let now = 1_700_000_000;
        let code = t.generate(now);
        let step = matching_step(&t, &code, now, None).expect("the current code");
        assert_eq!(
            matching_step(&t, &code, now + 30, None),
            Some(step),
            "one step late still counts"
        );
        assert_eq!(matching_step(&t, &code, now, Some(step)), None, "never twice");
        assert_eq!(matching_step(&t, &code, now + 300, None), None, "too old");
        assert_eq!(matching_step(&t, "000000x", now, None), None);
    }
}
