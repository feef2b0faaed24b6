//! Scenario 8: the summary report (`GET /api/v1/reports/summary`) over a large embedded store.
//! Fills the store directly through the `Store` trait (`import_conversations`, batches of
//! 5,000 in one transaction each) with `conversations` synthetic conversations spread over the
//! 30 days before now — each with a visitor message, an agent reply and a second visitor
//! message, 80% resolved, a third of those rated — then starts a chat-server on that store in
//! this process and times the summary of those 30 days over HTTP, as the console asks for it.

use std::time::{Duration, Instant};

use chat_server::model::{
    Author, AuthorKind, Conversation, ConversationStatus, Message, Rating, VisitorRef, new_id,
};
use chat_server::store::Store;
use chat_server::store::sqlite::SqliteStore;
use chrono::{DateTime, Utc};
use clap::Parser;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

#[derive(Clone, Debug)]
pub struct ReportsParams {
    pub conversations: usize,
    /// Summary calls timed (after one untimed warm-up call).
    pub calls: usize,
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct ReportsResult {
    pub conversations: usize,
    pub messages: usize,
    pub load_secs: f64,
    pub calls: usize,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub max_ms: f64,
    /// CPU time this process (server and client; the server runs in it) used per call: on a
    /// shared machine, the figure the load average does not inflate.
    #[serde(default)]
    pub cpu_ms_per_call: f64,
    /// What the summary counted: must equal `conversations`.
    pub counted: u64,
    /// One-minute load average when the calls ended.
    pub load_avg: f64,
}

const BATCH: usize = 5_000;
const AGENTS: usize = 8;
const DAYS: i64 = 30;
const ADMIN: (&str, &str) = ("bench@atendo.test", "bench-reports-password-2026");

/// Conversation `i` of `n`, spread evenly over the `DAYS` days before `now`.
fn conversation(
    i: usize,
    n: usize,
    now: DateTime<Utc>,
    rng: &mut StdRng,
) -> (Conversation, Vec<Message>) {
    let span = chrono::Duration::days(DAYS).num_milliseconds();
    let created = now - chrono::Duration::milliseconds(span - span * i as i64 / n as i64);
    let secs = chrono::Duration::seconds;
    let id = new_id();
    let asked = created + secs(rng.random_range(0..60));
    let answered = asked + secs(rng.random_range(10..1_800));
    let resolved = rng
        .random_ratio(4, 5)
        .then(|| answered + secs(rng.random_range(60..28_800)));
    let rating = resolved
        .filter(|_| rng.random_ratio(1, 3))
        .map(|at| Rating {
            score: [1, 2, 3, 4, 4, 5, 5, 5][rng.random_range(0..8)],
            comment: None,
            created_at: at + secs(30),
        });
    let say = |seq: u64, kind: AuthorKind, at: DateTime<Utc>| Message {
        id: new_id(),
        conversation_id: id.clone(),
        seq,
        client_msg_id: None,
        author: Author {
            kind,
            id: format!("{kind:?}-{i}"),
            name: None,
        },
        body: "olá, preciso de ajuda com o meu pedido".into(),
        attachments: Vec::new(),
        private: false,
        created_at: at,
    };
    let messages = vec![
        say(1, AuthorKind::Visitor, asked),
        say(2, AuthorKind::Agent, answered),
        say(3, AuthorKind::Visitor, answered + secs(20)),
    ];
    let c = Conversation {
        id: id.clone(),
        status: match resolved {
            Some(_) => ConversationStatus::Resolved,
            None => ConversationStatus::Open,
        },
        visitor: VisitorRef {
            id: format!("visitor-{i}"),
            name: None,
        },
        assignee: Some(format!("bench-agent-{}", i % AGENTS)),
        created_at: created,
        updated_at: resolved.unwrap_or(answered),
        last_seq: 0,
        last_public_seq: 0,
        read: Default::default(),
        labels: Vec::new(),
        team_id: None,
        resolved_at: resolved,
        rating,
        unread: None,
    };
    (c, messages)
}

pub async fn run(p: &ReportsParams) -> anyhow::Result<ReportsResult> {
    anyhow::ensure!(p.conversations > 0 && p.calls > 0);
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    let now = Utc::now();
    let started = Instant::now();
    {
        let store = SqliteStore::open(&data).await?;
        let mut rng = StdRng::seed_from_u64(8);
        let mut batch = Vec::with_capacity(BATCH);
        for i in 0..p.conversations {
            batch.push(conversation(i, p.conversations, now, &mut rng));
            if batch.len() == BATCH || i + 1 == p.conversations {
                store
                    .import_conversations(std::mem::take(&mut batch))
                    .await?;
            }
            if (i + 1) % 20_000 == 0 {
                eprintln!(
                    "reports: {} conversations stored in {:.0?}",
                    i + 1,
                    started.elapsed()
                );
            }
        }
    }
    let load_secs = started.elapsed().as_secs_f64();

    let config = chat_server::config::Config::try_parse_from([
        "chat-server".to_string(),
        format!("--store={}", data.display()),
        format!("--upload-dir={}", dir.path().join("uploads").display()),
        "--signing-key=bench-signing-key-0123456789abcdefghijklmnop".to_string(),
        format!("--admin-email={}", ADMIN.0),
        format!("--admin-password={}", ADMIN.1),
        "--bus=local".to_string(),
    ])?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let shutdown = tokio_util::sync::CancellationToken::new();
    let server = tokio::spawn(chat_server::server::serve(
        config,
        listener,
        shutdown.clone(),
    ));
    let result = measure(&base, now, p).await;
    shutdown.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(10), server).await;
    let (mut times, counted, cpu_ms_per_call) = result?;
    times.sort_by(f64::total_cmp);
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    Ok(ReportsResult {
        conversations: p.conversations,
        messages: p.conversations * 3,
        load_secs,
        calls: times.len(),
        p50_ms: at(0.5),
        p95_ms: at(0.95),
        max_ms: at(1.0),
        cpu_ms_per_call,
        counted,
        load_avg: crate::sys::load_avg(),
    })
}

