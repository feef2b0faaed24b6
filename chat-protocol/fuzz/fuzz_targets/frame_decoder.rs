//! The websocket frame decoder (`delivery::session::parse`) on arbitrary text: it never panics,
//! every refusal is a client error with a message, and every frame it accepts survives a round
//! trip through its own serialization unchanged.
#![no_main]

use chat_server::delivery::session::parse;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Text frames are UTF-8 by the websocket protocol; tungstenite rejects anything else first.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse(text) {
        Ok(frame) => {
            let again = serde_json::to_string(&frame).expect("an accepted frame serializes");
            let back = parse(&again).unwrap_or_else(|(e, _)| {
                panic!("re-parsing {again:?} (from {text:?}) failed: {e}")
            });
            assert_eq!(back, frame, "round trip of {text:?}");
        }
        Err((e, _)) => {
            assert!(e.status.is_client_error(), "{text:?} -> {e}");
            assert!(
                !e.message.is_empty(),
                "{text:?}: an error names what is wrong"
            );
        }
    }
});
