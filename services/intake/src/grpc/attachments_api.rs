//! Attachments: photos and video streamed in and out with their SHA-256.

use super::*;
use steelcare_i18n::msg;
use steelcare_runtime::idempotent;

/// An upload whose metadata passed the checks.
struct CheckedUpload {
    ticket_id: String,
    file_name: String,
    content_type: String,
    caption: String,
    /// The caller's id of the upload, if any.
    request_id: Option<String>,
}

/// The idempotency scope of uploads (both RPCs make the same resource).
const UPLOAD: (&str, &str) = ("intake", "Attachment");

impl CheckedUpload {
    /// What a repeated upload must match: its metadata and its bytes.
    fn hash(&self, bytes: &[u8]) -> String {
        let mut digest = Sha256::new();
        for part in [
            &self.ticket_id,
            &self.file_name,
            &self.content_type,
            &self.caption,
        ] {
            digest.update(part.as_bytes());
            digest.update([0]);
        }
        digest.update(bytes);
        hex::encode(digest.finalize())
    }
}

impl IntakeService {
    pub(super) async fn upload_attachment(
        &self,
        ctx: &RequestContext,
        mut stream: Streaming<pb::UploadAttachmentRequest>,
    ) -> Result<pb::UploadAttachmentResponse, ApiError> {
        require(&ctx.caller, UPLOADERS)?;
        let first = stream
            .message()
            .await
            .map_err(|s| stream_error("metadata", s))?;
        let Some(pb::UploadAttachmentRequest {
            part: Some(pb::upload_attachment_request::Part::Metadata(meta)),
        }) = first
        else {
            return Err(ApiError::invalid("metadata", msg!("field-metadata-first")));
        };
        steelcare_runtime::validate::ids_at("metadata", &meta)?;
        let checked = self.check_upload(ctx, &meta).await?;
        let mut buffer = BytesMut::new();
        while let Some(message) = stream
            .message()
            .await
            .map_err(|s| stream_error("chunk", s))?
        {
            match message.part {
                Some(pb::upload_attachment_request::Part::Chunk(chunk)) => {
                    if (buffer.len() + chunk.len()) as u64 > self.files.max_bytes {
                        return Err(self.too_large());
                    }
                    buffer.extend_from_slice(&chunk);
                }
                _ => {
                    return Err(ApiError::invalid(
                        "metadata",
                        msg!("field-metadata-only-first"),
                    ));
                }
            }
        }
        if buffer.is_empty() {
            return Err(ApiError::invalid("chunk", msg!("field-attachment-empty")));
        }
        let attachment = self.store_upload(ctx, checked, buffer.freeze()).await?;
        Ok(pb::UploadAttachmentResponse {
            attachment: Some(attachment),
        })
    }

    pub(super) async fn attach_file(
        &self,
        ctx: &RequestContext,
        request: pb::AttachFileRequest,
    ) -> Result<pb::AttachFileResponse, ApiError> {
        require(&ctx.caller, UPLOADERS)?;
        let Some(meta) = request.metadata else {
            return Err(ApiError::invalid("metadata", msg!("field-required")));
        };
        let checked = self.check_upload(ctx, &meta).await?;
        if request.content.is_empty() {
            return Err(ApiError::invalid("content", msg!("field-attachment-empty")));
        }
        if request.content.len() as u64 > self.files.max_bytes {
            return Err(self.too_large());
        }
        let attachment = self
            .store_upload(ctx, checked, Bytes::from(request.content))
            .await?;
        Ok(pb::AttachFileResponse {
            attachment: Some(attachment),
        })
    }

    fn too_large(&self) -> ApiError {
        ApiError::OutOfRange(msg!(
            "error-attachment-too-large",
            max = self.files.max_bytes
        ))
    }

    /// Checks an upload's metadata and that its case is open to attachments.
    async fn check_upload(
        &self,
        ctx: &RequestContext,
        meta: &pb::AttachmentMetadata,
    ) -> Result<CheckedUpload, ApiError> {
        let mut v = Violations::default();
        v.required("metadata.ticket_id", &meta.ticket_id, SHORT);
        let file_name = v.required("metadata.file_name", &meta.file_name, 255);
        if file_name.contains('/') || file_name.contains('\\') {
            v.add("metadata.file_name", msg!("field-path-separators"));
        }
        let content_type = meta.content_type.trim().to_ascii_lowercase();
        if !self.files.allows(&content_type) {
            v.add(
                "metadata.content_type",
                msg!(
                    "field-content-type-not-allowed",
                    given = content_type.as_str(),
                    allowed = self.files.allowed()
                ),
            );
        }
        let caption = v.optional("metadata.caption", &meta.caption, LONG);
        let request_id = v.optional("metadata.request_id", &meta.request_id, 128);
        v.finish(())?;
        let ticket = self.visible_ticket(&ctx.caller, &meta.ticket_id).await?;
        let case = cases::get(&self.db, &ticket.id).await?;
        if case.state.is_terminal() {
            return Err(precondition(
                &ticket.id,
                case.state,
                msg!("error-case-closed"),
            ));
        }
        Ok(CheckedUpload {
            ticket_id: ticket.id,
            file_name,
            content_type,
            caption,
            request_id: Some(request_id).filter(|id| !id.is_empty()),
        })
    }

