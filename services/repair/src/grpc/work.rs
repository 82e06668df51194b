//! Repair (MISSION §6): the work log (the first entry starts the repair), key-step
//! inspections judged like survey readings, and completion once every key step passed.

use steelcare_domain::{CaseState, Role};
use steelcare_i18n::{Arg, Msg, msg};
use steelcare_proto::common::v1 as common;
use steelcare_proto::events::v1 as events;
use steelcare_proto::events::v1::event_envelope::Payload;
use steelcare_proto::repair::v1 as pb;
use steelcare_runtime::convert::{page_size, to_timestamp};
use steelcare_runtime::measurement::{Window, answers};
use steelcare_runtime::record::{actor_of, audit, payload_hash};
use steelcare_runtime::validate::{LONG, SHORT, Violations};
use steelcare_runtime::{ApiError, RequestContext};
use steelcare_store::page;

use super::{
    READERS, RepairService, agreed_plan, allow, attachment_ref, check_attachments, expect_state,
};
use crate::engine::Begun;
use crate::records::{ids, kind, slot, status, texts, time_range};
use crate::store::{self, NewRecord, decode};

const WORKERS: &[Role] = &[Role::Technician, Role::Engineer, Role::Admin];

/// A work-log entry's request, checked.
struct Work {
    step_id: String,
    content: String,
    materials: Vec<pb::MaterialUsed>,
    crew: Vec<String>,
    window: (chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>),
    problems: String,
    handling: String,
    /// Each photo with the field that named it.
    photos: Vec<(String, String)>,
}

/// Checks a work-log request: the step, what was done, each material with its quality
/// certificate, the crew, when (not in the future), problems with their handling, progress.
fn parse_work(
    request: &pb::LogWorkRequest,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Work, ApiError> {
    let mut v = Violations::default();
    let step_id = v.required("step_id", &request.step_id, 64);
    let content = v.required("content", &request.content, LONG);
    let materials: Vec<pb::MaterialUsed> = request
        .materials
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let f = format!("materials[{i}]");
            let refs = texts(
                &mut v,
                &format!("{f}.certificate_refs"),
                &m.certificate_refs,
                20,
            );
            if refs.is_empty() {
                v.add(
                    format!("{f}.certificate_refs"),
                    msg!("field-material-certificate"),
                );
            }
            pb::MaterialUsed {
                name: v.required(&format!("{f}.name"), &m.name, SHORT),
                quantity: v.required(&format!("{f}.quantity"), &m.quantity, SHORT),
                batch: v.optional(&format!("{f}.batch"), &m.batch, SHORT),
                certificate_refs: refs,
            }
        })
        .collect();
    let crew = ids(&mut v, "crew_technician_ids", &request.crew_technician_ids);
    if crew.is_empty() {
        v.add("crew_technician_ids", msg!("field-crew-required"));
    }
    let window = time_range(&mut v, "work_time", request.work_time.as_ref(), Some(now));
    let problems = v.optional("problems", &request.problems, LONG);
    let handling = v.optional("handling", &request.handling, LONG);
    if !problems.is_empty() && handling.is_empty() {
        v.add("handling", msg!("field-handling-required"));
    }
    if !(0..=100).contains(&request.progress_percent) {
        v.add("progress_percent", msg!("field-progress-range"));
    }
    let photos = ids(
        &mut v,
        "photo_attachment_ids",
        &request.photo_attachment_ids,
    )
    .into_iter()
    .enumerate()
    .map(|(i, id)| (format!("photo_attachment_ids[{i}]"), id))
    .collect();
    v.finish(())?;
    let Some(window) = window else {
        return Err(ApiError::invalid("work_time", msg!("field-required")));
    };
    Ok(Work {
        step_id,
        content,
        materials,
        crew,
        window,
        problems,
        handling,
        photos,
    })
}

/// The crew is the agreed plan's and the step one of its steps.
async fn on_the_agreed_plan(
    tx: &sea_orm::DatabaseTransaction,
    case: &store::Case,
    crew: &[String],
    step_id: &str,
) -> Result<(), ApiError> {
    let (_, plan) = agreed_plan(tx, case).await?;
    let agreed = plan.content.unwrap_or_default();
    let mut outsiders = Violations::default();
    for (i, id) in crew.iter().enumerate() {
        if !agreed.crew_technician_ids.contains(id) {
            outsiders.add(
                format!("crew_technician_ids[{i}]"),
                msg!(
                    "field-not-on-crew",
                    id = id.as_str(),
                    crew = agreed.crew_technician_ids.join(", ")
                ),
            );
        }
    }
    outsiders.finish(())?;
    if !agreed.steps.iter().any(|s| s.step_id == step_id) {
        let known: Vec<&str> = agreed.steps.iter().map(|s| s.step_id.as_str()).collect();
        return Err(ApiError::invalid(
            "step_id",
            msg!(
                "field-not-a-plan-step-of",
                step = step_id,
                steps = known.join(", ")
            ),
        ));
    }
    Ok(())
}

