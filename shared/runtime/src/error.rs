//! The one road from errors to `tonic::Status` (STYLE.md 9). Client errors carry
//! `google.rpc` details (field violations, precondition failures); internal errors give the
//! client a generic message with the trace id and are logged at error level, never leaking SQL.

use std::collections::HashMap;

use steelcare_bus::BusError;
use steelcare_store::StoreError;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// The domain of `google.rpc.ErrorInfo` details.
pub const ERROR_DOMAIN: &str = "steelcare.io";

/// One invalid field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    /// Field path, e.g. `reporter.phone`.
    pub field: String,
    /// What is wrong with it.
    pub description: String,
}

impl FieldViolation {
    /// A violation of `field`.
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        FieldViolation {
            field: field.into(),
            description: description.into(),
        }
    }
}

/// An error a handler returns.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is invalid; every problem found is listed.
    #[error("invalid argument")]
    InvalidArgument(Vec<FieldViolation>),
    /// The entity does not exist (or the caller may not see it).
    #[error("{entity} {id} not found")]
    NotFound {
        /// Entity type.
        entity: String,
        /// Id asked for.
        id: String,
    },
    /// The resource exists already.
    #[error("{0}")]
    AlreadyExists(String),
    /// The entity is not in a state that allows the call.
    #[error("{message}")]
    FailedPrecondition {
        /// The entity, e.g. `case/123`.
        subject: String,
        /// Its current state.
        current_state: String,
        /// What is refused, naming the current state.
        message: String,
    },
    /// The caller may not do this.
    #[error("{0}")]
    PermissionDenied(String),
    /// A concurrent change won; retry.
    #[error("{0}")]
    Aborted(String),
    /// A size or count past its limit.
    #[error("{0}")]
    OutOfRange(String),
    /// A dependency is down; retry later.
    #[error("{0}")]
    Unavailable(String),
    /// Stored data is gone or damaged (an archived byte is missing).
    #[error("{0}")]
    DataLoss(String),
    /// A bug or an unexpected failure; the detail is logged, not returned.
    #[error("internal: {0}")]
    Internal(String),
    /// Another service's answer to a call made for the caller, passed on as it came (a server
    /// failure of that service is logged here too).
    #[error("upstream: {0}")]
    Upstream(tonic::Status),
}

impl ApiError {
    /// One invalid field.
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        ApiError::InvalidArgument(vec![FieldViolation::new(field, description)])
    }

    /// Converts to a status; internal errors are logged with `trace_id`.
    pub fn into_status(self, trace_id: &str) -> Status {
        match self {
            ApiError::InvalidArgument(violations) => {
                let mut details = ErrorDetails::new();
                for v in &violations {
                    details.add_bad_request_violation(v.field.clone(), v.description.clone());
                }
                let summary: Vec<String> = violations
                    .iter()
                    .map(|v| format!("{}: {}", v.field, v.description))
                    .collect();
                tracing::debug!(violations = %summary.join("; "), "invalid argument");
                Status::with_error_details(
                    Code::InvalidArgument,
                    format!("invalid argument: {}", summary.join("; ")),
                    details,
                )
            }
            ApiError::NotFound { entity, id } => {
                Status::not_found(format!("{entity} {} not found", echo(&id)))
            }
            ApiError::OutOfRange(message) => Status::out_of_range(message),
            ApiError::AlreadyExists(message) => Status::already_exists(message),
            ApiError::FailedPrecondition {
                subject,
                current_state,
                message,
            } => {
                let mut details = ErrorDetails::new();
                details.add_precondition_failure_violation(
                    "STATE",
                    subject,
                    format!("current state is {current_state}"),
                );
                details.set_error_info(
                    "FAILED_PRECONDITION",
                    ERROR_DOMAIN,
                    HashMap::from([("current_state".to_owned(), current_state)]),
                );
                Status::with_error_details(Code::FailedPrecondition, message, details)
            }
            ApiError::PermissionDenied(message) => Status::permission_denied(message),
            ApiError::Aborted(message) => Status::aborted(message),
            ApiError::Unavailable(message) => {
                tracing::warn!(trace_id, error = %message, "dependency unavailable");
                Status::unavailable(format!(
                    "service temporarily unavailable (trace id {trace_id})"
                ))
            }
            ApiError::DataLoss(message) => {
                tracing::error!(trace_id, error = %message, "data loss");
                Status::data_loss(message)
            }
            ApiError::Internal(detail) => {
                tracing::error!(trace_id, error = %detail, "internal error");
                Status::internal(format!("internal error (trace id {trace_id})"))
            }
            ApiError::Upstream(status) => {
                if matches!(
                    status.code(),
                    Code::Internal | Code::Unknown | Code::DataLoss | Code::Unavailable
                ) {
                    tracing::warn!(trace_id, error = %status, "another service failed");
                }
                status
            }
        }
    }
}

