//! Cases for API tokens: stored with the secret's hash only, listed newest first, gone at once
//! when deleted (on every replica, as the store is shared).

use chat_server::model::{ApiToken, ApiTokenRecord, new_id, now};
use chat_server::store::{Page, StoreError};

use super::Harness;

fn record(name: &str) -> ApiTokenRecord {
    ApiTokenRecord {
        token: ApiToken {
            id: new_id(),
            name: name.to_string(),
            created_by: "01admin".to_string(),
            created_at: now(),
        },
        secret_sha256: format!("{:064x}", name.len()),
    }
}

pub async fn api_tokens_read_back_page_newest_first_and_vanish_when_deleted(h: Harness) {
    let store = h.open().await;
    let replica = h.open().await;
    let first = record("zapier");
    let second = record("crm sync");
    assert_eq!(
        store.create_api_token(first.clone()).await.unwrap(),
        first.token
    );
    tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    store.create_api_token(second.clone()).await.unwrap();
    assert!(matches!(
        store.create_api_token(first.clone()).await,
        Err(StoreError::Conflict(_))
    ));

    assert_eq!(
        replica.api_token(&first.token.id).await.unwrap().as_ref(),
        Some(&first),
        "the other replica reads the same record, hash included"
    );
    let all = Page {
        before_id: None,
        limit: 10,
    };
    let listed = store.list_api_tokens(&all).await.unwrap();
    assert_eq!(listed, vec![second.token.clone(), first.token.clone()]);
    let after_second = Page {
        before_id: Some(second.token.id.clone()),
        limit: 10,
    };
    assert_eq!(
        store.list_api_tokens(&after_second).await.unwrap(),
        vec![first.token.clone()]
    );

    store.delete_api_token(&first.token.id).await.unwrap();
    assert_eq!(replica.api_token(&first.token.id).await.unwrap(), None);
    assert!(matches!(
        store.delete_api_token(&first.token.id).await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(
        store.list_api_tokens(&all).await.unwrap(),
        vec![second.token]
    );
}