/// Progress never goes back from the last entry's.
async fn progress_goes_forward(
    tx: &sea_orm::DatabaseTransaction,
    case: &store::Case,
    progress_percent: i32,
) -> Result<(), ApiError> {
    let previous = store::records(tx, &case.id, kind::WORK).await?;
    if let Some(last) = previous.last() {
        let last: pb::WorkLogEntry = decode(last)?;
        if progress_percent < last.progress_percent {
            return Err(ApiError::invalid(
                "progress_percent",
                msg!("field-progress-back", percent = last.progress_percent),
            ));
        }
    }
    Ok(())
}

/// The key step of the agreed plan an inspection is of; a technician inspects only the work
/// of a crew they are on.
async fn key_step_of(
    ctx: &RequestContext,
    tx: &sea_orm::DatabaseTransaction,
    case: &store::Case,
    step_id: &str,
) -> Result<pb::PlanStep, ApiError> {
    let (_, plan) = agreed_plan(tx, case).await?;
    let content = plan.content.unwrap_or_default();
    if !ctx.caller.has_any(&[Role::Engineer, Role::Admin])
        && !content.crew_technician_ids.contains(&ctx.caller.subject)
    {
        return Err(ApiError::PermissionDenied(msg!("error-inspect-own-crew")));
    }
    let Some(step) = content.steps.into_iter().find(|s| s.step_id == step_id) else {
        return Err(ApiError::invalid(
            "step_id",
            msg!("field-not-a-plan-step", step = step_id),
        ));
    };
    if !step.key_step {
        return Err(ApiError::invalid(
            "step_id",
            msg!("field-not-a-key-step", step = step_id),
        ));
    }
    Ok(step)
}

/// Every quality criterion of the step is answered by a measurement (same quantity, limits
/// and member); each one missing is named.
fn every_criterion_measured(
    step: &pb::PlanStep,
    measurements: &[common::Measurement],
) -> Result<(), ApiError> {
    let mut missing = Violations::default();
    for (i, c) in step.quality_criteria.iter().enumerate() {
        if !measurements.iter().any(|m| answers(c, m)) {
            let limit = c.judgement.as_ref();
            missing.add(
                "measurements",
                msg!(
                    "field-criterion-unmeasured",
                    index = i + 1,
                    step = step.step_id.as_str(),
                    quantity = Msg::new(c.quantity.as_ref().map_or("quantity-other", quantity_key)),
                    member = c.member.as_str(),
                    lower = limit
                        .and_then(|j| j.lower_limit)
                        .map_or("-".to_owned(), |l| l.to_string()),
                    upper = limit
                        .and_then(|j| j.upper_limit)
                        .map_or("-".to_owned(), |u| u.to_string()),
                ),
            );
        }
    }
    missing.finish(())
}

/// The repair is not completed already; a completion the customer rejected that the
/// consumer of the rejection has not cleared yet is cleared here, by the same conditional
/// update (the consumer then finds nothing), so the new completion takes its place.
async fn not_completed(
    tx: &sea_orm::DatabaseTransaction,
    case: &store::Case,
) -> Result<(), ApiError> {
    if let Some(done) = steelcare_runtime::record::standing_completion(tx, &case.id).await? {
        return Err(ApiError::FailedPrecondition {
            subject: format!("case/{}", case.id),
            current_state: "REPAIR_COMPLETED".to_owned(),
            message: msg!("error-already-completed", at = Arg::at(done.created_at)),
        });
    }
    if let Some((round, at)) = steelcare_runtime::record::last_rejection(tx, &case.id).await? {
        let reason = msg!("completion-cleared-round", round = round);
        crate::engine::clear_completion(tx, &case.id, &reason, Some(at)).await?;
    }
    Ok(())
}

