//! Request extractors: the authenticated principal and the client address.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::AppState;
use crate::auth::{Authenticated, Principal};
use crate::error::Error;

/// The caller, from `Authorization: Bearer <token>`.
pub struct Auth(pub Principal);

/// The caller with the sign-in its token belongs to (for logout and password changes).
pub struct Session(pub Authenticated);

impl FromRequestParts<AppState> for Session {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let header = parts.headers.get(AUTHORIZATION).ok_or_else(|| {
            Error::unauthenticated("missing Authorization: Bearer <token> header")
        })?;
        let token = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .ok_or_else(|| {
                Error::unauthenticated("Authorization header must be \"Bearer <token>\"")
            })?;
        Ok(Session(state.chat.authenticate(token.trim()).await?))
    }
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let Session(who) = Session::from_request_parts(parts, state).await?;
        Ok(Auth(who.principal))
    }
}

/// The client's address: the socket peer, or with `proxy_hops` = N > 0 the X-Forwarded-For
/// entry N from the right (see [`forwarded_client`]). Requests without a peer (in-process
/// tests) share one bucket.
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
            .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        let forwarded = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|h| h.to_str().ok());
        Ok(ClientIp(forwarded_client(
            peer,
            forwarded,
            state.proxy_hops,
        )))
    }
}

/// The address the outermost of `hops` trusted proxies saw. Each proxy appends the address it
/// received the request from, so only the last `hops` entries were written by proxies; anything
/// left of them came from the client and is never used. With fewer entries than `hops` the
/// leftmost is taken (the request passed fewer proxies, each still trusted). No header, or an
/// entry that is not an address, gives the socket peer. Several headers count as one list in
/// order (RFC 9110 5.3).
pub fn forwarded_client<'a>(
    peer: IpAddr,
    headers: impl Iterator<Item = &'a str>,
    hops: u8,
) -> IpAddr {
    if hops == 0 {
        return peer;
    }
    let entries: Vec<&str> = headers.flat_map(|h| h.split(',')).map(str::trim).collect();
    let Some(index) = entries
        .len()
        .checked_sub(usize::from(hops).min(entries.len()))
    else {
        return peer;
    };
    entries
        .get(index)
        .and_then(|e| parse_entry(e))
        .unwrap_or(peer)
}

/// `203.0.113.9`, `2001:db8::1`, and the forms with a port some proxies write
/// (`203.0.113.9:4711`, `[2001:db8::1]:4711`).
fn parse_entry(entry: &str) -> Option<IpAddr> {
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            entry
                .strip_prefix('[')
                .and_then(|e| e.strip_suffix(']'))
                .and_then(|e| e.parse().ok())
        })
}

/// `Json` whose rejection is the contract's error body, naming what is wrong.
pub struct Body<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for Body<T> {
    type Rejection = axum::response::Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Body(v)),
            Err(rejection) => Err(super::error::error_response(
                rejection.status(),
                "invalid_body",
                &rejection.body_text(),
            )),
        }
    }
}

/// `Query` whose rejection is the contract's error body (`invalid_query`, naming the parameter
/// and what is wrong with it) instead of axum's plain text.
pub struct Params<T>(pub T);

impl<T: DeserializeOwned> FromRequestParts<AppState> for Params<T> {
    type Rejection = axum::response::Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(Params(v)),
            Err(rejection) => Err(super::error::error_response(
                rejection.status(),
                "invalid_query",
                &rejection.body_text(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use super::forwarded_client;

    const PEER: &str = "10.0.0.5";

    fn client(headers: &[&str], hops: u8) -> String {
        let peer: IpAddr = PEER.parse().unwrap();
        forwarded_client(peer, headers.iter().copied(), hops).to_string()
    }

    #[test]
    fn with_no_trusted_proxy_the_header_is_ignored() {
        assert_eq!(client(&["198.51.100.1"], 0), PEER);
    }

    #[test]
    fn behind_an_alb_a_forged_leftmost_entry_never_changes_the_client() {
        // The ALB appends the address it saw to whatever the client sent.
        assert_eq!(client(&["203.0.113.66"], 1), "203.0.113.66");
        for forged in ["1.2.3.4", "1.2.3.4, 5.6.7.8", "garbage", ""] {
            let header = format!("{forged}, 203.0.113.66");
            assert_eq!(client(&[&header], 1), "203.0.113.66", "{header}");
        }
    }

    #[test]
    fn behind_ingress_nginx_the_last_entry_is_the_address_nginx_saw() {
        // Default: nginx replaces the header with $remote_addr.
        assert_eq!(client(&["203.0.113.66"], 1), "203.0.113.66");
        // compute-full-forwarded-for: nginx appends to the client's header.
        assert_eq!(client(&["9.9.9.9, 203.0.113.66"], 1), "203.0.113.66");
        // A load balancer in front of nginx that also appends: two hops.
        assert_eq!(
            client(&["9.9.9.9, 203.0.113.66, 10.1.2.3"], 2),
            "203.0.113.66"
        );
    }

    #[test]
    fn split_headers_ports_and_short_lists_are_read_as_one_list() {
        assert_eq!(client(&["9.9.9.9", "203.0.113.66"], 1), "203.0.113.66");
        assert_eq!(client(&["203.0.113.66:4711"], 1), "203.0.113.66");
        assert_eq!(client(&["[2001:db8::1]:4711"], 1), "2001:db8::1");
        assert_eq!(client(&["2001:db8::1"], 1), "2001:db8::1");
        assert_eq!(client(&["203.0.113.66"], 3), "203.0.113.66");
    }

    #[test]
    fn a_missing_or_unreadable_entry_falls_back_to_the_peer() {
        assert_eq!(client(&[], 1), PEER);
        assert_eq!(client(&["1.2.3.4, unknown"], 1), PEER);
    }
}
