//! Transcripts: one conversation as a document its reader keeps. Agents get every message,
//! private notes marked as such; a visitor gets its own conversation without any note, in any
//! form (not its body, author, attachments, nor a seq that gives one away).
//!
//! Loading is here; [`render`] turns a [`Transcript`] into JSON, text or HTML without I/O, so
//! the transcript mail renders exactly what the download does.

pub mod render;

use std::str::FromStr;

use super::Chat;
use crate::auth::Principal;
use crate::error::Error;
use crate::model::{Conversation, Message, Visitor, now};
use chrono::{DateTime, Utc};

pub use render::{to_html, to_json, to_text};

/// Messages read from the store per round trip while a transcript is assembled.
const PAGE: u32 = 1000;

/// A conversation as one reader may see it, ready to render.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transcript {
    /// As the reader sees it: for a visitor, `last_seq` counts no note.
    pub conversation: Conversation,
    /// `None` when the visitor record is gone (it is kept as long as its conversations are).
    pub visitor: Option<Visitor>,
    /// Ascending by seq; notes only when `notes` is true.
    pub messages: Vec<Message>,
    /// Whether private notes were included (an agent's transcript).
    pub notes: bool,
    pub generated_at: DateTime<Utc>,
}

/// `?format=` of a transcript download.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Format {
    #[default]
    Json,
    Text,
    Html,
}

impl FromStr for Format {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "json" => Ok(Self::Json),
            "text" | "txt" => Ok(Self::Text),
            "html" => Ok(Self::Html),
            other => Err(Error::invalid(
                "invalid_format",
                format!("format {other:?} is not one of json, text, html"),
            )),
        }
    }
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Json => "application/json",
            Self::Text => "text/plain; charset=utf-8",
            Self::Html => "text/html; charset=utf-8",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Text => "txt",
            Self::Html => "html",
        }
    }

    pub fn render(self, transcript: &Transcript) -> String {
        match self {
            Self::Json => to_json(transcript),
            Self::Text => to_text(transcript),
            Self::Html => to_html(transcript),
        }
    }
}

impl Transcript {
    /// The file name a download is saved as, e.g. `transcript-01jx….txt`.
    pub fn filename(&self, format: Format) -> String {
        format!("transcript-{}.{}", self.conversation.id, format.extension())
    }
}

impl Chat {
    /// The transcript `by` may have: an agent's carries the notes, a visitor's (its own
    /// conversation only) none.
    pub async fn transcript(
        &self,
        by: &Principal,
        conversation_id: &str,
    ) -> Result<Transcript, Error> {
        let conversation = self.authorize(by, conversation_id).await?;
        self.transcript_of(conversation, by.is_agent()).await
    }

    /// The transcript the conversation's visitor may have (no notes), for mail to the visitor.
    pub async fn visitor_transcript(&self, conversation_id: &str) -> Result<Transcript, Error> {
        let conversation = self
            .store
            .conversation(conversation_id)
            .await?
            .ok_or_else(|| Error::not_found(format!("conversation {conversation_id}")))?;
        self.transcript_of(conversation, false).await
    }

    async fn transcript_of(
        &self,
        conversation: Conversation,
        notes: bool,
    ) -> Result<Transcript, Error> {
        let mut messages = Vec::new();
        let mut after = 0;
        loop {
            let page = self
                .store
                .messages_after(&conversation.id, after, PAGE)
                .await?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            let full = page.len() == PAGE as usize;
            messages.extend(page.into_iter().filter(|m| notes || !m.private));
            if !full {
                break;
            }
        }
        let visitor = self.store.visitor(&conversation.visitor.id).await?;
        let conversation = if notes {
            conversation
        } else {
            conversation.as_visitor_sees_it()
        };
        Ok(Transcript {
            conversation,
            visitor,
            messages,
            notes,
            generated_at: now(),
        })
    }
}
