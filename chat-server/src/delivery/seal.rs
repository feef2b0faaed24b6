//! The bus payload format, and the MAC that keeps anyone without the deployment's signing key
//! from speaking on the bus. This is the one place the format is defined.
//!
//! ```text
//! payload = "v1." mac "." frame
//! frame   = the server frame as clients receive it (JSON text, `ServerFrame::to_text`)
//! mac     = base64url, unpadded (43 characters), of
//!           HMAC-SHA256(bus_key, u32_be(len(topic)) || topic || frame)
//! bus_key = HMAC-SHA256(key = CHAT_SIGNING_KEY, message = "atendo bus v1")
//! ```
//!
//! Why this shape:
//! - A separate `bus_key`: the signing key also signs tokens; deriving a key per purpose means a
//!   MAC computed here can never be mistaken for, or help forge, a token signature.
//! - The topic (without the deployment's namespace) is inside the MAC, so a genuine payload
//!   copied onto another conversation's topic is refused. A payload replayed on its own topic is
//!   not: a replayed message carries a seq already delivered and is dropped as a duplicate; a
//!   replayed typing or presence frame shows stale state until the next one (accepted).
//! - A prefix rather than a JSON wrapper: the hub verifies, then hands sockets the frame as a
//!   slice of the payload it received (no re-encoding, no copy), and a legacy unsigned frame
//!   (`{...}`) is told apart by its first byte.
//!
//! Cost: one HMAC per publish and one per bus payload per process (not per socket). The keyed
//! state is computed once and cloned per use, so each MAC is two SHA-256 passes over the data.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use hmac::{Hmac, Mac};
use sha2::Sha256;

const VERSION: &[u8] = b"v1.";
const MAC_CHARS: usize = 43;
const HEADER: usize = VERSION.len() + MAC_CHARS + 1;
const KEY_LABEL: &[u8] = b"atendo bus v1";

/// Why a payload was refused; the label of `chat_bus_rejected_total{reason}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rejected {
    /// No envelope at all: a bare frame, as an older build or a raw `PUBLISH` sends.
    Unsigned,
    /// An envelope whose MAC is not this deployment's (another key, or a changed body/topic).
    BadMac,
    /// An envelope that cannot be read (unknown version, truncated, MAC not base64).
    Malformed,
}

impl Rejected {
    pub fn label(self) -> &'static str {
        match self {
            Self::Unsigned => "unsigned",
            Self::BadMac => "bad_mac",
            Self::Malformed => "malformed",
        }
    }
}

/// Seals and opens bus payloads with the key derived from one signing key.
#[derive(Clone)]
pub struct BusSeal {
    keyed: Hmac<Sha256>,
}

impl BusSeal {
    pub fn new(signing_key: &[u8]) -> Self {
        let mut derive =
            Hmac::<Sha256>::new_from_slice(signing_key).expect("HMAC accepts keys of any length");
        derive.update(KEY_LABEL);
        let bus_key = derive.finalize().into_bytes();
        Self {
            keyed: Hmac::<Sha256>::new_from_slice(&bus_key)
                .expect("HMAC accepts keys of any length"),
        }
    }

    fn mac(&self, topic: &str, frame: &[u8]) -> Hmac<Sha256> {
        let mut mac = self.keyed.clone();
        // Length-prefixed, so no topic/frame split of the same bytes gives the same MAC.
        mac.update(&(topic.len() as u32).to_be_bytes());
        mac.update(topic.as_bytes());
        mac.update(frame);
        mac
    }

    /// The payload to publish on `topic` for `frame`.
    pub fn seal(&self, topic: &str, frame: &str) -> Bytes {
        let tag = self.mac(topic, frame.as_bytes()).finalize().into_bytes();
        let mut out = Vec::with_capacity(HEADER + frame.len());
        out.extend_from_slice(VERSION);
        out.extend_from_slice(URL_SAFE_NO_PAD.encode(tag).as_bytes());
        out.push(b'.');
        out.extend_from_slice(frame.as_bytes());
        Bytes::from(out)
    }

