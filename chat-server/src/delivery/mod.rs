//! How a stored message reaches every socket that wants it.
//!
//! - [`publish`]: after the store commit, a frame is published on the bus;
//! - [`seal`]: the bus payload format and its MAC;
//! - [`hub`]: each process's single bus subscription per topic, verified and fanned out to sessions;
//! - [`subscription`]: the gap-free replay-then-live algorithm (read its top comment);
//! - [`session`]: one websocket, its bounded queue and its close codes;
//! - [`followed`]: the conversations one socket follows, small for the common single one;
//! - [`commands`]: what a session asks of the chat for each client frame (the websocket edge
//!   answers it), so delivery never reaches into the use cases;
//! - [`catch_up`]: the store reads of replay and gap fills, shared between sessions;
//! - [`signed_in`]: open sockets by token, so a revocation (or the shutdown) closes them;
//! - [`alarm`]: why a session must end, raised from outside it (hub, revocation, shutdown);
//! - [`inbox`]: a session's queue of hub items and its alarm, allocated only when used;
//! - [`presence`]: which agents have sockets on any replica, merged from the replicas'
//!   announcements and told to this replica's agent sockets.

pub mod alarm;
pub mod catch_up;
pub mod commands;
pub mod followed;
pub mod hub;
pub mod inbox;
pub mod presence;
pub mod publish;
pub mod seal;
pub mod session;
pub mod signed_in;
pub mod subscription;

use std::sync::Arc;

use crate::metrics::Metrics;

/// The delivery objects of one process, owned here and handed to each session.
pub struct Delivery {
    pub hub: Arc<hub::Hub>,
    pub publisher: publish::Publisher,
    /// Store reads for replay and gap fills, shared by sessions asking for the same page.
    pub catch_up: catch_up::CatchUp,
    pub metrics: Arc<Metrics>,
    pub signed_in: Arc<signed_in::SignedIn>,
}
