//! Idempotency keys (AIP-155): a create stores its `request_id`, a hash of its payload and the
//! resource it made; a retry with the same payload gets the same resource, a reuse with a
//! different payload is refused.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, Set};
use sha2::{Digest, Sha256};

use crate::StoreError;
use crate::entity::idempotency_keys;

/// Hash of a request payload (e.g. its encoded protobuf without the request id).
pub fn request_hash(payload: &[u8]) -> String {
    hex::encode(Sha256::digest(payload))
}

/// Looks `request_id` up in `scope` (e.g. "CreateTicket"). Returns the resource created by an
/// earlier identical request, `None` when the id is new, or
/// [`StoreError::IdempotencyMismatch`] when it was used with a different payload.
pub async fn lookup(
    conn: &impl ConnectionTrait,
    scope: &str,
    request_id: &str,
    hash: &str,
) -> Result<Option<String>, StoreError> {
    let found = idempotency_keys::Entity::find_by_id((scope.to_owned(), request_id.to_owned()))
        .one(conn)
        .await?;
    match found {
        None => Ok(None),
        Some(row) if row.request_hash == hash => Ok(Some(row.resource_id)),
        Some(_) => Err(StoreError::IdempotencyMismatch {
            request_id: request_id.to_owned(),
        }),
    }
}

/// Saves the key with the resource it created, inside the creating transaction. A concurrent
/// duplicate fails on the primary key and rolls its transaction back.
pub async fn save(
    conn: &impl ConnectionTrait,
    scope: &str,
    request_id: &str,
    hash: &str,
    resource_id: &str,
) -> Result<(), StoreError> {
    idempotency_keys::ActiveModel {
        scope: Set(scope.to_owned()),
        request_id: Set(request_id.to_owned()),
        request_hash: Set(hash.to_owned()),
        resource_id: Set(resource_id.to_owned()),
        created_at: Set(Utc::now()),
    }
    .insert(conn)
    .await?;
    Ok(())
}
