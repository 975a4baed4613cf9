//! Webhooks: create, edit, enable/disable, rotate the secret, delete — each with an audit row
//! whose diff never contains a secret or a custom header's value.

mod input;
mod ops;
mod pace;
mod stored;

pub use input::{FilterRows, WebhookInput, WebhookSpec};
pub use pace::{DEFAULT_MAX_IN_FLIGHT, MAX_IN_FLIGHT, Pace, RATE_LIMIT};
pub use stored::Webhook;

use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, QueryFilter, Set};
use serde_json::{Value, json};

use entity::delivery::DeliveryStatus;
use entity::spec::SignatureScheme;
use entity::tenant::AccountScoped;
use entity::webhook;
use herald_jobs::signing;

use super::audit::{self, Actor, ActorKind, Entry, REDACTED};
use super::page::{Page, PageRequest};
use super::{DomainError, DomainResult, apps};
use crate::crypto;
use crate::crypto::sealed::SecretBox;
use crate::db::begin_write;
use crate::timestamps::now_ms;

/// How long the previous secret keeps signing after a rotation: 24 hours.
pub const ROTATION_OVERLAP_MS: i64 = 24 * 3_600_000;

fn actor_label(actor: &Actor) -> String {
    match &actor.kind {
        ActorKind::User { email, .. } => email.clone(),
        ActorKind::Token { name, .. } => format!("token {name}"),
        ActorKind::System => "Herald".to_owned(),
    }
}

async fn account_app_ids(conn: &impl ConnectionTrait, account_id: i64) -> DomainResult<Vec<i64>> {
    Ok(apps::all(conn, account_id).await?.into_iter().map(|a| a.id).collect())
}

fn entry(action: &'static str, w: &webhook::Model, diff: Value) -> Entry {
    Entry {
        action,
        target_type: "webhook",
        target_id: Some(w.public_id.clone()),
        target_label: w.name.clone(),
        diff,
    }
}

/// A created webhook and its secret in clear (also readable later by admins).
#[derive(Debug, Clone)]
pub struct Created {
    pub webhook: Webhook,
    pub secret: Option<String>,
}

/// Creates a webhook (enabled) with a generated or tenant-chosen secret.
///
/// # Errors
/// `Invalid` with every bad field.
pub async fn create(
    db: &DatabaseConnection,
    secrets: &SecretBox,
    actor: &Actor,
    input: &WebhookInput,
) -> DomainResult<Created> {
    let spec = input.parse(&account_app_ids(db, actor.account_id).await?)?;
    let secret = spec
        .secret
        .clone()
        .or_else(|| signing::generate_secret(spec.signature_scheme));
    let now = now_ms();
    let by = actor_label(actor);
    let mut row = stored::columns(&spec);
    row.public_id = Set(format!("wh_{}", crypto::random_hex(12)));
    row.account_id = Set(actor.account_id);
    row.secret_sealed = Set(secret.as_deref().map(|s| secrets.seal(s)));
    row.previous_secret_sealed = Set(None);
    row.previous_secret_expires_at = Set(None);
    row.enabled = Set(true);
    row.disabled_reason = Set(None);
    row.created_by = Set(by.clone());
    row.updated_by = Set(by);
    row.created_at = Set(now);
    row.updated_at = Set(now);
    let txn = begin_write(db).await?;
    let model = row.insert(&txn).await?;
    let webhook = Webhook::from_model(model)?;
    let diff = audit::diff(&json!({}), &webhook.snapshot(), &["secret"]);
    audit::record(&txn, actor, entry("webhook.created", &webhook.model, diff)).await?;
    txn.commit().await?;
    Ok(Created { webhook, secret })
}

/// Replaces a webhook's configuration (the secret is untouched: see [`rotate_secret`]).
///
/// # Errors
/// `NotFound` for another account's webhook; `Invalid` with every bad field.
pub async fn update(
    db: &DatabaseConnection,
    actor: &Actor,
    public_id: &str,
    input: &WebhookInput,
) -> DomainResult<Webhook> {
    let spec = input.parse(&account_app_ids(db, actor.account_id).await?)?;
    let txn = begin_write(db).await?;
    let current = get(&txn, actor.account_id, public_id).await?;
    let (before, after) = (current.spec.signature_scheme, spec.signature_scheme);
    if before != after && [before, after].contains(&SignatureScheme::StandardWebhooksV1a) {
        return Err(DomainError::invalid(
            "signature_scheme",
            "The stored key cannot sign with the new scheme (ed25519 keys and shared secrets differ): create a new webhook with it.",
        ));
    }
    let mut row = stored::columns(&spec);
    row.id = Set(current.model.id);
    row.updated_by = Set(actor_label(actor));
    row.updated_at = Set(now_ms());
    let updated = Webhook::from_model(webhook::Entity::update_in(actor.account_id, row)?.exec(&txn).await?)?;
    let diff = Webhook::diff(&current, &updated);
    if diff.as_object().is_some_and(|d| !d.is_empty()) {
        audit::record(&txn, actor, entry("webhook.updated", &updated.model, diff)).await?;
    }
    txn.commit().await?;
    Ok(updated)
}

