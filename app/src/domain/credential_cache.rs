//! A per-process cache of resolved credentials: API tokens by the SHA-256 of their secret, apps
//! by their Segment write key, and the app each ingest token sends to. Without it every API and
//! Segment request paid a database query (two for token ingest) before doing anything.
//!
//! Contract: an entry lives [`TTL`] from the moment its row was read, so a change made by any
//! process (a revocation) is seen by every process within that time, with no messaging between
//! them; the process that revokes forgets the token at once. Only rows that exist are cached:
//! an unknown secret or key is looked up again on the next request, so a token created a moment
//! ago works at once. Each map holds at most [`CAPACITY`] entries; when full, expired entries
//! are dropped, and if that is not enough, all of them.
//!
//! What is cached is the row as read: the callers still check it (revoked, expired) on every
//! request. Token secrets are never kept, only their hashes.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use entity::{api_token, app};

/// How long an entry is trusted. Together with the time a request takes, it keeps a revocation
/// made in another process effective within 5 s.
pub const TTL: Duration = Duration::from_secs(2);
/// Most entries per map (tokens, apps): a few MB at most.
pub const CAPACITY: usize = 10_000;

/// Tokens and apps resolved recently by this process. Cheap to clone: a handle.
#[derive(Clone)]
pub struct CredentialCache {
    tokens: Arc<TtlMap<api_token::Model>>,
    apps: Arc<TtlMap<app::Model>>,
    /// By token id: the app whose events an ingest token sends.
    ingest_apps: Arc<TtlMap<app::Model>>,
}

impl Default for CredentialCache {
    fn default() -> Self {
        Self {
            tokens: Arc::new(TtlMap::new(TTL, CAPACITY)),
            apps: Arc::new(TtlMap::new(TTL, CAPACITY)),
            ingest_apps: Arc::new(TtlMap::new(TTL, CAPACITY)),
        }
    }
}

impl CredentialCache {
    /// The token whose secret hashes to `token_hash`, if read less than [`TTL`] ago.
    #[must_use]
    pub fn token(&self, token_hash: &str) -> Option<Arc<api_token::Model>> {
        self.tokens.get(token_hash, Instant::now())
    }

    /// Keeps `token`, read from the database at `read_at` (taken before the query, so a row
    /// that a slow query returns is not trusted for longer than [`TTL`] after it was current).
    pub fn remember_token(&self, token: api_token::Model, read_at: Instant) -> Arc<api_token::Model> {
        self.tokens.insert(token.token_hash.clone(), token, read_at)
    }

    /// Drops the token, so this process reads it again on its next use (after a revocation).
    pub fn forget_token(&self, token_hash: &str) {
        self.tokens.remove(token_hash);
    }

    /// The app whose Segment write key is `write_key`, if read less than [`TTL`] ago.
    #[must_use]
    pub fn app(&self, write_key: &str) -> Option<Arc<app::Model>> {
        self.apps.get(write_key, Instant::now())
    }

    /// Keeps `app`, read from the database at `read_at` (as [`CredentialCache::remember_token`]).
    pub fn remember_app(&self, app: app::Model, read_at: Instant) -> Arc<app::Model> {
        self.apps.insert(app.write_key.clone(), app, read_at)
    }

    /// The app ingest token `token_id` sends to, if resolved less than [`TTL`] ago.
    #[must_use]
    pub fn ingest_app(&self, token_id: i64) -> Option<Arc<app::Model>> {
        self.ingest_apps.get(&token_id.to_string(), Instant::now())
    }

    /// Keeps the app resolved for ingest token `token_id` (as [`CredentialCache::remember_token`]).
    pub fn remember_ingest_app(&self, token_id: i64, app: app::Model, read_at: Instant) -> Arc<app::Model> {
        self.ingest_apps.insert(token_id.to_string(), app, read_at)
    }
}

/// A bounded map whose entries lapse `ttl` after they were read.
struct TtlMap<V> {
    entries: RwLock<HashMap<String, Fresh<V>>>,
    ttl: Duration,
    capacity: usize,
}

struct Fresh<V> {
    value: Arc<V>,
    until: Instant,
}

