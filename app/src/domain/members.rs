//! Members of an account: invitations (a link shown once), roles, removal.
//!
//! Rules: owners and admins invite and manage members; only owners grant, change or remove the
//! owner role; the last owner can be neither demoted nor removed.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Set,
};
use serde_json::json;

use entity::membership::{self, Role};
use entity::tenant::AccountScoped;
use entity::{account, invitation, user};

use super::audit::{self, Actor, ActorKind, Entry};
use super::auth::{self, Origin};
use super::roles::RoleRules;
use super::validate::{self, Errors};
use super::{DomainError, DomainResult};
use crate::crypto;
use crate::db::begin_write;
use crate::timestamps::now_ms;

/// How long an invite link stays valid: 7 days.
pub const INVITE_TTL_MS: i64 = 7 * 86_400_000;

/// A member as listed on the Members page (the role is `membership.role`).
#[derive(Debug, Clone)]
pub struct Member {
    pub membership: membership::Model,
    pub email: String,
}

/// Every member of the account, oldest first.
///
/// # Errors
/// Database failure.
pub async fn list(db: &DatabaseConnection, account_id: i64) -> DomainResult<Vec<Member>> {
    let rows = membership::Entity::find_in(account_id)
        .order_by_asc(membership::Column::Id)
        .all(db)
        .await?;
    let users = user::Entity::find()
        .filter(user::Column::Id.is_in(rows.iter().map(|m| m.user_id).collect::<Vec<_>>()))
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|m| {
            let email = users
                .iter()
                .find(|u| u.id == m.user_id)
                .map(|u| u.email.clone())
                .unwrap_or_default();
            Member { membership: m, email }
        })
        .collect())
}

/// Invitations not yet accepted and not expired, newest first.
///
/// # Errors
/// Database failure.
pub async fn pending_invitations(db: &DatabaseConnection, account_id: i64) -> DomainResult<Vec<invitation::Model>> {
    Ok(invitation::Entity::find_in(account_id)
        .filter(invitation::Column::AcceptedAt.is_null())
        .filter(invitation::Column::ExpiresAt.gt(now_ms()))
        .order_by_desc(invitation::Column::Id)
        .all(db)
        .await?)
}

/// A created invitation and its link secret (shown once).
#[derive(Debug, Clone)]
pub struct CreatedInvitation {
    pub invitation: invitation::Model,
    pub secret: String,
}

fn can_manage(actor_role: Role, target_role: Role) -> DomainResult<()> {
    actor_role.require_write()?;
    if target_role == Role::Owner && actor_role != Role::Owner {
        return Err(DomainError::Forbidden(
            "Only an owner can grant, change or remove the owner role.".into(),
        ));
    }
    Ok(())
}

