//! `e2e-s3-bucket --endpoint URL --bucket NAME --origin ORIGIN…`: creates (or converges) a tenant
//! bucket on an S3 stand-in through the operator's own S3 provider, so the browser tests meet
//! exactly the CORS rule, public-access block and lifecycle the controller puts on a bucket.
//! Credentials come from the AWS default chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY).

use anyhow::Context;
use atendo_operator::controller::providers::{BucketRequest, Storage};
use atendo_operator::controller::s3_storage::S3Storage;
use atendo_operator::tenant::Plan;
use clap::Parser;

#[derive(Debug, Parser)]
struct Args {
    /// S3-compatible endpoint, e.g. http://127.0.0.1:5000.
    #[arg(long)]
    endpoint: String,
    #[arg(long)]
    bucket: String,
    /// A browser origin the bucket's CORS rule admits; repeat for several.
    #[arg(long = "origin", required = true)]
    origins: Vec<String>,
    #[arg(long, default_value = "us-east-1")]
    region: String,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let storage = S3Storage::from_settings(&args.region, Some(&args.endpoint)).await;
    let request = BucketRequest {
        bucket: args.bucket.clone(),
        tenant: "e2e".into(),
        plan: Plan::Starter,
        backup_retention_days: 1,
        origins: args.origins,
    };
    storage
        .ensure_bucket(&request)
        .await
        .with_context(|| format!("ensuring bucket {} on {}", args.bucket, args.endpoint))?;
    Ok(())
}
