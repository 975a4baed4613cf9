//! Keyset pagination, newest first: `?limit=&cursor=` where the cursor is the last id seen.

use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Select};

use super::{DomainError, validate::field_error};

/// Default and largest page sizes.
pub const DEFAULT_LIMIT: u64 = 50;
const MAX_LIMIT: u64 = 200;

/// Which page to read: at most `limit` rows with an id below `before`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: u64,
    pub before: Option<i64>,
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            limit: DEFAULT_LIMIT,
            before: None,
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
        let before = match cursor.filter(|c| !c.is_empty()) {
            None => None,
            Some(c) => Some(c.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| {
                DomainError::Invalid(vec![field_error(
                    "cursor",
                    "cursor is not valid; use next_cursor from the previous page.",
                )])
            })?),
        };
        Ok(Self { limit, before })
    }
}

/// One page of results and the cursor of the next, if there is one.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from `limit + 1` fetched rows: the extra row only says that more exist.
    pub fn from_rows(mut rows: Vec<T>, req: PageRequest, id: impl Fn(&T) -> i64) -> Self {
        let limit = usize::try_from(req.limit).unwrap_or(usize::MAX);
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next_cursor = if more {
            rows.last().map(|r| id(r).to_string())
        } else {
            None
        };
        Self {
            items: rows,
            next_cursor,
        }
    }

    /// Converts the items, keeping the cursor.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
        }
    }
}

/// Runs `query` (already limited to one account and any filters) as one page, newest first by
/// `id`: the keyset condition, the order and the extra row that tells whether more exist are
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
    let query = match req.before {
        Some(before) => query.filter(id.lt(before)),
        None => query,
    };
    let rows = query.order_by_desc(id).limit(req.limit + 1).all(conn).await?;
    Ok(Page::from_rows(rows, req, id_of))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_keeps_limit_rows_and_points_past_the_last() {
        let req = PageRequest { limit: 2, before: None };
        let page = Page::from_rows(vec![9, 8, 7], req, |n| *n);
        assert_eq!(page.items, vec![9, 8]);
        assert_eq!(page.next_cursor.as_deref(), Some("8"));
        let last = Page::from_rows(vec![7], req, |n| *n);
        assert_eq!(last.next_cursor, None);
    }

    #[test]
    fn bad_limits_and_cursors_are_refused() {
        assert!(PageRequest::parse(Some("0"), None).is_err());
        assert!(PageRequest::parse(Some("201"), None).is_err());
        assert!(PageRequest::parse(None, Some("abc")).is_err());
        assert_eq!(
            PageRequest::parse(Some("10"), Some("5")).unwrap(),
            PageRequest {
                limit: 10,
                before: Some(5)
            }
        );
    }
}
