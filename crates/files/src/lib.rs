//! Attachments' files: where their bytes are kept, and which bytes may be
//! kept. A file is stored under its workspace and its attachment record's
//! id (`{workspace}/{attachment}`), never under a name a client chose, so
//! no record can point at another's file. The store is the local disk by
//! default, or an S3-compatible bucket (`s3://bucket/prefix`), both through
//! `object_store`.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as StorePath;
use object_store::prefix::PrefixStore;
use object_store::{ObjectStore, ObjectStoreExt, RetryConfig};

/// Largest file accepted by default: 25 MiB.
pub const DEFAULT_MAX_BYTES: u64 = 25 * 1024 * 1024;

/// Content types accepted by default: documents, images, archives, text.
/// Types a browser would run (HTML, SVG, JavaScript) are not among them.
pub const DEFAULT_TYPES: &[&str] = &[
    "application/pdf",
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "text/plain",
    "text/csv",
    "application/json",
    "application/zip",
    "application/msword",
    "application/vnd.ms-excel",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "message/rfc822",
];

#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("the file is {size} bytes; at most {max} are accepted")]
    TooLarge { size: u64, max: u64 },
    #[error("`{0}` files are not accepted")]
    TypeRefused(String),
    #[error("the content is not a `{0}` file")]
    ContentMismatch(String),
    #[error("no file")]
    NotFound,
    #[error("file storage: {0}")]
    Storage(#[from] object_store::Error),
    #[error("file storage: {0}")]
    Setup(String),
}

/// Where files are kept and what is accepted.
pub struct Files {
    store: Arc<dyn ObjectStore>,
    pub max_bytes: u64,
    types: Vec<String>,
}

impl Files {
    fn with_store(store: Arc<dyn ObjectStore>, max_bytes: u64, types: Vec<String>) -> Files {
        Files {
            store,
            max_bytes,
            types: types.into_iter().map(|t| t.to_ascii_lowercase()).collect(),
        }
    }

