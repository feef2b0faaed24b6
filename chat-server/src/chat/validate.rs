//! Input checks with messages that name what is wrong.

use crate::auth::password_policy;
use crate::error::{Error, Kind};
pub use crate::fields::{email, optional_name, required_name};

/// A valid argon2id hash of a random string, verified against when an email is unknown so that
/// a failed login costs the same either way.
pub const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$3kk5Vq3ReL8Wg3M8D2YMPkL1b2v5PcWR0oBZ4ZnL0wU";

#[derive(Clone, Debug)]
pub struct Limits {
    pub max_message_bytes: usize,
    pub max_upload_bytes: u64,
    /// Conversations one visitor may have open or pending at once.
    pub max_open_conversations: u32,
}

pub fn body(body: &str, has_attachments: bool, max: usize) -> Result<(), Error> {
    if body.len() > max {
        return Err(Error::new(
            Kind::TooLarge,
            "body_too_large",
            format!("message body is {} bytes; the limit is {max}", body.len()),
        ));
    }
    if body.trim().is_empty() && !has_attachments {
        return Err(Error::invalid(
            "empty_body",
            "message body is empty and there are no attachments",
        ));
    }
    Ok(())
}

pub fn client_msg_id(id: &str) -> Result<String, Error> {
    if id.is_empty() || id.len() > 128 || id.chars().any(char::is_control) {
        return Err(Error::invalid(
            "invalid_client_msg_id",
            "client_msg_id must be 1-128 printable characters",
        ));
    }
    Ok(id.to_string())
}

/// The message never contains the password.
pub fn password(password: &str) -> Result<(), Error> {
    password_policy::check(password)
        .map_err(|weakness| Error::invalid("weak_password", weakness.to_string()))
}

/// Keeps a filename usable as the last segment of an object key, and honest on screen: no path,
/// no control or reserved characters, no leading dots (a hidden file, or `..`), and none of the
/// invisible characters that reorder or hide text (`invoice\u{202E}fdp.exe` shows as
/// `invoiceexe.pdf`).
pub fn filename(name: &str) -> Result<String, Error> {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base
        .chars()
        .filter(|c| !is_invisible_format(*c))
        .map(|c| {
            if c.is_control() || "\"<>|?*:%#".contains(c) {
                '_'
            } else {
                c
            }
        })
        .collect();
    let cleaned = cleaned
        .trim()
        .trim_start_matches(|c: char| c == '.' || c.is_whitespace())
        .to_string();
    if cleaned.is_empty() || cleaned.len() > 255 {
        return Err(Error::invalid(
            "invalid_filename",
            format!(
                "{name:?} is not a usable file name (1-255 bytes of visible characters, no path, not only dots)"
            ),
        ));
    }
    Ok(cleaned)
}

/// Bidirectional overrides, embeddings and isolates, directional marks, zero-width characters
/// and the byte-order mark: Unicode format characters that change how a name reads.
fn is_invisible_format(c: char) -> bool {
    matches!(
        c,
        '\u{061C}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FEFF}'
    )
}

pub fn content_type(ct: &str) -> Result<String, Error> {
    let ct = ct.trim();
    let valid = ct.split_once('/').is_some_and(|(a, b)| {
        !a.is_empty()
            && !b.is_empty()
            && ct.len() <= 127
            && ct.chars().all(|c| c.is_ascii_graphic() || c == ' ')
    });
    if valid {
        Ok(ct.to_ascii_lowercase())
    } else {
        Err(Error::invalid(
            "invalid_content_type",
            format!("{ct:?} is not a media type like image/png"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_over_the_limit_is_rejected_with_413_and_both_sizes() {
        let e = body(&"x".repeat(5000), false, 4096).unwrap_err();
        assert_eq!(e.kind, Kind::TooLarge);
        assert!(e.message.contains("5000") && e.message.contains("4096"));
    }

    #[test]
    fn filenames_lose_leading_dots_and_invisible_reordering_characters() {
        assert_eq!(filename(".htaccess").unwrap(), "htaccess");
        assert_eq!(filename("...env").unwrap(), "env");
        assert_eq!(filename(" . hidden.txt").unwrap(), "hidden.txt");
        assert_eq!(
            filename("invoice\u{202E}fdp.exe").unwrap(),
            "invoicefdp.exe"
        );
        assert_eq!(
            filename("a\u{200B}b\u{2066}c\u{FEFF}.png").unwrap(),
            "abc.png"
        );
        for only_dots in ["..", ".", "...", "\u{202E}..", " . "] {
            let e = filename(only_dots).unwrap_err();
            assert_eq!(e.kind, Kind::Invalid, "{only_dots:?}");
        }
    }

    #[test]
    fn filenames_lose_their_path_and_dangerous_characters() {
        assert_eq!(filename("../../etc/passwd").unwrap(), "passwd");
        assert_eq!(filename("a:b?.png").unwrap(), "a_b_.png");
        assert!(filename("..").is_err());
        assert!(filename("dir/").is_err());
    }

    #[tokio::test]
    async fn the_dummy_hash_is_a_parseable_argon2_hash() {
        use argon2::password_hash::PasswordHash;
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
    }
}
