//! Input checks with messages that name what is wrong.

use std::time::Duration;

use axum::http::StatusCode;

use crate::api::error::ApiError;
use crate::auth::password_policy;

/// A valid argon2id hash of a random string, verified against when an email is unknown so that
/// a failed login costs the same either way.
pub const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$3kk5Vq3ReL8Wg3M8D2YMPkL1b2v5PcWR0oBZ4ZnL0wU";

#[derive(Clone, Debug)]
pub struct Limits {
    pub max_message_bytes: usize,
    pub max_upload_bytes: u64,
    /// How long a seq hole may block delivery before it is taken to be permanent.
    pub hole_grace: Duration,
    /// Conversations one visitor may have open or pending at once.
    pub max_open_conversations: u32,
}

pub fn body(body: &str, has_attachments: bool, max: usize) -> Result<(), ApiError> {
    if body.len() > max {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("message body is {} bytes; the limit is {max}", body.len()),
        ));
    }
    if body.trim().is_empty() && !has_attachments {
        return Err(ApiError::bad_request(
            "empty_body",
            "message body is empty and there are no attachments",
        ));
    }
    Ok(())
}

pub fn client_msg_id(id: &str) -> Result<String, ApiError> {
    if id.is_empty() || id.len() > 128 || id.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            "invalid_client_msg_id",
            "client_msg_id must be 1-128 printable characters",
        ));
    }
    Ok(id.to_string())
}

pub fn email(email: &str) -> Result<String, ApiError> {
    let e = email.trim();
    // The rule the Tenant's adminEmail is validated by, so the operator's admin always exists.
    if chat_settings::rules::is_email(e) {
        Ok(e.to_string())
    } else {
        Err(ApiError::bad_request(
            "invalid_email",
            format!("{e:?} is not an email address"),
        ))
    }
}

pub fn required_name(name: &str) -> Result<String, ApiError> {
    optional_name(Some(name.to_string()))?
        .ok_or_else(|| ApiError::bad_request("invalid_name", "name must not be empty"))
}

pub fn optional_name(name: Option<String>) -> Result<Option<String>, ApiError> {
    match name.map(|n| n.trim().to_string()) {
        Some(n) if n.chars().count() > 100 || n.chars().any(char::is_control) => {
            Err(ApiError::bad_request(
                "invalid_name",
                "name must be at most 100 printable characters",
            ))
        }
        Some(n) if n.is_empty() => Ok(None),
        other => Ok(other),
    }
}

/// The message never contains the password.
pub fn password(password: &str) -> Result<(), ApiError> {
    password_policy::check(password)
        .map_err(|weakness| ApiError::bad_request("weak_password", weakness.to_string()))
}

/// Keeps a filename usable as the last segment of an object key.
pub fn filename(name: &str) -> Result<String, ApiError> {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("").trim();
    let cleaned: String = base
        .chars()
        .map(|c| {
            if c.is_control() || "\"<>|?*:%#".contains(c) {
                '_'
            } else {
                c
            }
        })
        .collect();
    if cleaned.is_empty() || cleaned == "." || cleaned == ".." || cleaned.len() > 255 {
        return Err(ApiError::bad_request(
            "invalid_filename",
            format!("{name:?} is not a usable file name (1-255 bytes, no path)"),
        ));
    }
    Ok(cleaned)
}

pub fn content_type(ct: &str) -> Result<String, ApiError> {
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
        Err(ApiError::bad_request(
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
        assert_eq!(e.status, StatusCode::PAYLOAD_TOO_LARGE);
        assert!(e.message.contains("5000") && e.message.contains("4096"));
    }

    #[test]
    fn filenames_lose_their_path_and_dangerous_characters() {
        assert_eq!(filename("../../etc/passwd").unwrap(), "passwd");
        assert_eq!(filename("a:b?.png").unwrap(), "a_b_.png");
        assert!(filename("..").is_err());
        assert!(filename("dir/").is_err());
    }

    #[test]
    fn emails_need_a_local_part_and_a_domain() {
        assert!(email("ana@acme.com").is_ok());
        assert!(email("ana@acme").is_err());
        assert!(email("@acme.com").is_err());
        assert!(email("a na@acme.com").is_err());
    }

    #[tokio::test]
    async fn the_dummy_hash_is_a_parseable_argon2_hash() {
        use argon2::password_hash::PasswordHash;
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
    }
}
