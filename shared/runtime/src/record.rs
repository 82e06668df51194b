//! What every mutation writes besides its own rows, inside its transaction: the audit record
//! (who, role, rpc, entity, before/after, trace id) and its domain event in the outbox, wrapped
//! in the envelope with event id, case id, time, actor and the W3C trace context of the call.

use chrono::{DateTime, Utc};
use prost::Message;
use prost_types::Timestamp;
use sea_orm::ConnectionTrait;
use steelcare_i18n::{Msg, msg};
use steelcare_proto::common::v1::Actor;
use steelcare_proto::events::v1::{EventEnvelope, TraceContext, event_envelope::Payload};
use steelcare_store::audit::{self, NewAuditRecord};
use steelcare_store::case_records;
use steelcare_store::outbox::{self, NewOutboxEvent};

use crate::auth::{Caller, RequestContext};
use crate::error::ApiError;

/// The actor of a caller, as events and audit records show it.
pub fn actor_of(caller: &Caller) -> Actor {
    Actor {
        subject: caller.subject.clone(),
        roles: caller.role_names(),
        organization_id: caller.organization_id.clone().unwrap_or_default(),
        display_name: caller.display_name.clone().unwrap_or_default(),
    }
}

/// Records the audit entry of a mutation made in `ctx`.
pub async fn audit(
    conn: &impl ConnectionTrait,
    ctx: &RequestContext,
    entity_type: &str,
    entity_id: &str,
    before: Option<serde_json::Value>,
    after: serde_json::Value,
) -> Result<(), ApiError> {
    let roles = ctx.caller.role_names();
    audit::record(
        conn,
        NewAuditRecord {
            subject: &ctx.caller.subject,
            roles: &roles,
            organization_id: ctx.caller.organization_id.as_deref(),
            display_name: ctx.caller.display_name.as_deref(),
            rpc: &ctx.rpc,
            entity_type,
            entity_id,
            before,
            after,
            trace_id: &ctx.trace_id,
        },
    )
    .await?;
    Ok(())
}

/// Hash of a create request's payload without its request id (AIP-155): what an idempotency
/// key compares a retry with.
pub fn payload_hash<M: Message + Clone>(request: &M, clear_id: impl Fn(&mut M)) -> String {
    let mut copy = request.clone();
    clear_id(&mut copy);
    steelcare_store::idempotency::request_hash(&copy.encode_to_vec())
}

/// Builds the envelope of an event caused by `actor` now, carrying the current span's trace
/// context.
pub fn envelope(actor: Actor, case_id: Option<&str>, payload: Payload) -> EventEnvelope {
    let now = chrono::Utc::now();
    let (traceparent, tracestate) = crate::telemetry::current_trace_context();
    EventEnvelope {
        event_id: uuid::Uuid::now_v7().to_string(),
        case_id: case_id.unwrap_or_default().to_owned(),
        occurred_time: Some(Timestamp {
            seconds: now.timestamp(),
            nanos: i32::try_from(now.timestamp_subsec_nanos()).unwrap_or(0),
        }),
        actor: Some(actor),
        trace_context: Some(TraceContext {
            traceparent,
            tracestate,
        }),
        payload: Some(payload),
    }
}

/// Appends an event to the outbox of `stream`, in the caller's transaction; returns its id.
pub async fn emit(
    conn: &impl ConnectionTrait,
    stream: &str,
    envelope: EventEnvelope,
) -> Result<String, ApiError> {
    let event_id = envelope.event_id.clone();
    outbox::append(
        conn,
        NewOutboxEvent {
            event_id: event_id.clone(),
            stream: stream.to_owned(),
            case_id: Some(envelope.case_id.clone()).filter(|c| !c.is_empty()),
            payload: envelope.encode_to_vec(),
        },
    )
    .await?;
    Ok(event_id)
}

/// Appends several events to the outbox of `stream` in one statement, in order.
pub async fn emit_all(
    conn: &impl ConnectionTrait,
    stream: &str,
    envelopes: Vec<EventEnvelope>,
) -> Result<(), ApiError> {
    outbox::append_all(conn, outbox_rows(stream, envelopes)).await?;
    Ok(())
}

/// The outbox rows of `envelopes` on `stream`.
pub fn outbox_rows(stream: &str, envelopes: Vec<EventEnvelope>) -> Vec<NewOutboxEvent> {
    envelopes
        .into_iter()
        .map(|envelope| NewOutboxEvent {
            event_id: envelope.event_id.clone(),
            stream: stream.to_owned(),
            case_id: Some(envelope.case_id.clone()).filter(|c| !c.is_empty()),
            payload: envelope.encode_to_vec(),
        })
        .collect()
}

