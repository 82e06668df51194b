//! Attachment bytes, shared by the services that store or read them (intake takes them in,
//! acceptance archives them), behind `object_store`: the local filesystem by default, an S3-compatible
//! bucket when configured. Keys are `tickets/<ticket id>/<attachment id>`.

use std::sync::Arc;

use crate::ApiError;
use crate::settings::{AttachmentSettings, AttachmentStorage};
use bytes::Bytes;
use object_store::path::Path;
use object_store::{ObjectStore, PutPayload};

/// Where attachments go, and what is accepted.
#[derive(Clone)]
pub struct AttachmentStore {
    store: Arc<dyn ObjectStore>,
    /// Largest attachment accepted.
    pub max_bytes: u64,
    allowed: Vec<String>,
}

impl AttachmentStore {
    /// Opens the configured storage (creating the local directory).
    pub fn open(settings: &AttachmentSettings) -> Result<Self, String> {
        let store: Arc<dyn ObjectStore> = match &settings.storage {
            AttachmentStorage::Local(dir) => {
                std::fs::create_dir_all(dir)
                    .map_err(|err| format!("attachments directory {}: {err}", dir.display()))?;
                Arc::new(
                    object_store::local::LocalFileSystem::new_with_prefix(dir)
                        .map_err(|err| format!("attachments directory {}: {err}", dir.display()))?,
                )
            }
            AttachmentStorage::S3 {
                bucket,
                endpoint,
                region,
                access_key_id,
                secret_access_key,
                allow_http,
            } => {
                let mut builder = object_store::aws::AmazonS3Builder::new()
                    .with_bucket_name(bucket)
                    .with_region(region)
                    .with_allow_http(*allow_http);
                if let Some(endpoint) = endpoint {
                    builder = builder.with_endpoint(endpoint);
                }
                if let Some(key) = access_key_id {
                    builder = builder.with_access_key_id(key);
                }
                if let Some(secret) = secret_access_key {
                    builder = builder.with_secret_access_key(secret.expose());
                }
                Arc::new(
                    builder
                        .build()
                        .map_err(|err| format!("s3 bucket {bucket}: {err}"))?,
                )
            }
        };
        Ok(AttachmentStore {
            store,
            max_bytes: settings.max_bytes,
            allowed: settings.allowed_content_types.clone(),
        })
    }

    /// Whether a content type is accepted.
    pub fn allows(&self, content_type: &str) -> bool {
        let ct = content_type.trim().to_ascii_lowercase();
        self.allowed.contains(&ct)
    }

    /// The accepted types, for messages.
    pub fn allowed(&self) -> String {
        self.allowed.join(", ")
    }

    /// Stores bytes under `key`.
    pub async fn put(&self, key: &str, bytes: Bytes) -> Result<(), ApiError> {
        self.store
            .put(&Path::from(key), PutPayload::from(bytes))
            .await
            .map(|_| ())
            .map_err(|err| ApiError::Unavailable(format!("attachment store put {key}: {err}")))
    }

    /// Reads the bytes under `key`.
    pub async fn get(&self, key: &str) -> Result<Bytes, ApiError> {
        let object = self
            .store
            .get(&Path::from(key))
            .await
            .map_err(|err| ApiError::Internal(format!("attachment store get {key}: {err}")))?;
        object
            .bytes()
            .await
            .map_err(|err| ApiError::Internal(format!("attachment store read {key}: {err}")))
    }

    /// Removes `key`, best effort (used to undo a put whose record failed).
    pub async fn delete(&self, key: &str) {
        if let Err(err) = self.store.delete(&Path::from(key)).await {
            tracing::warn!(key, error = %err, "orphaned attachment could not be removed");
        }
    }
}

/// Types whose content announces itself, with the declared types each may stand for.
const SIGNED: &[(&str, &[&str])] = &[
    ("image/jpeg", &["image/jpeg"]),
    ("image/png", &["image/png"]),
    ("image/heic", &["image/heif"]),
    ("image/heif", &["image/heif"]),
    ("image/webp", &["image/webp"]),
    ("image/gif", &["image/gif"]),
    ("video/mp4", &["video/mp4", "video/quicktime"]),
    ("video/quicktime", &["video/quicktime", "video/mp4"]),
    ("application/pdf", &["application/pdf"]),
];

/// Checks the leading bytes against the declared content type: a file of a type with a
/// signature must carry it, and no upload may be a program whatever it claims to be.
/// Returns why not, naming what the bytes look like.
pub fn check_content(declared: &str, bytes: &[u8]) -> Result<(), steelcare_i18n::Msg> {
    use steelcare_i18n::msg;
    let detected = infer::get(bytes).map(|t| t.mime_type());
    if let Some(kind) = infer::get(bytes)
        && matches!(kind.matcher_type(), infer::MatcherType::App)
    {
        return Err(msg!(
            "field-content-program",
            found = kind.mime_type(),
            declared = declared
        ));
    }
    let Some((_, accepted)) = SIGNED.iter().find(|(d, _)| *d == declared) else {
        return Ok(());
    };
    match detected {
        Some(found) if accepted.contains(&found) => Ok(()),
        Some(found) => Err(msg!(
            "field-content-mismatch",
            found = found,
            declared = declared
        )),
        None => Err(msg!("field-content-not", declared = declared)),
    }
}

#[cfg(test)]
mod tests {
    use super::check_content;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
    const JPEG: &[u8] = b"\xff\xd8\xff\xe0\0\x10JFIF\0";
    const PDF: &[u8] = b"%PDF-1.7\n";
    const EXE: &[u8] = b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff\0\0";

    #[test]
    fn declared_types_must_match_the_bytes() {
        assert!(check_content("image/png", PNG).is_ok());
        assert!(check_content("image/jpeg", JPEG).is_ok());
        assert!(check_content("application/pdf", PDF).is_ok());
        let exe = check_content("image/png", EXE).unwrap_err();
        assert!(exe.english().contains("program"), "{exe}");
        let swapped = check_content("image/png", JPEG).unwrap_err();
        assert!(swapped.english().contains("image/jpeg"), "{swapped}");
        assert!(check_content("image/jpeg", b"just some text").is_err());
        // A type without a signature is not sniffed, unless it is a program.
        assert!(check_content("text/plain", b"hello").is_ok());
        assert!(check_content("text/plain", EXE).is_err());
    }
}
