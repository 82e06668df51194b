//! The one road from errors to `tonic::Status` (STYLE.md 9). Client errors carry
//! `google.rpc` details (field violations, precondition failures); internal errors give the
//! client a generic message with the trace id and are logged at error level, never leaking SQL.

use std::collections::HashMap;

use steelcare_bus::BusError;
use steelcare_i18n::{Locale, Msg, msg};
use steelcare_store::StoreError;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// The domain of `google.rpc.ErrorInfo` details.
pub const ERROR_DOMAIN: &str = "steelcare.io";

/// One invalid field.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldViolation {
    /// Field path, e.g. `reporter.phone`.
    pub field: String,
    /// What is wrong with it, from the catalogue.
    pub description: Msg,
}

impl FieldViolation {
    /// A violation of `field`.
    pub fn new(field: impl Into<String>, description: Msg) -> Self {
        FieldViolation {
            field: field.into(),
            description,
        }
    }
}

/// An error a handler returns. Every text a person reads is a catalogue [`Msg`]; the status
/// carries it in English as the developer message and in the caller's locale as a
/// `google.rpc.LocalizedMessage` (AIP-193), with an `ErrorInfo` reason a program can match.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is invalid; every problem found is listed.
    #[error("invalid argument")]
    InvalidArgument(Vec<FieldViolation>),
    /// The entity does not exist (or the caller may not see it).
    #[error("{entity} {id} not found")]
    NotFound {
        /// Entity type, e.g. `ticket` (its label is `entity-ticket`).
        entity: String,
        /// Id asked for.
        id: String,
    },
    /// The resource exists already.
    #[error("{0}")]
    AlreadyExists(Msg),
    /// The entity is not in a state that allows the call.
    #[error("{message}")]
    FailedPrecondition {
        /// The entity, e.g. `case/123`.
        subject: String,
        /// Its current state (a machine code, e.g. `RECEIVED`).
        current_state: String,
        /// What is refused, naming the current state.
        message: Msg,
    },
    /// The caller is not signed in (no token, or one we refuse); `detail` says why for a
    /// developer (in `ErrorInfo.metadata["detail"]`).
    #[error("{message}")]
    Unauthenticated {
        /// What the person reads.
        message: Msg,
        /// Why the token was refused, in English, when there is more to say.
        detail: Option<String>,
    },
    /// The caller may not do this.
    #[error("{0}")]
    PermissionDenied(Msg),
    /// A concurrent change won; retry.
    #[error("{0}")]
    Aborted(Msg),
    /// Too many attempts (failed sign-ins): refused until `retry_after` has passed, which a
    /// `RetryInfo` detail carries.
    #[error("{message}")]
    ResourceExhausted {
        /// What the person reads.
        message: Msg,
        /// How long to wait.
        retry_after: std::time::Duration,
    },
    /// A size or count past its limit.
    #[error("{0}")]
    OutOfRange(Msg),
    /// A dependency is down; retry later. The detail is logged, not returned.
    #[error("{0}")]
    Unavailable(String),
    /// Stored data is gone or damaged (an archived byte is missing), named for the caller.
    #[error("{0}")]
    DataLoss(Msg),
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
    pub fn invalid(field: impl Into<String>, description: Msg) -> Self {
        ApiError::InvalidArgument(vec![FieldViolation::new(field, description)])
    }

    /// Converts to a status for a caller reading `locale`; internal errors are logged with
    /// `trace_id`.
    pub fn into_status(self, trace_id: &str, locale: Locale) -> Status {
        let developer = match &self {
            ApiError::InvalidArgument(violations) => Some(summary(violations)),
            _ => None,
        };
        let (code, message, mut details) = match self {
            ApiError::InvalidArgument(violations) => invalid_argument(&violations, locale),
            ApiError::NotFound { entity, id } => not_found(entity, &id),
            ApiError::OutOfRange(message) => reasoned(Code::OutOfRange, message),
            ApiError::AlreadyExists(message) => reasoned(Code::AlreadyExists, message),
            ApiError::FailedPrecondition {
                subject,
                current_state,
                message,
            } => failed_precondition(subject, current_state, message),
            ApiError::Unauthenticated { message, detail } => unauthenticated(message, detail),
            ApiError::PermissionDenied(message) => reasoned(Code::PermissionDenied, message),
            ApiError::Aborted(message) => reasoned(Code::Aborted, message),
            ApiError::ResourceExhausted {
                message,
                retry_after,
            } => {
                let (code, message, mut details) = reasoned(Code::ResourceExhausted, message);
                details.set_retry_info(Some(retry_after));
                (code, message, details)
            }
            ApiError::Unavailable(detail) => {
                tracing::warn!(trace_id, error = %detail, "dependency unavailable");
                reasoned(
                    Code::Unavailable,
                    msg!("error-unavailable", trace_id = trace_id),
                )
            }
            ApiError::DataLoss(message) => {
                tracing::error!(trace_id, error = %message, "data loss");
                reasoned(Code::DataLoss, message)
            }
            ApiError::Internal(detail) => {
                tracing::error!(trace_id, error = %detail, "internal error");
                reasoned(Code::Internal, msg!("error-internal", trace_id = trace_id))
            }
            ApiError::Upstream(status) => {
                if matches!(
                    status.code(),
                    Code::Internal | Code::Unknown | Code::DataLoss | Code::Unavailable
                ) {
                    tracing::warn!(trace_id, error = %status, "another service failed");
                }
                return status;
            }
        };
        details.set_localized_message(locale.tag(), message.render(locale));
        let developer = developer.unwrap_or_else(|| message.english());
        Status::with_error_details(code, developer, details)
    }
}

