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

/// The context of a call, after every id its request carries is checked
/// ([`crate::validate::ids_in`]): the first step of every handler, unary or streaming.
pub fn context<T: prost::Message + prost::Name>(
    request: &tonic::Request<T>,
) -> Result<RequestContext, Status> {
    let ctx = RequestContext::from_request(request)?;
    crate::validate::ids_in(request.get_ref()).map_err(|err| err.into_status(&ctx.trace_id))?;
    Ok(ctx)
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

/// Implements a service's tonic trait from its handlers: each unary RPC `name` becomes
/// "build the request context, check every id the request carries
/// ([`crate::validate::ids_in`]), call the inherent `Service::name(&self, &ctx, request)`,
/// answer through [`respond`]". Streaming RPCs and their associated types follow the list
/// as ordinary trait items. Every service uses it, so an RPC's whole path is its handler.
///
/// ```ignore
/// steelcare_runtime::rpcs! {
///     impl IntakeApi for IntakeService {
///         (create_customer, pb::CreateCustomerRequest, pb::CreateCustomerResponse),
///     }
///     type WatchTicketStream = BoxStream<pb::WatchTicketResponse>;
///     async fn watch_ticket(&self, request: Request<pb::WatchTicketRequest>) -> ... { ... }
/// }
/// ```
#[macro_export]
macro_rules! rpcs {
    (
        impl $api:ident for $service:ident {
            $(($name:ident, $req:ty, $resp:ty)),* $(,)?
        }
        $($streaming:tt)*
    ) => {
        #[tonic::async_trait]
        impl $api for $service {
            $(
                async fn $name(
                    &self,
                    request: tonic::Request<$req>,
                ) -> Result<tonic::Response<$resp>, tonic::Status> {
                    let ctx = $crate::handler::context(&request)?;
                    $crate::handler::respond(
                        &ctx,
                        $service::$name(self, &ctx, request.into_inner()).await,
                    )
                }
            )*
            $($streaming)*
        }
    };
}
