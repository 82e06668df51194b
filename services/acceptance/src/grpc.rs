//! `steelcare.acceptance.v1.AcceptanceService`: the self-inspection and the customer's
//! acceptance rounds here; archiving, reading, exporting and verifying archives in
//! `archive.rs`.

use std::pin::Pin;
use steelcare_i18n::{Arg, Locale, Msg, Said, msg};

use steelcare_bus::EVENTS_STREAM;
use steelcare_domain::{CaseState, Role};
use steelcare_proto::acceptance::v1 as pb;
use steelcare_proto::acceptance::v1::acceptance_service_server::AcceptanceService as AcceptanceApi;
use steelcare_proto::common::v1 as common;
use steelcare_proto::events::v1 as events;
use steelcare_proto::events::v1::event_envelope::Payload;
use steelcare_runtime::convert::to_timestamp;
use steelcare_runtime::handler::{not_found, require};
use steelcare_runtime::idempotent::Begun;
use steelcare_runtime::measurement::{self, answers};
use steelcare_runtime::record::{actor_of, audit, emit, envelope, move_case, payload_hash};
use steelcare_runtime::signatures::{signatures, texts};
use steelcare_runtime::validate::{LONG, SHORT, Violations};
use steelcare_runtime::{ApiError, RequestContext};
use steelcare_store::case_records::{self, NewRecord, decode};
use steelcare_store::entity::case_records as rows;
use tokio_stream::Stream;
use tonic::Status;

use crate::engine::{Acceptor, Case, agreed_plan, case_precondition, crew_of};
use sea_orm::DatabaseTransaction;

/// Kinds of records in `case_records` (the acceptance service writes SELF_INSPECTION and
/// ACCEPTANCE).
pub use steelcare_store::case_records::kind;

/// Every role reads (customers their own cases').
pub(crate) const READERS: &[Role] = &Role::ALL;

/// The acceptance service.
#[derive(Clone)]
pub struct AcceptanceService {
    pub(crate) acceptor: Acceptor,
}

impl AcceptanceService {
    /// The service over an engine.
    pub fn new(acceptor: Acceptor) -> Self {
        AcceptanceService { acceptor }
    }

    /// Checks and judges measurements, ids `m1`, `m2`… unless given.
    fn measurements(
        &self,
        v: &mut Violations,
        field: &str,
        given: &[common::Measurement],
    ) -> Vec<common::Measurement> {
        let a = &self.acceptor;
        let now = steelcare_store::now();
        let window = measurement::Window::inspection(now);
        measurement::check_all(v, field, a.table, given, (now, window), |at| a.day_of(at))
    }

    async fn stored(&self, id: &str) -> Result<rows::Model, ApiError> {
        case_records::record(&self.acceptor.db, id)
            .await?
            .ok_or_else(|| {
                ApiError::Internal(format!("the record {id} of a replayed request is gone"))
            })
    }

    /// A record of `kind` by id, as the caller may see it.
    async fn visible_record(
        &self,
        ctx: &RequestContext,
        kind: &str,
        field: &str,
        id: &str,
    ) -> Result<rows::Model, ApiError> {
        require(&ctx.caller, READERS)?;
        let a = &self.acceptor;
        let id = steelcare_runtime::validate::id(field, id)?;
        let row = case_records::record(&a.db, id)
            .await?
            .filter(|r| r.kind == kind)
            .ok_or_else(|| not_found(kind, id))?;
        a.case_for(&a.db, &ctx.caller, &row.ticket_id)
            .await
            .map_err(|_| not_found(kind, id))?;
        Ok(row)
    }

    /// Every record of `kind` of a case the caller may see, oldest first.
    async fn list_of<M: prost::Message + Default>(
        &self,
        ctx: &RequestContext,
        ticket_id: &str,
        kind: &str,
    ) -> Result<Vec<M>, ApiError> {
        require(&ctx.caller, READERS)?;
        let a = &self.acceptor;
        let case = a.case_for(&a.db, &ctx.caller, ticket_id).await?;
        Ok(case_records::records(&a.db, &case.id, kind)
            .await?
            .iter()
            .map(decode)
            .collect::<Result<_, _>>()?)
    }

