//! `steelcare.integration.v1.IntegrationService`: the domain events as a stream for internal
//! systems. It reads the outbox in the order of publication (`outbox.seq`, given by the relay),
//! so a cursor is a place in that order: resuming after it misses nothing and repeats nothing,
//! on whichever process the client reconnects to. New events are looked for when this
//! process's relay publishes, and every `poll` otherwise (another process may hold the relay).

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use steelcare_i18n::msg;

use prost::Message;
use steelcare_domain::Role;
use steelcare_proto::events::v1::EventEnvelope;
use steelcare_proto::integration::v1 as pb;
use steelcare_runtime::{ApiError, RequestContext, handler::respond};
use steelcare_store::Database;
use steelcare_store::outbox::{self, PublishedFilter};
use tokio::sync::{mpsc, watch};
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};
use tracing::warn;

/// Roles that may subscribe; a customer only to its own organisation's events.
pub const SUBSCRIBERS: [Role; 4] = [
    Role::Integration,
    Role::Auditor,
    Role::Admin,
    Role::Customer,
];

/// Events read from the database per round.
const PAGE: u64 = 256;

type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

/// The integration service.
#[derive(Clone)]
pub struct IntegrationService {
    db: Database,
    types: Arc<EventTypes>,
    published: watch::Receiver<u64>,
    shutdown: watch::Receiver<bool>,
    poll: Duration,
}

impl IntegrationService {
    /// Streams `db`'s published events; `published` changes when this process's relay has
    /// marked a batch published with its places in the sequence, `shutdown` turns true when
    /// the server stops (open streams end).
    pub fn new(
        db: Database,
        published: watch::Receiver<u64>,
        shutdown: watch::Receiver<bool>,
    ) -> Self {
        IntegrationService {
            db,
            types: Arc::new(EventTypes::from_descriptors()),
            published,
            shutdown,
            poll: Duration::from_millis(250),
        }
    }

    async fn subscribe(
        &self,
        ctx: &RequestContext,
        request: pb::SubscribeEventsRequest,
    ) -> Result<BoxStream<pb::SubscribeEventsResponse>, ApiError> {
        let caller = &ctx.caller;
        let mut violations = Vec::new();
        let mut wanted = Vec::new();
        for (i, name) in request.event_types.iter().enumerate() {
            if self.types.known(name) {
                wanted.push(name.clone());
            } else {
                violations.push(steelcare_runtime::error::FieldViolation::new(
                    format!("event_types[{i}]"),
                    msg!(
                        "field-unknown-event-type",
                        given = steelcare_runtime::error::echo(name),
                        known = self.types.names().join(", ")
                    ),
                ));
            }
        }
        let start = if request.cursor.is_empty() {
            None
        } else {
            match request.cursor.parse::<i64>() {
                Ok(seq) if seq >= 0 => Some(seq),
                _ => {
                    violations.push(steelcare_runtime::error::FieldViolation::new(
                        "cursor",
                        msg!("field-cursor-foreign"),
                    ));
                    None
                }
            }
        };
        if !violations.is_empty() {
            return Err(ApiError::InvalidArgument(violations));
        }
        let organization_id = if caller.is_customer_only() {
            let own = caller.organization_id.clone().unwrap_or_default();
            if !request.organization_id.is_empty() && request.organization_id != own {
                return Err(ApiError::PermissionDenied(msg!("error-own-events")));
            }
            Some(own)
        } else {
            Some(request.organization_id.clone()).filter(|o| !o.is_empty())
        };
        let last = outbox::last_published(&self.db).await?;
        let cursor = match start {
            Some(seq) if seq > last => {
                return Err(ApiError::invalid("cursor", msg!("field-cursor-ahead")));
            }
            Some(seq) => seq,
            None if request.from_start => 0,
            None => last,
        };
        let filter = PublishedFilter {
            case_id: Some(request.case_id.clone()).filter(|c| !c.is_empty()),
            organization_id,
        };
        let (sender, receiver) = mpsc::channel(PAGE as usize);
        let service = self.clone();
        tokio::spawn(async move { service.follow(cursor, filter, wanted, sender).await });
        Ok(Box::pin(ReceiverStream::new(receiver)))
    }

