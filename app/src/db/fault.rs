//! Which database errors mean "the database cannot take this now" rather than "this request is
//! wrong" or "Herald has a bug": the connection is gone or cannot be made (PostgreSQL restarting,
//! network), the pool has no connection to give, or the disk is full. They are answered 503 with
//! `Retry-After` (see `web::error`), so clients such as the Segment SDKs keep the event and send
//! it again, and nothing was stored (the request's transaction did not commit).

use sea_orm::sqlx;
use sea_orm::{ConnAcquireErr, DbErr, RuntimeErr};

/// Seconds a client is asked to wait (`Retry-After`) while the database is unavailable: long
/// enough for a restart or for space to be freed, short enough to lose little time.
pub const RETRY_AFTER_SECS: u64 = 5;

/// Why the database cannot take a write (or a read) at the moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unavailable {
    /// No connection: the server is down, restarting or unreachable.
    Down,
    /// The database (or the disk under it) is full: SQLite's `SQLITE_FULL`, PostgreSQL's `53100`.
    Full,
}

impl Unavailable {
    /// The sentence shown to clients.
    #[must_use]
    pub fn message(self) -> &'static str {
        match self {
            Self::Down => "The database is unavailable; nothing was stored. Try again shortly.",
            Self::Full => "The database is full; nothing was stored. Try again once space is freed.",
        }
    }
}

/// `Some` when `e` is a passing condition of the database rather than a fault of the request or
/// of Herald.
#[must_use]
pub fn unavailable(e: &DbErr) -> Option<Unavailable> {
    match e {
        DbErr::ConnectionAcquire(ConnAcquireErr::Timeout | ConnAcquireErr::ConnectionClosed) => Some(Unavailable::Down),
        DbErr::Conn(r) | DbErr::Exec(r) | DbErr::Query(r) => match r {
            RuntimeErr::SqlxError(e) => classify(e),
            _ => None,
        },
        _ => None,
    }
}

fn classify(e: &sqlx::Error) -> Option<Unavailable> {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::BeginFailed => Some(Unavailable::Down),
        sqlx::Error::Database(db) => {
            let code = db.code()?;
            if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                sqlite_code(&code)
            } else {
                sqlstate(&code)
            }
        }
        _ => None,
    }
}

/// A SQLite result code, primary or extended (the primary code is the low byte).
fn sqlite_code(code: &str) -> Option<Unavailable> {
    match code.parse::<u32>().ok()? & 0xff {
        // SQLITE_FULL.
        13 => Some(Unavailable::Full),
        // SQLITE_BUSY (after the busy timeout), SQLITE_IOERR, SQLITE_CANTOPEN.
        5 | 10 | 14 => Some(Unavailable::Down),
        _ => None,
    }
}

/// A PostgreSQL SQLSTATE.
fn sqlstate(code: &str) -> Option<Unavailable> {
    match code {
        // insufficient_resources, disk_full, out_of_memory.
        "53000" | "53100" | "53200" => Some(Unavailable::Full),
        // too_many_connections, admin/crash shutdown, cannot_connect_now, connection exceptions.
        "53300" | "57P01" | "57P02" | "57P03" => Some(Unavailable::Down),
        c if c.starts_with("08") => Some(Unavailable::Down),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_of_full_and_unreachable_databases_are_recognised() {
        assert_eq!(sqlite_code("13"), Some(Unavailable::Full));
        assert_eq!(sqlite_code("266"), Some(Unavailable::Down), "SQLITE_IOERR_READ");
        assert_eq!(sqlite_code("2067"), None, "SQLITE_CONSTRAINT_UNIQUE");
        assert_eq!(sqlstate("53100"), Some(Unavailable::Full));
        assert_eq!(sqlstate("57P01"), Some(Unavailable::Down));
        assert_eq!(sqlstate("08006"), Some(Unavailable::Down));
        assert_eq!(sqlstate("23505"), None, "unique violation");
        assert_eq!(unavailable(&DbErr::Custom("x".into())), None);
        assert_eq!(
            unavailable(&DbErr::ConnectionAcquire(ConnAcquireErr::Timeout)),
            Some(Unavailable::Down)
        );
    }
}
