//! The delivery workers' copy of the webhooks they send to, decoded once per version.
//!
//! Every claim returns, with each delivery, its webhook's current `version` (raised by the
//! database on every change of the row). A cached copy is used only while it is at least that
//! version, so an edit, a rotation or a disable made in any process is obeyed from the next
//! claim on, with no messages between processes; an unchanged webhook costs no read at all.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use sea_orm::{DatabaseConnection, DbErr};

use entity::spec::{CustomHeaders, Method, SignatureScheme};
use entity::tenant::AccountScoped;
use entity::webhook;
use herald_jobs::send::Signing;

use crate::crypto::sealed::SecretBox;
use crate::domain::DomainResult;
use crate::domain::webhooks::Webhook;

/// Most webhooks kept; when full the cache starts over (a process sending to more webhooks
/// than this at once only reads each one again).
const MAX_ENTRIES: usize = 4096;

/// Decoded webhooks by id, shared by every worker of the process.
pub struct WebhookCache {
    db: DatabaseConnection,
    secrets: Arc<SecretBox>,
    entries: RwLock<HashMap<i64, Arc<Target>>>,
    /// One read at a time on a miss, so the workers that claimed a batch for a webhook that
    /// just changed read it once, not once each.
    loading: tokio::sync::Mutex<()>,
}

/// Everything sending to one version of a webhook needs, with its secrets opened.
pub struct Target {
    /// The row as read (the `410 Gone` handling disables it through the domain).
    pub model: webhook::Model,
    pub url: String,
    pub method: Method,
    pub headers: CustomHeaders,
    pub timeout: Duration,
    scheme: SignatureScheme,
    secret: Option<String>,
    /// The secret before the last rotation, and until when (unix ms) it still signs.
    previous: Option<(String, i64)>,
}

impl std::fmt::Debug for Target {
    /// Secrets are never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("webhook", &self.model.public_id)
            .field("version", &self.model.version)
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl Target {
    fn open(model: webhook::Model, secrets: &SecretBox) -> DomainResult<Self> {
        let hook = Webhook::from_model(model)?;
        let open = |sealed: &str| {
            secrets
                .open(sealed)
                .map_err(|e| DbErr::Custom(format!("webhooks.secret_sealed cannot be opened: {e}")))
        };
        let secret = hook.model.secret_sealed.as_deref().map(open).transpose()?;
        let previous = match (
            hook.model.previous_secret_sealed.as_deref(),
            hook.model.previous_secret_expires_at,
        ) {
            (Some(s), Some(until)) => Some((open(s)?, until)),
            _ => None,
        };
        Ok(Self {
            url: hook.spec.url.as_str().to_owned(),
            method: hook.spec.method,
            headers: hook.spec.headers,
            timeout: hook.spec.timeout.as_duration(),
            scheme: hook.spec.signature_scheme,
            secret,
            previous,
            model: hook.model,
        })
    }

    /// How to sign a request with id `msg_id` sent at `now_ms`: the previous secret signs too
    /// until its overlap after a rotation ends.
    #[must_use]
    pub fn signing<'a>(&'a self, msg_id: &'a str, now_ms: i64) -> Signing<'a> {
        match (self.scheme, self.secret.as_deref()) {
            (SignatureScheme::StandardWebhooks | SignatureScheme::StandardWebhooksV1a, Some(secret)) => {
                Signing::Standard {
                    msg_id,
                    timestamp: now_ms / 1000,
                    secret,
                    previous: self
                        .previous
                        .as_ref()
                        .filter(|(_, until)| *until > now_ms)
                        .map(|(s, _)| s.as_str()),
                }
            }
            (SignatureScheme::HmacSha1, Some(secret)) => Signing::HmacSha1 { secret },
            _ => Signing::None,
        }
    }
}

impl WebhookCache {
    /// An empty cache reading from `db`, opening secrets with `secrets`.
    #[must_use]
    pub fn new(db: DatabaseConnection, secrets: Arc<SecretBox>) -> Self {
        Self {
            db,
            secrets,
            entries: RwLock::new(HashMap::new()),
            loading: tokio::sync::Mutex::new(()),
        }
    }

    /// Webhook `id` at `version` or newer; `None` when it no longer exists.
    ///
    /// # Errors
    /// The read failed, or the stored webhook or its secret cannot be decoded.
    pub async fn get(&self, id: i64, version: i64) -> DomainResult<Option<Arc<Target>>> {
        if let Some(hit) = self.lookup(id, version) {
            return Ok(Some(hit));
        }
        let _one_reader = self.loading.lock().await;
        if let Some(hit) = self.lookup(id, version) {
            return Ok(Some(hit));
        }
        // The delivery engine serves every account: the claim names the webhook by row id.
        let Some(model) = webhook::Entity::find_by_id_across_accounts(id).one(&self.db).await? else {
            self.write().remove(&id);
            return Ok(None);
        };
        let target = Arc::new(Target::open(model, &self.secrets)?);
        let mut entries = self.write();
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(id, Arc::clone(&target));
        Ok(Some(target))
    }

    fn lookup(&self, id: i64, version: i64) -> Option<Arc<Target>> {
        let entries = self.entries.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        entries.get(&id).filter(|t| t.model.version >= version).cloned()
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<i64, Arc<Target>>> {
        self.entries.write().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
