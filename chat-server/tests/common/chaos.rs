//! Clients that resume per the contract while a test injects a fault, and the figures they keep.
//!
//! A participant sends its messages at a steady pace through a small window of unacknowledged
//! sends and reads everything in one conversation. Whenever its socket ends (kill, drain, slow
//! consumer, refused upgrade) it reconnects, to the next replica on its list when the close says
//! so or the connection fails, subscribes with the last seq it saw and sends every
//! unacknowledged message again with the same `client_msg_id`. A send refused with a retryable
//! error is sent again after a pause. Nothing here panics on a duplicate or a gap: they are
//! counted, and the test asserts on the counts, so a failure prints the figures.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message as WsMsg;

const WINDOW: usize = 4;
const RETRY_AFTER: Duration = Duration::from_millis(250);
const RECONNECT_PAUSE: Duration = Duration::from_millis(100);
/// Error codes the contract lets a client retry with the same `client_msg_id`.
pub const RETRYABLE: [&str; 3] = ["store_unavailable", "bus_unavailable", "rate_limited"];

pub struct Participant {
    pub name: String,
    pub token: String,
    /// Websocket URLs (`ws://…/api/v1/ws?token=…` without the token) in order of preference.
    pub ws_bases: Vec<String>,
    pub conversation: String,
    /// Messages this participant sends (0: it only reads).
    pub to_send: usize,
    pub pace: Duration,
    /// Extra bytes in each body, to make messages weigh on a slow link.
    pub body_pad: usize,
    /// Messages the conversation holds when everyone is done.
    pub expected_total: usize,
    /// Acks across all participants, so the test can inject its fault mid-stream.
    pub progress: Arc<AtomicUsize>,
    pub deadline: Duration,
}

#[derive(Debug, Default)]
pub struct Report {
    pub name: String,
    /// Distinct client ids sent, and send frames including resends.
    pub sent: usize,
    pub send_frames: usize,
    pub acked: BTreeSet<String>,
    /// (seq, client_msg_id) in arrival order, duplicates excluded.
    pub received: Vec<(u64, String)>,
    pub received_at: Vec<Instant>,
    pub ack_times: Vec<Instant>,
    /// When each client id was first sent, and when it was first acknowledged.
    pub first_sent_at: BTreeMap<String, Instant>,
    pub acked_at: BTreeMap<String, Instant>,
    pub duplicates: usize,
    /// Messages that arrived with a seq above the next expected one (a gap).
    pub out_of_order: usize,
    pub reconnects: usize,
    pub connect_failures: usize,
    pub close_codes: Vec<Option<u16>>,
    pub retryable_errors: BTreeMap<String, usize>,
    pub example_retryable: Option<Value>,
    pub other_errors: Vec<Value>,
}

impl Report {
    /// Time from `at` until this participant received a message again.
    pub fn next_delivery_after(&self, at: Instant) -> Option<Duration> {
        self.received_at
            .iter()
            .find(|t| **t >= at)
            .map(|t| t.duration_since(at))
    }

    /// Time from `at` until this participant's next acknowledged send.
    pub fn next_ack_after(&self, at: Instant) -> Option<Duration> {
        self.ack_times
            .iter()
            .find(|t| **t >= at)
            .map(|t| t.duration_since(at))
    }
}

pub fn client_id(name: &str, i: usize) -> String {
    format!("{name}-{i}")
}

pub type Stream =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

enum Ended {
    /// Closed or broken; `switch` moves to the next replica on the list.
    Socket {
        code: Option<u16>,
        switch: bool,
    },
    Done,
}

