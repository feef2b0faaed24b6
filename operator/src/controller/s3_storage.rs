//! Tenant buckets on S3 (or an S3-compatible endpoint) through `aws-sdk-s3`.
//!
//! `ensure_bucket` creates the bucket when it is missing and then puts every setting, so a
//! setting changed by hand is put back: public-access block, default encryption, versioning,
//! lifecycle (backups expiring after their days, old versions of uploads and backups, incomplete
//! uploads; uploads themselves are the chat-server's to expire, see [`lifecycle`]), CORS for
//! the tenant's own origin and the sites embedding its widget, and tenant/plan tags.

use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::config::Region;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::types::{
    AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, BucketLocationConstraint,
    BucketVersioningStatus, CorsConfiguration, CorsRule, CreateBucketConfiguration, Delete,
    ExpirationStatus, LifecycleExpiration, LifecycleRule, LifecycleRuleFilter,
    NoncurrentVersionExpiration, ObjectIdentifier, PublicAccessBlockConfiguration,
    ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration,
    ServerSideEncryptionRule, Tag, Tagging, VersioningConfiguration,
};

use super::providers::{BucketRequest, ProviderError, Storage};
use crate::context::{MANAGER, PLAN_LABEL, TENANT_LABEL};
use crate::resources::backup_cron_job::BACKUPS_PREFIX;
use crate::tenant::DeletionPolicy;

/// Old versions of an overwritten or deleted upload are kept this long, for recovery.
pub const NONCURRENT_DAYS: i32 = 7;
/// Multipart uploads never completed are aborted after this many days.
pub const ABORT_UPLOAD_DAYS: i32 = 1;
pub const RETAINED_TAG: &str = "atendo.io/retained";
/// What the bucket's CORS rule allows browsers (see [`cors`]).
pub const CORS_METHODS: [&str; 3] = ["PUT", "GET", "HEAD"];
/// If-None-Match: the chat-server signs it into every upload URL, making the URL single-use.
pub const CORS_HEADERS: [&str; 2] = ["Content-Type", "If-None-Match"];

pub struct S3Storage {
    client: Client,
    region: String,
}

impl S3Storage {
    pub fn new(client: Client, region: &str) -> Self {
        S3Storage {
            client,
            region: region.into(),
        }
    }

    /// A client from the AWS default credential chain (IRSA on EKS, env vars elsewhere).
    pub async fn from_settings(region: &str, endpoint: Option<&str>) -> Self {
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(Region::new(region.to_string()))
            .load()
            .await;
        let mut builder = aws_sdk_s3::config::Builder::from(&sdk);
        if let Some(endpoint) = endpoint {
            builder = builder.endpoint_url(endpoint).force_path_style(true);
        }
        S3Storage::new(Client::from_conf(builder.build()), region)
    }