/// The label of an entity type (`repair_plan` → `entity-repair-plan`).
pub fn entity_label(entity: &str) -> Msg {
    Msg::owned(format!("entity-{}", entity.replace([' ', '_'], "-")))
}

/// FAILED_PRECONDITION on case `case_id` in `state`: `message`, naming the state.
pub fn in_state(case_id: &str, state: steelcare_domain::CaseState, message: Msg) -> ApiError {
    ApiError::FailedPrecondition {
        subject: format!("case/{case_id}"),
        current_state: state.as_str().to_owned(),
        message: msg!(
            "error-case-state",
            what = message,
            state = state_label(state)
        ),
    }
}

/// The label of a case state.
pub fn state_label(state: steelcare_domain::CaseState) -> Msg {
    state.label()
}

/// NOT_FOUND: the entity and id, in the text and in `ErrorInfo`.
fn not_found(entity: String, id: &str) -> (Code, Msg, ErrorDetails) {
    let message = msg!(
        "error-not-found",
        entity = entity_label(&entity),
        id = echo(id)
    );
    let mut details = ErrorDetails::new();
    details.set_error_info(
        "NOT_FOUND",
        ERROR_DOMAIN,
        HashMap::from([("entity".to_owned(), entity), ("id".to_owned(), echo(id))]),
    );
    (Code::NotFound, message, details)
}

/// FAILED_PRECONDITION: the subject's current state, as a precondition violation and in
/// `ErrorInfo`.
fn failed_precondition(
    subject: String,
    current_state: String,
    message: Msg,
) -> (Code, Msg, ErrorDetails) {
    let mut details = ErrorDetails::new();
    details.add_precondition_failure_violation(
        "STATE",
        subject,
        format!("current state is {current_state}"),
    );
    details.set_error_info(
        reason(&message),
        ERROR_DOMAIN,
        HashMap::from([("current_state".to_owned(), current_state)]),
    );
    (Code::FailedPrecondition, message, details)
}

/// UNAUTHENTICATED: why a token was refused, for a developer, in `ErrorInfo.metadata`.
fn unauthenticated(message: Msg, detail: Option<String>) -> (Code, Msg, ErrorDetails) {
    let mut details = ErrorDetails::new();
    let metadata: HashMap<String, String> = detail
        .map(|d| ("detail".to_owned(), d))
        .into_iter()
        .collect();
    details.set_error_info(reason(&message), ERROR_DOMAIN, metadata);
    (Code::Unauthenticated, message, details)
}

/// A status with `message`'s reason and nothing else.
fn reasoned(code: Code, message: Msg) -> (Code, Msg, ErrorDetails) {
    let mut details = ErrorDetails::new();
    details.set_error_info(reason(&message), ERROR_DOMAIN, HashMap::new());
    (code, message, details)
}

/// The `ErrorInfo` reason of a message: its catalogue id in SCREAMING_SNAKE_CASE
/// (`plan-not-submitted` → `PLAN_NOT_SUBMITTED`), stable as the id is.
pub fn reason(message: &Msg) -> String {
    message.key.to_ascii_uppercase().replace('-', "_")
}

/// INVALID_ARGUMENT: each violation with its English description, its reason and its text in
/// the caller's locale; the summary names how many fields are wrong.
fn invalid_argument(violations: &[FieldViolation], locale: Locale) -> (Code, Msg, ErrorDetails) {
    let mut details = ErrorDetails::new();
    let mut bad = Vec::with_capacity(violations.len());
    for v in violations {
        let mut violation =
            tonic_types::FieldViolation::new(v.field.clone(), v.description.english());
        violation.reason = reason(&v.description);
        violation.localized_message = Some(tonic_types::LocalizedMessage::new(
            locale.tag(),
            v.description.render(locale),
        ));
        bad.push(violation);
    }
    tracing::debug!(violations = %summary(violations), "invalid argument");
    details.set_bad_request(bad);
    details.set_error_info("INVALID_ARGUMENT", ERROR_DOMAIN, HashMap::new());
    let message = match violations {
        [only] => msg!(
            "error-invalid-field",
            field = only.field.clone(),
            problem = only.description.clone()
        ),
        _ => msg!("error-invalid-fields", count = violations.len()),
    };
    (Code::InvalidArgument, message, details)
}

