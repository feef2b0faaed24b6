//! An S3 stand-in: moto's server (PyPI `moto[server]`) on 127.0.0.1. It accepts any
//! credentials; create the buckets you need with a unique name (`crate::unique`).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::process::{ChildGuard, free_port, wait_for_port};
use crate::redis::locate_binary;

pub struct S3 {
    /// `http://127.0.0.1:PORT`, for path-style requests.
    pub endpoint: String,
    _guard: Option<ChildGuard>,
}

/// The run-wide moto from `ATENDO_TEST_S3_URL` (set by `scripts/test.sh`), else a new one for
/// the caller. Panics with the reason when neither is possible.
pub fn s3() -> S3 {
    if let Ok(endpoint) = std::env::var("ATENDO_TEST_S3_URL") {
        return S3 {
            endpoint: endpoint.trim_end_matches('/').to_string(),
            _guard: None,
        };
    }
    spawn_s3().unwrap_or_else(|e| panic!("{e:#}"))
}

/// A moto server owned by the caller (stopped when the value drops).
pub fn spawn_s3() -> anyhow::Result<S3> {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/moto_server");
    let binary = locate_binary(
        "moto_server",
        "MOTO_SERVER",
        &[venv],
        "run scripts/test.sh once (it creates .venv), or `python3 -m venv .venv && \
         .venv/bin/pip install 'moto[server]==5.2.5'`, or set MOTO_SERVER",
    )?;
    let mut last_error = None;
    for _ in 0..3 {
        let port = free_port();
        let mut command = Command::new(&binary);
        command
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            // One log line per request; nobody reads them.
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let attempt = ChildGuard::spawn("moto_server", &mut command).and_then(|mut guard| {
            // Python start-up plus moto's imports take a few seconds on a busy machine.
            wait_for_port(&mut guard, port, Duration::from_secs(60))?;
            Ok(guard)
        });
        match attempt {
            Ok(guard) => {
                return Ok(S3 {
                    endpoint: format!("http://127.0.0.1:{port}"),
                    _guard: Some(guard),
                });
            }
            Err(e) => last_error = Some(e),
        }
    }
    Err(last_error.expect("three attempts were made"))
}
