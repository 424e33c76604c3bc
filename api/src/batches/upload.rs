//! Streaming a batch's input into the object store: raw bodies and the `file` part of
//! multipart uploads are written in parts as they arrive (never held in memory), up to
//! `KRONOS_BATCH_MAX_UPLOAD_BYTES`; a failed or over-long upload leaves nothing behind.

use axum::body::Bytes;
use futures::{Stream, StreamExt};
use kronos_storage::{Storage, StorageKey, Stored};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};

/// Writes `body` under the batch's input key.
pub async fn stream_to_store<S, E>(storage: &Storage, batch_id: Uuid, mut body: S, max_bytes: u64) -> ApiResult<Stored>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let key = StorageKey::BatchInput { batch_id };
    let mut upload = storage.upload(&key).await.map_err(storage_error)?;
    while let Some(piece) = body.next().await {
        let piece = match piece {
            Ok(piece) => piece,
            Err(e) => {
                let _ = upload.abort().await;
                return Err(ApiError::from_status(
                    axum::http::StatusCode::BAD_REQUEST,
                    format!("the upload stopped: {e}"),
                ));
            }
        };
        if upload.size() + piece.len() as u64 > max_bytes {
            let _ = upload.abort().await;
            return Err(ApiError::too_large(format!("the upload is larger than {max_bytes} bytes")));
        }
        if let Err(e) = upload.write(&piece).await {
            let _ = upload.abort().await;
            return Err(storage_error(e));
        }
    }
    if upload.size() == 0 {
        let _ = upload.abort().await;
        return Err(ApiError::invalid("file", "the upload is empty"));
    }
    upload.finish().await.map_err(storage_error)
}

/// Writes a small input (a JSON batch's series) under the batch's input key.
pub async fn put_small(storage: &Storage, batch_id: Uuid, bytes: Vec<u8>) -> ApiResult<Stored> {
    storage.put(&StorageKey::BatchInput { batch_id }, Bytes::from(bytes)).await.map_err(storage_error)
}

fn storage_error(e: kronos_storage::Error) -> ApiError {
    tracing::error!(error = %e, "object store refused a batch upload");
    ApiError::unavailable("the object store is unavailable; try again")
}
