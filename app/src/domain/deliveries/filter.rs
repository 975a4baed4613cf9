//! Which deliveries a list shows: the filters of the delivery log (all webhooks), of a webhook's
//! Deliveries tab, and of both API lists — parsed once, here.

use super::stage::Stage;
use crate::domain::{DomainError, DomainResult};

/// The filter parameters as typed or sent; blank values mean "no filter".
#[derive(Debug, Clone, Copy, Default)]
pub struct RawFilter<'a> {
    pub status: Option<&'a str>,
    pub webhook: Option<&'a str>,
    pub event: Option<&'a str>,
    pub user: Option<&'a str>,
    pub message: Option<&'a str>,
    pub since: Option<&'a str>,
    pub until: Option<&'a str>,
}

/// Which deliveries a list shows. Build it with [`Filter::parse`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub stage: Option<Stage>,
    /// A webhook's public id.
    pub webhook: Option<String>,
    /// Event names starting with this, compared case-insensitively.
    pub event_prefix: Option<String>,
    /// Deliveries of events of this user id (exact).
    pub user_id: Option<String>,
    /// Deliveries of the event with this message id (exact).
    pub message_id: Option<String>,
    /// Created at or after (unix ms).
    pub since: Option<i64>,
    /// Created before (unix ms).
    pub until: Option<i64>,
}

impl Filter {
    /// Parses filter parameters as sent by the API (`since`/`until` in RFC 3339) or the
    /// dashboard (a `datetime-local` value, read as UTC). Every field is checked, and every
    /// problem reported at once.
    ///
    /// # Errors
    /// `Invalid` naming `status`, `since`, `until` (or several of them).
    pub fn parse(raw: RawFilter<'_>) -> DomainResult<Self> {
        let owned = |v: Option<&str>| blank(v).map(str::to_owned);
        let mut errors = Vec::new();
        let stage = Stage::parse(raw.status).unwrap_or_else(|e| {
            errors.extend(e.field_errors());
            None
        });
        let mut time = |field: &str, v: Option<&str>| {
            blank(v).and_then(|v| parse_time(field, v).map_err(|e| errors.extend(e.field_errors())).ok())
        };
        let since = time("since", raw.since);
        let until = time("until", raw.until);
        if !errors.is_empty() {
            return Err(DomainError::Invalid(errors));
        }
        Ok(Self {
            stage,
            webhook: owned(raw.webhook),
            event_prefix: owned(raw.event),
            user_id: owned(raw.user),
            message_id: owned(raw.message),
            since,
            until,
        })
    }
}

fn blank(v: Option<&str>) -> Option<&str> {
    v.map(str::trim).filter(|v| !v.is_empty())
}

/// Parses an RFC 3339 time, or a `YYYY-MM-DDTHH:MM[:SS]` one without offset (taken as UTC, as
/// browsers send `datetime-local` fields), into unix ms.
///
/// # Errors
/// `Invalid` on `field`.
pub fn parse_time(field: &str, raw: &str) -> DomainResult<i64> {
    use time::format_description::well_known::Rfc3339;
    use time::macros::format_description;
    let raw = raw.trim();
    let parsed = time::OffsetDateTime::parse(raw, &Rfc3339).ok().or_else(|| {
        time::PrimitiveDateTime::parse(
            raw,
            format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]"),
        )
        .or_else(|_| time::PrimitiveDateTime::parse(raw, format_description!("[year]-[month]-[day]T[hour]:[minute]")))
        .ok()
        .map(time::PrimitiveDateTime::assume_utc)
    });
    parsed
        .and_then(|t| i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok())
        .ok_or_else(|| {
            DomainError::invalid(
                field,
                format!("{field} must be a time such as 2026-11-26T08:00:00Z (RFC 3339)."),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse_rfc3339_and_browser_times() {
        let f = Filter::parse(RawFilter {
            status: Some("retrying"),
            event: Some(" "),
            since: Some("2025-11-26T08:12:03Z"),
            until: Some("2025-11-26T09:00"),
            ..RawFilter::default()
        })
        .unwrap();
        assert_eq!(f.stage, Some(Stage::Retrying));
        assert_eq!(f.event_prefix, None);
        assert_eq!(f.since, Some(1_764_144_723_000));
        assert_eq!(f.until, Some(1_764_147_600_000));
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let e = Filter::parse(RawFilter {
            status: Some("done"),
            since: Some("yesterday"),
            until: Some("later"),
            ..RawFilter::default()
        })
        .unwrap_err()
        .field_errors();
        let fields: Vec<&str> = e.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["status", "since", "until"]);
    }
}