    async fn record_self_inspection(
        &self,
        ctx: &RequestContext,
        request: pb::RecordSelfInspectionRequest,
    ) -> Result<pb::RecordSelfInspectionResponse, ApiError> {
        require(
            &ctx.caller,
            &[Role::Technician, Role::Engineer, Role::Admin],
        )?;
        let mut v = Violations::default();
        let measurements = self.measurements(&mut v, "measurements", &request.measurements);
        let new_problems = texts(&mut v, "new_problems", &request.new_problems, 50);
        let notes = v.optional("notes", &request.notes, LONG);
        v.finish(())?;
        let hash = payload_hash(&request, |r| r.request_id.clear());
        let a = &self.acceptor;
        let (tx, key) = match a
            .begin(ctx, "RecordSelfInspection", &request.request_id, hash)
            .await?
        {
            Begun::Replay(id) => {
                let row = self.stored(&id).await?;
                let state = a.case_for(&a.db, &ctx.caller, &row.ticket_id).await?.state;
                return Ok(pb::RecordSelfInspectionResponse {
                    self_inspection: Some(self_inspection_in(decode(&row)?, ctx.locale)),
                    state: state.proto_value(),
                });
            }
            Begun::Fresh(tx, key) => (tx, key),
        };
        let case = a.case_for(&tx, &ctx.caller, &request.ticket_id).await?;
        let content = self_inspectable(&tx, ctx, &case).await?;
        let inspections = case_records::records(&tx, &case.id, kind::INSPECTION).await?;
        let (criteria, key_steps, failures) =
            check_against_plan(&content, &measurements, &inspections, &new_problems);
        let passed = failures.is_empty();
        let now = steelcare_store::now();
        let id = uuid::Uuid::now_v7().to_string();
        let inspection = pb::SelfInspection {
            self_inspection_id: id.clone(),
            ticket_id: case.id.clone(),
            criteria,
            key_steps,
            measurements,
            new_problems,
            notes,
            passed,
            failures,
            inspector: Some(actor_of(&ctx.caller)),
            create_time: Some(to_timestamp(now)),
        };
        let state = store_self_inspection(&tx, ctx, &case, &inspection, now).await?;
        a.finish(tx, key, &id).await?;
        Ok(pb::RecordSelfInspectionResponse {
            self_inspection: Some(self_inspection_in(inspection, ctx.locale)),
            state: state.proto_value(),
        })
    }

    async fn get_self_inspection(
        &self,
        ctx: &RequestContext,
        request: pb::GetSelfInspectionRequest,
    ) -> Result<pb::GetSelfInspectionResponse, ApiError> {
        let row = self
            .visible_record(
                ctx,
                kind::SELF_INSPECTION,
                "self_inspection_id",
                &request.self_inspection_id,
            )
            .await?;
        Ok(pb::GetSelfInspectionResponse {
            self_inspection: Some(self_inspection_in(decode(&row)?, ctx.locale)),
        })
    }

    async fn list_self_inspections(
        &self,
        ctx: &RequestContext,
        request: pb::ListSelfInspectionsRequest,
    ) -> Result<pb::ListSelfInspectionsResponse, ApiError> {
        Ok(pb::ListSelfInspectionsResponse {
            self_inspections: self
                .list_of(ctx, &request.ticket_id, kind::SELF_INSPECTION)
                .await?
                .into_iter()
                .map(|i| self_inspection_in(i, ctx.locale))
                .collect(),
        })
    }

