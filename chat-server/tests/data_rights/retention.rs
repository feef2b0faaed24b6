//! `CHAT_RETENTION_DAYS`: resolved conversations untouched for that long are erased, daily. The
//! test shortens the sweep (hidden `CHAT_RETENTION_SWEEP_SECS`) and ages conversations by
//! writing an old `updated_at` into the store's own database, never by waiting days.

use std::time::Duration;

use serde_json::json;

use super::support::Deployment;

/// Sets `updated_at` of the conversation `days` back, in whichever store the deployment uses.
async fn age(d: &Deployment, conversation: &str, days: i64) {
    let at = chrono::Utc::now() - chrono::Duration::days(days);
    match &d.mongo_uri {
        Some(uri) => {
            let client = mongodb::Client::with_uri_str(uri).await.unwrap();
            let db = client
                .default_database()
                .expect("the URI names the database");
            let updated = db
                .collection::<mongodb::bson::Document>("conversations")
                .update_one(
                    mongodb::bson::doc! { "_id": conversation },
                    mongodb::bson::doc! { "$set": {
                        "updated_at": mongodb::bson::DateTime::from_millis(at.timestamp_millis())
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
                    "UPDATE conversations SET updated_at = ? WHERE id = ?",
                    rusqlite::params![at.timestamp_millis(), conversation],
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
