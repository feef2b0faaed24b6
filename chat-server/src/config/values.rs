//! Setting values that need more than a string rule (those live in `chat_settings::rules`,
//! shared with the operator): a CA file read and checked while the configuration is parsed,
//! and a mailbox. Here, not beside the adapters that use them, so that the configuration
//! depends on nothing in the server and every adapter may depend on it.

use std::fmt;
use std::path::{Path, PathBuf};

use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

/// The certificates of a CA file setting (`CHAT_BUS_CA_FILE`, `CHAT_SMTP_CA_FILE`), read and
/// checked when the configuration is parsed, so a bad file stops the start before anything
/// connects.
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

    pub fn certificates(&self) -> &[CertificateDer<'static>] {
        &self.certificates
    }
}

/// clap's parser for the CA file settings.
pub fn parse_ca_file(s: &str) -> Result<CaFile, String> {
    CaFile::load(Path::new(s))
}

/// clap's parser for `--mail-from`: `Name <addr@host>` or `addr@host`.
pub fn mail_from(s: &str) -> Result<lettre::message::Mailbox, String> {
    s.trim().parse().map_err(|e| {
        format!("{s:?} is not a mail address ({e}); e.g. \"Atendo <support@acme.com>\"")
    })
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
        assert_eq!(ca.certificates().len(), 1);
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