/// Every key step of the agreed plan passed its latest inspection; those that did not are
/// named.
async fn key_steps_passed(
    tx: &sea_orm::DatabaseTransaction,
    case: &store::Case,
) -> Result<(), ApiError> {
    let (_, plan) = agreed_plan(tx, case).await?;
    let inspections = store::records(tx, &case.id, kind::INSPECTION).await?;
    let mut open = Vec::new();
    for step in plan
        .content
        .unwrap_or_default()
        .steps
        .iter()
        .filter(|s| s.key_step)
    {
        let latest = inspections
            .iter()
            .rev()
            .find(|i| i.step_id.as_deref() == Some(step.step_id.as_str()));
        match latest.map(|i| i.status.as_str()) {
            Some(status::PASSED) => {}
            Some(_) => open.push(msg!("step-failed", step = step.step_id.as_str())),
            None => open.push(msg!("step-not-inspected", step = step.step_id.as_str())),
        }
    }
    if !open.is_empty() {
        return Err(ApiError::FailedPrecondition {
            subject: format!("case/{}", case.id),
            current_state: case.state.as_str().to_owned(),
            message: msg!("error-key-steps-open", steps = Arg::List(open)),
        });
    }
    Ok(())
}

impl RepairService {
    pub(super) async fn log_work(
        &self,
        ctx: &RequestContext,
        request: pb::LogWorkRequest,
    ) -> Result<pb::LogWorkResponse, ApiError> {
        allow(ctx, WORKERS)?;
        let now = steelcare_store::now();
        let work = parse_work(&request, now)?;
        let hash = payload_hash(&request, |r| r.request_id.clear());
        let r = &self.repairer;
        let (tx, key) = match r.begin(ctx, "LogWork", &request.request_id, hash).await? {
            Begun::Replay(id) => {
                let row = self.stored(&id).await?;
                return Ok(pb::LogWorkResponse {
                    entry: Some(decode(&row)?),
                });
            }
            Begun::Fresh(tx, key) => (tx, key),
        };
        let case = r.case_for(&tx, &ctx.caller, &request.ticket_id).await?;
        let found = self
            .check_work(&tx, ctx, &case, &work, request.progress_percent)
            .await?;
        let (start, end) = work.window;
        let id = uuid::Uuid::now_v7().to_string();
        let entry = pb::WorkLogEntry {
            entry_id: id.clone(),
            ticket_id: case.id.clone(),
            step_id: work.step_id.clone(),
            content: work.content,
            materials: work.materials,
            crew_technician_ids: work.crew.clone(),
            work_time: request.work_time,
            problems: work.problems,
            handling: work.handling,
            progress_percent: request.progress_percent,
            photos: (work.photos.iter())
                .filter_map(|(_, p)| found.iter().find(|f| &f.id == p).map(attachment_ref))
                .collect(),
            logged_by: Some(actor_of(&ctx.caller)),
            create_time: Some(to_timestamp(now)),
        };
        store::insert(
            &tx,
            NewRecord::new(kind::WORK, &id, &case.id, &entry, &ctx.caller.subject, now)
                .step(&work.step_id),
        )
        .await?;
        let (from, to) = (start.timestamp_millis(), end.timestamp_millis());
        store::book(&tx, &case.id, &id, &work.crew, from, to).await?;
        let audited = serde_json::json!({
            "ticket_id": case.id,
            "step_id": work.step_id,
            "crew": work.crew,
            "progress_percent": request.progress_percent,
        });
        audit(&tx, ctx, "work_log", &id, None, audited).await?;
        if case.state == CaseState::Agreed {
            r.move_case(
                &tx,
                actor_of(&ctx.caller),
                &case,
                CaseState::InRepair,
                "repair work started",
            )
            .await?;
        }
        let logged = Payload::WorkLogged(events::WorkLogged {
            work_log_id: id.clone(),
        });
        r.event(&tx, actor_of(&ctx.caller), &case.id, logged)
            .await?;
        r.finish(tx, key, &id).await?;
        Ok(pb::LogWorkResponse { entry: Some(entry) })
    }

