//! Satisfaction (CSAT): the visitor rates its resolved conversation once, 1 to 5 with an
//! optional comment. The store keeps the once-only rule atomically (two replicas racing store
//! one rating); agents see the rating on the conversation, live through its `conversation`
//! frame.

use super::Chat;
use crate::auth::Principal;
use crate::error::Error;
use crate::model::{Rating, now};
use crate::store::Rated;

/// Longer than a tweet, shorter than a letter: a comment, not a second conversation.
pub const MAX_COMMENT_CHARS: usize = 1000;

impl Chat {
    /// `score` as the client sent it (any JSON), so a wrong one is refused naming the field.
    pub async fn rate(
        &self,
        by: &Principal,
        conversation_id: &str,
        score: Option<&serde_json::Value>,
        comment: Option<&str>,
    ) -> Result<Rating, Error> {
        if !matches!(by, Principal::Visitor { .. }) {
            return Err(Error::forbidden("only the conversation's visitor rates it"));
        }
        let rating = Rating {
            score: score_of(score)?,
            comment: comment_of(comment)?,
            created_at: now(),
        };
        self.authorize(by, conversation_id).await?;
        match self
            .store
            .rate_conversation(conversation_id, &rating)
            .await?
        {
            Rated::Stored(conversation) => {
                self.rating_created_event(conversation_id, &rating).await?;
                self.announce(&conversation).await;
                Ok(rating)
            }
            Rated::AlreadyRated(_) => Err(Error::conflict(
                "already_rated",
                format!("conversation {conversation_id} is already rated; a rating is given once"),
            )),
            Rated::NotResolved(c) => Err(Error::conflict(
                "not_resolved",
                format!(
                    "conversation {conversation_id} is {}; it can be rated once it is resolved",
                    c.status.as_str()
                ),
            )),
        }
    }
}

fn score_of(score: Option<&serde_json::Value>) -> Result<u8, Error> {
    score
        .and_then(serde_json::Value::as_u64)
        .filter(|s| (1..=5).contains(s))
        .map(|s| s as u8)
        .ok_or_else(|| {
            let got = score.map_or("nothing".to_string(), |s| s.to_string());
            Error::invalid(
                "invalid_score",
                format!("score must be a whole number from 1 to 5; got {got}"),
            )
        })
}

/// Trimmed; blank is no comment.
fn comment_of(comment: Option<&str>) -> Result<Option<String>, Error> {
    let Some(comment) = comment.map(str::trim).filter(|c| !c.is_empty()) else {
        return Ok(None);
    };
    let chars = comment.chars().count();
    if chars > MAX_COMMENT_CHARS {
        return Err(Error::invalid(
            "comment_too_long",
            format!("comment has {chars} characters; at most {MAX_COMMENT_CHARS}"),
        ));
    }
    Ok(Some(comment.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_score_is_a_whole_number_from_one_to_five() {
        for ok in 1..=5 {
            assert_eq!(score_of(Some(&json!(ok))).unwrap(), ok as u8);
        }
        for bad in [
            json!(0),
            json!(6),
            json!(4.5),
            json!("5"),
            json!(-1),
            json!(null),
        ] {
            let e = score_of(Some(&bad)).unwrap_err();
            assert_eq!(e.code, "invalid_score", "{bad}");
            assert!(e.message.starts_with("score "), "{}", e.message);
        }
        assert_eq!(score_of(None).unwrap_err().code, "invalid_score");
    }

    #[test]
    fn comments_are_trimmed_blank_is_none_and_long_ones_are_refused() {
        assert_eq!(
            comment_of(Some("  ótimo ")).unwrap().as_deref(),
            Some("ótimo")
        );
        assert_eq!(comment_of(Some("   ")).unwrap(), None);
        let limit = "é".repeat(MAX_COMMENT_CHARS);
        assert_eq!(comment_of(Some(&limit)).unwrap(), Some(limit.clone()));
        let e = comment_of(Some(&format!("{limit}x"))).unwrap_err();
        assert_eq!(e.code, "comment_too_long");
        assert!(e.message.contains("1000"), "{}", e.message);
    }
}