    async fn create_if_missing(&self, bucket: &str) -> Result<(), ProviderError> {
        match self.client.head_bucket().bucket(bucket).send().await {
            // 200 only says we may read it (another account's bucket policy can allow that);
            // whose it is, only CreateBucket tells, so it is asked below in every case.
            Ok(_) => {}
            Err(e) if status(&e) == Some(404) => {}
            Err(e) if status(&e) == Some(403) => {
                return Err(ProviderError::new(
                    "BucketNameTaken",
                    format!(
                        "bucket {bucket} exists and this operator may not use it (another account owns it, or the operator lacks s3:ListBucket); change --bucket-name-template"
                    ),
                ));
            }
            Err(e) => return Err(failure(&format!("checking bucket {bucket}"), &e)),
        }
        let mut create = self.client.create_bucket().bucket(bucket);
        // us-east-1 is the one region that refuses an explicit location constraint.
        if self.region != "us-east-1" {
            create = create.create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from(self.region.as_str()))
                    .build(),
            );
        }
        match create.send().await {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some("BucketAlreadyOwnedByYou") => Ok(()),
            Err(e) if e.code() == Some("BucketAlreadyExists") => Err(ProviderError::new(
                "BucketNameTaken",
                format!(
                    "bucket name {bucket} belongs to another account; change --bucket-name-template"
                ),
            )),
            Err(e) => Err(failure(&format!("creating bucket {bucket}"), &e)),
        }
    }

    async fn tags(&self, bucket: &str) -> Result<Vec<Tag>, ProviderError> {
        match self.client.get_bucket_tagging().bucket(bucket).send().await {
            Ok(out) => Ok(out.tag_set().to_vec()),
            Err(e) if e.code() == Some("NoSuchTagSet") => Ok(vec![]),
            Err(e) => Err(failure(&format!("reading tags of {bucket}"), &e)),
        }
    }

    async fn put_tags(&self, bucket: &str, tags: Vec<Tag>) -> Result<(), ProviderError> {
        let tagging = Tagging::builder()
            .set_tag_set(Some(tags))
            .build()
            .map_err(built)?;
        self.client
            .put_bucket_tagging()
            .bucket(bucket)
            .tagging(tagging)
            .send()
            .await
            .map_err(|e| failure(&format!("tagging {bucket}"), &e))?;
        Ok(())
    }

    async fn empty_and_delete(&self, bucket: &str) -> Result<(), ProviderError> {
        let (mut key_marker, mut version_marker) = (None, None);
        loop {
            let page = self
                .client
                .list_object_versions()
                .bucket(bucket)
                .set_key_marker(key_marker.clone())
                .set_version_id_marker(version_marker.clone())
                .send()
                .await
                .map_err(|e| failure(&format!("listing versions in {bucket}"), &e))?;
            let versions = page.versions().iter().map(|v| (v.key(), v.version_id()));
            let markers = page
                .delete_markers()
                .iter()
                .map(|m| (m.key(), m.version_id()));
            let objects = versions
                .chain(markers)
                .filter_map(|(key, version)| {
                    ObjectIdentifier::builder()
                        .set_key(key.map(String::from))
                        .set_version_id(version.map(String::from))
                        .build()
                        .ok()
                })
                .collect::<Vec<_>>();
            if !objects.is_empty() {
                let delete = Delete::builder()
                    .set_objects(Some(objects))
                    .quiet(true)
                    .build()
                    .map_err(built)?;
                let out = self
                    .client
                    .delete_objects()
                    .bucket(bucket)
                    .delete(delete)
                    .send()
                    .await
                    .map_err(|e| failure(&format!("deleting versions in {bucket}"), &e))?;
                if let Some(error) = out.errors().first() {
                    return Err(ProviderError::new(
                        "Unavailable",
                        format!(
                            "deleting {} in {bucket}: {}",
                            error.key().unwrap_or("?"),
                            error.message().unwrap_or("failed")
                        ),
                    ));
                }
            }
            if page.is_truncated() != Some(true) {
                break;
            }
            key_marker = page.next_key_marker().map(String::from);
            version_marker = page.next_version_id_marker().map(String::from);
        }
        match self.client.delete_bucket().bucket(bucket).send().await {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some("NoSuchBucket") => Ok(()),
            Err(e) => Err(failure(&format!("deleting bucket {bucket}"), &e)),
        }
    }
}