    /// Stores checked bytes and records the attachment, its audit record and event in one
    /// transaction; the stored object is removed again when the transaction fails.
    async fn store_upload(
        &self,
        ctx: &RequestContext,
        upload: CheckedUpload,
        bytes: Bytes,
    ) -> Result<common::AttachmentRef, ApiError> {
        let hash = upload.hash(&bytes);
        if let Some(earlier) = self.uploaded_before(ctx, &upload, &hash).await? {
            return Ok(earlier);
        }
        let CheckedUpload {
            ticket_id,
            file_name,
            content_type,
            caption,
            request_id,
        } = upload;
        if let Err(why) = crate::attachments::check_content(&content_type, &bytes) {
            return Err(ApiError::invalid("metadata.content_type", why));
        }
        let sha256 = hex::encode(Sha256::digest(&bytes));
        let id = uuid::Uuid::now_v7().to_string();
        let key = format!("tickets/{}/{id}", ticket_id);
        let size = bytes.len() as i64;
        self.files.put(&key, bytes).await?;
        let stored = async {
            let tx = begin_write(&self.db).await.map_err(steelcare_store::StoreError::from)?;
            let row = attachments::ActiveModel {
                id: Set(id.clone()),
                ticket_id: Set(ticket_id.clone()),
                file_name: Set(file_name.clone()),
                content_type: Set(content_type.clone()),
                size_bytes: Set(size),
                sha256: Set(sha256.clone()),
                caption: Set(caption.clone()),
                storage_key: Set(key.clone()),
                uploaded_by: Set(ctx.caller.subject.clone()),
                created_at: Set(steelcare_store::now()),
            }
            .insert(&tx)
            .await
            .map_err(steelcare_store::StoreError::from)?;
            store::touch_ticket(&tx, &ticket_id, None).await?;
            if let Some(request_id) = &request_id {
                idempotent::remember(&tx, ctx, UPLOAD, request_id, &hash, &id).await?;
            }
            audit(
                &tx,
                ctx,
                "attachment",
                &id,
                None,
                serde_json::json!({ "ticket_id": ticket_id, "file_name": file_name, "sha256": sha256, "size_bytes": size }),
            )
            .await?;
            let reference = view::attachment(&row);
            self.event(
                &tx,
                ctx,
                Some(&ticket_id),
                Payload::AttachmentUploaded(events::AttachmentUploaded {
                    attachment: Some(reference.clone()),
                }),
            )
            .await?;
            tx.commit().await.map_err(steelcare_store::StoreError::from)?;
            Ok::<_, ApiError>(reference)
        }
        .await;
        match stored {
            Ok(reference) => {
                self.committed();
                Ok(reference)
            }
            Err(err) => {
                self.files.delete(&key).await;
                Err(err)
            }
        }
    }

    /// The attachment an earlier upload with the same request id and content stored, if any.
    async fn uploaded_before(
        &self,
        ctx: &RequestContext,
        upload: &CheckedUpload,
        hash: &str,
    ) -> Result<Option<common::AttachmentRef>, ApiError> {
        let Some(request_id) = &upload.request_id else {
            return Ok(None);
        };
        let Some(earlier) =
            idempotent::replayed(&self.db, ctx, UPLOAD.0, UPLOAD.1, request_id, hash).await?
        else {
            return Ok(None);
        };
        let row = store::attachment(&self.db, &earlier)
            .await?
            .ok_or_else(|| not_found("attachment", &earlier))?;
        Ok(Some(view::attachment(&row)))
    }

    pub(super) async fn download(
        &self,
        ctx: &RequestContext,
        request: pb::DownloadAttachmentRequest,
    ) -> Result<(pb::DownloadAttachmentResponse, Bytes), ApiError> {
        let id = steelcare_runtime::validate::id("attachment_id", &request.attachment_id)?;
        let row = store::attachment(&self.db, id)
            .await?
            .ok_or_else(|| not_found("attachment", id))?;
        self.visible_ticket(&ctx.caller, &row.ticket_id)
            .await
            .map_err(|_| not_found("attachment", id))?;
        let bytes = self.files.get(&row.storage_key).await?;
        Ok((
            pb::DownloadAttachmentResponse {
                part: Some(pb::download_attachment_response::Part::Metadata(
                    view::attachment(&row),
                )),
            },
            bytes,
        ))
    }

    /// The attachment's metadata, then its bytes in chunks.
    pub(super) async fn download_stream(
        &self,
        ctx: &RequestContext,
        request: pb::DownloadAttachmentRequest,
    ) -> Result<BoxStream<pb::DownloadAttachmentResponse>, ApiError> {
        let (metadata, bytes) = self.download(ctx, request).await?;
        let chunks: Vec<Result<pb::DownloadAttachmentResponse, Status>> =
            std::iter::once(Ok(metadata))
                .chain(bytes.chunks(CHUNK).map(|chunk| {
                    Ok(pb::DownloadAttachmentResponse {
                        part: Some(pb::download_attachment_response::Part::Chunk(
                            chunk.to_vec(),
                        )),
                    })
                }))
                .collect();
        Ok(Box::pin(tokio_stream::iter(chunks)))
    }
}