    /// The frame inside `payload` if this deployment sealed it for `topic` (a slice of
    /// `payload`, not a copy). Compares MACs in constant time.
    pub fn open(&self, topic: &str, payload: &Bytes) -> Result<Bytes, Rejected> {
        if !payload.starts_with(b"v") {
            return Err(Rejected::Unsigned);
        }
        if payload.len() < HEADER || !payload.starts_with(VERSION) || payload[HEADER - 1] != b'.' {
            return Err(Rejected::Malformed);
        }
        // One spare byte: the decoder sizes its output by a conservative estimate.
        let mut tag = [0u8; 33];
        match URL_SAFE_NO_PAD.decode_slice(&payload[VERSION.len()..HEADER - 1], &mut tag) {
            Ok(32) => {}
            _ => return Err(Rejected::Malformed),
        }
        let frame = payload.slice(HEADER..);
        self.mac(topic, &frame)
            .verify_slice(&tag[..32])
            .map_err(|_| Rejected::BadMac)?;
        Ok(frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRAME: &str = r#"{"type":"message","message":{"seq":1}}"#;

    #[test]
    fn a_sealed_frame_opens_to_itself_on_its_topic() {
        let seal = BusSeal::new(b"k".repeat(40).as_slice());
        let payload = seal.seal("conv.c1", FRAME);
        assert_eq!(payload.len(), HEADER + FRAME.len());
        assert_eq!(seal.open("conv.c1", &payload).unwrap(), FRAME.as_bytes());
    }

    #[test]
    fn another_key_another_topic_or_a_changed_frame_is_a_bad_mac() {
        let seal = BusSeal::new(b"k".repeat(40).as_slice());
        let payload = seal.seal("conv.c1", FRAME);
        let other = BusSeal::new(b"j".repeat(40).as_slice());
        assert_eq!(other.open("conv.c1", &payload), Err(Rejected::BadMac));
        assert_eq!(seal.open("conv.c2", &payload), Err(Rejected::BadMac));
        let mut changed = payload.to_vec();
        *changed.last_mut().unwrap() = b' ';
        assert_eq!(
            seal.open("conv.c1", &Bytes::from(changed)),
            Err(Rejected::BadMac)
        );
    }

    #[test]
    fn bare_truncated_or_garbled_envelopes_are_told_apart() {
        let seal = BusSeal::new(b"k".repeat(40).as_slice());
        let open = |p: &[u8]| seal.open("t", &Bytes::copy_from_slice(p));
        assert_eq!(open(FRAME.as_bytes()), Err(Rejected::Unsigned));
        assert_eq!(open(b""), Err(Rejected::Unsigned));
        assert_eq!(open(b"v1.short"), Err(Rejected::Malformed));
        let payload = seal.seal("t", FRAME);
        let mut v2 = payload.to_vec();
        v2[1] = b'2';
        assert_eq!(open(&v2), Err(Rejected::Malformed));
        let mut not_base64 = payload.to_vec();
        not_base64[5] = b'*';
        assert_eq!(open(&not_base64), Err(Rejected::Malformed));
    }

    #[test]
    fn the_bus_key_is_derived_not_the_signing_key_itself() {
        let key = b"k".repeat(40);
        let seal = BusSeal::new(&key);
        let mut direct = Hmac::<Sha256>::new_from_slice(&key).unwrap();
        direct.update(&(1u32).to_be_bytes());
        direct.update(b"t");
        direct.update(FRAME.as_bytes());
        let direct = URL_SAFE_NO_PAD.encode(direct.finalize().into_bytes());
        let sealed = seal.seal("t", FRAME);
        assert_ne!(&sealed[VERSION.len()..HEADER - 1], direct.as_bytes());
    }

    /// Prints what one seal and one open cost on a typical message frame (no timed assertion:
    /// the figure goes to docs/security.md); every round trip must still open to its frame.
    #[test]
    fn sealing_and_opening_a_typical_message_frame_round_trips_and_its_cost_is_printed() {
        let seal = BusSeal::new(b"k".repeat(48).as_slice());
        let frame = format!(
            r#"{{"type":"message","message":{{"id":"m1","conversation_id":"c1","seq":7,"author":{{"kind":"agent","id":"a1"}},"body":"{}","attachments":[],"created_at":"2026-01-01T00:00:00Z"}}}}"#,
            "x".repeat(300)
        );
        const N: u32 = 20_000;
        let started = std::time::Instant::now();
        let payloads: Vec<Bytes> = (0..N).map(|_| seal.seal("conv.c1", &frame)).collect();
        let sealed = started.elapsed();
        let started = std::time::Instant::now();
        for p in &payloads {
            assert_eq!(seal.open("conv.c1", p).unwrap().len(), frame.len());
        }
        let opened = started.elapsed();
        eprintln!(
            "{}-byte frame: seal {:?} each, open {:?} each (this build's profile)",
            frame.len(),
            sealed / N,
            opened / N
        );
    }
}