/// The English status message of an INVALID_ARGUMENT: every field and what is wrong with it.
fn summary(violations: &[FieldViolation]) -> String {
    let fields: Vec<String> = violations
        .iter()
        .map(|v| format!("{}: {}", v.field, v.description.english()))
        .collect();
    format!("invalid argument: {}", fields.join("; "))
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
                message: msg!(
                    "error-illegal-transition",
                    from = state_label(t.from),
                    to = state_label(t.to)
                ),
            },
            StoreError::IdempotencyMismatch { request_id } => ApiError::AlreadyExists(msg!(
                "error-request-id-reused",
                request_id = echo(&request_id)
            )),
            StoreError::Conflict { entity, id } => ApiError::Aborted(msg!(
                "error-changed-concurrently",
                entity = entity_label(entity),
                id = echo(&id)
            )),
            StoreError::InvalidPageToken => {
                ApiError::invalid("page_token", msg!("field-page-token-foreign"))
            }
            StoreError::Db(db)
                if matches!(
                    db.sql_err(),
                    Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
                ) =>
            {
                ApiError::AlreadyExists(msg!("error-duplicate-key"))
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
            FieldViolation::new("reporter.phone", msg!("field-required")),
            FieldViolation::new("project_id", msg!("field-not-id")),
        ])
        .into_status("t", zh());
        assert_eq!(status.code(), Code::InvalidArgument);
        let details = status.get_error_details();
        let fields: Vec<_> = details
            .bad_request()
            .map(|b| b.field_violations.iter().map(|v| v.field.clone()).collect())
            .unwrap_or_default();
        assert_eq!(fields, vec!["reporter.phone", "project_id"]);
        let Some(bad) = details.bad_request() else {
            panic!("no BadRequest detail");
        };
        let first = &bad.field_violations[0];
        assert_eq!(first.description, "required");
        assert_eq!(first.reason, "FIELD_REQUIRED");
        let localized = first.localized_message.clone().unwrap_or_default();
        assert_eq!(
            (localized.locale.as_str(), localized.message.as_str()),
            ("zh-CN", "必填")
        );
        assert!(
            status.message().contains("reporter.phone: required"),
            "{}",
            status.message()
        );
    }

    fn zh() -> Locale {
        Locale::chinese()
    }

    #[test]
    fn a_refusal_carries_english_for_developers_and_the_callers_language_for_people() {
        let status = ApiError::NotFound {
            entity: "repair_plan".into(),
            id: "p-1".into(),
        }
        .into_status("t", zh());
        assert_eq!(status.message(), "repair plan p-1 not found");
        let details = status.get_error_details();
        let localized = details.localized_message().cloned().unwrap_or_default();
        assert_eq!(localized.locale, "zh-CN");
        assert_eq!(localized.message, "未找到维修方案 p-1");
        let Some(info) = details.error_info() else {
            panic!("no ErrorInfo detail");
        };
        assert_eq!(info.reason, "NOT_FOUND");
        assert_eq!(info.domain, ERROR_DOMAIN);
    }

    #[test]
    fn an_illegal_transition_is_failed_precondition_with_the_current_state() {
        let Err(refused) = CaseState::Received.transition(CaseState::Archived) else {
            panic!("RECEIVED → ARCHIVED must be refused");
        };
        let err: ApiError = StoreError::from(refused).into();
        let status = err.into_status("t", zh());
        assert_eq!(status.code(), Code::FailedPrecondition);
        assert_eq!(
            status.message(),
            "the case is Received; it cannot move to Archived"
        );
        let details = status.get_error_details();
        let Some(info) = details.error_info() else {
            panic!("no ErrorInfo detail");
        };
        assert_eq!(info.reason, "ERROR_ILLEGAL_TRANSITION");
        assert_eq!(
            info.metadata.get("current_state").map(String::as_str),
            Some("RECEIVED")
        );
        let localized = details.localized_message().cloned().unwrap_or_default();
        assert_eq!(localized.message, "案件当前为“已受理”，不能转为“已归档”");
    }

    #[test]
    fn a_huge_id_is_echoed_as_a_short_prefix() {
        let id = "x".repeat(1 << 20);
        let status = ApiError::NotFound {
            entity: "ticket".into(),
            id,
        }
        .into_status("t", zh());
        assert_eq!(status.code(), Code::NotFound);
        assert!(status.message().len() < 120, "{}", status.message().len());
        assert_eq!(echo("a\u{0}b"), "a?b");
    }

    #[test]
    fn internal_errors_hide_their_detail_and_name_the_trace() {
        let status = ApiError::from(StoreError::Db(sea_orm::DbErr::Custom(
            "SELECT secret FROM users".to_owned(),
        )))
        .into_status("4bf92f3577b34da6a3ce929d0e0e4736", Locale::english());
        assert_eq!(status.code(), Code::Internal);
        assert!(!status.message().contains("SELECT"));
        assert!(
            status
                .message()
                .contains("4bf92f3577b34da6a3ce929d0e0e4736")
        );
    }
}
