//! Cases for message search.

use chat_server::model::{ConversationStatus, Message, NewMessage};
use chat_server::store::Page;

use super::Harness;
use super::fixtures::{created, open_conversation, text};

fn page(before: Option<&Message>, limit: u32) -> Page {
    Page {
        before_id: before.map(|m| m.id.clone()),
        limit,
    }
}

pub async fn search_finds_every_word_ignoring_case_and_accents_newest_first_notes_included(
    h: Harness,
) {
    let store = h.open().await;
    let a = open_conversation(&store, ConversationStatus::Open).await;
    let b = open_conversation(&store, ConversationStatus::Resolved).await;
    let mut m = Vec::new();
    for (conversation, body, private) in [
        (&a.id, "Café com leite", false),
        (&a.id, "O CAFÉ acabou.", false),
        (&a.id, "cafe + leite pendente", true),
        (&b.id, "leite condensado", false),
        (&b.id, "Leite e café, por favor!", false),
        (&b.id, "cafeteria", false),
    ] {
        let message = NewMessage {
            private,
            ..text(conversation, None, body)
        };
        m.push(created(store.append_message(message).await.unwrap()));
    }
    let found = |query: &'static str, p: Page| {
        let store = store.clone();
        async move {
            let hits = store.search_messages(query, &p).await.unwrap();
            hits.into_iter().map(|h| h.body).collect::<Vec<_>>()
        }
    };
    let bodies = |idx: &[usize]| idx.iter().map(|&i| m[i].body.clone()).collect::<Vec<_>>();

    assert_eq!(found("cafe", page(None, 50)).await, bodies(&[4, 2, 1, 0]));
    assert_eq!(
        found("CAFÉ leite", page(None, 50)).await,
        bodies(&[4, 2, 0])
    );
    assert_eq!(
        found("leite, Cafe!", page(None, 50)).await,
        bodies(&[4, 2, 0])
    );
    assert_eq!(found("cafe condensado", page(None, 50)).await, bodies(&[]));
    // Whole words only, and a query without words matches nothing.
    assert_eq!(found("caf", page(None, 50)).await, bodies(&[]));
    assert_eq!(found("", page(None, 50)).await, bodies(&[]));
    assert_eq!(found(" ?! ", page(None, 50)).await, bodies(&[]));

    // Paging by the last id of the previous page.
    assert_eq!(found("cafe", page(None, 2)).await, bodies(&[4, 2]));
    assert_eq!(found("cafe", page(Some(&m[2]), 2)).await, bodies(&[1, 0]));
    assert_eq!(found("cafe", page(Some(&m[0]), 2)).await, bodies(&[]));
    assert_eq!(found("cafe", page(None, 0)).await, bodies(&[]));

    // Hits are whole messages: the note says it is one.
    let hits = store
        .search_messages("pendente", &page(None, 50))
        .await
        .unwrap();
    assert_eq!(hits, vec![m[2].clone()]);
    assert!(hits[0].private);
}
