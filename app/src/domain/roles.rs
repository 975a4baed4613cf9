//! What membership roles allow (the set of roles is `entity::membership::Role`) and API token
//! scopes (a set stored as one comma-separated column, so parsed here rather than by sea-orm).

use entity::membership::Role;

use super::{DomainError, FieldError, validate::field_error};

/// The app's rules on a member's [`Role`] (the stored set lives on the entity): parsing a role
/// a person typed, and who may change settings. An extension trait, so callers keep writing
/// `Role::parse(..)` and `role.require_write()`.
pub trait RoleRules: Sized {
    /// Parses a role name typed by a person.
    ///
    /// # Errors
    /// An unknown name, reported on `field`.
    fn parse(field: &str, value: &str) -> Result<Self, FieldError>;

    /// Owners and admins change settings; viewers only read.
    ///
    /// # Errors
    /// [`DomainError::Forbidden`] for viewers.
    fn require_write(self) -> Result<(), DomainError>;
}

impl RoleRules for Role {
    fn parse(field: &str, value: &str) -> Result<Role, FieldError> {
        let value = value.trim();
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == value)
            .ok_or_else(|| field_error(field, format!("Unknown role \"{value}\": use owner, admin or viewer.")))
    }

    fn require_write(self) -> Result<(), DomainError> {
        if self >= Role::Admin {
            Ok(())
        } else {
            Err(DomainError::Forbidden(
                "Viewers can't change settings; ask an admin or owner.".into(),
            ))
        }
    }
}

/// One permission of an API token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Send events (for one app, when the token names one).
    Ingest,
    /// Read configuration and history.
    Read,
    /// Change configuration (webhooks, apps, tokens).
    Write,
}

impl Scope {
    /// All scopes in display order.
    pub const ALL: [Scope; 3] = [Scope::Ingest, Scope::Read, Scope::Write];

    /// The stored and displayed name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Ingest => "ingest",
            Scope::Read => "read",
            Scope::Write => "write",
        }
    }
}

/// A non-empty set of scopes, stored as `ingest,read,write` in a fixed order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Scopes {
    ingest: bool,
    read: bool,
    write: bool,
}

impl Scopes {
    /// Parses scope names from a form or JSON body.
    ///
    /// # Errors
    /// An unknown name, or no scope at all.
    pub fn parse<S: AsRef<str>>(field: &str, names: &[S]) -> Result<Scopes, FieldError> {
        let mut s = Scopes::default();
        for name in names {
            match name.as_ref().trim() {
                "ingest" => s.ingest = true,
                "read" => s.read = true,
                "write" => s.write = true,
                other => {
                    return Err(field_error(
                        field,
                        format!("Unknown scope \"{other}\": use ingest, read or write."),
                    ));
                }
            }
        }
        if s == Scopes::default() {
            return Err(field_error(field, "Choose at least one scope."));
        }
        Ok(s)
    }

    /// Reads the stored form; unknown names are dropped.
    #[must_use]
    pub fn from_stored(value: &str) -> Scopes {
        let mut s = Scopes::default();
        for name in value.split(',') {
            match name {
                "ingest" => s.ingest = true,
                "read" => s.read = true,
                "write" => s.write = true,
                _ => {}
            }
        }
        s
    }

    /// Whether `scope` is in the set.
    #[must_use]
    pub fn has(self, scope: Scope) -> bool {
        match scope {
            Scope::Ingest => self.ingest,
            Scope::Read => self.read,
            Scope::Write => self.write,
        }
    }

    /// Whether every scope of `other` is in this set.
    #[must_use]
    pub fn contains(self, other: Scopes) -> bool {
        Scope::ALL.iter().all(|s| !other.has(*s) || self.has(*s))
    }

    /// The scopes in display order.
    #[must_use]
    pub fn list(self) -> Vec<Scope> {
        Scope::ALL.into_iter().filter(|s| self.has(*s)).collect()
    }

    /// The stored form.
    #[must_use]
    pub fn to_stored(self) -> String {
        self.list().iter().map(|s| s.as_str()).collect::<Vec<_>>().join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_round_trip_and_compare() {
        let rw = Scopes::parse("scopes", &["write", "read"]).unwrap();
        assert_eq!(rw.to_stored(), "read,write");
        assert_eq!(Scopes::from_stored("read,write"), rw);
        assert!(rw.contains(Scopes::parse("s", &["read"]).unwrap()));
        assert!(!rw.contains(Scopes::parse("s", &["ingest"]).unwrap()));
        assert!(Scopes::parse("scopes", &["admin"]).is_err());
        assert!(Scopes::parse::<&str>("scopes", &[]).is_err());
    }

    #[test]
    fn roles_parse_trimmed_and_name_the_field() {
        assert_eq!(Role::parse("role", " admin ").unwrap(), Role::Admin);
        let e = Role::parse("role", "root").unwrap_err();
        assert_eq!(e.field, "role");
        assert!(e.message.contains("Unknown role \"root\""), "{}", e.message);
    }

    #[test]
    fn only_admins_and_owners_write() {
        assert!(Role::Viewer.require_write().is_err());
        assert!(Role::Admin.require_write().is_ok());
        assert!(Role::Owner.require_write().is_ok());
    }
}
