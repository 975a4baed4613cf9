//! Keyset pagination, newest first, both ways: `?limit=&cursor=`. A page's `next_cursor` reads
//! older rows (it is the last id seen, as a plain number) and its `prev_cursor` newer ones
//! (`newer:<first id seen>`); clients treat both as opaque.

use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Select};

use super::{DomainError, validate::field_error};

/// Default and largest page sizes.
pub const DEFAULT_LIMIT: u64 = 50;
const MAX_LIMIT: u64 = 200;

/// The prefix of a cursor that reads newer rows.
const NEWER: &str = "newer:";

/// Where a page starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// The newest rows.
    Newest,
    /// Rows with an id below this one (older).
    Before(i64),
    /// Rows with an id above this one (newer), the nearest first.
    After(i64),
}

/// Which page to read: at most `limit` rows from `start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: u64,
    pub start: Start,
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            limit: DEFAULT_LIMIT,
            start: Start::Newest,
        }
    }
}

impl PageRequest {
    /// Parses the query parameters; absent means the first page of 50.
    ///
    /// # Errors
    /// A limit outside 1–200 or a cursor that is not one Herald issued.
    pub fn parse(limit: Option<&str>, cursor: Option<&str>) -> Result<Self, DomainError> {
        let limit = match limit.filter(|l| !l.is_empty()) {
            None => DEFAULT_LIMIT,
            Some(l) => l
                .parse::<u64>()
                .ok()
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .ok_or_else(|| {
                    DomainError::Invalid(vec![field_error(
                        "limit",
                        format!("limit must be a number from 1 to {MAX_LIMIT}."),
                    )])
                })?,
        };
        let id = |c: &str| c.parse::<i64>().ok().filter(|n| *n > 0);
        let start = match cursor.filter(|c| !c.is_empty()) {
            None => Start::Newest,
            Some(c) => match c.strip_prefix(NEWER) {
                Some(newer) => id(newer).map(Start::After),
                None => id(c).map(Start::Before),
            }
            .ok_or_else(|| {
                DomainError::Invalid(vec![field_error(
                    "cursor",
                    "cursor is not valid; use next_cursor or prev_cursor from a page.",
                )])
            })?,
        };
        Ok(Self { limit, start })
    }
}

/// One page of results, newest first, with the cursors of the older and the newer page.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Reads older rows; `None` on the oldest page.
    pub next_cursor: Option<String>,
    /// Reads newer rows; `None` on the newest page.
    pub prev_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from `limit + 1` rows fetched in the direction of `req.start` (newest first,
    /// or oldest first after a `newer:` cursor): the extra row only says that more exist that way.
    pub fn from_rows(mut rows: Vec<T>, req: PageRequest, id: impl Fn(&T) -> i64) -> Self {
        let limit = usize::try_from(req.limit).unwrap_or(usize::MAX);
        let more = rows.len() > limit;
        rows.truncate(limit);
        let (older, newer) = match req.start {
            Start::Newest => (more, false),
            Start::Before(_) => (more, true),
            Start::After(_) => {
                rows.reverse();
                (true, more)
            }
        };
        let next_cursor = if older {
            rows.last().map(|r| id(r).to_string())
        } else {
            None
        };
        let prev_cursor = match (newer, rows.first(), req.start) {
            (true, Some(first), _) => Some(format!("{NEWER}{}", id(first))),
            // An empty page after a cursor: the newer page starts from that cursor again.
            (true, None, Start::Before(b)) => Some(format!("{NEWER}{}", b - 1)),
            _ => None,
        };
        Self {
            items: rows,
            next_cursor,
            prev_cursor,
        }
    }

    /// Converts the items, keeping the cursors.
    /// Like [`Page::map`] for a conversion that can fail: the first failure is the answer.
    ///
    /// # Errors
    /// The first error of `f`.
    pub fn try_map<U, E>(self, f: impl FnMut(T) -> Result<U, E>) -> Result<Page<U>, E> {
        Ok(Page {
            items: self.items.into_iter().map(f).collect::<Result<_, _>>()?,
            next_cursor: self.next_cursor,
            prev_cursor: self.prev_cursor,
        })
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
            prev_cursor: self.prev_cursor,
        }
    }
}

/// Runs `query` (already limited to one account and any filters) as one page, newest first by
/// `id`, either way from the cursor: the keyset condition, the order and the extra row that tells whether more exist are
/// applied here, once, for every list.
///
/// # Errors
/// Database failure.
pub async fn fetch<E: EntityTrait>(
    conn: &impl ConnectionTrait,
    query: Select<E>,
    id: E::Column,
    req: PageRequest,
    id_of: impl Fn(&E::Model) -> i64,
) -> Result<Page<E::Model>, DbErr> {
    let query = match req.start {
        Start::Newest => query.order_by_desc(id),
        Start::Before(before) => query.filter(id.lt(before)).order_by_desc(id),
        Start::After(after) => query.filter(id.gt(after)).order_by_asc(id),
    };
    let rows = query.limit(req.limit + 1).all(conn).await?;
    Ok(Page::from_rows(rows, req, id_of))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(limit: u64, start: Start) -> PageRequest {
        PageRequest { limit, start }
    }

    #[test]
    fn a_page_keeps_limit_rows_and_points_both_ways() {
        let first = Page::from_rows(vec![9, 8, 7], req(2, Start::Newest), |n| *n);
        assert_eq!(first.items, vec![9, 8]);
        assert_eq!(first.next_cursor.as_deref(), Some("8"));
        assert_eq!(first.prev_cursor, None);
        let older = Page::from_rows(vec![7], req(2, Start::Before(8)), |n| *n);
        assert_eq!(older.next_cursor, None);
        assert_eq!(older.prev_cursor.as_deref(), Some("newer:7"));
        // Newer rows arrive oldest first and are shown newest first.
        let newer = Page::from_rows(vec![8, 9, 10], req(2, Start::After(7)), |n| *n);
        assert_eq!(newer.items, vec![9, 8]);
        assert_eq!(newer.next_cursor.as_deref(), Some("8"));
        assert_eq!(newer.prev_cursor.as_deref(), Some("newer:9"));
        let newest = Page::from_rows(vec![8, 9], req(2, Start::After(7)), |n| *n);
        assert_eq!(newest.prev_cursor, None);
    }

    #[test]
    fn bad_limits_and_cursors_are_refused() {
        assert!(PageRequest::parse(Some("0"), None).is_err());
        assert!(PageRequest::parse(Some("201"), None).is_err());
        assert!(PageRequest::parse(None, Some("abc")).is_err());
        assert!(PageRequest::parse(None, Some("newer:x")).is_err());
        assert_eq!(
            PageRequest::parse(Some("10"), Some("5")).unwrap(),
            req(10, Start::Before(5))
        );
        assert_eq!(
            PageRequest::parse(None, Some("newer:5")).unwrap(),
            req(50, Start::After(5))
        );
    }
}
