//! The feedback service's one crossing into intake: a recurrence found at a return visit opens
//! a ticket there, through intake's gRPC contract (GetTicket of the original case, then
//! CreateTicket linked to it), never through intake's code. Each call goes as the caller (their
//! `authorization` passed on) and in their trace (`traceparent`), with a deadline; UNAVAILABLE
//! is retried with the same request id, which intake answers once. In `serve --service all`
//! the channel leads to the process's own port.

use std::time::Duration;

use steelcare_proto::intake::v1 as intake;
use steelcare_proto::intake::v1::intake_service_client::IntakeServiceClient;
use steelcare_runtime::{ApiError, RequestContext};
use tonic::transport::Channel;
use tonic::{Code, Status};

/// Deadline of each call.
const DEADLINE: Duration = Duration::from_secs(10);
/// Calls made before an UNAVAILABLE reaches the caller (backing off 100, 200, 400 ms).
const ATTEMPTS: u32 = 4;

/// A client of the intake service.
#[derive(Clone)]
pub struct IntakeLink {
    client: IntakeServiceClient<Channel>,
}

/// `body` as a request made for the caller of `ctx`.
fn request<T>(ctx: &RequestContext, body: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(body);
    request.set_timeout(DEADLINE);
    let (traceparent, tracestate) = steelcare_runtime::telemetry::current_trace_context();
    let metadata = request.metadata_mut();
    for (key, value) in [
        (
            "authorization",
            ctx.authorization.clone().unwrap_or_default(),
        ),
        ("traceparent", traceparent),
        ("tracestate", tracestate),
    ] {
        if value.is_empty() {
            continue;
        }
        if let Ok(value) = value.parse::<tonic::metadata::AsciiMetadataValue>() {
            metadata.insert(key, value);
        }
    }
    request
}

/// Calls `call` until it answers something else than UNAVAILABLE, at most [`ATTEMPTS`] times.
async fn retried<R, F, Fut>(mut call: F) -> Result<R, ApiError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<tonic::Response<R>, Status>>,
{
    let mut done = 0;
    loop {
        match call().await {
            Ok(response) => return Ok(response.into_inner()),
            Err(status) if status.code() == Code::Unavailable && done + 1 < ATTEMPTS => {
                tokio::time::sleep(Duration::from_millis(100 << done)).await;
                done += 1;
            }
            Err(status) => return Err(ApiError::Upstream(status)),
        }
    }
}

impl IntakeLink {
    /// A client over `channel` (lazy: nothing is connected until the first call).
    pub fn new(channel: Channel) -> IntakeLink {
        IntakeLink {
            client: IntakeServiceClient::new(channel),
        }
    }

    /// Opens the ticket of a problem that came back: the original case's project, reporter
    /// and location, the customer's words as the phenomenon, linked to the original.
    /// Idempotent on `request_id` under the caller, so a retried visit attempt finds the same
    /// ticket. Answers the new ticket's id.
    pub async fn open_recurrence(
        &self,
        ctx: &RequestContext,
        request_id: &str,
        original_id: &str,
        phenomenon: &str,
    ) -> Result<String, ApiError> {
        let get = intake::GetTicketRequest {
            ticket_id: original_id.to_owned(),
        };
        let original = retried(|| {
            let mut client = self.client.clone();
            let call = request(ctx, get.clone());
            async move { client.get_ticket(call).await }
        })
        .await?
        .ticket
        .ok_or_else(|| ApiError::Internal("GetTicket answered no ticket".to_owned()))?;
        let create = intake::CreateTicketRequest {
            request_id: request_id.to_owned(),
            channel: intake::Channel::Hotline as i32,
            project_id: original.project_id,
            reporter: original.reporter,
            location: original.location,
            description: Some(intake::ProblemDescription {
                phenomenon: phenomenon.to_owned(),
                ..Default::default()
            }),
            customer_request: String::new(),
            related_case_id: original.ticket_id,
        };
        retried(|| {
            let mut client = self.client.clone();
            let call = request(ctx, create.clone());
            async move { client.create_ticket(call).await }
        })
        .await?
        .ticket
        .map(|t| t.ticket_id)
        .ok_or_else(|| ApiError::Internal("CreateTicket answered no ticket".to_owned()))
    }
}
