//! Services a fault test may take down and bring back on the same port: a private SecantusDB
//! (testkit's shared one must never be stopped under other tests) and chat-server replicas whose
//! logs are captured.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use testkit::{ChildGuard, free_port, wait_for_port};

/// A SecantusDB of this test's own, on fixed storage, so it can stop and come back intact.
pub struct PrivateMongo {
    pub port: u16,
    binary: PathBuf,
    guard: Option<ChildGuard>,
    storage: tempfile::TempDir,
}

impl PrivateMongo {
    pub fn start() -> Self {
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let binary = testkit::redis::locate_binary(
            "secantusd-py",
            "SECANTUSD",
            &[workspace.join(".venv/bin/secantusd-py")],
            "set SECANTUSD to secantusd-py (PyPI SecantusDB)",
        )
        .unwrap_or_else(|e| panic!("{e:#}"));
        let storage = tempfile::Builder::new()
            .prefix("atendo-faults-mongo-")
            .tempdir()
            .expect("storage directory");
        let mut mongo = Self {
            port: free_port(),
            binary,
            guard: None,
            storage,
        };
        mongo.resume();
        mongo
    }

    /// A store URI for `db`. The short server selection timeout is what a deployment sets so a
    /// send fails within seconds, rather than 30 s, while the database is away.
    pub fn uri(&self, db: &str) -> String {
        format!(
            "mongodb://127.0.0.1:{}/{db}?serverSelectionTimeoutMS=2000&connectTimeoutMS=1000",
            self.port
        )
    }

    /// SIGKILL: the database is gone at once, mid-write, as when its host dies.
    pub fn stop(&mut self) {
        if let Some(mut guard) = self.guard.take() {
            guard.kill();
        }
    }

    /// Starts (again) on the same port and storage.
    pub fn resume(&mut self) {
        assert!(self.guard.is_none(), "SecantusDB is already running");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.storage.path().join("secantusd.log"))
            .expect("log file");
        let mut command = Command::new(&self.binary);
        command
            .args(["--host", "127.0.0.1", "--port", &self.port.to_string()])
            .arg("--storage-path")
            .arg(self.storage.path().join("db"))
            .args(["--log-level", "WARNING"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log);
        let mut guard =
            ChildGuard::spawn("secantusd-py", &mut command).expect("spawn secantusd-py");
        wait_for_port(&mut guard, self.port, Duration::from_secs(60))
            .unwrap_or_else(|e| panic!("{e:#}"));
        self.guard = Some(guard);
    }
}

/// A chat-server replica whose stdout and stderr go to a file, for tests that read its logs.
pub struct LoggedReplica {
    pub guard: ChildGuard,
    pub base: String,
    pub ws_base: String,
    pub log: PathBuf,
    _dir: tempfile::TempDir,
}

impl LoggedReplica {
    pub fn start(env: &[(&str, String)]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let log = dir.path().join("chat-server.log");
        let out = std::fs::File::create(&log).expect("log file");
        let port = free_port();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_chat-server"));
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("CHAT_LISTEN", format!("127.0.0.1:{port}"))
            .env("CHAT_UPLOAD_DIR", dir.path().join("uploads"))
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("log file"))
            .stderr(out);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut guard = ChildGuard::spawn("chat-server", &mut cmd).expect("spawn chat-server");
        if let Err(e) = wait_for_port(&mut guard, port, Duration::from_secs(60)) {
            panic!(
                "{e:#}\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        Self {
            guard,
            base: format!("http://127.0.0.1:{port}"),
            ws_base: format!("ws://127.0.0.1:{port}"),
            log,
            _dir: dir,
        }
    }

    /// Stops the replica gracefully (SIGTERM) and returns everything it logged.
    pub fn stop_and_read_log(mut self) -> String {
        self.guard.signal("TERM");
        if self.guard.wait_timeout(Duration::from_secs(30)).is_none() {
            self.guard.kill();
        }
        std::fs::read_to_string(&self.log).expect("read log")
    }
}

/// Prometheus counter or gauge value: the sum of every series of `name` whose labels contain
/// `label` (empty matches all).
pub async fn metric(base: &str, name: &str, label: &str) -> f64 {
    let text = reqwest::get(format!("{base}/metrics"))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text");
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            let metric_name = series.split('{').next()?;
            (metric_name == name && series.contains(label)).then(|| value.parse::<f64>().ok())?
        })
        .sum()
}
