//! Browser origins allowed to use a tenant's chat from other sites (CHAT_ALLOWED_ORIGINS, the
//! Tenant's spec.widget.allowedOrigins, the bucket's CORS rule). One grammar and one matcher, so
//! the Tenant validation, the chat-server and the bucket agree on what an entry admits.
//!
//! An entry is an origin as browsers send it: `scheme://host[:port]`, lower case, no path, no
//! default port. `https://*.example.com` admits every subdomain of example.com (not example.com
//! itself), as S3's single `*` does. Plain http only for `localhost` and `127.0.0.1`: a page
//! served over http anywhere else can be rewritten by anyone on its path.

/// More entries than a tenant can mean; S3 caps a CORS configuration at 64 KB.
pub const MAX_ALLOWED_ORIGINS: usize = 32;
/// `https://` plus a 253-character host and a port.
pub const MAX_ORIGIN_LEN: usize = 270;

/// One entry, checked; returned as given (it must already be in the form browsers send).
pub fn allowed_origin(s: &str) -> Result<String, String> {
    let refuse = |why: &str| -> Result<String, String> {
        Err(format!("{s:?} is not a browser origin: {why}"))
    };
    if s.len() > MAX_ORIGIN_LEN {
        return refuse(&format!("longer than {MAX_ORIGIN_LEN} characters"));
    }
    let (https, rest) = if let Some(rest) = s.strip_prefix("https://") {
        (true, rest)
    } else if let Some(rest) = s.strip_prefix("http://") {
        (false, rest)
    } else {
        return refuse("it must start with https:// (or http:// for localhost)");
    };
    if rest.contains(['/', '?', '#']) {
        return refuse(
            "an origin has no path, query or fragment (drop everything after the host and port)",
        );
    }
    if rest.bytes().any(|c| c.is_ascii_uppercase()) {
        return refuse(&format!(
            "browsers send it in lower case: {:?}",
            s.to_ascii_lowercase()
        ));
    }
    let (host, port) = match rest.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (rest, None),
    };
    if let Some(port) = port {
        let default = if https { "443" } else { "80" };
        if port == default {
            return refuse(&format!("browsers leave out the default port :{default}"));
        }
        let valid = !port.is_empty()
            && !port.starts_with('0')
            && port.len() <= 5
            && port.bytes().all(|c| c.is_ascii_digit())
            && port.parse::<u32>().is_ok_and(|p| p <= 65535);
        if !valid {
            return refuse("the port must be a number from 1 to 65535");
        }
    }
    if !https {
        return if matches!(host, "localhost" | "127.0.0.1") {
            Ok(s.to_string())
        } else {
            refuse("plain http is allowed only for localhost and 127.0.0.1; use https://")
        };
    }
    let (wildcard, name) = match host.strip_prefix("*.") {
        Some(name) => (true, name),
        None => (false, host),
    };
    let labels: Vec<&str> = name.split('.').collect();
    if !labels.iter().all(|l| is_label(l)) {
        return refuse(
            "the host must be a DNS name of letters, digits and '-' (IDNs in their xn-- form); \
             a wildcard only as a whole first label, *.example.com",
        );
    }
    if wildcard && labels.len() < 2 {
        return refuse(
            "a wildcard needs a domain of at least two labels, e.g. https://*.example.com",
        );
    }
    Ok(s.to_string())
}

/// CHAT_ALLOWED_ORIGINS: entries separated by commas (spaces around them ignored), at most
/// [`MAX_ALLOWED_ORIGINS`], duplicates dropped.
pub fn allowed_origins(s: &str) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for entry in s.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let entry = allowed_origin(entry)?;
        if !out.contains(&entry) {
            out.push(entry);
        }
    }
    if out.len() > MAX_ALLOWED_ORIGINS {
        return Err(format!(
            "{} origins; at most {MAX_ALLOWED_ORIGINS} (use https://*.example.com for many subdomains)",
            out.len()
        ));
    }
    Ok(out)
}

/// Whether `origin` (an Origin header's value) is admitted by `entry` (an [`allowed_origin`]).
/// A wildcard entry admits any host ending in `.<domain>` with the entry's scheme and port.
pub fn origin_matches(entry: &str, origin: &str) -> bool {
    if entry == origin {
        return true;
    }
    let Some((scheme, rest)) = entry.split_once("://*") else {
        return false;
    };
    // rest is ".example.com" or ".example.com:8443".
    let Some(host_and_port) = origin
        .strip_prefix(scheme)
        .and_then(|o| o.strip_prefix("://"))
    else {
        return false;
    };
    let Some(sub) = host_and_port.strip_suffix(rest) else {
        return false;
    };
    !sub.is_empty() && sub.split('.').all(is_label)
}

