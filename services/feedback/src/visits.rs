//! Return visits (MISSION §8.1): scheduled when a case is archived (the customer's offsets
//! after acceptance), added or moved by an agent, each attempt recorded; a recurrence opens a
//! linked ticket in intake; the last visit made, or the customer declining, closes the case.
//! And satisfaction surveys (§8.2): five scores and a comment, one per case and visit.

use chrono::{DateTime, TimeZone, Utc};
use prost::Message;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use steelcare_bus::EVENTS_STREAM;
use steelcare_domain::feedback::{DEFAULT_OFFSETS, check_offsets, due_times};
use steelcare_domain::{CaseState, Role};
use steelcare_i18n::{Locale, Msg, Said, msg};
use steelcare_proto::events::v1 as events;
use steelcare_proto::events::v1::event_envelope::Payload;
use steelcare_proto::feedback::v1 as pb;
use steelcare_runtime::convert::{from_timestamp, page_size, to_timestamp};
use steelcare_runtime::handler::{not_found, require};
use steelcare_runtime::idempotent::Begun;
use steelcare_runtime::record::{
    actor_of, audit, emit, envelope, move_case, payload_hash, retry_aborted_up_to,
};
use steelcare_runtime::validate::{LONG, Person, SHORT, Violations};
use steelcare_runtime::{ApiError, RequestContext};
use steelcare_store::case_records::{self, NewRecord, decode};
use steelcare_store::entity::{customers, return_visits as rows, visit_policies};
use steelcare_store::{begin_write, page};

use crate::engine::{Case, Feedback, case_precondition, db_err, sees, system};
use crate::facts::{self, SATISFACTION};

/// Who manages visits and policies.
pub(crate) const VISIT_STAFF: &[Role] = &[Role::Agent, Role::Manager, Role::Admin];
const POLICY_EDITORS: &[Role] = &[Role::Manager, Role::Admin];
/// Tries an added visit makes for a number of the case's (see `add_visit`).
const VISIT_NUMBER_ATTEMPTS: u32 = 32;
const ATTEMPT_RECORDERS: &[Role] = &[Role::Agent, Role::Engineer, Role::Manager, Role::Admin];
/// Who records a satisfaction survey: the customer, or the return-visit agent (or an admin) on
/// their behalf. Not a manager, technician or engineer: they are appraised on its scores.
const SURVEY_RECORDERS: &[Role] = &[Role::Customer, Role::Agent, Role::Admin];

/// Visit statuses as stored.
pub mod status {
    /// Waiting for its due time.
    pub const SCHEDULED: &str = "scheduled";
    /// Made.
    pub const DONE: &str = "done";
    /// Cancelled.
    pub const CANCELLED: &str = "cancelled";
}

fn status_of(s: &str) -> pb::VisitStatus {
    match s {
        status::SCHEDULED => pb::VisitStatus::Scheduled,
        status::DONE => pb::VisitStatus::Done,
        status::CANCELLED => pb::VisitStatus::Cancelled,
        _ => pb::VisitStatus::Unspecified,
    }
}

/// A timestamp field, checked into `v`.
pub(crate) fn instant(
    v: &mut Violations,
    field: &str,
    ts: Option<&prost_types::Timestamp>,
    required: bool,
) -> Option<DateTime<Utc>> {
    match ts {
        None if required => {
            v.add(field, msg!("field-required"));
            None
        }
        None => None,
        Some(ts) => match from_timestamp(ts, field) {
            Ok(at) => Some(at),
            Err(_) => {
                v.add(field, msg!("field-timestamp-range"));
                None
            }
        },
    }
}

/// A stored visit as the API shows it (with `overdue` computed at `now`).
pub fn stored(row: &rows::Model, now: DateTime<Utc>) -> Result<pb::Visit, ApiError> {
    let mut visit = pb::Visit::decode(row.body.as_slice())
        .map_err(|err| ApiError::Internal(format!("visit {} does not decode: {err}", row.id)))?;
    visit.status = status_of(&row.status) as i32;
    visit.overdue = row.status == status::SCHEDULED && row.due_at_ms < now.timestamp_millis();
    Ok(visit)
}

/// A visit as a reader in `locale` sees it: [`stored`], with the system's reasons in their
/// language.
pub fn view(row: &rows::Model, now: DateTime<Utc>, locale: Locale) -> Result<pb::Visit, ApiError> {
    let mut visit = stored(row, now)?;
    visit.reason = Said::read(&visit.reason, locale);
    Ok(visit)
}

/// The offsets in force for a customer.
pub async fn offsets_of(
    conn: &impl ConnectionTrait,
    customer_id: &str,
) -> Result<Vec<u32>, ApiError> {
    let row = visit_policies::Entity::find_by_id(customer_id)
        .one(conn)
        .await
        .map_err(db_err)?;
    Ok(row
        .and_then(|r| {
            r.offsets
                .split(',')
                .map(|o| o.trim().parse::<u32>().ok())
                .collect::<Option<Vec<u32>>>()
        })
        .filter(|o| !o.is_empty())
        .unwrap_or_else(|| DEFAULT_OFFSETS.to_vec()))
}

