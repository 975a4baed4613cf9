//! The closed sets of the API, as OpenAPI `enum`s so generated clients get types. Each set is
//! built from the domain's own list where it has one, so the document cannot drift from what the
//! code accepts and answers. The fields themselves stay strings (the domain parses input and
//! words its errors per field); `#[schema(value_type = choices::Method, inline)]` names the set.

use sea_orm::Iterable;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

use entity::delivery_attempt;
use entity::spec;

use crate::domain::deliveries::Stage;
use crate::domain::roles;

fn strings(values: impl IntoIterator<Item = &'static str>) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values))
        .into()
}

/// Declares a schema-only type whose schema is a string `enum` of the given values.
macro_rules! choice {
    ($(#[$doc:meta])* $name:ident => $values:expr) => {
        $(#[$doc])*
        pub struct $name;

        impl utoipa::PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                strings($values)
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}

choice!(
    /// A webhook's HTTP method.
    Method => spec::Method::ALL.map(spec::Method::as_str)
);
choice!(
    /// A kind of event a webhook takes.
    EventType => spec::EventType::ALL.map(spec::EventType::as_str)
);
choice!(
    /// How a webhook's request body is built.
    PayloadFormat => ["event", "envelope", "custom"]
);
choice!(
    /// How a webhook's requests are signed.
    SignatureScheme => spec::SignatureScheme::ALL.map(spec::SignatureScheme::as_str)
);
choice!(
    /// A filter condition's operator.
    Op => spec::Op::ALL.map(spec::Op::as_str)
);
choice!(
    /// What an API token may do.
    Scope => roles::Scope::ALL.map(roles::Scope::as_str)
);
choice!(
    /// Where a delivery is.
    DeliveryStatus => Stage::ALL.map(Stage::as_str)
);
choice!(
    /// What made a delivery or an attempt.
    Trigger => ["scheduled", "manual", "test"]
);
choice!(
    /// Why an attempt did not deliver.
    ErrorKind => delivery_attempt::ErrorKind::iter().map(delivery_attempt::ErrorKind::as_str)
);
choice!(
    /// How a webhook is doing.
    HealthState => ["healthy", "failing", "paused", "disabled", "no_traffic"]
);
choice!(
    /// Where a catalog entry came from.
    EventTypeSource => ["dashboard", "api", "traffic", "builtin"]
);
