//! `--redis-ca-file`: the private CA the tenants' chat-servers trust for `rediss://`, read and
//! checked once when the operator starts (or `render` runs), so a wrong file stops the start with
//! its name instead of crash-looping every tenant's pods.
//!
//! The checks are the chat-server's own (`chat-server/src/bus/tls.rs`): PEM, at least one
//! certificate, each usable as a trust anchor. One more here: the file is copied into every
//! tenant namespace, so a file that also holds a private key is refused rather than spread.

use std::fmt;
use std::path::{Path, PathBuf};

use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::{PemObject, SectionKind};

/// Far above any real bundle (Mozilla's whole root store is about 220 KiB) and far below the
/// 1 MiB a ConfigMap may hold.
const MAX_BYTES: u64 = 512 * 1024;

/// The CA certificates of `--redis-ca-file`, as the PEM text the chat-servers get.
#[derive(Clone, PartialEq, Eq)]
pub struct CaBundle {
    path: PathBuf,
    pem: String,
    certificates: usize,
}

impl fmt::Debug for CaBundle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "CaBundle({}, {} certificate(s))",
            self.path.display(),
            self.certificates
        )
    }
}

impl CaBundle {
    /// Reads `path`; fails, naming the file, if it cannot be read, is not PEM text, holds no
    /// certificate, holds a certificate no TLS client could anchor trust in, or holds anything
    /// but certificates.
    pub fn load(path: &Path) -> Result<Self, String> {
        let shown = path.display();
        let size = std::fs::metadata(path)
            .map_err(|e| format!("cannot read {shown}: {e}"))?
            .len();
        if size > MAX_BYTES {
            return Err(format!(
                "{shown} is {size} bytes; a CA bundle is far smaller (at most {MAX_BYTES} bytes)"
            ));
        }
        let bytes = std::fs::read(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
        let pem = String::from_utf8(bytes)
            .map_err(|_| format!("{shown} is not a PEM file (it is not text)"))?;
        let sections = <(SectionKind, Vec<u8>)>::pem_slice_iter(pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("{shown} is not a valid PEM file: {e}"))?;
        if let Some((kind, _)) = sections
            .iter()
            .find(|(kind, _)| *kind != SectionKind::Certificate)
        {
            return Err(format!(
                "{shown} holds a {kind:?} section besides certificates; it is copied into every \
                 tenant namespace, so give it the CA certificate(s) only"
            ));
        }
        if sections.is_empty() {
            return Err(format!(
                "{shown} holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)"
            ));
        }
        let mut roots = RootCertStore::empty();
        for (i, (_, der)) in sections.iter().enumerate() {
            roots
                .add(CertificateDer::from(der.as_slice()))
                .map_err(|e| {
                    format!(
                        "{shown}: certificate {} is not a usable CA certificate: {e}",
                        i + 1
                    )
                })?;
        }
        Ok(CaBundle {
            path: path.to_path_buf(),
            pem,
            certificates: sections.len(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file's text, exactly as read (certificates only, as checked).
    pub fn pem(&self) -> &str {
        &self.pem
    }

    pub fn certificates(&self) -> usize {
        self.certificates
    }
}

/// clap's parser for `--redis-ca-file`.
pub fn parse(s: &str) -> Result<CaBundle, String> {
    CaBundle::load(Path::new(s))
}
