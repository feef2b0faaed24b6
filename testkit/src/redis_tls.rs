//! A real `redis-server` that speaks TLS only (`--tls-port`, `--port 0`), with certificates
//! made for the test: a private CA, and a server certificate it signed for the names asked.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};

use crate::process::{ChildGuard, free_port, wait_for_port};
use crate::redis::locate_binary;

/// A private certificate authority whose certificate is written to `ca_file` (PEM).
pub struct TestCa {
    pub ca_file: PathBuf,
    issuer: CertifiedIssuer<'static, KeyPair>,
    dir: tempfile::TempDir,
}

impl TestCa {
    /// A new CA named `name`, its PEM in a temporary directory kept as long as this value.
    pub fn new(name: &str) -> anyhow::Result<Self> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate()?)?;
        let dir = tempfile::tempdir()?;
        let ca_file = dir.path().join("ca.pem");
        std::fs::write(&ca_file, issuer.pem())?;
        Ok(Self {
            ca_file,
            issuer,
            dir,
        })
    }

    /// Writes a server certificate for `names` (DNS names or IP addresses) signed by this CA,
    /// and its key; returns the two paths.
    pub fn issue_server(&self, names: &[&str]) -> anyhow::Result<(PathBuf, PathBuf)> {
        let mut params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())?;
        params.distinguished_name.push(
            DnType::CommonName,
            names.first().copied().unwrap_or("server"),
        );
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &self.issuer)?;
        let stem = crate::unique("server");
        let cert_file = self.dir.path().join(format!("{stem}.crt"));
        let key_file = self.dir.path().join(format!("{stem}.key"));
        std::fs::write(&cert_file, cert.pem())?;
        std::fs::write(&key_file, key.serialize_pem())?;
        Ok((cert_file, key_file))
    }
}

/// A TLS-only Redis on 127.0.0.1, stopped when dropped.
pub struct TlsRedis {
    /// `rediss://localhost:PORT`: the certificate is checked against `localhost`.
    pub url: String,
    pub port: u16,
    /// The CA that signed the server's certificate.
    pub ca: TestCa,
    _guard: ChildGuard,
}

/// A TLS Redis whose certificate is valid for `localhost` and `127.0.0.1`.
pub fn spawn_redis_tls() -> anyhow::Result<TlsRedis> {
    spawn_redis_tls_for(&["localhost", "127.0.0.1"])
}

/// A TLS Redis whose certificate names only `names` (e.g. another host, to see the name check
/// fail); the URL still says `localhost`.
pub fn spawn_redis_tls_for(names: &[&str]) -> anyhow::Result<TlsRedis> {
    let binary = locate_binary(
        "redis-server",
        "REDIS_SERVER",
        &[],
        "install it with `apt-get install -y redis-server`",
    )?;
    let ca = TestCa::new("atendo test CA")?;
    let (cert, key) = ca.issue_server(names)?;
    let mut last_error = None;
    for _ in 0..3 {
        let port = free_port();
        match start(&binary, port, &ca.ca_file, &cert, &key) {
            Ok(guard) => {
                return Ok(TlsRedis {
                    url: format!("rediss://localhost:{port}"),
                    port,
                    ca,
                    _guard: guard,
                });
            }
            Err(e) => last_error = Some(e),
        }
    }
    Err(last_error.expect("three attempts were made"))
}

fn start(
    binary: &Path,
    port: u16,
    ca: &Path,
    cert: &Path,
    key: &Path,
) -> anyhow::Result<ChildGuard> {
    let mut command = Command::new(binary);
    command
        // No plain-text port at all: a client that does not speak TLS gets nowhere.
        .args(["--port", "0", "--tls-port", &port.to_string()])
        .args(["--bind", "127.0.0.1"])
        .arg("--tls-cert-file")
        .arg(cert)
        .arg("--tls-key-file")
        .arg(key)
        .arg("--tls-ca-cert-file")
        .arg(ca)
        // Server authentication only, as ElastiCache does.
        .args(["--tls-auth-clients", "no"])
        .args(["--save", "", "--appendonly", "no"])
        .args(["--dir", &std::env::temp_dir().to_string_lossy()])
        .args(["--loglevel", "warning"])
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    let mut guard = ChildGuard::spawn("redis-server (TLS)", &mut command)?;
    wait_for_port(&mut guard, port, Duration::from_secs(10))?;
    Ok(guard)
}
