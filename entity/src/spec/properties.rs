//! The user and company properties added to every payload of a webhook (Userpilot, seed 002).

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use super::{FieldError, indexed, plural, to_de_error};

/// Most properties per webhook, user and company together: the limit the product promises.
pub const MAX_PROPERTIES: usize = 10;
const MAX_TRAIT_LEN: usize = 100;

/// One chosen trait of the event's user or of their company, written `user.<trait>` or
/// `company.<trait>` (also how it is serialized). The trait is a top-level key of the stored traits,
/// matched exactly: `user.plan.name` means the key `plan.name`, not a nested path.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum PropertyRef {
    /// A trait of the event's user profile (`user.email` → `email`).
    User(String),
    /// A trait of the user's company (`company.name` → `name`).
    Company(String),
}

impl PropertyRef {
    /// Parses `user.<trait>` / `company.<trait>`; the prefix is case-insensitive, the trait is kept
    /// as written. `index` places errors on `properties[index]`.
    ///
    /// # Errors
    /// No known prefix, or a trait that is empty, longer than 100 characters, starts or ends with
    /// a space, or uses characters other than letters, digits, `_`, `-`, `.`, `$` and spaces.
    pub fn parse(index: usize, raw: &str) -> Result<Self, FieldError> {
        let err = |message: String| FieldError::new(indexed("properties", index, ""), message);
        let raw = raw.trim();
        let split = raw.split_once('.').and_then(|(owner, name)| {
            if owner.eq_ignore_ascii_case("user") {
                Some((true, name))
            } else if owner.eq_ignore_ascii_case("company") {
                Some((false, name))
            } else {
                None
            }
        });
        let Some((is_user, name)) = split else {
            return Err(err(format!(
                "Write a property as user.<trait> or company.<trait>, such as user.email; “{raw}” is neither."
            )));
        };
        if name.is_empty() {
            return Err(err(format!("Name the trait after “{raw}”, as in user.email.")));
        }
        if name.chars().count() > MAX_TRAIT_LEN {
            return Err(err(format!(
                "A trait name can be at most {MAX_TRAIT_LEN} characters long."
            )));
        }
        if name.starts_with(' ') || name.ends_with(' ') {
            return Err(err("A trait name can't start or end with a space.".into()));
        }
        if let Some(bad) = name
            .chars()
            .find(|c| !(c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '$' | ' ')))
        {
            return Err(err(format!(
                "A trait name can't contain “{}”; use letters, digits, spaces and _ - . $.",
                bad.escape_debug()
            )));
        }
        let name = name.to_owned();
        Ok(if is_user { Self::User(name) } else { Self::Company(name) })
    }

    /// The trait's key in the stored profile or company traits.
    #[must_use]
    pub fn trait_name(&self) -> &str {
        match self {
            Self::User(name) | Self::Company(name) => name,
        }
    }
}

impl std::fmt::Display for PropertyRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::User(name) => write!(f, "user.{name}"),
            Self::Company(name) => write!(f, "company.{name}"),
        }
    }
}

impl TryFrom<String> for PropertyRef {
    type Error = FieldError;

    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(0, &raw)
    }
}

impl From<PropertyRef> for String {
    fn from(p: PropertyRef) -> Self {
        p.to_string()
    }
}

/// The properties a webhook adds to its payloads: at most 10 in all, none twice, in the order
/// chosen. It cannot hold an 11th, however it is built. Serialized as an array of strings such as
/// `["user.email", "company.name"]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct PropertySelection(Vec<PropertyRef>);

impl PropertySelection {
    /// Parses the chosen properties; blank entries are skipped.
    ///
    /// # Errors
    /// Every problem found: on `properties[N]` for a malformed or repeated property, and on
    /// `properties` when more than 10 are chosen.
    pub fn parse(raw: impl IntoIterator<Item: AsRef<str>>) -> Result<Self, Vec<FieldError>> {
        let mut chosen: Vec<PropertyRef> = Vec::new();
        let mut errors = Vec::new();
        let mut count = 0;
        for (i, raw) in raw.into_iter().enumerate() {
            let raw = raw.as_ref();
            if raw.trim().is_empty() {
                continue;
            }
            count += 1;
            match PropertyRef::parse(i, raw) {
                Ok(p) if chosen.contains(&p) => errors.push(FieldError::new(
                    indexed("properties", i, ""),
                    format!("“{p}” is chosen twice; remove one of them."),
                )),
                Ok(p) => chosen.push(p),
                Err(e) => errors.push(e),
            }
        }
        if count > MAX_PROPERTIES {
            errors.push(too_many(count));
        }
        if errors.is_empty() {
            Ok(Self(chosen))
        } else {
            Err(errors)
        }
    }

    /// Adds one property, keeping the limit and uniqueness (for forms that add one at a time).
    ///
    /// # Errors
    /// On `properties` when 10 are already chosen; on `properties[N]` (N = its future position)
    /// when it is already chosen.
    pub fn try_push(&mut self, property: PropertyRef) -> Result<(), FieldError> {
        if self.0.len() >= MAX_PROPERTIES {
            return Err(too_many(self.0.len() + 1));
        }
        if self.0.contains(&property) {
            return Err(FieldError::new(
                indexed("properties", self.0.len(), ""),
                format!("“{property}” is already chosen."),
            ));
        }
        self.0.push(property);
        Ok(())
    }

    /// The chosen properties, in order.
    #[must_use]
    pub fn as_slice(&self) -> &[PropertyRef] {
        &self.0
    }

