//! `steelcare.intake.v1.IntakeService`: each RPC checks the caller, parses the request, runs
//! one write transaction (the change, its audit record and its events), and answers with the
//! stored result.

use std::collections::BTreeSet;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

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
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use crate::attachments::AttachmentStore;
use crate::batch::{self, Batcher};
use crate::clocks::{self, CaseClocks, SlaConfig};
use crate::domain::records::{ReplyRecord, SuggestionRecord, WarrantyRecord, to_json};
use crate::domain::requests::{
    Classification, NewCustomer, NewProject, NewTicket, NewTraining, parse_warranty_terms,
    payload_hash,
};
use crate::domain::validate::{LONG, SHORT, Violations};
use crate::{store, view};
use steelcare_store::idempotency::IdempotencyKey;

use steelcare_bus::EVENTS_STREAM;

const STAFF_WRITE: &[Role] = &[Role::Agent, Role::Manager, Role::Admin];
const STAFF_ENGINEERING: &[Role] = &[Role::Agent, Role::Engineer, Role::Manager, Role::Admin];
const TICKET_CREATORS: &[Role] = &[Role::Customer, Role::Agent, Role::Manager, Role::Admin];
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
}

impl IntakeService {
    /// A service over `db`; `relay` is woken after each commit that wrote events.
    pub fn new(
        db: Database,
        sla: SlaConfig,
        timezone: chrono_tz::Tz,
        files: AttachmentStore,
        relay: Option<Arc<Notify>>,
    ) -> Self {
        // SQLite has one writer at a time; PostgreSQL commits several groups in parallel.
        let writers = if db.get_database_backend() == sea_orm::DbBackend::Sqlite {
            1
        } else {
            4
        };
        let batcher = Batcher::start(db.clone(), writers);
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
        }
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
        ApiError::OutOfRange(status.message().to_owned())
    } else {
        ApiError::invalid(field, status.message().to_owned())
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

fn precondition(ticket_id: &str, state: CaseState, message: impl Into<String>) -> ApiError {
    ApiError::FailedPrecondition {
        subject: format!("case/{ticket_id}"),
        current_state: state.as_str().to_owned(),
        message: format!("{} (case is {state})", message.into()),
    }
}

fn format_local(at: DateTime<Utc>, tz: chrono_tz::Tz) -> String {
    format!("{} ({tz})", at.with_timezone(&tz).format("%Y-%m-%d %H:%M"))
}

fn customer_reply(
    category: ProblemCategory,
    tier: SeverityTier,
    response_deadline: Option<DateTime<Utc>>,
    arrival_deadline: Option<DateTime<Utc>>,
    tz: chrono_tz::Tz,
) -> ReplyRecord {
    let mut next_steps = Vec::new();
    let mut customer_actions = Vec::new();
    if let Some(at) = response_deadline {
        if category == ProblemCategory::UsageConsultation {
            next_steps.push(format!(
                "An engineer will answer with a preliminary opinion by {}",
                format_local(at, tz)
            ));
        } else {
            next_steps.push(format!("We will respond by {}", format_local(at, tz)));
        }
    }
    if let Some(at) = arrival_deadline {
        next_steps.push(format!(
            "Qualified technicians with the needed instruments will be on site by {}",
            format_local(at, tz)
        ));
        next_steps.push(
            "They will survey and diagnose the cause, then agree a repair plan with you".to_owned(),
        );
        customer_actions.push("Arrange site access for our technicians".to_owned());
        customer_actions
            .push("Name a contact person on site and keep the phone reachable".to_owned());
    }
    if tier == SeverityTier::P1 {
        customer_actions.insert(
            0,
            "Keep people away from the affected area and stop loads on it until we arrive"
                .to_owned(),
        );
    }
    let media_requested = category.needs_visual_evidence();
    if media_requested {
        customer_actions
            .push("Send photos or a short video of the problem and its surroundings".to_owned());
    }
    ReplyRecord {
        next_steps,
        response_deadline,
        customer_actions,
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

impl IntakeService {
    async fn visible_ticket(&self, caller: &Caller, id: &str) -> Result<tickets::Model, ApiError> {
        let id = id.trim();
        if id.is_empty() {
            return Err(ApiError::invalid("ticket_id", "required"));
        }
        match store::ticket(&self.db, id).await? {
            Some(t) if visible(caller, &t.customer_id) => Ok(t),
            _ => Err(not_found("ticket", id)),
        }
    }

    async fn visible_project(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<projects::Model, ApiError> {
        let id = id.trim();
        if id.is_empty() {
            return Err(ApiError::invalid("project_id", "required"));
        }
        match store::project(&self.db, id).await? {
            Some(p) if visible(caller, &p.customer_id) => Ok(p),
            _ => Err(not_found("project", id)),
        }
    }

    async fn ticket_response(&self, id: &str) -> Result<pb::Ticket, ApiError> {
        let row = store::ticket(&self.db, id)
            .await?
            .ok_or_else(|| not_found("ticket", id))?;
        view::ticket(&self.db, &row).await
    }

    async fn create_customer(
        &self,
        ctx: &RequestContext,
        request: pb::CreateCustomerRequest,
    ) -> Result<pb::CreateCustomerResponse, ApiError> {
        require(&ctx.caller, STAFF_WRITE)?;
        let new = NewCustomer::try_from(&request)?;
        let hash = payload_hash(&request, |r| r.request_id.clear());
        let tx = begin_write(&self.db)
            .await
            .map_err(steelcare_store::StoreError::from)?;
        if let Some(rid) = &new.request_id
            && let Some(existing) = idempotency::lookup(
                &tx,
                &idempotency_scope("CreateCustomer", &ctx.caller),
                rid,
                &hash,
            )
            .await?
        {
            tx.commit()
                .await
                .map_err(steelcare_store::StoreError::from)?;
            let row = store::customer(&self.db, &existing)
                .await?
                .ok_or_else(|| not_found("customer", &existing))?;
            return Ok(pb::CreateCustomerResponse {
                customer: Some(view::customer(&row)?),
            });
        }
        let id = uuid::Uuid::now_v7().to_string();
        let row = customers::ActiveModel {
            id: Set(id.clone()),
            organization_name: Set(new.organization_name.clone()),
            contacts: Set(to_json(&new.contacts)),
            created_at: Set(steelcare_store::now()),
        }
        .insert(&tx)
        .await
        .map_err(steelcare_store::StoreError::from)?;
        if let Some(rid) = &new.request_id {
            idempotency::save(
                &tx,
                &idempotency_scope("CreateCustomer", &ctx.caller),
                rid,
                &hash,
                &id,
            )
            .await?;
        }
        audit(
            &tx,
            ctx,
            "customer",
            &id,
            None,
            serde_json::json!({ "organization_name": new.organization_name }),
        )
        .await?;
        self.event(
            &tx,
            ctx,
            None,
            Payload::CustomerCreated(events::CustomerCreated {
                customer_id: id.clone(),
                organization_name: new.organization_name.clone(),
            }),
        )
        .await?;
        tx.commit()
            .await
            .map_err(steelcare_store::StoreError::from)?;
        self.committed();
        Ok(pb::CreateCustomerResponse {
            customer: Some(view::customer(&row)?),
        })
    }

    async fn register_project(
        &self,
        ctx: &RequestContext,
        request: pb::RegisterProjectRequest,
    ) -> Result<pb::RegisterProjectResponse, ApiError> {
        require(&ctx.caller, STAFF_WRITE)?;
        let now = steelcare_store::now();
        let new = NewProject::parse(&request, self.today(now))?;
        let hash = payload_hash(&request, |r| r.request_id.clear());
        let tx = begin_write(&self.db)
            .await
            .map_err(steelcare_store::StoreError::from)?;
        if let Some(rid) = &new.request_id
            && let Some(existing) = idempotency::lookup(
                &tx,
                &idempotency_scope("RegisterProject", &ctx.caller),
                rid,
                &hash,
            )
            .await?
        {
            tx.commit()
                .await
                .map_err(steelcare_store::StoreError::from)?;
            let row = store::project(&self.db, &existing)
                .await?
                .ok_or_else(|| not_found("project", &existing))?;
            return Ok(pb::RegisterProjectResponse {
                project: Some(view::project(&self.db, &row).await?),
            });
        }
        if store::customer(&tx, &new.customer_id).await?.is_none() {
            return Err(not_found("customer", &new.customer_id));
        }
        if store::project_by_contract(&tx, &new.contract_number)
            .await?
            .is_some()
        {
            return Err(ApiError::AlreadyExists(format!(
                "a project with contract number {} exists",
                new.contract_number
            )));
        }
        let id = uuid::Uuid::now_v7().to_string();
        let row = projects::ActiveModel {
            id: Set(id.clone()),
            customer_id: Set(new.customer_id.clone()),
            name: Set(new.name.clone()),
            address: Set(to_json(&new.address)),
            contract_number: Set(new.contract_number.clone()),
            structure_type: Set(new.structure_type.as_str_name().to_owned()),
            completion_date: Set(new.completion_date.to_string()),
            design_life_years: Set(i32::try_from(new.design_life_years).unwrap_or(50)),
            technical_lead: Set(to_json(&new.technical_lead)),
            designer: Set(to_json(&new.designer)),
            created_at: Set(now),
        }
        .insert(&tx)
        .await
        .map_err(steelcare_store::StoreError::from)?;
        let terms = if new.terms.is_empty() {
            warranty::default_terms(new.completion_date, new.design_life_years)
        } else {
            new.terms.clone()
        };
        store::replace_warranty_terms(&tx, &id, &terms).await?;
        if let Some(rid) = &new.request_id {
            idempotency::save(
                &tx,
                &idempotency_scope("RegisterProject", &ctx.caller),
                rid,
                &hash,
                &id,
            )
            .await?;
        }
        audit(
            &tx,
            ctx,
            "project",
            &id,
            None,
            serde_json::json!({ "name": new.name, "customer_id": new.customer_id, "contract_number": new.contract_number }),
        )
        .await?;
        self.event(
            &tx,
            ctx,
            None,
            Payload::ProjectRegistered(events::ProjectRegistered {
                project_id: id.clone(),
                customer_id: new.customer_id.clone(),
                name: new.name.clone(),
            }),
        )
        .await?;
        tx.commit()
            .await
            .map_err(steelcare_store::StoreError::from)?;
        self.committed();
        Ok(pb::RegisterProjectResponse {
            project: Some(view::project(&self.db, &row).await?),
        })
    }

    async fn project_changed(
        &self,
        tx: &DatabaseTransaction,
        ctx: &RequestContext,
        project_id: &str,
        aspect: &str,
        after: serde_json::Value,
    ) -> Result<(), ApiError> {
        audit(
            tx,
            ctx,
            "project",
            project_id,
            None,
            serde_json::json!({ aspect: after }),
        )
        .await?;
        self.event(
            tx,
            ctx,
            None,
            Payload::ProjectUpdated(events::ProjectUpdated {
                project_id: project_id.to_owned(),
                aspect: aspect.to_owned(),
            }),
        )
        .await
    }

    async fn set_warranty_terms(
        &self,
        ctx: &RequestContext,
        request: pb::SetWarrantyTermsRequest,
    ) -> Result<pb::SetWarrantyTermsResponse, ApiError> {
        require(&ctx.caller, STAFF_WRITE)?;
        let project = self
            .visible_project(&ctx.caller, &request.project_id)
            .await?;
        let completion = NaiveDate::parse_from_str(&project.completion_date, "%Y-%m-%d")
            .map_err(|err| ApiError::Internal(format!("corrupt completion date: {err}")))?;
        let terms = parse_warranty_terms(
            &request.warranty_terms,
            completion,
            u32::try_from(project.design_life_years).unwrap_or(50),
        )?;
        let tx = begin_write(&self.db)
            .await
            .map_err(steelcare_store::StoreError::from)?;
        let before = terms_of(&store::warranty_terms(&tx, &project.id).await?);
        store::replace_warranty_terms(&tx, &project.id, &terms).await?;
        audit(
            &tx,
            ctx,
            "project",
            &project.id,
            Some(serde_json::json!({ "warranty_terms": before })),
            serde_json::json!({ "warranty_terms": terms }),
        )
        .await?;
        self.event(
            &tx,
            ctx,
            None,
            Payload::ProjectUpdated(events::ProjectUpdated {
                project_id: project.id.clone(),
                aspect: "warranty_terms".to_owned(),
            }),
        )
        .await?;
        tx.commit()
            .await
            .map_err(steelcare_store::StoreError::from)?;
        self.committed();
        Ok(pb::SetWarrantyTermsResponse {
            project: Some(view::project(&self.db, &project).await?),
        })
    }

    async fn update_handover_dossier(
        &self,
        ctx: &RequestContext,
        request: pb::UpdateHandoverDossierRequest,
    ) -> Result<pb::UpdateHandoverDossierResponse, ApiError> {
        require(&ctx.caller, STAFF_ENGINEERING)?;
        let project = self
            .visible_project(&ctx.caller, &request.project_id)
            .await?;
        let mut v = Violations::default();
        if request.dossier_items.is_empty() {
            v.add("dossier_items", "at least one item is required");
        }
        let mut items = Vec::new();
        for (i, item) in request.dossier_items.iter().enumerate() {
            let field = format!("dossier_items[{i}]");
            let kind = v.enum_value(&format!("{field}.kind"), item.kind, |n| {
                pb::DossierItemKind::try_from(n).ok()
            });
            let reference = v.optional(
                &format!("{field}.document_reference"),
                &item.document_reference,
                SHORT,
            );
            if item.present && reference.is_empty() {
                v.add(
                    format!("{field}.document_reference"),
                    "required when the document is present",
                );
            }
            if let Some(kind) = kind {
                items.push((kind, item.present, reference));
            }
        }
        let items = v.finish(items)?;
        let tx = begin_write(&self.db)
            .await
            .map_err(steelcare_store::StoreError::from)?;
        for (kind, present, reference) in &items {
            store::upsert_dossier_item(&tx, &project.id, kind.as_str_name(), *present, reference)
                .await?;
        }
        let summary: Vec<_> = items
            .iter()
            .map(|(k, p, r)| serde_json::json!({ "kind": k.as_str_name(), "present": p, "reference": r }))
            .collect();
        self.project_changed(
            &tx,
            ctx,
            &project.id,
            "handover_dossier",
            serde_json::json!(summary),
        )
        .await?;
        tx.commit()
            .await
            .map_err(steelcare_store::StoreError::from)?;
        self.committed();
        let project = view::project(&self.db, &project).await?;
        let missing_kinds = project
            .dossier_items
            .iter()
            .filter(|i| !i.present)
            .map(|i| i.kind)
            .collect();
        Ok(pb::UpdateHandoverDossierResponse {
            project: Some(project),
            missing_kinds,
        })
    }

    async fn record_training(
        &self,
        ctx: &RequestContext,
        request: pb::RecordTrainingRequest,
    ) -> Result<pb::RecordTrainingResponse, ApiError> {
        require(&ctx.caller, STAFF_ENGINEERING)?;
        let project = self
            .visible_project(&ctx.caller, &request.project_id)
            .await?;
        let now = steelcare_store::now();
        let new = NewTraining::parse(request.training.as_ref(), now)?;
        let id = uuid::Uuid::now_v7().to_string();
        let tx = begin_write(&self.db)
            .await
            .map_err(steelcare_store::StoreError::from)?;
        let row = trainings::ActiveModel {
            id: Set(id.clone()),
            project_id: Set(project.id.clone()),
            held_at: Set(new.held_at),
            trainer: Set(to_json(&new.trainer)),
            attendees: Set(to_json(&new.attendees)),
            topics: Set(to_json(&new.topics)),
            created_at: Set(now),
        }
        .insert(&tx)
        .await
        .map_err(steelcare_store::StoreError::from)?;
        self.project_changed(
            &tx,
            ctx,
            &project.id,
            "training",
            serde_json::json!({ "training_id": id, "topics": new.topics }),
        )
        .await?;
        tx.commit()
            .await
            .map_err(steelcare_store::StoreError::from)?;
        self.committed();
        Ok(pb::RecordTrainingResponse {
            training: Some(pb::Training {
                training_id: row.id,
                held_time: Some(to_timestamp(row.held_at)),
                trainer: Some(new.trainer.to_proto()),
                attendees: new.attendees.iter().map(|a| a.to_proto()).collect(),
                topics: new.topics,
            }),
        })
    }

    async fn create_ticket(
        &self,
        ctx: &RequestContext,
        request: pb::CreateTicketRequest,
    ) -> Result<pb::CreateTicketResponse, ApiError> {
        let request_id = request.request_id.trim().to_owned();
        let hash = payload_hash(&request, |r| r.request_id.clear());
        match self.create_ticket_once(ctx, request, &hash).await {
            // A concurrent retry with the same request id committed first: answer with its
            // ticket, as a sequential retry would get.
            Err(ApiError::AlreadyExists(message)) if !request_id.is_empty() => {
                let scope = idempotency_scope("CreateTicket", &ctx.caller);
                match idempotency::lookup(&self.db, &scope, &request_id, &hash).await? {
                    Some(existing) => Ok(pb::CreateTicketResponse {
                        ticket: Some(self.ticket_response(&existing).await?),
                    }),
                    None => Err(ApiError::AlreadyExists(message)),
                }
            }
            other => other,
        }
    }

    async fn create_ticket_once(
        &self,
        ctx: &RequestContext,
        request: pb::CreateTicketRequest,
        hash: &str,
    ) -> Result<pb::CreateTicketResponse, ApiError> {
        require(&ctx.caller, TICKET_CREATORS)?;
        let now = steelcare_store::now();
        let new = NewTicket::parse(&request, now)?;
        if let Some(rid) = &new.request_id
            && let Some(existing) = idempotency::lookup(
                &self.db,
                &idempotency_scope("CreateTicket", &ctx.caller),
                rid,
                hash,
            )
            .await?
        {
            return Ok(pb::CreateTicketResponse {
                ticket: Some(self.ticket_response(&existing).await?),
            });
        }
        let project = store::project(&self.db, &new.project_id)
            .await?
            .ok_or_else(|| not_found("project", &new.project_id))?;
        if !visible(&ctx.caller, &project.customer_id) {
            return Err(ApiError::invalid(
                "project_id",
                "belongs to another customer",
            ));
        }
        let suggestion = classify::suggest(&new.description.text_for_rules());
        let terms = terms_of(&store::warranty_terms(&self.db, &project.id).await?);
        let day = self.today(now);
        let warranty_status = warranty::status(&terms, suggestion.category, day);
        let id = uuid::Uuid::now_v7().to_string();
        let planned = clocks::plan(
            &self.sla,
            &CaseClocks {
                ticket_id: &id,
                tier: suggestion.tier,
                customer_id: &project.customer_id,
                contract_number: &project.contract_number,
                started: now,
            },
        );
        let arrival_deadline = deadline_of(&planned, ClockKind::Arrival);
        let reply = customer_reply(
            suggestion.category,
            suggestion.tier,
            deadline_of(&planned, ClockKind::Response),
            arrival_deadline,
            self.timezone,
        );

        let day_key = AcceptanceNumber::day_key(day);
        self.ensure_sequence(&day_key).await?;
        let actor = actor_of(&ctx.caller);
        let draft = batch::Draft {
            ticket: tickets::Model {
                id: id.clone(),
                acceptance_number: String::new(),
                channel: new.channel.as_str_name().to_owned(),
                customer_id: project.customer_id.clone(),
                project_id: project.id.clone(),
                reporter: to_json(&new.reporter),
                location: to_json(&new.location),
                description: to_json(&new.description),
                customer_request: new.customer_request.clone(),
                category: suggestion.category.as_str().to_owned(),
                tier: suggestion.tier.as_str().to_owned(),
                suggestion: to_json(&SuggestionRecord {
                    category: suggestion.category.as_str().to_owned(),
                    tier: suggestion.tier.as_str().to_owned(),
                    matched_terms: suggestion.matched_terms.clone(),
                }),
                warranty: to_json(&warranty_record(warranty_status)),
                reply: to_json(&reply),
                readback_text: None,
                readback_confirmed_at: None,
                first_response_text: None,
                closing_text: None,
                sla_status: clocks::status::ON_TRACK.to_owned(),
                created_at: now,
                updated_at: now,
                version: 1,
            },
            clocks: planned.clone(),
            day,
            ctx: ctx.clone(),
            audit_after: serde_json::json!({
                "project_id": project.id,
                "category": suggestion.category.as_str(),
                "tier": suggestion.tier.as_str(),
            }),
            events: vec![
                envelope(
                    actor.clone(),
                    Some(&id),
                    Payload::TicketCreated(events::TicketCreated {
                        acceptance_number: String::new(),
                        project_id: project.id.clone(),
                        customer_id: project.customer_id.clone(),
                    }),
                ),
                envelope(
                    actor,
                    Some(&id),
                    Payload::TicketClassified(events::TicketClassified {
                        category: suggestion.category.proto_value(),
                        tier: suggestion.tier.proto_value(),
                        overridden: false,
                        needs_site_visit: suggestion.category.needs_site_visit(),
                        arrival_deadline_time: arrival_deadline.map(to_timestamp),
                    }),
                ),
            ],
            idempotency: new.request_id.as_ref().map(|rid| IdempotencyKey {
                scope: idempotency_scope("CreateTicket", &ctx.caller),
                request_id: rid.clone(),
                hash: hash.to_owned(),
                resource_id: id.clone(),
            }),
        };
        let row = self.batcher.submit(draft).await?;
        self.committed();
        Ok(pb::CreateTicketResponse {
            ticket: Some(view::ticket_from(
                &row,
                CaseState::Received,
                &planned,
                false,
                &[],
            )?),
        })
    }

    async fn classify_ticket(
        &self,
        ctx: &RequestContext,
        request: pb::ClassifyTicketRequest,
    ) -> Result<pb::ClassifyTicketResponse, ApiError> {
        require(&ctx.caller, STAFF_ENGINEERING)?;
        let classification = Classification::try_from(&request)?;
        let ticket = self.visible_ticket(&ctx.caller, &request.ticket_id).await?;
        let project = store::project(&self.db, &ticket.project_id)
            .await?
            .ok_or_else(|| not_found("project", &ticket.project_id))?;
        let now = steelcare_store::now();
        let tx = begin_write(&self.db)
            .await
            .map_err(steelcare_store::StoreError::from)?;
        let case = cases::get(&tx, &ticket.id).await?;
        if !matches!(case.state, CaseState::Received | CaseState::Acknowledged) {
            return Err(precondition(
                &ticket.id,
                case.state,
                "the case is past classification",
            ));
        }
        let terms = terms_of(&store::warranty_terms(&tx, &project.id).await?);
        let warranty_status = warranty::status(
            &terms,
            classification.category,
            self.today(ticket.created_at),
        );
        store::set_classification(
            &tx,
            &ticket.id,
            classification.category.as_str(),
            classification.tier.as_str(),
            &to_json(&warranty_record(warranty_status)),
        )
        .await?;
        let case_clocks = CaseClocks {
            ticket_id: &ticket.id,
            tier: classification.tier,
            customer_id: &ticket.customer_id,
            contract_number: &project.contract_number,
            started: ticket.created_at,
        };
        clocks::reschedule(&tx, &self.sla, &case_clocks, now).await?;
        let clock_rows = store::clocks(&tx, &ticket.id).await?;
        let arrival_deadline = clock_rows
            .iter()
            .find(|c| c.kind == "arrival" && c.stopped_at_ms.is_none())
            .and_then(|c| c.deadline_at_ms)
            .map(clocks::instant);
        let reply = customer_reply(
            classification.category,
            classification.tier,
            deadline_of(&clock_rows, ClockKind::Response),
            arrival_deadline,
            self.timezone,
        );
        store::set_reply(&tx, &ticket.id, &to_json(&reply)).await?;
        clocks::refresh_ticket(&tx, &ticket.id).await?;
        audit(
            &tx,
            ctx,
            "ticket",
            &ticket.id,
            Some(serde_json::json!({ "category": ticket.category, "tier": ticket.tier })),
            serde_json::json!({
                "category": classification.category.as_str(),
                "tier": classification.tier.as_str(),
                "reason": classification.reason,
            }),
        )
        .await?;
        self.event(
            &tx,
            ctx,
            Some(&ticket.id),
            Payload::TicketClassified(events::TicketClassified {
                category: classification.category.proto_value(),
                tier: classification.tier.proto_value(),
                overridden: true,
                needs_site_visit: classification.category.needs_site_visit(),
                arrival_deadline_time: arrival_deadline.map(to_timestamp),
            }),
        )
        .await?;
        tx.commit()
            .await
            .map_err(steelcare_store::StoreError::from)?;
        self.committed();
        Ok(pb::ClassifyTicketResponse {
            ticket: Some(self.ticket_response(&ticket.id).await?),
        })
    }

    /// Moves the case, recording the transition's audit entry and event.
    async fn transition(
        &self,
        tx: &DatabaseTransaction,
        ctx: &RequestContext,
        ticket_id: &str,
        to: CaseState,
        reason: &str,
    ) -> Result<(), ApiError> {
        let before = cases::get(tx, ticket_id).await?;
        if !before.state.can_transition(to) {
            return Err(precondition(
                ticket_id,
                before.state,
                format!("cannot move to {to}"),
            ));
        }
        cases::transition(tx, ticket_id, to).await?;
        audit(
            tx,
            ctx,
            "case",
            ticket_id,
            Some(serde_json::json!({ "state": before.state.as_str() })),
            serde_json::json!({ "state": to.as_str(), "reason": reason }),
        )
        .await?;
        self.event(
            tx,
            ctx,
            Some(ticket_id),
            Payload::CaseStateChanged(events::CaseStateChanged {
                from_state: before.state.proto_value(),
                to_state: to.proto_value(),
                reason: reason.to_owned(),
            }),
        )
        .await
    }

    async fn acknowledge(
        &self,
        tx: &DatabaseTransaction,
        ctx: &RequestContext,
        ticket_id: &str,
        text: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, ApiError> {
        self.transition(
            tx,
            ctx,
            ticket_id,
            CaseState::Acknowledged,
            "first response given",
        )
        .await?;
        let met = clocks::stop(tx, ticket_id, ClockKind::Response, now)
            .await?
            .unwrap_or(true);
        store::set_text(tx, ticket_id, store::TicketText::FirstResponse, text).await?;
        self.event(
            tx,
            ctx,
            Some(ticket_id),
            Payload::TicketAcknowledged(events::TicketAcknowledged { response_met: met }),
        )
        .await?;
        Ok(met)
    }

    async fn acknowledge_ticket(
        &self,
        ctx: &RequestContext,
        request: pb::AcknowledgeTicketRequest,
    ) -> Result<pb::AcknowledgeTicketResponse, ApiError> {
        require(&ctx.caller, STAFF_ENGINEERING)?;
        let mut v = Violations::default();
        let text = v.optional("response_text", &request.response_text, LONG);
        v.finish(())?;
        let ticket = self.visible_ticket(&ctx.caller, &request.ticket_id).await?;
        let now = steelcare_store::now();
        let tx = begin_write(&self.db)
            .await
            .map_err(steelcare_store::StoreError::from)?;
        self.acknowledge(&tx, ctx, &ticket.id, &text, now).await?;
        clocks::refresh_ticket(&tx, &ticket.id).await?;
        tx.commit()
            .await
            .map_err(steelcare_store::StoreError::from)?;
        self.committed();
        Ok(pb::AcknowledgeTicketResponse {
            ticket: Some(self.ticket_response(&ticket.id).await?),
        })
    }

    async fn confirm_readback(
        &self,
        ctx: &RequestContext,
        request: pb::ConfirmReadbackRequest,
    ) -> Result<pb::ConfirmReadbackResponse, ApiError> {
        require(&ctx.caller, STAFF_WRITE)?;
        let now = steelcare_store::now();
        let mut v = Violations::default();
        let text = v.required("readback_text", &request.readback_text, LONG);
        let confirmed_at = match request.confirm_time.as_ref() {
            None => now,
            Some(ts) => match from_timestamp(ts, "confirm_time") {
                Ok(at) if at > now + chrono::TimeDelta::minutes(5) => {
                    v.add("confirm_time", "must not be in the future");
                    now
                }
                Ok(at) => at,
                Err(_) => {
                    v.add("confirm_time", "not a valid timestamp");
                    now
                }
            },
        };
        v.finish(())?;
        let ticket = self.visible_ticket(&ctx.caller, &request.ticket_id).await?;
        let tx = begin_write(&self.db)
            .await
            .map_err(steelcare_store::StoreError::from)?;
        let case = cases::get(&tx, &ticket.id).await?;
        if case.state.is_terminal() {
            return Err(precondition(&ticket.id, case.state, "the case is closed"));
        }
        if !store::confirm_readback(&tx, &ticket.id, &text, confirmed_at).await? {
            return Err(precondition(
                &ticket.id,
                case.state,
                "the read-back was already confirmed",
            ));
        }
        audit(
            &tx,
            ctx,
            "ticket",
            &ticket.id,
            None,
            serde_json::json!({ "readback_text": text, "confirmed_at": confirmed_at }),
        )
        .await?;
        self.event(
            &tx,
            ctx,
            Some(&ticket.id),
            Payload::ReadbackConfirmed(events::ReadbackConfirmed {
                confirmed_time: Some(to_timestamp(confirmed_at)),
            }),
        )
        .await?;
        tx.commit()
            .await
            .map_err(steelcare_store::StoreError::from)?;
        self.committed();
        Ok(pb::ConfirmReadbackResponse {
            ticket: Some(self.ticket_response(&ticket.id).await?),
        })
    }

    async fn pause_or_resume(
        &self,
        ctx: &RequestContext,
        ticket_id: &str,
        pause_reason: Option<String>,
    ) -> Result<pb::Ticket, ApiError> {
        require(&ctx.caller, SLA_HANDLERS)?;
        let ticket = self.visible_ticket(&ctx.caller, ticket_id).await?;
        let now = steelcare_store::now();
        let tx = begin_write(&self.db)
            .await
            .map_err(steelcare_store::StoreError::from)?;
        let case = cases::get(&tx, &ticket.id).await?;
        if case.state.is_terminal() {
            return Err(precondition(&ticket.id, case.state, "the case is closed"));
        }
        let payload = match &pause_reason {
            Some(reason) => {
                clocks::pause(&tx, &self.sla, &ticket.id, now, reason).await?;
                Payload::SlaPaused(events::SlaPaused {
                    reason: reason.clone(),
                })
            }
            None => {
                let open = store::pauses(&tx, &ticket.id)
                    .await?
                    .into_iter()
                    .find(|p| p.ended_at_ms.is_none());
                clocks::resume(&tx, &self.sla, &ticket.id, now).await?;
                Payload::SlaResumed(events::SlaResumed {
                    paused_seconds: open
                        .map(|p| (now.timestamp_millis() - p.started_at_ms) / 1000)
                        .unwrap_or(0),
                })
            }
        };
        clocks::refresh_ticket(&tx, &ticket.id).await?;
        audit(
            &tx,
            ctx,
            "ticket",
            &ticket.id,
            None,
            serde_json::json!({ "sla": if pause_reason.is_some() { "paused" } else { "resumed" }, "reason": pause_reason }),
        )
        .await?;
        self.event(&tx, ctx, Some(&ticket.id), payload).await?;
        tx.commit()
            .await
            .map_err(steelcare_store::StoreError::from)?;
        self.committed();
        self.ticket_response(&ticket.id).await
    }

    async fn resolve_remotely(
        &self,
        ctx: &RequestContext,
        request: pb::ResolveRemotelyRequest,
    ) -> Result<pb::ResolveRemotelyResponse, ApiError> {
        require(&ctx.caller, STAFF_ENGINEERING)?;
        let mut v = Violations::default();
        let answer = v.required("answer", &request.answer, LONG);
        v.finish(())?;
        let ticket = self.visible_ticket(&ctx.caller, &request.ticket_id).await?;
        let now = steelcare_store::now();
        let tx = begin_write(&self.db)
            .await
            .map_err(steelcare_store::StoreError::from)?;
        let case = cases::get(&tx, &ticket.id).await?;
        if ticket.category != ProblemCategory::UsageConsultation.as_str() {
            return Err(precondition(
                &ticket.id,
                case.state,
                format!(
                    "only a usage consultation can be resolved remotely; this is {}",
                    ticket.category
                ),
            ));
        }
        if case.state == CaseState::Received {
            self.acknowledge(&tx, ctx, &ticket.id, &answer, now).await?;
        }
        self.transition(
            &tx,
            ctx,
            &ticket.id,
            CaseState::ResolvedRemotely,
            "answered remotely",
        )
        .await?;
        clocks::stop(&tx, &ticket.id, ClockKind::Solution, now).await?;
        clocks::cancel_all(&tx, &ticket.id, now).await?;
        store::set_text(&tx, &ticket.id, store::TicketText::Closing, &answer).await?;
        clocks::refresh_ticket(&tx, &ticket.id).await?;
        tx.commit()
            .await
            .map_err(steelcare_store::StoreError::from)?;
        self.committed();
        Ok(pb::ResolveRemotelyResponse {
            ticket: Some(self.ticket_response(&ticket.id).await?),
        })
    }

    async fn cancel_ticket(
        &self,
        ctx: &RequestContext,
        request: pb::CancelTicketRequest,
    ) -> Result<pb::CancelTicketResponse, ApiError> {
        require(&ctx.caller, TICKET_CREATORS)?;
        let mut v = Violations::default();
        let reason = v.required("reason", &request.reason, LONG);
        v.finish(())?;
        let ticket = self.visible_ticket(&ctx.caller, &request.ticket_id).await?;
        let now = steelcare_store::now();
        let tx = begin_write(&self.db)
            .await
            .map_err(steelcare_store::StoreError::from)?;
        self.transition(&tx, ctx, &ticket.id, CaseState::Cancelled, &reason)
            .await?;
        clocks::cancel_all(&tx, &ticket.id, now).await?;
        store::set_text(&tx, &ticket.id, store::TicketText::Closing, &reason).await?;
        clocks::refresh_ticket(&tx, &ticket.id).await?;
        tx.commit()
            .await
            .map_err(steelcare_store::StoreError::from)?;
        self.committed();
        Ok(pb::CancelTicketResponse {
            ticket: Some(self.ticket_response(&ticket.id).await?),
        })
    }

    async fn upload_attachment(
        &self,
        ctx: &RequestContext,
        mut stream: Streaming<pb::UploadAttachmentRequest>,
    ) -> Result<pb::UploadAttachmentResponse, ApiError> {
        require(&ctx.caller, UPLOADERS)?;
        let first = stream
            .message()
            .await
            .map_err(|s| stream_error("metadata", s))?;
        let Some(pb::UploadAttachmentRequest {
            part: Some(pb::upload_attachment_request::Part::Metadata(meta)),
        }) = first
        else {
            return Err(ApiError::invalid(
                "metadata",
                "the first message must carry the metadata",
            ));
        };
        let mut v = Violations::default();
        v.required("metadata.ticket_id", &meta.ticket_id, SHORT);
        let file_name = v.required("metadata.file_name", &meta.file_name, 255);
        if file_name.contains('/') || file_name.contains('\\') {
            v.add("metadata.file_name", "must not contain path separators");
        }
        let content_type = meta.content_type.trim().to_ascii_lowercase();
        if !self.files.allows(&content_type) {
            v.add(
                "metadata.content_type",
                format!(
                    "{content_type:?} is not allowed; allowed: {}",
                    self.files.allowed()
                ),
            );
        }
        let caption = v.optional("metadata.caption", &meta.caption, LONG);
        v.finish(())?;
        let ticket = self.visible_ticket(&ctx.caller, &meta.ticket_id).await?;
        let case = cases::get(&self.db, &ticket.id).await?;
        if case.state.is_terminal() {
            return Err(precondition(&ticket.id, case.state, "the case is closed"));
        }
        let mut buffer = BytesMut::new();
        let mut hasher = Sha256::new();
        while let Some(message) = stream
            .message()
            .await
            .map_err(|s| stream_error("chunk", s))?
        {
            match message.part {
                Some(pb::upload_attachment_request::Part::Chunk(chunk)) => {
                    if (buffer.len() + chunk.len()) as u64 > self.files.max_bytes {
                        return Err(ApiError::OutOfRange(format!(
                            "the attachment exceeds the limit of {} bytes",
                            self.files.max_bytes
                        )));
                    }
                    hasher.update(&chunk);
                    buffer.extend_from_slice(&chunk);
                }
                _ => {
                    return Err(ApiError::invalid(
                        "metadata",
                        "metadata may only come first",
                    ));
                }
            }
        }
        if buffer.is_empty() {
            return Err(ApiError::invalid("chunk", "the attachment is empty"));
        }
        if let Err(why) = crate::attachments::check_content(&content_type, &buffer) {
            return Err(ApiError::invalid("metadata.content_type", why));
        }
        let sha256 = hex::encode(hasher.finalize());
        let id = uuid::Uuid::now_v7().to_string();
        let key = format!("tickets/{}/{id}", ticket.id);
        let size = buffer.len() as i64;
        self.files.put(&key, buffer.freeze()).await?;
        let stored = async {
            let tx = begin_write(&self.db).await.map_err(steelcare_store::StoreError::from)?;
            let row = attachments::ActiveModel {
                id: Set(id.clone()),
                ticket_id: Set(ticket.id.clone()),
                file_name: Set(file_name.clone()),
                content_type: Set(content_type.clone()),
                size_bytes: Set(size),
                sha256: Set(sha256.clone()),
                caption: Set(caption.clone()),
                storage_key: Set(key.clone()),
                uploaded_by: Set(ctx.caller.subject.clone()),
                created_at: Set(steelcare_store::now()),
            }
            .insert(&tx)
            .await
            .map_err(steelcare_store::StoreError::from)?;
            store::touch_ticket(&tx, &ticket.id, None).await?;
            audit(
                &tx,
                ctx,
                "attachment",
                &id,
                None,
                serde_json::json!({ "ticket_id": ticket.id, "file_name": file_name, "sha256": sha256, "size_bytes": size }),
            )
            .await?;
            let reference = view::attachment(&row);
            self.event(
                &tx,
                ctx,
                Some(&ticket.id),
                Payload::AttachmentUploaded(events::AttachmentUploaded {
                    attachment: Some(reference.clone()),
                }),
            )
            .await?;
            tx.commit().await.map_err(steelcare_store::StoreError::from)?;
            Ok::<_, ApiError>(reference)
        }
        .await;
        match stored {
            Ok(reference) => {
                self.committed();
                Ok(pb::UploadAttachmentResponse {
                    attachment: Some(reference),
                })
            }
            Err(err) => {
                self.files.delete(&key).await;
                Err(err)
            }
        }
    }

    async fn download(
        &self,
        ctx: &RequestContext,
        request: pb::DownloadAttachmentRequest,
    ) -> Result<(pb::DownloadAttachmentResponse, Bytes), ApiError> {
        let id = request.attachment_id.trim();
        if id.is_empty() {
            return Err(ApiError::invalid("attachment_id", "required"));
        }
        let row = store::attachment(&self.db, id)
            .await?
            .ok_or_else(|| not_found("attachment", id))?;
        self.visible_ticket(&ctx.caller, &row.ticket_id)
            .await
            .map_err(|_| not_found("attachment", id))?;
        let bytes = self.files.get(&row.storage_key).await?;
        Ok((
            pb::DownloadAttachmentResponse {
                part: Some(pb::download_attachment_response::Part::Metadata(
                    view::attachment(&row),
                )),
            },
            bytes,
        ))
    }

    async fn list_tickets(
        &self,
        ctx: &RequestContext,
        request: pb::ListTicketsRequest,
    ) -> Result<pb::ListTicketsResponse, ApiError> {
        let size = page_size(request.page_size)?;
        let mut v = Violations::default();
        let states = request
            .states
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                v.enum_value(&format!("states[{i}]"), *s, CaseState::from_proto_value)
            })
            .map(|s| s.as_str().to_owned())
            .collect::<BTreeSet<_>>();
        let tiers = request
            .tiers
            .iter()
            .enumerate()
            .filter_map(|(i, t)| {
                v.enum_value(&format!("tiers[{i}]"), *t, SeverityTier::from_proto_value)
            })
            .map(|t| t.as_str().to_owned())
            .collect::<BTreeSet<_>>();
        let categories = request
            .categories
            .iter()
            .enumerate()
            .filter_map(|(i, c)| {
                v.enum_value(
                    &format!("categories[{i}]"),
                    *c,
                    ProblemCategory::from_proto_value,
                )
            })
            .map(|c| c.as_str().to_owned())
            .collect::<BTreeSet<_>>();
        let sla_status = match request.sla_status {
            0 => None,
            n => match steelcare_proto::common::v1::SlaStatus::try_from(n)
                .ok()
                .and_then(view::sla_status_name)
            {
                Some(s) => Some(s.to_owned()),
                None => {
                    v.add("sla_status", format!("unknown value {n}"));
                    None
                }
            },
        };
        let (created_from, created_to) = match &request.create_time_range {
            Some(range) => (
                range.start_time.as_ref().and_then(|t| {
                    from_timestamp(t, "create_time_range.start_time")
                        .map_err(|_| v.add("create_time_range.start_time", "not a valid timestamp"))
                        .ok()
                }),
                range.end_time.as_ref().and_then(|t| {
                    from_timestamp(t, "create_time_range.end_time")
                        .map_err(|_| v.add("create_time_range.end_time", "not a valid timestamp"))
                        .ok()
                }),
            ),
            None => (None, None),
        };
        let mut customer_id = non_empty(&request.customer_id);
        if ctx.caller.is_customer_only() {
            let own = ctx.caller.organization_id.clone();
            if customer_id.is_some() && customer_id != own {
                return Err(ApiError::PermissionDenied(
                    "customers can list only their own organisation's tickets".to_owned(),
                ));
            }
            customer_id = own;
        }
        let filter = v.finish(store::TicketFilter {
            states: states.into_iter().collect(),
            tiers: tiers.into_iter().collect(),
            categories: categories.into_iter().collect(),
            project_id: non_empty(&request.project_id),
            customer_id,
            created_from,
            created_to,
            sla_status,
        })?;
        let (rows, next_page_token) =
            store::list_tickets(&self.db, &filter, size, &request.page_token).await?;
        let tickets = view::tickets(&self.db, &rows).await?;
        Ok(pb::ListTicketsResponse {
            tickets,
            next_page_token,
        })
    }

    async fn list_projects(
        &self,
        ctx: &RequestContext,
        request: pb::ListProjectsRequest,
    ) -> Result<pb::ListProjectsResponse, ApiError> {
        let size = page_size(request.page_size)?;
        let mut customer_id = non_empty(&request.customer_id);
        if ctx.caller.is_customer_only() {
            let own = ctx.caller.organization_id.clone();
            if customer_id.is_some() && customer_id != own {
                return Err(ApiError::PermissionDenied(
                    "customers can list only their own organisation's projects".to_owned(),
                ));
            }
            customer_id = own;
        }
        let (rows, next_page_token) =
            store::list_projects(&self.db, customer_id.as_deref(), size, &request.page_token)
                .await?;
        let mut projects = Vec::with_capacity(rows.len());
        for row in &rows {
            projects.push(view::project(&self.db, row).await?);
        }
        Ok(pb::ListProjectsResponse {
            projects,
            next_page_token,
        })
    }
}

/// The fields that differ between two views of a ticket.
fn changed_fields(old: &pb::Ticket, new: &pb::Ticket) -> Vec<String> {
    let mut changed = Vec::new();
    let mut check = |name: &str, differs: bool| {
        if differs {
            changed.push(name.to_owned());
        }
    };
    check("state", old.state != new.state);
    check("category", old.category != new.category);
    check("tier", old.tier != new.tier);
    check("warranty", old.warranty != new.warranty);
    check(
        "sla",
        old.sla != new.sla || old.sla_status != new.sla_status,
    );
    check("reply", old.reply != new.reply);
    check(
        "readback",
        old.readback_confirm_time != new.readback_confirm_time,
    );
    check("attachments", old.attachments != new.attachments);
    check(
        "first_response_text",
        old.first_response_text != new.first_response_text,
    );
    check("closing_text", old.closing_text != new.closing_text);
    changed
}

type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

#[tonic::async_trait]
impl IntakeApi for IntakeService {
    async fn create_customer(
        &self,
        request: Request<pb::CreateCustomerRequest>,
    ) -> Result<Response<pb::CreateCustomerResponse>, Status> {
        let ctx = RequestContext::from_request(&request)?;
        respond(&ctx, self.create_customer(&ctx, request.into_inner()).await)
    }

    async fn register_project(
        &self,
        request: Request<pb::RegisterProjectRequest>,
    ) -> Result<Response<pb::RegisterProjectResponse>, Status> {
        let ctx = RequestContext::from_request(&request)?;
        respond(
            &ctx,
            self.register_project(&ctx, request.into_inner()).await,
        )
    }

    async fn get_project(
        &self,
        request: Request<pb::GetProjectRequest>,
    ) -> Result<Response<pb::GetProjectResponse>, Status> {
        let ctx = RequestContext::from_request(&request)?;
        let result = async {
            let row = self
                .visible_project(&ctx.caller, &request.get_ref().project_id)
                .await?;
            Ok(pb::GetProjectResponse {
                project: Some(view::project(&self.db, &row).await?),
            })
        }
        .await;
        respond(&ctx, result)
    }

    async fn list_projects(
        &self,
        request: Request<pb::ListProjectsRequest>,
    ) -> Result<Response<pb::ListProjectsResponse>, Status> {
        let ctx = RequestContext::from_request(&request)?;
        respond(&ctx, self.list_projects(&ctx, request.into_inner()).await)
    }

    async fn set_warranty_terms(
        &self,
        request: Request<pb::SetWarrantyTermsRequest>,
    ) -> Result<Response<pb::SetWarrantyTermsResponse>, Status> {
        let ctx = RequestContext::from_request(&request)?;
        respond(
            &ctx,
            self.set_warranty_terms(&ctx, request.into_inner()).await,
        )
    }

    async fn update_handover_dossier(
        &self,
        request: Request<pb::UpdateHandoverDossierRequest>,
    ) -> Result<Response<pb::UpdateHandoverDossierResponse>, Status> {
        let ctx = RequestContext::from_request(&request)?;
        respond(
            &ctx,
            self.update_handover_dossier(&ctx, request.into_inner())
                .await,
        )
    }

    async fn record_training(
        &self,
        request: Request<pb::RecordTrainingRequest>,
    ) -> Result<Response<pb::RecordTrainingResponse>, Status> {
        let ctx = RequestContext::from_request(&request)?;
        respond(&ctx, self.record_training(&ctx, request.into_inner()).await)
    }

    async fn create_ticket(
        &self,
        request: Request<pb::CreateTicketRequest>,
    ) -> Result<Response<pb::CreateTicketResponse>, Status> {
        let ctx = RequestContext::from_request(&request)?;
        respond(&ctx, self.create_ticket(&ctx, request.into_inner()).await)
    }

    async fn classify_ticket(
        &self,
        request: Request<pb::ClassifyTicketRequest>,
    ) -> Result<Response<pb::ClassifyTicketResponse>, Status> {
        let ctx = RequestContext::from_request(&request)?;
        respond(&ctx, self.classify_ticket(&ctx, request.into_inner()).await)
    }

    async fn acknowledge_ticket(
        &self,
        request: Request<pb::AcknowledgeTicketRequest>,
    ) -> Result<Response<pb::AcknowledgeTicketResponse>, Status> {
        let ctx = RequestContext::from_request(&request)?;
        respond(
            &ctx,
            self.acknowledge_ticket(&ctx, request.into_inner()).await,
        )
    }

    async fn confirm_readback(
        &self,
        request: Request<pb::ConfirmReadbackRequest>,
    ) -> Result<Response<pb::ConfirmReadbackResponse>, Status> {
        let ctx = RequestContext::from_request(&request)?;
        respond(
            &ctx,
            self.confirm_readback(&ctx, request.into_inner()).await,
        )
    }

    async fn pause_sla(
        &self,
        request: Request<pb::PauseSlaRequest>,
    ) -> Result<Response<pb::PauseSlaResponse>, Status> {
        let ctx = RequestContext::from_request(&request)?;
        let request = request.into_inner();
        let result = async {
            let mut v = Violations::default();
            let reason = v.required("reason", &request.reason, LONG);
            v.finish(())?;
            let ticket = self
                .pause_or_resume(&ctx, &request.ticket_id, Some(reason))
                .await?;
            Ok(pb::PauseSlaResponse {
                ticket: Some(ticket),
            })
        }
        .await;
        respond(&ctx, result)
    }

    async fn resume_sla(
        &self,
        request: Request<pb::ResumeSlaRequest>,
    ) -> Result<Response<pb::ResumeSlaResponse>, Status> {
        let ctx = RequestContext::from_request(&request)?;
        let result = self
            .pause_or_resume(&ctx, &request.get_ref().ticket_id, None)
            .await
            .map(|ticket| pb::ResumeSlaResponse {
                ticket: Some(ticket),
            });
        respond(&ctx, result)
    }

    async fn resolve_remotely(
        &self,
        request: Request<pb::ResolveRemotelyRequest>,
    ) -> Result<Response<pb::ResolveRemotelyResponse>, Status> {
        let ctx = RequestContext::from_request(&request)?;
        respond(
            &ctx,
            self.resolve_remotely(&ctx, request.into_inner()).await,
        )
    }

    async fn cancel_ticket(
        &self,
        request: Request<pb::CancelTicketRequest>,
    ) -> Result<Response<pb::CancelTicketResponse>, Status> {
        let ctx = RequestContext::from_request(&request)?;
        respond(&ctx, self.cancel_ticket(&ctx, request.into_inner()).await)
    }

    async fn upload_attachment(
        &self,
        request: Request<Streaming<pb::UploadAttachmentRequest>>,
    ) -> Result<Response<pb::UploadAttachmentResponse>, Status> {
        let ctx = RequestContext::from_request(&request)?;
        respond(
            &ctx,
            self.upload_attachment(&ctx, request.into_inner()).await,
        )
    }

    type DownloadAttachmentStream = BoxStream<pb::DownloadAttachmentResponse>;

    async fn download_attachment(
        &self,
        request: Request<pb::DownloadAttachmentRequest>,
    ) -> Result<Response<Self::DownloadAttachmentStream>, Status> {
        let ctx = RequestContext::from_request(&request)?;
        let (metadata, bytes) = self
            .download(&ctx, request.into_inner())
            .await
            .map_err(|err| err.into_status(&ctx.trace_id))?;
        let chunks: Vec<Result<pb::DownloadAttachmentResponse, Status>> =
            std::iter::once(Ok(metadata))
                .chain(bytes.chunks(CHUNK).map(|chunk| {
                    Ok(pb::DownloadAttachmentResponse {
                        part: Some(pb::download_attachment_response::Part::Chunk(
                            chunk.to_vec(),
                        )),
                    })
                }))
                .collect();
        Ok(Response::new(Box::pin(tokio_stream::iter(chunks))))
    }

    async fn get_ticket(
        &self,
        request: Request<pb::GetTicketRequest>,
    ) -> Result<Response<pb::GetTicketResponse>, Status> {
        let ctx = RequestContext::from_request(&request)?;
        let result = async {
            let row = self
                .visible_ticket(&ctx.caller, &request.get_ref().ticket_id)
                .await?;
            Ok(pb::GetTicketResponse {
                ticket: Some(view::ticket(&self.db, &row).await?),
            })
        }
        .await;
        respond(&ctx, result)
    }

    async fn list_tickets(
        &self,
        request: Request<pb::ListTicketsRequest>,
    ) -> Result<Response<pb::ListTicketsResponse>, Status> {
        let ctx = RequestContext::from_request(&request)?;
        respond(&ctx, self.list_tickets(&ctx, request.into_inner()).await)
    }

    type WatchTicketStream = BoxStream<pb::WatchTicketResponse>;

    async fn watch_ticket(
        &self,
        request: Request<pb::WatchTicketRequest>,
    ) -> Result<Response<Self::WatchTicketStream>, Status> {
        let ctx = RequestContext::from_request(&request)?;
        let request = request.into_inner();
        let row = self
            .visible_ticket(&ctx.caller, &request.ticket_id)
            .await
            .map_err(|err| err.into_status(&ctx.trace_id))?;
        let first = view::ticket(&self.db, &row)
            .await
            .map_err(|err| err.into_status(&ctx.trace_id))?;
        let mask: Vec<String> = request.watch_mask.map(|m| m.paths).unwrap_or_default();
        let (sender, receiver) = mpsc::channel(16);
        let service = self.clone();
        let id = row.id.clone();
        let mut shutdown = self.shutdown.clone();
        tokio::spawn(async move {
            let mut last = first.clone();
            let mut versions = (
                row.version,
                steelcare_store::cases::get(&service.db, &id)
                    .await
                    .map(|c| c.version)
                    .unwrap_or(0),
            );
            if sender
                .send(Ok(pb::WatchTicketResponse {
                    ticket: Some(first),
                    changed_fields: Vec::new(),
                }))
                .await
                .is_err()
            {
                return;
            }
            loop {
                if *shutdown.borrow() {
                    return;
                }
                tokio::select! {
                    _ = sender.closed() => return,
                    // A dropped sender means no shutdown will ever be signalled.
                    _ = async {
                        if shutdown.changed().await.is_err() {
                            std::future::pending::<()>().await;
                        }
                    } => return,
                    _ = tokio::time::sleep(service.watch_interval) => {}
                }
                let Ok(Some(row)) = store::ticket(&service.db, &id).await else {
                    continue;
                };
                let Ok(case) = steelcare_store::cases::get(&service.db, &id).await else {
                    continue;
                };
                if (row.version, case.version) == versions {
                    continue;
                }
                versions = (row.version, case.version);
                let Ok(next) = view::ticket(&service.db, &row).await else {
                    continue;
                };
                let mut changed = changed_fields(&last, &next);
                if !mask.is_empty() {
                    changed.retain(|f| mask.contains(f));
                }
                last = next.clone();
                if changed.is_empty() {
                    continue;
                }
                let message = pb::WatchTicketResponse {
                    ticket: Some(next),
                    changed_fields: changed,
                };
                if sender.send(Ok(message)).await.is_err() {
                    return;
                }
            }
        });
        let stream = ReceiverStream::new(receiver).map(|item| item);
        Ok(Response::new(Box::pin(stream)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(reply.customer_actions[0].contains("Keep people away"));
        assert!(reply.media_requested);
        assert!(reply.next_steps[0].contains("Asia/Shanghai"));
        assert!(reply.next_steps.iter().any(|s| s.contains("on site by")));
        let question = customer_reply(
            ProblemCategory::UsageConsultation,
            SeverityTier::P4,
            Some(at),
            None,
            chrono_tz::Asia::Shanghai,
        );
        assert!(!question.media_requested);
        assert!(question.next_steps[0].contains("preliminary opinion"));
        assert!(question.customer_actions.is_empty());
    }
}
