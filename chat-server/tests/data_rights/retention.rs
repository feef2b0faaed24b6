//! `CHAT_RETENTION_DAYS`: resolved conversations untouched for that long are erased, daily. The
//! test shortens the sweep (hidden `CHAT_RETENTION_SWEEP_SECS`) and ages conversations by
//! writing an old `updated_at` into the store's own database, never by waiting days.

use std::time::Duration;

use serde_json::json;

use super::support::Deployment;

/// Sets `updated_at` of the conversation `days` back, in whichever store the deployment uses.
async fn age(d: &Deployment, conversation: &str, days: i64) {
    backdate(d, "conversations", "updated_at", conversation, days).await
}

/// Sets `field` of the row (document) `id` of `table` `days` back.
async fn backdate(d: &Deployment, table: &str, field: &str, id: &str, days: i64) {
    let at = chrono::Utc::now() - chrono::Duration::days(days);
    match &d.mongo_uri {
        Some(uri) => {
            let client = mongodb::Client::with_uri_str(uri).await.unwrap();
            let db = client
                .default_database()
                .expect("the URI names the database");
            let updated = db
                .collection::<mongodb::bson::Document>(table)
                .update_one(
                    mongodb::bson::doc! { "_id": id },
                    mongodb::bson::doc! { "$set": {
                        field: mongodb::bson::DateTime::from_millis(at.timestamp_millis())
                    } },
                )
                .await
                .unwrap();
            assert_eq!(updated.matched_count, 1);
        }
        None => {
            let file = d
                .dir
                .as_ref()
                .unwrap()
                .path()
                .join("store")
                .join(chat_server::store::sqlite::FILE_NAME);
            let conn = rusqlite::Connection::open(file).unwrap();
            conn.busy_timeout(Duration::from_secs(5)).unwrap();
            let n = conn
                .execute(
                    &format!("UPDATE {table} SET {field} = ? WHERE id = ?"),
                    rusqlite::params![at.timestamp_millis(), id],
                )
                .unwrap();
            assert_eq!(n, 1);
        }
    }
}

async fn resolve(d: &Deployment, token: &str, conversation: &str) {
    let (s, c) = d
        .post(
            &format!("/api/v1/conversations/{conversation}/status"),
            Some(token),
            json!({"status": "resolved"}),
        )
        .await;
    assert_eq!(s, 200, "{c}");
}

/// Deployed with `CHAT_RETENTION_DAYS=30` and a sweep every second.
pub async fn resolved_conversations_untouched_past_retention_are_erased_with_their_files(
    d: Deployment,
) {
    let (_, agent) = d.agent("Ana").await;
    let (_, visitor) = d.visitor("Vera", None).await;
    let old = d.conversation(&visitor).await;
    d.send(&visitor, &old, "old question", false, &[]).await;
    let (file, _) = d.upload(&visitor, &old, "old.pdf", b"%PDF old").await;
    d.send(&visitor, &old, "old file", false, &[file.as_str()])
        .await;
    d.send(&agent, &old, "old note", true, &[]).await;
    resolve(&d, &agent, &old).await;
    let recent = d.conversation(&visitor).await;
    d.send(&visitor, &recent, "recent question", false, &[])
        .await;
    resolve(&d, &agent, &recent).await;
    let (_, other) = d.visitor("Otto", None).await;
    let old_but_open = d.conversation(&other).await;
    d.send(&other, &old_but_open, "still waiting", false, &[])
        .await;
    let old_file_on_disk = d
        .dir
        .as_ref()
        .unwrap()
        .path()
        .join("uploads/conversations")
        .join(&old);
    assert!(old_file_on_disk.exists());

    age(&d, &old, 31).await;
    age(&d, &recent, 29).await;
    age(&d, &old_but_open, 90).await;

    d.eventually(
        Duration::from_secs(15),
        "the old conversation's erasure",
        || async {
            d.get(&format!("/api/v1/conversations/{old}"), &d.admin)
                .await
                .0
                == 404
        },
    )
    .await;
    let (s, _) = d
        .get(&format!("/api/v1/attachments/{file}"), &d.admin)
        .await;
    assert_eq!(s, 404);
    let left: Vec<_> = walk(&old_file_on_disk);
    assert!(left.is_empty(), "files left: {left:?}");
    let (_, hits) = d.get("/api/v1/search?q=old", &d.admin).await;
    assert_eq!(hits["results"], json!([]), "{hits}");

    // Two more sweeps: what is recent or still open stays.
    tokio::time::sleep(Duration::from_secs(3)).await;
    for c in [&recent, &old_but_open] {
        let (s, conv) = d.get(&format!("/api/v1/conversations/{c}"), &d.admin).await;
        assert_eq!(s, 200, "{conv}");
        let (_, page) = d
            .get(&format!("/api/v1/conversations/{c}/messages"), &d.admin)
            .await;
        assert_eq!(page["messages"].as_array().unwrap().len(), 1);
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if entry.path().is_dir() {
                dirs.push(entry.path());
            } else {
                found.push(entry.path());
            }
        }
    }
    found
}

