//! What every notice sink must do, run against both (`sns_*` and `cloudevents_*`): deliver a
//! notice once with all its fields and its type, report a sink it cannot reach as an error
//! naming it, and deliver nothing then.

use std::time::Duration;

use atendo_operator::notices::{Notice, TENANT_READY, notice_id};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde_json::json;

use crate::cloudevents::CloudEvents;
use crate::sns::Sns;
use crate::{Harness, wait_for};

fn notice(tenant: &str) -> Notice {
    let at = Time("2026-12-06T02:30:00Z".parse().unwrap());
    Notice {
        id: notice_id(&format!("uid-{tenant}"), &at),
        tenant: tenant.into(),
        subdomain: format!("{tenant}-chat"),
        url: format!("https://{tenant}-chat.chat.example.com"),
        plan: "professional".into(),
        ready_at: at.0.to_string(),
    }
}

async fn a_published_notice_arrives_once_with_its_fields(h: &dyn Harness) {
    let sink = h.sink().await;
    let acme = notice("acme");
    sink.publish(&acme).await.unwrap();
    let got = wait_for(h, 1, Duration::from_secs(5)).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].id, acme.id);
    assert_eq!(got[0].kind, TENANT_READY);
    assert_eq!(
        got[0].data,
        json!({
            "id": acme.id,
            "tenant": "acme",
            "subdomain": "acme-chat",
            "url": "https://acme-chat.chat.example.com",
            "plan": "professional",
            "readyAt": "2026-12-06T02:30:00Z",
        })
    );
    let globex = notice("globex");
    sink.publish(&globex).await.unwrap();
    let got = wait_for(h, 2, Duration::from_secs(5)).await;
    assert_eq!(
        got.iter().map(|r| r.id.clone()).collect::<Vec<_>>(),
        [acme.id, globex.id]
    );
}

async fn an_unreachable_sink_is_an_error_and_delivers_nothing(h: &dyn Harness) {
    let sink = h.sink().await;
    h.set_down(true);
    let error = sink.publish(&notice("acme")).await.unwrap_err();
    assert!(!error.0.is_empty());
    h.set_down(false);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(h.received().await, []);
    // And it recovers without a new sink.
    sink.publish(&notice("acme")).await.unwrap();
    assert_eq!(wait_for(h, 1, Duration::from_secs(5)).await.len(), 1);
}

#[tokio::test]
async fn sns_a_published_notice_arrives_once_with_its_fields() {
    a_published_notice_arrives_once_with_its_fields(&Sns::start().await).await;
}

#[tokio::test]
async fn sns_an_unreachable_sink_is_an_error_and_delivers_nothing() {
    an_unreachable_sink_is_an_error_and_delivers_nothing(&Sns::start().await).await;
}

#[tokio::test]
async fn cloudevents_a_published_notice_arrives_once_with_its_fields() {
    a_published_notice_arrives_once_with_its_fields(&CloudEvents::start().await).await;
}

#[tokio::test]
async fn cloudevents_an_unreachable_sink_is_an_error_and_delivers_nothing() {
    an_unreachable_sink_is_an_error_and_delivers_nothing(&CloudEvents::start().await).await;
}
