//! `DELETE /api/v1/visitors/{id}`: the visitor, every conversation it started and everything in
//! them gone from the store and the bucket; its tokens revoked on every replica.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::support::{Deployment, Gate, s3_client, versions_under};

/// Upload URLs live this long in the late-upload cases.
const URL_SECS: u64 = 3;
use crate::common::Ws;

/// Files still stored below `uploads/conversations/{conversation}`.
fn files_of(d: &Deployment, conversation: &str) -> Vec<std::path::PathBuf> {
    let root = d
        .dir
        .as_ref()
        .expect("a local upload dir")
        .path()
        .join("uploads/conversations")
        .join(conversation);
    let mut found = Vec::new();
    let mut dirs = vec![root];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                found.push(path);
            }
        }
    }
    found
}

/// The short-lived download URL of an attachment, as the console asks for it.
async fn download_url(d: &Deployment, token: &str, attachment: &str) -> String {
    let r = d
        .http
        .get(d.url(&format!("/api/v1/attachments/{attachment}")))
        .bearer_auth(token)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    d.url(v["url"].as_str().unwrap())
}

async fn erase(d: &Deployment, visitor: &str, token: &str) -> (u16, Value) {
    d.call(
        reqwest::Method::DELETE,
        &format!("/api/v1/visitors/{visitor}"),
        Some(token),
        None,
    )
    .await
}

pub async fn erasing_a_visitor_removes_everything_it_started_and_nothing_else(d: Deployment) {
    let (vid, visitor) = d.visitor("Vera", Some("vera@example.com")).await;
    let (_, agent) = d.agent("Ana").await;
    let c1 = d.conversation(&visitor).await;
    d.send(&visitor, &c1, "zebra my order is late", false, &[])
        .await;
    let (f1, _) = d
        .upload(&visitor, &c1, "passport.pdf", b"%PDF passport")
        .await;
    d.send(
        &visitor,
        &c1,
        "zebra here is my passport",
        false,
        &[f1.as_str()],
    )
    .await;
    d.send(&agent, &c1, "zebra note: check the passport", true, &[])
        .await;
    let c2 = d.conversation(&visitor).await;
    // Uploaded but never sent: still the visitor's data.
    let (f2, _) = d.upload(&agent, &c2, "invoice.pdf", b"%PDF invoice").await;
    d.send(&agent, &c2, "zebra reply", false, &[]).await;
    let old_url = download_url(&d, &d.admin, &f1).await;
    assert_eq!(d.http.get(&old_url).send().await.unwrap().status(), 200);
    assert_eq!(files_of(&d, &c1).len(), 1);
    assert_eq!(files_of(&d, &c2).len(), 1);

    // Someone else's conversation, which must stay whole.
    let (_, other) = d.visitor("Otto", None).await;
    let kept = d.conversation(&other).await;
    d.send(&other, &kept, "yak hello", false, &[]).await;
    let (kept_file, _) = d.upload(&other, &kept, "kept.pdf", b"%PDF kept").await;
    d.send(&other, &kept, "yak file", false, &[kept_file.as_str()])
        .await;

    let (_, plain) = d.agent("Bruno").await;
    let (s, e) = erase(&d, &vid, &plain).await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (403, Some("forbidden")),
        "{e}"
    );
    let (s, e) = erase(&d, &vid, &visitor).await;
    assert_eq!(s, 403, "{e}");

    let (s, erased) = erase(&d, &vid, &d.admin).await;
    assert_eq!(s, 200, "{erased}");
    assert_eq!(
        erased,
        json!({"conversations": 2, "messages": 4, "attachments": 2})
    );

    // Gone from the store: conversations, messages, notes, attachments, search.
    for c in [&c1, &c2] {
        let (s, e) = d.get(&format!("/api/v1/conversations/{c}"), &d.admin).await;
        assert_eq!(s, 404, "{e}");
        let (s, _) = d
            .get(&format!("/api/v1/conversations/{c}/transcript"), &d.admin)
            .await;
        assert_eq!(s, 404);
        assert!(files_of(&d, c).is_empty(), "{:?}", files_of(&d, c));
    }
    for f in [&f1, &f2] {
        let (s, _) = d.get(&format!("/api/v1/attachments/{f}"), &d.admin).await;
        assert_eq!(s, 404);
    }
    assert_eq!(d.http.get(&old_url).send().await.unwrap().status(), 404);
    let (_, hits) = d.get("/api/v1/search?q=zebra", &d.admin).await;
    assert_eq!(hits["results"], json!([]), "{hits}");
    let (_, inbox) = d.get("/api/v1/conversations", &d.admin).await;
    let ids: Vec<&str> = inbox["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [kept.as_str()]);

    // Its token is refused; the visitor is gone, so a second erasure finds nothing.
    let (s, e) = d.get("/api/v1/conversations", &visitor).await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (401, Some("token_revoked")),
        "{e}"
    );
    // No upload URL is issued into what was erased: not to the visitor, whose token is
    // refused, nor to anyone else, since the conversation is gone.
    let late = json!({"conversation_id": c1, "filename": "late.pdf",
                      "content_type": "application/pdf", "size": 4});
    let (s, e) = d
        .post("/api/v1/uploads", Some(&visitor), late.clone())
        .await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (401, Some("token_revoked")),
        "{e}"
    );
    let (s, e) = d.post("/api/v1/uploads", Some(&d.admin), late).await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (404, Some("not_found")),
        "{e}"
    );
    let (s, e) = erase(&d, &vid, &d.admin).await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (404, Some("not_found")),
        "{e}"
    );
    let (s, _) = erase(&d, "no-such-visitor", &d.admin).await;
    assert_eq!(s, 404);

    // The other visitor's conversation is whole, its file still served.
    let (s, page) = d
        .get(&format!("/api/v1/conversations/{kept}/messages"), &other)
        .await;
    assert_eq!(s, 200);
    assert_eq!(page["messages"].as_array().unwrap().len(), 2);
    let url = download_url(&d, &other, &kept_file).await;
    assert_eq!(d.http.get(&url).send().await.unwrap().status(), 200);
    assert_eq!(files_of(&d, &kept).len(), 1);
}

