//! Membership roles and API token scopes.

use super::{DomainError, validate::field_error};

/// What a member may do in an account. Viewers read everything and change nothing; admins
/// change everything except owners; owners also manage owners.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Viewer,
    Admin,
    Owner,
}

impl Role {
    /// All roles, most powerful first (for select boxes).
    pub const ALL: [Role; 3] = [Role::Owner, Role::Admin, Role::Viewer];

    /// The stored and displayed name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Viewer => "viewer",
        }
    }

    /// Parses a role name.
    ///
    /// # Errors
    /// An unknown name, reported on `field`.
    pub fn parse(field: &str, value: &str) -> Result<Role, super::FieldError> {
        match value.trim() {
            "owner" => Ok(Role::Owner),
            "admin" => Ok(Role::Admin),
            "viewer" => Ok(Role::Viewer),
            other => Err(field_error(
                field,
                format!("Unknown role \"{other}\": use owner, admin or viewer."),
            )),
        }
    }

    /// Reads a stored role; an unexpected value is treated as the least privileged.
    #[must_use]
    pub fn from_stored(value: &str) -> Role {
        Role::parse("role", value).unwrap_or(Role::Viewer)
    }

    /// Owners and admins change settings; viewers only read.
    ///
    /// # Errors
    /// [`DomainError::Forbidden`] for viewers.
    pub fn require_write(self) -> Result<(), DomainError> {
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
    pub fn parse<S: AsRef<str>>(field: &str, names: &[S]) -> Result<Scopes, super::FieldError> {
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
    fn only_admins_and_owners_write() {
        assert!(Role::Viewer.require_write().is_err());
        assert!(Role::Admin.require_write().is_ok());
        assert!(Role::Owner.require_write().is_ok());
    }
}
