//! What a value must be for the chat-server to start on it. The chat-server's clap parsers are
//! these functions; the Tenant validation calls the same predicates (and its CEL rules are tested
//! against them), so the operator never renders a value the chat-server refuses.
//!
//! Errors are plain strings because clap prefixes them with the flag and variable they concern.

/// The languages the widget and console ship.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Locale {
    #[serde(rename = "en")]
    En,
    #[serde(rename = "pt-BR")]
    PtBr,
}

/// A BCP 47 tag of a language the screens speak: `en` or `pt`, with optional subtags
/// (`^([eE][nN]|[pP][tT])(-[a-zA-Z0-9]{2,8})*$`, the CRD's rule). Region variants pick the
/// language the screens ship: en-US → en, pt-PT → pt-BR.
pub fn locale(s: &str) -> Result<Locale, String> {
    let mut parts = s.split('-');
    let language = parts.next().unwrap_or_default();
    let subtags_ok =
        parts.all(|p| (2..=8).contains(&p.len()) && p.bytes().all(|c| c.is_ascii_alphanumeric()));
    let language = language.to_ascii_lowercase();
    match language.as_str() {
        "en" if subtags_ok => Ok(Locale::En),
        "pt" if subtags_ok => Ok(Locale::PtBr),
        _ => Err(format!(
            "{s:?} is not a language the widget and console speak: en or pt, optionally with a region (en-GB, pt-BR)"
        )),
    }
}

pub fn is_locale(s: &str) -> bool {
    locale(s).is_ok()
}

/// `#rrggbb` (`^#[0-9a-fA-F]{6}$`), returned in lower case.
pub fn colour(s: &str) -> Result<String, String> {
    if is_colour(s) {
        Ok(s.to_ascii_lowercase())
    } else {
        Err(format!("{s:?} is not a colour like #0b5fff"))
    }
}

pub fn is_colour(s: &str) -> bool {
    s.len() == 7 && s.starts_with('#') && s[1..].bytes().all(|c| c.is_ascii_hexdigit())
}

/// At least 32 bytes: tokens are HMAC-signed with it.
pub fn signing_key(s: &str) -> Result<String, String> {
    if s.len() < 32 {
        Err(format!(
            "is {} bytes; use at least 32 random bytes (e.g. `openssl rand -base64 48`)",
            s.len()
        ))
    } else {
        Ok(s.to_string())
    }
}

/// The bus channel prefix: 1-100 letters, digits, '-', '_' or '.' (a Redis ACL channel pattern
/// built from it must not contain glob characters).
pub fn bus_namespace(s: &str) -> Result<String, String> {
    if !s.is_empty()
        && s.len() <= 100
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        Ok(s.to_string())
    } else {
        Err(format!(
            "{s:?} must be 1-100 characters of letters, digits, '-', '_' or '.'"
        ))
    }
}

/// An email address as agents' sign-in names take it: at most 254 characters, a local part and a
/// dotted domain, no whitespace or control characters, one '@'.
pub fn email(s: &str) -> Result<String, String> {
    if is_email(s) {
        Ok(s.to_string())
    } else {
        Err(format!("{s:?} is not an email address"))
    }
}

pub fn is_email(s: &str) -> bool {
    let plain = |p: &str| {
        !p.is_empty()
            && !p
                .chars()
                .any(|c| c == '@' || c.is_whitespace() || c.is_control())
    };
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    // A '.' after the first character with something after it.
    let dotted = domain
        .char_indices()
        .skip(1)
        .any(|(i, c)| c == '.' && i + 1 < domain.len());
    s.chars().count() <= 254 && plain(local) && plain(domain) && !domain.starts_with('.') && dotted
}

/// An absolute https URL of at most 2048 characters, with a host and nothing a browser would
/// have to escape.
pub fn https_url(s: &str) -> Result<String, String> {
    if is_https_url(s) {
        Ok(s.to_string())
    } else {
        Err(format!(
            "{s:?} must be an absolute https:// URL of at most 2048 characters"
        ))
    }
}