    /// Picks the chosen traits that exist from the stored `user_traits` and `company_traits` (each a
    /// JSON object; anything else counts as having no traits). Returns `(user, company)`, ready to
    /// place under `user` / `company` in a payload. A chosen trait that is missing is left out
    /// rather than sent as `null`, so receivers can tell "unknown" from "set to null".
    #[must_use]
    pub fn select(&self, user_traits: &Value, company_traits: &Value) -> (Map<String, Value>, Map<String, Value>) {
        let mut user = Map::new();
        let mut company = Map::new();
        for p in &self.0 {
            let (source, target) = match p {
                PropertyRef::User(_) => (user_traits, &mut user),
                PropertyRef::Company(_) => (company_traits, &mut company),
            };
            if let Some(value) = source.get(p.trait_name()) {
                target.insert(p.trait_name().to_owned(), value.clone());
            }
        }
        (user, company)
    }
}

impl<'de> Deserialize<'de> for PropertySelection {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = Vec::<String>::deserialize(deserializer)?;
        Self::parse(raw).map_err(|e| to_de_error(&e))
    }
}

fn too_many(count: usize) -> FieldError {
    let advice = if count == MAX_PROPERTIES + 1 {
        "remove one to add another".to_owned()
    } else {
        format!(
            "remove {} of the {count} chosen",
            plural(count - MAX_PROPERTIES, "property", "properties")
        )
    };
    FieldError::new(
        "properties",
        format!("A webhook can include at most {MAX_PROPERTIES} properties; {advice}."),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ten() -> Vec<String> {
        (0..MAX_PROPERTIES).map(|i| format!("user.trait_{i}")).collect()
    }

    #[test]
    fn user_and_company_properties_parse() {
        let s = PropertySelection::parse([" user.email ", "Company.name", "user.$os version", "user.a-b.c_d"])
            .expect("valid");
        assert_eq!(
            s.as_slice(),
            [
                PropertyRef::User("email".into()),
                PropertyRef::Company("name".into()),
                PropertyRef::User("$os version".into()),
                PropertyRef::User("a-b.c_d".into()),
            ]
        );
    }

    #[test]
    fn ten_properties_are_accepted() {
        assert_eq!(PropertySelection::parse(ten()).map(|s| s.as_slice().len()), Ok(10));
    }

    #[test]
    fn an_eleventh_property_is_refused() {
        let mut raw = ten();
        raw.push("company.name".into());
        let errors = PropertySelection::parse(raw).expect_err("eleven");
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "properties");
        assert_eq!(
            errors[0].message,
            "A webhook can include at most 10 properties; remove one to add another."
        );
    }

    #[test]
    fn twelve_properties_ask_to_remove_two() {
        let mut raw = ten();
        raw.extend(["company.a".to_owned(), "company.b".to_owned()]);
        let errors = PropertySelection::parse(raw).expect_err("twelve");
        assert!(
            errors[0].message.contains("remove 2 properties of the 12 chosen"),
            "{}",
            errors[0].message
        );
    }

    #[test]
    fn pushing_an_eleventh_property_is_refused() {
        let mut s = PropertySelection::parse(ten()).expect("valid");
        let err = s.try_push(PropertyRef::Company("name".into())).expect_err("full");
        assert_eq!(err.field, "properties");
        assert_eq!(s.as_slice().len(), 10);
    }

    #[test]
    fn a_property_chosen_twice_is_refused() {
        let errors = PropertySelection::parse(["user.email", "USER.email"]).expect_err("dup");
        assert_eq!(errors[0].field, "properties[1]");
        let mut s = PropertySelection::default();
        s.try_push(PropertyRef::User("email".into())).expect("first");
        assert!(s.try_push(PropertyRef::User("email".into())).is_err());
        assert!(s.try_push(PropertyRef::Company("email".into())).is_ok());
    }

    #[test]
    fn malformed_properties_are_refused_on_their_row() {
        for (i, raw) in [
            "email",
            "account.email",
            "user.",
            "user. email",
            "user.e@mail",
            "user.a\tb",
        ]
        .into_iter()
        .enumerate()
        {
            let err = PropertyRef::parse(i, raw).expect_err(raw);
            assert_eq!(err.field, format!("properties[{i}]"));
        }
        assert!(PropertyRef::parse(0, &format!("user.{}", "a".repeat(101))).is_err());
        assert!(PropertyRef::parse(0, &format!("user.{}", "a".repeat(100))).is_ok());
    }

    #[test]
    fn selection_picks_exactly_the_chosen_traits_that_exist() {
        let s = PropertySelection::parse(["user.email", "user.missing", "company.name", "company.plan.tier"])
            .expect("valid");
        let user = json!({"email": "john@userpilot.co", "name": "John", "nested": {"email": "x"}});
        let company = json!({"name": "Userpilot", "plan": {"tier": "pro"}, "plan.tier": null});
        let (u, c) = s.select(&user, &company);
        assert_eq!(Value::Object(u), json!({"email": "john@userpilot.co"}));
        assert_eq!(Value::Object(c), json!({"name": "Userpilot", "plan.tier": null}));
    }

    #[test]
    fn selection_from_missing_profiles_is_empty() {
        let s = PropertySelection::parse(["user.email", "company.name"]).expect("valid");
        let (u, c) = s.select(&Value::Null, &json!([1, 2]));
        assert!(u.is_empty() && c.is_empty());
    }

    #[test]
    fn selections_serialize_as_written_and_are_rechecked_when_read() {
        let s = PropertySelection::parse(["user.email", "company.name"]).expect("valid");
        assert_eq!(
            serde_json::to_value(&s).expect("json"),
            json!(["user.email", "company.name"])
        );
        assert_eq!(
            serde_json::from_value::<PropertySelection>(json!(["user.email", "company.name"])).expect("valid"),
            s
        );
        let eleven: Vec<String> = (0..=MAX_PROPERTIES).map(|i| format!("user.t{i}")).collect();
        assert!(serde_json::from_value::<PropertySelection>(json!(eleven)).is_err());
    }
}
