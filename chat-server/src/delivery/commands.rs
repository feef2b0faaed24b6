//! The port between a websocket session and the chat: the session owns the socket, its
//! subscriptions and its queue; for each client frame it asks [`Commands`] what the frame means
//! and does what the [`Outcome`] says.

use async_trait::async_trait;

use crate::auth::Principal;
use crate::error::Error;
use crate::protocol::{ClientFrame, ServerFrame};

/// What a client frame comes to, as far as the session is concerned.
pub enum Outcome {
    Done,
    /// Write this frame back to the client (an ack, a pong).
    Reply(ServerFrame),
    /// The caller may read this conversation: join its topic and replay after `after_seq`.
    Subscribe {
        conversation_id: String,
        after_seq: u64,
    },
    Unsubscribe {
        conversation_id: String,
    },
    /// An error frame, with the frame's `client_msg_id` as `ref` when it had one.
    Refused(Error, Option<String>),
}

#[async_trait]
pub trait Commands: Send + Sync + 'static {
    /// The socket is open (and, for an agent, listening to the agents topic).
    async fn opened(&self, who: &Principal);
    /// The socket is gone.
    async fn closed(&self, who: &Principal);
    async fn handle(&self, who: &Principal, frame: ClientFrame) -> Outcome;
}
