//! Scenario 7: message search over a large store, straight through the `Store` trait (no
//! server, no sockets: the figure is the store's). Loads `messages` synthetic messages, then
//! times two-word searches, each pair taken from a stored message so every query has hits.
//!
//! The text is Zipf-distributed over a synthetic vocabulary, as natural language is: a few
//! short words are in a large share of the messages, most words are rare and longer. Some
//! syllables carry accents, and queries are typed without them or in capitals, so the folding
//! is exercised on every query.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chat_server::model::{
    Author, AuthorKind, Conversation, ConversationStatus, Message, VisitorRef, new_id, now,
};
use chat_server::store::mongo::MongoStore;
use chat_server::store::sqlite::SqliteStore;
use chat_server::store::{Imported, Page, Store};
use hdrhistogram::Histogram;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum SearchStore {
    /// The embedded SQLite store.
    Embedded,
    /// SecantusDB, the MongoDB-wire server the tests use.
    Mongo,
}

#[derive(Clone, Debug)]
pub struct SearchParams {
    pub messages: usize,
    pub conversations: usize,
    pub queries: usize,
    pub vocabulary: usize,
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct SearchResult {
    pub store: SearchStore,
    pub messages: usize,
    pub queries: usize,
    pub load_secs: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// Average hits per query (page of at most 50).
    pub hits_avg: f64,
    /// One-minute load average when the queries ended.
    pub load_avg: f64,
}

const PAGE: u32 = 50;
const IMPORT_BATCH: usize = 5_000;
const SYLLABLES: [&str; 24] = [
    "ba", "ce", "di", "fo", "gu", "la", "me", "ni", "po", "ru", "sa", "te", "vi", "zo", "ção",
    "né", "lú", "pã", "rê", "xa", "qui", "bro", "cha", "dé",
];

/// Word of rank `r`: rank 0 is the most frequent and the shortest.
fn word(mut r: usize) -> String {
    let mut w = String::new();
    loop {
        w.push_str(SYLLABLES[r % SYLLABLES.len()]);
        r /= SYLLABLES.len();
        if r == 0 {
            return w;
        }
        r -= 1;
    }
}

/// Draws ranks with P(r) ∝ 1 / (r + 1).
struct Zipf {
    cdf: Vec<f64>,
}

impl Zipf {
    fn new(n: usize) -> Self {
        let mut total = 0.0;
        let cdf = (0..n)
            .map(|r| {
                total += 1.0 / (r as f64 + 1.0);
                total
            })
            .collect::<Vec<_>>();
        Self {
            cdf: cdf.into_iter().map(|c| c / total).collect(),
        }
    }

