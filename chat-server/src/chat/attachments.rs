//! Files in a conversation: a presigned upload URL first, then messages that carry the upload,
//! and short-lived download URLs for whoever may see the conversation.

use super::{Chat, validate};
use crate::auth::Principal;
use crate::error::{Error, Kind};
use crate::model::{Attachment, AttachmentRef, AuthorKind, new_id, now};
use crate::uploads::{Download, PresignedUrl};

pub struct Upload {
    pub attachment: Attachment,
    pub url: PresignedUrl,
}

/// A message carries at most this many attachments.
const MAX_PER_MESSAGE: usize = 10;

impl Chat {
    pub async fn create_upload(
        &self,
        by: &Principal,
        conversation_id: &str,
        filename: &str,
        content_type: &str,
        size: u64,
    ) -> Result<Upload, Error> {
        let filename = validate::filename(filename)?;
        let content_type = validate::content_type(content_type)?;
        if size == 0 {
            return Err(Error::invalid(
                "empty_upload",
                "size must be at least 1 byte",
            ));
        }
        if size > self.limits.max_upload_bytes {
            return Err(Error::new(
                Kind::TooLarge,
                "upload_too_large",
                format!(
                    "{size} bytes is over this tenant's upload limit of {} bytes",
                    self.limits.max_upload_bytes
                ),
            ));
        }
        self.authorize(by, conversation_id).await?;
        let id = new_id();
        let attachment = Attachment {
            key: format!("conversations/{conversation_id}/{id}/{filename}"),
            id,
            conversation_id: conversation_id.to_string(),
            filename,
            content_type,
            size,
            uploaded_by: by.author(),
            created_at: now(),
        };
        let url = self
            .blobs
            .presign_put(&attachment.key, &attachment.content_type, size)
            .await?;
        self.store.create_attachment(attachment.clone()).await?;
        Ok(Upload { attachment, url })
    }

    /// A short-lived download URL for an attachment `by` may see.
    pub async fn attachment_url(&self, by: &Principal, id: &str) -> Result<PresignedUrl, Error> {
        let unknown = || Error::not_found(format!("attachment {id}"));
        let attachment = self.store.attachment(id).await?.ok_or_else(unknown)?;
        self.authorize(by, &attachment.conversation_id).await?;
        // A visitor sees what visitors uploaded and what agents sent it, never a note's file,
        // nor one an agent has not sent yet; it cannot tell those from files that do not exist.
        if !by.is_agent()
            && attachment.uploaded_by.kind != AuthorKind::Visitor
            && !self
                .store
                .carried_publicly(&attachment.conversation_id, id)
                .await?
        {
            return Err(unknown());
        }
        let download = Download {
            filename: &attachment.filename,
            content_type: &attachment.content_type,
        };
        Ok(self.blobs.presign_get(&attachment.key, download).await?)
    }

    /// The uploads `ids` names, checked to belong to this conversation and to hold their bytes.
    /// A visitor attaches only what visitors uploaded: an agent's file (a note's above all) is
    /// as unknown to it as one that does not exist.
    pub(super) async fn attachments_for(
        &self,
        by: &Principal,
        conversation_id: &str,
        ids: &[String],
    ) -> Result<Vec<AttachmentRef>, Error> {
        if ids.len() > MAX_PER_MESSAGE {
            return Err(Error::invalid(
                "too_many_attachments",
                format!("a message carries at most {MAX_PER_MESSAGE} attachments"),
            ));
        }
        let mut refs = Vec::with_capacity(ids.len());
        for id in ids {
            match self.store.attachment(id).await? {
                Some(a)
                    if a.conversation_id == conversation_id
                        && (by.is_agent() || a.uploaded_by.kind == AuthorKind::Visitor) =>
                {
                    // A message must never point at bytes that are not there (or that a later
                    // PUT to a leaked URL could still put there).
                    if !self.blobs.exists(&a.key).await? {
                        return Err(Error::conflict(
                            "attachment_not_uploaded",
                            format!(
                                "attachment {id} has no bytes yet: PUT them to its upload_url, then send"
                            ),
                        ));
                    }
                    refs.push(a.as_ref())
                }
                _ => {
                    return Err(Error::invalid(
                        "unknown_attachment",
                        format!("attachment {id} was not uploaded to this conversation"),
                    ));
                }
            }
        }
        Ok(refs)
    }
}
