//! The query string of a paged list: `?limit=&before=`, read as text so that a bad value gets the
//! core's error naming `limit` rather than a generic query rejection.

use serde::Deserialize;

use crate::chat::paging::{self, Paged};
use crate::error::Error;
use crate::store::Page;

#[derive(Deserialize)]
pub struct PageQuery {
    before: Option<String>,
    limit: Option<String>,
}

impl PageQuery {
    pub fn page(&self) -> Result<Page, Error> {
        paging::page(self.before.as_deref(), self.limit.as_deref())
    }
}

/// `{"<key>": [items], "next": cursor|null}`, the contract's shape of a page.
pub fn body<T: serde::Serialize>(key: &str, page: Paged<T>) -> serde_json::Value {
    let mut body = serde_json::Map::new();
    body.insert(key.to_string(), serde_json::json!(page.items));
    body.insert("next".to_string(), serde_json::json!(page.next));
    serde_json::Value::Object(body)
}
