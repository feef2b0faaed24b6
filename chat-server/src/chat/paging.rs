//! Paging of the desk's lists, as the contract has it for every list: newest first, `?limit=`
//! (default 50, at most 200) and `?before=<cursor>`; a page carries `next`, the cursor of the
//! following page, or none on the last one.

use serde::Serialize;

use std::future::Future;

use crate::error::Error;
use crate::store::{Page, StoreError};

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 200;

/// Ids are lowercase ULIDs (26 characters); a cursor is the last id of a page. Anything else is
/// refused rather than passed to the store, so a cursor cannot become a query of its own.
const MAX_CURSOR_LEN: usize = 64;

/// The page `before` and `limit` (both as the query string gave them) ask for.
pub fn page(before: Option<&str>, limit: Option<&str>) -> Result<Page, Error> {
    let limit = match limit {
        None => DEFAULT_LIMIT,
        Some(raw) => match raw.trim().parse::<u32>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
            _ => {
                return Err(Error::invalid(
                    "invalid_limit",
                    format!("limit must be a whole number from 1 to {MAX_LIMIT}, not {raw:?}"),
                ));
            }
        },
    };
    let before_id = match before {
        None | Some("") => None,
        Some(c) if c.len() <= MAX_CURSOR_LEN && c.chars().all(|ch| ch.is_ascii_alphanumeric()) => {
            Some(c.to_string())
        }
        Some(_) => {
            return Err(Error::invalid(
                "invalid_cursor",
                "before must be the \"next\" cursor of a previous page",
            ));
        }
    };
    Ok(Page { before_id, limit })
}

/// One page of items and the cursor of the next.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Paged<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

/// What to ask the store for: one item more than the page holds, which says whether another
/// page follows without handing out a cursor to an empty one.
pub(super) fn probe(page: &Page) -> Page {
    Page {
        before_id: page.before_id.clone(),
        limit: page.limit + 1,
    }
}

/// The page out of what [`probe`] fetched (newest first); `id` gives an item's cursor.
pub(super) fn paged<T>(mut fetched: Vec<T>, page: &Page, id: impl Fn(&T) -> &str) -> Paged<T> {
    let limit = page.limit as usize;
    let next = if fetched.len() > limit {
        fetched.truncate(limit);
        fetched.last().map(|t| id(t).to_string())
    } else {
        None
    };
    Paged {
        items: fetched,
        next,
    }
}

/// Every item of a newest-first list, in the store's order, read page by page at the largest
/// page size: for the server's own whole-desk work (routing, reports, export), never a client's
/// request. `id` gives an item's cursor.
pub(super) async fn every<T, F, Fut>(mut fetch: F, id: fn(&T) -> &str) -> Result<Vec<T>, Error>
where
    F: FnMut(Page) -> Fut,
    Fut: Future<Output = Result<Vec<T>, StoreError>>,
{
    let mut all = Vec::new();
    let mut page = Page {
        before_id: None,
        limit: MAX_LIMIT,
    };
    loop {
        let batch = fetch(page.clone()).await?;
        let full = batch.len() == page.limit as usize;
        page.before_id = batch.last().map(|item| id(item).to_string());
        all.extend(batch);
        if !full {
            return Ok(all);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_default_to_50_and_outside_1_to_200_are_refused_naming_limit() {
        assert_eq!(page(None, None).unwrap().limit, DEFAULT_LIMIT);
        assert_eq!(page(None, Some("200")).unwrap().limit, 200);
        for bad in ["0", "201", "-1", "ten", ""] {
            let e = page(None, Some(bad)).unwrap_err();
            assert_eq!(e.code, "invalid_limit", "{bad:?}");
            assert!(e.message.contains("limit"), "{}", e.message);
        }
    }

    #[test]
    fn a_cursor_is_an_id_and_nothing_else() {
        let p = page(Some("01jabc"), None).unwrap();
        assert_eq!(p.before_id.as_deref(), Some("01jabc"));
        assert_eq!(page(Some(""), None).unwrap().before_id, None);
        for bad in ["' OR 1=1", "a b", &"a".repeat(65)] {
            assert_eq!(
                page(Some(bad), None).unwrap_err().code,
                "invalid_cursor",
                "{bad:?}"
            );
        }
    }

    #[test]
    fn next_is_the_last_id_only_when_more_was_fetched_than_the_page_holds() {
        let page = Page {
            before_id: None,
            limit: 2,
        };
        let ids = |v: &[&'static str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let full = paged(ids(&["c", "b", "a"]), &page, |s| s);
        assert_eq!(
            (full.items, full.next),
            (ids(&["c", "b"]), Some("b".into()))
        );
        let last = paged(ids(&["b", "a"]), &page, |s| s);
        assert_eq!((last.items, last.next), (ids(&["b", "a"]), None));
    }
}