/// Schedules the visits of an archived case (once: its caller runs once per archive, under
/// the event's processed key): the customer's offsets after the accepted round, or after
/// archiving for a case that ended without a repair. A visit added by hand before them (in
/// the moment between the archive and this) keeps its number, and these follow it. Returns
/// the visit ids.
pub async fn schedule(
    conn: &impl ConnectionTrait,
    feedback: &Feedback,
    case: &Case,
) -> Result<Vec<String>, ApiError> {
    let first = last_sequence(conn, &case.id).await?.unwrap_or(0) + 1;
    let facts = steelcare_store::entity::case_facts::Entity::find_by_id(&case.id)
        .one(conn)
        .await
        .map_err(db_err)?;
    let archived = steelcare_store::entity::archives::Entity::find()
        .filter(steelcare_store::entity::archives::Column::TicketId.eq(&case.id))
        .one(conn)
        .await
        .map_err(db_err)?;
    let base = facts
        .as_ref()
        .and_then(|f| f.accepted_at_ms)
        .and_then(|ms| Utc.timestamp_millis_opt(ms).single())
        .or(archived.map(|a| a.created_at))
        .unwrap_or_else(steelcare_store::now);
    let offsets = match &case.organization_id {
        Some(customer) => offsets_of(conn, customer).await?,
        None => DEFAULT_OFFSETS.to_vec(),
    };
    let agent = crate::facts::agent_of(conn, &case.id)
        .await?
        .unwrap_or_default();
    let now = steelcare_store::now();
    let mut ids = Vec::new();
    for (i, due) in due_times(
        base,
        &offsets,
        &feedback.config.calendar,
        feedback.config.visit_time,
    )
    .into_iter()
    .enumerate()
    {
        let id = uuid::Uuid::now_v7().to_string();
        let visit = pb::Visit {
            visit_id: id.clone(),
            ticket_id: case.id.clone(),
            sequence: first + i as i32,
            due_time: Some(to_timestamp(due)),
            agent_id: agent.clone(),
            team: feedback.config.team.clone(),
            status: pb::VisitStatus::Scheduled as i32,
            ..Default::default()
        };
        insert(conn, case, &visit, due, now).await?;
        ids.push(id);
    }
    Ok(ids)
}

