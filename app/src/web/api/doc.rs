//! The error answers every operation of `/api/v1` can give, added to the OpenAPI document in one
//! place so no operation's list can forget them (the schema fuzzer checks each status against
//! the document): 401 without a valid token and 403 without the scope (every operation needs a
//! token), 400 where there is a query string or a body to get wrong, 413 for a body over the
//! limit, and 503 with `Retry-After` while the database is unavailable.

use utoipa::openapi::path::Operation;
use utoipa::openapi::{OpenApi, Ref, RefOr, ResponseBuilder, content::ContentBuilder};

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
