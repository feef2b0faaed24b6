//! chat-bench: measures Atendo's chat-server side by side with Socket.IO + `@socket.io/redis-adapter`
//! on the same machine, with one client, one clock and one way of counting for both.
//!
//! - `proto`: the adapter between the tool and a system (framing of each protocol);
//! - `net`, `client`: many sockets from many source addresses; subscribers and publishers;
//! - `record`: HDR latency histograms, message numbering, loss and duplicate counting;
//! - `cluster`: Redis and the server replicas as child processes; `sys`: /proc figures;
//! - `threads`: the subscribers' own single-threaded runtimes, one per core;
//! - `scenario`: the five scenarios; `worker`: child processes holding idle connections;
//! - `results`, `report`, `plot`: the results file, its Markdown tables and PNG charts;
//! - `smoke`: every scenario at tiny scale, for CI.

pub mod cli;
pub mod client;
pub mod cluster;
pub mod net;
pub mod plot;
pub mod proto;
pub mod record;
pub mod report;
pub mod results;
pub mod scenario;
pub mod smoke;
pub mod sys;
pub mod syscalls;
pub mod threads;
pub mod worker;
