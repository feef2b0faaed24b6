//! The websocket frame parser (`chat_protocol::parse`) on arbitrary text: it never panics, every
//! refusal carries one of the three contract codes, a message and the frame's `client_msg_id`,
//! and every frame it accepts survives a round trip through its own serialization unchanged.
#![no_main]

use chat_protocol::parse;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Text frames are UTF-8 by the websocket protocol; tungstenite rejects anything else first.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse(text) {
        Ok(frame) => {
            let again = serde_json::to_string(&frame).expect("an accepted frame serializes");
            let back = parse(&again)
                .unwrap_or_else(|e| panic!("re-parsing {again:?} (from {text:?}) failed: {e}"));
            assert_eq!(back, frame, "round trip of {text:?}");
        }
        Err(e) => {
            assert!(
                ["malformed_frame", "unknown_type", "invalid_frame"].contains(&e.code),
                "{text:?} -> unexpected code {e}"
            );
            assert!(
                !e.message.is_empty(),
                "{text:?}: a refusal says what is wrong"
            );
            // The error frame's `ref` is the frame's own client_msg_id, whenever it had one.
            let sent = serde_json::from_str::<serde_json::Value>(text)
                .ok()
                .and_then(|v| v.get("client_msg_id")?.as_str().map(str::to_string));
            assert_eq!(e.reference, sent, "ref of {text:?}");
        }
    }
});
