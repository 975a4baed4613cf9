//! Deliberately dropping an error, said out loud: `result.can_fail("why it may fail here")`
//! instead of `let _ = result` or `result.ok();`. The error still leaves a debug line with where
//! it was dropped and why that is fine, so a surprise shows up in the logs rather than nowhere.
//!
//! For failures that are expected and harmless — a caller that stopped waiting for its answer, a
//! connection that closes badly after its work is done. An error that changes what the caller
//! does is handled, not dropped.

use std::fmt::Display;
use std::panic::Location;

/// See the [module docs](self).
pub trait CanFail {
    /// Drops the error, if any, after logging it at debug level with the caller's location and
    /// `why` (a sentence saying why failing here is fine).
    #[track_caller]
    fn can_fail(self, why: &'static str);
}

impl<T, E: Display> CanFail for Result<T, E> {
    #[track_caller]
    fn can_fail(self, why: &'static str) {
        if let Err(e) = self {
            let at = Location::caller();
            tracing::debug!(error = %e, at = %at, "ignored an error: {why}");
        }
    }
}
