//! Outgoing mail: the SMTP settings (`CHAT_SMTP_URL`, `CHAT_MAIL_FROM`, `CHAT_SMTP_CA_FILE`), the
//! transport ([`transport`], lettre over tokio and rustls) and the durable outbox's sender
//! ([`outbox`]).
//!
//! Requests never talk to SMTP: they store the mail in the outbox (`Store::enqueue_mail`) and
//! wake this replica's sender. Every replica runs one sender, which claims due mails with a lease
//! (so two replicas never send one mail at the same time), sends them, and marks them sent, or
//! reschedules them with backoff and the error, until a bound after which it marks them failed.
//! A crash between the SMTP server's 250 and "mark sent" sends that mail again after the lease:
//! delivery is at least once, never zero times.
//!
//! URL schemes (decided here):
//! - `smtps://user:pass@host[:465]`: implicit TLS from the first byte.
//! - `smtp://user:pass@host[:587]`: STARTTLS is required (a server that does not offer it is an
//!   error: credentials never cross the network in clear). `?tls=none` sends without TLS, for a
//!   relay on the same host or a trusted network only.
//!
//! Credentials are optional (a relay may trust the network); the password is never logged
//! (this type's `Debug` hides it).

pub mod outbox;
pub mod transport;

use std::fmt;

pub use outbox::{Mailer, MailerSettings, Outgoing};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmtpTls {
    /// `smtps://`
    Implicit,
    /// `smtp://` (default)
    StartTls,
    /// `smtp://…?tls=none`
    None,
}

#[derive(Clone, PartialEq, Eq)]
pub struct SmtpUrl {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub user: Option<String>,
    pub password: Option<String>,
}

impl fmt::Debug for SmtpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpUrl")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "<hidden>"))
            .finish()
    }
}

impl SmtpUrl {
    /// clap's parser for `--smtp-url`. Errors never repeat the URL (it may hold a password).
    pub fn parse(s: &str) -> Result<Self, String> {
        let url = url::Url::parse(s.trim()).map_err(|e| {
            format!("not a URL ({e}); expected smtp://user:pass@host:port or smtps://…")
        })?;
        let mut tls = match url.scheme() {
            "smtps" => SmtpTls::Implicit,
            "smtp" => SmtpTls::StartTls,
            other => {
                return Err(format!(
                    "unsupported scheme {other:?}; expected smtp:// (STARTTLS) or smtps:// (TLS)"
                ));
            }
        };
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or("the URL names no host")?
            .trim_matches(['[', ']'])
            .to_string();
        for (key, value) in url.query_pairs() {
            match (key.as_ref(), value.as_ref(), tls) {
                ("tls", "none", SmtpTls::StartTls) => tls = SmtpTls::None,
                ("tls", "required", SmtpTls::StartTls) => {}
                _ => {
                    return Err(format!(
                        "unsupported query parameter {key}={value}; smtp:// accepts only \
                         tls=required (the default) or tls=none"
                    ));
                }
            }
        }
        if url.path() != "" && url.path() != "/" {
            return Err("the URL has a path; expected smtp://user:pass@host:port".into());
        }
        let port = url.port().unwrap_or(match tls {
            SmtpTls::Implicit => 465,
            _ => 587,
        });
        let decode = |v: &str| {
            percent_encoding::percent_decode_str(v)
                .decode_utf8()
                .map(|s| s.into_owned())
                .map_err(|_| "the credentials are not valid UTF-8 once percent-decoded".to_string())
        };
        let user = match url.username() {
            "" => None,
            u => Some(decode(u)?),
        };
        let password = url.password().map(decode).transpose()?;
        if password.is_some() && user.is_none() {
            return Err("the URL has a password but no user".into());
        }
        Ok(Self {
            host,
            port,
            tls,
            user,
            password,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_choose_the_tls_and_the_default_port() {
        let u = SmtpUrl::parse("smtps://me:p%40ss@mail.example.com").unwrap();
        assert_eq!(
            (u.tls, u.port, u.user.as_deref(), u.password.as_deref()),
            (SmtpTls::Implicit, 465, Some("me"), Some("p@ss"))
        );
        let u = SmtpUrl::parse("smtp://me:pw@127.0.0.1:2525").unwrap();
        assert_eq!(
            (u.tls, u.port, u.host.as_str()),
            (SmtpTls::StartTls, 2525, "127.0.0.1")
        );
        assert_eq!(
            SmtpUrl::parse("smtp://h?tls=none").unwrap().tls,
            SmtpTls::None
        );
        assert_eq!(SmtpUrl::parse("smtp://h").unwrap().user, None);
    }

    #[test]
    fn bad_urls_are_refused_without_repeating_the_password() {
        for bad in [
            "http://u:secret@h",
            "smtp://",
            "smtps://u:secret@h?tls=none",
            "smtp://u:secret@h/path",
            "not a url secret",
        ] {
            let err = SmtpUrl::parse(bad).unwrap_err();
            assert!(!err.contains("secret"), "{bad}: {err}");
        }
        let shown = format!("{:?}", SmtpUrl::parse("smtp://u:secret@h").unwrap());
        assert!(!shown.contains("secret"), "{shown}");
    }
}
