//! Which of the tenant's apps (sources) a webhook takes events from (Customer.io's "connected
//! sources", seed 004).

use std::collections::BTreeSet;

use serde::{Deserialize, Deserializer, Serialize};

use super::{FieldError, plural, to_de_error};

/// Most apps a webhook can be scoped to.
pub const MAX_SCOPED_APPS: usize = 100;

/// The app ids a webhook takes events from; empty means every app of the account, including apps
/// created later. Serialized as a sorted array of ids.
///
/// Only the shape is checked here (positive ids, at most 100). Whether each id is an app of the
/// webhook's own account needs the database, so the caller must check it before saving: this type
/// alone does not make a scope tenant-safe.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct AppScope(BTreeSet<i64>);

impl AppScope {
    /// A scope of `ids`; repeats collapse (a set of checkboxes).
    ///
    /// # Errors
    /// On `app_ids`: an id that is not positive, or more than 100 distinct ids.
    pub fn new(ids: impl IntoIterator<Item = i64>) -> Result<Self, FieldError> {
        let set: BTreeSet<i64> = ids.into_iter().collect();
        if set.first().is_some_and(|id| *id <= 0) {
            return Err(FieldError::new(
                "app_ids",
                "App ids are positive numbers; pick apps from the list.",
            ));
        }
        if set.len() > MAX_SCOPED_APPS {
            return Err(FieldError::new(
                "app_ids",
                format!(
                    "A webhook can be limited to at most {MAX_SCOPED_APPS} apps; remove {}, or choose none to take events from every app.",
                    plural(set.len() - MAX_SCOPED_APPS, "app", "apps")
                ),
            ));
        }
        Ok(Self(set))
    }

    /// A scope from form values (ids as text); blank entries are ignored.
    ///
    /// # Errors
    /// On `app_ids`: a value that is not a whole number, or as [`AppScope::new`].
    pub fn parse(raw: impl IntoIterator<Item: AsRef<str>>) -> Result<Self, FieldError> {
        let mut ids = Vec::new();
        for value in raw {
            let value = value.as_ref().trim();
            if value.is_empty() {
                continue;
            }
            let id = value.parse::<i64>().map_err(|_| {
                FieldError::new(
                    "app_ids",
                    format!("“{value}” is not an app id; pick apps from the list."),
                )
            })?;
            ids.push(id);
        }
        Self::new(ids)
    }

    /// Whether events from app `app_id` are taken.
    #[must_use]
    pub fn allows(&self, app_id: i64) -> bool {
        self.0.is_empty() || self.0.contains(&app_id)
    }

    /// Whether this scope takes every app.
    #[must_use]
    pub fn is_all(&self) -> bool {
        self.0.is_empty()
    }

    /// The chosen ids, ascending.
    pub fn ids(&self) -> impl Iterator<Item = i64> + '_ {
        self.0.iter().copied()
    }
}

impl<'de> Deserialize<'de> for AppScope {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let ids = Vec::<i64>::deserialize(deserializer)?;
        Self::new(ids).map_err(|e| to_de_error(&[e]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_scope_takes_every_app() {
        let all = AppScope::default();
        assert!(all.is_all());
        assert!(all.allows(1) && all.allows(999));
    }

    #[test]
    fn a_scope_takes_only_its_apps() {
        let s = AppScope::parse(["3", " 1 ", "", "3"]).expect("valid");
        assert_eq!(s.ids().collect::<Vec<_>>(), [1, 3]);
        assert!(s.allows(3) && !s.allows(2));
    }

    #[test]
    fn ids_that_are_not_positive_numbers_are_refused_on_app_ids() {
        assert_eq!(AppScope::new([0]).expect_err("zero").field, "app_ids");
        assert_eq!(AppScope::new([5, -1]).expect_err("negative").field, "app_ids");
        assert_eq!(AppScope::parse(["web"]).expect_err("text").field, "app_ids");
    }

    #[test]
    fn more_than_a_hundred_apps_are_refused() {
        assert!(AppScope::new(1..=100).is_ok());
        let err = AppScope::new(1..=101).expect_err("too many");
        assert!(err.message.contains("remove 1 app,"), "{}", err.message);
    }

    #[test]
    fn scopes_serialize_as_sorted_ids_and_are_rechecked_when_read() {
        let s = AppScope::new([7, 2]).expect("valid");
        assert_eq!(serde_json::to_string(&s).expect("json"), "[2,7]");
        assert_eq!(serde_json::from_str::<AppScope>("[7,2,2]").expect("valid"), s);
        assert!(serde_json::from_str::<AppScope>("[0]").is_err());
    }
}