/// Two replicas: the visitor's socket is on B, the admin erases on A.
pub async fn an_erased_visitors_socket_closes_with_4001_and_its_token_is_refused_everywhere(
    d: Deployment,
) {
    assert!(d.replicas.len() >= 2, "needs two replicas");
    let (vid, visitor) = d.visitor("Vera", None).await;
    let c = d.conversation(&visitor).await;
    let mut ws = Ws::connect_bearer(&d.replicas[1].ws_base, &visitor).await;
    ws.subscribe(&c, 0).await;

    let at = Instant::now();
    let (s, erased) = erase(&d, &vid, &d.admin).await;
    assert_eq!(s, 200, "{erased}");
    let code = ws.close_code().await;
    let closed = at.elapsed();
    assert_eq!(
        code,
        Some(4001),
        "the visitor's socket closes as signed out"
    );
    assert!(closed < Duration::from_secs(2), "closed after {closed:?}");

    let on_b = format!("{}/api/v1/conversations", d.replicas[1].base);
    let r = d
        .http
        .get(&on_b)
        .bearer_auth(&visitor)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["code"], "token_revoked", "{e}");
    eprintln!("erased on A: the visitor's socket on B closed 4001 after {closed:?}");
}

/// Against moto: a versioned bucket, as the operator makes them. Every version of an erased
/// file goes; a storage outage midway answers 503 and keeps what it could not finish, and the
/// same request afterwards finishes the job.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_s3_every_version_goes_and_an_outage_leaves_the_erasure_to_be_run_again() {
    let s3 = testkit::s3::s3();
    let gate = Gate::open_to(&s3.endpoint).await;
    let d = Deployment::s3(&s3, &gate, &[]).await;
    let bucket = d.bucket.clone().unwrap();
    let client = s3_client(&s3.endpoint).await;

    let (vid, visitor) = d.visitor("Vera", None).await;
    let c = d.conversation(&visitor).await;
    let (file, _) = d
        .upload(&visitor, &c, "passport.pdf", b"%PDF passport")
        .await;
    d.send(&visitor, &c, "my passport", false, &[file.as_str()])
        .await;
    // A second version of the same key, as an overwrite before single-use URLs left behind.
    let key = versions_under(&client, &bucket, &format!("conversations/{c}/")).await;
    assert_eq!(key.len(), 1, "{key:?}");
    let listed = client
        .list_objects_v2()
        .bucket(&bucket)
        .prefix(format!("conversations/{c}/"))
        .send()
        .await
        .unwrap();
    let object_key = listed.contents()[0].key().unwrap().to_string();
    client
        .put_object()
        .bucket(&bucket)
        .key(&object_key)
        .body(aws_sdk_s3::primitives::ByteStream::from_static(b"v2"))
        .send()
        .await
        .unwrap();
    let prefix = format!("conversations/{c}/");
    assert_eq!(versions_under(&client, &bucket, &prefix).await.len(), 2);

    gate.shut();
    let (s, e) = erase(&d, &vid, &d.admin).await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (503, Some("erase_incomplete")),
        "{e}"
    );
    let message = e["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(&file) && message.contains("again"),
        "{message}"
    );
    // Nothing reported as erased is still there, and what is still there is findable.
    let (s, _) = d.get(&format!("/api/v1/conversations/{c}"), &d.admin).await;
    assert_eq!(s, 200, "the conversation is kept until its files are gone");
    assert_eq!(versions_under(&client, &bucket, &prefix).await.len(), 2);
    // The visitor is signed out already.
    let (s, _) = d.get("/api/v1/conversations", &visitor).await;
    assert_eq!(s, 401);

    gate.open();
    let (s, erased) = erase(&d, &vid, &d.admin).await;
    assert_eq!(s, 200, "{erased}");
    assert_eq!(
        erased,
        json!({"conversations": 1, "messages": 1, "attachments": 1})
    );
    let left = versions_under(&client, &bucket, &prefix).await;
    assert!(left.is_empty(), "left in the bucket: {left:?}");
    let (s, _) = d.get(&format!("/api/v1/conversations/{c}"), &d.admin).await;
    assert_eq!(s, 404);
}

