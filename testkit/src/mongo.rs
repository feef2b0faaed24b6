//! SecantusDB (`secantusd-py`, PyPI `SecantusDB`), a MongoDB-wire server, on 127.0.0.1 in a
//! temporary storage directory.
//!
//! With `--auth` the server is prepared the only way SecantusDB allows: start it without auth,
//! create a root user, stop it cleanly, and start it again with `--auth` on the same storage.
//! Tests then work as a tenant would in production: [`Mongo::database_uri`] creates a user with
//! `readWrite` on one database only.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use anyhow::Context;
use mongodb::bson::doc;

use crate::process::{ChildGuard, free_port, wait_for_port};
use crate::redis::locate_binary;

const ADMIN_USER: &str = "atendo-root";
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A MongoDB-wire server to test against; when this value started it, dropping it stops it and
/// removes its storage.
pub struct Mongo {
    /// Base URI without a database; with `auth`, it carries the root user's credentials.
    pub uri: String,
    pub auth: bool,
    /// Tenant URIs already handed out, so asking twice for one database is harmless.
    tenants: Mutex<HashMap<String, String>>,
    _server: Option<Server>,
}

/// Field order matters: the process stops before its storage is removed.
struct Server {
    _guard: ChildGuard,
    _storage: tempfile::TempDir,
}

/// A server without auth: the run-wide one from `ATENDO_TEST_MONGO_URL`, else a new one for the
/// caller. Panics with the reason when neither is possible.
pub fn mongo() -> Mongo {
    from_env_or_spawn("ATENDO_TEST_MONGO_URL", false)
}

/// A server with `--auth`: the run-wide one from `ATENDO_TEST_MONGO_AUTH_URL` (a URI with admin
/// credentials), else a new one for the caller.
pub fn mongo_auth() -> Mongo {
    from_env_or_spawn("ATENDO_TEST_MONGO_AUTH_URL", true)
}

fn from_env_or_spawn(var: &str, auth: bool) -> Mongo {
    match std::env::var(var) {
        Ok(uri) if !uri.trim().is_empty() => Mongo {
            uri,
            auth,
            tenants: Mutex::default(),
            _server: None,
        },
        _ => spawn_mongo(auth).unwrap_or_else(|e| panic!("{e:#}")),
    }
}

/// A server owned by the caller, on a fresh port and fresh storage.
pub fn spawn_mongo(auth: bool) -> anyhow::Result<Mongo> {
    let binary = binary()?;
    let storage = tempfile::Builder::new()
        .prefix("atendo-mongo-")
        .tempdir()
        .context("creating a storage directory for secantusd-py")?;
    // The port is picked before the server binds it; another process may take it in between.
    let mut last_error = None;
    for _ in 0..3 {
        let port = free_port();
        let started = if auth {
            start_with_auth(&binary, storage.path(), port)
        } else {
            start(&binary, storage.path(), port, false)
                .map(|guard| (guard, format!("mongodb://127.0.0.1:{port}/")))
        };
        match started {
            Ok((guard, uri)) => {
                return Ok(Mongo {
                    uri,
                    auth,
                    tenants: Mutex::default(),
                    _server: Some(Server {
                        _guard: guard,
                        _storage: storage,
                    }),
                });
            }
            Err(e) => last_error = Some(e),
        }
    }
    Err(last_error.expect("three attempts were made"))
}

impl Mongo {
    /// A URI whose path is `db`. With auth, it signs in as a user created here with `readWrite`
    /// on `db` only (so it can create that database's indexes, and nothing else anywhere).
    pub async fn database_uri(&self, db: &str) -> String {
        if let Some(uri) = self.tenants.lock().unwrap().get(db) {
            return uri.clone();
        }
        let parts = UriParts::parse(&self.uri);
        let uri = if self.auth {
            let user = format!("tenant-{db}");
            let password = crate::unique("pw");
            self.create_tenant_user(db, &user, &password)
                .await
                .unwrap_or_else(|e| panic!("creating the user for database {db}: {e:#}"));
            parts.with(Some((&user, &password)), db)
        } else {
            parts.with(None, db)
        };
        self.tenants
            .lock()
            .unwrap()
            .insert(db.to_string(), uri.clone());
        uri
    }

    async fn create_tenant_user(&self, db: &str, user: &str, password: &str) -> anyhow::Result<()> {
        let client = mongodb::Client::with_uri_str(&self.uri).await?;
        client
            .database(db)
            .run_command(doc! {
                "createUser": user,
                "pwd": password,
                "roles": [{ "role": "readWrite", "db": db }],
            })
            .await?;
        Ok(())
    }
}

fn binary() -> anyhow::Result<PathBuf> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("testkit lives inside the workspace");
    locate_binary(
        "secantusd-py",
        "SECANTUSD",
        &[workspace.join(".venv/bin/secantusd-py")],
        "install SecantusDB into the workspace's virtual environment: \
         `python3 -m venv .venv && .venv/bin/pip install SecantusDB` (or point SECANTUSD at secantusd-py)",
    )
}

