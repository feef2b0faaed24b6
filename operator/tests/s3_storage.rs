//! The S3 storage provider against moto's S3 server (real HTTP, real SDK): every bucket setting
//! is read back, changed settings converge, and both deletion policies do what they promise.

use atendo_operator::controller::providers::{BucketRequest, Storage};
use atendo_operator::controller::s3_storage::S3Storage;
use atendo_operator::tenant::{DeletionPolicy, Plan};
use aws_sdk_s3::Client;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{BucketVersioningStatus, ServerSideEncryption};

struct Moto {
    client: Client,
    s3: testkit::s3::S3,
}

fn moto() -> Moto {
    let s3 = testkit::s3::s3();
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "moto"))
        .endpoint_url(&s3.endpoint)
        .force_path_style(true)
        .build();
    Moto {
        client: Client::from_conf(config),
        s3,
    }
}

fn request(bucket: &str) -> BucketRequest {
    BucketRequest {
        bucket: bucket.into(),
        tenant: "acme".into(),
        plan: Plan::Professional,
        backup_retention_days: 14,
        origins: vec!["https://acme.chat.example.com".into()],
    }
}

async fn tags(client: &Client, bucket: &str) -> Vec<(String, String)> {
    let out = client
        .get_bucket_tagging()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    let mut tags: Vec<_> = out
        .tag_set()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect();
    tags.sort();
    tags
}

/// Whether the bucket keeps every version: two writes of one key must leave two versions.
/// (Checked by behaviour because moto's GetBucketVersioning reply has an XML root the SDK refuses.)
async fn keeps_versions(client: &Client, bucket: &str) -> bool {
    let key = testkit::unique("probe-");
    for body in [&b"1"[..], b"2"] {
        client
            .put_object()
            .bucket(bucket)
            .key(&key)
            .body(ByteStream::from(body.to_vec()))
            .send()
            .await
            .unwrap();
    }
    let out = client
        .list_object_versions()
        .bucket(bucket)
        .prefix(&key)
        .send()
        .await
        .unwrap();
    out.versions().len() == 2
}

/// One lifecycle rule as S3 reports it back.
#[derive(Debug, PartialEq)]
struct Rule {
    prefix: String,
    expiration_days: Option<i32>,
    noncurrent_days: Option<i32>,
    abort_upload_days: Option<i32>,
}

/// Every lifecycle rule of the bucket, in the order S3 gives them.
async fn lifecycle_rules(client: &Client, bucket: &str) -> Vec<Rule> {
    let out = client
        .get_bucket_lifecycle_configuration()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    out.rules()
        .iter()
        .map(|r| {
            assert_eq!(r.status().as_str(), "Enabled", "{r:?}");
            Rule {
                prefix: r
                    .filter()
                    .and_then(|f| f.prefix())
                    .unwrap_or_else(|| panic!("a rule without a prefix filter: {r:?}"))
                    .to_string(),
                expiration_days: r.expiration().and_then(|e| e.days()),
                noncurrent_days: r
                    .noncurrent_version_expiration()
                    .and_then(|e| e.noncurrent_days()),
                abort_upload_days: r
                    .abort_incomplete_multipart_upload()
                    .and_then(|a| a.days_after_initiation()),
            }
        })
        .collect()
}

/// What ensure_bucket must leave: uploads (under `conversations/`, where the chat-server puts
/// them) never expire by age, since the chat-server erases them with their conversation (an
/// expiry by upload date would delete the file of a conversation still open past the
/// retention); backups expire after the plan's backup retention; the old versions of each go a
/// week later, and nothing else expires; unfinished multipart uploads of the whole bucket are
/// dropped after a day.
fn expected_rules(backups_days: i32) -> Vec<Rule> {
    vec![
        Rule {
            prefix: "conversations/".into(),
            expiration_days: None,
            noncurrent_days: Some(7),
            abort_upload_days: None,
        },
        Rule {
            prefix: "backups/".into(),
            expiration_days: Some(backups_days),
            noncurrent_days: Some(7),
            abort_upload_days: None,
        },
        Rule {
            prefix: String::new(),
            expiration_days: None,
            noncurrent_days: None,
            abort_upload_days: Some(1),
        },
    ]
}

