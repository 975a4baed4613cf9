//! The route table: every path, method and handler of Herald, grouped by who may use them. Each
//! group's requirement is a guard around the whole group ([`access`]), never a check inside a
//! handler. The API half is registered through utoipa, so the OpenAPI document ([`openapi`]) is
//! generated from these same registrations.
//!
//! Within the dashboard a request takes the first route whose path and method match, in the
//! order below: owner and writer routes come before the signed-in ones, so a fixed path such as
//! `/settings/webhooks/new` is registered before the `/settings/webhooks/{id}` it would match.

use actix_web::middleware::from_fn;
use actix_web::web;
use utoipa_actix_web::service_config::ServiceConfig;

use super::access::{Member, MemberGroup, TokenGroup};
use super::api::{self, apps, audit, deliveries, event_types, events, public_key, tokens, webhooks};
use super::error::ApiError;
use super::pages::{self as p, security as sec, webhooks as wh};
use super::{assets, csrf, error_pages, health, ingest, security_headers};
use crate::domain::DomainError;
use crate::domain::roles::Scope;

/// Where the REST API lives.
pub const API: &str = "/api/v1";

/// Registers every route: the API, the Segment-compatible ingest, operations endpoints, static
/// assets, and the dashboard, which answers every other path (with its 404 page).
pub fn all(cfg: &mut web::ServiceConfig) {
    cfg.service(utoipa_actix_web::scope(API).configure(api))
        .service(ingest_scope())
        .route("/healthz", web::get().to(health::healthz))
        .route("/readyz", web::get().to(health::readyz))
        .route("/metrics", web::get().to(health::metrics))
        .configure(assets::routes)
        .service(
            web::scope("")
                .configure(error_pages::configure)
                .configure(dashboard)
                .default_service(web::to(error_pages::not_found))
                .wrap(from_fn(error_pages::with_navigation))
                .wrap(from_fn(csrf::ensure_cookie))
                .wrap(from_fn(security_headers::add)),
        );
}

/// `/v1/*`: the Segment spec's endpoints, authenticated by an app's write key in each handler
/// (the key may be in the body, so no guard can read it first).
fn ingest_scope() -> actix_web::Scope {
    use web::post;
    web::scope("/v1")
        .app_data(web::PayloadConfig::new(ingest::MAX_BODY))
        .route("/track", post().to(ingest::track))
        .route("/identify", post().to(ingest::identify))
        .route("/page", post().to(ingest::page))
        .route("/screen", post().to(ingest::screen))
        .route("/group", post().to(ingest::group))
        .route("/alias", post().to(ingest::alias))
        .route("/batch", post().to(ingest::batch))
        .route("/import", post().to(ingest::batch))
        .default_service(web::to(|| async {
            Err::<actix_web::HttpResponse, _>(ApiError::Domain(DomainError::NotFound))
        }))
}

