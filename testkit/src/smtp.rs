//! A real SMTP server (PyPI `aiosmtpd`, script `testkit/scripts/smtp_server.py`) on 127.0.0.1,
//! requiring AUTH with credentials made per server, optionally over implicit TLS (smtps://) with a
//! certificate from a private test CA. Accepted mails land in a directory the test reads; it can
//! be told to refuse every mail with 451 (transient) until told otherwise.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::process::{ChildGuard, free_port, wait_for_port};
use crate::redis::locate_binary;
use crate::redis_tls::TestCa;

pub const USER: &str = "mailer";

pub struct Smtp {
    /// `smtp://mailer:PASS@127.0.0.1:PORT?tls=none` or `smtps://mailer:PASS@localhost:PORT`.
    pub url: String,
    pub port: u16,
    pub password: String,
    /// The CA that signed the TLS server's certificate (smtps only).
    pub ca: Option<TestCa>,
    dir: tempfile::TempDir,
    _guard: ChildGuard,
}

/// The venv's python: `ATENDO_TEST_PYTHON`, else next to `MOTO_SERVER`/`SECANTUSD` (the same
/// venv `scripts/test.sh` makes), else the workspace's `.venv`.
pub(crate) fn python() -> anyhow::Result<PathBuf> {
    let mut candidates = Vec::new();
    for var in ["MOTO_SERVER", "SECANTUSD"] {
        if let Some(p) = std::env::var_os(var) {
            candidates.push(PathBuf::from(p).with_file_name("python"));
        }
    }
    candidates.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python"));
    locate_binary(
        "python",
        "ATENDO_TEST_PYTHON",
        &candidates,
        "run scripts/test.sh once (it creates .venv with aiosmtpd), or \
         `.venv/bin/pip install aiosmtpd==1.4.6`, or set ATENDO_TEST_PYTHON",
    )
}

/// A plain SMTP server (no TLS), for `smtp://…?tls=none`.
pub fn spawn_smtp() -> anyhow::Result<Smtp> {
    spawn(false)
}

/// An implicit-TLS SMTP server whose certificate (for `localhost`, `127.0.0.1`) a new test CA
/// signed.
pub fn spawn_smtps() -> anyhow::Result<Smtp> {
    spawn(true)
}

fn spawn(tls: bool) -> anyhow::Result<Smtp> {
    let python = python()?;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/smtp_server.py");
    let dir = tempfile::tempdir()?;
    std::fs::create_dir_all(dir.path().join("mail"))?;
    let password = crate::unique("pw");
    let ca = tls
        .then(|| TestCa::new("atendo test mail CA"))
        .transpose()?;
    let cert = match &ca {
        Some(ca) => Some(ca.issue_server(&["localhost", "127.0.0.1"])?),
        None => None,
    };
    let mut last_error = None;
    for _ in 0..3 {
        let port = free_port();
        let mut command = Command::new(&python);
        command
            .arg(&script)
            .args(["--port", &port.to_string(), "--user", USER])
            .args(["--password", &password])
            .arg("--maildir")
            .arg(dir.path().join("mail"))
            .arg("--fail-flag")
            .arg(dir.path().join("fail"))
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        if let Some((cert, key)) = &cert {
            command.arg("--cert").arg(cert).arg("--key").arg(key);
        }
        let attempt = ChildGuard::spawn("aiosmtpd", &mut command).and_then(|mut guard| {
            wait_for_port(&mut guard, port, Duration::from_secs(30))?;
            Ok(guard)
        });
        match attempt {
            Ok(guard) => {
                let url = match tls {
                    true => format!("smtps://{USER}:{password}@localhost:{port}"),
                    false => format!("smtp://{USER}:{password}@127.0.0.1:{port}?tls=none"),
                };
                return Ok(Smtp {
                    url,
                    port,
                    password,
                    ca,
                    dir,
                    _guard: guard,
                });
            }
            Err(e) => last_error = Some(e),
        }
    }
    Err(last_error.expect("three attempts were made"))
}

impl Smtp {
    /// While `on`, every mail is refused with 451 (transient).
    pub fn fail(&self, on: bool) {
        let flag = self.dir.path().join("fail");
        if on {
            std::fs::write(&flag, b"").expect("write the fail flag");
        } else {
            let _ = std::fs::remove_file(&flag);
        }
    }

    /// Every mail accepted so far, oldest first, as received (headers and body).
    pub fn mails(&self) -> Vec<String> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(self.dir.path().join("mail"))
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        names.retain(|p| p.extension().is_some_and(|e| e == "eml"));
        names.sort();
        names
            .iter()
            .filter_map(|p| std::fs::read_to_string(p).ok())
            .collect()
    }

    /// Waits until at least `n` mails were accepted; fails after `timeout`.
    pub fn wait_for_mails(&self, n: usize, timeout: Duration) -> anyhow::Result<Vec<String>> {
        let deadline = Instant::now() + timeout;
        loop {
            let mails = self.mails();
            if mails.len() >= n {
                return Ok(mails);
            }
            if Instant::now() >= deadline {
                anyhow::bail!(
                    "{} mails arrived within {timeout:?}, expected {n}",
                    mails.len()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