    /// Whether this work may be logged: by an engineer or one of its crew, once the agreement
    /// is signed, on a step of the agreed plan by its crew, progress only going forward, its
    /// photos the case's, its crew free then. Returns the photos' attachments.
    async fn check_work(
        &self,
        tx: &sea_orm::DatabaseTransaction,
        ctx: &RequestContext,
        case: &store::Case,
        work: &Work,
        progress_percent: i32,
    ) -> Result<Vec<steelcare_store::entity::attachments::Model>, ApiError> {
        if !ctx.caller.has_any(&[Role::Engineer, Role::Admin])
            && !work.crew.contains(&ctx.caller.subject)
        {
            return Err(ApiError::PermissionDenied(msg!("error-log-own-work")));
        }
        expect_state(
            case,
            &[CaseState::Agreed, CaseState::InRepair],
            msg!("error-work-needs-agreement"),
        )?;
        on_the_agreed_plan(tx, case, &work.crew, &work.step_id).await?;
        progress_goes_forward(tx, case, progress_percent).await?;
        let found = check_attachments(tx, &case.id, &work.photos).await?;
        let (start, end) = work.window;
        self.repairer
            .check_crew(tx, case, "crew_technician_ids", &work.crew, start, end)
            .await?;
        Ok(found)
    }

    pub(super) async fn list_work_log(
        &self,
        ctx: &RequestContext,
        request: pb::ListWorkLogRequest,
    ) -> Result<pb::ListWorkLogResponse, ApiError> {
        allow(ctx, READERS)?;
        let size = page_size(request.page_size)?;
        let r = &self.repairer;
        let case = r.case_for(&r.db, &ctx.caller, &request.ticket_id).await?;
        let fingerprint = page::fingerprint(&("work_log", &case.id));
        let after: Option<String> = page::decode(&request.page_token, &fingerprint)?;
        let mut rows =
            store::records_after(&r.db, &case.id, kind::WORK, after.as_deref(), size + 1).await?;
        let next_page_token = page::next_token(&mut rows, size, &fingerprint, |row| row.id.clone());
        Ok(pb::ListWorkLogResponse {
            entries: rows.iter().map(decode).collect::<Result<_, _>>()?,
            next_page_token,
        })
    }

    pub(super) async fn record_inspection(
        &self,
        ctx: &RequestContext,
        request: pb::RecordInspectionRequest,
    ) -> Result<pb::RecordInspectionResponse, ApiError> {
        allow(ctx, WORKERS)?;
        let now = steelcare_store::now();
        let mut v = Violations::default();
        let step_id = v.required("step_id", &request.step_id, 64);
        if request.measurements.is_empty() {
            v.add("measurements", msg!("field-step-readings-required"));
        }
        let measurements = self.measurements(
            &mut v,
            "measurements",
            &request.measurements,
            (now, Window::inspection(now)),
        );
        let notes = v.optional("notes", &request.notes, LONG);
        v.finish(())?;
        let hash = payload_hash(&request, |r| r.request_id.clear());
        let r = &self.repairer;
        let (tx, key) = match r
            .begin(ctx, "RecordInspection", &request.request_id, hash)
            .await?
        {
            Begun::Replay(id) => {
                let row = self.stored(&id).await?;
                return Ok(pb::RecordInspectionResponse {
                    inspection: Some(decode(&row)?),
                });
            }
            Begun::Fresh(tx, key) => (tx, key),
        };
        let case = r.case_for(&tx, &ctx.caller, &request.ticket_id).await?;
        expect_state(
            &case,
            &[CaseState::InRepair],
            msg!("error-inspection-needs-repair"),
        )?;
        let step = key_step_of(ctx, &tx, &case, &step_id).await?;
        every_criterion_measured(&step, &measurements)?;
        let passed = measurements
            .iter()
            .all(|m| m.judgement.as_ref().is_some_and(|j| j.passed));
        let reinspection_of = failed_inspection(&tx, &case.id, &step_id).await?;
        let id = uuid::Uuid::now_v7().to_string();
        let inspection = pb::Inspection {
            inspection_id: id.clone(),
            ticket_id: case.id.clone(),
            step_id: step_id.clone(),
            reinspection_of: reinspection_of.clone(),
            measurements,
            notes,
            passed,
            inspector: Some(actor_of(&ctx.caller)),
            create_time: Some(to_timestamp(now)),
        };
        let subject = &ctx.caller.subject;
        let record = NewRecord::new(kind::INSPECTION, &id, &case.id, &inspection, subject, now)
            .step(&step_id)
            .status(if passed {
                status::PASSED
            } else {
                status::FAILED
            });
        store::insert(&tx, record).await?;
        let audited = serde_json::json!({
            "ticket_id": case.id,
            "step_id": step_id,
            "passed": passed,
            "reinspection_of": reinspection_of,
        });
        audit(&tx, ctx, "inspection", &id, None, audited).await?;
        r.finish(tx, key, &id).await?;
        Ok(pb::RecordInspectionResponse {
            inspection: Some(inspection),
        })
    }

