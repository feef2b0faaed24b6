//! The SNS harness: moto's SNS with an SQS queue subscribed to the topic, reached through a
//! gate (a TCP relay the test closes to make SNS unreachable).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use atendo_operator::notices::NoticeSink;
use atendo_operator::notices::sns::SnsSink;
use aws_sdk_sns::config::{BehaviorVersion, Credentials, Region};
use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;

use crate::{Harness, Received};

pub struct Sns {
    _moto: testkit::s3::S3,
    gate: Gate,
    topic_arn: String,
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
    got: Mutex<Vec<Received>>,
}

fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sns::config::SharedCredentialsProvider::new(
            Credentials::new("test", "test", None, None, "moto"),
        ))
        .endpoint_url(endpoint)
        .build()
}

impl Sns {
    /// A topic and a queue of their own on the run's moto (one moto serves S3, SNS and SQS).
    pub async fn start() -> Sns {
        let moto = testkit::s3::s3();
        let config = sdk_config(&moto.endpoint);
        let sns = aws_sdk_sns::Client::new(&config);
        let sqs = aws_sdk_sqs::Client::new(&config);
        let name = testkit::unique("tenant-ready");
        let topic_arn = sns
            .create_topic()
            .name(&name)
            .send()
            .await
            .unwrap()
            .topic_arn
            .unwrap();
        let queue_url = sqs
            .create_queue()
            .queue_name(&name)
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap();
        let queue_arn = sqs
            .get_queue_attributes()
            .queue_url(&queue_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .unwrap()
            .attributes
            .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
            .clone();
        sns.subscribe()
            .topic_arn(&topic_arn)
            .protocol("sqs")
            .endpoint(queue_arn)
            .send()
            .await
            .unwrap();
        let gate = Gate::start(moto.endpoint.trim_start_matches("http://")).await;
        Sns {
            _moto: moto,
            gate,
            topic_arn,
            sqs,
            queue_url,
            got: Mutex::default(),
        }
    }
}

#[async_trait]
impl Harness for Sns {
    async fn sink(&self) -> Arc<dyn NoticeSink> {
        let config = sdk_config(&self.gate.url());
        let client = aws_sdk_sns::Client::new(&config);
        Arc::new(SnsSink::new(client, &self.topic_arn))
    }

    fn set_down(&self, down: bool) {
        self.gate.down.store(down, Ordering::SeqCst);
    }

    /// Drains the queue into what was received: each message is SNS's envelope (not raw
    /// delivery), whose Message is the notice and whose MessageAttributes carry the id and type.
    async fn received(&self) -> Vec<Received> {
        let mut got = self.got.lock().await;
        loop {
            let out = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .send()
                .await
                .unwrap();
            let messages = out.messages.unwrap_or_default();
            if messages.is_empty() {
                break;
            }
            for m in messages {
                let envelope: Value = serde_json::from_str(m.body().unwrap()).unwrap();
                assert_eq!(envelope["Type"], "Notification");
                assert_eq!(envelope["TopicArn"], self.topic_arn.as_str());
                let attribute = |name: &str| {
                    assert_eq!(envelope["MessageAttributes"][name]["Type"], "String");
                    envelope["MessageAttributes"][name]["Value"]
                        .as_str()
                        .unwrap_or_else(|| panic!("attribute {name} in {envelope}"))
                        .to_string()
                };
                let data: Value =
                    serde_json::from_str(envelope["Message"].as_str().unwrap()).unwrap();
                assert_eq!(attribute("tenant"), data["tenant"].as_str().unwrap());
                assert_eq!(attribute("plan"), data["plan"].as_str().unwrap());
                got.push(Received {
                    id: attribute("id"),
                    kind: attribute("event_type"),
                    data,
                });
                self.sqs
                    .delete_message()
                    .queue_url(&self.queue_url)
                    .receipt_handle(m.receipt_handle().unwrap())
                    .send()
                    .await
                    .unwrap();
            }
        }
        got.clone()
    }
}

/// A TCP relay to moto that, while `down`, drops every connection it accepts: to the SDK, SNS
/// is unreachable (its retries included), and nothing reaches moto.
struct Gate {
    port: u16,
    down: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Gate {
    async fn start(upstream: &str) -> Gate {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let down = Arc::new(AtomicBool::new(false));
        let upstream = upstream.to_string();
        let closed = down.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if closed.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let upstream = upstream.clone();
                let closed = closed.clone();
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(&upstream).await else {
                        return;
                    };
                    // A pooled connection from before the gate closed is cut too.
                    let closing = async {
                        while !closed.load(Ordering::SeqCst) {
                            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                        }
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        () = closing => {}
                    }
                });
            }
        });
        Gate { port, down, task }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        self.task.abort();
    }
}