/// Turns delivery on or off. Enabling clears the reason Herald recorded when it disabled it.
///
/// # Errors
/// `NotFound` for another account's webhook.
pub async fn set_enabled(
    db: &DatabaseConnection,
    actor: &Actor,
    public_id: &str,
    enabled: bool,
) -> DomainResult<Webhook> {
    let txn = begin_write(db).await?;
    let current = get(&txn, actor.account_id, public_id).await?;
    if current.model.enabled == enabled {
        return Ok(current);
    }
    let mut row: webhook::ActiveModel = current.model.into();
    row.enabled = Set(enabled);
    row.disabled_reason = Set(None);
    row.updated_by = Set(actor_label(actor));
    row.updated_at = Set(now_ms());
    let updated = Webhook::from_model(webhook::Entity::update_in(actor.account_id, row)?.exec(&txn).await?)?;
    if !enabled {
        cancel_queued(&txn, &updated.model).await?;
    }
    let action = if enabled { "webhook.enabled" } else { "webhook.disabled" };
    let diff = json!({ "enabled": { "before": !enabled, "after": enabled } });
    audit::record(&txn, actor, entry(action, &updated.model, diff)).await?;
    txn.commit().await?;
    Ok(updated)
}

/// Cancels the webhook's deliveries that have not started: a disabled webhook sends nothing more.
async fn cancel_queued(conn: &impl ConnectionTrait, hook: &webhook::Model) -> DomainResult<()> {
    entity::delivery::Entity::update_many_in(hook.account_id)
        .col_expr(
            entity::delivery::Column::Status,
            sea_orm::sea_query::Expr::value(DeliveryStatus::Cancelled),
        )
        .col_expr(
            entity::delivery::Column::UpdatedAt,
            sea_orm::sea_query::Expr::value(now_ms()),
        )
        .filter(entity::delivery::Column::WebhookId.eq(hook.id))
        .filter(entity::delivery::Column::Status.is_in([DeliveryStatus::Pending, DeliveryStatus::Collecting]))
        .exec(conn)
        .await?;
    Ok(())
}

/// Replaces the secret with a new one (generated, or `chosen` by the tenant). The previous secret
/// stays valid for [`ROTATION_OVERLAP_MS`] and signs a second signature until then, so receivers
/// can switch without dropping requests.
///
/// # Errors
/// `NotFound`; `Invalid` for a bad chosen secret or a webhook whose scheme has no secret.
pub async fn rotate_secret(
    db: &DatabaseConnection,
    secrets: &SecretBox,
    actor: &Actor,
    public_id: &str,
    chosen: Option<&str>,
) -> DomainResult<Webhook> {
    let txn = begin_write(db).await?;
    let current = get(&txn, actor.account_id, public_id).await?;
    let scheme = current.spec.signature_scheme;
    if !scheme.needs_secret() {
        return Err(DomainError::invalid(
            "secret",
            "This webhook is not signed, so it has no secret to rotate.",
        ));
    }
    let new_secret = match chosen.map(str::trim).filter(|s| !s.is_empty()) {
        Some(raw) => signing::validate_secret(scheme, raw).map_err(|e| DomainError::Invalid(vec![e]))?,
        None => signing::generate_secret(scheme).unwrap_or_default(),
    };
    let now = now_ms();
    let previous = current.model.secret_sealed.clone();
    let mut row: webhook::ActiveModel = current.model.into();
    row.secret_sealed = Set(Some(secrets.seal(&new_secret)));
    row.previous_secret_expires_at = Set(previous.as_ref().map(|_| now + ROTATION_OVERLAP_MS));
    row.previous_secret_sealed = Set(previous);
    row.updated_by = Set(actor_label(actor));
    row.updated_at = Set(now);
    let updated = Webhook::from_model(webhook::Entity::update_in(actor.account_id, row)?.exec(&txn).await?)?;
    let diff = json!({ "secret": { "before": REDACTED, "after": REDACTED } });
    audit::record(&txn, actor, entry("webhook.secret_rotated", &updated.model, diff)).await?;
    txn.commit().await?;
    Ok(updated)
}

/// The secrets of a webhook in clear: the current one and, during a rotation, the previous one
/// with the time it stops being used.
#[derive(Debug, Clone)]
pub struct Secrets {
    pub current: Option<String>,
    pub previous: Option<(String, i64)>,
}

/// Opens the stored secrets of a webhook of the account.
///
/// # Errors
/// `NotFound`; a secret that no longer decrypts (the server key changed) is a database error.
pub async fn reveal_secret(
    db: &DatabaseConnection,
    secrets: &SecretBox,
    account_id: i64,
    public_id: &str,
) -> DomainResult<Secrets> {
    let w = get(db, account_id, public_id).await?;
    let open = |sealed: &str| {
        secrets
            .open(sealed)
            .map_err(|e| DomainError::Db(sea_orm::DbErr::Custom(format!("webhook secret: {e}"))))
    };
    let current = w.model.secret_sealed.as_deref().map(open).transpose()?;
    let previous = match (
        w.model.previous_secret_sealed.as_deref(),
        w.model.previous_secret_expires_at,
    ) {
        (Some(sealed), Some(until)) if until > now_ms() => Some((open(sealed)?, until)),
        _ => None,
    };
    Ok(Secrets { current, previous })
}