#[async_trait]
impl Storage for S3Storage {
    async fn ensure_bucket(&self, request: &BucketRequest) -> Result<(), ProviderError> {
        let bucket = request.bucket.as_str();
        self.create_if_missing(bucket).await?;
        let c = &self.client;
        let step = |what: &str| format!("setting {what} on {bucket}");

        c.put_public_access_block()
            .bucket(bucket)
            .public_access_block_configuration(
                PublicAccessBlockConfiguration::builder()
                    .block_public_acls(true)
                    .ignore_public_acls(true)
                    .block_public_policy(true)
                    .restrict_public_buckets(true)
                    .build(),
            )
            .send()
            .await
            .map_err(|e| failure(&step("the public-access block"), &e))?;

        let encryption = ServerSideEncryptionConfiguration::builder()
            .rules(
                ServerSideEncryptionRule::builder()
                    .apply_server_side_encryption_by_default(
                        ServerSideEncryptionByDefault::builder()
                            .sse_algorithm(ServerSideEncryption::Aes256)
                            .build()
                            .map_err(built)?,
                    )
                    .build(),
            )
            .build()
            .map_err(built)?;
        c.put_bucket_encryption()
            .bucket(bucket)
            .server_side_encryption_configuration(encryption)
            .send()
            .await
            .map_err(|e| failure(&step("default encryption"), &e))?;

        c.put_bucket_versioning()
            .bucket(bucket)
            .versioning_configuration(
                VersioningConfiguration::builder()
                    .status(BucketVersioningStatus::Enabled)
                    .build(),
            )
            .send()
            .await
            .map_err(|e| failure(&step("versioning"), &e))?;

        c.put_bucket_lifecycle_configuration()
            .bucket(bucket)
            .lifecycle_configuration(lifecycle(request.backup_retention_days)?)
            .send()
            .await
            .map_err(|e| failure(&step("the lifecycle"), &e))?;

        c.put_bucket_cors()
            .bucket(bucket)
            .cors_configuration(cors(&request.origins)?)
            .send()
            .await
            .map_err(|e| failure(&step("CORS"), &e))?;

        let tags = [
            (TENANT_LABEL, request.tenant.as_str()),
            (PLAN_LABEL, request.plan.as_str()),
            ("app.kubernetes.io/managed-by", MANAGER),
        ]
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build().map_err(built))
        .collect::<Result<Vec<_>, _>>()?;
        self.put_tags(bucket, tags).await
    }

    async fn retire_bucket(
        &self,
        bucket: &str,
        policy: DeletionPolicy,
    ) -> Result<(), ProviderError> {
        match self.client.head_bucket().bucket(bucket).send().await {
            Ok(_) => {}
            Err(e) if status(&e) == Some(404) => return Ok(()),
            Err(e) => return Err(failure(&format!("checking bucket {bucket}"), &e)),
        }
        match policy {
            DeletionPolicy::Delete => self.empty_and_delete(bucket).await,
            DeletionPolicy::Retain => {
                let mut tags: Vec<Tag> = self
                    .tags(bucket)
                    .await?
                    .into_iter()
                    .filter(|t| t.key() != RETAINED_TAG)
                    .collect();
                tags.push(
                    Tag::builder()
                        .key(RETAINED_TAG)
                        .value("true")
                        .build()
                        .map_err(built)?,
                );
                self.put_tags(bucket, tags).await?;
                // Retained means kept: the expiry rule would otherwise go on deleting the files
                // (and their old versions) after the Tenant is gone. DeleteBucketLifecycle is
                // authorised by s3:PutLifecycleConfiguration and succeeds on a bucket without one.
                self.client
                    .delete_bucket_lifecycle()
                    .bucket(bucket)
                    .send()
                    .await
                    .map_err(|e| failure(&format!("removing the expiry of bucket {bucket}"), &e))?;
                Ok(())
            }
        }
    }
}

/// What browsers on `origins` may do with presigned URLs: PUT an upload with the one header the
/// widget and console send (Content-Type, which the signature binds), GET and HEAD a download.
/// Nothing else: no POST form uploads, no DELETE, no other header, so a page on another origin
/// cannot read an object even with a URL it somehow got.
pub fn cors(origins: &[String]) -> Result<CorsConfiguration, ProviderError> {
    let rule = CorsRule::builder()
        .id("atendo-widget")
        .set_allowed_origins(Some(origins.to_vec()))
        .set_allowed_methods(Some(CORS_METHODS.map(String::from).to_vec()))
        .set_allowed_headers(Some(CORS_HEADERS.map(String::from).to_vec()))
        .expose_headers("ETag")
        .max_age_seconds(3600)
        .build()
        .map_err(built)?;
    CorsConfiguration::builder()
        .cors_rules(rule)
        .build()
        .map_err(built)
}

/// Where the chat-server puts uploads: `conversations/<id>/<attachment>/<file>`
/// (chat-server/src/chat/attachments.rs). Every upload is under it.
pub const UPLOADS_PREFIX: &str = "conversations/";

/// The rule over uploads: see [`lifecycle`].
pub const UPLOADS_RULE: &str = "atendo-uploads";

