//! A small Host-header router standing in for the ingress controller: it routes each request by
//! the rendered Ingress rules (host, then the longest matching path) through the Service's port to
//! the container port, and from there to the process that stands in for the tenant's pods.
//!
//! It is an HTTP/1.1 proxy at the level of the request head: one request per connection (it
//! asks the backend to close after answering, so a client cannot slip a second request to another
//! host past it), WebSocket upgrades passed through whole. It does not model TLS, annotations,
//! default backends or wildcard hosts; those are the cluster e2e's to prove.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::manifests::{ManifestError, Manifests};

/// Largest request head the router reads before giving up.
const MAX_HEAD: usize = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum RouteError {
    #[error("Ingress {ingress}: {message}")]
    Ingress { ingress: String, message: String },
    #[error(transparent)]
    Manifest(#[from] ManifestError),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathType {
    Exact,
    Prefix,
}

/// One Ingress path, resolved down to where its traffic goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    pub host: String,
    pub path: String,
    pub path_type: PathType,
    pub namespace: String,
    /// The container port the Service's targetPort names.
    pub container_port: i32,
}

impl Route {
    fn matches(&self, path: &str) -> bool {
        match self.path_type {
            PathType::Exact => path == self.path,
            // Kubernetes: element-wise prefix, so /api matches /api/x but not /apix.
            PathType::Prefix => {
                let prefix = self.path.trim_end_matches('/');
                prefix.is_empty()
                    || path == prefix
                    || path
                        .strip_prefix(prefix)
                        .is_some_and(|rest| rest.starts_with('/'))
            }
        }
    }
}

/// Every route of the render's Ingresses: Ingress backend → Service port → targetPort →
/// the container port of the Deployment the Service selects.
pub fn routes(objects: &Manifests) -> Result<Vec<Route>, RouteError> {
    let mut out = vec![];
    for ingress in &objects.ingresses {
        out.extend(ingress_routes(ingress, objects)?);
    }
    Ok(out)
}

fn ingress_routes(ingress: &Ingress, objects: &Manifests) -> Result<Vec<Route>, RouteError> {
    let namespace = ingress.metadata.namespace.clone().unwrap_or_default();
    let id = format!(
        "{namespace}/{}",
        ingress.metadata.name.as_deref().unwrap_or("")
    );
    let fail = |message: String| RouteError::Ingress {
        ingress: id.clone(),
        message,
    };
    let mut out = vec![];
    for rule in ingress.spec.iter().flat_map(|s| s.rules.iter().flatten()) {
        let host = rule
            .host
            .clone()
            .ok_or_else(|| fail("a rule without a host".into()))?;
        for path in rule.http.iter().flat_map(|h| h.paths.iter()) {
            let path_type = match path.path_type.as_str() {
                "Exact" => PathType::Exact,
                "Prefix" => PathType::Prefix,
                other => return Err(fail(format!("pathType {other} is not modelled"))),
            };
            let backend = path
                .backend
                .service
                .as_ref()
                .ok_or_else(|| fail("a backend that is not a Service".into()))?;
            let service = objects.service(&namespace, &backend.name)?;
            let port = backend
                .port
                .as_ref()
                .ok_or_else(|| fail("no port".into()))?;
            let spec = service.spec.clone().unwrap_or_default();
            let service_port = spec
                .ports
                .iter()
                .flatten()
                .find(|p| match (&port.name, port.number) {
                    (Some(name), _) => p.name.as_ref() == Some(name),
                    (None, Some(number)) => p.port == number,
                    (None, None) => false,
                })
                .ok_or_else(|| {
                    fail(format!(
                        "Service {} has no port {:?}",
                        backend.name,
                        port.name.clone().or(port.number.map(|n| n.to_string()))
                    ))
                })?;
            let target = service_port
                .target_port
                .clone()
                .unwrap_or(IntOrString::Int(service_port.port));
            let selector = spec.selector.clone().unwrap_or_default();
            let container_port = container_port(objects, &namespace, &selector, &target)
                .map_err(|m| fail(format!("Service {}: {m}", backend.name)))?;
            out.push(Route {
                host: host.to_ascii_lowercase(),
                path: path.path.clone().unwrap_or_else(|| "/".into()),
                path_type,
                namespace: namespace.clone(),
                container_port,
            });
        }
    }
    Ok(out)
}

