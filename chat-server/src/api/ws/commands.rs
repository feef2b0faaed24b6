//! What each client frame means, answered by the chat's use cases: the websocket's twin of the
//! REST handlers.

use std::sync::Arc;

use async_trait::async_trait;

use crate::auth::Principal;
use crate::chat::Chat;
use crate::delivery::commands::{Commands, Outcome};
use crate::error::Error;
use crate::protocol::{ClientFrame, PresenceState, ServerFrame};

pub struct ChatCommands(pub Arc<Chat>);

#[async_trait]
impl Commands for ChatCommands {
    async fn opened(&self, who: &Principal) {
        if let Principal::Agent { id, .. } = who {
            self.0.agent_connected(id, true).await;
        }
    }

    async fn closed(&self, who: &Principal) {
        if let Principal::Agent { id, .. } = who {
            self.0.agent_connected(id, false).await;
        }
    }

    async fn handle(&self, who: &Principal, frame: ClientFrame) -> Outcome {
        let chat = &self.0;
        let refused = |e: Error| Outcome::Refused(e, None);
        match frame {
            ClientFrame::Ping => Outcome::Reply(ServerFrame::Pong),
            ClientFrame::Subscribe {
                conversation_id,
                after_seq,
            } => match chat.authorize(who, &conversation_id).await {
                Ok(_) => Outcome::Subscribe {
                    conversation_id,
                    after_seq: after_seq.unwrap_or(0),
                },
                Err(e) => refused(e),
            },
            ClientFrame::Unsubscribe { conversation_id } => {
                Outcome::Unsubscribe { conversation_id }
            }
            ClientFrame::Send {
                conversation_id,
                client_msg_id,
                body,
                attachments,
                private,
            } => {
                match chat
                    .send_as(
                        who,
                        &conversation_id,
                        Some(client_msg_id.clone()),
                        body,
                        &attachments,
                        private,
                    )
                    .await
                {
                    Ok(appended) => Outcome::Reply(ServerFrame::Ack {
                        client_msg_id,
                        message: appended.into_message(),
                    }),
                    Err(e) => Outcome::Refused(e, Some(client_msg_id)),
                }
            }
            ClientFrame::Typing {
                conversation_id,
                state,
            } => done(chat.typing(who, &conversation_id, state).await),
            ClientFrame::Read {
                conversation_id,
                seq,
            } => done(chat.read(who, &conversation_id, seq).await),
            ClientFrame::Presence { state } => match (who, state) {
                (Principal::Agent { id, .. }, PresenceState::Online | PresenceState::Away) => {
                    chat.set_presence(id, state).await;
                    Outcome::Done
                }
                (Principal::Agent { .. }, PresenceState::Offline) => refused(Error::invalid(
                    "invalid_presence",
                    "set online or away; offline follows from disconnecting",
                )),
                _ => refused(Error::forbidden("only agents have presence")),
            },
        }
    }
}

fn done(result: Result<(), Error>) -> Outcome {
    match result {
        Ok(()) => Outcome::Done,
        Err(e) => Outcome::Refused(e, None),
    }
}