/// Moves case `case_id` from `from` to `to` (the lifecycle checks it; a concurrent change is
/// `ABORTED`) and emits `CaseStateChanged` to `stream`, in the caller's transaction.
pub async fn move_case(
    conn: &impl ConnectionTrait,
    stream: &str,
    actor: Actor,
    case_id: &str,
    from: steelcare_domain::CaseState,
    to: steelcare_domain::CaseState,
    reason: &str,
) -> Result<(), ApiError> {
    use steelcare_store::StoreError;
    match steelcare_store::cases::transition(conn, case_id, to).await {
        Ok(_) => {}
        Err(StoreError::IllegalTransition(t)) => {
            return Err(ApiError::FailedPrecondition {
                subject: format!("case/{case_id}"),
                current_state: t.from.as_str().to_owned(),
                message: msg!(
                    "error-illegal-transition",
                    from = crate::error::state_label(t.from),
                    to = crate::error::state_label(to)
                ),
            });
        }
        Err(StoreError::Conflict { .. }) => {
            return Err(ApiError::Aborted(msg!("error-case-changed")));
        }
        Err(err) => return Err(err.into()),
    }
    emit(
        conn,
        stream,
        envelope(
            actor,
            Some(case_id),
            Payload::CaseStateChanged(steelcare_proto::events::v1::CaseStateChanged {
                from_state: from.proto_value(),
                to_state: to.proto_value(),
                reason: reason.to_owned(),
            }),
        ),
    )
    .await?;
    Ok(())
}

/// Applies an event (or a call), again at once when a concurrent change aborted it (a
/// conditional update or a unique number lost a race), up to five times, rather than waiting
/// for the bus to redeliver it or failing the caller.
pub async fn retry_aborted<T, F, Fut>(apply: F) -> Result<T, ApiError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, ApiError>>,
{
    retry_aborted_up_to(5, apply).await
}

/// [`retry_aborted`] up to `attempts` times: for a race each loss of which means another
/// change got through (a number of a case taken), so that as many attempts as there can be
/// concurrent changes always end in one.
pub async fn retry_aborted_up_to<T, F, Fut>(attempts: u32, mut apply: F) -> Result<T, ApiError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, ApiError>>,
{
    let mut attempt = 0;
    loop {
        attempt += 1;
        match apply().await {
            Err(ApiError::Aborted(why)) if attempt < attempts => {
                tracing::debug!(attempt, %why, "raced a change; applying it again")
            }
            other => return other,
        }
    }
}

/// The name of a payload's variant (`TicketCreated`), without formatting the payload: its
/// `Debug` output is cut at the first `(`, before any field is written.
fn variant_name(payload: &Payload) -> String {
    struct UpToParen(String);
    impl std::fmt::Write for UpToParen {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            match s.find('(') {
                Some(at) => {
                    self.0.push_str(&s[..at]);
                    Err(std::fmt::Error)
                }
                None => {
                    self.0.push_str(s);
                    Ok(())
                }
            }
        }
    }
    let mut name = UpToParen(String::new());
    // The error is the cut, not a failure.
    let _ = std::fmt::write(&mut name, format_args!("{payload:?}"));
    name.0
}

/// Decodes an envelope from the bus and returns it with a span that continues its trace.
pub fn receive(payload: &[u8], consumer: &str) -> Result<(EventEnvelope, tracing::Span), ApiError> {
    let envelope = EventEnvelope::decode(payload)
        .map_err(|err| ApiError::Internal(format!("undecodable event envelope: {err}")))?;
    // The OpenTelemetry messaging conventions for a consumer's processing span, and the case.
    let event_type = envelope
        .payload
        .as_ref()
        .map(variant_name)
        .unwrap_or_default();
    let span = tracing::info_span!(
        "event",
        otel.name = "process events",
        otel.kind = "consumer",
        messaging.system = "steelcare.bus",
        messaging.operation.type = "process",
        messaging.operation.name = "process",
        messaging.destination.name = steelcare_bus::EVENTS_STREAM,
        messaging.consumer.group.name = consumer,
        messaging.message.id = %envelope.event_id,
        steelcare.case_id = %envelope.case_id,
        steelcare.event_type = %event_type,
        consumer,
    );
    if let Some(trace) = &envelope.trace_context {
        crate::telemetry::continue_trace(&span, &trace.traceparent, &trace.tracestate);
    }
    Ok((envelope, span))
}

