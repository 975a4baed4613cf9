//! `GET /api/v1/webhooks/{id}/public-key`: the ed25519 public keys of a `standard_webhooks_v1a`
//! webhook, which its receiver verifies `v1a` signatures with. Public, so the `read` scope
//! suffices (the signing key itself is `GET …/secret`, `write` scope).

use actix_web::{get, web};
use serde::Serialize;

use super::{Caller, ErrorBody};
use crate::domain::{DomainError, webhooks};
use crate::timestamps::rfc3339;
use crate::web::AppState;
use crate::web::error::ApiError;

/// The keys a receiver verifies with.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PublicKeyOut {
    /// `whpk_` + base64 of the 32-byte ed25519 public key.
    public_key: String,
    /// During a rotation, the previous key: requests carry its signature too until then.
    previous_public_key: Option<String>,
    previous_public_key_expires_at: Option<String>,
}

/// The webhook's ed25519 public key (404 for a webhook not signed with `standard_webhooks_v1a`).
#[utoipa::path(tag = "webhooks", params(("id" = String, Path)), responses(
    (status = 200, body = PublicKeyOut), (status = 404, body = ErrorBody)))]
#[get("/webhooks/{id}/public-key")]
#[tracing::instrument(skip_all, fields(webhook.id = %id))]
pub async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<web::Json<PublicKeyOut>, ApiError> {
    let keys = webhooks::public_keys(&state.db, &state.secrets, caller.account_id(), &id)
        .await?
        .ok_or(DomainError::NotFound)?;
    Ok(web::Json(PublicKeyOut {
        public_key: keys.current,
        previous_public_key_expires_at: keys.previous.as_ref().map(|(_, until)| rfc3339(*until)),
        previous_public_key: keys.previous.map(|(k, _)| k),
    }))
}
