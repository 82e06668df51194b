//! The few steps every RPC handler takes: check the caller's roles, name what was not found,
//! and turn the result into a response or a `Status` carrying the call's trace id.

use steelcare_domain::Role;
use tonic::{Response, Status};

use crate::auth::{Caller, RequestContext};
use crate::error::ApiError;

/// `NOT_FOUND` for `entity` `id`.
pub fn not_found(entity: &str, id: &str) -> ApiError {
    ApiError::NotFound {
        entity: entity.to_owned(),
        id: id.to_owned(),
    }
}

/// A role refusal as an [`ApiError`].
pub fn permission(err: Status) -> ApiError {
    ApiError::PermissionDenied(err.message().to_owned())
}

/// `PERMISSION_DENIED` unless the caller holds one of `roles`.
pub fn require(caller: &Caller, roles: &[Role]) -> Result<(), ApiError> {
    caller.require_any(roles).map_err(permission)
}

/// The handler's result as the RPC's answer.
pub fn respond<T>(
    ctx: &RequestContext,
    result: Result<T, ApiError>,
) -> Result<Response<T>, Status> {
    result
        .map(Response::new)
        .map_err(|err| err.into_status(&ctx.trace_id))
}
