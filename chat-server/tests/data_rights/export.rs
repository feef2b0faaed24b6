//! `GET /api/v1/export`: the whole tenant as NDJSON, streamed page by page.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::support::Deployment;
use crate::common::str_of;

/// Every line of the export, parsed (a line that does not parse fails the test).
async fn export(d: &Deployment) -> (reqwest::header::HeaderMap, Vec<Value>) {
    let r = d.get_raw("/api/v1/export", &d.admin).await;
    assert_eq!(r.status(), 200);
    let headers = r.headers().clone();
    let text = r.text().await.expect("the whole export arrives");
    assert!(text.ends_with('\n'), "every line ends with a newline");
    let lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("line {}: {e}: {l}", i + 1))
        })
        .collect();
    (headers, lines)
}

fn of_kind<'a>(lines: &'a [Value], kind: &str) -> Vec<&'a Value> {
    lines.iter().filter(|l| l["kind"] == kind).collect()
}

pub async fn the_export_holds_every_object_of_the_tenant_one_per_line(d: Deployment) {
    let (ana_id, ana) = d.agent("Ana").await;
    let (s, team) = d
        .post(
            "/api/v1/teams",
            Some(&d.admin),
            json!({"name": "Billing", "agent_ids": [ana_id]}),
        )
        .await;
    assert_eq!(s, 201, "{team}");
    let (s, canned) = d
        .post(
            "/api/v1/canned-responses",
            Some(&d.admin),
            json!({"shortcut": "hello", "body": "Olá! Como posso ajudar?"}),
        )
        .await;
    assert_eq!(s, 201, "{canned}");
    let (vid, visitor) = d.visitor("Vera", Some("vera@example.com")).await;
    let c = d.conversation(&visitor).await;
    d.send(&visitor, &c, "hello", false, &[]).await;
    let (file, _) = d.upload(&visitor, &c, "receipt.pdf", b"%PDF receipt").await;
    d.send(&visitor, &c, "the receipt", false, &[file.as_str()])
        .await;
    d.send(&ana, &c, "looks fine", true, &[]).await;
    d.send(&ana, &c, "all good!", false, &[]).await;
    let (s, _) = d
        .call(
            reqwest::Method::PUT,
            &format!("/api/v1/conversations/{c}/labels"),
            Some(&ana),
            Some(json!({"labels": ["billing"]})),
        )
        .await;
    assert_eq!(s, 200);
    let (s, resolved) = d
        .post(
            &format!("/api/v1/conversations/{c}/status"),
            Some(&ana),
            json!({"status": "resolved"}),
        )
        .await;
    assert_eq!(s, 200, "{resolved}");
    let (s, rating) = d
        .post(
            &format!("/api/v1/conversations/{c}/rating"),
            Some(&visitor),
            json!({"score": 4, "comment": "Rápido e gentil"}),
        )
        .await;
    assert_eq!(s, 201, "{rating}");

    let (headers, lines) = export(&d).await;
    assert_eq!(headers["content-type"], "application/x-ndjson");
    let disposition = headers["content-disposition"].to_str().unwrap();
    assert!(
        disposition.starts_with("attachment; filename=\"atendo-export-")
            && disposition.ends_with(".ndjson\""),
        "{disposition}"
    );
    assert!(
        headers.get("content-length").is_none(),
        "streamed, not assembled first: {headers:?}"
    );
    assert_eq!(lines.first().unwrap()["kind"], "export");
    assert_eq!(lines.last().unwrap()["kind"], "end");
    for l in &lines {
        assert!(l["kind"].is_string(), "{l}");
    }

    let agents = of_kind(&lines, "agent");
    assert_eq!(agents.len(), 2, "the admin and Ana");
    for a in &agents {
        let text = a.to_string();
        assert!(
            !text.contains("password") && !text.contains("$argon2"),
            "{text}"
        );
        assert!(a["email"].is_string() && a["role"].is_string(), "{a}");
    }
    let teams = of_kind(&lines, "team");
    assert_eq!((teams.len(), &teams[0]["agent_ids"]), (1, &json!([ana_id])));
    assert_eq!(of_kind(&lines, "canned_response")[0]["shortcut"], "hello");
    let visitors = of_kind(&lines, "visitor");
    assert_eq!(visitors.len(), 1);
    assert_eq!(
        (&visitors[0]["id"], &visitors[0]["email"]),
        (&json!(vid), &json!("vera@example.com"))
    );
    let conversations = of_kind(&lines, "conversation");
    assert_eq!(conversations.len(), 1);
    assert_eq!(conversations[0]["labels"], json!(["billing"]));
    assert_eq!(conversations[0]["last_seq"], 4);
    // The visitor's rating travels inside its conversation's line.
    let rated = &conversations[0]["rating"];
    assert_eq!(
        (&rated["score"], &rated["comment"]),
        (&json!(4), &json!("Rápido e gentil")),
        "{}",
        conversations[0]
    );
    assert!(rated["created_at"].is_string(), "{rated}");
    let bodies: Vec<&str> = lines
        .iter()
        .filter(|l| l["kind"] == "message" || l["kind"] == "note")
        .map(|l| l["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, ["hello", "the receipt", "looks fine", "all good!"]);
    let notes = of_kind(&lines, "note");
    assert_eq!((notes.len(), &notes[0]["private"]), (1, &json!(true)));
    let attachments = of_kind(&lines, "attachment");
    assert_eq!(attachments.len(), 1);
    assert_eq!(
        (&attachments[0]["id"], &attachments[0]["filename"]),
        (&json!(file), &json!("receipt.pdf"))
    );

    let counts = &lines.last().unwrap()["counts"];
    let mut seen: BTreeMap<String, u64> = BTreeMap::new();
    for l in &lines[1..lines.len() - 1] {
        *seen
            .entry(l["kind"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    assert_eq!(counts, &serde_json::to_value(&seen).unwrap());

    // Admins only.
    for token in [&ana, &visitor] {
        let (s, e) = d.get("/api/v1/export", token).await;
        assert_eq!(
            (s, e["error"]["code"].as_str()),
            (403, Some("forbidden")),
            "{e}"
        );
    }
}

/// More than one store page of conversations (200) and of one conversation's messages: the
/// export pages through all of them and every line parses.
pub async fn a_large_tenant_exports_completely_across_store_pages(d: Deployment) {
    const CONVERSATIONS: usize = 230;
    const MESSAGES: usize = 450;
    let (_, visitor) = d.visitor("Vera", None).await;
    let big = d.conversation(&visitor).await;
    let sends = (0..MESSAGES).map(|i| {
        let (d, visitor, big) = (&d, &visitor, &big);
        async move {
            let path = format!("/api/v1/conversations/{big}/messages");
            let body = json!({"body": format!("message {i}"), "client_msg_id": format!("m{i}")});
            let (s, m) = d.post(&path, Some(visitor), body).await;
            assert_eq!(s, 201, "{m}");
        }
    });
    futures::stream::iter(sends)
        .buffer_unordered(8)
        .collect::<Vec<_>>()
        .await;
    let starts = (1..CONVERSATIONS).map(|i| {
        let d = &d;
        async move {
            let (_, v) = d.visitor(&format!("V{i}"), None).await;
            let c = d.conversation(&v).await;
            d.send(&v, &c, &format!("first of {i}"), false, &[]).await;
            c
        }
    });
    let mut ids: Vec<String> = futures::stream::iter(starts)
        .buffer_unordered(8)
        .collect()
        .await;
    ids.push(big.clone());

    let (_, lines) = export(&d).await;
    let end = lines.last().unwrap();
    assert_eq!(end["kind"], "end");
    let mut exported: Vec<String> = of_kind(&lines, "conversation")
        .iter()
        .map(|c| str_of(c, "id"))
        .collect();
    exported.sort();
    ids.sort();
    assert_eq!(exported, ids);
    let messages = of_kind(&lines, "message");
    assert_eq!(messages.len(), MESSAGES + CONVERSATIONS - 1);
    let seqs: Vec<u64> = messages
        .iter()
        .filter(|m| m["conversation_id"] == json!(big))
        .map(|m| m["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, (1..=MESSAGES as u64).collect::<Vec<_>>());
    assert_eq!(of_kind(&lines, "visitor").len(), CONVERSATIONS);
    assert_eq!(
        end["counts"]["message"],
        json!(MESSAGES + CONVERSATIONS - 1)
    );
    eprintln!(
        "exported {} lines ({CONVERSATIONS} conversations, {} messages)",
        lines.len(),
        messages.len()
    );
}

use futures::StreamExt;