    /// Sends every event after `cursor` that passes the filters, then waits for more, until
    /// the client goes away or the server stops.
    async fn follow(
        self,
        mut cursor: i64,
        filter: PublishedFilter,
        wanted: Vec<String>,
        sender: mpsc::Sender<Result<pb::SubscribeEventsResponse, Status>>,
    ) {
        let mut published = self.published.clone();
        let mut shutdown = self.shutdown.clone();
        loop {
            if *shutdown.borrow() {
                let _ = sender
                    .send(Err(Status::unavailable(
                        "the server is stopping; reconnect with the last cursor",
                    )))
                    .await;
                return;
            }
            let mut full = false;
            match outbox::published_after(
                &self.db,
                steelcare_bus::EVENTS_STREAM,
                cursor,
                &filter,
                PAGE,
            )
            .await
            {
                Ok(rows) => {
                    full = rows.len() as u64 == PAGE;
                    for row in rows {
                        cursor = row.seq;
                        let Some(message) = self.message(row.seq, &row.payload, &wanted) else {
                            continue;
                        };
                        if sender.send(Ok(message)).await.is_err() {
                            return;
                        }
                    }
                }
                // The database may be restarting: the stream stays open and tries again.
                Err(err) => warn!(error = %err, "reading published events failed"),
            }
            if full {
                continue;
            }
            // A watch whose sender is gone never changes again: wait on the others.
            tokio::select! {
                _ = sender.closed() => return,
                changed = shutdown.changed() => {
                    if changed.is_err() {
                        return;
                    }
                }
                Ok(()) = published.changed() => {}
                _ = tokio::time::sleep(self.poll) => {}
            }
        }
    }

    /// The message for one stored event, or `None` when its type is not wanted.
    fn message(
        &self,
        seq: i64,
        payload: &[u8],
        wanted: &[String],
    ) -> Option<pb::SubscribeEventsResponse> {
        let event = match EventEnvelope::decode(payload) {
            Ok(event) => event,
            Err(err) => {
                warn!(seq, error = %err, "a stored event does not decode; skipped");
                return None;
            }
        };
        let event_type = self.types.of(&event).to_owned();
        if !wanted.is_empty() && !wanted.contains(&event_type) {
            return None;
        }
        Some(pb::SubscribeEventsResponse {
            cursor: seq.to_string(),
            event_type,
            event: Some(event),
        })
    }
}

/// The event types: the message names of the envelope's `payload` fields, by field number.
struct EventTypes {
    by_number: HashMap<u32, String>,
}

impl EventTypes {
    fn from_descriptors() -> Self {
        let mut by_number = HashMap::new();
        let envelope = prost_reflect::DescriptorPool::decode(steelcare_proto::FILE_DESCRIPTOR_SET)
            .ok()
            .and_then(|pool| pool.get_message_by_name("steelcare.events.v1.EventEnvelope"));
        if let Some(payload) = envelope
            .as_ref()
            .and_then(|m| m.oneofs().find(|o| o.name() == "payload"))
        {
            for field in payload.fields() {
                if let prost_reflect::Kind::Message(message) = field.kind() {
                    by_number.insert(field.number(), message.name().to_owned());
                }
            }
        }
        EventTypes { by_number }
    }

    fn known(&self, name: &str) -> bool {
        self.by_number.values().any(|n| n == name)
    }

    fn names(&self) -> Vec<&str> {
        let mut numbers: Vec<_> = self.by_number.iter().collect();
        numbers.sort();
        numbers.into_iter().map(|(_, name)| name.as_str()).collect()
    }

    /// The type of an event: the field its payload is encoded in.
    fn of(&self, event: &EventEnvelope) -> &str {
        let Some(payload) = &event.payload else {
            return "";
        };
        let mut bytes = Vec::new();
        payload.encode(&mut bytes);
        prost::encoding::decode_key(&mut bytes.as_slice())
            .ok()
            .and_then(|(number, _)| self.by_number.get(&number))
            .map_or("", String::as_str)
    }
}

#[tonic::async_trait]
impl pb::integration_service_server::IntegrationService for IntegrationService {
    type SubscribeEventsStream = BoxStream<pb::SubscribeEventsResponse>;

    async fn subscribe_events(
        &self,
        request: Request<pb::SubscribeEventsRequest>,
    ) -> Result<Response<Self::SubscribeEventsStream>, Status> {
        let ctx = steelcare_runtime::handler::context(&request)?;
        ctx.caller
            .require_any(&SUBSCRIBERS)
            .map_err(|err| ctx.status(err))?;
        respond(&ctx, self.subscribe(&ctx, request.into_inner()).await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use steelcare_proto::events::v1::{CaseArchived, TicketCreated, event_envelope::Payload};

    #[test]
    fn an_event_is_named_by_its_message() {
        let types = EventTypes::from_descriptors();
        let created = EventEnvelope {
            payload: Some(Payload::TicketCreated(TicketCreated::default())),
            ..Default::default()
        };
        let archived = EventEnvelope {
            payload: Some(Payload::CaseArchived(CaseArchived::default())),
            ..Default::default()
        };
        assert_eq!(types.of(&created), "TicketCreated");
        assert_eq!(types.of(&archived), "CaseArchived");
        assert!(types.known("SlaBreached"));
        assert!(!types.known("ticket_created"));
        assert!(types.names().len() >= 36, "{:?}", types.names());
        assert_eq!(types.names()[0], "CaseStateChanged", "in field order");
    }
}
