//! `steelcare.intake.v1.IntakeService`: each RPC checks the caller, parses the request, runs
//! one write transaction (the change, its audit record and its events), and answers with the
//! stored result.

use std::collections::BTreeSet;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use steelcare_i18n::{Arg, Msg, Said, msg};

use bytes::{Bytes, BytesMut};
use chrono::{DateTime, NaiveDate, Utc};
use futures::Stream;
use sea_orm::{ActiveModelTrait, DatabaseTransaction, Set};
use sha2::{Digest, Sha256};
use steelcare_domain::sla::ClockKind;
use steelcare_domain::warranty::{self, WarrantyTerm};
use steelcare_domain::{
    AcceptanceNumber, CaseState, ProblemCategory, Role, SeverityTier, classify,
};
use steelcare_proto::common::v1 as common;
use steelcare_proto::events::v1 as events;
use steelcare_proto::events::v1::event_envelope::Payload;
use steelcare_proto::intake::v1 as pb;
use steelcare_proto::intake::v1::intake_service_server::IntakeService as IntakeApi;
use steelcare_runtime::convert::{from_timestamp, non_empty, page_size, to_timestamp};
use steelcare_runtime::handler::{not_found, require, respond};
use steelcare_runtime::record::{actor_of, audit, emit, envelope};
use steelcare_runtime::{ApiError, Caller, RequestContext};
use steelcare_store::entity::{attachments, customers, projects, tickets, trainings};
use steelcare_store::{Database, begin_write, cases, idempotency};
use tokio::sync::{Notify, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use crate::attachments::AttachmentStore;
use crate::batch::{self, Batcher, ProjectReader};
use crate::clocks::{self, CaseClocks, SlaConfig};
use crate::domain::records::{ReplyRecord, SuggestionRecord, WarrantyRecord, to_json};
use crate::domain::requests::{
    Classification, NewCustomer, NewProject, NewTicket, NewTraining, parse_warranty_terms,
    payload_hash,
};
use crate::domain::validate::{LONG, SHORT, Violations};
use crate::{store, view};
use steelcare_runtime::supervise::Supervisor;
use steelcare_store::idempotency::IdempotencyKey;

use steelcare_bus::EVENTS_STREAM;

const STAFF_WRITE: &[Role] = &[Role::Agent, Role::Manager, Role::Admin];
const STAFF_ENGINEERING: &[Role] = &[Role::Agent, Role::Engineer, Role::Manager, Role::Admin];
const TICKET_CREATORS: &[Role] = &[Role::Customer, Role::Agent, Role::Manager, Role::Admin];
/// Who opens the ticket of a problem that came back (`related_case_id`): the desk, and the
/// engineer who found it on a return visit.
const RECURRENCE_OPENERS: &[Role] = &[
    Role::Customer,
    Role::Agent,
    Role::Engineer,
    Role::Manager,
    Role::Admin,
];
const SLA_HANDLERS: &[Role] = &[
    Role::Agent,
    Role::Dispatcher,
    Role::Engineer,
    Role::Manager,
    Role::Admin,
];
const UPLOADERS: &[Role] = &[
    Role::Customer,
    Role::Agent,
    Role::Technician,
    Role::Engineer,
    Role::Manager,
    Role::Admin,
];
const CHUNK: usize = 64 * 1024;

/// The intake service.
#[derive(Clone)]
pub struct IntakeService {
    db: Database,
    sla: Arc<SlaConfig>,
    timezone: chrono_tz::Tz,
    files: AttachmentStore,
    relay: Option<Arc<Notify>>,
    watch_interval: Duration,
    shutdown: tokio::sync::watch::Receiver<bool>,
    sequence_day: Arc<std::sync::Mutex<String>>,
    batcher: Batcher,
    projects: ProjectReader,
}

impl IntakeService {
    /// A service over `db`; `relay` is woken after each commit that wrote events; the ticket
    /// writers and project readers run under `supervisor`.
    pub fn new(
        db: Database,
        sla: SlaConfig,
        timezone: chrono_tz::Tz,
        files: AttachmentStore,
        relay: Option<Arc<Notify>>,
        supervisor: &Supervisor,
    ) -> Self {
        // SQLite has one writer at a time; PostgreSQL commits several groups in parallel.
        // Each PostgreSQL group is one statement (see `batch`): two writers keep commits
        // overlapping while groups stay large; more writers made smaller groups and less
        // throughput in deploy/bench/intake.sh.
        let writers = if db.get_database_backend() == sea_orm::DbBackend::Sqlite {
            1
        } else {
            2
        };
        let batcher = Batcher::start(db.clone(), writers, supervisor);
        let projects = ProjectReader::start(db.clone(), 2, supervisor);
        IntakeService {
            db,
            sla: Arc::new(sla),
            timezone,
            files,
            relay,
            watch_interval: Duration::from_millis(250),
            shutdown: tokio::sync::watch::channel(false).1,
            sequence_day: Arc::new(std::sync::Mutex::new(String::new())),
            batcher,
            projects,
        }
    }

    /// The database (the event consumer works on it).
    pub fn db(&self) -> &Database {
        &self.db
    }

    /// Ends open `WatchTicket` streams when `shutdown` turns true, so that a stopping server
    /// is not held up by watchers.
    pub fn with_shutdown(mut self, shutdown: tokio::sync::watch::Receiver<bool>) -> Self {
        self.shutdown = shutdown;
        self
    }

    fn today(&self, now: DateTime<Utc>) -> NaiveDate {
        now.with_timezone(&self.timezone).date_naive()
    }

    /// Creates the day's acceptance sequence once per day and process.
    async fn ensure_sequence(&self, day_key: &str) -> Result<(), ApiError> {
        let known = self
            .sequence_day
            .lock()
            .map(|d| d.as_str() == day_key)
            .unwrap_or(false);
        if !known {
            store::ensure_acceptance_sequence(&self.db, day_key).await?;
            if let Ok(mut d) = self.sequence_day.lock() {
                *d = day_key.to_owned();
            }
        }
        Ok(())
    }

    fn committed(&self) {
        if let Some(relay) = &self.relay {
            relay.notify_one();
        }
    }

    async fn event(
        &self,
        tx: &DatabaseTransaction,
        ctx: &RequestContext,
        case_id: Option<&str>,
        payload: Payload,
    ) -> Result<(), ApiError> {
        emit(
            tx,
            EVENTS_STREAM,
            envelope(actor_of(&ctx.caller), case_id, payload),
        )
        .await?;
        Ok(())
    }
}

/// An error reading a client stream: a message past the size limit stays `OUT_OF_RANGE`
/// (as the README promises), anything else is a bad `field`.
fn stream_error(field: &str, status: Status) -> ApiError {
    if status.code() == tonic::Code::OutOfRange {
        ApiError::OutOfRange(msg!("error-stream-too-large", detail = status.message()))
    } else {
        ApiError::invalid(
            field,
            msg!("field-stream-broken", detail = status.message()),
        )
    }
}

/// Request ids are the caller's own: the same id from someone else is a different request.
fn idempotency_scope(rpc: &str, caller: &Caller) -> String {
    format!("{rpc}/{}", caller.subject)
}

/// Customers see only their own organisation's records; staff see all.
fn visible(caller: &Caller, customer_id: &str) -> bool {
    !caller.is_customer_only() || caller.organization_id.as_deref() == Some(customer_id)
}

fn precondition(ticket_id: &str, state: CaseState, message: Msg) -> ApiError {
    steelcare_runtime::error::in_state(ticket_id, state, message)
}

fn customer_reply(
    category: ProblemCategory,
    tier: SeverityTier,
    response_deadline: Option<DateTime<Utc>>,
    arrival_deadline: Option<DateTime<Utc>>,
    tz: chrono_tz::Tz,
) -> ReplyRecord {
    let mut next_steps: Vec<Msg> = Vec::new();
    let mut customer_actions: Vec<Msg> = Vec::new();
    if let Some(at) = response_deadline {
        next_steps.push(if category == ProblemCategory::UsageConsultation {
            msg!("reply-opinion-by", at = Arg::time(at, tz))
        } else {
            msg!("reply-respond-by", at = Arg::time(at, tz))
        });
    }
    if let Some(at) = arrival_deadline {
        next_steps.push(msg!("reply-on-site-by", at = Arg::time(at, tz)));
        next_steps.push(msg!("reply-survey-then-plan"));
        customer_actions.push(msg!("reply-action-site-access"));
        customer_actions.push(msg!("reply-action-contact"));
    }
    if tier == SeverityTier::P1 {
        customer_actions.insert(0, msg!("reply-action-keep-away"));
    }
    let media_requested = category.needs_visual_evidence();
    if media_requested {
        customer_actions.push(msg!("reply-action-send-media"));
    }
    ReplyRecord {
        next_steps: next_steps.into_iter().map(Said::from).collect(),
        response_deadline,
        customer_actions: customer_actions.into_iter().map(Said::from).collect(),
        media_requested,
    }
}

fn terms_of(rows: &[steelcare_store::entity::warranty_terms::Model]) -> Vec<WarrantyTerm> {
    rows.iter()
        .filter_map(|t| {
            Some(WarrantyTerm {
                scope: t.scope.parse().ok()?,
                start: NaiveDate::parse_from_str(&t.start_date, "%Y-%m-%d").ok()?,
                months: u32::try_from(t.months).ok()?,
                note: t.note.clone(),
            })
        })
        .collect()
}

fn warranty_record(status: warranty::WarrantyStatus) -> WarrantyRecord {
    WarrantyRecord {
        in_warranty: status.in_warranty,
        scope: status.scope.map(|s| s.as_str().to_owned()),
        start: status.start,
        expiry: status.expiry,
    }
}

fn deadline_of(
    clocks: &[steelcare_store::entity::sla_clocks::Model],
    kind: ClockKind,
) -> Option<DateTime<Utc>> {
    clocks
        .iter()
        .find(|c| c.kind == kind.as_str())
        .and_then(|c| c.deadline_at_ms)
        .map(clocks::instant)
}

mod attachments_api;
mod projects_api;
mod sheets_api;
mod tickets_api;

impl IntakeService {
    pub(super) async fn visible_ticket(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<tickets::Model, ApiError> {
        let id = steelcare_runtime::validate::id("ticket_id", id)?;
        match store::ticket(&self.db, id).await? {
            Some(t) if visible(caller, &t.customer_id) => Ok(t),
            _ => Err(not_found("ticket", id)),
        }
    }

    pub(super) async fn visible_project(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<projects::Model, ApiError> {
        let id = steelcare_runtime::validate::id("project_id", id)?;
        match store::project(&self.db, id).await? {
            Some(p) if visible(caller, &p.customer_id) => Ok(p),
            _ => Err(not_found("project", id)),
        }
    }

    pub(super) async fn ticket_response(
        &self,
        id: &str,
        locale: steelcare_i18n::Locale,
    ) -> Result<pb::Ticket, ApiError> {
        let row = store::ticket(&self.db, id)
            .await?
            .ok_or_else(|| not_found("ticket", id))?;
        view::ticket(&self.db, &row, locale).await
    }
}

/// A server stream of an RPC.
type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

steelcare_runtime::rpcs! {
    impl IntakeApi for IntakeService {
        (create_customer, pb::CreateCustomerRequest, pb::CreateCustomerResponse),
        (list_customers, pb::ListCustomersRequest, pb::ListCustomersResponse),
        (import_customers, pb::ImportCustomersRequest, pb::ImportCustomersResponse),
        (export_customers, pb::ExportCustomersRequest, pb::ExportCustomersResponse),
        (import_projects, pb::ImportProjectsRequest, pb::ImportProjectsResponse),
        (export_projects, pb::ExportProjectsRequest, pb::ExportProjectsResponse),
        (register_project, pb::RegisterProjectRequest, pb::RegisterProjectResponse),
        (get_project, pb::GetProjectRequest, pb::GetProjectResponse),
        (list_projects, pb::ListProjectsRequest, pb::ListProjectsResponse),
        (set_warranty_terms, pb::SetWarrantyTermsRequest, pb::SetWarrantyTermsResponse),
        (
            update_handover_dossier,
            pb::UpdateHandoverDossierRequest,
            pb::UpdateHandoverDossierResponse
        ),
        (record_training, pb::RecordTrainingRequest, pb::RecordTrainingResponse),
        (create_ticket, pb::CreateTicketRequest, pb::CreateTicketResponse),
        (classify_ticket, pb::ClassifyTicketRequest, pb::ClassifyTicketResponse),
        (acknowledge_ticket, pb::AcknowledgeTicketRequest, pb::AcknowledgeTicketResponse),
        (confirm_readback, pb::ConfirmReadbackRequest, pb::ConfirmReadbackResponse),
        (pause_sla, pb::PauseSlaRequest, pb::PauseSlaResponse),
        (resume_sla, pb::ResumeSlaRequest, pb::ResumeSlaResponse),
        (resolve_remotely, pb::ResolveRemotelyRequest, pb::ResolveRemotelyResponse),
        (cancel_ticket, pb::CancelTicketRequest, pb::CancelTicketResponse),
        (attach_file, pb::AttachFileRequest, pb::AttachFileResponse),
        (get_ticket, pb::GetTicketRequest, pb::GetTicketResponse),
        (list_tickets, pb::ListTicketsRequest, pb::ListTicketsResponse),
    }

    async fn upload_attachment(
        &self,
        request: Request<Streaming<pb::UploadAttachmentRequest>>,
    ) -> Result<Response<pb::UploadAttachmentResponse>, Status> {
        // The metadata's ids are checked when its message arrives.
        let ctx = RequestContext::from_request(&request)?;
        respond(
            &ctx,
            IntakeService::upload_attachment(self, &ctx, request.into_inner()).await,
        )
    }

    type DownloadAttachmentStream = BoxStream<pb::DownloadAttachmentResponse>;

    async fn download_attachment(
        &self,
        request: Request<pb::DownloadAttachmentRequest>,
    ) -> Result<Response<Self::DownloadAttachmentStream>, Status> {
        let ctx = steelcare_runtime::handler::context(&request)?;
        respond(
            &ctx,
            self.download_stream(&ctx, request.into_inner()).await,
        )
    }

    type WatchTicketStream = BoxStream<pb::WatchTicketResponse>;

    async fn watch_ticket(
        &self,
        request: Request<pb::WatchTicketRequest>,
    ) -> Result<Response<Self::WatchTicketStream>, Status> {
        let ctx = steelcare_runtime::handler::context(&request)?;
        respond(&ctx, self.watch(&ctx, request.into_inner()).await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zh() -> steelcare_i18n::Locale {
        steelcare_i18n::Locale::chinese()
    }

    #[test]
    fn a_reply_for_an_urgent_defect_asks_for_safety_access_and_photos() {
        let at = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let reply = customer_reply(
            ProblemCategory::StructuralSafety,
            SeverityTier::P1,
            Some(at),
            Some(at),
            chrono_tz::Asia::Shanghai,
        );
        let (en, zh) = (steelcare_i18n::Locale::english(), zh());
        assert!(
            reply.customer_actions[0]
                .render(en)
                .contains("Keep people away")
        );
        assert!(reply.customer_actions[0].render(zh).contains("请疏散"));
        assert!(reply.media_requested);
        // 1_800_000_000 is 2027-01-15 08:00 UTC: 16:00 in Shanghai.
        assert!(
            reply.next_steps[0]
                .render(zh)
                .contains("2027年1月15日 16:00")
        );
        assert!(
            reply.next_steps[0]
                .render(en)
                .contains("15 Jan 2027, 16:00")
        );
        assert!(
            reply
                .next_steps
                .iter()
                .any(|s| s.render(en).contains("on site by"))
        );
        let question = customer_reply(
            ProblemCategory::UsageConsultation,
            SeverityTier::P4,
            Some(at),
            None,
            chrono_tz::Asia::Shanghai,
        );
        assert!(!question.media_requested);
        assert!(
            question.next_steps[0]
                .render(en)
                .contains("preliminary opinion")
        );
        assert!(question.customer_actions.is_empty());
    }
}