/// Starts a conversation with an upload URL handed out but not used yet, erases its visitor,
/// then uses the URL, which still works: the bucket (or the local store) checks only its
/// signature. Returns the conversation.
async fn put_after_the_erasure(d: &Deployment) -> String {
    let (vid, visitor) = d.visitor("Vera", None).await;
    let c = d.conversation(&visitor).await;
    let late = b"%PDF late";
    let (_, put) = d.upload_url(&visitor, &c, "late.pdf", late.len()).await;
    let (s, erased) = erase(d, &vid, &d.admin).await;
    assert_eq!(s, 200, "{erased}");
    assert_eq!(erased["attachments"], 1, "{erased}");
    let status = put.send(d, late).await;
    assert!(status.is_success(), "the URL was still valid: PUT {status}");
    c
}

/// The late file is deleted once the URL has run out, by the sweep (every `URL_SECS` here).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_s3_a_file_put_through_a_url_from_before_the_erasure_goes_once_the_url_runs_out() {
    let s3 = testkit::s3::s3();
    let gate = Gate::open_to(&s3.endpoint).await;
    let d = Deployment::s3(
        &s3,
        &gate,
        &[("CHAT_UPLOAD_URL_SECS", URL_SECS.to_string())],
    )
    .await;
    let bucket = d.bucket.clone().unwrap();
    let client = s3_client(&s3.endpoint).await;

    let c = put_after_the_erasure(&d).await;
    let prefix = format!("conversations/{c}/");
    assert_eq!(versions_under(&client, &bucket, &prefix).await.len(), 1);
    let started = Instant::now();
    d.eventually(
        Duration::from_secs(8 * URL_SECS),
        "deleting the late file",
        || async { versions_under(&client, &bucket, &prefix).await.is_empty() },
    )
    .await;
    eprintln!(
        "the late file went {:?} after it arrived",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_the_local_store_a_file_put_through_a_url_from_before_the_erasure_goes_once_the_url_runs_out()
 {
    let d = Deployment::sqlite(&[("CHAT_UPLOAD_URL_SECS", URL_SECS.to_string())]).await;
    let c = put_after_the_erasure(&d).await;
    assert_eq!(files_of(&d, &c).len(), 1);
    d.eventually(
        Duration::from_secs(8 * URL_SECS),
        "deleting the late file",
        || async { files_of(&d, &c).is_empty() },
    )
    .await;
}
