//! How times are shown: RFC 3339 in JSON, a short UTC form on pages.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

fn at(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// `2026-11-26T08:12:03.120Z`.
#[must_use]
pub fn rfc3339(ms: i64) -> String {
    at(ms).format(&Rfc3339).unwrap_or_default()
}

/// `2026-11-26 08:12 UTC`.
#[must_use]
pub fn short(ms: i64) -> String {
    at(ms)
        .format(format_description!("[year]-[month]-[day] [hour]:[minute] UTC"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_format_in_utc() {
        assert_eq!(super::rfc3339(1_764_144_723_120), "2025-11-26T08:12:03.12Z");
        assert_eq!(super::short(1_764_144_723_120), "2025-11-26 08:12 UTC");
    }
}
