//! A raw Redis conversation for access checks: sign in as a user, send one command, read the
//! reply. No client library in between, so what a test sees is exactly what
//! Redis answered (a client may retry, reconnect or swallow a refused SUBSCRIBE).

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

/// What Redis answered to a command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// The first line of a non-error reply (`+OK`, `:1`, `*3`, `$5`…).
    Ok(String),
    /// An error reply without its `-`: `NOPERM …`, `WRONGPASS …`, `ERR …`.
    Refused(String),
}

impl Reply {
    pub fn is_noperm(&self) -> bool {
        matches!(self, Reply::Refused(e) if e.starts_with("NOPERM"))
    }
}

/// A whole RESP2 reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resp {
    Simple(String),
    Error(String),
    Int(i64),
    Bulk(Option<String>),
    Array(Option<Vec<Resp>>),
}

impl Resp {
    /// The text of a simple or bulk string.
    pub fn text(&self) -> Option<&str> {
        match self {
            Resp::Simple(s) | Resp::Bulk(Some(s)) => Some(s),
            _ => None,
        }
    }

    pub fn items(&self) -> &[Resp] {
        match self {
            Resp::Array(Some(items)) => items,
            _ => &[],
        }
    }

    /// The value after `key` in a flat key/value array (ACL LOG entries, HELLO).
    pub fn field(&self, key: &str) -> Option<&Resp> {
        let items = self.items();
        items
            .iter()
            .position(|k| k.text() == Some(key))
            .and_then(|i| items.get(i + 1))
    }

    fn first_line(&self) -> String {
        match self {
            Resp::Simple(s) => format!("+{s}"),
            Resp::Error(e) => format!("-{e}"),
            Resp::Int(n) => format!(":{n}"),
            Resp::Bulk(None) => "$-1".into(),
            Resp::Bulk(Some(s)) => format!("${}", s.len()),
            Resp::Array(None) => "*-1".into(),
            Resp::Array(Some(items)) => format!("*{}", items.len()),
        }
    }
}

fn read_resp(reader: &mut impl BufRead) -> anyhow::Result<Resp> {
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let line = line.trim_end_matches("\r\n");
    anyhow::ensure!(!line.is_empty(), "Redis closed the connection");
    let (kind, rest) = line.split_at(1);
    Ok(match kind {
        "+" => Resp::Simple(rest.into()),
        "-" => Resp::Error(rest.into()),
        ":" => Resp::Int(rest.parse()?),
        "$" => {
            let len: i64 = rest.parse()?;
            if len < 0 {
                Resp::Bulk(None)
            } else {
                let mut buf = vec![0; len as usize + 2];
                reader.read_exact(&mut buf)?;
                buf.truncate(len as usize);
                Resp::Bulk(Some(String::from_utf8_lossy(&buf).into_owned()))
            }
        }
        "*" => {
            let n: i64 = rest.parse()?;
            if n < 0 {
                Resp::Array(None)
            } else {
                let mut items = Vec::with_capacity(n as usize);
                for _ in 0..n {
                    items.push(read_resp(reader)?);
                }
                Resp::Array(Some(items))
            }
        }
        other => anyhow::bail!("not a RESP2 reply: {other:?}"),
    })
}

/// `AUTH user password` on a new connection to `addr` (host:port), then `command`, whose whole
/// reply is returned. An AUTH that is refused is returned as that refusal instead.
pub fn query_as(addr: &str, user: &str, password: &str, command: &[&str]) -> anyhow::Result<Resp> {
    let mut connection = Connection::open(addr)?;
    let auth = connection.send(&["AUTH", user, password])?;
    if matches!(auth, Resp::Error(_)) {
        return Ok(auth);
    }
    connection.send(command)
}

/// `command` as the default user on a new connection to `addr` (host:port); its whole reply.
pub fn query(addr: &str, command: &[&str]) -> anyhow::Result<Resp> {
    Connection::open(addr)?.send(command)
}

struct Connection {
    writer: TcpStream,
    reader: BufReader<TcpStream>,
}

impl Connection {
    fn open(addr: &str) -> anyhow::Result<Self> {
        let stream = TcpStream::connect(addr)?;
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        Ok(Self {
            writer: stream.try_clone()?,
            reader: BufReader::new(stream),
        })
    }

    fn send(&mut self, args: &[&str]) -> anyhow::Result<Resp> {
        let mut frame = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            frame.extend(format!("${}\r\n", a.len()).bytes());
            frame.extend(a.bytes());
            frame.extend(b"\r\n");
        }
        self.writer.write_all(&frame)?;
        read_resp(&mut self.reader)
    }
}

/// [`query_as`], reduced to what an access check needs: refused, or the reply's first line.
pub fn command_as(
    addr: &str,
    user: &str,
    password: &str,
    command: &[&str],
) -> anyhow::Result<Reply> {
    Ok(match query_as(addr, user, password, command)? {
        Resp::Error(e) => Reply::Refused(e),
        other => Reply::Ok(other.first_line()),
    })
}

/// host:port of a `redis://[user:pass@]host:port[/db]` URL (for a cluster URL, its first node).
pub fn address(url: &str) -> Option<String> {
    let rest = url.split("://").nth(1)?;
    let authority = rest.split(['/', '?']).next()?;
    Some(authority.rsplit('@').next()?.to_string())
}

#[cfg(test)]
mod tests {
    use super::{Resp, read_resp};

    #[test]
    fn nested_replies_are_read_whole() {
        let wire = b"*2\r\n*4\r\n$8\r\nusername\r\n$8\r\ntenant-a\r\n$6\r\nobject\r\n$10\r\npsubscribe\r\n:7\r\n";
        let reply = read_resp(&mut &wire[..]).unwrap();
        let entry = &reply.items()[0];
        assert_eq!(
            entry.field("username").and_then(Resp::text),
            Some("tenant-a")
        );
        assert_eq!(
            entry.field("object").and_then(Resp::text),
            Some("psubscribe")
        );
        assert_eq!(reply.items()[1], Resp::Int(7));
    }

    #[test]
    fn the_address_leaves_out_credentials_and_database() {
        assert_eq!(
            super::address("redis://u:p@127.0.0.1:6390/0").as_deref(),
            Some("127.0.0.1:6390")
        );
        assert_eq!(
            super::address("redis://127.0.0.1:6390").as_deref(),
            Some("127.0.0.1:6390")
        );
    }
}