/// The port number `target` means in the pods `selector` picks (a named port is looked up in
/// their containers).
fn container_port(
    objects: &Manifests,
    namespace: &str,
    selector: &BTreeMap<String, String>,
    target: &IntOrString,
) -> Result<i32, String> {
    if selector.is_empty() {
        return Err("has no selector, so no pods".into());
    }
    let selected = objects.deployments.iter().filter(|d| {
        d.metadata.namespace.as_deref() == Some(namespace)
            && d.spec
                .as_ref()
                .and_then(|s| s.template.metadata.as_ref())
                .and_then(|m| m.labels.as_ref())
                .is_some_and(|labels| selector.iter().all(|(k, v)| labels.get(k) == Some(v)))
    });
    let ports: Vec<(Option<String>, i32)> = selected
        .flat_map(|d| d.spec.iter().flat_map(|s| s.template.spec.iter()))
        .flat_map(|p| p.containers.iter())
        .flat_map(|c| c.ports.iter().flatten())
        .map(|p| (p.name.clone(), p.container_port))
        .collect();
    if ports.is_empty() {
        return Err(format!(
            "its selector {selector:?} matches no Deployment's pods with ports"
        ));
    }
    match target {
        IntOrString::Int(n) if ports.iter().any(|(_, p)| p == n) => Ok(*n),
        IntOrString::Int(n) => Err(format!("targetPort {n} is no container port")),
        IntOrString::String(name) => ports
            .iter()
            .find(|(n, _)| n.as_deref() == Some(name.as_str()))
            .map(|(_, p)| *p)
            .ok_or_else(|| format!("targetPort {name:?} names no container port")),
    }
}

/// One routed request, for tests to check where traffic went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hit {
    pub host: String,
    pub path: String,
    pub backend: SocketAddr,
}

/// The running router; dropping it stops accepting connections.
pub struct Router {
    pub addr: SocketAddr,
    hits: Arc<Mutex<Vec<Hit>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Router {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A route and the processes standing in for the pods behind it, taken in turn per
/// connection as a Service spreads connections over its endpoints.
#[derive(Clone, Debug)]
pub struct Target {
    pub route: Route,
    pub backends: Vec<SocketAddr>,
    next: Arc<AtomicUsize>,
}

impl Target {
    pub fn new(route: Route, backends: Vec<SocketAddr>) -> Self {
        Target {
            route,
            backends,
            next: Arc::default(),
        }
    }

    fn backend(&self) -> Option<SocketAddr> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        self.backends.get(n % self.backends.len().max(1)).copied()
    }
}

impl Router {
    /// Listens on 127.0.0.1:0 and serves `targets`.
    pub async fn start(targets: Vec<Target>) -> std::io::Result<Router> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let hits = Arc::new(Mutex::new(vec![]));
        let targets = Arc::new(targets);
        let task = tokio::spawn({
            let hits = hits.clone();
            async move {
                while let Ok((client, peer)) = listener.accept().await {
                    let (targets, hits) = (targets.clone(), hits.clone());
                    tokio::spawn(async move {
                        // A failed exchange only ends that connection; the client sees it close.
                        let _ = proxy(client, peer, &targets, &hits).await;
                    });
                }
            }
        });
        Ok(Router { addr, hits, task })
    }

    pub fn hits(&self) -> Vec<Hit> {
        self.hits.lock().expect("hits").clone()
    }
}

/// The target for `host` (port ignored, as ingress controllers do) and `path`: longest path wins.
pub fn pick<'a>(targets: &'a [Target], host: &str, path: &str) -> Option<&'a Target> {
    let host = host
        .rsplit_once(':')
        .filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit()))
        .map_or(host, |(h, _)| h)
        .to_ascii_lowercase();
    targets
        .iter()
        .filter(|t| t.route.host == host && t.route.matches(path))
        .max_by_key(|t| (t.route.path_type == PathType::Exact, t.route.path.len()))
}

