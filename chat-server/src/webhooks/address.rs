//! Which webhook URLs may be called (SSRF): http(s) only, and only addresses on the public
//! internet, checked when an endpoint is made and again at every delivery, on the addresses
//! actually connected to (the HTTP client resolves through [`PublicResolver`]), because a name
//! can resolve elsewhere later (DNS rebinding). Redirects are never followed (a 3xx is a failed
//! attempt), so a public endpoint cannot bounce a request inward. `CHAT_WEBHOOK_ALLOW_PRIVATE`
//! lifts the address rule (an on-premises receiver, tests), never the scheme rule.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use crate::error::Error;

/// URLs longer than this are refused (no real endpoint needs more).
const MAX_URL_CHARS: usize = 2000;
/// How long a name may take to resolve when an endpoint is made.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// The URL parsed, if it is an absolute http(s) URL with a host; the message names `field`.
pub fn parse(raw: &str, field: &str) -> Result<url::Url, Error> {
    let invalid = |why: &str| Error::invalid("invalid_url", format!("{field} {why}"));
    if raw.chars().count() > MAX_URL_CHARS {
        return Err(invalid(&format!(
            "is longer than {MAX_URL_CHARS} characters"
        )));
    }
    let url = url::Url::parse(raw.trim())
        .map_err(|e| invalid(&format!("is not an absolute URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid(&format!(
            "must be an http:// or https:// URL, not {}:",
            url.scheme()
        )));
    }
    if url.host().is_none() {
        return Err(invalid("names no host"));
    }
    Ok(url)
}

fn forbidden(field: &str, url: &url::Url, ip: IpAddr) -> Error {
    Error::invalid(
        "webhook_url_forbidden",
        format!(
            "{field} {} resolves to {ip}, which is not a public address (loopback, private, \
             link-local and other special ranges are refused)",
            url.host_str().unwrap_or_default()
        ),
    )
}

/// Checks every address the URL's host names (an IP literal, or what DNS answers now).
pub async fn check(url: &url::Url, allow_private: bool, field: &str) -> Result<(), Error> {
    if allow_private {
        return Ok(());
    }
    let port = url.port_or_known_default().unwrap_or(443);
    let addrs: Vec<IpAddr> = match url.host() {
        Some(url::Host::Ipv4(ip)) => vec![IpAddr::V4(ip)],
        Some(url::Host::Ipv6(ip)) => vec![IpAddr::V6(ip)],
        Some(url::Host::Domain(name)) => {
            let found =
                tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((name, port)))
                    .await
                    .map_err(|_| {
                        Error::invalid(
                            "invalid_url",
                            format!("{field} {name} did not resolve in time"),
                        )
                    })?
                    .map_err(|e| {
                        Error::invalid(
                            "invalid_url",
                            format!("{field} {name} does not resolve ({e})"),
                        )
                    })?;
            found.map(|a| a.ip()).collect()
        }
        None => Vec::new(),
    };
    if addrs.is_empty() {
        return Err(Error::invalid(
            "invalid_url",
            format!("{field} resolves to no address"),
        ));
    }
    match addrs.into_iter().find(|ip| !is_public(*ip)) {
        Some(ip) => Err(forbidden(field, url, ip)),
        None => Ok(()),
    }
}

/// Whether `ip` is a unicast address on the public internet.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || a == 0 // "this network"
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (18..20).contains(&b)) // benchmarking
        || a >= 240) // reserved
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let s = ip.segments();
    // NAT64 (64:ff9b::/96) and 6to4 (2002::/16) reach the IPv4 address they embed.
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        return is_public_v4(Ipv4Addr::new(
            (s[6] >> 8) as u8,
            s[6] as u8,
            (s[7] >> 8) as u8,
            s[7] as u8,
        ));
    }
    if s[0] == 0x2002 {
        return is_public_v4(Ipv4Addr::new(
            (s[1] >> 8) as u8,
            s[1] as u8,
            (s[2] >> 8) as u8,
            s[2] as u8,
        ));
    }
    // Global unicast is 2000::/3; inside it, documentation (2001:db8::/32) and the IETF
    // protocol block (2001::/23: Teredo, benchmarking, ORCHID) are not somewhere to call.
    // Everything else (::1, ::, fc00::/7 ULA, fe80::/10 link-local, ff00::/8 multicast, …)
    // lies outside 2000::/3.
    (s[0] & 0xe000) == 0x2000 && !(s[0] == 0x2001 && (s[1] == 0x0db8 || s[1] < 0x0200))
}

/// The HTTP client's resolver: answers only when every address of the name is public (unless
/// private ones are allowed), so the address checked is the address connected to.
pub struct PublicResolver {
    pub allow_private: bool,
}

impl reqwest::dns::Resolve for PublicResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_private = self.allow_private;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if let Some(bad) = addrs.iter().find(|a| !allow_private && !is_public(a.ip())) {
                return Err(
                    format!("{host} resolves to {}, not a public address", bad.ip()).into(),
                );
            }
            let addrs: reqwest::dns::Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn public(s: &str) -> bool {
        is_public(s.parse().unwrap())
    }

    #[test]
    fn special_ranges_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "255.255.255.255",
            "224.0.0.1",
            "192.0.2.1",
            "198.18.0.1",
            "240.0.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::",
            "2001:db8::1",
            "2001::1",
        ] {
            assert!(!public(ip), "{ip} must not count as public");
        }
    }

    #[test]
    fn internet_addresses_are_public() {
        for ip in [
            "1.1.1.1",
            "8.8.8.8",
            "93.184.216.34",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(public(ip), "{ip} is public");
        }
    }

    #[tokio::test]
    async fn a_host_that_does_not_resolve_is_refused_naming_the_field() {
        // `.invalid` never resolves (RFC 6761).
        let url = parse("https://hooks.atendo.invalid/hook", "url").unwrap();
        let e = check(&url, false, "url").await.unwrap_err();
        assert_eq!(e.code, "invalid_url");
        assert!(
            e.message.starts_with("url hooks.atendo.invalid "),
            "{}",
            e.message
        );
    }

    #[test]
    fn only_http_and_https_urls_with_a_host_are_taken() {
        assert!(parse("https://hooks.example.com/x", "url").is_ok());
        for bad in [
            "ftp://example.com/",
            "file:///etc/passwd",
            "gopher://h/",
            "not a url",
            "http://",
        ] {
            let e = parse(bad, "url").unwrap_err();
            assert_eq!(e.code, "invalid_url", "{bad}");
            assert!(e.message.starts_with("url "), "{}", e.message);
        }
    }
}
