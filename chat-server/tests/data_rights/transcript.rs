//! `GET /api/v1/conversations/{id}/transcript?format=json|text|html`.

use serde_json::Value;

use super::support::Deployment;

const FORMATS: [(&str, &str, &str); 3] = [
    ("json", "application/json", "json"),
    ("text", "text/plain; charset=utf-8", "txt"),
    ("html", "text/html; charset=utf-8", "html"),
];

/// A conversation with a visitor message, a note carrying an attachment, a reply with markup in
/// it and a trailing note: (visitor token, conversation id).
async fn worked_conversation(d: &Deployment) -> (String, String) {
    let (_, visitor) = d.visitor("Vera", Some("vera@example.com")).await;
    let c = d.conversation(&visitor).await;
    let (_, agent) = d.agent("Ana").await;
    d.send(&visitor, &c, "hello, my order is late", false, &[])
        .await;
    let (file, _) = d
        .upload(&agent, &c, "internal-ledger.pdf", b"%PDF-1.4 ledger")
        .await;
    d.send(
        &agent,
        &c,
        "SECRET-NOTE refund approved",
        true,
        &[file.as_str()],
    )
    .await;
    d.send(
        &agent,
        &c,
        "<script>alert('x')</script> sorry & thanks",
        false,
        &[],
    )
    .await;
    d.send(&agent, &c, "SECRET-TRAILING watch this one", true, &[])
        .await;
    (visitor, c)
}

/// Each format as `token` gets it: (content type, disposition, body).
async fn every_format(d: &Deployment, c: &str, token: &str) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for (format, _, _) in FORMATS {
        let r = d
            .get_raw(
                &format!("/api/v1/conversations/{c}/transcript?format={format}"),
                token,
            )
            .await;
        assert_eq!(r.status(), 200, "format {format}");
        let header = |name: &str| {
            r.headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_string())
                .unwrap_or_default()
        };
        let (ty, disposition) = (header("content-type"), header("content-disposition"));
        out.push((ty, disposition, r.text().await.unwrap()));
    }
    out
}

pub async fn an_agent_gets_every_message_with_notes_marked_in_every_format(d: Deployment) {
    let (_, c) = worked_conversation(&d).await;
    let docs = every_format(&d, &c, &d.admin).await;
    for ((ty, disposition, body), (format, want_ty, ext)) in docs.iter().zip(FORMATS) {
        assert_eq!(ty, want_ty, "{format}");
        assert!(
            disposition.starts_with("attachment;")
                && disposition.contains(&format!("filename=\"transcript-{c}.{ext}\"")),
            "{format}: {disposition}"
        );
        for text in [
            "hello, my order is late",
            "SECRET-NOTE refund approved",
            "internal-ledger.pdf",
            "SECRET-TRAILING",
        ] {
            assert!(body.contains(text), "{format} lacks {text:?}: {body}");
        }
    }
    let json: Value = serde_json::from_str(&docs[0].2).unwrap();
    let messages = json["messages"].as_array().unwrap();
    let private: Vec<bool> = messages
        .iter()
        .map(|m| m["private"].as_bool().unwrap_or(false))
        .collect();
    assert_eq!(private, [false, true, false, true], "{json}");
    assert_eq!(json["conversation"]["last_seq"], 4);
    assert_eq!(json["visitor"]["email"], "vera@example.com");
    assert!(docs[1].2.contains("(agent) [private note]: SECRET-NOTE"));
    assert!(docs[2].2.contains("class=\"message agent note\""));
}

pub async fn a_visitor_gets_its_own_transcript_without_any_trace_of_a_note(d: Deployment) {
    let (visitor, c) = worked_conversation(&d).await;
    let docs = every_format(&d, &c, &visitor).await;
    for ((_, _, body), (format, _, _)) in docs.iter().zip(FORMATS) {
        assert!(body.contains("hello, my order is late"), "{format}");
        for secret in [
            "SECRET",
            "internal-ledger",
            "private note",
            "Private note",
            "\"private\"",
        ] {
            assert!(!body.contains(secret), "{format} shows {secret:?}: {body}");
        }
    }
    let json: Value = serde_json::from_str(&docs[0].2).unwrap();
    let seqs: Vec<u64> = json["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, [1, 3]);
    // The last seq a visitor is shown is its last message's, never a note's.
    assert_eq!(json["conversation"]["last_seq"], 3, "{json}");

    // Another visitor gets none of it; a stranger's token nothing at all.
    let (_, stranger) = d.visitor("Otto", None).await;
    let (s, e) = d
        .get(&format!("/api/v1/conversations/{c}/transcript"), &stranger)
        .await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (403, Some("forbidden")),
        "{e}"
    );
    let r = d
        .get_raw(&format!("/api/v1/conversations/{c}/transcript"), "nope")
        .await;
    assert_eq!(r.status(), 401);
}

pub async fn markup_in_a_message_is_escaped_in_the_html_transcript(d: Deployment) {
    let (_, c) = worked_conversation(&d).await;
    let r = d
        .get_raw(
            &format!("/api/v1/conversations/{c}/transcript?format=html"),
            &d.admin,
        )
        .await;
    let policy = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        policy.contains("default-src 'none'") && policy.contains("sandbox"),
        "{policy}"
    );
    let html = r.text().await.unwrap();
    assert!(!html.contains("<script"), "{html}");
    assert!(
        html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; sorry &amp; thanks"),
        "{html}"
    );
}

pub async fn an_unknown_format_or_conversation_is_refused_by_name(d: Deployment) {
    let (_, c) = worked_conversation(&d).await;
    let (s, e) = d
        .get(
            &format!("/api/v1/conversations/{c}/transcript?format=pdf"),
            &d.admin,
        )
        .await;
    assert_eq!(s, 400, "{e}");
    assert_eq!(e["error"]["code"], "invalid_format");
    assert!(
        e["error"]["message"].as_str().unwrap().contains("format"),
        "{e}"
    );
    let (s, e) = d
        .get(
            "/api/v1/conversations/nope/transcript?format=text",
            &d.admin,
        )
        .await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (404, Some("not_found")),
        "{e}"
    );
    // Without a format: JSON.
    let r = d
        .get_raw(&format!("/api/v1/conversations/{c}/transcript"), &d.admin)
        .await;
    assert_eq!(r.headers()["content-type"], "application/json");
}
