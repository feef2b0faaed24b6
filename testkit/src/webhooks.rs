//! A webhook receiver (script `testkit/scripts/webhook_receiver.py`) on 127.0.0.1 with a port the
//! kernel picks: it verifies every request with the Standard Webhooks reference library (PyPI
//! `standardwebhooks`, which nobody here wrote), can be told to fail (500), to be slower than the
//! sender's timeout, or to recover, and records every request it got as a JSON line. Stopped
//! (SIGKILL) when dropped.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::process::ChildGuard;

pub struct Receiver {
    /// `http://127.0.0.1:PORT/hook`
    pub url: String,
    pub port: u16,
    dir: tempfile::TempDir,
    _guard: ChildGuard,
}

/// How the receiver answers from now on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// 204 when the signature verifies, 400 when not.
    Ok,
    /// 500 to everything.
    Fail,
    /// Waits `slow_secs` (12 s by default: past the sender's 10 s timeout), then as `Ok`.
    Slow,
}

/// Starts a receiver; `slow_secs` is how long [`Mode::Slow`] waits.
pub fn spawn_receiver(slow_secs: f64) -> anyhow::Result<Receiver> {
    let python = crate::smtp::python()?;
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/webhook_receiver.py");
    let dir = tempfile::tempdir()?;
    let path = |name: &str| dir.path().join(name);
    let mut command = Command::new(python);
    command
        .arg(&script)
        .arg("--port-file")
        .arg(path("port"))
        .arg("--secret-file")
        .arg(path("secret"))
        .arg("--mode-file")
        .arg(path("mode"))
        .arg("--record-file")
        .arg(path("received.jsonl"))
        .args(["--slow-secs", &slow_secs.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    let mut guard = ChildGuard::spawn("webhook receiver", &mut command)?;
    let deadline = Instant::now() + Duration::from_secs(30);
    let port = loop {
        if let Some(port) = std::fs::read_to_string(path("port"))
            .ok()
            .and_then(|p| p.trim().parse::<u16>().ok())
        {
            break port;
        }
        guard.ensure_running()?;
        if Instant::now() > deadline {
            anyhow::bail!("the webhook receiver wrote no port within 30 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Ok(Receiver {
        url: format!("http://127.0.0.1:{port}/hook"),
        port,
        dir,
        _guard: guard,
    })
}

impl Receiver {
    fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The endpoint's `whsec_…` secret, which requests are verified with.
    pub fn set_secret(&self, secret: &str) {
        std::fs::write(self.file("secret"), secret).expect("write the receiver's secret");
    }

    pub fn set_mode(&self, mode: Mode) {
        let text = match mode {
            Mode::Ok => "ok",
            Mode::Fail => "fail",
            Mode::Slow => "slow",
        };
        std::fs::write(self.file("mode"), text).expect("write the receiver's mode");
    }

    /// Every request received so far, oldest first, one JSON object per line (see the script).
    pub fn received(&self) -> Vec<String> {
        let text = std::fs::read_to_string(self.file("received.jsonl")).unwrap_or_default();
        // The receiver may be writing a line right now: only whole lines count.
        let whole = text.rfind('\n').map_or("", |end| &text[..end]);
        whole.lines().map(str::to_string).collect()
    }

    /// Waits until `done` holds for the requests received; fails after `timeout`.
    pub fn wait_until(
        &self,
        timeout: Duration,
        mut done: impl FnMut(&[String]) -> bool,
    ) -> anyhow::Result<Vec<String>> {
        let deadline = Instant::now() + timeout;
        loop {
            let got = self.received();
            if done(&got) {
                return Ok(got);
            }
            if Instant::now() >= deadline {
                anyhow::bail!(
                    "the receiver's requests did not reach the expected state within {timeout:?}; \
                     got {} requests:\n{}",
                    got.len(),
                    got.join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }
}