async fn insert(
    conn: &impl ConnectionTrait,
    case: &Case,
    visit: &pb::Visit,
    due: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    rows::ActiveModel {
        id: Set(visit.visit_id.clone()),
        ticket_id: Set(case.id.clone()),
        customer_id: Set(case.organization_id.clone()),
        sequence: Set(visit.sequence),
        due_at_ms: Set(due.timestamp_millis()),
        agent_id: Set(visit.agent_id.clone()),
        team: Set(visit.team.clone()),
        status: Set(status::SCHEDULED.to_owned()),
        body: Set(visit.encode_to_vec()),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(conn)
    .await
    .map_err(|err| {
        // The id is new: a unique key taken is the case's visit number, by a visit added or
        // scheduled at the same moment. The caller takes the next number and tries again.
        if matches!(
            err.sql_err(),
            Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
        ) {
            ApiError::Aborted(msg!("error-visit-number-taken"))
        } else {
            db_err(err)
        }
    })?;
    Ok(())
}

/// Saves a changed visit if nobody changed it meanwhile (ABORTED otherwise).
async fn save(
    conn: &impl ConnectionTrait,
    row: &rows::Model,
    visit: &pb::Visit,
    new_status: &str,
    due: DateTime<Utc>,
) -> Result<(), ApiError> {
    let mut stored = visit.clone();
    stored.overdue = false;
    let result = rows::Entity::update_many()
        .col_expr(rows::Column::Body, Expr::value(stored.encode_to_vec()))
        .col_expr(rows::Column::Status, Expr::value(new_status))
        .col_expr(rows::Column::DueAtMs, Expr::value(due.timestamp_millis()))
        .col_expr(rows::Column::Version, Expr::value(row.version + 1))
        .col_expr(rows::Column::UpdatedAt, Expr::value(steelcare_store::now()))
        .filter(rows::Column::Id.eq(&row.id))
        .filter(rows::Column::Version.eq(row.version))
        .exec(conn)
        .await
        .map_err(db_err)?;
    if result.rows_affected == 0 {
        return Err(ApiError::Aborted(msg!("error-visit-changed")));
    }
    Ok(())
}

fn visit_precondition(row: &rows::Model, message: Msg) -> ApiError {
    let status = status_of(&row.status);
    ApiError::FailedPrecondition {
        subject: format!("visit/{}", row.id),
        current_state: status.as_str_name().to_owned(),
        message: msg!(
            "error-visit-state",
            what = message,
            status = steelcare_i18n::enum_label("VisitStatus", status.as_str_name())
        ),
    }
}

/// Closes an archived case whose visits are all made or cancelled.
async fn close_if_done(
    conn: &impl ConnectionTrait,
    ctx: &RequestContext,
    case: &Case,
    reason: &str,
) -> Result<CaseState, ApiError> {
    let open = rows::Entity::find()
        .filter(rows::Column::TicketId.eq(&case.id))
        .filter(rows::Column::Status.eq(status::SCHEDULED))
        .one(conn)
        .await
        .map_err(db_err)?;
    let current = steelcare_store::cases::get(conn, &case.id).await?.state;
    if open.is_some() || current != CaseState::Archived {
        return Ok(current);
    }
    move_case(
        conn,
        EVENTS_STREAM,
        actor_of(&ctx.caller),
        &case.id,
        CaseState::Archived,
        CaseState::Closed,
        reason,
    )
    .await?;
    Ok(CaseState::Closed)
}

/// A visit attempt's request, checked.
struct Attempt {
    outcome: pb::AttemptOutcome,
    contact: Option<steelcare_proto::common::v1::PersonRef>,
    description: String,
    notes: String,
    reschedule: Option<DateTime<Utc>>,
}

/// The sequence number of the case's last visit, if it has one.
async fn last_sequence(
    conn: &impl ConnectionTrait,
    ticket_id: &str,
) -> Result<Option<i32>, ApiError> {
    Ok(rows::Entity::find()
        .select_only()
        .column_as(rows::Column::Sequence.max(), "max")
        .filter(rows::Column::TicketId.eq(ticket_id))
        .into_tuple::<Option<i32>>()
        .one(conn)
        .await
        .map_err(db_err)?
        .flatten())
}

/// Checks an attempt: its outcome and method; the contact and the part's condition when the
/// customer was reached; a recurrence (only when reached, and always with a defective part)
/// with its description; a reschedule time for a rescheduled visit.
fn parse_attempt(request: &pb::RecordVisitAttemptRequest) -> Result<Attempt, ApiError> {
    let mut v = Violations::default();
    let outcome = v.enum_value("outcome", request.outcome, |o| {
        pb::AttemptOutcome::try_from(o).ok()
    });
    v.enum_value("method", request.method, |m| {
        pb::VisitMethod::try_from(m).ok()
    });
    let reached = outcome == Some(pb::AttemptOutcome::Reached);
    let contact = if reached {
        Some(Person::parse(&mut v, "contact", request.contact.as_ref(), true, false).to_proto())
    } else {
        None
    };
    let condition = pb::PartCondition::try_from(request.condition).ok();
    if reached && request.condition == 0 {
        v.add("condition", msg!("field-required-when-reached"));
    } else if condition.is_none() {
        v.add(
            "condition",
            msg!("field-unknown-value", value = request.condition),
        );
    }
    if request.recurred && !reached {
        v.add("recurred", msg!("field-recurrence-needs-reach"));
    }
    if condition == Some(pb::PartCondition::Defective) && !request.recurred {
        v.add("recurred", msg!("field-defective-is-recurrence"));
    }
    let description = if request.recurred {
        v.required(
            "recurrence_description",
            &request.recurrence_description,
            LONG,
        )
    } else {
        v.optional(
            "recurrence_description",
            &request.recurrence_description,
            LONG,
        )
    };
    let notes = v.optional("notes", &request.notes, LONG);
    let reschedule = instant(
        &mut v,
        "reschedule_time",
        request.reschedule_time.as_ref(),
        outcome == Some(pb::AttemptOutcome::Rescheduled),
    );
    let outcome = v.finish(outcome)?.unwrap_or_default();
    Ok(Attempt {
        outcome,
        contact,
        description,
        notes,
        reschedule,
    })
}

/// The visit's status and due time after an attempt: done when the customer was reached,
/// due again at the new time when rescheduled, otherwise still due as it was.
fn after_attempt(
    row: &rows::Model,
    visit: &mut pb::Visit,
    outcome: pb::AttemptOutcome,
    reschedule: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> (&'static str, DateTime<Utc>) {
    let (new_status, due) = match outcome {
        pb::AttemptOutcome::Reached => (status::DONE, row.due_at_ms),
        pb::AttemptOutcome::Rescheduled => (
            status::SCHEDULED,
            reschedule.map_or(row.due_at_ms, |t| t.timestamp_millis()),
        ),
        _ => (status::SCHEDULED, row.due_at_ms),
    };
    if let Some(t) = reschedule.filter(|_| outcome == pb::AttemptOutcome::Rescheduled) {
        visit.due_time = Some(to_timestamp(t));
    }
    let due = Utc.timestamp_millis_opt(due).single().unwrap_or(now);
    (new_status, due)
}

/// Checks a survey: the five dimensions from 1 to 5, the overall score when given, the
/// comment, the respondent (named when someone records it for the customer), the visit.
fn parse_survey(
    ctx: &RequestContext,
    request: &pb::SubmitSatisfactionRequest,
) -> Result<
    (
        pb::SatisfactionScores,
        String,
        steelcare_proto::common::v1::PersonRef,
        String,
    ),
    ApiError,
> {
    let mut v = Violations::default();
    let scores = request.scores.unwrap_or_default();
    for (field, score) in [
        ("response_speed", scores.response_speed),
        ("service_attitude", scores.service_attitude),
        ("professional_competence", scores.professional_competence),
        ("fix_effect", scores.fix_effect),
        ("communication", scores.communication.unwrap_or_default()),
    ] {
        if !(1..=5).contains(&score) {
            v.add(format!("scores.{field}"), msg!("field-score-required"));
        }
    }
    if scores.overall.is_some_and(|o| !(1..=5).contains(&o)) {
        v.add("scores.overall", msg!("field-score-optional"));
    }
    let comment = v.optional("comment", &request.comment, LONG);
    let on_behalf = !ctx.caller.is_customer_only();
    let respondent = Person::parse(
        &mut v,
        "respondent",
        request.respondent.as_ref(),
        on_behalf,
        false,
    )
    .to_proto();
    let visit_id = v.optional("visit_id", &request.visit_id, SHORT);
    v.finish((scores, comment, respondent, visit_id))
}

/// Attempts are recorded on scheduled visits only.
fn still_scheduled(row: &rows::Model) -> Result<(), ApiError> {
    if row.status != status::SCHEDULED {
        return Err(visit_precondition(
            row,
            msg!("error-attempt-needs-scheduled"),
        ));
    }
    Ok(())
}

impl Feedback {
    /// A visit by id as the caller may see it.
    async fn visible_visit(
        &self,
        conn: &impl ConnectionTrait,
        ctx: &RequestContext,
        visit_id: &str,
    ) -> Result<rows::Model, ApiError> {
        let id = steelcare_runtime::validate::id("visit_id", visit_id)?;
        rows::Entity::find_by_id(id)
            .one(conn)
            .await
            .map_err(db_err)?
            .filter(|r| sees(&ctx.caller, r.customer_id.as_deref()))
            .ok_or_else(|| not_found("visit", id))
    }

    async fn stored_visit(&self, id: &str, locale: Locale) -> Result<pb::Visit, ApiError> {
        let row = rows::Entity::find_by_id(id)
            .one(&self.db)
            .await
            .map_err(db_err)?
            .ok_or_else(|| ApiError::Internal(format!("visit {id} of a replay is gone")))?;
        view(&row, steelcare_store::now(), locale)
    }

    /// SetVisitPolicy.
    pub async fn set_visit_policy(
        &self,
        ctx: &RequestContext,
        request: pb::SetVisitPolicyRequest,
    ) -> Result<pb::SetVisitPolicyResponse, ApiError> {
        require(&ctx.caller, POLICY_EDITORS)?;
        let customer_id = steelcare_runtime::validate::id("customer_id", &request.customer_id)?;
        let offsets: Vec<i64> = request
            .offset_months
            .iter()
            .map(|o| i64::from(*o))
            .collect();
        let offsets = check_offsets(&offsets)
            .map_err(|err| ApiError::invalid("offset_months", err.message()))?;
        let tx = begin_write(&self.db).await.map_err(db_err)?;
        customers::Entity::find_by_id(customer_id)
            .one(&tx)
            .await
            .map_err(db_err)?
            .ok_or_else(|| not_found("customer", customer_id))?;
        let before = offsets_of(&tx, customer_id).await?;
        let text = offsets
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(",");
        visit_policies::Entity::delete_by_id(customer_id)
            .exec(&tx)
            .await
            .map_err(db_err)?;
        visit_policies::ActiveModel {
            customer_id: Set(customer_id.to_owned()),
            offsets: Set(text),
            updated_by: Set(ctx.caller.subject.clone()),
            updated_at: Set(steelcare_store::now()),
        }
        .insert(&tx)
        .await
        .map_err(db_err)?;
        audit(
            &tx,
            ctx,
            "visit_policy",
            customer_id,
            Some(serde_json::json!({ "offset_months": before })),
            serde_json::json!({ "offset_months": offsets }),
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        Ok(pb::SetVisitPolicyResponse {
            offset_months: offsets.iter().map(|o| *o as i32).collect(),
        })
    }

    /// GetVisitPolicy.
    pub async fn get_visit_policy(
        &self,
        ctx: &RequestContext,
        request: pb::GetVisitPolicyRequest,
    ) -> Result<pb::GetVisitPolicyResponse, ApiError> {
        require(&ctx.caller, VISIT_STAFF)?;
        let customer_id = steelcare_runtime::validate::id("customer_id", &request.customer_id)?;
        customers::Entity::find_by_id(customer_id)
            .one(&self.db)
            .await
            .map_err(db_err)?
            .ok_or_else(|| not_found("customer", customer_id))?;
        Ok(pb::GetVisitPolicyResponse {
            offset_months: offsets_of(&self.db, customer_id)
                .await?
                .iter()
                .map(|o| *o as i32)
                .collect(),
        })
    }

    /// AddVisit.
    pub async fn add_visit(
        &self,
        ctx: &RequestContext,
        request: pb::AddVisitRequest,
    ) -> Result<pb::AddVisitResponse, ApiError> {
        // The visit takes the case's next number; another visit added, or the case's visits
        // scheduled, at the same moment may take it first: then it takes the one after. Each
        // loss is another visit numbered, so it is tried again as often as a case can have
        // visits added at once (six added beside the case's own three lost five times).
        retry_aborted_up_to(VISIT_NUMBER_ATTEMPTS, || self.add_visit_once(ctx, &request)).await
    }

    async fn add_visit_once(
        &self,
        ctx: &RequestContext,
        request: &pb::AddVisitRequest,
    ) -> Result<pb::AddVisitResponse, ApiError> {
        require(&ctx.caller, VISIT_STAFF)?;
        let mut v = Violations::default();
        let due = instant(&mut v, "due_time", request.due_time.as_ref(), true);
        let agent_id = v.optional("agent_id", &request.agent_id, SHORT);
        let reason = v.required("reason", &request.reason, LONG);
        let due = v.finish(due)?.unwrap_or_default();
        let hash = payload_hash(request, |r| r.request_id.clear());
        let (tx, key) = match self
            .begin(ctx, "AddVisit", &request.request_id, hash)
            .await?
        {
            Begun::Replay(id) => {
                return Ok(pb::AddVisitResponse {
                    visit: Some(self.stored_visit(&id, ctx.locale).await?),
                });
            }
            Begun::Fresh(tx, key) => (tx, key),
        };
        let case = self.case_for(&tx, &ctx.caller, &request.ticket_id).await?;
        if case.state != CaseState::Archived {
            return Err(case_precondition(&case, msg!("error-visit-needs-archive")));
        }
        let last = last_sequence(&tx, &case.id).await?;
        let id = uuid::Uuid::now_v7().to_string();
        let visit = pb::Visit {
            visit_id: id.clone(),
            ticket_id: case.id.clone(),
            sequence: last.unwrap_or(0) + 1,
            due_time: Some(to_timestamp(due)),
            agent_id,
            team: self.config.team.clone(),
            status: pb::VisitStatus::Scheduled as i32,
            reason: Said::words(reason.as_str()).to_column(),
            ..Default::default()
        };
        let now = steelcare_store::now();
        insert(&tx, &case, &visit, due, now).await?;
        audit(
            &tx,
            ctx,
            "visit",
            &id,
            None,
            serde_json::json!({ "ticket_id": case.id, "due_ms": due.timestamp_millis(), "reason": reason }),
        )
        .await?;
        emit(
            &tx,
            EVENTS_STREAM,
            envelope(
                actor_of(&ctx.caller),
                Some(&case.id),
                Payload::VisitsScheduled(events::VisitsScheduled {
                    visit_ids: vec![id.clone()],
                }),
            ),
        )
        .await?;
        self.finish(tx, key, &id).await?;
        Ok(pb::AddVisitResponse {
            visit: Some(view(
                &rows::Entity::find_by_id(&id)
                    .one(&self.db)
                    .await
                    .map_err(db_err)?
                    .ok_or_else(|| not_found("visit", &id))?,
                now,
                ctx.locale,
            )?),
        })
    }

    /// RescheduleVisit.
    pub async fn reschedule_visit(
        &self,
        ctx: &RequestContext,
        request: pb::RescheduleVisitRequest,
    ) -> Result<pb::RescheduleVisitResponse, ApiError> {
        require(&ctx.caller, VISIT_STAFF)?;
        let mut v = Violations::default();
        let due = instant(&mut v, "due_time", request.due_time.as_ref(), true);
        let reason = v.required("reason", &request.reason, LONG);
        let due = v.finish(due)?.unwrap_or_default();
        let hash = payload_hash(&request, |r| r.request_id.clear());
        let (tx, key) = match self
            .begin(ctx, "RescheduleVisit", &request.request_id, hash)
            .await?
        {
            Begun::Replay(id) => {
                return Ok(pb::RescheduleVisitResponse {
                    visit: Some(self.stored_visit(&id, ctx.locale).await?),
                });
            }
            Begun::Fresh(tx, key) => (tx, key),
        };
        let row = self.visible_visit(&tx, ctx, &request.visit_id).await?;
        if row.status != status::SCHEDULED {
            return Err(visit_precondition(
                &row,
                msg!("error-visit-moves-scheduled"),
            ));
        }
        let mut visit = stored(&row, steelcare_store::now())?;
        let before = visit.due_time;
        visit.due_time = Some(to_timestamp(due));
        visit.reason = Said::words(reason.as_str()).to_column();
        save(&tx, &row, &visit, status::SCHEDULED, due).await?;
        audit(
            &tx,
            ctx,
            "visit",
            &row.id,
            Some(serde_json::json!({ "due_seconds": before.map(|t| t.seconds) })),
            serde_json::json!({ "due_seconds": due.timestamp(), "reason": reason }),
        )
        .await?;
        self.finish(tx, key, &row.id).await?;
        Ok(pb::RescheduleVisitResponse {
            visit: Some(self.stored_visit(&row.id, ctx.locale).await?),
        })
    }

    /// RecordVisitAttempt.
    pub async fn record_visit_attempt(
        &self,
        ctx: &RequestContext,
        request: pb::RecordVisitAttemptRequest,
    ) -> Result<pb::RecordVisitAttemptResponse, ApiError> {
        require(&ctx.caller, ATTEMPT_RECORDERS)?;
        let Attempt {
            outcome,
            contact,
            description,
            notes,
            reschedule,
        } = parse_attempt(&request)?;
        let hash = payload_hash(&request, |r| r.request_id.clear());
        let rpc = "RecordVisitAttempt";

        // A replay answers at once; otherwise a recurrence's ticket is opened before the
        // attempt's transaction.
        if let Some(id) = steelcare_runtime::idempotent::replayed(
            &self.db,
            ctx,
            "feedback",
            rpc,
            &request.request_id,
            &hash,
        )
        .await?
        {
            return self.attempt_response(&id, ctx.locale).await;
        }
        let recurrence_ticket_id = self.recurrence_ticket(ctx, &request, &description).await?;
        let (tx, key) = match self.begin(ctx, rpc, &request.request_id, hash).await? {
            Begun::Replay(id) => return self.attempt_response(&id, ctx.locale).await,
            Begun::Fresh(tx, key) => (tx, key),
        };
        let row = self.visible_visit(&tx, ctx, &request.visit_id).await?;
        still_scheduled(&row)?;
        let case = self.case_for(&tx, &ctx.caller, &row.ticket_id).await?;
        let now = steelcare_store::now();
        let mut visit = stored(&row, now)?;
        let attempt = pb::VisitAttempt {
            attempt_id: uuid::Uuid::now_v7().to_string(),
            outcome: outcome as i32,
            method: request.method,
            contact,
            condition: request.condition,
            recurred: request.recurred,
            recurrence_ticket_id: recurrence_ticket_id.clone(),
            notes,
            reschedule_time: reschedule.map(to_timestamp),
            recorded_by: Some(actor_of(&ctx.caller)),
            attempt_time: Some(to_timestamp(now)),
        };
        visit.attempts.push(attempt.clone());
        let (new_status, due) = after_attempt(&row, &mut visit, outcome, reschedule, now);
        save(&tx, &row, &visit, new_status, due).await?;
        let before = serde_json::json!({ "status": row.status });
        let after = serde_json::json!({
            "status": new_status,
            "outcome": outcome.as_str_name(),
            "recurred": request.recurred,
            "recurrence_ticket_id": recurrence_ticket_id,
        });
        audit(&tx, ctx, "visit", &row.id, Some(before), after).await?;
        let recorded = Payload::VisitRecorded(events::VisitRecorded {
            visit_id: row.id.clone(),
        });
        let announced = envelope(actor_of(&ctx.caller), Some(&case.id), recorded);
        emit(&tx, EVENTS_STREAM, announced).await?;
        if new_status == status::DONE {
            close_if_done(&tx, ctx, &case, "the last return visit was made").await?;
        }
        facts::refresh(&tx, self.config.timezone, &case.id).await?;
        self.finish(tx, key, &row.id).await?;
        self.attempt_response(&row.id, ctx.locale).await
    }

    /// A recurrence's ticket, opened before the attempt's transaction (intake writes on its
    /// own) through intake's contract, as the caller (an engineer on the visit may open one
    /// there), idempotently on this request; empty when nothing recurred.
    async fn recurrence_ticket(
        &self,
        ctx: &RequestContext,
        request: &pb::RecordVisitAttemptRequest,
        description: &str,
    ) -> Result<String, ApiError> {
        if !request.recurred {
            return Ok(String::new());
        }
        let row = self.visible_visit(&self.db, ctx, &request.visit_id).await?;
        still_scheduled(&row)?;
        self.intake
            .open_recurrence(
                ctx,
                &format!("visit:{}:{}", row.id, request.request_id.trim()),
                &row.ticket_id,
                description,
            )
            .await
    }

    async fn attempt_response(
        &self,
        visit_id: &str,
        locale: Locale,
    ) -> Result<pb::RecordVisitAttemptResponse, ApiError> {
        let visit = self.stored_visit(visit_id, locale).await?;
        let state = steelcare_store::cases::get(&self.db, &visit.ticket_id)
            .await?
            .state;
        Ok(pb::RecordVisitAttemptResponse {
            recurrence_ticket_id: visit
                .attempts
                .last()
                .map(|a| a.recurrence_ticket_id.clone())
                .unwrap_or_default(),
            visit: Some(visit),
            state: state.proto_value(),
        })
    }

    /// DeclineVisits.
    pub async fn decline_visits(
        &self,
        ctx: &RequestContext,
        request: pb::DeclineVisitsRequest,
    ) -> Result<pb::DeclineVisitsResponse, ApiError> {
        require(&ctx.caller, VISIT_STAFF)?;
        let mut v = Violations::default();
        let reason = v.required("reason", &request.reason, LONG);
        v.finish(())?;
        let hash = payload_hash(&request, |r| r.request_id.clear());
        let (tx, key) = match self
            .begin(ctx, "DeclineVisits", &request.request_id, hash)
            .await?
        {
            Begun::Replay(id) => {
                let state = steelcare_store::cases::get(&self.db, &id).await?.state;
                return Ok(pb::DeclineVisitsResponse {
                    state: state.proto_value(),
                });
            }
            Begun::Fresh(tx, key) => (tx, key),
        };
        let case = self.case_for(&tx, &ctx.caller, &request.ticket_id).await?;
        if case.state != CaseState::Archived {
            return Err(case_precondition(
                &case,
                msg!("error-decline-needs-archive"),
            ));
        }
        let open = rows::Entity::find()
            .filter(rows::Column::TicketId.eq(&case.id))
            .filter(rows::Column::Status.eq(status::SCHEDULED))
            .all(&tx)
            .await
            .map_err(db_err)?;
        for row in &open {
            let mut visit = stored(row, steelcare_store::now())?;
            visit.reason =
                Said::from(msg!("visit-cancelled-declined", reason = reason.as_str())).to_column();
            let due = Utc
                .timestamp_millis_opt(row.due_at_ms)
                .single()
                .unwrap_or_default();
            save(&tx, row, &visit, status::CANCELLED, due).await?;
        }
        audit(
            &tx,
            ctx,
            "ticket",
            &case.id,
            None,
            serde_json::json!({ "visits_declined": reason, "cancelled": open.len() }),
        )
        .await?;
        let state = close_if_done(
            &tx,
            ctx,
            &case,
            &format!("the customer declined return visits: {reason}"),
        )
        .await?;
        facts::refresh(&tx, self.config.timezone, &case.id).await?;
        self.finish(tx, key, &case.id).await?;
        Ok(pb::DeclineVisitsResponse {
            state: state.proto_value(),
        })
    }

    /// GetVisit.
    pub async fn get_visit(
        &self,
        ctx: &RequestContext,
        request: pb::GetVisitRequest,
    ) -> Result<pb::GetVisitResponse, ApiError> {
        require(&ctx.caller, &Role::ALL)?;
        let row = self.visible_visit(&self.db, ctx, &request.visit_id).await?;
        Ok(pb::GetVisitResponse {
            visit: Some(view(&row, steelcare_store::now(), ctx.locale)?),
        })
    }

    /// ListVisits.
    pub async fn list_visits(
        &self,
        ctx: &RequestContext,
        request: pb::ListVisitsRequest,
    ) -> Result<pb::ListVisitsResponse, ApiError> {
        require(&ctx.caller, &Role::ALL)?;
        let case = self
            .case_for(&self.db, &ctx.caller, &request.ticket_id)
            .await?;
        let now = steelcare_store::now();
        let visits = rows::Entity::find()
            .filter(rows::Column::TicketId.eq(&case.id))
            .order_by_asc(rows::Column::DueAtMs)
            .order_by_asc(rows::Column::Sequence)
            .all(&self.db)
            .await
            .map_err(db_err)?
            .iter()
            .map(|r| view(r, now, ctx.locale))
            .collect::<Result<_, _>>()?;
        Ok(pb::ListVisitsResponse { visits })
    }

    /// ListDueVisits: the call list.
    pub async fn list_due_visits(
        &self,
        ctx: &RequestContext,
        request: pb::ListDueVisitsRequest,
    ) -> Result<pb::ListDueVisitsResponse, ApiError> {
        require(&ctx.caller, VISIT_STAFF)?;
        let size = page_size(request.page_size)?;
        let now = steelcare_store::now();
        let mut v = Violations::default();
        let before = instant(&mut v, "due_before", request.due_before.as_ref(), false);
        v.finish(())?;
        let mut until = before.unwrap_or(now).timestamp_millis();
        if request.overdue_only {
            until = until.min(now.timestamp_millis());
        }
        // The filter as asked: pages of the default "due by now" follow the clock.
        let fingerprint = page::fingerprint(&(
            &request.agent_id,
            &request.team,
            before.map(|b| b.timestamp_millis()),
            request.overdue_only,
        ));
        let after: Option<(i64, String)> = page::decode(&request.page_token, &fingerprint)?;
        let mut query = rows::Entity::find()
            .filter(rows::Column::Status.eq(status::SCHEDULED))
            .filter(rows::Column::DueAtMs.lt(until));
        if !request.agent_id.is_empty() {
            query = query.filter(rows::Column::AgentId.eq(&request.agent_id));
        }
        if !request.team.is_empty() {
            query = query.filter(rows::Column::Team.eq(&request.team));
        }
        if let Some(key) = after {
            query = query.filter(page::after(rows::Column::DueAtMs, rows::Column::Id, key));
        }
        let mut found = query
            .order_by_asc(rows::Column::DueAtMs)
            .order_by_asc(rows::Column::Id)
            .limit(size + 1)
            .all(&self.db)
            .await
            .map_err(db_err)?;
        let next_page_token = page::next_token(&mut found, size, &fingerprint, |r| {
            (r.due_at_ms, r.id.clone())
        });
        Ok(pb::ListDueVisitsResponse {
            visits: found
                .iter()
                .map(|r| view(r, now, ctx.locale))
                .collect::<Result<_, _>>()?,
            next_page_token,
        })
    }

    /// SubmitSatisfaction.
    /// The one place of a case's survey (per visit, or "-" without one): the visit must be
    /// the case's, and the place still free (ALREADY_EXISTS otherwise).
    async fn survey_slot(
        &self,
        tx: &sea_orm::DatabaseTransaction,
        ctx: &RequestContext,
        case_id: &str,
        visit_id: &str,
    ) -> Result<String, ApiError> {
        if !visit_id.is_empty() {
            let visit = self.visible_visit(tx, ctx, visit_id).await?;
            if visit.ticket_id != case_id {
                return Err(not_found("visit", visit_id));
            }
        }
        let at = if visit_id.is_empty() { "-" } else { visit_id };
        let slot = format!("{SATISFACTION}/{case_id}/{at}");
        let taken = steelcare_store::entity::case_records::Entity::find()
            .filter(steelcare_store::entity::case_records::Column::Slot.eq(&slot))
            .one(tx)
            .await
            .map_err(db_err)?;
        if taken.is_some() {
            return Err(ApiError::AlreadyExists(if visit_id.is_empty() {
                msg!("error-survey-exists", case = case_id)
            } else {
                msg!(
                    "error-visit-survey-exists",
                    case = case_id,
                    visit = visit_id
                )
            }));
        }
        Ok(slot)
    }

    pub async fn submit_satisfaction(
        &self,
        ctx: &RequestContext,
        request: pb::SubmitSatisfactionRequest,
    ) -> Result<pb::SubmitSatisfactionResponse, ApiError> {
        require(&ctx.caller, SURVEY_RECORDERS)?;
        let (scores, comment, respondent, visit_id) = parse_survey(ctx, &request)?;
        let hash = payload_hash(&request, |r| r.request_id.clear());
        let (tx, key) = match self
            .begin(ctx, "SubmitSatisfaction", &request.request_id, hash)
            .await?
        {
            Begun::Replay(id) => {
                let row = case_records::record(&self.db, &id).await?.ok_or_else(|| {
                    ApiError::Internal(format!("survey {id} of a replay is gone"))
                })?;
                return Ok(pb::SubmitSatisfactionResponse {
                    satisfaction: Some(decode(&row)?),
                });
            }
            Begun::Fresh(tx, key) => (tx, key),
        };
        let case = self.case_for(&tx, &ctx.caller, &request.ticket_id).await?;
        if !matches!(
            case.state,
            CaseState::Accepted
                | CaseState::Archived
                | CaseState::Closed
                | CaseState::ResolvedRemotely
                | CaseState::NoRepair
        ) {
            return Err(case_precondition(
                &case,
                msg!("error-survey-needs-resolution"),
            ));
        }
        let slot = self.survey_slot(&tx, ctx, &case.id, &visit_id).await?;
        let id = uuid::Uuid::now_v7().to_string();
        let now = steelcare_store::now();
        let survey = pb::Satisfaction {
            satisfaction_id: id.clone(),
            ticket_id: case.id.clone(),
            visit_id,
            scores: Some(scores),
            comment,
            respondent: Some(respondent),
            recorded_by: Some(actor_of(&ctx.caller)),
            create_time: Some(to_timestamp(now)),
        };
        store_survey(&tx, ctx, &survey, slot).await?;
        facts::refresh(&tx, self.config.timezone, &case.id).await?;
        self.finish(tx, key, &id).await?;
        Ok(pb::SubmitSatisfactionResponse {
            satisfaction: Some(survey),
        })
    }

    /// GetSatisfaction.
    pub async fn get_satisfaction(
        &self,
        ctx: &RequestContext,
        request: pb::GetSatisfactionRequest,
    ) -> Result<pb::GetSatisfactionResponse, ApiError> {
        require(&ctx.caller, &Role::ALL)?;
        let id = steelcare_runtime::validate::id("satisfaction_id", &request.satisfaction_id)?;
        let row = case_records::record(&self.db, id)
            .await?
            .filter(|r| r.kind == SATISFACTION)
            .ok_or_else(|| not_found("satisfaction", id))?;
        self.case_for(&self.db, &ctx.caller, &row.ticket_id)
            .await
            .map_err(|_| not_found("satisfaction", id))?;
        Ok(pb::GetSatisfactionResponse {
            satisfaction: Some(decode(&row)?),
        })
    }

    /// ListSatisfaction.
    pub async fn list_satisfaction(
        &self,
        ctx: &RequestContext,
        request: pb::ListSatisfactionRequest,
    ) -> Result<pb::ListSatisfactionResponse, ApiError> {
        require(&ctx.caller, &Role::ALL)?;
        let case = self
            .case_for(&self.db, &ctx.caller, &request.ticket_id)
            .await?;
        Ok(pb::ListSatisfactionResponse {
            surveys: case_records::records(&self.db, &case.id, SATISFACTION)
                .await?
                .iter()
                .map(decode)
                .collect::<Result<_, _>>()?,
        })
    }

    /// Schedules an archived case's visits (the consumer, on `CaseArchived`), with the
    /// event, in `conn`'s transaction.
    pub async fn schedule_visits(
        &self,
        conn: &impl ConnectionTrait,
        ticket_id: &str,
    ) -> Result<usize, ApiError> {
        let case = steelcare_store::cases::get(conn, ticket_id).await?;
        let ids = schedule(conn, self, &case).await?;
        if !ids.is_empty() {
            emit(
                conn,
                EVENTS_STREAM,
                envelope(
                    system(),
                    Some(&case.id),
                    Payload::VisitsScheduled(events::VisitsScheduled {
                        visit_ids: ids.clone(),
                    }),
                ),
            )
            .await?;
        }
        Ok(ids.len())
    }
}

/// Writes a satisfaction survey in its slot, audited with the mean of its five dimensions, and
/// announces it.
async fn store_survey(
    tx: &sea_orm::DatabaseTransaction,
    ctx: &RequestContext,
    survey: &pb::Satisfaction,
    slot: String,
) -> Result<(), ApiError> {
    let (id, case_id) = (&survey.satisfaction_id, &survey.ticket_id);
    let record = NewRecord::new(
        SATISFACTION,
        id,
        case_id,
        survey,
        &ctx.caller.subject,
        steelcare_store::now(),
    );
    case_records::insert(tx, record.slot(slot)).await?;
    let scores = survey.scores.unwrap_or_default();
    // The mean of the five dimensions (the optional overall score is not one of them).
    let mean = f64::from(
        scores.response_speed
            + scores.service_attitude
            + scores.professional_competence
            + scores.fix_effect
            + scores.communication.unwrap_or_default(),
    ) / 5.0;
    let audited = serde_json::json!({ "ticket_id": case_id, "mean": mean });
    audit(tx, ctx, "satisfaction", id, None, audited).await?;
    let submitted = Payload::SurveySubmitted(events::SurveySubmitted {
        survey_id: id.clone(),
        mean_score: mean,
    });
    emit(
        tx,
        EVENTS_STREAM,
        envelope(actor_of(&ctx.caller), Some(case_id), submitted),
    )
    .await?;
    Ok(())
}