    async fn record_customer_acceptance(
        &self,
        ctx: &RequestContext,
        request: pb::RecordCustomerAcceptanceRequest,
    ) -> Result<pb::RecordCustomerAcceptanceResponse, ApiError> {
        require(
            &ctx.caller,
            &[Role::Customer, Role::Agent, Role::Engineer, Role::Admin],
        )?;
        let now = steelcare_store::now();
        let mut v = Violations::default();
        let items = texts(
            &mut v,
            "rectification_items",
            &request.rectification_items,
            50,
        );
        if !request.accepted && items.is_empty() {
            v.add("rectification_items", msg!("field-rectify-required"));
        }
        let signature = customer_signature(&mut v, &request, now);
        let form = v.optional("form_attachment_id", &request.form_attachment_id, SHORT);
        let measurements = self.measurements(&mut v, "measurements", &request.measurements);
        let notes = v.optional("notes", &request.notes, LONG);
        v.finish(())?;
        let hash = payload_hash(&request, |r| r.request_id.clear());
        let a = &self.acceptor;
        let (tx, key) = match a
            .begin(ctx, "RecordCustomerAcceptance", &request.request_id, hash)
            .await?
        {
            Begun::Replay(id) => {
                let row = self.stored(&id).await?;
                let state = a.case_for(&a.db, &ctx.caller, &row.ticket_id).await?.state;
                return Ok(pb::RecordCustomerAcceptanceResponse {
                    acceptance: Some(decode(&row)?),
                    state: state.proto_value(),
                });
            }
            Begun::Fresh(tx, key) => (tx, key),
        };
        let case = a.case_for(&tx, &ctx.caller, &request.ticket_id).await?;
        if case.state != CaseState::SelfInspected {
            return Err(case_precondition(
                &case,
                msg!("error-accept-needs-self-inspection"),
            ));
        }
        let form = acceptance_form(&tx, &case.id, &form).await?;
        let round = i32::try_from(
            case_records::records(&tx, &case.id, kind::ACCEPTANCE)
                .await?
                .len()
                + 1,
        )
        .unwrap_or(i32::MAX);
        let id = uuid::Uuid::now_v7().to_string();
        let acceptance = pb::CustomerAcceptance {
            acceptance_id: id.clone(),
            ticket_id: case.id.clone(),
            round,
            accepted: request.accepted,
            rectification_items: items.clone(),
            customer_signature: signature,
            form,
            measurements,
            notes,
            recorded_by: Some(actor_of(&ctx.caller)),
            create_time: Some(to_timestamp(now)),
        };
        let state = store_acceptance(&tx, ctx, &case, &acceptance).await?;
        a.finish(tx, key, &id).await?;
        Ok(pb::RecordCustomerAcceptanceResponse {
            acceptance: Some(acceptance),
            state: state.proto_value(),
        })
    }

    async fn get_customer_acceptance(
        &self,
        ctx: &RequestContext,
        request: pb::GetCustomerAcceptanceRequest,
    ) -> Result<pb::GetCustomerAcceptanceResponse, ApiError> {
        let row = self
            .visible_record(
                ctx,
                kind::ACCEPTANCE,
                "acceptance_id",
                &request.acceptance_id,
            )
            .await?;
        Ok(pb::GetCustomerAcceptanceResponse {
            acceptance: Some(decode(&row)?),
        })
    }

    async fn list_customer_acceptances(
        &self,
        ctx: &RequestContext,
        request: pb::ListCustomerAcceptancesRequest,
    ) -> Result<pb::ListCustomerAcceptancesResponse, ApiError> {
        Ok(pb::ListCustomerAcceptancesResponse {
            acceptances: self
                .list_of(ctx, &request.ticket_id, kind::ACCEPTANCE)
                .await?,
        })
    }
}

type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

/// The chunks of an exported archive.
pub(crate) type ExportStream = BoxStream<pb::ExportArchiveResponse>;

