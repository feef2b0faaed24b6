//! The chat-server's settings contract: the name of every `CHAT_*` environment variable
//! ([`names`]) and the rules a value must meet to be accepted ([`rules`]).
//!
//! Why a crate of its own: the operator writes these variables into each tenant's ConfigMap,
//! Secrets and Deployment, the Tenant validation (and the CRD's CEL rules beside it) decides what
//! a platform team may ask for, and the chat-server reads them at start. Each used to keep its own
//! copy of the names and checks, and a test compared them by reading `config.rs` as text. With one
//! crate, a renamed or removed setting fails to compile wherever it is still used, and a value the
//! Tenant validation accepts is one the chat-server starts on, because both run the same function.
//! It depends on serde, serde_json and chrono with its tz database (for [`business_hours`]: a time
//! zone the Tenant validation accepts must be one the chat-server knows) and nothing heavier, so
//! `tenant-api`'s fuzz build stays light.

pub mod business_hours;
pub mod names;
pub mod origins;
pub mod rules;

pub use rules::Locale;
