//! Errors of the store.

use steelcare_domain::IllegalTransition;

/// What can go wrong in a repository call.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database failed or refused the statement.
    #[error("database error: {0}")]
    Db(#[from] sea_orm::DbErr),
    /// The record does not exist.
    #[error("{entity} {id} not found")]
    NotFound {
        /// Entity type, e.g. "case".
        entity: &'static str,
        /// The id asked for.
        id: String,
    },
    /// The lifecycle refuses the transition.
    #[error(transparent)]
    IllegalTransition(#[from] IllegalTransition),
    /// A `request_id` was used before with a different payload.
    #[error("request_id {request_id} was already used with a different payload")]
    IdempotencyMismatch {
        /// The reused request id.
        request_id: String,
    },
    /// Somebody else changed the record first; the caller may retry.
    #[error("{entity} {id} was changed concurrently")]
    Conflict {
        /// Entity type.
        entity: &'static str,
        /// Id.
        id: String,
    },
    /// A stored value is not one the code knows (a corrupt or newer row).
    #[error("corrupt stored value: {0}")]
    Corrupt(String),
    /// A page token that this server did not issue for this query.
    #[error("invalid page token")]
    InvalidPageToken,
}