/// Invites `email` with `role`. A newer invite for the same email replaces the older one.
///
/// # Errors
/// `Forbidden` for viewers (and admins inviting owners); `Invalid` fields; `Conflict` when the
/// email already belongs to a member.
pub async fn invite(
    db: &DatabaseConnection,
    actor: &Actor,
    actor_role: Role,
    email: &str,
    role: &str,
) -> DomainResult<CreatedInvitation> {
    actor_role.require_write()?;
    let mut errors = Errors::default();
    let email = errors.take(validate::email("email", email));
    let role = errors.take(Role::parse("role", role));
    errors.finish()?;
    let (Some(email), Some(role)) = (email, role) else {
        return Err(DomainError::invalid("email", "invalid input"));
    };
    can_manage(actor_role, role)?;
    let txn = begin_write(db).await?;
    if let Some(existing) = user::Entity::find()
        .filter(user::Column::Email.eq(email.as_str()))
        .one(&txn)
        .await?
        && auth::role_in(&txn, existing.id, actor.account_id).await?.is_some()
    {
        return Err(DomainError::conflict("email", "This person is already a member."));
    }
    invitation::Entity::delete_many_in(actor.account_id)
        .filter(invitation::Column::Email.eq(email.as_str()))
        .filter(invitation::Column::AcceptedAt.is_null())
        .exec(&txn)
        .await?;
    let secret = crypto::random_hex(24);
    let now = now_ms();
    let created = invitation::ActiveModel {
        account_id: Set(actor.account_id),
        email: Set(email.clone()),
        role: Set(role),
        token_hash: Set(crypto::sha256_hex(&secret)),
        invited_by_user_id: Set(actor.user_id().unwrap_or_default()),
        created_at: Set(now),
        expires_at: Set(now + INVITE_TTL_MS),
        accepted_at: Set(None),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let entry = Entry {
        action: "member.invited",
        target_type: "invitation",
        target_id: Some(created.id.to_string()),
        target_label: email.clone(),
        diff: json!({ "email": { "before": null, "after": email }, "role": { "before": null, "after": role.as_str() } }),
    };
    audit::record(&txn, actor, entry).await?;
    txn.commit().await?;
    Ok(CreatedInvitation {
        invitation: created,
        secret,
    })
}

/// Withdraws a pending invitation.
///
/// # Errors
/// `Forbidden` for viewers; `NotFound` for another account's invitation.
pub async fn revoke_invitation(db: &DatabaseConnection, actor: &Actor, actor_role: Role, id: i64) -> DomainResult<()> {
    actor_role.require_write()?;
    let txn = begin_write(db).await?;
    let inv = invitation::Entity::find_by_id_in(actor.account_id, id)
        .filter(invitation::Column::AcceptedAt.is_null())
        .one(&txn)
        .await?
        .ok_or(DomainError::NotFound)?;
    invitation::Entity::delete_by_id_in(actor.account_id, inv.id)
        .exec(&txn)
        .await?;
    let entry = Entry {
        action: "member.invite_revoked",
        target_type: "invitation",
        target_id: Some(inv.id.to_string()),
        target_label: inv.email.clone(),
        diff: json!({ "email": { "before": inv.email, "after": null } }),
    };
    audit::record(&txn, actor, entry).await?;
    txn.commit().await?;
    Ok(())
}

/// An open invitation as its link shows it.
#[derive(Debug, Clone)]
pub struct OpenInvitation {
    pub invitation: invitation::Model,
    pub account_name: String,
    /// Whether the invitee already has a login (then they confirm with their password).
    pub has_login: bool,
}

/// Looks up an invite link's secret.
///
/// # Errors
/// `NotFound` for an unknown, used or expired link.
pub async fn open_invitation(db: &DatabaseConnection, secret: &str) -> DomainResult<OpenInvitation> {
    // The link's hash is unique across accounts: it is what says which account invites.
    let inv = invitation::Entity::find_across_accounts()
        .filter(invitation::Column::TokenHash.eq(crypto::sha256_hex(secret)))
        .filter(invitation::Column::AcceptedAt.is_null())
        .filter(invitation::Column::ExpiresAt.gt(now_ms()))
        .one(db)
        .await?
        .ok_or(DomainError::NotFound)?;
    let account = account::Entity::find_by_id(inv.account_id)
        .one(db)
        .await?
        .ok_or(DomainError::NotFound)?;
    let has_login = user::Entity::find()
        .filter(user::Column::Email.eq(inv.email.as_str()))
        .count(db)
        .await?
        > 0;
    Ok(OpenInvitation {
        invitation: inv,
        account_name: account.name,
        has_login,
    })
}

/// Accepts an invitation: with the existing login's password, or by setting a new password.
/// Returns the user, now a member of the invitation's account.
///
/// # Errors
/// `NotFound` for a dead link; `Unauthorized` for a wrong password; `Invalid` for a short new one.
pub async fn accept(
    db: &DatabaseConnection,
    secret: &str,
    password: &str,
    origin: &Origin,
) -> DomainResult<(user::Model, i64)> {
    let open = open_invitation(db, secret).await?;
    let inv = open.invitation;
    let user = if open.has_login {
        auth::login(db, &inv.email, password, origin).await?
    } else {
        let password = validate::new_password("password", password).map_err(|e| DomainError::Invalid(vec![e]))?;
        let hash = auth::hash_password(password).await?;
        user::ActiveModel {
            email: Set(inv.email.clone()),
            password_hash: Set(hash),
            created_at: Set(now_ms()),
            ..Default::default()
        }
        .insert(db)
        .await?
    };
    let txn = begin_write(db).await?;
    let still_open = invitation::Entity::find_by_id_in(inv.account_id, inv.id)
        .filter(invitation::Column::AcceptedAt.is_null())
        .one(&txn)
        .await?;
    let Some(still_open) = still_open else {
        return Err(DomainError::NotFound);
    };
    if auth::role_in(&txn, user.id, inv.account_id).await?.is_none() {
        membership::ActiveModel {
            account_id: Set(inv.account_id),
            user_id: Set(user.id),
            role: Set(inv.role),
            created_at: Set(now_ms()),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
    }
    let mut active: invitation::ActiveModel = still_open.into();
    active.accepted_at = Set(Some(now_ms()));
    invitation::Entity::update_in(inv.account_id, active)?
        .exec(&txn)
        .await?;
    let actor = Actor {
        account_id: inv.account_id,
        kind: ActorKind::User {
            id: user.id,
            email: user.email.clone(),
        },
        ip: origin.ip.clone(),
        user_agent: origin.user_agent.clone(),
    };
    let entry = Entry {
        action: "member.joined",
        target_type: "user",
        target_id: Some(user.id.to_string()),
        target_label: user.email.clone(),
        diff: json!({ "role": { "before": null, "after": inv.role.as_str() } }),
    };
    audit::record(&txn, &actor, entry).await?;
    txn.commit().await?;
    Ok((user, inv.account_id))
}

async fn member_in(
    conn: &impl ConnectionTrait,
    account_id: i64,
    membership_id: i64,
) -> DomainResult<membership::Model> {
    membership::Entity::find_by_id_in(account_id, membership_id)
        .one(conn)
        .await?
        .ok_or(DomainError::NotFound)
}

async fn owner_count(conn: &impl ConnectionTrait, account_id: i64) -> DomainResult<u64> {
    Ok(membership::Entity::find_in(account_id)
        .filter(membership::Column::Role.eq(Role::Owner))
        .count(conn)
        .await?)
}

async fn email_of(conn: &impl ConnectionTrait, user_id: i64) -> DomainResult<String> {
    Ok(user::Entity::find_by_id(user_id)
        .one(conn)
        .await?
        .map(|u| u.email)
        .unwrap_or_default())
}

const LAST_OWNER: &str = "The last owner can't be removed or demoted; make someone else an owner first.";

/// Changes a member's role.
///
/// # Errors
/// `Forbidden` (viewers; admins touching owners; the last owner); `NotFound` for another
/// account's member; `Invalid` for an unknown role.
pub async fn change_role(
    db: &DatabaseConnection,
    actor: &Actor,
    actor_role: Role,
    membership_id: i64,
    role: &str,
) -> DomainResult<()> {
    actor_role.require_write()?;
    let new_role = Role::parse("role", role).map_err(|e| DomainError::Invalid(vec![e]))?;
    let txn = begin_write(db).await?;
    let m = member_in(&txn, actor.account_id, membership_id).await?;
    let old_role = m.role;
    can_manage(actor_role, old_role)?;
    can_manage(actor_role, new_role)?;
    if old_role == new_role {
        return Ok(());
    }
    if old_role == Role::Owner && owner_count(&txn, actor.account_id).await? <= 1 {
        return Err(DomainError::Forbidden(LAST_OWNER.into()));
    }
    let email = email_of(&txn, m.user_id).await?;
    let mut active: membership::ActiveModel = m.into();
    active.role = Set(new_role);
    membership::Entity::update_in(actor.account_id, active)?
        .exec(&txn)
        .await?;
    let entry = Entry {
        action: "member.role_changed",
        target_type: "membership",
        target_id: Some(membership_id.to_string()),
        target_label: email,
        diff: json!({ "role": { "before": old_role.as_str(), "after": new_role.as_str() } }),
    };
    audit::record(&txn, actor, entry).await?;
    txn.commit().await?;
    Ok(())
}

/// Removes a member from the account (their login and other accounts stay).
///
/// # Errors
/// As [`change_role`].
pub async fn remove(db: &DatabaseConnection, actor: &Actor, actor_role: Role, membership_id: i64) -> DomainResult<()> {
    actor_role.require_write()?;
    let txn = begin_write(db).await?;
    let m = member_in(&txn, actor.account_id, membership_id).await?;
    let role = m.role;
    can_manage(actor_role, role)?;
    if role == Role::Owner && owner_count(&txn, actor.account_id).await? <= 1 {
        return Err(DomainError::Forbidden(LAST_OWNER.into()));
    }
    let email = email_of(&txn, m.user_id).await?;
    membership::Entity::delete_by_id_in(actor.account_id, m.id)
        .exec(&txn)
        .await?;
    let entry = Entry {
        action: "member.removed",
        target_type: "membership",
        target_id: Some(membership_id.to_string()),
        target_label: email,
        diff: json!({ "role": { "before": role.as_str(), "after": null } }),
    };
    audit::record(&txn, actor, entry).await?;
    txn.commit().await?;
    Ok(())
}