/// At most this many characters of a caller's value are echoed in a message.
const ECHO_CHARS: usize = 64;

/// A caller's value as a message may repeat it: its first characters, control characters
/// replaced, so a huge or hostile id never makes an oversized or broken header.
pub fn echo(value: &str) -> String {
    let mut out: String = value
        .chars()
        .take(ECHO_CHARS)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if value.chars().count() > ECHO_CHARS {
        out.push('…');
    }
    out
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound { entity, id } => ApiError::NotFound {
                entity: entity.to_owned(),
                id,
            },
            StoreError::IllegalTransition(t) => ApiError::FailedPrecondition {
                subject: "case".to_owned(),
                current_state: t.from.as_str().to_owned(),
                message: t.to_string(),
            },
            StoreError::IdempotencyMismatch { .. } => ApiError::AlreadyExists(err.to_string()),
            StoreError::Conflict { .. } => ApiError::Aborted(format!("{err}; retry")),
            StoreError::InvalidPageToken => ApiError::invalid(
                "page_token",
                "not a token this server issued for this query",
            ),
            StoreError::Db(db)
                if matches!(
                    db.sql_err(),
                    Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
                ) =>
            {
                ApiError::AlreadyExists("a record with the same key already exists".to_owned())
            }
            StoreError::Db(db) if steelcare_store::is_unavailable(&db) => {
                ApiError::Unavailable(format!("database unavailable: {db}"))
            }
            StoreError::Db(_) | StoreError::Corrupt(_) => ApiError::Internal(err.to_string()),
        }
    }
}

impl From<BusError> for ApiError {
    fn from(err: BusError) -> Self {
        match err {
            BusError::Redis(_) => ApiError::Unavailable(err.to_string()),
            BusError::Db(db) => StoreError::Db(db).into(),
            BusError::Store(store) => store.into(),
            _ => ApiError::Internal(err.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use steelcare_domain::CaseState;

    #[test]
    fn field_violations_travel_as_bad_request_details() {
        let status = ApiError::InvalidArgument(vec![
            FieldViolation::new("reporter.phone", "required"),
            FieldViolation::new("project_id", "not a valid id"),
        ])
        .into_status("t");
        assert_eq!(status.code(), Code::InvalidArgument);
        let details = status.get_error_details();
        let fields: Vec<_> = details
            .bad_request()
            .map(|b| b.field_violations.iter().map(|v| v.field.clone()).collect())
            .unwrap_or_default();
        assert_eq!(fields, vec!["reporter.phone", "project_id"]);
    }

    #[test]
    fn an_illegal_transition_is_failed_precondition_with_the_current_state() {
        let err: ApiError = StoreError::from(
            CaseState::Received
                .transition(CaseState::Archived)
                .unwrap_err(),
        )
        .into();
        let status = err.into_status("t");
        assert_eq!(status.code(), Code::FailedPrecondition);
        assert!(status.message().contains("RECEIVED"));
        let info = status.get_error_details().error_info().cloned().unwrap();
        assert_eq!(
            info.metadata.get("current_state").map(String::as_str),
            Some("RECEIVED")
        );
    }

    #[test]
    fn a_huge_id_is_echoed_as_a_short_prefix() {
        let id = "x".repeat(1 << 20);
        let status = ApiError::NotFound {
            entity: "ticket".into(),
            id,
        }
        .into_status("t");
        assert_eq!(status.code(), Code::NotFound);
        assert!(status.message().len() < 120, "{}", status.message().len());
        assert_eq!(echo("a\u{0}b"), "a?b");
    }

    #[test]
    fn internal_errors_hide_their_detail_and_name_the_trace() {
        let status = ApiError::from(StoreError::Db(sea_orm::DbErr::Custom(
            "SELECT secret FROM users".to_owned(),
        )))
        .into_status("4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(status.code(), Code::Internal);
        assert!(!status.message().contains("SELECT"));
        assert!(
            status
                .message()
                .contains("4bf92f3577b34da6a3ce929d0e0e4736")
        );
    }
}
