//! The tenant export: everything the desk holds as NDJSON, one object per line, each with a
//! `"kind"`: `export` (first), `agent` (never a password hash or an OIDC link), `team`,
//! `canned_response`, `visitor`, `conversation` (labels and read state included), then that
//! conversation's `message`s and `note`s (ascending seq) and `attachment`s (the records; the
//! files stay in the bucket), and `end` (last, with the counts, so a reader can tell a complete
//! export from a cut one).
//!
//! It is produced page by page while the client reads it: a task reads a page from the store,
//! writes its lines into a small channel, and waits when the client is slower, so memory stays
//! bounded however big the tenant is. A store failure midway ends the stream with an `error`
//! line and aborts the response, which the client sees as an incomplete transfer.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use futures::Stream;
use serde::Serialize;
use tokio::sync::mpsc;

use super::{Chat, require_admin};
use crate::auth::Principal;
use crate::error::Error;
use crate::model::now;
use crate::store::{ConversationFilter, Page};

/// Items read per store query.
const PAGE: u32 = 200;
/// Lines buffered between the store reader and the client.
const BUFFERED: usize = 64;

type Line = Result<Bytes, Error>;

impl Chat {
    /// The export as a stream of lines (each ending in `\n`), for `by`, an admin.
    pub fn export(
        self: &Arc<Self>,
        by: &Principal,
    ) -> Result<impl Stream<Item = Line> + Send + 'static, Error> {
        require_admin(by, "export the tenant")?;
        let (tx, rx) = mpsc::channel(BUFFERED);
        let chat = self.clone();
        tokio::spawn(async move {
            let mut out = Writer {
                tx,
                counts: BTreeMap::new(),
            };
            if let Err(e) = chat.write_export(&mut out).await {
                if e.code == GONE {
                    return;
                }
                tracing::warn!(error = %e, "the export failed midway");
                let line = serde_json::json!({"kind": "error", "message": e.message});
                let _ = out.tx.send(Ok(to_line(&line))).await;
                let _ = out.tx.send(Err(e)).await;
            }
        });
        Ok(futures::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|line| (line, rx))
        }))
    }

    async fn write_export(&self, out: &mut Writer) -> Result<(), Error> {
        out.raw(&serde_json::json!({"kind": "export", "version": 1, "generated_at": now()}))
            .await?;
        for agent in self.all_agents().await? {
            out.item("agent", &agent).await?;
        }
        let mut page = first_page();
        loop {
            let teams = self.store.list_teams(&page).await?;
            for t in &teams {
                out.item("team", t).await?;
            }
            if !next_page(&mut page, teams.last().map(|t| &t.id), teams.len()) {
                break;
            }
        }
        let mut page = first_page();
        loop {
            let canned = self.store.list_canned_responses(&page).await?;
            for c in &canned {
                out.item("canned_response", c).await?;
            }
            if !next_page(&mut page, canned.last().map(|c| &c.id), canned.len()) {
                break;
            }
        }
        let mut page = first_page();
        loop {
            let visitors = self.store.list_visitors(&page).await?;
            for v in &visitors {
                out.item("visitor", v).await?;
            }
            if !next_page(&mut page, visitors.last().map(|v| &v.id), visitors.len()) {
                break;
            }
        }
        let mut filter = ConversationFilter {
            limit: PAGE,
            ..ConversationFilter::default()
        };
        loop {
            let conversations = self.store.list_conversations(&filter).await?;
            for c in &conversations {
                out.item("conversation", c).await?;
                self.export_conversation(out, &c.id).await?;
            }
            if conversations.len() < PAGE as usize {
                break;
            }
            filter.before_id = conversations.last().map(|c| c.id.clone());
        }
        let counts = serde_json::to_value(&out.counts).unwrap_or_default();
        out.raw(&serde_json::json!({"kind": "end", "counts": counts}))
            .await
    }

    async fn export_conversation(&self, out: &mut Writer, id: &str) -> Result<(), Error> {
        let mut after = 0;
        loop {
            let messages = self.store.messages_after(id, after, PAGE).await?;
            for m in &messages {
                out.item(if m.private { "note" } else { "message" }, m)
                    .await?;
            }
            match messages.last() {
                Some(last) if messages.len() == PAGE as usize => after = last.seq,
                _ => break,
            }
        }
        for a in self.store.attachments_of(id).await? {
            out.item("attachment", &a).await?;
        }
        Ok(())
    }
}

/// The error that stops the export because the client went away: nothing left to tell.
const GONE: &str = "export_abandoned";

struct Writer {
    tx: mpsc::Sender<Line>,
    counts: BTreeMap<&'static str, u64>,
}

impl Writer {
    /// `value`'s fields with `"kind": kind` among them, as one line.
    async fn item(&mut self, kind: &'static str, value: &impl Serialize) -> Result<(), Error> {
        let mut object = match serde_json::to_value(value) {
            Ok(serde_json::Value::Object(o)) => o,
            Ok(other) => {
                let mut o = serde_json::Map::new();
                o.insert("value".into(), other);
                o
            }
            Err(e) => return Err(Error::internal("export_failed", e.to_string())),
        };
        object.insert("kind".into(), kind.into());
        *self.counts.entry(kind).or_default() += 1;
        self.raw(&serde_json::Value::Object(object)).await
    }

    async fn raw(&mut self, line: &serde_json::Value) -> Result<(), Error> {
        self.tx
            .send(Ok(to_line(line)))
            .await
            .map_err(|_| Error::new(crate::error::Kind::Invalid, GONE, "the client went away"))
    }
}

fn to_line(value: &serde_json::Value) -> Bytes {
    let mut text = value.to_string();
    text.push('\n');
    Bytes::from(text)
}

fn first_page() -> Page {
    Page {
        before_id: None,
        limit: PAGE,
    }
}

/// Moves `page` past a batch of `len` items ending at `last`; false after the last page.
fn next_page(page: &mut Page, last: Option<&String>, len: usize) -> bool {
    match last {
        Some(id) if len == PAGE as usize => {
            page.before_id = Some(id.clone());
            true
        }
        _ => false,
    }
}
