//! Clients that reach a tenant only by its host name: DNS for the host points at the router
//! (as the wildcard record points at the ingress), so every request carries `Host: <tenant host>`.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, bail};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message as WsMsg;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

pub const WAIT: Duration = Duration::from_secs(10);

pub struct HostClient {
    pub host: String,
    router: SocketAddr,
    http: reqwest::Client,
}

impl HostClient {
    pub fn new(host: &str, router: SocketAddr) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .resolve(host, router)
            // Downloads answer with a redirect to the bucket; the test follows it itself.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(WAIT)
            .build()?;
        Ok(HostClient {
            host: host.into(),
            router,
            http,
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}:{}{path}", self.host, self.router.port())
    }

    pub async fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> anyhow::Result<reqwest::Response> {
        let mut request = self.http.request(method.clone(), self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        request
            .send()
            .await
            .with_context(|| format!("{method} {path} on {}", self.host))
    }

    /// Status and JSON body (null when the body is not JSON).
    pub async fn post(
        &self,
        path: &str,
        token: Option<&str>,
        body: Value,
    ) -> anyhow::Result<(u16, Value)> {
        let r = self
            .request(reqwest::Method::POST, path, token, Some(body))
            .await?;
        Ok((r.status().as_u16(), r.json().await.unwrap_or(Value::Null)))
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> anyhow::Result<(u16, Value)> {
        let r = self
            .request(reqwest::Method::GET, path, token, None)
            .await?;
        Ok((r.status().as_u16(), r.json().await.unwrap_or(Value::Null)))
    }

    /// A new anonymous visitor: (visitor id, token).
    pub async fn visitor(&self, name: &str) -> anyhow::Result<(String, String)> {
        let (status, body) = self
            .post("/api/v1/visitors", None, json!({"name": name}))
            .await?;
        expect_status(status, 201, &body, "creating a visitor")?;
        Ok((text(&body, "visitor_id")?, text(&body, "token")?))
    }

    /// An agent's (agent id, token).
    pub async fn login(&self, email: &str, password: &str) -> anyhow::Result<(String, String)> {
        let (status, body) = self
            .post(
                "/api/v1/agents/login",
                None,
                json!({"email": email, "password": password}),
            )
            .await?;
        expect_status(status, 200, &body, "signing in")?;
        Ok((text(&body, "agent_id")?, text(&body, "token")?))
    }

    /// A WebSocket through the router: the TCP connection goes to the router, the handshake
    /// names the tenant's host.
    pub async fn ws(&self, token: &str) -> anyhow::Result<Ws> {
        self.try_ws(token).await?.map_err(|status| {
            anyhow::anyhow!("websocket handshake on {} refused with {status}", self.host)
        })
    }

    /// `Err(status)` when the server refuses the handshake.
    pub async fn try_ws(&self, token: &str) -> anyhow::Result<Result<Ws, u16>> {
        let url = format!("ws://{}:{}/api/v1/ws", self.host, self.router.port());
        let mut request = url.into_client_request()?;
        // The token as a subprotocol, as the contract asks (not in a URL access logs keep).
        request.headers_mut().insert(
            "sec-websocket-protocol",
            format!("atendo.v1, atendo.bearer.{token}")
                .parse()
                .context("the token is not a valid header value")?,
        );
        let stream = tokio::net::TcpStream::connect(self.router).await?;
        match tokio_tungstenite::client_async(request, stream).await {
            Ok((stream, _)) => Ok(Ok(Ws { stream })),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                Ok(Err(response.status().as_u16()))
            }
            Err(e) => Err(e).context("websocket handshake"),
        }
    }
}

pub fn text(v: &Value, key: &str) -> anyhow::Result<String> {
    v[key]
        .as_str()
        .map(String::from)
        .with_context(|| format!("{key} missing in {v}"))
}

pub fn expect_status(got: u16, want: u16, body: &Value, what: &str) -> anyhow::Result<()> {
    if got != want {
        bail!("{what}: expected {want}, got {got}: {body}");
    }
    Ok(())
}

type Stream = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

pub struct Ws {
    stream: Stream,
}

impl Ws {
    pub async fn send(&mut self, frame: Value) -> anyhow::Result<()> {
        self.stream.send(WsMsg::text(frame.to_string())).await?;
        Ok(())
    }

    /// The next JSON frame; fails on close or after [`WAIT`].
    pub async fn next(&mut self) -> anyhow::Result<Value> {
        loop {
            let msg = tokio::time::timeout(WAIT, self.stream.next())
                .await
                .context("no frame within the wait")?
                .context("the socket closed")??;
            match msg {
                WsMsg::Text(t) => return Ok(serde_json::from_str(t.as_str())?),
                WsMsg::Close(frame) => bail!("the server closed the socket: {frame:?}"),
                _ => continue,
            }
        }
    }

    /// Frames until one of type `kind`; an error frame fails.
    pub async fn expect(&mut self, kind: &str) -> anyhow::Result<Value> {
        loop {
            let frame = self.next().await?;
            if frame["type"] == kind {
                return Ok(frame);
            }
            if frame["type"] == "error" {
                bail!("error frame while waiting for {kind}: {frame}");
            }
        }
    }

    /// Subscribes and returns the replayed messages (until the `subscribed` frame).
    pub async fn subscribe(&mut self, conversation_id: &str) -> anyhow::Result<Vec<Value>> {
        self.send(json!({"type": "subscribe", "conversation_id": conversation_id, "after_seq": 0}))
            .await?;
        let mut replayed = vec![];
        loop {
            let frame = self.next().await?;
            match frame["type"].as_str() {
                Some("message") => replayed.push(frame["message"].clone()),
                Some("subscribed") => return Ok(replayed),
                Some("error") => bail!("subscribe failed: {frame}"),
                _ => {}
            }
        }
    }
}
