//! One SMTP transport per replica (lettre, async on tokio, TLS through rustls). With
//! `CHAT_SMTP_CA_FILE` its CA replaces the public roots (as `CHAT_BUS_CA_FILE` does for Redis);
//! without it, Mozilla's roots compiled in (`webpki-roots`) are trusted.

use std::time::Duration;

use lettre::message::{Mailbox, MultiPart, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, CertificateStore, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::{SmtpTls, SmtpUrl};
use crate::config::CaFile;
use crate::store::OutboxMail;

/// How long one SMTP conversation may take before it counts as a (transient) failure.
const SEND_TIMEOUT: Duration = Duration::from_secs(20);

/// Why a send failed: `permanent` (a 5xx, or a recipient that is no address) is not retried.
#[derive(Debug)]
pub struct SendError {
    pub permanent: bool,
    pub message: String,
}

pub struct Transport {
    smtp: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Transport {
    /// Builds the transport; fails (naming the setting) when the TLS settings cannot be used.
    /// Nothing connects here: an unreachable server shows up as send failures, retried.
    pub fn new(url: &SmtpUrl, from: Mailbox, ca: Option<&CaFile>) -> Result<Self, String> {
        let tls_parameters = || -> Result<TlsParameters, String> {
            let mut builder = TlsParameters::builder(url.host.clone());
            match ca {
                Some(ca) => {
                    builder = builder.certificate_store(CertificateStore::None);
                    let pem = std::fs::read(ca.path()).map_err(|e| {
                        format!(
                            "CHAT_SMTP_CA_FILE: cannot read {}: {e}",
                            ca.path().display()
                        )
                    })?;
                    let certificate = Certificate::from_pem(&pem)
                        .map_err(|e| format!("CHAT_SMTP_CA_FILE: {e}"))?;
                    builder = builder.add_root_certificate(certificate);
                }
                None => builder = builder.certificate_store(CertificateStore::WebpkiRoots),
            }
            builder
                .build_rustls()
                .map_err(|e| format!("CHAT_SMTP_URL: TLS setup failed: {e}"))
        };
        let tls = match url.tls {
            SmtpTls::Implicit => Tls::Wrapper(tls_parameters()?),
            SmtpTls::StartTls => Tls::Required(tls_parameters()?),
            SmtpTls::None => Tls::None,
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(url.host.clone())
            .port(url.port)
            .tls(tls)
            .timeout(Some(SEND_TIMEOUT));
        if let Some(user) = &url.user {
            builder = builder.credentials(Credentials::new(
                user.clone(),
                url.password.clone().unwrap_or_default(),
            ));
        }
        Ok(Self {
            smtp: builder.build(),
            from,
        })
    }

    /// Sends one outbox mail: plain text, or text and HTML as multipart/alternative. Its Message-ID comes from the outbox id, so a mail
    /// sent twice (a crash after the server's 250) can be recognised as one by the recipient.
    pub async fn send(&self, mail: &OutboxMail) -> Result<(), SendError> {
        let to: Mailbox = mail.to.parse().map_err(|e| SendError {
            permanent: true,
            message: format!("the recipient is not a mail address: {e}"),
        })?;
        let domain = self.from.email.domain().to_string();
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.clone())
            .message_id(Some(format!("<{}@{domain}>", mail.id)));
        // A Reply-To that is no address (stored by an older rule) is dropped, not fatal.
        if let Some(reply_to) = mail
            .reply_to
            .as_deref()
            .and_then(|r| r.parse::<Mailbox>().ok())
        {
            builder = builder.reply_to(reply_to);
        }
        let built = match &mail.html {
            None => builder
                .header(ContentType::TEXT_PLAIN)
                .body(mail.body.clone()),
            Some(html) => builder.multipart(MultiPart::alternative_plain_html(
                mail.body.clone(),
                html.clone(),
            )),
        };
        let message = built.map_err(|e| SendError {
            permanent: true,
            message: format!("the mail cannot be built: {e}"),
        })?;
        self.smtp
            .send(message)
            .await
            .map(drop)
            .map_err(|e| SendError {
                permanent: e.is_permanent(),
                message: e.to_string(),
            })
    }
}
