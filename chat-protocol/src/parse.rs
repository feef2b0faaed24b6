//! Client frames from text, telling malformed JSON, unknown types and invalid fields apart.

use crate::ClientFrame;

/// Why a client frame was refused: the error frame's `code` and `message`, and the frame's
/// `client_msg_id` (if it had one) for the error frame's `ref`. Every refusal is the client's
/// fault; the server answers it with an error frame and keeps the connection.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct FrameError {
    /// `malformed_frame`, `unknown_type` or `invalid_frame`.
    pub code: &'static str,
    pub message: String,
    pub reference: Option<String>,
}

impl FrameError {
    fn new(code: &'static str, message: impl Into<String>, reference: Option<String>) -> Self {
        Self {
            code,
            message: message.into(),
            reference,
        }
    }
}

/// The frame types a client may send, in the order the contract lists them.
const KNOWN: [&str; 7] = [
    "subscribe",
    "unsubscribe",
    "send",
    "typing",
    "read",
    "presence",
    "ping",
];

/// Parses one text frame into a [`ClientFrame`].
pub fn parse(text: &str) -> Result<ClientFrame, FrameError> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        FrameError::new(
            "malformed_frame",
            format!("frame is not valid JSON: {e}"),
            None,
        )
    })?;
    let reference = value
        .get("client_msg_id")
        .and_then(|v| v.as_str())
        .map(str::to_string);
    let Some(kind) = value
        .get("type")
        .and_then(|t| t.as_str())
        .map(str::to_string)
    else {
        return Err(FrameError::new(
            "malformed_frame",
            "frame must be a JSON object with a string \"type\"",
            reference,
        ));
    };
    if !KNOWN.contains(&kind.as_str()) {
        return Err(FrameError::new(
            "unknown_type",
            format!(
                "unknown frame type {kind:?}; expected one of {}",
                KNOWN.join(", ")
            ),
            reference,
        ));
    }
    serde_json::from_value(value).map_err(|e| {
        FrameError::new(
            "invalid_frame",
            format!("invalid {kind} frame: {e}"),
            reference,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn malformed_unknown_and_invalid_frames_get_distinct_codes() {
        assert_eq!(parse("{nope").unwrap_err().code, "malformed_frame");
        assert_eq!(parse("[1]").unwrap_err().code, "malformed_frame");
        assert_eq!(
            parse(r#"{"type":"dance"}"#).unwrap_err().code,
            "unknown_type"
        );
        let e = parse(r#"{"type":"send","client_msg_id":"c1"}"#).unwrap_err();
        assert_eq!(e.code, "invalid_frame");
        assert!(e.message.contains("conversation_id"), "{}", e.message);
        assert_eq!(e.reference.as_deref(), Some("c1"));
    }
}