fn start(binary: &Path, storage: &Path, port: u16, auth: bool) -> anyhow::Result<ChildGuard> {
    let log_path = storage.join(format!("secantusd-{port}.log"));
    let log = File::create(&log_path).context("creating the secantusd-py log")?;
    let mut command = Command::new(binary);
    command
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .arg("--storage-path")
        .arg(storage.join("db"))
        .args(["--log-level", "WARNING"])
        .args(auth.then_some("--auth"))
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    let mut guard = ChildGuard::spawn("secantusd-py", &mut command)?;
    wait_for_port(&mut guard, port, START_TIMEOUT).map_err(|e| {
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(20).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        e.context(format!(
            "secantusd-py's last log lines:\n{}",
            tail.join("\n")
        ))
    })?;
    Ok(guard)
}

/// Start, create the root user, stop cleanly (so the user is on disk), restart with `--auth`.
fn start_with_auth(
    binary: &Path,
    storage: &Path,
    port: u16,
) -> anyhow::Result<(ChildGuard, String)> {
    let password = crate::unique("root");
    let mut guard = start(binary, storage, port, false)?;
    let open_uri = format!("mongodb://127.0.0.1:{port}/");
    let admin_password = password.clone();
    on_own_runtime(async move {
        let client = mongodb::Client::with_uri_str(&open_uri).await?;
        client
            .database("admin")
            .run_command(doc! {
                "createUser": ADMIN_USER,
                "pwd": admin_password,
                "roles": [{ "role": "root", "db": "admin" }],
            })
            .await?;
        client.shutdown().await;
        Ok(())
    })
    .context("creating the root user before enabling --auth")?;
    guard.signal("TERM");
    anyhow::ensure!(
        guard.wait_timeout(START_TIMEOUT).is_some(),
        "secantusd-py did not stop within {START_TIMEOUT:?} after SIGTERM"
    );
    let guard = start(binary, storage, port, true)?;
    Ok((
        guard,
        format!("mongodb://{ADMIN_USER}:{password}@127.0.0.1:{port}/?authSource=admin"),
    ))
}

/// Runs async driver calls from sync code that may itself be inside a tokio runtime (where
/// `block_on` would panic): on a thread of its own, with a runtime of its own.
fn on_own_runtime<T: Send + 'static>(
    work: impl Future<Output = anyhow::Result<T>> + Send + 'static,
) -> anyhow::Result<T> {
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(work)
    })
    .join()
    .map_err(|_| anyhow::anyhow!("the setup thread panicked"))?
}

/// Just enough of a MongoDB URI to swap its credentials and database.
#[derive(Debug, PartialEq)]
struct UriParts<'a> {
    scheme: &'a str,
    credentials: Option<&'a str>,
    hosts: &'a str,
    query: Option<&'a str>,
}

impl<'a> UriParts<'a> {
    fn parse(uri: &'a str) -> Self {
        let (scheme, rest) = uri
            .split_once("://")
            .map_or(("mongodb", uri), |(s, r)| (s, r));
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(authority_end);
        let (credentials, hosts) = match authority.rsplit_once('@') {
            Some((c, h)) => (Some(c), h),
            None => (None, authority),
        };
        let query = tail
            .split_once('?')
            .map(|(_, q)| q)
            .filter(|q| !q.is_empty());
        Self {
            scheme,
            credentials,
            hosts,
            query,
        }
    }

    /// `user` replaces the credentials (and then the database authenticates it, so any
    /// `authSource` is dropped); `None` keeps them.
    fn with(&self, user: Option<(&str, &str)>, db: &str) -> String {
        let credentials = match user {
            Some((name, password)) => Some(format!("{name}:{password}")),
            None => self.credentials.map(str::to_string),
        };
        let query: Vec<&str> = self
            .query
            .into_iter()
            .flat_map(|q| q.split('&'))
            .filter(|kv| user.is_none() || !kv.to_ascii_lowercase().starts_with("authsource="))
            .collect();
        format!(
            "{}://{}{}/{db}{}",
            self.scheme,
            credentials.map(|c| format!("{c}@")).unwrap_or_default(),
            self.hosts,
            if query.is_empty() {
                String::new()
            } else {
                format!("?{}", query.join("&"))
            }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::UriParts;

    #[test]
    fn a_database_uri_without_auth_keeps_hosts_and_options() {
        let parts = UriParts::parse("mongodb://127.0.0.1:27017/?directConnection=true");
        assert_eq!(
            parts.with(None, "t1"),
            "mongodb://127.0.0.1:27017/t1?directConnection=true"
        );
        assert_eq!(
            UriParts::parse("mongodb://h:1").with(None, "t1"),
            "mongodb://h:1/t1"
        );
    }

    #[test]
    fn a_tenant_uri_replaces_the_admin_credentials_and_auth_source() {
        let parts =
            UriParts::parse("mongodb://root:p%40ss@h1:1,h2:2/admin?authSource=admin&w=majority");
        assert_eq!(
            parts.with(Some(("tenant-t1", "secret")), "t1"),
            "mongodb://tenant-t1:secret@h1:1,h2:2/t1?w=majority"
        );
    }
}