    pub(super) async fn list_inspections(
        &self,
        ctx: &RequestContext,
        request: pb::ListInspectionsRequest,
    ) -> Result<pb::ListInspectionsResponse, ApiError> {
        Ok(pb::ListInspectionsResponse {
            inspections: self
                .list_of(ctx, &request.ticket_id, kind::INSPECTION)
                .await?,
        })
    }

    pub(super) async fn complete_repair(
        &self,
        ctx: &RequestContext,
        request: pb::CompleteRepairRequest,
    ) -> Result<pb::CompleteRepairResponse, ApiError> {
        allow(ctx, &[Role::Engineer, Role::Admin])?;
        let mut v = Violations::default();
        let summary = v.required("summary", &request.summary, LONG);
        v.finish(())?;
        let hash = payload_hash(&request, |r| r.request_id.clear());
        let r = &self.repairer;
        let (tx, key) = match r
            .begin(ctx, "CompleteRepair", &request.request_id, hash)
            .await?
        {
            Begun::Replay(id) => {
                let row = self.stored(&id).await?;
                let completion: pb::RepairCompletion = decode(&row)?;
                let state = store::case(&r.db, &row.ticket_id)
                    .await?
                    .map_or(0, |c| c.state.proto_value());
                return Ok(pb::CompleteRepairResponse {
                    complete_time: completion.complete_time,
                    state,
                    completion: Some(completion),
                });
            }
            Begun::Fresh(tx, key) => (tx, key),
        };
        let case = r.case_for(&tx, &ctx.caller, &request.ticket_id).await?;
        expect_state(
            &case,
            &[CaseState::InRepair],
            msg!("error-completion-needs-repair"),
        )?;
        not_completed(&tx, &case).await?;
        key_steps_passed(&tx, &case).await?;
        let now = steelcare_store::now();
        let id = uuid::Uuid::now_v7().to_string();
        let completion = pb::RepairCompletion {
            completion_id: id.clone(),
            ticket_id: case.id.clone(),
            summary: summary.clone(),
            complete_time: Some(to_timestamp(now)),
            completed_by: Some(actor_of(&ctx.caller)),
            cleared_reason: String::new(),
        };
        store::insert(
            &tx,
            NewRecord::new(
                kind::COMPLETION,
                &id,
                &case.id,
                &completion,
                &ctx.caller.subject,
                now,
            )
            .slot(slot(kind::COMPLETION, &case.id, 0)),
        )
        .await?;
        audit(
            &tx,
            ctx,
            "repair_completion",
            &id,
            None,
            serde_json::json!({ "ticket_id": case.id, "summary": summary }),
        )
        .await?;
        let announced = Payload::RepairCompleted(events::RepairCompleted {
            completed_time: Some(to_timestamp(now)),
        });
        r.event(&tx, actor_of(&ctx.caller), &case.id, announced)
            .await?;
        r.finish(tx, key, &id).await?;
        Ok(pb::CompleteRepairResponse {
            complete_time: completion.complete_time,
            state: case.state.proto_value(),
            completion: Some(completion),
        })
    }
}

/// The name of a quantity kind, for messages.
fn quantity_key(q: &common::measurement::Quantity) -> &'static str {
    use common::measurement::Quantity as Q;
    match q {
        Q::CoatingThickness(_) => "quantity-coating-thickness",
        Q::BoltTorque(_) => "quantity-bolt-torque",
        Q::TwistOffSplines(_) => "quantity-twist-off-splines",
        Q::OverallVerticality(_) => "quantity-overall-verticality",
        Q::ColumnVerticality(_) => "quantity-column-verticality",
        Q::MidSpanVerticality(_) => "quantity-mid-span-verticality",
        Q::LateralBending(_) => "quantity-lateral-bending",
        Q::SpaceFrameDeflection(_) => "quantity-space-frame-deflection",
        Q::Other(_) => "quantity-other",
    }
}

/// The id of the step's last inspection if it failed (a new one is its reinspection), or
/// empty.
async fn failed_inspection(
    tx: &sea_orm::DatabaseTransaction,
    case_id: &str,
    step_id: &str,
) -> Result<String, ApiError> {
    let earlier = store::records(tx, case_id, kind::INSPECTION).await?;
    Ok(earlier
        .iter()
        .rev()
        .find(|row| row.step_id.as_deref() == Some(step_id))
        .filter(|row| row.status == status::FAILED)
        .map(|row| row.id.clone())
        .unwrap_or_default())
}
