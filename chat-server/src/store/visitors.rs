//! What the store keeps for "when no one is there" (chat-api-v1, v1.1): a visitor's contact
//! details, given in the widget's offline form or before asking for a transcript by mail.

/// A change to a visitor; `None` leaves a field as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VisitorPatch {
    pub name: Option<String>,
    pub email: Option<String>,
}

/// A visitor asked for the conversation's transcript by mail (`POST …/transcript/email`); it is
/// sent when the conversation is resolved. One per conversation: asking again replaces it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TranscriptRequest {
    pub conversation_id: String,
    /// Where it goes: the visitor's email when it asked.
    pub email: String,
    pub requested_at: chrono::DateTime<chrono::Utc>,
}
