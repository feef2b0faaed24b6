//! The CloudEvents sink: an HTTP POST per notice in structured content mode (CloudEvents 1.0
//! JSON format, `Content-Type: application/cloudevents+json`), chosen over binary mode because
//! the whole event, attributes included, is one JSON document a receiver can store or forward
//! as it is. Any 2xx is delivery; anything else, or no answer within the timeout, is a failure
//! the controller retries with the same `id`.

use std::time::Duration;

use async_trait::async_trait;
use serde_json::json;

use super::{Notice, NoticeError, NoticeSink, TENANT_READY};

pub const CONTENT_TYPE: &str = "application/cloudevents+json";

/// How long one POST may take: a receiver that hangs must not hold the reconcile.
pub const TIMEOUT: Duration = Duration::from_secs(10);

pub struct CloudEventsSink {
    http: reqwest::Client,
    url: String,
    source: String,
}

impl CloudEventsSink {
    /// `source` is the CloudEvents `source` attribute (a URI reference naming this operator).
    pub fn new(url: &str, source: &str) -> Self {
        CloudEventsSink {
            http: reqwest::Client::builder()
                .timeout(TIMEOUT)
                .build()
                .expect("a client with a timeout builds"),
            url: url.into(),
            source: source.into(),
        }
    }

    /// The event for `notice`: `subject` is the Tenant, `time` when it became Ready.
    pub fn event(&self, notice: &Notice) -> serde_json::Value {
        json!({
            "specversion": "1.0",
            "id": notice.id,
            "source": self.source,
            "type": TENANT_READY,
            "subject": notice.tenant,
            "time": notice.ready_at,
            "datacontenttype": "application/json",
            "data": notice,
        })
    }
}

#[async_trait]
impl NoticeSink for CloudEventsSink {
    async fn publish(&self, notice: &Notice) -> Result<(), NoticeError> {
        let body = serde_json::to_vec(&self.event(notice)).expect("an event serializes");
        let response = self
            .http
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, CONTENT_TYPE)
            .body(body)
            .send()
            .await
            .map_err(|e| NoticeError(format!("posting to {}: {e}", self.url)))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            let text = response.text().await.unwrap_or_default();
            Err(NoticeError(format!(
                "{} answered {status}: {}",
                self.url,
                text.chars().take(200).collect::<String>()
            )))
        }
    }
}
