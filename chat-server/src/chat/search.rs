//! Search over every message of the tenant, private notes included, for agents: each word of
//! the query must appear, case and accents ignored ("cafe" finds "Café"), newest first.

use serde::Serialize;

use super::paging::{self, Paged};
use super::{Chat, require_agent};
use crate::auth::Principal;
use crate::error::Error;
use crate::model::Message;
use crate::store::Page;
use crate::store::search::{MAX_QUERY_WORDS, query_words};

/// A query is a few words; anything longer is a mistake or an attempt to make the search work
/// harder (only the first [`MAX_QUERY_WORDS`] words count anyway).
const MAX_QUERY_BYTES: usize = 500;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SearchHit {
    pub conversation_id: String,
    pub message: Message,
}

impl Chat {
    pub async fn search(
        &self,
        by: &Principal,
        q: &str,
        page: Page,
    ) -> Result<Paged<SearchHit>, Error> {
        require_agent(by)?;
        if q.len() > MAX_QUERY_BYTES {
            return Err(Error::invalid(
                "invalid_query",
                format!("q is {} bytes; at most {MAX_QUERY_BYTES}", q.len()),
            ));
        }
        if query_words(q).is_empty() {
            return Err(Error::invalid(
                "invalid_query",
                format!(
                    "q must have at least one word of letters or digits (the first \
                     {MAX_QUERY_WORDS} count)"
                ),
            ));
        }
        let fetched = self.store.search_messages(q, &paging::probe(&page)).await?;
        let page = paging::paged(fetched, &page, |m| &m.id);
        Ok(Paged {
            items: page
                .items
                .into_iter()
                .map(|message| SearchHit {
                    conversation_id: message.conversation_id.clone(),
                    message,
                })
                .collect(),
            next: page.next,
        })
    }
}