steelcare_runtime::rpcs! {
    impl AcceptanceApi for AcceptanceService {
        (
            record_self_inspection,
            pb::RecordSelfInspectionRequest,
            pb::RecordSelfInspectionResponse
        ),
        (get_self_inspection, pb::GetSelfInspectionRequest, pb::GetSelfInspectionResponse),
        (
            list_self_inspections,
            pb::ListSelfInspectionsRequest,
            pb::ListSelfInspectionsResponse
        ),
        (
            record_customer_acceptance,
            pb::RecordCustomerAcceptanceRequest,
            pb::RecordCustomerAcceptanceResponse
        ),
        (
            get_customer_acceptance,
            pb::GetCustomerAcceptanceRequest,
            pb::GetCustomerAcceptanceResponse
        ),
        (
            list_customer_acceptances,
            pb::ListCustomerAcceptancesRequest,
            pb::ListCustomerAcceptancesResponse
        ),
        (archive_case, pb::ArchiveCaseRequest, pb::ArchiveCaseResponse),
        (get_archive, pb::GetArchiveRequest, pb::GetArchiveResponse),
        (list_archives, pb::ListArchivesRequest, pb::ListArchivesResponse),
        (verify_archive, pb::VerifyArchiveRequest, pb::VerifyArchiveResponse),
    }

    type ExportArchiveStream = ExportStream;

    async fn export_archive(
        &self,
        request: tonic::Request<pb::ExportArchiveRequest>,
    ) -> Result<tonic::Response<Self::ExportArchiveStream>, Status> {
        let ctx = steelcare_runtime::handler::context(&request)?;
        steelcare_runtime::handler::respond(&ctx, self.export(&ctx, request.into_inner()).await)
    }
}

/// The agreed plan's content of a case ready for its self-inspection: in repair, with a
/// completion that stands, and the caller on its crew (or an engineer or admin).
async fn self_inspectable(
    tx: &DatabaseTransaction,
    ctx: &RequestContext,
    case: &Case,
) -> Result<steelcare_proto::repair::v1::PlanContent, ApiError> {
    if case.state != CaseState::InRepair {
        return Err(case_precondition(
            case,
            msg!("error-self-inspection-needs-repair"),
        ));
    }
    // A completion the customer rejected is spent, even before repair has cleared it.
    let completed = steelcare_runtime::record::standing_completion(tx, &case.id)
        .await?
        .is_some();
    if !completed {
        return Err(ApiError::FailedPrecondition {
            subject: format!("case/{}", case.id),
            current_state: case.state.as_str().to_owned(),
            message: msg!("error-repair-not-completed"),
        });
    }
    let plan = agreed_plan(tx, case).await?;
    let content = plan.content.unwrap_or_default();
    if !ctx.caller.has_any(&[Role::Engineer, Role::Admin])
        && !content.crew_technician_ids.contains(&ctx.caller.subject)
    {
        return Err(ApiError::PermissionDenied(msg!(
            "error-self-inspect-own-crew"
        )));
    }
    Ok(content)
}