async fn proxy(
    mut client: TcpStream,
    peer: SocketAddr,
    targets: &[Target],
    hits: &Mutex<Vec<Hit>>,
) -> std::io::Result<()> {
    let mut buffer = Vec::with_capacity(4096);
    let head_len = loop {
        if let Some(i) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buffer.len() > MAX_HEAD {
            return respond(&mut client, 431, "request head too large").await;
        }
        let mut chunk = [0u8; 4096];
        let n = client.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buffer.extend_from_slice(&chunk[..n]);
    };
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut request = httparse::Request::new(&mut headers);
    if !matches!(
        request.parse(&buffer[..head_len]),
        Ok(httparse::Status::Complete(_))
    ) {
        return respond(&mut client, 400, "malformed request head").await;
    }
    let (method, target) = (request.method.unwrap_or("GET"), request.path.unwrap_or("/"));
    let header = |name: &str| {
        request
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .and_then(|h| std::str::from_utf8(h.value).ok())
    };
    let host = header("host").unwrap_or("").to_string();
    let path = target.split('?').next().unwrap_or("/");
    let Some(chosen) = pick(targets, &host, path) else {
        let message = format!("no Ingress rule for host {host:?} and path {path:?}");
        return respond(&mut client, 404, &message).await;
    };
    let upgrade = header("upgrade").is_some()
        && header("connection").is_some_and(|c| c.to_ascii_lowercase().contains("upgrade"));
    let mut head = format!("{method} {target} HTTP/1.1\r\n");
    for h in request.headers.iter() {
        let name = h.name.to_ascii_lowercase();
        let dropped = name.starts_with("x-forwarded-") || (!upgrade && name == "connection");
        if !dropped {
            head.push_str(&format!(
                "{}: {}\r\n",
                h.name,
                String::from_utf8_lossy(h.value)
            ));
        }
    }
    if !upgrade {
        head.push_str("Connection: close\r\n");
    }
    head.push_str(&format!(
        "X-Forwarded-For: {}\r\nX-Forwarded-Host: {host}\r\n\r\n",
        peer.ip()
    ));
    let Some(address) = chosen.backend() else {
        return respond(&mut client, 503, "the Service has no endpoints").await;
    };
    let mut backend = match TcpStream::connect(address).await {
        Ok(stream) => stream,
        Err(e) => {
            let message = format!("backend {address} refused: {e}");
            return respond(&mut client, 502, &message).await;
        }
    };
    hits.lock().expect("hits").push(Hit {
        host: chosen.route.host.clone(),
        path: path.to_string(),
        backend: address,
    });
    backend.write_all(head.as_bytes()).await?;
    backend.write_all(&buffer[head_len..]).await?;
    tokio::io::copy_bidirectional(&mut client, &mut backend).await?;
    Ok(())
}

async fn respond(client: &mut TcpStream, status: u16, message: &str) -> std::io::Result<()> {
    let response = format!(
        "HTTP/1.1 {status} Router\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{message}",
        message.len()
    );
    client.write_all(response.as_bytes()).await?;
    client.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(host: &str, path: &str, path_type: PathType, port: u16) -> Target {
        Target::new(
            Route {
                host: host.into(),
                path: path.into(),
                path_type,
                namespace: "ns".into(),
                container_port: 8080,
            },
            vec![SocketAddr::from(([127, 0, 0, 1], port))],
        )
    }

    #[test]
    fn the_host_decides_and_its_port_is_ignored() {
        let t = [
            target("a.example.com", "/", PathType::Prefix, 1),
            target("b.example.com", "/", PathType::Prefix, 2),
        ];
        assert_eq!(
            pick(&t, "B.example.com:8443", "/x").unwrap().backends[0].port(),
            2
        );
        assert!(pick(&t, "c.example.com", "/").is_none());
    }

    #[test]
    fn prefixes_match_whole_path_elements_and_the_longest_wins() {
        let t = [
            target("a", "/", PathType::Prefix, 1),
            target("a", "/api", PathType::Prefix, 2),
            target("a", "/api/v1/ws", PathType::Exact, 3),
        ];
        assert_eq!(pick(&t, "a", "/api/x").unwrap().backends[0].port(), 2);
        assert_eq!(pick(&t, "a", "/apix").unwrap().backends[0].port(), 1);
        assert_eq!(pick(&t, "a", "/api/v1/ws").unwrap().backends[0].port(), 3);
        assert_eq!(
            pick(&t, "a", "/api/v1/ws/more").unwrap().backends[0].port(),
            2
        );
    }
}
