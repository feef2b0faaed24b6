//! Atendo chat-server: one tenant's visitors and agents, several replicas sharing a store and a bus.
//!
//! Where things live:
//! - `api`: the HTTP surface (`app(state) -> Router`), REST handlers, the websocket upgrade and
//!   what each client frame means (`api/ws/commands.rs`); the only place errors become statuses;
//! - `chat`: the use cases, one file per capability (who may do what; store, then publish);
//! - `error`: the core's error type, free of HTTP; `fields`: the email and name rules every
//!   module shares;
//! - `delivery`: how a stored message reaches sockets (publish to the bus, per-process hub,
//!   the gap-free subscribe algorithm, the per-socket session); it never calls the use cases;
//! - `store`, `bus`, `uploads`: traits for the outside world and their implementations;
//! - `auth`: tokens, passwords, OIDC;
//! - `limits`: rate limits against abuse (per address, account and token principal);
//! - `mail`: SMTP settings, the transport and the durable outbox's sender;
//! - `server`: start-up and graceful shutdown; `http`: the listener and its timeouts; `heap`:
//!   freed memory handed back to the kernel when the process goes quiet;
//! - `web`: the agent console, the visitor widget and the branding they read.

pub mod api;
pub mod auth;
pub mod backup;
pub mod bus;
pub mod chat;
pub mod config;
pub mod delivery;
pub mod error;
pub mod fields;
pub mod heap;
pub mod http;
pub mod limits;
pub mod mail;
pub mod metrics;
pub mod model;
/// The websocket frames live in their own crate (shared with clients and fuzzed without the
/// server's dependencies); `crate::protocol` keeps the paths the server has always used.
pub use chat_protocol as protocol;
pub mod server;
pub mod store;
pub mod uploads;
pub mod web;
pub mod webhooks;
