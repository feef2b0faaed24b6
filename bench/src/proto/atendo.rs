//! Atendo's chat contract (chat-api-v1): rooms are conversations, joining is `subscribe` (which
//! replays what was missed after `after_seq`), publishing is `send`, answered by `ack`.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::json;

use super::{Incoming, ProtoError, Protocol, Room};

pub struct Atendo;

#[derive(Deserialize)]
struct MessageFrame<'a> {
    #[serde(borrow)]
    message: MessageFields<'a>,
}

#[derive(Deserialize)]
struct MessageFields<'a> {
    seq: u64,
    #[serde(borrow)]
    body: Cow<'a, str>,
}

#[derive(Deserialize)]
struct Typed<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default, borrow)]
    client_msg_id: Option<Cow<'a, str>>,
}

impl Protocol for Atendo {
    fn path(&self, room: &Room) -> String {
        format!(
            "/api/v1/ws?token={}",
            room.token.as_deref().unwrap_or_default()
        )
    }

    fn greeting(&self) -> Option<String> {
        None
    }

    fn join(&self, room: &Room, after_seq: u64) -> String {
        json!({"type": "subscribe", "conversation_id": room.name, "after_seq": after_seq})
            .to_string()
    }

    fn publish(&self, room: &Room, id: u64, body: &str) -> String {
        json!({"type": "send", "conversation_id": room.name, "client_msg_id": format!("p{id}"), "body": body})
            .to_string()
    }

    fn pong(&self) -> Option<&'static str> {
        // Atendo relies on WebSocket ping/pong frames, which the client library answers.
        None
    }

    fn parse<'a>(&self, frame: &'a str) -> Result<Incoming<'a>, ProtoError> {
        // The server writes the tag first, so the hot case is recognised without a second parse.
        if frame.starts_with(r#"{"type":"message""#) {
            let m: MessageFrame<'a> = serde_json::from_str(frame)
                .map_err(|e| ProtoError::new(format!("bad message frame: {e}"), frame))?;
            return Ok(Incoming::Delivered {
                seq: Some(m.message.seq),
                body: m.message.body,
            });
        }
        let t: Typed<'a> = serde_json::from_str(frame)
            .map_err(|e| ProtoError::new(format!("not a typed JSON frame: {e}"), frame))?;
        Ok(match t.kind.as_ref() {
            "message" => {
                let m: MessageFrame<'a> = serde_json::from_str(frame)
                    .map_err(|e| ProtoError::new(format!("bad message frame: {e}"), frame))?;
                Incoming::Delivered {
                    seq: Some(m.message.seq),
                    body: m.message.body,
                }
            }
            "subscribed" => Incoming::Joined,
            "ack" => {
                let id = t
                    .client_msg_id
                    .as_deref()
                    .and_then(|c| c.strip_prefix('p'))
                    .and_then(|n| n.parse().ok())
                    .ok_or_else(|| {
                        ProtoError::new("ack for a client_msg_id the tool never sent", frame)
                    })?;
                Incoming::Acked { id }
            }
            "error" => Incoming::Rejected(frame.to_string()),
            _ => Incoming::Other,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_subscribed_ack_and_error_frames_are_told_apart() {
        let p = Atendo;
        let m = r#"{"type":"message","message":{"id":"m1","conversation_id":"c1","seq":3,"client_msg_id":"p3","author":{"kind":"visitor","id":"v1"},"body":"3.99.xx","attachments":[],"created_at":"2025-01-01T00:00:00Z"}}"#;
        assert_eq!(
            p.parse(m).unwrap(),
            Incoming::Delivered {
                seq: Some(3),
                body: "3.99.xx".into()
            }
        );
        assert_eq!(
            p.parse(r#"{"type":"subscribed","conversation_id":"c1","last_seq":0}"#)
                .unwrap(),
            Incoming::Joined
        );
        assert_eq!(
            p.parse(r#"{"type":"ack","client_msg_id":"p12","message":{}}"#)
                .unwrap(),
            Incoming::Acked { id: 12 }
        );
        assert!(matches!(
            p.parse(r#"{"type":"error","code":"forbidden","message":"no"}"#)
                .unwrap(),
            Incoming::Rejected(_)
        ));
        assert_eq!(p.parse(r#"{"type":"pong"}"#).unwrap(), Incoming::Other);
        assert!(p.parse("not json").is_err());
    }

    #[test]
    fn frames_the_tool_sends_follow_the_contract() {
        let room = Room {
            index: 0,
            name: "c1".into(),
            token: Some("t".into()),
        };
        let p = Atendo;
        assert_eq!(p.path(&room), "/api/v1/ws?token=t");
        let join: serde_json::Value = serde_json::from_str(&p.join(&room, 5)).unwrap();
        assert_eq!(
            join,
            json!({"type":"subscribe","conversation_id":"c1","after_seq":5})
        );
        let send: serde_json::Value = serde_json::from_str(&p.publish(&room, 2, "b")).unwrap();
        assert_eq!(
            send,
            json!({"type":"send","conversation_id":"c1","client_msg_id":"p2","body":"b"})
        );
    }
}