    fn draw(&self, rng: &mut StdRng) -> usize {
        let x: f64 = rng.random();
        self.cdf.partition_point(|&c| c < x).min(self.cdf.len() - 1)
    }
}

fn body(rng: &mut StdRng, zipf: &Zipf) -> String {
    let n = rng.random_range(6..=14);
    (0..n)
        .map(|_| word(zipf.draw(rng)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A query as a user types it: two words of a stored message, without accents or in capitals.
fn query(rng: &mut StdRng, from: &str) -> String {
    let words: Vec<&str> = from.split(' ').collect();
    let a = words[rng.random_range(0..words.len())];
    let b = words[rng.random_range(0..words.len())];
    let plain = |w: &str| chat_server::store::search::fold(w);
    format!("{} {}", plain(a), b.to_uppercase())
}

/// A store and what must live as long as it (its directory, its server).
enum Opened {
    Embedded {
        store: Arc<SqliteStore>,
        _dir: tempfile::TempDir,
    },
    Mongo {
        store: Arc<MongoStore>,
        _server: testkit::mongo::Mongo,
    },
}

impl Opened {
    fn store(&self) -> Arc<dyn Store> {
        match self {
            Self::Embedded { store, .. } => store.clone(),
            Self::Mongo { store, .. } => store.clone(),
        }
    }
}

async fn open(kind: SearchStore) -> anyhow::Result<Opened> {
    Ok(match kind {
        SearchStore::Embedded => {
            let dir = tempfile::tempdir()?;
            let store = SqliteStore::open(dir.path()).await?;
            Opened::Embedded {
                store: Arc::new(store),
                _dir: dir,
            }
        }
        SearchStore::Mongo => {
            let server = testkit::mongo::spawn_mongo(false)?;
            let uri = server.database_uri("search_bench").await;
            // SecantusDB answers one request at a time: while a search over a million messages
            // runs, the driver's heartbeat goes unanswered, and at the default 10 s it clears
            // the pool and interrupts that very search. The bench waits instead.
            let separator = if uri.contains('?') { '&' } else { '?' };
            let uri = format!("{uri}{separator}connectTimeoutMS=300000");
            let store = MongoStore::open(&uri, "search_bench").await?;
            Opened::Mongo {
                store: Arc::new(store),
                _server: server,
            }
        }
    })
}

pub async fn run(kind: SearchStore, p: &SearchParams) -> anyhow::Result<SearchResult> {
    anyhow::ensure!(p.messages > 0 && p.conversations > 0 && p.queries > 0);
    let opened = open(kind).await?;
    let store = opened.store();
    let mut rng = StdRng::seed_from_u64(13);
    let zipf = Zipf::new(p.vocabulary);

    let started = Instant::now();
    let mut samples = Vec::new();
    let mut batch: Vec<Imported> = Vec::new();
    let mut in_batch = 0;
    let mut stored = 0;
    for c in 0..p.conversations {
        // Each conversation's messages together, as a conversation is written; the queries
        // do not depend on it.
        let messages = (c + 1) * p.messages / p.conversations - c * p.messages / p.conversations;
        let at = now();
        let conversation = Conversation {
            id: new_id(),
            status: ConversationStatus::Open,
            visitor: VisitorRef {
                id: format!("visitor-{c}"),
                name: None,
            },
            assignee: None,
            created_at: at,
            updated_at: at,
            last_seq: 0,
            last_public_seq: 0,
            read: Default::default(),
            labels: Vec::new(),
            team_id: None,
            resolved_at: None,
            rating: None,
            unread: None,
        };
        let mut written = Vec::with_capacity(messages);
        for seq in 1..=messages as u64 {
            let text = body(&mut rng, &zipf);
            if samples.len() < p.queries && rng.random_ratio(p.queries as u32, p.messages as u32) {
                samples.push(text.clone());
            }
            written.push(Message {
                id: new_id(),
                conversation_id: conversation.id.clone(),
                seq,
                client_msg_id: None,
                author: Author {
                    kind: AuthorKind::Visitor,
                    id: "visitor".into(),
                    name: None,
                },
                body: text,
                attachments: Vec::new(),
                private: (stored + seq as usize).is_multiple_of(10),
                created_at: now(),
            });
        }
        stored += messages;
        in_batch += messages;
        batch.push((conversation, written));
        if in_batch >= IMPORT_BATCH || c + 1 == p.conversations {
            store
                .import_conversations(std::mem::take(&mut batch))
                .await?;
            let before = stored - in_batch;
            in_batch = 0;
            if stored / 50_000 > before / 50_000 {
                eprintln!(
                    "search {kind:?}: {stored} messages stored in {:.0?}",
                    started.elapsed()
                );
            }
        }
    }
    let load_secs = started.elapsed().as_secs_f64();
    while samples.len() < p.queries {
        samples.push(body(&mut rng, &zipf));
    }

    let mut histogram = Histogram::<u64>::new_with_bounds(1, 600_000_000, 3)?;
    let mut hits = 0usize;
    let page = Page {
        before_id: None,
        limit: PAGE,
    };
    for sample in &samples {
        let q = query(&mut rng, sample);
        let t = Instant::now();
        let found = store.search_messages(&q, &page).await?;
        histogram.record(t.elapsed().as_micros().max(1) as u64)?;
        hits += found.len();
    }
    let ms = |q: f64| Duration::from_micros(histogram.value_at_quantile(q)).as_secs_f64() * 1e3;
    Ok(SearchResult {
        store: kind,
        messages: p.messages,
        queries: samples.len(),
        load_secs,
        p50_ms: ms(0.5),
        p95_ms: ms(0.95),
        p99_ms: ms(0.99),
        max_ms: histogram.max() as f64 / 1e3,
        hits_avg: hits as f64 / samples.len() as f64,
        load_avg: crate::sys::load_avg(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frequent_words_are_short_and_every_rank_is_a_distinct_word() {
        let words: std::collections::HashSet<String> = (0..20_000).map(word).collect();
        assert_eq!(words.len(), 20_000);
        assert!(word(0).chars().count() <= 3 && word(19_999).chars().count() >= 6);
    }
}
