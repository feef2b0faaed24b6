//! Canned responses: saved replies every agent may use (typing `/` + shortcut in the console),
//! which only admins write. Shortcuts are unique, ignoring case.

use super::paging::{self, Paged};
use super::{Chat, require_admin, require_agent};
use crate::auth::Principal;
use crate::error::{Error, Kind};
use crate::model::{CannedResponse, new_id, now};
use crate::store::{CannedPatch, Page, StoreError};

/// Short enough to type after `/`, long enough for `refund-policy-eu`.
const MAX_SHORTCUT_CHARS: usize = 32;

impl Chat {
    pub async fn list_canned_responses(
        &self,
        by: &Principal,
        page: Page,
    ) -> Result<Paged<CannedResponse>, Error> {
        require_agent(by)?;
        let fetched = self
            .store
            .list_canned_responses(&paging::probe(&page))
            .await?;
        Ok(paging::paged(fetched, &page, |c| &c.id))
    }

    pub async fn create_canned_response(
        &self,
        by: &Principal,
        shortcut: &str,
        body: &str,
    ) -> Result<CannedResponse, Error> {
        require_admin(by, "write canned responses")?;
        let shortcut = canned_shortcut(shortcut)?;
        self.canned_body(body)?;
        let at = now();
        self.store
            .create_canned_response(CannedResponse {
                id: new_id(),
                shortcut: shortcut.clone(),
                body: body.to_string(),
                created_at: at,
                updated_at: at,
            })
            .await
            .map_err(|e| duplicate_shortcut(e, &shortcut))
    }

    /// Replaces both fields (PUT).
    pub async fn replace_canned_response(
        &self,
        by: &Principal,
        id: &str,
        shortcut: &str,
        body: &str,
    ) -> Result<CannedResponse, Error> {
        require_admin(by, "write canned responses")?;
        let shortcut = canned_shortcut(shortcut)?;
        self.canned_body(body)?;
        let patch = CannedPatch {
            shortcut: Some(shortcut.clone()),
            body: Some(body.to_string()),
        };
        self.store
            .update_canned_response(id, &patch)
            .await
            .map_err(|e| duplicate_shortcut(e, &shortcut))
    }

    pub async fn delete_canned_response(&self, by: &Principal, id: &str) -> Result<(), Error> {
        require_admin(by, "delete canned responses")?;
        Ok(self.store.delete_canned_response(id).await?)
    }

    /// A canned response becomes a message, so it obeys the tenant's message limit.
    fn canned_body(&self, body: &str) -> Result<(), Error> {
        let max = self.limits.max_message_bytes;
        if body.trim().is_empty() {
            return Err(Error::invalid("empty_body", "body must not be empty"));
        }
        if body.len() > max {
            return Err(Error::new(
                Kind::TooLarge,
                "body_too_large",
                format!(
                    "body is {} bytes; a message, and so a canned response, may have {max}",
                    body.len()
                ),
            ));
        }
        Ok(())
    }
}

/// One word of letters, digits, `-`, `_` or `.`, so `/shortcut` ends at the first space.
fn canned_shortcut(shortcut: &str) -> Result<String, Error> {
    let s = shortcut.trim().trim_start_matches('/');
    let valid = !s.is_empty()
        && s.chars().count() <= MAX_SHORTCUT_CHARS
        && s.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if valid {
        Ok(s.to_string())
    } else {
        Err(Error::invalid(
            "invalid_shortcut",
            format!(
                "shortcut {shortcut:?} must be 1-{MAX_SHORTCUT_CHARS} letters, digits, '-', '_' \
                 or '.', without spaces"
            ),
        ))
    }
}

fn duplicate_shortcut(e: StoreError, shortcut: &str) -> Error {
    match e {
        StoreError::Conflict(_) => Error::conflict(
            "duplicate_shortcut",
            format!("another canned response has the shortcut {shortcut:?}"),
        ),
        other => other.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortcuts_are_one_word_and_lose_a_typed_slash() {
        assert_eq!(canned_shortcut(" /refund-eu ").unwrap(), "refund-eu");
        assert_eq!(canned_shortcut("olá_2").unwrap(), "olá_2");
        for bad in ["", "/", "two words", "tab\there", "a;b", &"x".repeat(33)] {
            let e = canned_shortcut(bad).unwrap_err();
            assert_eq!(e.code, "invalid_shortcut", "{bad:?}");
            assert!(e.message.starts_with("shortcut"), "{}", e.message);
        }
    }
}
