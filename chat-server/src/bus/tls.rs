//! TLS to Redis (`rediss://`): which certificates the bus trusts.
//!
//! Without `CHAT_BUS_CA_FILE` the server's certificate must chain to Mozilla's public roots
//! (`webpki-roots`, compiled in), which is what ElastiCache's in-transit encryption presents:
//! the trust does not depend on a CA bundle in the image. With it, only the CA(s) in that PEM
//! file are trusted: a Redis behind a private CA has no business presenting a publicly issued
//! certificate, so keeping the public roots would only widen who could impersonate it (the
//! same meaning as `redis-cli --cacert`). Either way the host name in the URL must match the
//! certificate.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use rustls::{ClientConfig, RootCertStore};

/// The certificates of `CHAT_BUS_CA_FILE`, read and checked when the configuration is parsed,
/// so a bad file stops the start before anything connects.
#[derive(Clone)]
pub struct CaFile {
    path: PathBuf,
    certificates: Vec<CertificateDer<'static>>,
}

impl fmt::Debug for CaFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "CaFile({}, {} certificate(s))",
            self.path.display(),
            self.certificates.len()
        )
    }
}

impl PartialEq for CaFile {
    fn eq(&self, other: &Self) -> bool {
        self.path == other.path && self.certificates == other.certificates
    }
}

impl Eq for CaFile {}

impl CaFile {
    /// Reads `path`; fails, naming the file, if it cannot be read, holds no PEM certificate,
    /// or holds one that cannot serve as a trust anchor.
    pub fn load(path: &Path) -> Result<Self, String> {
        let shown = path.display();
        let bytes = std::fs::read(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
        let certificates = CertificateDer::pem_slice_iter(&bytes)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("{shown} is not a valid PEM file: {e}"))?;
        if certificates.is_empty() {
            return Err(format!(
                "{shown} holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)"
            ));
        }
        let mut roots = RootCertStore::empty();
        for (i, certificate) in certificates.iter().enumerate() {
            roots.add(certificate.clone()).map_err(|e| {
                format!(
                    "{shown}: certificate {} is not a usable CA certificate: {e}",
                    i + 1
                )
            })?;
        }
        Ok(Self {
            path: path.to_path_buf(),
            certificates,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// clap's parser for `--bus-ca-file`.
pub fn parse_ca_file(s: &str) -> Result<CaFile, String> {
    CaFile::load(Path::new(s))
}

/// Pure: the rustls client configuration for the bus. The crypto provider is given explicitly
/// (aws-lc-rs, the one the AWS SDK already links) rather than taken from a process-wide
/// default: the dependency tree enables both of rustls's providers, and with two rustls
/// refuses to guess.
pub fn client_config(ca: Option<&CaFile>) -> Result<ClientConfig, String> {
    let roots = match ca {
        None => RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        },
        Some(ca) => {
            let mut roots = RootCertStore::empty();
            // Checked in `load`.
            let (_, ignored) = roots.add_parsable_certificates(ca.certificates.iter().cloned());
            debug_assert_eq!(ignored, 0);
            roots
        }
    };
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Ok(ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup failed: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(contents: &[u8]) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        std::io::Write::write_all(&mut f, contents).unwrap();
        f
    }

    #[test]
    fn a_pem_ca_certificate_loads() {
        let f = file(include_bytes!("../../tests/fixtures/test-ca.pem"));
        let ca = CaFile::load(f.path()).unwrap();
        assert_eq!(ca.certificates.len(), 1);
        client_config(Some(&ca)).unwrap();
    }

    #[test]
    fn a_missing_ca_file_is_an_error_naming_it() {
        let err = CaFile::load(Path::new("/nonexistent/ca.pem")).unwrap_err();
        assert!(err.contains("cannot read /nonexistent/ca.pem"), "{err}");
    }

    #[test]
    fn a_file_without_pem_certificates_is_an_error_naming_it() {
        let f = file(b"this is not a certificate\n");
        let err = CaFile::load(f.path()).unwrap_err();
        assert!(
            err.contains(&f.path().display().to_string()) && err.contains("no PEM certificate"),
            "{err}"
        );
    }

    #[test]
    fn a_pem_block_that_is_not_a_certificate_is_an_error_naming_it() {
        let f = file(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
        let err = CaFile::load(f.path()).unwrap_err();
        assert!(
            err.contains(&f.path().display().to_string()) && err.contains("certificate 1"),
            "{err}"
        );
    }
}