/// The dashboard: pages and form posts.
fn dashboard(cfg: &mut web::ServiceConfig) {
    use web::{get, post};
    cfg.route("/", get().to(p::home))
        .route("/settings", get().to(p::settings))
        .route("/settings/", get().to(p::settings))
        .route("/signup", get().to(p::auth::signup_page))
        .route("/signup", post().to(p::auth::signup))
        .route("/login", get().to(p::auth::login_page))
        .route("/login", post().to(p::auth::login))
        .route("/login/two-factor", get().to(sec::login_code_page))
        .route("/login/two-factor", post().to(sec::login_code))
        .route("/logout", post().to(p::auth::logout))
        .route("/invite/{secret}", get().to(p::auth::invite_page))
        .route("/invite/{secret}", post().to(p::auth::accept_invite));
    MemberGroup::new(cfg, Member::Owner).post("/settings/security/require-two-factor", sec::require_two_factor);
    MemberGroup::new(cfg, Member::Writer)
        .get("/settings/webhooks/new", wh::new)
        .post("/settings/webhooks", wh::create)
        .post("/settings/webhooks/{id}", wh::detail::update)
        .post("/settings/webhooks/{id}/enable", wh::status::enable)
        .post("/settings/webhooks/{id}/disable", wh::status::disable)
        .get("/settings/webhooks/{id}/delete", wh::status::confirm_delete)
        .post("/settings/webhooks/{id}/delete", wh::status::delete)
        .post("/settings/webhooks/{id}/secret/reveal", wh::secret::reveal)
        .post("/settings/webhooks/{id}/secret/rotate", wh::secret::rotate)
        .post("/settings/webhooks/{id}/test", wh::test_send::send)
        .get("/settings/webhooks/{id}/replay", p::deliveries::confirm_replay)
        .post("/settings/webhooks/{id}/replay", p::deliveries::replay)
        .post("/settings/deliveries/{id}/retry", p::delivery::retry)
        .post("/settings/tokens", p::tokens::create)
        .post("/settings/tokens/{id}/revoke", p::tokens::revoke)
        .post("/settings/apps", p::apps::create)
        .post("/settings/apps/{id}/rename", p::apps::rename)
        .post("/settings/account", p::account::update)
        .post("/settings/members/invite", p::members::invite)
        .post("/settings/members/{id}/role", p::members::change_role)
        .post("/settings/members/{id}/remove", p::members::remove)
        .post("/settings/invitations/{id}/revoke", p::members::revoke_invitation)
        .post("/settings/event-types", p::event_types::create)
        .post("/settings/event-types/{id}/archive", p::event_types::archive)
        .post("/settings/event-types/{id}/restore", p::event_types::restore);
    MemberGroup::new(cfg, Member::SignedIn)
        .get("/overview", p::overview::page)
        .get("/deliveries", p::delivery_log::page)
        .post("/account/switch", p::auth::switch_account)
        .get("/settings/webhooks", wh::list)
        .get("/settings/webhooks/{id}", wh::detail::page)
        .get("/settings/deliveries/{id}", p::delivery::page)
        .get("/settings/tokens", p::tokens::page)
        .get("/settings/apps", p::apps::page)
        .get("/settings/account", p::account::page)
        .get("/settings/members", p::members::page)
        .get("/settings/event-types", p::event_types::page)
        .get("/settings/audit-log", p::audit::page)
        .get("/settings/security", sec::page)
        .post("/settings/security/password", sec::change_password)
        .post("/settings/security/sessions/revoke", sec::sign_out_everywhere)
        .post("/settings/security/two-factor", sec::begin_two_factor)
        .post("/settings/security/two-factor/confirm", sec::confirm_two_factor)
        .post("/settings/security/two-factor/disable", sec::disable_two_factor);
}

/// `/api/v1`: every operation needs a token with the scope of its group.
fn api(cfg: &mut ServiceConfig) {
    cfg.app_data(web::PathConfig::default().error_handler(|_, _| ApiError::Domain(DomainError::NotFound).into()))
        .app_data(web::QueryConfig::default().error_handler(|e, _| {
            ApiError::BadBody {
                code: "invalid_query",
                message: format!("The query string is not valid: {e}"),
                field: None,
            }
            .into()
        }))
        .app_data(web::PayloadConfig::new(ingest::MAX_BODY))
        .route("/openapi.json", web::get().to(api::openapi_json))
        .service(TokenGroup::new(API, Scope::Ingest).op(events::ingest))
        .service(
            TokenGroup::new(API, Scope::Read)
                .op(apps::list)
                .op(apps::get)
                .op(tokens::list)
                .op(tokens::get)
                .op(event_types::list)
                .op(event_types::get)
                .op(webhooks::list)
                .op(webhooks::get)
                .op(public_key::get)
                .op(deliveries::list)
                .op(deliveries::log)
                .op(deliveries::get)
                .op(deliveries::stats)
                .op(audit::list)
                .op(audit::get),
        )
        .service(
            TokenGroup::new(API, Scope::Write)
                .op(apps::create)
                .op(apps::rename)
                .op(tokens::create)
                .op(tokens::revoke)
                .op(event_types::create)
                .op(event_types::archive)
                .op(event_types::restore)
                .op(webhooks::create)
                .op(webhooks::update)
                .op(webhooks::remove)
                .op(webhooks::enable)
                .op(webhooks::disable)
                .op(webhooks::rotate_secret)
                .op(webhooks::secret)
                .op(deliveries::retry)
                .op(deliveries::replay)
                .op(deliveries::test),
        )
        .default_service(web::to(|| async {
            Err::<web::Json<()>, _>(ApiError::Domain(DomainError::NotFound))
        }));
}

/// The OpenAPI 3 document of every `/api/v1` operation, generated from [`api`]'s registrations.
#[must_use]
pub fn openapi() -> utoipa::openapi::OpenApi {
    use utoipa_actix_web::AppExt;
    let mut doc = actix_web::App::new()
        .into_utoipa_app()
        .openapi(api::doc::base())
        .service(utoipa_actix_web::scope(API).configure(api))
        .split_for_parts()
        .1;
    api::doc::document(&mut doc);
    doc
}
