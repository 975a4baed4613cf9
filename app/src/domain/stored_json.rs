//! Reading JSON that Herald stored itself (audit diffs, traits, event bodies, attempt headers).
//! One policy everywhere: text that does not parse is corruption, never "empty". It becomes a
//! [`DomainError::Db`] naming the column (so the edge logs it once, with the cause, and answers
//! 500 "something went wrong"), and no page or API answer ever shows a corrupt row as if it were
//! blank.

use serde::de::DeserializeOwned;

use super::{DomainError, DomainResult};

/// Parses `text` read from `column` (`"audit_log.diff"`).
///
/// # Errors
/// The text is not valid JSON of type `T`: a database error naming the column.
pub fn parse<T: DeserializeOwned>(column: &str, text: &str) -> DomainResult<T> {
    serde_json::from_str(text).map_err(|e| corrupt(column, &e))
}

/// Like [`parse`], for a nullable column: `None` stays `None`.
///
/// # Errors
/// As [`parse`].
pub fn parse_opt<T: DeserializeOwned>(column: &str, text: Option<&str>) -> DomainResult<Option<T>> {
    text.map(|t| parse(column, t)).transpose()
}

fn corrupt(column: &str, e: &serde_json::Error) -> DomainError {
    sea_orm::DbErr::Custom(format!("{column} holds invalid JSON: {e}")).into()
}

#[cfg(test)]
mod tests {
    use super::{parse, parse_opt};
    use crate::domain::DomainError;

    #[test]
    fn corrupt_text_is_an_error_naming_the_column_never_empty() {
        let err = parse::<serde_json::Value>("profiles.traits", "{not json").unwrap_err();
        assert!(
            matches!(&err, DomainError::Db(e) if e.to_string().contains("profiles.traits")),
            "{err:?}"
        );
        assert_eq!(parse::<serde_json::Value>("x", "{}").unwrap(), serde_json::json!({}));
        assert_eq!(parse_opt::<serde_json::Value>("x", None).unwrap(), None);
    }
}