/// The ids of the visitors the export lists.
async fn visitors_in_export(d: &Deployment) -> Vec<String> {
    let r = d.get_raw("/api/v1/export", &d.admin).await;
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    text.lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|l| l["kind"] == "visitor")
        .map(|l| l["id"].as_str().unwrap().to_string())
        .collect()
}

/// Deployed with `CHAT_RETENTION_DAYS=30`, a sweep every second, and tokens valid for 1000 hours
/// (so a visitor created 31 days ago still holds a valid one).
pub async fn a_visitor_goes_with_its_last_conversation_when_retention_erases_it_and_it_was_not_seen_since(
    d: Deployment,
) {
    let (_, agent) = d.agent("Ana").await;
    // Only an old conversation, and created long ago: goes.
    let (vera_id, vera) = d.visitor("Vera", Some("vera@example.com")).await;
    let vera_old = d.conversation(&vera).await;
    d.send(&vera, &vera_old, "old question", false, &[]).await;
    resolve(&d, &agent, &vera_old).await;
    // An old conversation and a recent one: stays.
    let (otto_id, otto) = d.visitor("Otto", Some("otto@example.com")).await;
    let otto_old = d.conversation(&otto).await;
    d.send(&otto, &otto_old, "old question", false, &[]).await;
    resolve(&d, &agent, &otto_old).await;
    let otto_recent = d.conversation(&otto).await;
    d.send(&otto, &otto_recent, "recent question", false, &[])
        .await;
    resolve(&d, &agent, &otto_recent).await;
    // Only an old conversation, but created within the period (it came back): stays.
    let (bia_id, bia) = d.visitor("Bia", Some("bia@example.com")).await;
    let bia_old = d.conversation(&bia).await;
    d.send(&bia, &bia_old, "old question", false, &[]).await;
    resolve(&d, &agent, &bia_old).await;

    for v in [&vera_id, &otto_id] {
        backdate(&d, "visitors", "created_at", v, 40).await;
    }
    for c in [&vera_old, &otto_old, &bia_old] {
        age(&d, c, 31).await;
    }
    age(&d, &otto_recent, 29).await;

    d.eventually(
        Duration::from_secs(15),
        "the old conversations' erasure",
        || async {
            let mut gone = true;
            for c in [&vera_old, &otto_old, &bia_old] {
                gone &= d
                    .get(&format!("/api/v1/conversations/{c}"), &d.admin)
                    .await
                    .0
                    == 404;
            }
            gone
        },
    )
    .await;
    let left = visitors_in_export(&d).await;
    assert!(!left.contains(&vera_id), "Vera's record stayed: {left:?}");
    assert!(
        left.contains(&otto_id),
        "Otto still has a conversation: {left:?}"
    );
    assert!(
        left.contains(&bia_id),
        "Bia was created within the period: {left:?}"
    );
    // Vera's token was still valid: revoked, so it cannot start a conversation no visitor
    // record owns.
    let (s, e) = d
        .post("/api/v1/conversations", Some(&vera), serde_json::json!({}))
        .await;
    assert_eq!(s, 401, "{e}");
    let (s, e) = d
        .post("/api/v1/conversations", Some(&bia), serde_json::json!({}))
        .await;
    assert_eq!(s, 201, "{e}");
}