#[tokio::test]
async fn a_new_bucket_gets_every_setting() {
    let m = moto();
    let bucket = testkit::unique("atendo-");
    let storage = S3Storage::new(m.client.clone(), "us-east-1");
    storage.ensure_bucket(&request(&bucket)).await.unwrap();
    let c = &m.client;

    assert_eq!(lifecycle_rules(c, &bucket).await, expected_rules(14));

    let cors = c.get_bucket_cors().bucket(&bucket).send().await.unwrap();
    let rule = &cors.cors_rules()[0];
    assert_eq!(rule.allowed_origins(), ["https://acme.chat.example.com"]);
    assert_eq!(rule.allowed_methods(), ["PUT", "GET", "HEAD"]);
    assert_eq!(rule.allowed_headers(), ["Content-Type", "If-None-Match"]);

    let block = c
        .get_public_access_block()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    let block = block.public_access_block_configuration().unwrap();
    assert_eq!(
        (
            block.block_public_acls(),
            block.ignore_public_acls(),
            block.block_public_policy(),
            block.restrict_public_buckets()
        ),
        (Some(true), Some(true), Some(true), Some(true))
    );

    let encryption = c
        .get_bucket_encryption()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    let default = encryption
        .server_side_encryption_configuration()
        .unwrap()
        .rules()[0]
        .apply_server_side_encryption_by_default()
        .unwrap()
        .clone();
    assert_eq!(default.sse_algorithm(), &ServerSideEncryption::Aes256);

    assert_eq!(
        tags(c, &bucket).await,
        [
            (
                "app.kubernetes.io/managed-by".to_string(),
                "atendo-operator".to_string()
            ),
            ("atendo.io/plan".into(), "professional".into()),
            ("atendo.io/tenant".into(), "acme".into()),
        ]
    );
    assert!(keeps_versions(c, &bucket).await, "versioning is enabled");
}

#[tokio::test]
async fn ensuring_again_puts_back_settings_changed_by_hand_and_follows_the_backup_retention() {
    let m = moto();
    let bucket = testkit::unique("atendo-");
    let storage = S3Storage::new(m.client.clone(), "us-east-1");
    storage.ensure_bucket(&request(&bucket)).await.unwrap();
    m.client
        .put_bucket_versioning()
        .bucket(&bucket)
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Suspended)
                .build(),
        )
        .send()
        .await
        .unwrap();
    m.client
        .delete_bucket_cors()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    assert!(
        !keeps_versions(&m.client, &bucket).await,
        "suspended by hand"
    );

    let mut changed = request(&bucket);
    changed.backup_retention_days = 35;
    storage.ensure_bucket(&changed).await.unwrap();
    assert!(
        keeps_versions(&m.client, &bucket).await,
        "versioning is back"
    );
    assert_eq!(
        m.client
            .get_bucket_cors()
            .bucket(&bucket)
            .send()
            .await
            .unwrap()
            .cors_rules()
            .len(),
        1
    );
    assert_eq!(
        lifecycle_rules(&m.client, &bucket).await,
        expected_rules(35)
    );
}