    /// Files on the local disk under `dir` (made if missing).
    pub fn local(dir: &Path, max_bytes: u64, types: Vec<String>) -> Result<Files, FileError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| FileError::Setup(format!("cannot make {}: {e}", dir.display())))?;
        let store = object_store::local::LocalFileSystem::new_with_prefix(dir)
            .map_err(FileError::Storage)?;
        Ok(Files::with_store(Arc::new(store), max_bytes, types))
    }

    /// Files in an S3-compatible bucket, at `s3://bucket` or under a prefix
    /// (`s3://bucket/some/prefix`). Credentials, region and endpoint come
    /// from the standard `AWS_*` variables (`AWS_ENDPOINT_URL` and
    /// `AWS_ALLOW_HTTP=true` for a store such as MinIO on plain HTTP). The
    /// bucket must exist: a probe file is written and removed first, so a
    /// wrong name, endpoint or credential stops the server at its start
    /// rather than at the first upload.
    pub async fn s3(
        location: &str,
        max_bytes: u64,
        types: Vec<String>,
    ) -> Result<Files, FileError> {
        let usage = || {
            FileError::Setup(format!(
                "`{location}` is not an S3 location: write s3://bucket or s3://bucket/prefix"
            ))
        };
        let url = url::Url::parse(location).map_err(|_| usage())?;
        let bucket = url.host_str().filter(|b| !b.is_empty());
        let (Some(bucket), "s3") = (bucket, url.scheme()) else {
            return Err(usage());
        };
        // The S3 client's HTTPS needs a process-wide rustls provider; one
        // installed earlier (by anyone) is kept. ring's is deprecated for
        // lacking post-quantum key exchange; aws-lc-rs has it but its build
        // needs cmake, and S3 endpoints take classical X25519.
        #[allow(deprecated)]
        let _ = rustls::crypto::ring::default_provider().install_default();
        // A few quick retries: object_store's default (ten, over minutes)
        // would hold a misconfigured server's start for minutes.
        let retry = RetryConfig {
            max_retries: 3,
            retry_timeout: Duration::from_secs(15),
            ..RetryConfig::default()
        };
        let bucket_store = AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .with_retry(retry)
            .build()
            .map_err(|e| FileError::Setup(format!("{location}: {e}")))?;
        let prefix = url.path().trim_matches('/');
        let store: Arc<dyn ObjectStore> = if prefix.is_empty() {
            Arc::new(bucket_store)
        } else {
            Arc::new(PrefixStore::new(bucket_store, prefix))
        };
        let files = Files::with_store(store, max_bytes, types);
        let probe = StorePath::from(".rapport-probe");
        let written = files.store.put(&probe, Bytes::new().into()).await;
        let removed = match written {
            Ok(_) => files.store.delete(&probe).await,
            Err(e) => Err(e),
        };
        removed.map_err(|e| FileError::Setup(format!("cannot write to {location}: {e}")))?;
        Ok(files)
    }

    /// The content type to keep a file under, or why it is refused: its
    /// declared type must be accepted, and for the types whose bytes say what
    /// they are (PDF, images, ZIP-based documents), the bytes must agree.
    pub fn check(&self, declared: &str, bytes: &[u8]) -> Result<String, FileError> {
        let size = bytes.len() as u64;
        if size > self.max_bytes {
            return Err(FileError::TooLarge {
                size,
                max: self.max_bytes,
            });
        }
        let ty = declared
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        if !self.types.contains(&ty) {
            return Err(FileError::TypeRefused(ty));
        }
        let magic: Option<&[&[u8]]> = match ty.as_str() {
            "application/pdf" => Some(&[b"%PDF-"]),
            "image/png" => Some(&[b"\x89PNG\r\n\x1a\n"]),
            "image/jpeg" => Some(&[b"\xff\xd8\xff"]),
            "image/gif" => Some(&[b"GIF87a", b"GIF89a"]),
            "application/zip" => Some(&[b"PK\x03\x04", b"PK\x05\x06"]),
            t if t.starts_with("application/vnd.openxmlformats")
                || t.starts_with("application/vnd.oasis") =>
            {
                Some(&[b"PK\x03\x04"])
            }
            _ => None,
        };
        let webp = ty == "image/webp"
            && !(bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP");
        if webp || magic.is_some_and(|m| !m.iter().any(|sig| bytes.starts_with(sig))) {
            return Err(FileError::ContentMismatch(ty));
        }
        Ok(ty)
    }

    fn key(workspace: &str, attachment: &str) -> StorePath {
        StorePath::from(format!("{workspace}/{attachment}"))
    }

    pub async fn put(
        &self,
        workspace: &str,
        attachment: &str,
        bytes: Bytes,
    ) -> Result<(), FileError> {
        self.store
            .put(&Self::key(workspace, attachment), bytes.into())
            .await?;
        Ok(())
    }

    pub async fn get(&self, workspace: &str, attachment: &str) -> Result<Bytes, FileError> {
        match self.store.get(&Self::key(workspace, attachment)).await {
            Ok(found) => Ok(found.bytes().await?),
            Err(object_store::Error::NotFound { .. }) => Err(FileError::NotFound),
            Err(e) => Err(e.into()),
        }
    }

    /// Whether the store holds this attachment's file.
    pub async fn exists(&self, workspace: &str, attachment: &str) -> Result<bool, FileError> {
        match self.store.head(&Self::key(workspace, attachment)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Removes a file; one already gone is no error.
    pub async fn delete(&self, workspace: &str, attachment: &str) -> Result<(), FileError> {
        match self.store.delete(&Self::key(workspace, attachment)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(dir: &Path) -> Files {
        Files::local(
            dir,
            16,
            DEFAULT_TYPES.iter().map(|t| t.to_string()).collect(),
        )
        .unwrap()
    }

    #[test]
    fn types_sizes_and_contents_are_checked() {
        let dir =
            std::env::temp_dir().join(format!("rapport-files-{}", uuid::Uuid::new_v4().simple()));
        let f = files(&dir);
        assert_eq!(
            f.check("text/plain; charset=utf-8", b"hello").unwrap(),
            "text/plain"
        );
        assert!(matches!(
            f.check("text/html", b"<b>"),
            Err(FileError::TypeRefused(_))
        ));
        assert!(matches!(
            f.check("image/svg+xml", b"<svg/>"),
            Err(FileError::TypeRefused(_))
        ));
        assert!(matches!(
            f.check("application/pdf", b"<html>"),
            Err(FileError::ContentMismatch(_))
        ));
        assert!(f.check("application/pdf", b"%PDF-1.7 ...").is_ok());
        assert!(matches!(
            f.check("text/plain", &[b'x'; 17]),
            Err(FileError::TooLarge { size: 17, max: 16 })
        ));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn a_file_is_kept_under_its_workspace_and_attachment() {
        let dir =
            std::env::temp_dir().join(format!("rapport-files-{}", uuid::Uuid::new_v4().simple()));
        let f = files(&dir);
        f.put("ws1", "a1", Bytes::from_static(b"hello"))
            .await
            .unwrap();
        assert_eq!(
            f.get("ws1", "a1").await.unwrap(),
            Bytes::from_static(b"hello")
        );
        assert!(dir.join("ws1").join("a1").exists());
        assert!(matches!(f.get("ws2", "a1").await, Err(FileError::NotFound)));
        f.delete("ws1", "a1").await.unwrap();
        f.delete("ws1", "a1").await.unwrap();
        assert!(matches!(f.get("ws1", "a1").await, Err(FileError::NotFound)));
        let _ = std::fs::remove_dir_all(dir);
    }
}
