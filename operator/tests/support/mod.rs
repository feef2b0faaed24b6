//! Test support for the controller: the API fake and in-memory providers.
#![allow(dead_code)] // each test binary uses its own subset

pub mod atlas;
pub mod bus_conformance;
pub mod database_conformance;
pub mod elasticache;
pub mod fake_api;
pub mod faults;
pub mod providers;
