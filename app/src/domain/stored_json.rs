//! Reading JSON that Herald stored itself (audit diffs, traits, event bodies, attempt headers,
//! webhook configuration). One policy everywhere: text that does not parse is corruption, never
//! "empty". It becomes a [`DomainError::Db`] naming the table, the column and the row id; it
//! is not logged here but travels up to the edge (`web::error`, or the worker loop), which
//! logs it once with its cause and answers 500 "something went wrong". No page or API answer
//! ever shows a corrupt row as if it were blank.

use serde::de::DeserializeOwned;

use super::{DomainError, DomainResult};

/// Parses `text` read from `column` (`"audit_log.diff"`) of the row with primary key `row_id`.
///
/// # Errors
/// The text is not valid JSON of type `T`: a database error naming the column and the row.
pub fn parse<T: DeserializeOwned>(column: &str, row_id: i64, text: &str) -> DomainResult<T> {
    serde_json::from_str(text).map_err(|e| corrupt(column, row_id, &e))
}

/// Like [`parse`], for a nullable column: `None` stays `None`.
///
/// # Errors
/// As [`parse`].
pub fn parse_opt<T: DeserializeOwned>(column: &str, row_id: i64, text: Option<&str>) -> DomainResult<Option<T>> {
    text.map(|t| parse(column, row_id, t)).transpose()
}

fn corrupt(column: &str, row_id: i64, e: &serde_json::Error) -> DomainError {
    sea_orm::DbErr::Custom(format!("stored JSON is corrupt: {column} of row {row_id}: {e}")).into()
}

#[cfg(test)]
mod tests {
    use super::{parse, parse_opt};
    use crate::domain::DomainError;

    #[test]
    fn corrupt_text_is_an_error_naming_the_column_never_empty() {
        let err = parse::<serde_json::Value>("profiles.traits", 42, "{not json").unwrap_err();
        assert!(
            matches!(&err, DomainError::Db(e) if e.to_string().contains("profiles.traits of row 42")),
            "{err:?}"
        );
        assert_eq!(parse::<serde_json::Value>("x", 1, "{}").unwrap(), serde_json::json!({}));
        assert_eq!(parse_opt::<serde_json::Value>("x", 1, None).unwrap(), None);
    }
}