/// Checks the measurements against every quality criterion of the agreed plan and every key
/// step's latest inspection; new problems fail it too. Answers the criteria checks, the key
/// step checks and the failures in words.
fn check_against_plan(
    content: &steelcare_proto::repair::v1::PlanContent,
    measurements: &[common::Measurement],
    inspections: &[steelcare_store::entity::case_records::Model],
    new_problems: &[String],
) -> (Vec<pb::CriterionCheck>, Vec<pb::KeyStepCheck>, Vec<String>) {
    let mut failures = Vec::new();
    let mut criteria = Vec::new();
    let mut key_steps = Vec::new();
    for step in &content.steps {
        for (j, expected) in step.quality_criteria.iter().enumerate() {
            let measured = measurements.iter().find(|m| answers(expected, m)).cloned();
            let passed = measured
                .as_ref()
                .and_then(|m| m.judgement.as_ref())
                .is_some_and(|j| j.passed);
            if !passed {
                failures.push(criterion_failed(step, j + 1, expected, measured.as_ref()));
            }
            criteria.push(pb::CriterionCheck {
                step_id: step.step_id.clone(),
                criterion: i32::try_from(j + 1).unwrap_or(i32::MAX),
                expected: Some(expected.clone()),
                measured,
                passed,
            });
        }
        if step.key_step {
            let latest = inspections
                .iter()
                .rev()
                .find(|i| i.step_id.as_deref() == Some(step.step_id.as_str()));
            let passed =
                latest.is_some_and(|i| i.status == steelcare_store::case_records::status::PASSED);
            if !passed {
                let key = if latest.is_some() {
                    "selfcheck-key-step-failed"
                } else {
                    "selfcheck-key-step-uninspected"
                };
                failures.push(Msg::new(key).with("step", step.step_id.as_str()));
            }
            key_steps.push(pb::KeyStepCheck {
                step_id: step.step_id.clone(),
                inspection_id: latest.map(|i| i.id.clone()).unwrap_or_default(),
                passed,
            });
        }
    }
    for problem in new_problems {
        failures.push(msg!("selfcheck-new-problem", problem = problem));
    }
    let failures = failures
        .into_iter()
        .map(|m| Said::from(m).to_column())
        .collect();
    (criteria, key_steps, failures)
}

/// Why a quality criterion failed: what measurement answered it and its judgement's reason
/// (kept in both languages on the measurement), or that none did.
fn criterion_failed(
    step: &steelcare_proto::repair::v1::PlanStep,
    criterion: usize,
    expected: &common::Measurement,
    measured: Option<&common::Measurement>,
) -> Msg {
    let why = match measured.and_then(|m| m.judgement.as_ref()) {
        Some(j) => Arg::Written(vec![
            ("en".to_owned(), j.reason.clone()),
            ("zh-CN".to_owned(), j.reason_zh.clone()),
        ]),
        None => Arg::from(msg!("selfcheck-unmeasured")),
    };
    let failed = if expected.member.is_empty() {
        msg!("selfcheck-criterion-failed", step = step.step_id.as_str())
    } else {
        msg!(
            "selfcheck-criterion-failed-on",
            step = step.step_id.as_str(),
            member = expected.member.as_str()
        )
    };
    failed
        .with("criterion", i64::try_from(criterion).unwrap_or(i64::MAX))
        .with("why", why)
}

/// A self-inspection as a reader in `locale` sees it: its failures in their language.
fn self_inspection_in(mut inspection: pb::SelfInspection, locale: Locale) -> pb::SelfInspection {
    for failure in &mut inspection.failures {
        *failure = Said::read(failure, locale);
    }
    inspection
}