/// One rule per prefix. Uploads never expire by age here: the chat-server erases a
/// conversation's files together with its messages (retention, `CHAT_RETENTION_DAYS`, counts from
/// the conversation's last change, and erasure deletes every version of every file the
/// conversation ever announced), so an age-based expiry would delete the file of a conversation
/// still open or reopened past `storage.retentionDays` while its message still points at it. The
/// uploads rule only drops old versions a week after they stop being current (a safety net: the
/// chat-server deletes every version itself). Backups expire after the plan's backup retention,
/// their old versions a week later. A third rule, over the whole bucket, drops multipart uploads
/// left unfinished for a day and expires nothing. Objects outside both prefixes are the
/// operator's to know of; none are written today.
pub fn lifecycle(
    backup_retention_days: i32,
) -> Result<BucketLifecycleConfiguration, ProviderError> {
    let noncurrent = || {
        NoncurrentVersionExpiration::builder()
            .noncurrent_days(NONCURRENT_DAYS)
            .build()
    };
    let uploads = LifecycleRule::builder()
        .id(UPLOADS_RULE)
        .status(ExpirationStatus::Enabled)
        .filter(
            LifecycleRuleFilter::builder()
                .prefix(UPLOADS_PREFIX)
                .build(),
        )
        .noncurrent_version_expiration(noncurrent())
        .build()
        .map_err(built)?;
    let backups = LifecycleRule::builder()
        .id("atendo-backups")
        .status(ExpirationStatus::Enabled)
        .filter(
            LifecycleRuleFilter::builder()
                .prefix(format!("{BACKUPS_PREFIX}/"))
                .build(),
        )
        .expiration(
            LifecycleExpiration::builder()
                .days(backup_retention_days)
                .build(),
        )
        .noncurrent_version_expiration(noncurrent())
        .build()
        .map_err(built)?;
    let abort = LifecycleRule::builder()
        .id("atendo-incomplete-uploads")
        .status(ExpirationStatus::Enabled)
        .filter(LifecycleRuleFilter::builder().prefix("").build())
        .abort_incomplete_multipart_upload(
            AbortIncompleteMultipartUpload::builder()
                .days_after_initiation(ABORT_UPLOAD_DAYS)
                .build(),
        )
        .build()
        .map_err(built)?;
    BucketLifecycleConfiguration::builder()
        .rules(uploads)
        .rules(backups)
        .rules(abort)
        .build()
        .map_err(built)
}

type Response = aws_sdk_s3::config::http::HttpResponse;

fn status<E>(e: &SdkError<E, Response>) -> Option<u16> {
    e.raw_response().map(|r| r.status().as_u16())
}

/// An S3 failure as a condition reason: throttling and server errors are transient
/// (Unavailable), a refusal is AccessDenied, the rest names S3's own code.
fn failure<E: ProvideErrorMetadata + std::error::Error + 'static>(
    what: &str,
    e: &SdkError<E, Response>,
) -> ProviderError {
    let code = e.code().unwrap_or("");
    // S3 throttles with 503 SlowDown (and S3-compatible stores with 429); named like Atlas's 429
    // so one reason means "slow down" whichever system said it.
    let reason = match status(e) {
        _ if code == "SlowDown" || code == "Throttling" => "RateLimited",
        Some(429) => "RateLimited",
        Some(403) => "AccessDenied",
        Some(500..) | None => "Unavailable",
        _ => "S3Error",
    };
    // A HEAD answer has no body, so no code or message: its status is all there is to say.
    let detail = match (e.message(), status(e)) {
        (Some(message), _) => message.to_string(),
        (None, Some(status)) => format!("S3 answered HTTP {status}"),
        (None, None) => aws_sdk_s3::error::DisplayErrorContext(e).to_string(),
    };
    ProviderError::new(
        reason,
        format!("{what}: {code} {detail}").replace("  ", " "),
    )
}

fn built(e: aws_sdk_s3::error::BuildError) -> ProviderError {
    ProviderError::new("S3Error", format!("building an S3 request: {e}"))
}