pub async fn run(p: Participant) -> Report {
    let mut r = Report {
        name: p.name.clone(),
        ..Report::default()
    };
    let deadline = Instant::now() + p.deadline;
    let mut next_to_send = 0usize;
    let mut replica = 0usize;
    while !done(&p, &r) {
        assert!(
            Instant::now() < deadline,
            "{}: stuck after {:?} with {} received, {} of {} acked; {}",
            p.name,
            p.deadline,
            r.received.len(),
            r.acked.len(),
            p.to_send,
            summary(&r)
        );
        let url = format!(
            "{}/api/v1/ws?token={}",
            p.ws_bases[replica % p.ws_bases.len()],
            p.token
        );
        let mut ws = match tokio_tungstenite::connect_async(&url).await {
            Ok((ws, _)) => ws,
            Err(_) => {
                r.connect_failures += 1;
                replica += 1;
                tokio::time::sleep(RECONNECT_PAUSE).await;
                continue;
            }
        };
        match session(&p, &mut r, &mut ws, &mut next_to_send).await {
            Ended::Done => {
                let _ = ws.close(None).await;
                break;
            }
            Ended::Socket { code, switch } => {
                r.reconnects += 1;
                r.close_codes.push(code);
                if switch {
                    replica += 1;
                }
                tokio::time::sleep(RECONNECT_PAUSE).await;
            }
        }
    }
    r
}

fn done(p: &Participant, r: &Report) -> bool {
    r.received.len() >= p.expected_total && r.acked.len() >= p.to_send
}

async fn send(ws: &mut Stream, p: &Participant, r: &mut Report, i: usize) {
    let frame = json!({"type": "send", "conversation_id": p.conversation,
        "client_msg_id": client_id(&p.name, i), "body": format!("{} says {i}{}", p.name, ".".repeat(p.body_pad))});
    r.send_frames += 1;
    r.first_sent_at
        .entry(client_id(&p.name, i))
        .or_insert_with(Instant::now);
    // A dead socket shows up on the read side; the resend after reconnect covers this one.
    let _ = ws.send(WsMsg::text(frame.to_string())).await;
}

/// One connection: subscribe, resend what is unacknowledged, then send and read until the socket
/// ends or everything is in.
async fn session(
    p: &Participant,
    r: &mut Report,
    ws: &mut Stream,
    next_to_send: &mut usize,
) -> Ended {
    let after = r.received.last().map(|m| m.0).unwrap_or(0);
    let subscribe =
        json!({"type": "subscribe", "conversation_id": p.conversation, "after_seq": after});
    if ws.send(WsMsg::text(subscribe.to_string())).await.is_err() {
        return Ended::Socket {
            code: None,
            switch: true,
        };
    }
    let mut in_flight: HashSet<usize> = (0..*next_to_send)
        .filter(|i| !r.acked.contains(&client_id(&p.name, *i)))
        .collect();
    let mut retry_at: BTreeMap<usize, Instant> = BTreeMap::new();
    let mut order: Vec<usize> = in_flight.iter().copied().collect();
    order.sort_unstable();
    for i in order {
        send(ws, p, r, i).await;
    }
    let mut next_send_at = Instant::now();
    loop {
        if done(p, r) {
            return Ended::Done;
        }
        let now = Instant::now();
        let due: Vec<usize> = retry_at
            .iter()
            .filter(|(_, t)| **t <= now)
            .map(|(i, _)| *i)
            .collect();
        for i in due {
            retry_at.remove(&i);
            send(ws, p, r, i).await;
        }
        if in_flight.len() < WINDOW && *next_to_send < p.to_send && now >= next_send_at {
            let i = *next_to_send;
            send(ws, p, r, i).await;
            in_flight.insert(i);
            *next_to_send += 1;
            r.sent = *next_to_send;
            next_send_at = now + p.pace;
        }
        let wake = retry_at
            .values()
            .copied()
            .chain((*next_to_send < p.to_send).then_some(next_send_at))
            .min()
            .unwrap_or(now + Duration::from_millis(500))
            .max(now + Duration::from_millis(1));
        let frame = match tokio::time::timeout_at(wake.into(), ws.next()).await {
            Err(_) => continue,
            Ok(Some(Ok(WsMsg::Text(t)))) => serde_json::from_str::<Value>(t.as_str()).unwrap(),
            Ok(Some(Ok(WsMsg::Close(c)))) => {
                let code = c.map(|c| u16::from(c.code));
                // A replica that is draining or restarting will not take us back.
                return Ended::Socket {
                    code,
                    switch: code == Some(1012),
                };
            }
            Ok(Some(Ok(_))) => continue,
            Ok(Some(Err(_))) | Ok(None) => {
                return Ended::Socket {
                    code: None,
                    switch: true,
                };
            }
        };
        match frame["type"].as_str() {
            Some("message") => {
                let m = &frame["message"];
                let seq = m["seq"].as_u64().expect("message seq");
                let last = r.received.last().map(|m| m.0).unwrap_or(0);
                if seq <= last {
                    r.duplicates += 1;
                    continue;
                }
                if seq != last + 1 {
                    r.out_of_order += 1;
                }
                let id = m["client_msg_id"].as_str().unwrap_or_default().to_string();
                r.received.push((seq, id));
                r.received_at.push(Instant::now());
            }
            Some("ack") => {
                let id = frame["client_msg_id"].as_str().unwrap_or_default();
                let Some(i) = id
                    .strip_prefix(&format!("{}-", p.name))
                    .and_then(|n| n.parse::<usize>().ok())
                else {
                    r.other_errors.push(frame.clone());
                    continue;
                };
                in_flight.remove(&i);
                retry_at.remove(&i);
                if r.acked.insert(id.to_string()) {
                    r.ack_times.push(Instant::now());
                    r.acked_at.insert(id.to_string(), Instant::now());
                    p.progress.fetch_add(1, Ordering::Relaxed);
                }
            }
            Some("error") => {
                let code = frame["code"].as_str().unwrap_or_default().to_string();
                if !RETRYABLE.contains(&code.as_str()) {
                    r.other_errors.push(frame.clone());
                    continue;
                }
                *r.retryable_errors.entry(code).or_default() += 1;
                r.example_retryable.get_or_insert_with(|| frame.clone());
                let reference = frame["ref"].as_str().and_then(|id| {
                    id.strip_prefix(&format!("{}-", p.name))?
                        .parse::<usize>()
                        .ok()
                });
                match reference {
                    Some(i) => {
                        retry_at.insert(i, Instant::now() + RETRY_AFTER);
                    }
                    // The subscribe itself failed (its replay could not be read): start over.
                    None => {
                        tokio::time::sleep(RETRY_AFTER).await;
                        return Ended::Socket {
                            code: None,
                            switch: false,
                        };
                    }
                }
            }
            _ => {}
        }
    }
}