fn is_label(s: &str) -> bool {
    let b = s.as_bytes();
    let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    !b.is_empty()
        && b.len() <= 63
        && b.iter().all(|&c| alnum(c) || c == b'-')
        && alnum(b[0])
        && alnum(b[b.len() - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    pub const GOOD: &[&str] = &[
        "https://www.acme.com",
        "https://acme.com:8443",
        "https://*.acme.com",
        "https://*.shop.acme.com.br:8443",
        "https://xn--padaria-joo-s7a.com.br",
        "http://localhost",
        "http://localhost:3000",
        "http://127.0.0.1:65535",
        "https://localhost",
    ];

    pub const BAD: &[&str] = &[
        "",
        "null",
        "www.acme.com",
        "*.acme.com",
        "ftp://acme.com",
        "https://",
        "https://www.acme.com/",
        "https://www.acme.com/chat",
        "https://www.acme.com?x=1",
        "https://WWW.acme.com",
        "https://www.acme.com:443",
        "http://localhost:80",
        "http://www.acme.com",
        "http://10.0.0.5:8080",
        "https://acme.com:0",
        "https://acme.com:65536",
        "https://acme.com:",
        "https://acme.com:08443",
        "https://acme_corp.com",
        "https://-acme.com",
        "https://user@acme.com",
        "https://*",
        "https://*.com",
        "https://a.*.acme.com",
        "https://*acme.com",
        "https://acme.com ",
    ];

    #[test]
    fn browser_origins_are_accepted_as_given() {
        for good in GOOD {
            assert_eq!(allowed_origin(good).as_deref(), Ok(*good));
        }
    }

    #[test]
    fn anything_else_is_refused_with_the_reason() {
        for bad in BAD {
            let e = allowed_origin(bad).expect_err(bad);
            assert!(e.contains("is not a browser origin"), "{bad}: {e}");
        }
        let e = allowed_origin("https://www.acme.com/chat").unwrap_err();
        assert!(e.contains("no path"), "{e}");
        let e = allowed_origin("https://Acme.com").unwrap_err();
        assert!(e.contains("\"https://acme.com\""), "{e}");
        let e = allowed_origin("http://acme.com").unwrap_err();
        assert!(e.contains("localhost"), "{e}");
    }

    #[test]
    fn a_list_is_trimmed_deduplicated_and_bounded() {
        assert_eq!(
            allowed_origins(" https://a.com, https://b.com,,https://a.com "),
            Ok(vec![
                "https://a.com".to_string(),
                "https://b.com".to_string()
            ])
        );
        assert_eq!(allowed_origins(""), Ok(vec![]));
        let e = allowed_origins("https://a.com,http://b.com").unwrap_err();
        assert!(e.contains("http://b.com"), "{e}");
        let many = (0..33)
            .map(|i| format!("https://s{i}.acme.com"))
            .collect::<Vec<_>>();
        assert!(
            allowed_origins(&many.join(","))
                .unwrap_err()
                .contains("at most 32")
        );
    }

    #[test]
    fn a_wildcard_admits_subdomains_on_its_scheme_and_port_only() {
        let entry = "https://*.acme.com";
        for yes in ["https://www.acme.com", "https://a.b.acme.com"] {
            assert!(origin_matches(entry, yes), "{yes}");
        }
        for no in [
            "https://acme.com",
            "http://www.acme.com",
            "https://www.acme.com:8443",
            "https://wwwacme.com",
            "https://www.acme.com.evil.com",
            "https://evil.com/.acme.com",
            "https://.acme.com",
            "null",
        ] {
            assert!(!origin_matches(entry, no), "{no}");
        }
        assert!(origin_matches(
            "https://*.acme.com:8443",
            "https://x.acme.com:8443"
        ));
        assert!(origin_matches(
            "https://www.acme.com",
            "https://www.acme.com"
        ));
        assert!(!origin_matches(
            "https://www.acme.com",
            "https://www.acme.com:8443"
        ));
        assert!(!origin_matches(
            "https://www.acme.com",
            "https://www.acme.co"
        ));
    }
}