/// The case `caller` may see: NOT_FOUND (as "ticket") when it does not exist or belongs to
/// another customer organisation.
pub async fn visible_case(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    ticket_id: &str,
) -> Result<steelcare_store::cases::CaseRecord, ApiError> {
    let ticket_id = crate::validate::id("ticket_id", ticket_id)?;
    let not_found = || crate::handler::not_found("ticket", ticket_id);
    let record = match steelcare_store::cases::get(conn, ticket_id).await {
        Ok(record) => record,
        Err(steelcare_store::StoreError::NotFound { .. }) => return Err(not_found()),
        Err(err) => return Err(err.into()),
    };
    if caller.is_customer_only() && caller.organization_id != record.organization_id {
        return Err(not_found());
    }
    Ok(record)
}

/// FAILED_PRECONDITION naming the case's current state.
pub fn case_precondition(case: &steelcare_store::cases::CaseRecord, message: Msg) -> ApiError {
    crate::error::in_state(&case.id, case.state, message)
}

/// When the customer last rejected the repair (the latest failed acceptance round), if ever.
pub async fn last_rejection(
    conn: &impl ConnectionTrait,
    ticket_id: &str,
) -> Result<Option<(String, DateTime<Utc>)>, ApiError> {
    let mut last = None;
    for row in case_records::records(conn, ticket_id, case_records::kind::ACCEPTANCE).await? {
        let round: steelcare_proto::acceptance::v1::CustomerAcceptance =
            case_records::decode(&row)?;
        if !round.accepted {
            last = Some((row.id.clone(), row.created_at));
        }
    }
    Ok(last)
}

/// The case's completion that stands: the repair service's latest completion still recorded,
/// made after the customer's last rejection (a completion the customer then rejected is
/// spent, even before the repair service has cleared it on the rejection's event). The
/// acceptance service reads it before a self-inspection; the repair service before a new
/// completion.
pub async fn standing_completion(
    conn: &impl ConnectionTrait,
    ticket_id: &str,
) -> Result<Option<steelcare_store::entity::case_records::Model>, ApiError> {
    let rejected_at = last_rejection(conn, ticket_id).await?.map(|(_, at)| at);
    Ok(
        case_records::records(conn, ticket_id, case_records::kind::COMPLETION)
            .await?
            .into_iter()
            .rev()
            .find(|r| {
                r.status == case_records::status::RECORDED
                    && rejected_at.is_none_or(|at| r.created_at > at)
            }),
    )
}

/// Every technician who logged work on the case, in order of first appearance.
pub async fn crew_of(
    conn: &impl ConnectionTrait,
    ticket_id: &str,
) -> Result<Vec<String>, ApiError> {
    crew_in(&case_records::records(conn, ticket_id, case_records::kind::WORK).await?)
}

/// Every technician of these work-log entries, in order of first appearance.
pub fn crew_in(
    work: &[steelcare_store::entity::case_records::Model],
) -> Result<Vec<String>, ApiError> {
    let mut crew: Vec<String> = Vec::new();
    for row in work {
        let entry: steelcare_proto::repair::v1::WorkLogEntry = case_records::decode(row)?;
        for t in entry.crew_technician_ids {
            if !crew.contains(&t) {
                crew.push(t);
            }
        }
    }
    Ok(crew)
}

#[cfg(test)]
mod tests {
    use super::*;
    use steelcare_proto::events::v1::CaseStateChanged;

    #[test]
    fn an_events_type_is_its_variants_name() {
        let changed = Payload::CaseStateChanged(CaseStateChanged {
            reason: "a reason (with brackets)".into(),
            ..Default::default()
        });
        assert_eq!(variant_name(&changed), "CaseStateChanged");
    }

    #[test]
    fn an_event_received_continues_the_trace_it_was_emitted_in() {
        crate::telemetry::init_for_tests();
        let request_span = tracing::info_span!("rpc");
        let emitted = request_span.in_scope(|| {
            envelope(
                Actor {
                    subject: "agent-1".into(),
                    ..Default::default()
                },
                Some("case-1"),
                Payload::CaseStateChanged(CaseStateChanged::default()),
            )
        });
        let traceparent = emitted
            .trace_context
            .clone()
            .unwrap_or_default()
            .traceparent;
        let trace_id = crate::telemetry::trace_id_of(&request_span);
        assert!(
            traceparent.contains(&trace_id),
            "{traceparent} lacks {trace_id}"
        );

        let (received, span) = receive(&emitted.encode_to_vec(), "test").unwrap();
        assert_eq!(received, emitted);
        assert_eq!(crate::telemetry::trace_id_of(&span), trace_id);
        assert!(receive(b"\xff\xff", "test").is_err());
    }
}