/// Who takes part in a fault test: a visitor's conversation, opened on replica A, and the
/// bootstrap admin signed in on replica B.
pub struct Cast {
    pub visitor: String,
    pub agent: String,
    pub conversation: String,
}

async fn post(url: String, token: Option<&str>, body: Value) -> Value {
    let mut req = reqwest::Client::new().post(url).json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    r.json().await.unwrap()
}

impl Cast {
    pub async fn open(a_base: &str, b_base: &str) -> Self {
        let visitor = post(
            format!("{a_base}/api/v1/visitors"),
            None,
            json!({"name": "Vera"}),
        )
        .await;
        let visitor = crate::common::str_of(&visitor, "token");
        let c = post(
            format!("{a_base}/api/v1/conversations"),
            Some(&visitor),
            json!({}),
        )
        .await;
        let agent = post(
            format!("{b_base}/api/v1/agents/login"),
            None,
            json!({"email": crate::common::ADMIN_EMAIL, "password": crate::common::ADMIN_PASSWORD}),
        )
        .await;
        Self {
            visitor,
            agent: crate::common::str_of(&agent, "token"),
            conversation: crate::common::str_of(&c, "id"),
        }
    }

    /// The visitor (on A first) and the agent (on B first) each send `per_sender` messages every
    /// `pace`; an observer (on A first) only reads. Each fails over to the other replica.
    pub fn start(
        &self,
        (a_ws, b_ws): (&str, &str),
        per_sender: usize,
        pace: Duration,
        progress: &Arc<AtomicUsize>,
        deadline: Duration,
    ) -> Vec<tokio::task::JoinHandle<Report>> {
        let (a, b) = (a_ws.to_string(), b_ws.to_string());
        let p = |name: &str, token: &str, bases: Vec<String>, to_send| Participant {
            name: name.into(),
            token: token.into(),
            ws_bases: bases,
            conversation: self.conversation.clone(),
            to_send,
            pace,
            body_pad: 0,
            expected_total: 2 * per_sender,
            progress: progress.clone(),
            deadline,
        };
        [
            p(
                "visitor",
                &self.visitor,
                vec![a.clone(), b.clone()],
                per_sender,
            ),
            p("agent", &self.agent, vec![b.clone(), a.clone()], per_sender),
            p("observer", &self.agent, vec![a, b], 0),
        ]
        .into_iter()
        .map(|p| tokio::spawn(run(p)))
        .collect()
    }
}

