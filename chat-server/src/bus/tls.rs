//! TLS to Redis (`rediss://`): which certificates the bus trusts.
//!
//! Without `CHAT_BUS_CA_FILE` the server's certificate must chain to Mozilla's public roots
//! (`webpki-roots`, compiled in), which is what ElastiCache's in-transit encryption presents:
//! the trust does not depend on a CA bundle in the image. With it, only the CA(s) in that PEM
//! file are trusted: a Redis behind a private CA has no business presenting a publicly issued
//! certificate, so keeping the public roots would only widen who could impersonate it (the
//! same meaning as `redis-cli --cacert`). Either way the host name in the URL must match the
//! certificate.

use std::sync::Arc;

use rustls::{ClientConfig, RootCertStore};

use crate::config::CaFile;

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
            let (_, ignored) = roots.add_parsable_certificates(ca.certificates().iter().cloned());
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

    #[test]
    fn a_pem_ca_certificate_makes_a_client_config() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        std::io::Write::write_all(&mut f, include_bytes!("../../tests/fixtures/test-ca.pem"))
            .unwrap();
        let ca = CaFile::load(f.path()).unwrap();
        client_config(Some(&ca)).unwrap();
        client_config(None).unwrap();
    }
}
