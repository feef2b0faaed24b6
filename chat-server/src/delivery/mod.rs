//! How a stored message reaches every socket that wants it.
//!
//! - [`publish`]: after the store commit, a frame is published on the bus;
//! - [`seal`]: the bus payload format and its MAC;
//! - [`hub`]: each process's single bus subscription per topic, verified and fanned out to sessions;
//! - [`subscription`]: the gap-free replay-then-live algorithm (read its top comment);
//! - [`session`]: one websocket, its bounded queue and its close codes;
//! - [`catch_up`]: the store reads of replay and gap fills, shared between sessions.

pub mod catch_up;
pub mod hub;
pub mod publish;
pub mod seal;
pub mod session;
pub mod subscription;
