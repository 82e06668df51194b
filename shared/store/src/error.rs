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

/// Whether a database error means the database could not be reached (down, restarting,
/// connection lost or pool exhausted) rather than a refused statement: such a call may
/// succeed when retried, so clients see `UNAVAILABLE`.
pub fn is_unavailable(err: &sea_orm::DbErr) -> bool {
    use sea_orm::DbErr;
    if matches!(err, DbErr::Conn(_) | DbErr::ConnectionAcquire(_)) {
        return true;
    }
    let text = err.to_string().to_lowercase();
    [
        "connection refused",
        "connection reset",
        "broken pipe",
        "pool timed out",
        "terminating connection",
        "the database system is starting up",
        "the database system is shutting down",
        "connection closed",
        "unexpected eof",
        "error communicating with database",
    ]
    .iter()
    .any(|needle| text.contains(needle))
}

#[cfg(test)]
mod tests {
    use super::is_unavailable;
    use sea_orm::{DbErr, RuntimeErr};

    #[test]
    fn a_lost_database_is_unavailable_and_a_refused_statement_is_not() {
        assert!(is_unavailable(&DbErr::Conn(RuntimeErr::Internal(
            "Connection refused (os error 111)".into()
        ))));
        assert!(is_unavailable(&DbErr::Exec(RuntimeErr::Internal(
            "error returned from database: terminating connection due to administrator command"
                .into()
        ))));
        assert!(!is_unavailable(&DbErr::Exec(RuntimeErr::Internal(
            "syntax error at or near SELECT".into()
        ))));
    }
}