pub fn is_https_url(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("https://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit('@').next().unwrap_or_default();
    let host = host.split(':').next().unwrap_or_default();
    s.chars().count() <= 2048
        && !host.is_empty()
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// `CHAT_OIDC_ALLOWED_DOMAINS` entries: a DNS name, compared lowercase.
pub fn email_domain(s: &str) -> Result<String, String> {
    let d = s.trim().to_lowercase();
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    if d.len() <= 253 && d.contains('.') && d.split('.').all(label_ok) {
        Ok(d)
    } else {
        Err(format!(
            "{s:?} is not an email domain like acme.com (no '@', no wildcard)"
        ))
    }
}

/// `CHAT_OIDC_ADMIN_GROUP`: any non-blank group name, as the issuer spells it.
pub fn group_name(s: &str) -> Result<String, String> {
    match s.trim() {
        "" => Err("must name a group, e.g. atendo-admins".into()),
        g => Ok(g.to_string()),
    }
}

/// `CHAT_OIDC_ISSUER` and `CHAT_OIDC_TOKEN_ENDPOINT`: an http(s) URL with a plain host, since its
/// origin goes into the console's Content-Security-Policy.
pub fn http_url(s: &str) -> Result<String, String> {
    let s = s.trim();
    let host = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .and_then(|rest| rest.split(['/', '?', '#']).next())
        .map(|authority| authority.rsplit('@').next().unwrap_or_default());
    let host_ok = host.is_some_and(|h| {
        !h.is_empty()
            && h.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
    });
    match host_ok {
        // Kept as written: the server compares it with tokens' `iss` exactly.
        true if !s.contains(char::is_whitespace) => Ok(s.to_string()),
        _ => Err(format!(
            "{s:?} is not an http(s) URL like https://login.example.com/realms/acme"
        )),
    }
}

/// A number above zero (limits, rates, sizes).
pub fn positive<T: std::str::FromStr + PartialOrd + Default + std::fmt::Display>(
    s: &str,
) -> Result<T, String> {
    let v: T = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a number"))?;
    if v > T::default() {
        Ok(v)
    } else {
        Err(format!("must be greater than zero, got {v}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locales_with_a_region_pick_the_language_the_screens_ship() {
        assert_eq!(locale("en-US"), Ok(Locale::En));
        assert_eq!(locale("EN"), Ok(Locale::En));
        assert_eq!(locale("pt-PT"), Ok(Locale::PtBr));
        assert_eq!(locale("pt-br"), Ok(Locale::PtBr));
        for bad in [
            "fr",
            "",
            "en-",
            "en_US",
            "en-x",
            "pt-BR-toolongsubtag",
            "english",
        ] {
            assert!(locale(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn colours_are_six_hex_digits_and_come_back_lower_case() {
        assert_eq!(colour("#AABBCC"), Ok("#aabbcc".into()));
        for bad in ["blue", "#abc", "#abcdeg", "aabbcc", "#aabbccdd"] {
            assert!(colour(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn emails_need_a_local_part_and_a_dotted_domain() {
        assert!(is_email("lead@acme.com.br"));
        for bad in [
            "a@b",
            "@b.c",
            "a@.b.c",
            "a@b.",
            "a b@c.d",
            "a@b@c.d",
            "a\u{7}@b.c",
        ] {
            assert!(!is_email(bad), "{bad}");
        }
        assert!(!is_email(&format!("{}@b.cc", "a".repeat(251))));
    }

    #[test]
    fn https_urls_need_a_host_and_no_whitespace() {
        assert!(is_https_url("https://id.example/jwks"));
        for bad in [
            "http://id.example",
            "https://",
            "https:///x",
            "https://a b",
            "ftp://x",
        ] {
            assert!(!is_https_url(bad), "{bad}");
        }
        assert!(!is_https_url(&format!("https://a.b/{}", "x".repeat(2048))));
    }

    #[test]
    fn bus_namespaces_carry_no_glob_characters() {
        assert!(bus_namespace("tenant-acme").is_ok());
        for bad in ["", "a*", "a?", "a[b]", "a:b", &"x".repeat(101)] {
            assert!(bus_namespace(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn short_signing_keys_and_non_positive_limits_are_refused() {
        assert!(signing_key("short").unwrap_err().contains("at least 32"));
        assert!(signing_key(&"k".repeat(32)).is_ok());
        assert_eq!(positive::<u32>("5"), Ok(5));
        assert!(
            positive::<u32>("0")
                .unwrap_err()
                .contains("greater than zero")
        );
        assert!(positive::<u32>("x").is_err());
    }
}
