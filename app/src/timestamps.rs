//! Timestamps as text: Herald stores unix milliseconds and writes them out as RFC 3339 in JSON
//! (API bodies, audit diffs) and as a short UTC form in sentences. Below `domain` and `web`,
//! which both write them; pages show times with `web::format::When`.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

/// Current time in unix milliseconds, the unit of every `*_at` column.
#[must_use]
pub fn now_ms() -> i64 {
    let now = time::OffsetDateTime::now_utc();
    i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// The moment `ms` milliseconds after the unix epoch (the epoch itself when out of range).
#[must_use]
pub fn datetime(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// `2026-11-26T08:12:03.120Z`.
#[must_use]
pub fn rfc3339(ms: i64) -> String {
    datetime(ms).format(&Rfc3339).unwrap_or_default()
}

/// `2026-11-26 08:12 UTC`.
#[must_use]
pub fn short(ms: i64) -> String {
    datetime(ms)
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
