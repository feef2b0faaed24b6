//! A client of moto's S3 (any credentials do), for tests that look into a bucket.

pub async fn client(endpoint: &str) -> aws_sdk_s3::Client {
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "testing", "testing", None, None, "tests",
        ))
        .load()
        .await;
    aws_sdk_s3::Client::from_conf(chat_server::uploads::s3::client_config(
        &sdk,
        Some(endpoint),
    ))
}
