//! The minimal Engine.IO v4 / Socket.IO v5 client framing over a plain WebSocket:
//! `0{…}` open, `40` namespace connect, `42[event,…]` events, `43<id>[…]` acks, and the
//! server's `2` ping answered by `3`. Only what the peer in `bench/peers/socketio` speaks.
//!
//! Acks carry the id written after the packet type; the tool uses id 0 for `join` and the
//! publish number (from 1) for `publish`.

use std::borrow::Cow;

use super::{Incoming, ProtoError, Protocol, Room};

pub struct SocketIo;

const JOIN_ACK: u64 = 0;

fn quoted(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

impl Protocol for SocketIo {
    fn path(&self, _room: &Room) -> String {
        "/socket.io/?EIO=4&transport=websocket".to_string()
    }

    fn greeting(&self) -> Option<String> {
        Some("40".to_string())
    }

    fn join(&self, room: &Room, _after_seq: u64) -> String {
        // Socket.IO rooms keep no history, so there is nothing to ask for after a seq.
        format!("42{JOIN_ACK}[\"join\",{}]", quoted(&room.name))
    }

    fn publish(&self, room: &Room, id: u64, body: &str) -> String {
        format!(
            "42{id}[\"publish\",{},{}]",
            quoted(&room.name),
            quoted(body)
        )
    }

    fn pong(&self) -> Option<&'static str> {
        Some("3")
    }

    fn parse<'a>(&self, frame: &'a str) -> Result<Incoming<'a>, ProtoError> {
        if let Some(event) = frame.strip_prefix("42") {
            let (name, _room, body): (Cow<'a, str>, Cow<'a, str>, Cow<'a, str>) =
                serde_json::from_str(event)
                    .map_err(|e| ProtoError::new(format!("bad event packet: {e}"), frame))?;
            return match name.as_ref() {
                "message" => Ok(Incoming::Delivered { seq: None, body }),
                _ => Ok(Incoming::Other),
            };
        }
        if let Some(ack) = frame.strip_prefix("43") {
            let digits = ack.bytes().take_while(u8::is_ascii_digit).count();
            let id: u64 = ack[..digits]
                .parse()
                .map_err(|_| ProtoError::new("ack without an id", frame))?;
            if ack[digits..].contains("\"error\"") {
                return Ok(Incoming::Rejected(frame.to_string()));
            }
            return Ok(if id == JOIN_ACK {
                Incoming::Joined
            } else {
                Incoming::Acked { id }
            });
        }
        Ok(match frame {
            "2" => Incoming::Ping,
            f if f.starts_with("40") => Incoming::Ready,
            f if f.starts_with("41") => Incoming::Rejected("disconnected by the server".into()),
            f if f.starts_with("44") => Incoming::Rejected(format!("connect error: {f}")),
            "1" => Incoming::Rejected("Engine.IO close".into()),
            _ => Incoming::Other,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_and_socket_packets_are_told_apart() {
        let p = SocketIo;
        assert_eq!(
            p.parse(r#"0{"sid":"x","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#)
                .unwrap(),
            Incoming::Other
        );
        assert_eq!(p.parse(r#"40{"sid":"y"}"#).unwrap(), Incoming::Ready);
        assert_eq!(p.parse("2").unwrap(), Incoming::Ping);
        assert_eq!(p.parse(r#"430["ok"]"#).unwrap(), Incoming::Joined);
        assert_eq!(
            p.parse(r#"4317["ok"]"#).unwrap(),
            Incoming::Acked { id: 17 }
        );
        assert!(matches!(
            p.parse(r#"431[{"error":"no"}]"#).unwrap(),
            Incoming::Rejected(_)
        ));
        assert_eq!(
            p.parse(r#"42["message","r1","5.77.xx"]"#).unwrap(),
            Incoming::Delivered {
                seq: None,
                body: "5.77.xx".into()
            }
        );
        assert!(matches!(p.parse("41").unwrap(), Incoming::Rejected(_)));
        assert!(p.parse("42[1]").is_err());
    }

    #[test]
    fn join_and_publish_carry_their_ack_ids() {
        let room = Room {
            index: 0,
            name: "r\"1".into(),
            token: None,
        };
        let p = SocketIo;
        assert_eq!(p.join(&room, 9), r#"420["join","r\"1"]"#);
        assert_eq!(p.publish(&room, 3, "b"), r#"423["publish","r\"1","b"]"#);
    }
}