/// The public keys of a `standard_webhooks_v1a` webhook: what its receiver verifies with. Not
/// secret, so readable with the `read` scope and shown on the webhook's page.
#[derive(Debug, Clone)]
pub struct PublicKeys {
    pub current: String,
    /// During a rotation: the previous key, still signing until the time given.
    pub previous: Option<(String, i64)>,
}

/// The public keys of a webhook signed with ed25519, `None` for other schemes.
///
/// # Errors
/// `NotFound`; a key that no longer opens or parses is a database error.
pub async fn public_keys(
    db: &DatabaseConnection,
    secrets: &SecretBox,
    account_id: i64,
    public_id: &str,
) -> DomainResult<Option<PublicKeys>> {
    let s = reveal_secret(db, secrets, account_id, public_id).await?;
    let public = |key: &str| {
        herald_jobs::signing::v1a::public_key(key)
            .map_err(|e| DomainError::Db(sea_orm::DbErr::Custom(format!("webhook signing key: {e}"))))
    };
    match s.current.as_deref() {
        Some(key) if key.starts_with(herald_jobs::signing::v1a::SIGNING_KEY_PREFIX) => Ok(Some(PublicKeys {
            current: public(key)?,
            previous: match s.previous {
                Some((old, until)) if old.starts_with(herald_jobs::signing::v1a::SIGNING_KEY_PREFIX) => {
                    Some((public(&old)?, until))
                }
                _ => None,
            },
        })),
        _ => Ok(None),
    }
}

/// Deletes a webhook; its audit history stays.
///
/// # Errors
/// `NotFound` for another account's webhook.
pub async fn delete(db: &DatabaseConnection, actor: &Actor, public_id: &str) -> DomainResult<()> {
    let txn = begin_write(db).await?;
    let current = get(&txn, actor.account_id, public_id).await?;
    let diff = audit::diff(&current.snapshot(), &json!({}), &["secret"]);
    webhook::Entity::delete_by_id_in(actor.account_id, current.model.id)
        .exec(&txn)
        .await?;
    audit::record(&txn, actor, entry("webhook.deleted", &current.model, diff)).await?;
    txn.commit().await?;
    Ok(())
}

/// One webhook of the account, by its public id.
///
/// # Errors
/// `NotFound` when it belongs to another account or does not exist.
pub async fn get(conn: &impl ConnectionTrait, account_id: i64, public_id: &str) -> DomainResult<Webhook> {
    let model = webhook::Entity::find_in(account_id)
        .filter(webhook::Column::PublicId.eq(public_id))
        .one(conn)
        .await?
        .ok_or(DomainError::NotFound)?;
    Webhook::from_model(model)
}

/// One page of the account's webhooks, newest first.
///
/// # Errors
/// Database failure.
pub async fn list(conn: &impl ConnectionTrait, account_id: i64, req: PageRequest) -> DomainResult<Page<Webhook>> {
    let q = webhook::Entity::find_in(account_id);
    let page = crate::domain::page::fetch(conn, q, webhook::Column::Id, req, |w| w.id).await?;
    let items = page
        .items
        .into_iter()
        .map(Webhook::from_model)
        .collect::<DomainResult<Vec<_>>>()?;
    Ok(Page {
        items,
        next_cursor: page.next_cursor,
        prev_cursor: page.prev_cursor,
    })
}

/// Herald itself turns a webhook off (auto-disable, `410 Gone`): the reason is stored and shown
/// on its page and the list, queued deliveries are cancelled, and an audit row by `Herald`
/// records it; webhooks subscribed to `herald.webhook.disabled` get it in the same transaction.
/// Re-enabling (by a person) clears the reason and resumes delivery of new events.
///
/// # Errors
/// Database failure.
pub async fn disable_by_system(conn: &impl ConnectionTrait, hook: &webhook::Model, reason: &str) -> DomainResult<()> {
    let mut row: webhook::ActiveModel = hook.clone().into();
    row.enabled = Set(false);
    row.disabled_reason = Set(Some(reason.to_owned()));
    row.updated_by = Set("Herald".to_owned());
    let now = now_ms();
    row.updated_at = Set(now);
    webhook::Entity::update_in(hook.account_id, row)?.exec(conn).await?;
    cancel_queued(conn, hook).await?;
    ops::disabled(conn, hook, reason, now).await?;
    let actor = Actor {
        account_id: hook.account_id,
        kind: ActorKind::System,
        ip: None,
        user_agent: None,
    };
    let diff = json!({ "enabled": { "before": true, "after": false }, "reason": { "before": null, "after": reason } });
    audit::record(conn, &actor, entry("webhook.disabled", hook, diff)).await?;
    Ok(())
}
