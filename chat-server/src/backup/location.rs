//! Where a backup goes or comes from: a directory, or `s3://BUCKET/PREFIX`.

use std::path::{Path, PathBuf};

use aws_sdk_s3::error::DisplayErrorContext;
use aws_sdk_s3::primitives::ByteStream;

use super::manifest::{self, Manifest};
use super::{BackupError, S3Settings, file_in};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    Dir(PathBuf),
    S3 { bucket: String, prefix: String },
}

impl std::str::FromStr for Location {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.is_empty() {
            return Err("empty; give a directory or s3://BUCKET/PREFIX".into());
        }
        if let Some(rest) = s.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            // S3's rules for bucket names, in short: 3–63 lower-case letters, digits, dots, dashes.
            let valid = (3..=63).contains(&bucket.len())
                && bucket
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-');
            if !valid {
                return Err(format!("{bucket:?} in {s} is not an S3 bucket name"));
            }
            return Ok(Self::S3 {
                bucket: bucket.to_string(),
                prefix: prefix.trim_matches('/').to_string(),
            });
        }
        if s.contains("://") {
            return Err(format!(
                "{s}: only directories and s3:// locations are supported"
            ));
        }
        Ok(Self::Dir(PathBuf::from(s)))
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Dir(dir) => write!(f, "{}", dir.display()),
            Self::S3 { bucket, prefix } if prefix.is_empty() => write!(f, "s3://{bucket}"),
            Self::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
        }
    }
}

impl Location {
    pub fn child(&self, name: &str) -> Self {
        match self {
            Self::Dir(dir) => Self::Dir(dir.join(name)),
            Self::S3 { bucket, prefix } => Self::S3 {
                bucket: bucket.clone(),
                prefix: if prefix.is_empty() {
                    name.to_string()
                } else {
                    format!("{prefix}/{name}")
                },
            },
        }
    }

    /// Copies the staged files here, the manifest last: a backup without its manifest is one
    /// that did not finish, and a restore does not take it.
    pub(super) async fn upload(
        &self,
        staging: &Path,
        manifest: &Manifest,
        s3: &S3Settings,
    ) -> Result<(), BackupError> {
        let names = manifest
            .files
            .iter()
            .map(|f| f.name.as_str())
            .chain([manifest::FILE_NAME]);
        match self {
            Self::Dir(dir) => {
                if dir.exists() {
                    return Err(BackupError::Location(format!(
                        "{} exists already; a backup never overwrites another",
                        dir.display()
                    )));
                }
                std::fs::create_dir_all(dir)
                    .map_err(BackupError::io(format!("creating {}", dir.display())))?;
                for name in names {
                    let to = dir.join(name);
                    std::fs::copy(staging.join(name), &to)
                        .map_err(BackupError::io(format!("writing {}", to.display())))?;
                }
                Ok(())
            }
            Self::S3 { bucket, prefix } => {
                let client = client(s3).await;
                for name in names {
                    let key = format!("{prefix}/{name}");
                    let body = ByteStream::from_path(staging.join(name))
                        .await
                        .map_err(|e| BackupError::S3(format!("reading staged {name}: {e}")))?;
                    client
                        .put_object()
                        .bucket(bucket)
                        .key(&key)
                        .body(body)
                        .send()
                        .await
                        .map_err(|e| {
                            BackupError::S3(format!(
                                "uploading s3://{bucket}/{key}: {}",
                                DisplayErrorContext(&e)
                            ))
                        })?;
                }
                Ok(())
            }
        }
    }

    /// The manifest, and the directory holding the files it names: this one for a directory,
    /// `staging` (downloaded into) for S3.
    pub(super) async fn download(
        &self,
        staging: &Path,
        s3: &S3Settings,
    ) -> Result<(Manifest, PathBuf), BackupError> {
        let missing = |at: &Location| BackupError::Invalid {
            at: at.to_string(),
            problem: format!(
                "no {} here: give the folder a backup made (named after its time, e.g. {}/20261205T030000.000Z)",
                manifest::FILE_NAME,
                at
            ),
        };
        match self {
            Self::Dir(dir) => {
                let bytes = std::fs::read(dir.join(manifest::FILE_NAME)).map_err(|e| {
                    if e.kind() == std::io::ErrorKind::NotFound {
                        missing(self)
                    } else {
                        BackupError::Io {
                            what: format!("reading {}", dir.join(manifest::FILE_NAME).display()),
                            source: e,
                        }
                    }
                })?;
                Ok((Manifest::parse(&bytes, &self.to_string())?, dir.clone()))
            }
            Self::S3 { bucket, prefix } => {
                let client = client(s3).await;
                let get = |name: String| {
                    let client = client.clone();
                    async move {
                        let key = format!("{prefix}/{name}");
                        client.get_object().bucket(bucket).key(&key).send().await
                    }
                };
                let manifest = match get(manifest::FILE_NAME.to_string()).await {
                    Ok(found) => found,
                    Err(e) if e.as_service_error().is_some_and(|e| e.is_no_such_key()) => {
                        return Err(missing(self));
                    }
                    Err(e) => {
                        return Err(BackupError::S3(format!(
                            "reading {self}/{}: {}",
                            manifest::FILE_NAME,
                            DisplayErrorContext(&e)
                        )));
                    }
                };
                let bytes = manifest
                    .body
                    .collect()
                    .await
                    .map_err(|e| BackupError::S3(format!("reading {self}/manifest.json: {e}")))?
                    .into_bytes();
                let manifest = Manifest::parse(&bytes, &self.to_string())?;
                for file in &manifest.files {
                    let to = file_in(staging, &file.name).map_err(BackupError::Location)?;
                    let mut body = get(file.name.clone())
                        .await
                        .map_err(|e| {
                            BackupError::S3(format!(
                                "reading {self}/{}: {}",
                                file.name,
                                DisplayErrorContext(&e)
                            ))
                        })?
                        .body
                        .into_async_read();
                    let mut out = tokio::fs::File::create(&to)
                        .await
                        .map_err(BackupError::io(format!("writing {}", to.display())))?;
                    tokio::io::copy(&mut body, &mut out)
                        .await
                        .map_err(BackupError::io(format!("downloading {self}/{}", file.name)))?;
                }
                Ok((manifest, staging.to_path_buf()))
            }
        }
    }
}

async fn client(s3: &S3Settings) -> aws_sdk_s3::Client {
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new(s3.region.clone()))
        .load()
        .await;
    aws_sdk_s3::Client::from_conf(crate::uploads::s3::client_config(
        &sdk,
        s3.endpoint.as_deref(),
    ))
}