/// The call times in ms, the conversations the summary counted, and the CPU ms per call.
async fn measure(
    base: &str,
    now: DateTime<Utc>,
    p: &ReportsParams,
) -> anyhow::Result<(Vec<f64>, u64, f64)> {
    let http = reqwest::Client::new();
    let mut token = None;
    for _ in 0..100 {
        let login = http
            .post(format!("{base}/api/v1/agents/login"))
            .json(&serde_json::json!({"email": ADMIN.0, "password": ADMIN.1}))
            .send()
            .await;
        if let Ok(r) = login
            && r.status().is_success()
        {
            let v: serde_json::Value = r.json().await?;
            token = v["token"].as_str().map(str::to_string);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let token = token.ok_or_else(|| anyhow::anyhow!("the bench server never let the admin in"))?;
    // The whole 30 days (and today), as the console's date range sends them.
    let from = (now - chrono::Duration::days(DAYS)).date_naive();
    let url = format!(
        "{base}/api/v1/reports/summary?from={from}&to={}",
        now.date_naive()
    );
    let mut times = Vec::with_capacity(p.calls);
    let mut counted = 0;
    let mut cpu_started = 0.0;
    for call in 0..=p.calls {
        if call == 1 {
            cpu_started = crate::sys::cpu_seconds(std::process::id())?;
        }
        let t = Instant::now();
        let r = http.get(&url).bearer_auth(&token).send().await?;
        anyhow::ensure!(r.status().is_success(), "summary answered {}", r.status());
        let v: serde_json::Value = r.json().await?;
        let ms = t.elapsed().as_secs_f64() * 1e3;
        counted = v["conversations"].as_u64().unwrap_or(0);
        if call > 0 {
            times.push(ms);
        }
    }
    let cpu = crate::sys::cpu_seconds(std::process::id())? - cpu_started;
    Ok((times, counted, cpu * 1e3 / p.calls as f64))
}