pub fn summary(r: &Report) -> String {
    format!(
        "sent {} ({} frames), acked {}, received {}, duplicates {}, out of order {}, reconnects {} \
         (closes {:?}), connect failures {}, retryable errors {:?}, other errors {:?}",
        r.sent,
        r.send_frames,
        r.acked.len(),
        r.received.len(),
        r.duplicates,
        r.out_of_order,
        r.reconnects,
        r.close_codes,
        r.connect_failures,
        r.retryable_errors,
        r.other_errors.iter().take(3).collect::<Vec<_>>()
    )
}

/// Every stored message of `conversation`, ascending by seq, through the REST API.
pub async fn stored(base: &str, token: &str, conversation: &str) -> Vec<(u64, String)> {
    let http = reqwest::Client::new();
    let mut all = Vec::new();
    loop {
        let after = all.last().map(|m: &(u64, String)| m.0).unwrap_or(0);
        let page: Value = http
            .get(format!(
                "{base}/api/v1/conversations/{conversation}/messages?after_seq={after}&limit=200"
            ))
            .bearer_auth(token)
            .send()
            .await
            .expect("messages request")
            .json()
            .await
            .expect("messages page");
        let messages = page["messages"].as_array().expect("messages array");
        if messages.is_empty() {
            return all;
        }
        for m in messages {
            all.push((
                m["seq"].as_u64().unwrap(),
                m["client_msg_id"].as_str().unwrap_or_default().to_string(),
            ));
        }
    }
}

/// The scenario's whole claim: every participant saw every message once, in seq order, and the
/// store holds exactly the acknowledged set (seq 1..=n, no hole). Prints the figures first.
pub fn check(scenario: &str, reports: &[Report], stored: &[(u64, String)]) {
    let acked: BTreeSet<&String> = reports.iter().flat_map(|r| r.acked.iter()).collect();
    let sent: usize = reports.iter().map(|r| r.sent).sum();
    let duplicates: usize = reports.iter().map(|r| r.duplicates).sum();
    for r in reports {
        eprintln!("[{scenario}] {}: {}", r.name, summary(r));
    }
    eprintln!(
        "[{scenario}] FIGURES sent={sent} acked={} stored={} delivered_per_subscriber={:?} duplicated={duplicates}",
        acked.len(),
        stored.len(),
        reports.iter().map(|r| r.received.len()).collect::<Vec<_>>()
    );
    assert_eq!(acked.len(), sent, "every message sent was acknowledged");
    let stored_seqs: Vec<u64> = stored.iter().map(|m| m.0).collect();
    assert_eq!(
        stored_seqs,
        (1..=stored.len() as u64).collect::<Vec<_>>(),
        "stored seqs run 1..=n without a hole"
    );
    let stored_ids: BTreeSet<&String> = stored.iter().map(|m| &m.1).collect();
    assert_eq!(stored_ids.len(), stored.len(), "no client id stored twice");
    assert_eq!(
        stored_ids, acked,
        "the store holds exactly the acknowledged set"
    );
    for r in reports {
        assert_eq!(r.out_of_order, 0, "{}: no gap in delivery", r.name);
        assert_eq!(r.duplicates, 0, "{}: no message delivered twice", r.name);
        assert_eq!(
            r.received, stored,
            "{}: received every stored message once, in seq order",
            r.name
        );
        assert!(
            r.other_errors.is_empty(),
            "{}: {:?}",
            r.name,
            r.other_errors
        );
    }
}
