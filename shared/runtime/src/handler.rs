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

/// `PERMISSION_DENIED` unless the caller holds one of `roles`.
pub fn require(caller: &Caller, roles: &[Role]) -> Result<(), ApiError> {
    caller.require_any(roles)
}

/// The context of a call, after every id its request carries is checked
/// ([`crate::validate::ids_in`]): the first step of every handler, unary or streaming.
pub fn context<T: prost::Message + prost::Name>(
    request: &tonic::Request<T>,
) -> Result<RequestContext, Status> {
    let ctx = RequestContext::from_request(request)?;
    crate::validate::ids_in(request.get_ref()).map_err(|err| ctx.status(err))?;
    Ok(ctx)
}

/// The handler's result as the RPC's answer.
pub fn respond<T>(
    ctx: &RequestContext,
    result: Result<T, ApiError>,
) -> Result<Response<T>, Status> {
    result.map(Response::new).map_err(|err| ctx.status(err))
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

/// Attempts [`while_intent_holds`] makes before the ABORTED reaches the client: with the
/// backoff, about 0.6 s of the server's own work on the row before the client hears of it.
pub const INTENT_ATTEMPTS: u32 = 8;

/// Runs `attempt` again while it answers ABORTED: a row it read changed before it wrote (the
/// server's own work, e.g. dispatch bookkeeping on a fresh offer, touched it). Each attempt
/// reads afresh and checks that the person's intent still holds (the offer is still theirs,
/// still open), answering FAILED_PRECONDITION with the current state when it does not, so only
/// a conflict that leaves the intent intact is retried. After [`INTENT_ATTEMPTS`] the ABORTED
/// reaches the client. Backs off 5, 10, 20 … ms between attempts.
pub async fn while_intent_holds<T, F, Fut>(mut attempt: F) -> Result<T, ApiError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, ApiError>>,
{
    let mut done = 0;
    loop {
        match attempt().await {
            Err(ApiError::Aborted(_)) if done + 1 < INTENT_ATTEMPTS => {
                tokio::time::sleep(std::time::Duration::from_millis(5 << done)).await;
                done += 1;
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod intent_tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn a_conflict_is_retried_while_the_intent_holds_and_reported_when_it_persists() {
        let calls = AtomicU32::new(0);
        let twice = while_intent_holds(|| {
            let n = calls.fetch_add(1, Ordering::SeqCst);
            async move {
                if n < 2 {
                    Err(ApiError::Aborted(steelcare_i18n::msg!(
                        "error-case-changed"
                    )))
                } else {
                    Ok(n)
                }
            }
        })
        .await;
        assert!(matches!(twice, Ok(2)), "{twice:?}");

        calls.store(0, Ordering::SeqCst);
        let gone = while_intent_holds(|| {
            calls.fetch_add(1, Ordering::SeqCst);
            async {
                Err::<(), _>(ApiError::FailedPrecondition {
                    subject: "assignment/a".into(),
                    current_state: "EXPIRED".into(),
                    message: steelcare_i18n::msg!("error-case-changed"),
                })
            }
        })
        .await;
        assert!(matches!(gone, Err(ApiError::FailedPrecondition { .. })));
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "no retry once the intent is gone"
        );

        calls.store(0, Ordering::SeqCst);
        let always = while_intent_holds(|| {
            calls.fetch_add(1, Ordering::SeqCst);
            async {
                Err::<(), _>(ApiError::Aborted(steelcare_i18n::msg!(
                    "error-case-changed"
                )))
            }
        })
        .await;
        assert!(matches!(always, Err(ApiError::Aborted(_))));
        assert_eq!(calls.load(Ordering::SeqCst), INTENT_ATTEMPTS);
    }
}
