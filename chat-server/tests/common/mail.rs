//! Mail as the test SMTP server (testkit::smtp) stored it: settings that point a chat-server at
//! it, and reading a received mail's headers and body.

use testkit::smtp::Smtp;

/// Mail settings for a chat-server sending through `smtp`: retries 1 s apart and short leases,
/// so a test does not wait minutes; logins unthrottled for tests that sign in often.
pub fn env(smtp: &Smtp) -> Vec<(&'static str, String)> {
    vec![
        ("CHAT_SMTP_URL", smtp.url.clone()),
        (
            "CHAT_MAIL_FROM",
            "ACME Suporte <suporte@acme.test>".to_string(),
        ),
        ("CHAT_PUBLIC_URL", "https://acme.chat.test".to_string()),
        ("CHAT_BRAND_PRODUCT_NAME", "ACME Suporte".to_string()),
        ("CHAT_MAIL_RETRY_BASE_SECS", "1".to_string()),
        ("CHAT_MAIL_LEASE_SECS", "3".to_string()),
        ("CHAT_LOGIN_ADDRESS_RATE", "100000".to_string()),
    ]
}

/// The first header called `name` (case-insensitive), trimmed.
pub fn header<'a>(mail: &'a str, name: &str) -> Option<&'a str> {
    let prefix = format!("{}:", name.to_ascii_lowercase());
    mail.lines()
        .find(|l| l.to_ascii_lowercase().starts_with(&prefix))
        .map(|l| l[prefix.len()..].trim())
}

/// The mail's body with quoted-printable soft breaks and escapes undone.
pub fn decoded(mail: &str) -> String {
    let unfolded = mail.replace("=\r\n", "").replace("=\n", "");
    let mut out = String::new();
    let mut rest = unfolded.as_str();
    while let Some(i) = rest.find('=') {
        out.push_str(&rest[..i]);
        let hex = rest.get(i + 1..i + 3).unwrap_or("");
        match u8::from_str_radix(hex, 16) {
            Ok(b) if hex.len() == 2 => {
                out.push(b as char);
                rest = &rest[i + 3..];
            }
            _ => {
                out.push('=');
                rest = &rest[i + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The outbox id the mail was sent under (its Message-ID's local part).
pub fn message_id(mail: &str) -> String {
    let id = header(mail, "Message-ID").expect("a Message-ID header");
    let (_, rest) = id.split_once('<').expect("Message-ID <…>");
    rest.split_once('@')
        .expect("Message-ID <id@host>")
        .0
        .to_string()
}
