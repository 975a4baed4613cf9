//! Parsers for user input shared by several resources. Each returns the cleaned value or an
//! error naming the field, and collects into a list so a form can show every problem at once.

use super::{DomainError, FieldError};

/// Longest accepted display name (accounts, apps, tokens, webhooks).
pub const MAX_NAME: usize = 100;
/// Shortest accepted password.
pub const MIN_PASSWORD: usize = 12;
const MAX_PASSWORD: usize = 1024;
const MAX_EMAIL: usize = 254;

/// Accumulates field errors while parsing a whole input.
#[derive(Debug, Default)]
pub struct Errors(Vec<FieldError>);

impl Errors {
    /// Records the error of `result`, if any, and passes the value on.
    pub fn take<T>(&mut self, result: Result<T, FieldError>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                self.0.push(e);
                None
            }
        }
    }

    /// Adds an error directly.
    pub fn push(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(field_error(field, message));
    }

    /// `Ok` when nothing was recorded.
    ///
    /// # Errors
    /// [`DomainError::Invalid`] with every recorded error.
    pub fn finish(self) -> Result<(), DomainError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(DomainError::Invalid(self.0))
        }
    }
}

/// Builds a [`FieldError`].
pub fn field_error(field: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.to_owned(),
        message: message.into(),
    }
}

/// A required single-line name: trimmed, 1–100 characters, no control characters.
///
/// # Errors
/// Empty, too long, or containing control characters.
pub fn name(field: &str, value: &str) -> Result<String, FieldError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(field_error(field, "Name can't be empty."));
    }
    if v.chars().count() > MAX_NAME {
        return Err(field_error(
            field,
            format!("Name must be at most {MAX_NAME} characters."),
        ));
    }
    if v.chars().any(char::is_control) {
        return Err(field_error(field, "Name can't contain control characters."));
    }
    Ok(v.to_owned())
}

/// An email address, lower-cased: one `@`, a non-empty local part and a dotted domain.
///
/// # Errors
/// Empty, too long or not shaped like an address.
pub fn email(field: &str, value: &str) -> Result<String, FieldError> {
    let v = value.trim().to_lowercase();
    if v.is_empty() {
        return Err(field_error(field, "Email can't be empty."));
    }
    if v.len() > MAX_EMAIL {
        return Err(field_error(
            field,
            format!("Email must be at most {MAX_EMAIL} characters."),
        ));
    }
    let shaped = v.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains('@')
            && !v.chars().any(|c| c.is_whitespace() || c.is_control())
    });
    if !shaped {
        return Err(field_error(field, "Enter an email address like name@example.com."));
    }
    Ok(v)
}

/// A new password: 12–1024 characters (not trimmed: spaces count).
///
/// # Errors
/// Too short or too long.
pub fn new_password(field: &str, value: &str) -> Result<String, FieldError> {
    let n = value.chars().count();
    if n < MIN_PASSWORD {
        return Err(field_error(
            field,
            format!("Password must be at least {MIN_PASSWORD} characters."),
        ));
    }
    if n > MAX_PASSWORD {
        return Err(field_error(
            field,
            format!("Password must be at most {MAX_PASSWORD} characters."),
        ));
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(name("name", "  Acme  ").unwrap(), "Acme");
        assert!(name("name", "   ").is_err());
        assert!(name("name", &"x".repeat(10_000)).is_err());
        assert!(name("name", "a\nb").is_err());
        assert_eq!(name("name", &"é".repeat(100)).unwrap().chars().count(), 100);
    }

    #[test]
    fn emails_are_lower_cased_and_shaped() {
        assert_eq!(email("email", " Ann@Example.COM ").unwrap(), "ann@example.com");
        for bad in [
            "",
            "ann",
            "ann@",
            "@x.com",
            "ann@localhost",
            "a b@x.com",
            "a@b@c.com",
            "a@.com",
        ] {
            assert!(email("email", bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn passwords_need_twelve_characters() {
        assert!(new_password("password", "elevenchars").is_err());
        assert!(new_password("password", "twelve chars").is_ok());
    }
}