/// Stores a self-inspection, audits it, moves a passed one's case to SELF_INSPECTED and
/// announces it; answers the case's state after.
async fn store_self_inspection(
    tx: &DatabaseTransaction,
    ctx: &RequestContext,
    case: &Case,
    inspection: &pb::SelfInspection,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<CaseState, ApiError> {
    let (id, passed, failures) = (
        &inspection.self_inspection_id,
        inspection.passed,
        &inspection.failures,
    );
    case_records::insert(
        tx,
        NewRecord::new(
            kind::SELF_INSPECTION,
            id,
            &case.id,
            inspection,
            &ctx.caller.subject,
            now,
        )
        .status(if passed { "passed" } else { "failed" }),
    )
    .await?;
    audit(
        tx,
        ctx,
        "self_inspection",
        id,
        None,
        serde_json::json!({ "ticket_id": case.id, "passed": passed, "failures": failures }),
    )
    .await?;
    let state = if passed {
        move_case(
            tx,
            EVENTS_STREAM,
            actor_of(&ctx.caller),
            &case.id,
            case.state,
            CaseState::SelfInspected,
            "self-inspection passed",
        )
        .await?;
        CaseState::SelfInspected
    } else {
        case.state
    };
    emit(
        tx,
        EVENTS_STREAM,
        envelope(
            actor_of(&ctx.caller),
            Some(&case.id),
            Payload::SelfInspectionRecorded(events::SelfInspectionRecorded {
                self_inspection_id: id.clone(),
                passed,
            }),
        ),
    )
    .await?;
    Ok(state)
}

/// The customer's signature of an acceptance round: required when they accept.
fn customer_signature(
    v: &mut Violations,
    request: &pb::RecordCustomerAcceptanceRequest,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<common::Signature> {
    match request.customer_signature.as_ref() {
        Some(s) => signatures(
            v,
            "customer_signature",
            std::slice::from_ref(s),
            &[common::SignatureRole::CustomerRepresentative],
            now,
        )
        .pop(),
        None if request.accepted => {
            v.add(
                "customer_signature",
                msg!("field-customer-signs-acceptance"),
            );
            None
        }
        None => None,
    }
}

/// The signed acceptance form among the case's attachments (none when not given).
async fn acceptance_form(
    tx: &DatabaseTransaction,
    case_id: &str,
    form: &str,
) -> Result<Option<common::AttachmentRef>, ApiError> {
    if form.is_empty() {
        return Ok(None);
    }
    let found = steelcare_store::attachments::of_case(tx, case_id, &[form.to_owned()]).await?;
    let Some(f) = found.into_iter().next() else {
        return Err(ApiError::invalid(
            "form_attachment_id",
            msg!("field-not-case-attachment", id = form),
        ));
    };
    Ok(Some(common::AttachmentRef {
        attachment_id: f.id,
        file_name: f.file_name,
        content_type: f.content_type,
        size_bytes: f.size_bytes,
        sha256: f.sha256,
        caption: f.caption,
    }))
}

/// Stores an acceptance round, audits it, moves the case (ACCEPTED, or back to IN_REPAIR
/// for rectification) and announces it; answers the case's state after.
async fn store_acceptance(
    tx: &DatabaseTransaction,
    ctx: &RequestContext,
    case: &Case,
    acceptance: &pb::CustomerAcceptance,
) -> Result<CaseState, ApiError> {
    let (id, round, items) = (
        &acceptance.acceptance_id,
        acceptance.round,
        &acceptance.rectification_items,
    );
    let now = steelcare_store::now();
    case_records::insert(
        tx,
        NewRecord::new(
            kind::ACCEPTANCE,
            id,
            &case.id,
            acceptance,
            &ctx.caller.subject,
            now,
        )
        .version(round)
        .slot(format!("{}/{}/{round}", kind::ACCEPTANCE, case.id))
        .status(if acceptance.accepted {
            "accepted"
        } else {
            "rejected"
        }),
    )
    .await?;
    audit(
        tx,
        ctx,
        "customer_acceptance",
        id,
        None,
        serde_json::json!({
            "ticket_id": case.id,
            "round": round,
            "accepted": acceptance.accepted,
            "rectification_items": items,
        }),
    )
    .await?;
    let state = if acceptance.accepted {
        CaseState::Accepted
    } else {
        CaseState::InRepair
    };
    let reason = if acceptance.accepted {
        format!("accepted by the customer in round {round}")
    } else {
        format!("rectification after failed acceptance round {round}")
    };
    move_case(
        tx,
        EVENTS_STREAM,
        actor_of(&ctx.caller),
        &case.id,
        case.state,
        state,
        &reason,
    )
    .await?;
    // A rejection's effect on the repair (its completion cleared, the crew back at work)
    // is the repair service's: it consumes this event. Until then the completion is spent
    // for every reader (`standing_completion`).
    emit(
        tx,
        EVENTS_STREAM,
        envelope(
            actor_of(&ctx.caller),
            Some(&case.id),
            Payload::CustomerAcceptanceRecorded(events::CustomerAcceptanceRecorded {
                acceptance_id: id.clone(),
                accepted: acceptance.accepted,
                round,
                technician_ids: crew_of(tx, &case.id).await?,
            }),
        ),
    )
    .await?;
    Ok(state)
}
