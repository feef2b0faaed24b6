//! Atendo chat-server: one tenant's visitors and agents, several replicas sharing a store and a bus.
//!
//! Where things live:
//! - `api`: the HTTP surface (`app(state) -> Router`), REST handlers and the websocket upgrade;
//! - `delivery`: how a stored message reaches sockets (publish to the bus, per-process hub,
//!   the gap-free subscribe algorithm, the per-socket session);
//! - `store`, `bus`, `uploads`: traits for the outside world and their implementations;
//! - `auth`: tokens, passwords, OIDC.

pub mod bus;
pub mod config;
pub mod model;
pub mod store;
pub mod uploads;
