//! The parts of the OpenAPI document that no single operation declares: its title, the bearer
//! security scheme ([`base`]), and the error answers every operation of `/api/v1` can give
//! ([`document`]), added in one place so no operation's list can forget them (the schema fuzzer
//! checks each status against the document): 401 without a valid token and 403 without the
//! scope (every operation needs a token), 400 where there is a query string or a body to get
//! wrong, 413 for a body over the limit, and 503 with `Retry-After` while the database is
//! unavailable. The operations themselves come from the route table ([`crate::web::routes`]).

use utoipa::openapi::path::Operation;
use utoipa::openapi::{OpenApi, Ref, RefOr, ResponseBuilder, content::ContentBuilder};

/// The document before any operation is added: title, description, bearer authentication.
#[must_use]
pub fn base() -> OpenApi {
    <ApiDoc as utoipa::OpenApi>::openapi()
}

#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "Herald API", description = "Manage webhooks, apps and tokens, read the audit log, send events."),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Adds the common error responses to every operation that does not list them already.
pub fn document(doc: &mut OpenApi) {
    for item in doc.paths.paths.values_mut() {
        for op in [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ]
        .into_iter()
        .flatten()
        {
            add(op, "401", "No valid API token.");
            add(op, "403", "The token lacks the scope this operation needs.");
            add(
                op,
                "503",
                "The database is unavailable; retry after `Retry-After` seconds.",
            );
            let has_query = op
                .parameters
                .iter()
                .flatten()
                .any(|p| matches!(p.parameter_in, utoipa::openapi::path::ParameterIn::Query));
            if has_query || op.request_body.is_some() {
                add(op, "400", "The query string or the body is not valid.");
            }
            if op.request_body.is_some() {
                add(op, "413", "The body is larger than the limit.");
            }
        }
    }
}

fn add(op: &mut Operation, status: &str, description: &str) {
    if op.responses.responses.contains_key(status) {
        return;
    }
    let body = ContentBuilder::new()
        .schema(Some(RefOr::<utoipa::openapi::schema::Schema>::Ref(
            Ref::from_schema_name("ErrorBody"),
        )))
        .build();
    let response = ResponseBuilder::new()
        .description(description)
        .content("application/json", body)
        .build();
    op.responses.responses.insert(status.to_owned(), RefOr::T(response));
}
