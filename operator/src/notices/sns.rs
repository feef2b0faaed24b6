//! The SNS sink: one Publish per notice to a topic. The message is the notice's JSON; its
//! message attributes (`event_type`, `tenant`, `plan`, `id`) let subscriptions filter without
//! parsing it.

use async_trait::async_trait;
use aws_sdk_sns::Client;
use aws_sdk_sns::config::Region;
use aws_sdk_sns::error::DisplayErrorContext;
use aws_sdk_sns::types::MessageAttributeValue;

use super::{Notice, NoticeError, NoticeSink, TENANT_READY};

pub struct SnsSink {
    client: Client,
    topic_arn: String,
}

impl SnsSink {
    pub fn new(client: Client, topic_arn: &str) -> Self {
        SnsSink {
            client,
            topic_arn: topic_arn.into(),
        }
    }

    /// A client from the default AWS credential chain (IRSA on EKS), in the topic's own region
    /// (read from its ARN); `endpoint` for an SNS-compatible stand-in.
    pub async fn from_settings(topic_arn: &str, endpoint: Option<&str>) -> Self {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
        if let Some(region) = region_of(topic_arn) {
            loader = loader.region(Region::new(region.to_string()));
        }
        let sdk = loader.load().await;
        let mut builder = aws_sdk_sns::config::Builder::from(&sdk);
        if let Some(endpoint) = endpoint {
            builder = builder.endpoint_url(endpoint);
        }
        SnsSink::new(Client::from_conf(builder.build()), topic_arn)
    }
}

/// arn:aws:sns:REGION:ACCOUNT:NAME → REGION.
pub fn region_of(topic_arn: &str) -> Option<&str> {
    let parts: Vec<&str> = topic_arn.split(':').collect();
    match parts.as_slice() {
        ["arn", _, "sns", region, _, _] if !region.is_empty() => Some(region),
        _ => None,
    }
}

fn attribute(value: &str) -> MessageAttributeValue {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .expect("data_type is set")
}

#[async_trait]
impl NoticeSink for SnsSink {
    async fn publish(&self, notice: &Notice) -> Result<(), NoticeError> {
        let message = serde_json::to_string(notice).expect("a notice serializes");
        self.client
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(format!("Tenant {} is ready", notice.tenant))
            .message(message)
            .message_attributes("event_type", attribute(TENANT_READY))
            .message_attributes("tenant", attribute(&notice.tenant))
            .message_attributes("plan", attribute(&notice.plan))
            .message_attributes("id", attribute(&notice.id))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                NoticeError(format!(
                    "publishing to {}: {}",
                    self.topic_arn,
                    DisplayErrorContext(&e)
                ))
            })
    }
}
