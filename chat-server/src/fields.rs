//! Emails and names as the core accepts them, wherever they come from: an admin's form (the
//! use cases in `chat`) or an identity provider's claims (`auth::oidc`). Here rather than in
//! either, so that neither depends on the other for them.

use crate::error::Error;

pub fn email(email: &str) -> Result<String, Error> {
    let e = email.trim();
    // The rule the Tenant's adminEmail is validated by, so the operator's admin always exists.
    if chat_settings::rules::is_email(e) {
        Ok(e.to_string())
    } else {
        Err(Error::invalid(
            "invalid_email",
            format!("email {e:?} is not an email address"),
        ))
    }
}

pub fn required_name(name: &str) -> Result<String, Error> {
    optional_name(Some(name.to_string()))?
        .ok_or_else(|| Error::invalid("invalid_name", "name must not be empty"))
}

pub fn optional_name(name: Option<String>) -> Result<Option<String>, Error> {
    match name.map(|n| n.trim().to_string()) {
        Some(n) if n.chars().count() > 100 || n.chars().any(char::is_control) => {
            Err(Error::invalid(
                "invalid_name",
                "name must be at most 100 printable characters",
            ))
        }
        Some(n) if n.is_empty() => Ok(None),
        other => Ok(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_need_a_local_part_and_a_domain() {
        assert!(email("ana@acme.com").is_ok());
        assert!(email("ana@acme").is_err());
        assert!(email("@acme.com").is_err());
        assert!(email("a na@acme.com").is_err());
    }
}