/// The rule operators before this one put on every tenant bucket: uploads expiring by their
/// upload date, `storage.retentionDays` after it.
async fn put_the_old_uploads_rule(client: &Client, bucket: &str, retention_days: i32) {
    use aws_sdk_s3::types::{
        BucketLifecycleConfiguration, ExpirationStatus, LifecycleExpiration, LifecycleRule,
        LifecycleRuleFilter,
    };
    let rule = LifecycleRule::builder()
        .id("atendo-uploads")
        .status(ExpirationStatus::Enabled)
        .filter(
            LifecycleRuleFilter::builder()
                .prefix("conversations/")
                .build(),
        )
        .expiration(LifecycleExpiration::builder().days(retention_days).build())
        .build()
        .unwrap();
    client
        .put_bucket_lifecycle_configuration()
        .bucket(bucket)
        .lifecycle_configuration(
            BucketLifecycleConfiguration::builder()
                .rules(rule)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn a_bucket_whose_uploads_expired_by_age_loses_that_expiry_when_ensured_again() {
    let m = moto();
    let bucket = testkit::unique("atendo-");
    let storage = S3Storage::new(m.client.clone(), "us-east-1");
    storage.ensure_bucket(&request(&bucket)).await.unwrap();
    put_the_old_uploads_rule(&m.client, &bucket, 90).await;
    assert_eq!(
        lifecycle_rules(&m.client, &bucket).await[0].expiration_days,
        Some(90),
        "the old rule is in place"
    );

    storage.ensure_bucket(&request(&bucket)).await.unwrap();
    let rules = lifecycle_rules(&m.client, &bucket).await;
    assert_eq!(rules, expected_rules(14));
    assert!(
        rules
            .iter()
            .filter(|r| "conversations/".starts_with(&r.prefix))
            .all(|r| r.expiration_days.is_none()),
        "no rule expires an upload by age: the chat-server erases files with their conversation"
    );
}

#[tokio::test]
async fn retain_marks_the_bucket_retained_and_keeps_every_object_without_an_expiry() {
    let m = moto();
    let bucket = testkit::unique("atendo-");
    let storage = S3Storage::new(m.client.clone(), "us-east-1");
    storage.ensure_bucket(&request(&bucket)).await.unwrap();
    // Both prefixes have a rule before (old versions of uploads, backups by age): the test
    // below sees each go.
    assert_eq!(
        lifecycle_rules(&m.client, &bucket).await,
        expected_rules(14)
    );
    for key in KEPT {
        m.client
            .put_object()
            .bucket(&bucket)
            .key(key)
            .body(ByteStream::from_static(b"hi"))
            .send()
            .await
            .unwrap();
    }

    storage
        .retire_bucket(&bucket, DeletionPolicy::Retain)
        .await
        .unwrap();
    let tags = tags(&m.client, &bucket).await;
    assert!(
        tags.contains(&("atendo.io/retained".into(), "true".into())),
        "{tags:?}"
    );
    assert!(
        tags.contains(&("atendo.io/tenant".into(), "acme".into())),
        "{tags:?}"
    );
    let lifecycle = m
        .client
        .get_bucket_lifecycle_configuration()
        .bucket(&bucket)
        .send()
        .await;
    assert_eq!(
        lifecycle.map(|l| l.rules().len()).map_err(|e| e
            .into_service_error()
            .meta()
            .code()
            .map(String::from)),
        Err(Some("NoSuchLifecycleConfiguration".to_string())),
        "a retained bucket's uploads and backups must not expire after the Tenant is gone"
    );
    for key in KEPT {
        m.client
            .head_object()
            .bucket(&bucket)
            .key(key)
            .send()
            .await
            .unwrap();
    }
}

/// An upload and a backup file, as the chat-server and the backup CronJob name them.
const KEPT: [&str; 2] = [
    "conversations/c1/a1/photo.png",
    "backups/20261205T030000.000Z/manifest.json",
];

#[tokio::test]
async fn delete_empties_every_version_and_removes_the_bucket_and_is_idempotent() {
    let m = moto();
    let bucket = testkit::unique("atendo-");
    let storage = S3Storage::new(m.client.clone(), "us-east-1");
    storage.ensure_bucket(&request(&bucket)).await.unwrap();
    for body in [&b"one"[..], b"two"] {
        m.client
            .put_object()
            .bucket(&bucket)
            .key("a.txt")
            .body(ByteStream::from(body.to_vec()))
            .send()
            .await
            .unwrap();
    }
    m.client
        .delete_object()
        .bucket(&bucket)
        .key("a.txt")
        .send()
        .await
        .unwrap();
    m.client
        .put_object()
        .bucket(&bucket)
        .key("b.txt")
        .body(ByteStream::from_static(b"b"))
        .send()
        .await
        .unwrap();
    let versions = m
        .client
        .list_object_versions()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    assert_eq!(
        (versions.versions().len(), versions.delete_markers().len()),
        (3, 1)
    );

    storage
        .retire_bucket(&bucket, DeletionPolicy::Delete)
        .await
        .unwrap();
    let gone = m
        .client
        .head_bucket()
        .bucket(&bucket)
        .send()
        .await
        .unwrap_err();
    assert_eq!(gone.raw_response().map(|r| r.status().as_u16()), Some(404));
    storage
        .retire_bucket(&bucket, DeletionPolicy::Delete)
        .await
        .unwrap();
    storage
        .retire_bucket(&bucket, DeletionPolicy::Retain)
        .await
        .unwrap();
}

/// Credentials of a second AWS account on the same moto server: moto keys buckets by the
/// account of the caller's credentials, and STS AssumeRole into a role of account
/// 111111111111 gives credentials of that account.
async fn another_account(endpoint: &str) -> Client {
    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "moto"))
        .endpoint_url(endpoint)
        .load()
        .await;
    let role = aws_config::sts::AssumeRoleProvider::builder("arn:aws:iam::111111111111:role/other")
        .session_name("other-account")
        .configure(&sdk)
        .build()
        .await;
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(role)
        .endpoint_url(endpoint)
        .force_path_style(true)
        .build();
    Client::from_conf(config)
}

