//! Idempotent creates (AIP-155) for services whose every create takes a `request_id`: the key
//! is looked up in the creating transaction, and saved in it with the resource made, so a
//! retry gets the first result and a reuse with another payload is ALREADY_EXISTS.

use sea_orm::DatabaseTransaction;
use steelcare_i18n::msg;
use steelcare_store::{Database, StoreError, begin_write, idempotency};

use crate::auth::RequestContext;
use crate::error::ApiError;

/// An idempotent create, begun: either the earlier result, or a fresh transaction with the key
/// to save.
pub enum Begun {
    /// The same request was made before: the resource it made.
    Replay(String),
    /// A new request: its transaction and key.
    Fresh(DatabaseTransaction, Key),
}

/// The idempotency key of a create.
pub struct Key {
    scope: String,
    request_id: String,
    hash: String,
}

/// Begins the create `rpc` of `service` by the caller: `request_id` is required (at most 128
/// characters); `hash` is the payload's (see [`crate::record::payload_hash`]).
pub async fn begin(
    db: &Database,
    ctx: &RequestContext,
    service: &str,
    rpc: &str,
    request_id: &str,
    hash: String,
) -> Result<Begun, ApiError> {
    let (scope, request_id) = scoped(ctx, service, rpc, request_id)?;
    let tx = begin_write(db).await.map_err(StoreError::from)?;
    if let Some(existing) = idempotency::lookup(&tx, &scope, request_id, &hash).await? {
        tx.commit().await.map_err(StoreError::from)?;
        return Ok(Begun::Replay(existing));
    }
    Ok(Begun::Fresh(
        tx,
        Key {
            scope,
            request_id: request_id.to_owned(),
            hash,
        },
    ))
}

/// The resource an earlier identical request made, if any, read without a write transaction:
/// for a create that must do work of its own before [`begin`] (another service's write).
pub async fn replayed(
    db: &Database,
    ctx: &RequestContext,
    service: &str,
    rpc: &str,
    request_id: &str,
    hash: &str,
) -> Result<Option<String>, ApiError> {
    let (scope, request_id) = scoped(ctx, service, rpc, request_id)?;
    Ok(idempotency::lookup(db, &scope, request_id, hash).await?)
}

/// Saves the key of a create whose own transaction is `conn` (one that does work before it
/// can [`begin`], like storing a file), with the resource made.
pub async fn remember(
    conn: &impl sea_orm::ConnectionTrait,
    ctx: &RequestContext,
    (service, rpc): (&str, &str),
    request_id: &str,
    hash: &str,
    resource_id: &str,
) -> Result<(), ApiError> {
    let (scope, request_id) = scoped(ctx, service, rpc, request_id)?;
    idempotency::save(conn, &scope, request_id, hash, resource_id).await?;
    Ok(())
}

/// Checks `request_id` (required, at most 128 characters) and names the key's scope.
fn scoped<'a>(
    ctx: &RequestContext,
    service: &str,
    rpc: &str,
    request_id: &'a str,
) -> Result<(String, &'a str), ApiError> {
    let request_id = request_id.trim();
    if request_id.is_empty() {
        return Err(ApiError::invalid(
            "request_id",
            msg!("field-request-id-required"),
        ));
    }
    if request_id.chars().count() > 128 {
        return Err(ApiError::invalid(
            "request_id",
            msg!("field-too-long", max = 128),
        ));
    }
    Ok((
        format!("{service}.{rpc}/{}", ctx.caller.subject),
        request_id,
    ))
}

/// Saves the key with the resource made and commits.
pub async fn finish(tx: DatabaseTransaction, key: Key, resource_id: &str) -> Result<(), ApiError> {
    idempotency::save(&tx, &key.scope, &key.request_id, &key.hash, resource_id).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(())
}