impl<V> TtlMap<V> {
    fn new(ttl: Duration, capacity: usize) -> Self {
        Self {
            entries: RwLock::new(HashMap::new()),
            ttl,
            capacity,
        }
    }

    fn get(&self, key: &str, now: Instant) -> Option<Arc<V>> {
        self.read()
            .get(key)
            .filter(|e| now < e.until)
            .map(|e| Arc::clone(&e.value))
    }

    fn insert(&self, key: String, value: V, read_at: Instant) -> Arc<V> {
        let value = Arc::new(value);
        let mut entries = self.write();
        if entries.len() >= self.capacity && !entries.contains_key(&key) {
            entries.retain(|_, e| read_at < e.until);
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        entries.insert(
            key,
            Fresh {
                value: Arc::clone(&value),
                until: read_at + self.ttl,
            },
        );
        value
    }

    fn remove(&self, key: &str) {
        self.write().remove(key);
    }

    // A panic while the lock was held cannot leave the map half-changed in a way that matters
    // (each entry is replaced whole), so a poisoned lock is used as it is.
    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Fresh<V>>> {
        self.entries.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Fresh<V>>> {
        self.entries.write().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn an_entry_is_served_until_its_ttl_has_passed_since_it_was_read() {
        let map = TtlMap::new(TTL, 10);
        let read_at = Instant::now();
        map.insert("a".into(), 1, read_at);
        assert_eq!(map.get("a", read_at).as_deref(), Some(&1));
        assert_eq!(
            map.get("a", read_at + TTL - Duration::from_millis(1)).as_deref(),
            Some(&1)
        );
        assert_eq!(map.get("a", read_at + TTL), None, "lapsed at the TTL");
        assert_eq!(map.get("b", read_at), None);
    }

    #[test]
    fn a_forgotten_entry_is_gone_at_once() {
        let map = TtlMap::new(TTL, 10);
        let read_at = Instant::now();
        map.insert("a".into(), 1, read_at);
        map.remove("a");
        assert_eq!(map.get("a", read_at), None);
    }

    #[test]
    fn a_full_map_drops_expired_entries_first_then_everything() {
        let map = TtlMap::new(TTL, 2);
        let t0 = Instant::now();
        map.insert("old".into(), 1, t0);
        map.insert("new".into(), 2, t0 + SECOND);
        let t1 = t0 + TTL + Duration::from_millis(500);
        map.insert("newer".into(), 3, t1);
        assert_eq!(map.get("new", t1).as_deref(), Some(&2), "a live entry survives");
        assert_eq!(map.read().len(), 2, "only the expired entry was dropped");

        map.insert("newest".into(), 4, t1);
        assert_eq!(map.read().len(), 1, "nothing had expired: the map was cleared");
        assert_eq!(map.get("newest", t1).as_deref(), Some(&4));

        map.insert("newest".into(), 5, t1);
        assert_eq!(
            map.get("newest", t1).as_deref(),
            Some(&5),
            "replacing a key evicts nothing"
        );
    }

    #[test]
    fn tokens_are_found_by_hash_and_apps_by_write_key() {
        let cache = CredentialCache::default();
        let token = api_token::Model {
            id: 7,
            account_id: 1,
            app_id: None,
            name: "ci".into(),
            prefix: "hrld_0123abcd".into(),
            token_hash: "ab".repeat(32),
            scopes: "ingest".into(),
            created_by_user_id: Some(1),
            created_by_token_id: None,
            last_used_at: None,
            expires_at: None,
            revoked_at: None,
            created_at: 0,
        };
        cache.remember_token(token.clone(), Instant::now());
        assert_eq!(cache.token(&token.token_hash).as_deref(), Some(&token));
        cache.forget_token(&token.token_hash);
        assert_eq!(cache.token(&token.token_hash), None);

        let app = app::Model {
            id: 3,
            account_id: 1,
            name: "Website".into(),
            app_token: "AP-0123456789".into(),
            write_key: "wk_0123".into(),
            created_at: 0,
        };
        cache.remember_app(app.clone(), Instant::now());
        assert_eq!(cache.app("wk_0123").as_deref(), Some(&app));
        assert_eq!(cache.app("wk_other"), None);
    }
}
