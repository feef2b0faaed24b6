//! What the store keeps for "when no one is there" (chat-api-v1, v1.1): a visitor's contact
//! details, given in the widget's offline form or before asking for a transcript by mail.

/// A change to a visitor; `None` leaves a field as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VisitorPatch {
    pub name: Option<String>,
    pub email: Option<String>,
}