#[tokio::test]
async fn a_bucket_name_owned_by_another_account_is_bucket_name_taken_and_left_untouched() {
    let m = moto();
    let other = another_account(&m.s3.endpoint).await;
    let bucket = testkit::unique("atendo-taken-");
    other.create_bucket().bucket(&bucket).send().await.unwrap();
    // (moto may be shared by the whole run: look for this bucket only)
    let owns = |c: &Client| {
        let (c, bucket) = (c.clone(), bucket.clone());
        async move {
            let out = c.list_buckets().send().await.unwrap();
            out.buckets()
                .iter()
                .any(|b| b.name() == Some(bucket.as_str()))
        }
    };
    assert!(owns(&other).await, "the other account owns it");
    assert!(!owns(&m.client).await, "this account does not");

    let storage = S3Storage::new(m.client.clone(), "us-east-1");
    let e = storage.ensure_bucket(&request(&bucket)).await.unwrap_err();
    assert_eq!(e.reason, "BucketNameTaken", "{e}");
    assert!(e.message.contains(&bucket), "{e}");
    assert!(!e.is_transient());
    // Nothing of this tenant's was put on the other account's bucket.
    let tagging = other.get_bucket_tagging().bucket(&bucket).send().await;
    assert_eq!(
        tagging.map_err(|e| e.into_service_error().meta().code().map(String::from)),
        Err(Some("NoSuchTagSet".to_string())),
    );
    assert!(
        other
            .get_bucket_lifecycle_configuration()
            .bucket(&bucket)
            .send()
            .await
            .is_err(),
        "no lifecycle was put"
    );
}

#[tokio::test]
async fn outside_us_east_1_an_own_bucket_is_ensured_again_and_a_foreign_one_is_taken() {
    let m = moto();
    let client = |creds| {
        Client::from_conf(
            aws_sdk_s3::Config::builder()
                .behavior_version(BehaviorVersion::latest())
                .region(Region::new("eu-west-1"))
                .credentials_provider(creds)
                .endpoint_url(&m.s3.endpoint)
                .force_path_style(true)
                .build(),
        )
    };
    let storage = S3Storage::new(
        client(Credentials::new("test", "test", None, None, "moto")),
        "eu-west-1",
    );
    let mine = testkit::unique("atendo-");
    storage.ensure_bucket(&request(&mine)).await.unwrap();
    let mut changed = request(&mine);
    changed.backup_retention_days = 35;
    storage.ensure_bucket(&changed).await.unwrap();

    let other = another_account(&m.s3.endpoint).await;
    let taken = testkit::unique("atendo-taken-");
    other
        .create_bucket()
        .bucket(&taken)
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuWest1)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let e = storage.ensure_bucket(&request(&taken)).await.unwrap_err();
    assert_eq!(e.reason, "BucketNameTaken", "{e}");
}

/// A CORS preflight for a PUT with a Content-Type, as a browser sends before an upload.
async fn preflight(endpoint: &str, bucket: &str, origin: &str) -> reqwest::Response {
    reqwest::Client::new()
        .request(
            reqwest::Method::OPTIONS,
            format!("{endpoint}/{bucket}/conversations/c/a/photo.png"),
        )
        .header("origin", origin)
        .header("access-control-request-method", "PUT")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_bucket_admits_browsers_from_the_tenant_and_the_widgets_sites_only() {
    let m = moto();
    let bucket = testkit::unique("atendo-");
    let storage = S3Storage::new(m.client.clone(), "us-east-1");
    let mut request = request(&bucket);
    request.origins = vec![
        "https://acme.chat.example.com".into(),
        "https://www.acme.com".into(),
        "https://*.shop.acme.com".into(),
    ];
    storage.ensure_bucket(&request).await.unwrap();
    let endpoint = &m.s3.endpoint;

    let rules = m
        .client
        .get_bucket_cors()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    assert_eq!(rules.cors_rules().len(), 1);
    assert_eq!(rules.cors_rules()[0].allowed_origins(), request.origins);

    let mut admitted = vec![];
    for origin in [
        "https://acme.chat.example.com",
        "https://www.acme.com",
        "https://lojas.shop.acme.com",
        "https://evil.example",
        "null",
    ] {
        let answer = preflight(endpoint, &bucket, origin).await;
        let allow = answer
            .headers()
            .get("access-control-allow-origin")
            .map(|v| v.to_str().unwrap().to_string());
        if answer.status() == 200 {
            assert_eq!(allow.as_deref(), Some(origin), "{origin}");
            admitted.push(origin);
        } else {
            // A failed preflight is what stops the browser. (moto's server adds an
            // Access-Control-Allow-Origin of its own to every answer, so that header says
            // nothing about the bucket's rule here.)
            assert_eq!(answer.status(), 403, "{origin}");
        }
    }
    assert_eq!(
        admitted,
        [
            "https://acme.chat.example.com",
            "https://www.acme.com",
            "https://lojas.shop.acme.com"
        ]
    );

    // A site dropped from the list is refused after the next convergence.
    request.origins.truncate(1);
    storage.ensure_bucket(&request).await.unwrap();
    assert_eq!(
        preflight(endpoint, &bucket, "https://www.acme.com")
            .await
            .status(),
        403
    );
}
