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
    found.map(|row| check(&row, hash)).transpose()
}

/// The stored keys among `keys` (scope, request id), in one query: concurrent creates look
/// theirs up together. Compare each one's hash with [`check`].
pub async fn find_many(
    conn: &impl ConnectionTrait,
    keys: &[(String, String)],
) -> Result<Vec<idempotency_keys::Model>, StoreError> {
    use sea_orm::{ColumnTrait, Condition, QueryFilter};
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let mut any = Condition::any();
    for (scope, request_id) in keys {
        any = any.add(
            Condition::all()
                .add(idempotency_keys::Column::Scope.eq(scope.as_str()))
                .add(idempotency_keys::Column::RequestId.eq(request_id.as_str())),
        );
    }
    Ok(idempotency_keys::Entity::find()
        .filter(any)
        .all(conn)
        .await?)
}

/// What a stored key means for a request with payload `hash`: the resource it created, or
/// [`StoreError::IdempotencyMismatch`] when the id was used with a different payload.
pub fn check(found: &idempotency_keys::Model, hash: &str) -> Result<String, StoreError> {
    if found.request_hash == hash {
        Ok(found.resource_id.clone())
    } else {
        Err(StoreError::IdempotencyMismatch {
            request_id: found.request_id.clone(),
        })
    }
}

/// A key to save: scope, request id, payload hash, and the resource it created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    /// E.g. "CreateTicket/agent-1".
    pub scope: String,
    /// The client's request id.
    pub request_id: String,
    /// Hash of the payload.
    pub hash: String,
    /// What the request created.
    pub resource_id: String,
}

fn active(key: IdempotencyKey) -> idempotency_keys::ActiveModel {
    idempotency_keys::ActiveModel {
        scope: Set(key.scope),
        request_id: Set(key.request_id),
        request_hash: Set(key.hash),
        resource_id: Set(key.resource_id),
        created_at: Set(Utc::now()),
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
    active(IdempotencyKey {
        scope: scope.to_owned(),
        request_id: request_id.to_owned(),
        hash: hash.to_owned(),
        resource_id: resource_id.to_owned(),
    })
    .insert(conn)
    .await?;
    Ok(())
}

/// Saves several keys with one statement.
pub async fn save_all(
    conn: &impl ConnectionTrait,
    keys: Vec<IdempotencyKey>,
) -> Result<(), StoreError> {
    crate::db::execute_all(conn, save_all_statement(conn.get_database_backend(), keys)).await
}

/// The statement of [`save_all`] (`None` for no keys).
pub fn save_all_statement(
    backend: sea_orm::DbBackend,
    keys: Vec<IdempotencyKey>,
) -> Option<sea_orm::Statement> {
    use sea_orm::QueryTrait;
    if keys.is_empty() {
        return None;
    }
    Some(idempotency_keys::Entity::insert_many(keys.into_iter().map(active)).build(backend))
}
