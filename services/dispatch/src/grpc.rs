//! `steelcare.dispatch.v1.DispatchService`: each RPC checks the caller, parses the request,
//! runs one write transaction (the change, its audit record and its events), tells the queue
//! after the commit, and answers with the stored result.

use std::collections::BTreeSet;
use steelcare_i18n::{Arg, Msg, Said, msg};
use steelcare_runtime::metrics::{OfferOutcome, record_offer};

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, DatabaseTransaction, EntityTrait, NotSet,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait, Set,
};
use steelcare_domain::dispatch::{Certificate, qualifies};
use steelcare_domain::{CaseState, ProblemCategory, Role};
use steelcare_proto::dispatch::v1 as pb;
use steelcare_proto::dispatch::v1::dispatch_service_server::DispatchService as DispatchApi;
use steelcare_proto::events::v1 as events;
use steelcare_proto::events::v1::event_envelope::Payload;
use steelcare_runtime::convert::{from_timestamp, page_size, to_timestamp};
use steelcare_runtime::handler::{not_found, require, while_intent_holds};
use steelcare_runtime::record::{actor_of, audit};
use steelcare_runtime::validate::{LONG, Person, SHORT, Violations};
use steelcare_runtime::{ApiError, Caller, RequestContext};
use steelcare_store::entity::{
    assignment_offers, assignments, survey_plan_members, survey_plans, technician_regions,
    technicians,
};
use steelcare_store::{StoreError, begin_write, cases, page};

use crate::engine::{Dispatcher, OfferResult, event};
use crate::records::{
    DutyStatus, Position, RankingRecord, TechnicianRecord, parse_leave, state, to_json,
};
use crate::{store, view};

const TEAM_ADMINS: &[Role] = &[Role::Dispatcher, Role::Manager, Role::Admin];
const TEAM_READERS: &[Role] = &[
    Role::Dispatcher,
    Role::Engineer,
    Role::Manager,
    Role::Admin,
    Role::Auditor,
];
const AVAILABILITY_SETTERS: &[Role] = &[Role::Dispatcher, Role::Manager, Role::Admin];
const PLANNERS: &[Role] = &[Role::Dispatcher, Role::Engineer, Role::Manager, Role::Admin];
const ARRIVAL_RECORDERS: &[Role] = &[Role::Dispatcher, Role::Admin];

fn db_err(err: sea_orm::DbErr) -> ApiError {
    StoreError::from(err).into()
}

fn ms(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

fn assignment_precondition(row: &assignments::Model, message: Msg) -> ApiError {
    ApiError::FailedPrecondition {
        subject: format!("assignment/{}", row.id),
        current_state: row.state.to_uppercase(),
        message: msg!(
            "error-assignment-state",
            what = message,
            state = assignment_state_label(&row.state)
        ),
    }
}

/// The label of a stored assignment state (`offered`).
fn assignment_state_label(stored: &str) -> Msg {
    steelcare_i18n::enum_label("AssignmentState", &stored.to_ascii_uppercase())
}

fn technician_precondition(id: &str, status: &str, message: Msg) -> ApiError {
    ApiError::FailedPrecondition {
        subject: format!("technician/{id}"),
        current_state: status.to_uppercase(),
        message,
    }
}

/// A survey team member booked on another survey plan at the time.
fn survey_clash(clash: &steelcare_store::entity::survey_plan_members::Model) -> ApiError {
    let at = |ms| Arg::at(DateTime::from_timestamp_millis(ms).unwrap_or_default());
    technician_precondition(
        &clash.technician_id,
        "BUSY",
        msg!(
            "error-survey-overlap",
            id = clash.technician_id.as_str(),
            plan = clash.survey_plan_id.as_str(),
            from = at(clash.starts_at_ms),
            to = at(clash.ends_at_ms)
        ),
    )
}

fn case_precondition(ticket_id: &str, state: CaseState, message: Msg) -> ApiError {
    steelcare_runtime::error::in_state(ticket_id, state, message)
}

fn changed_meanwhile() -> ApiError {
    ApiError::Aborted(msg!("error-assignment-changed"))
}

/// Audits a change of an assignment: its state and technician before, `after`.
async fn audit_assignment(
    tx: &DatabaseTransaction,
    ctx: &RequestContext,
    row: &assignments::Model,
    after: serde_json::Value,
) -> Result<(), ApiError> {
    audit(
        tx,
        ctx,
        "assignment",
        &row.id,
        Some(serde_json::json!({ "state": row.state, "technician_id": row.technician_id })),
        after,
    )
    .await
}

/// Whether the caller acts as staff for this RPC (else only as the technician themself).
fn acts_as_staff(caller: &Caller, staff: &[Role]) -> bool {
    caller.has_any(staff)
}

/// True for `staff`, false for a technician (who may then act on their own things only);
/// PERMISSION_DENIED naming every role that may call, staff and technician, for anyone else.
fn staff_or_technician(caller: &Caller, staff: &[Role]) -> Result<bool, ApiError> {
    if acts_as_staff(caller, staff) {
        return Ok(true);
    }
    let mut allowed = staff.to_vec();
    allowed.push(Role::Technician);
    require(caller, &allowed)?;
    Ok(false)
}

/// Staff, or the technician `technician_id` themself.
fn require_staff_or_self(
    caller: &Caller,
    staff: &[Role],
    technician_id: &str,
) -> Result<(), ApiError> {
    if staff_or_technician(caller, staff)? || caller.subject == technician_id {
        Ok(())
    } else {
        Err(ApiError::PermissionDenied(msg!(
            "error-own-technician-record"
        )))
    }
}

/// Instruments a survey of the category needs when the plan does not list them.
fn default_instruments(category: ProblemCategory) -> Vec<pb::Instrument> {
    use pb::Instrument as I;
    match category {
        ProblemCategory::StructuralSafety => vec![
            I::TotalStation,
            I::Level,
            I::MagneticPlumbLine,
            I::UltrasonicFlawDetector,
            I::Tape,
        ],
        ProblemCategory::MemberDeformation => {
            vec![I::TotalStation, I::Level, I::MagneticPlumbLine, I::Tape]
        }
        ProblemCategory::ConnectionLoosening => vec![I::TorqueWrench, I::Tape],
        ProblemCategory::CoatingDamage => vec![I::CoatingThicknessGauge, I::Tape],
        _ => vec![I::Tape],
    }
}

/// The dispatch service.
#[derive(Clone)]
pub struct DispatchService {
    dispatcher: Dispatcher,
}

/// Whether `tech` may be offered `row` by hand: on duty, not on leave before the arrival
/// deadline, qualified for the category on the visit date, below capacity.
fn may_take(
    config: &crate::DispatchConfig,
    tech: &TechnicianRecord,
    tech_row: &technicians::Model,
    category: ProblemCategory,
    row: &assignments::Model,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let deadline = row
        .arrival_deadline_ms
        .and_then(DateTime::from_timestamp_millis);
    let visit = crate::matching::visit_date(config, deadline, now);
    if tech.status != DutyStatus::OnDuty {
        return Err(technician_precondition(
            &tech.id,
            tech.status.as_str(),
            msg!(
                "error-technician-status",
                id = tech.id.as_str(),
                status = tech.status.label()
            ),
        ));
    }
    if tech.on_leave(
        now,
        Ord::max(deadline.unwrap_or(now), now + TimeDelta::minutes(1)),
    ) {
        return Err(technician_precondition(
            &tech.id,
            "ON_LEAVE",
            msg!("error-technician-on-leave-deadline", id = tech.id.as_str()),
        ));
    }
    if let Err(why) = qualifies(
        &config.settings.rules,
        category,
        &tech.skills,
        &tech.certificates,
        visit,
    ) {
        return Err(technician_precondition(
            &tech.id,
            tech.status.as_str(),
            msg!(
                "error-technician-unqualified",
                id = tech.id.as_str(),
                category = category.label(),
                why = why.message()
            ),
        ));
    }
    if tech_row.booked >= tech_row.capacity {
        return Err(technician_precondition(
            &tech.id,
            tech.status.as_str(),
            msg!(
                "error-technician-at-capacity",
                id = tech.id.as_str(),
                booked = tech_row.booked,
                capacity = tech_row.capacity
            ),
        ));
    }
    Ok(())
}

/// Whether this arrival may be recorded: by the assigned technician or a dispatcher, on a
/// confirmed assignment, not before the case was dispatched.
fn may_record_arrival(
    caller: &Caller,
    row: &assignments::Model,
    arrived_at: DateTime<Utc>,
) -> Result<(), ApiError> {
    if !acts_as_staff(caller, ARRIVAL_RECORDERS)
        && row.technician_id.as_deref() != Some(caller.subject.as_str())
    {
        return Err(ApiError::PermissionDenied(msg!("error-arrival-recorder")));
    }
    if row.state != state::CONFIRMED {
        let message = match row.arrived_at_ms.and_then(DateTime::from_timestamp_millis) {
            Some(at) => msg!("error-already-arrived", at = Arg::at(at)),
            None => msg!("error-arrival-needs-confirmed"),
        };
        return Err(assignment_precondition(row, message));
    }
    if arrived_at < row.created_at {
        return Err(ApiError::invalid(
            "arrive_time",
            msg!("field-before-dispatch"),
        ));
    }
    Ok(())
}

/// Checks an arrival: the assignment, the time (now when not given; never in the future)
/// and the device's position when granted.
fn parse_arrival(
    request: &pb::RecordArrivalRequest,
    now: DateTime<Utc>,
) -> Result<(String, DateTime<Utc>, Option<Position>), ApiError> {
    let mut v = Violations::default();
    let id = v.required("assignment_id", &request.assignment_id, SHORT);
    let arrived_at = match request.arrive_time.as_ref() {
        None => now,
        Some(ts) => match from_timestamp(ts, "arrive_time") {
            Ok(at) if at > now + TimeDelta::minutes(1) => {
                v.add("arrive_time", msg!("field-in-future"));
                now
            }
            Ok(at) => at,
            Err(_) => {
                v.add("arrive_time", msg!("field-not-timestamp"));
                now
            }
        },
    };
    let position = request.position.as_ref().map(|p| {
        if !(-90.0..=90.0).contains(&p.latitude) {
            v.add("position.latitude", msg!("field-latitude-range"));
        }
        if !(-180.0..=180.0).contains(&p.longitude) {
            v.add("position.longitude", msg!("field-longitude-range"));
        }
        Position {
            latitude: p.latitude,
            longitude: p.longitude,
        }
    });
    v.finish((id, arrived_at, position))
}

/// The time range of arrival deadlines a list asks for.
type DeadlineRange = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// Checks a list's states and time range (its end after its start).
fn parse_list_filter(
    request: &pb::ListAssignmentsRequest,
) -> Result<(BTreeSet<&'static str>, DeadlineRange), ApiError> {
    let mut v = Violations::default();
    let mut states: BTreeSet<&'static str> = BTreeSet::new();
    for (i, s) in request.states.iter().enumerate() {
        if let Some(s) = v.enum_value(&format!("states[{i}]"), *s, state::from_proto) {
            states.insert(s);
        }
    }
    let mut range = (None, None);
    if let Some(r) = &request.time_range {
        range.0 = r
            .start_time
            .as_ref()
            .and_then(|t| from_timestamp(t, "time_range.start_time").ok());
        range.1 = r
            .end_time
            .as_ref()
            .and_then(|t| from_timestamp(t, "time_range.end_time").ok());
        if let (Some(a), Some(b)) = range
            && b <= a
        {
            v.add("time_range.end_time", msg!("field-after-start"));
        }
    }
    v.finish((states, range))
}

/// The assignments a list's filter selects: a technician's, in these states, open past
/// their deadline, with deadlines in the range, of one ticket.
fn filtered(
    technician_id: &str,
    states: &BTreeSet<&'static str>,
    overdue_only: bool,
    range: DeadlineRange,
    ticket_id: &str,
    now: DateTime<Utc>,
) -> sea_orm::Select<assignments::Entity> {
    let mut query = assignments::Entity::find();
    if !technician_id.is_empty() {
        query = query.filter(assignments::Column::TechnicianId.eq(technician_id));
    }
    if !states.is_empty() {
        query = query.filter(assignments::Column::State.is_in(states.iter().copied()));
    }
    if overdue_only {
        query = query
            .filter(assignments::Column::State.is_in([
                state::WAITING,
                state::OFFERED,
                state::CONFIRMED,
            ]))
            .filter(assignments::Column::ArrivalDeadlineMs.lt(ms(now)));
    }
    if let Some(from) = range.0 {
        query = query.filter(assignments::Column::ArrivalDeadlineMs.gte(ms(from)));
    }
    if let Some(to) = range.1 {
        query = query.filter(assignments::Column::ArrivalDeadlineMs.lt(ms(to)));
    }
    if !ticket_id.is_empty() {
        query = query.filter(assignments::Column::TicketId.eq(ticket_id));
    }
    query
}

/// Why an open offer was taken back from a technician who went off duty or on leave.
fn no_longer_available() -> Said {
    Said::from(msg!("offer-withdrawn-unavailable"))
}

impl DispatchService {
    /// The service over a dispatcher.
    pub fn new(dispatcher: Dispatcher) -> Self {
        DispatchService { dispatcher }
    }

    fn today(&self) -> chrono::NaiveDate {
        steelcare_store::now()
            .with_timezone(&self.dispatcher.config.calendar.timezone())
            .date_naive()
    }

    async fn technician_view(&self, id: &str) -> Result<pb::Technician, ApiError> {
        let db = &self.dispatcher.db;
        let row = store::technician(db, id)
            .await?
            .ok_or_else(|| not_found("technician", id))?;
        view::technician(&row)
    }

    async fn assignment_view(
        &self,
        id: &str,
        locale: steelcare_i18n::Locale,
    ) -> Result<pb::Assignment, ApiError> {
        let db = &self.dispatcher.db;
        let row = store::assignment(db, id)
            .await?
            .ok_or_else(|| not_found("assignment", id))?;
        let rows = std::slice::from_ref(&row);
        let offers = store::offers(db, std::slice::from_ref(&row.id)).await?;
        let names = self.names(rows, &offers).await?;
        let reading = view::Reading {
            now: steelcare_store::now(),
            locale,
            names: &names,
        };
        Ok(view::assignments(rows, &offers, &reading)?.remove(0))
    }

    /// Checks that a customer asks for one case of their own organisation (another's is
    /// NOT_FOUND, as if it did not exist).
    async fn customers_case(&self, ctx: &RequestContext, ticket_id: &str) -> Result<(), ApiError> {
        let ticket_id = ticket_id.trim();
        if ticket_id.is_empty() {
            return Err(ApiError::invalid(
                "ticket_id",
                msg!("field-customer-names-ticket"),
            ));
        }
        let case = cases::get(&self.dispatcher.db, ticket_id)
            .await
            .map_err(|err| match err {
                StoreError::NotFound { .. } => not_found("ticket", ticket_id),
                other => other.into(),
            })?;
        if case.organization_id != ctx.caller.organization_id {
            return Err(not_found("ticket", ticket_id));
        }
        Ok(())
    }

    /// The names of the technicians that assignments and their offers mention.
    async fn names(
        &self,
        rows: &[assignments::Model],
        offers: &[assignment_offers::Model],
    ) -> Result<std::collections::HashMap<String, String>, ApiError> {
        let mut ids: Vec<String> = rows
            .iter()
            .filter_map(|r| r.technician_id.clone())
            .chain(offers.iter().map(|o| o.technician_id.clone()))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let technicians = store::technicians_by_id(&self.dispatcher.db, &ids).await?;
        Ok(view::names(&technicians))
    }

    /// Takes back the open offers of a technician who is no longer available; returns the
    /// assignments to enqueue after the commit.
    /// Queues the waiting work a technician who just became available can take; a failure
    /// is logged, the retry sweep queues it later anyway.
    async fn wake_waiting(&self, technician_id: &str) {
        match self.dispatcher.wake_technician(technician_id).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                technician_id,
                woken = n,
                "waiting work queued for a technician who became available"
            ),
            Err(err) => tracing::warn!(technician_id, error = %err, "cannot wake waiting work"),
        }
    }

    async fn withdraw_open_offers(
        &self,
        tx: &DatabaseTransaction,
        ctx: &RequestContext,
        technician_id: &str,
        reason: &Said,
        now: DateTime<Utc>,
    ) -> Result<Vec<assignments::Model>, ApiError> {
        let open = assignments::Entity::find()
            .filter(assignments::Column::TechnicianId.eq(technician_id))
            .filter(assignments::Column::State.eq(state::OFFERED))
            .all(tx)
            .await
            .map_err(db_err)?;
        let mut released = Vec::new();
        for row in open {
            if self
                .dispatcher
                .release_in(
                    tx,
                    &row,
                    state::WITHDRAWN,
                    reason,
                    actor_of(&ctx.caller),
                    now,
                )
                .await?
            {
                released.push(row);
            }
        }
        Ok(released)
    }

    async fn enqueue_all(&self, rows: &[assignments::Model]) {
        for row in rows {
            self.dispatcher.enqueue(row).await;
        }
    }

    async fn upsert_technician(
        &self,
        ctx: &RequestContext,
        request: pb::UpsertTechnicianRequest,
    ) -> Result<pb::UpsertTechnicianResponse, ApiError> {
        require(&ctx.caller, TEAM_ADMINS)?;
        let given = request
            .technician
            .ok_or_else(|| ApiError::invalid("technician", msg!("field-required")))?;
        let id = given.technician_id.trim().to_owned();
        if id.is_empty() {
            return Err(ApiError::invalid(
                "technician.technician_id",
                msg!("field-required"),
            ));
        }
        let paths = request.update_mask.map(|m| m.paths).unwrap_or_default();
        let now = steelcare_store::now();
        let tx = begin_write(&self.dispatcher.db).await.map_err(db_err)?;
        let existing = store::technician(&tx, &id).await?;
        let merged = merge_update(given, existing.as_ref(), &id, &paths)?;
        let record = TechnicianRecord::parse(&merged)?;
        if let Some(row) = &existing
            && record.capacity < row.booked
        {
            return Err(technician_precondition(
                &id,
                &row.status,
                msg!(
                    "error-capacity-below-booked",
                    capacity = record.capacity,
                    booked = row.booked,
                    id = id.as_str()
                ),
            ));
        }
        write_technician(&tx, &id, &record, existing.as_ref(), now).await?;
        store::set_regions(&tx, &id, &record.regions).await?;
        let released = if record.status != DutyStatus::OnDuty
            || record.on_leave(now, now + TimeDelta::seconds(1))
        {
            self.withdraw_open_offers(&tx, ctx, &id, &no_longer_available(), now)
                .await?
        } else {
            Vec::new()
        };
        let before = existing
            .as_ref()
            .map(|r| TechnicianRecord::from_row(r).map(|t| summary(&t)))
            .transpose()?;
        audit(&tx, ctx, "technician", &id, before, summary(&record)).await?;
        tx.commit().await.map_err(db_err)?;
        self.dispatcher.committed();
        self.enqueue_all(&released).await;
        if released.is_empty() && record.status == DutyStatus::OnDuty {
            self.wake_waiting(&id).await;
        }
        let today = self.today();
        let expired: Vec<pb::Certificate> = record
            .certificates
            .iter()
            .filter(|c| c.valid_until < today)
            .map(crate::records::certificate_proto)
            .collect();
        Ok(pb::UpsertTechnicianResponse {
            technician: Some(self.technician_view(&id).await?),
            expired_certificates: expired,
        })
    }

    async fn get_technician(
        &self,
        ctx: &RequestContext,
        request: pb::GetTechnicianRequest,
    ) -> Result<pb::GetTechnicianResponse, ApiError> {
        let id = request.technician_id.trim();
        if id.is_empty() {
            return Err(ApiError::invalid("technician_id", msg!("field-required")));
        }
        require_staff_or_self(&ctx.caller, TEAM_READERS, id)?;
        Ok(pb::GetTechnicianResponse {
            technician: Some(self.technician_view(id).await?),
        })
    }

    async fn list_technicians(
        &self,
        ctx: &RequestContext,
        request: pb::ListTechniciansRequest,
    ) -> Result<pb::ListTechniciansResponse, ApiError> {
        require(&ctx.caller, TEAM_READERS)?;
        let size = page_size(request.page_size)?;
        let mut v = Violations::default();
        let skill = (request.skill != 0)
            .then(|| {
                v.enum_value(
                    "skill",
                    request.skill,
                    steelcare_domain::dispatch::Skill::from_proto_value,
                )
            })
            .flatten();
        let status = (request.status != 0)
            .then(|| v.enum_value("status", request.status, DutyStatus::from_proto))
            .flatten();
        v.finish(())?;
        let team = request.team.trim().to_owned();
        let region = request.region.trim().to_lowercase();
        let filter = (
            &team,
            &region,
            skill.map(|s| s.as_str()),
            status.map(|s| s.as_str()),
        );
        let fingerprint = page::fingerprint(&filter);
        let after: Option<String> = page::decode(&request.page_token, &fingerprint)?;
        let mut query = technicians::Entity::find();
        if !team.is_empty() {
            query = query.filter(technicians::Column::Team.eq(&team));
        }
        if !region.is_empty() {
            query = query.filter(
                technicians::Column::Id.in_subquery(
                    technician_regions::Entity::find()
                        .select_only()
                        .column(technician_regions::Column::TechnicianId)
                        .filter(technician_regions::Column::Region.eq(&region))
                        .into_query(),
                ),
            );
        }
        if let Some(skill) = skill {
            query = query.filter(technicians::Column::Skills.like(format!("%\"{skill}\"%")));
        }
        if let Some(status) = status {
            query = query.filter(technicians::Column::Status.eq(status.as_str()));
        }
        if let Some(after) = &after {
            query = query.filter(technicians::Column::Id.gt(after));
        }
        let mut rows = query
            .order_by_asc(technicians::Column::Id)
            .limit(size + 1)
            .all(&self.dispatcher.db)
            .await
            .map_err(db_err)?;
        let next_page_token = page::next_token(&mut rows, size, &fingerprint, |r| r.id.clone());
        Ok(pb::ListTechniciansResponse {
            technicians: rows
                .iter()
                .map(view::technician)
                .collect::<Result<_, _>>()?,
            next_page_token,
        })
    }

    async fn set_availability(
        &self,
        ctx: &RequestContext,
        request: pb::SetAvailabilityRequest,
    ) -> Result<pb::SetAvailabilityResponse, ApiError> {
        let id = request.technician_id.trim().to_owned();
        if id.is_empty() {
            return Err(ApiError::invalid("technician_id", msg!("field-required")));
        }
        require_staff_or_self(&ctx.caller, AVAILABILITY_SETTERS, &id)?;
        let mut v = Violations::default();
        let status = v.enum_value("status", request.status, DutyStatus::from_proto);
        let leave = parse_leave(&mut v, "leave_periods", &request.leave_periods);
        let status = v.finish(status)?.unwrap_or(DutyStatus::OffDuty);
        let now = steelcare_store::now();
        let tx = begin_write(&self.dispatcher.db).await.map_err(db_err)?;
        let row = store::technician(&tx, &id)
            .await?
            .ok_or_else(|| not_found("technician", &id))?;
        let updated = technicians::Entity::update_many()
            .col_expr(technicians::Column::Status, Expr::value(status.as_str()))
            .col_expr(
                technicians::Column::LeavePeriods,
                Expr::value(to_json(&leave)),
            )
            .col_expr(technicians::Column::UpdatedAt, Expr::value(now))
            .col_expr(
                technicians::Column::Version,
                Expr::col(technicians::Column::Version).add(1),
            )
            .filter(technicians::Column::Id.eq(&id))
            .filter(technicians::Column::Version.eq(row.version))
            .exec(&tx)
            .await
            .map_err(db_err)?;
        if updated.rows_affected != 1 {
            return Err(ApiError::Aborted(msg!(
                "error-technician-changed",
                id = id.as_str()
            )));
        }
        let on_leave_now = leave
            .iter()
            .any(|l| l.overlaps(now, now + TimeDelta::seconds(1)));
        let released = if status != DutyStatus::OnDuty || on_leave_now {
            self.withdraw_open_offers(&tx, ctx, &id, &no_longer_available(), now)
                .await?
        } else {
            Vec::new()
        };
        let before = serde_json::json!({ "status": row.status });
        let audited = serde_json::json!({
            "status": status.as_str(),
            "leave_periods": leave,
            "withdrawn_offers": released.iter().map(|r| &r.id).collect::<Vec<_>>(),
        });
        audit(&tx, ctx, "technician", &id, Some(before), audited).await?;
        tx.commit().await.map_err(db_err)?;
        self.dispatcher.committed();
        self.enqueue_all(&released).await;
        if status == DutyStatus::OnDuty && !on_leave_now {
            self.wake_waiting(&id).await;
        }
        Ok(pb::SetAvailabilityResponse {
            technician: Some(self.technician_view(&id).await?),
        })
    }

    /// An open offer to someone else is withdrawn so the case can be offered by hand: the
    /// assignment as it is after. Offering it again to the same technician is refused.
    async fn withdraw_for(
        &self,
        ctx: &RequestContext,
        tx: &sea_orm::DatabaseTransaction,
        row: &assignments::Model,
        technician_id: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<assignments::Model, ApiError> {
        if row.technician_id.as_deref() == Some(technician_id) {
            return Err(assignment_precondition(
                row,
                msg!("error-already-offered", id = technician_id),
            ));
        }
        let reason = Said::from(msg!("offer-reassigned-by-hand", reason = reason));
        let actor = actor_of(&ctx.caller);
        let d = &self.dispatcher;
        if !d
            .release_in(tx, row, state::WITHDRAWN, &reason, actor, now)
            .await?
        {
            return Err(changed_meanwhile());
        }
        store::assignment(tx, &row.id)
            .await?
            .ok_or_else(|| not_found("assignment", &row.id))
    }

    async fn offer_assignment(
        &self,
        ctx: &RequestContext,
        request: pb::OfferAssignmentRequest,
    ) -> Result<pb::OfferAssignmentResponse, ApiError> {
        require(&ctx.caller, TEAM_ADMINS)?;
        let mut v = Violations::default();
        let ticket_id = v.required("ticket_id", &request.ticket_id, SHORT);
        let technician_id = v.required("technician_id", &request.technician_id, SHORT);
        let reason = v.required("reason", &request.reason, LONG);
        v.finish(())?;
        let now = steelcare_store::now();
        let d = &self.dispatcher;
        let tx = begin_write(&d.db).await.map_err(db_err)?;
        let (mut row, category) = self.assignment_to_offer(&tx, &ticket_id, now).await?;
        let tech_row = store::technician(&tx, &technician_id)
            .await?
            .ok_or_else(|| not_found("technician", &technician_id))?;
        let tech = TechnicianRecord::from_row(&tech_row)?;
        may_take(&d.config, &tech, &tech_row, category, &row, now)?;
        if row.state == state::OFFERED {
            row = self
                .withdraw_for(ctx, &tx, &row, &technician_id, &reason, now)
                .await?;
        }
        let ranking = RankingRecord {
            ranked: None,
            notes: vec![
                msg!(
                    "dispatch-offered-by-hand",
                    who = ctx.caller.subject.as_str(),
                    reason = reason.as_str()
                )
                .into(),
            ],
        };
        if d.offer_in(
            &tx,
            &row,
            &technician_id,
            &ranking,
            true,
            actor_of(&ctx.caller),
            now,
        )
        .await?
            != OfferResult::Made
        {
            return Err(changed_meanwhile());
        }
        audit_assignment(
            &tx,
            ctx,
            &row,
            serde_json::json!({
                "state": state::OFFERED,
                "technician_id": technician_id,
                "manual": true,
                "reason": reason,
            }),
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        d.committed();
        record_offer(OfferOutcome::Made);
        Ok(pb::OfferAssignmentResponse {
            assignment: Some(self.assignment_view(&row.id, ctx.locale).await?),
        })
    }

    /// The assignment of a ticket a dispatcher offers by hand (created if the ticket has none
    /// yet), with the ticket's category: only for a case awaiting its survey, and only while
    /// waiting or offered.
    async fn assignment_to_offer(
        &self,
        tx: &sea_orm::DatabaseTransaction,
        ticket_id: &str,
        now: DateTime<Utc>,
    ) -> Result<(assignments::Model, ProblemCategory), ApiError> {
        let ticket = store::ticket(tx, ticket_id)
            .await?
            .ok_or_else(|| not_found("ticket", ticket_id))?;
        let case = cases::get(tx, ticket_id).await?;
        if !matches!(case.state, CaseState::Received | CaseState::Acknowledged) {
            return Err(case_precondition(
                ticket_id,
                case.state,
                msg!("error-dispatch-needs-survey-wait"),
            ));
        }
        let bad = |err: steelcare_domain::category::UnknownValue| {
            ApiError::Internal(format!("ticket {ticket_id}: {err}"))
        };
        let category: ProblemCategory = ticket.category.parse().map_err(bad)?;
        let tier = ticket.tier.parse().map_err(bad)?;
        let row = match store::assignment_of_ticket(tx, ticket_id).await? {
            Some(row) => row,
            None => {
                let deadline = store::arrival_deadline_ms(tx, ticket_id)
                    .await?
                    .and_then(DateTime::from_timestamp_millis);
                self.dispatcher
                    .request_visit(tx, ticket_id, category, tier, deadline, now)
                    .await?
                    .ok_or_else(|| not_found("ticket", ticket_id))?
            }
        };
        if ![state::WAITING, state::OFFERED].contains(&row.state.as_str()) {
            return Err(assignment_precondition(
                &row,
                msg!("error-offer-by-hand-state"),
            ));
        }
        Ok((row, category))
    }

    /// The open offer of `row` must be the caller's; otherwise says why not.
    async fn own_open_offer(
        &self,
        tx: &DatabaseTransaction,
        caller: &Caller,
        row: &assignments::Model,
        now: DateTime<Utc>,
    ) -> Result<(), ApiError> {
        let mine = row.technician_id.as_deref() == Some(caller.subject.as_str());
        if mine && row.state == state::OFFERED {
            return match row.offer_expires_at_ms {
                Some(expiry) if expiry <= ms(now) => {
                    Err(assignment_precondition(row, msg!("error-offer-timed-out")))
                }
                _ => Ok(()),
            };
        }
        let history = store::offers(tx, std::slice::from_ref(&row.id)).await?;
        match history
            .iter()
            .rev()
            .find(|o| o.technician_id == caller.subject)
        {
            Some(o) if o.state == state::EXPIRED => Err(assignment_precondition(
                row,
                msg!("error-your-offer-timed-out"),
            )),
            Some(o) if o.state != state::OFFERED => Err(assignment_precondition(
                row,
                msg!(
                    "error-your-offer-is",
                    state = assignment_state_label(&o.state)
                ),
            )),
            _ if mine => Err(assignment_precondition(row, msg!("error-no-open-offer"))),
            _ => Err(ApiError::PermissionDenied(msg!("error-not-your-offer"))),
        }
    }

    async fn accept_assignment(
        &self,
        ctx: &RequestContext,
        request: pb::AcceptAssignmentRequest,
    ) -> Result<pb::AcceptAssignmentResponse, ApiError> {
        require(&ctx.caller, &[Role::Technician])?;
        let id = request.assignment_id.trim();
        if id.is_empty() {
            return Err(ApiError::invalid("assignment_id", msg!("field-required")));
        }
        // The dispatch work of a fresh automatic offer may touch the row between our read and
        // our write: while the offer is still the caller's, that is not theirs to retry.
        while_intent_holds(|| self.try_accept(ctx, id)).await
    }

    /// One attempt of AcceptAssignment: ABORTED when the row changed between read and write.
    async fn try_accept(
        &self,
        ctx: &RequestContext,
        id: &str,
    ) -> Result<pb::AcceptAssignmentResponse, ApiError> {
        let now = steelcare_store::now();
        let d = &self.dispatcher;
        let tx = begin_write(&d.db).await.map_err(db_err)?;
        let row = store::assignment(&tx, id)
            .await?
            .ok_or_else(|| not_found("assignment", id))?;
        self.own_open_offer(&tx, &ctx.caller, &row, now).await?;
        let technician_id = ctx.caller.subject.clone();
        if !store::book(&tx, &technician_id).await? {
            let tech = store::technician(&tx, &technician_id).await?;
            let (booked, capacity, status) = tech
                .map(|t| (t.booked, t.capacity, t.status))
                .unwrap_or((0, 0, "unknown".to_owned()));
            return Err(technician_precondition(
                &technician_id,
                &status,
                msg!(
                    "error-capacity-reached",
                    booked = booked,
                    capacity = capacity
                ),
            ));
        }
        let updated = store::update_assignment(
            &tx,
            &row,
            assignments::Entity::update_many()
                .col_expr(assignments::Column::State, Expr::value(state::CONFIRMED))
                .col_expr(
                    assignments::Column::OfferExpiresAtMs,
                    Expr::value(Option::<i64>::None),
                )
                .filter(assignments::Column::State.eq(state::OFFERED))
                .filter(assignments::Column::TechnicianId.eq(&technician_id)),
        )
        .await?;
        if !updated {
            return Err(changed_meanwhile());
        }
        store::close_offer(&tx, &row.id, state::CONFIRMED, ms(now), &Said::words("")).await?;
        audit_assignment(
            &tx,
            ctx,
            &row,
            serde_json::json!({ "state": state::CONFIRMED, "technician_id": technician_id }),
        )
        .await?;
        event(
            &tx,
            actor_of(&ctx.caller),
            &row.ticket_id,
            Payload::AssignmentAccepted(events::AssignmentAccepted {
                assignment_id: row.id.clone(),
                technician_id,
            }),
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        d.committed();
        record_offer(OfferOutcome::Accepted);
        Ok(pb::AcceptAssignmentResponse {
            assignment: Some(self.assignment_view(&row.id, ctx.locale).await?),
        })
    }

    async fn decline_assignment(
        &self,
        ctx: &RequestContext,
        request: pb::DeclineAssignmentRequest,
    ) -> Result<pb::DeclineAssignmentResponse, ApiError> {
        require(&ctx.caller, &[Role::Technician])?;
        let mut v = Violations::default();
        let id = v.required("assignment_id", &request.assignment_id, SHORT);
        let reason = v.required("reason", &request.reason, LONG);
        v.finish(())?;
        while_intent_holds(|| self.try_decline(ctx, &id, &reason)).await
    }

    /// One attempt of DeclineAssignment: ABORTED when the row changed between read and write.
    async fn try_decline(
        &self,
        ctx: &RequestContext,
        id: &str,
        reason: &str,
    ) -> Result<pb::DeclineAssignmentResponse, ApiError> {
        let now = steelcare_store::now();
        let d = &self.dispatcher;
        let tx = begin_write(&d.db).await.map_err(db_err)?;
        let row = store::assignment(&tx, id)
            .await?
            .ok_or_else(|| not_found("assignment", id))?;
        self.own_open_offer(&tx, &ctx.caller, &row, now).await?;
        if !d
            .release_in(
                &tx,
                &row,
                state::DECLINED,
                &Said::words(reason),
                actor_of(&ctx.caller),
                now,
            )
            .await?
        {
            return Err(changed_meanwhile());
        }
        audit_assignment(
            &tx,
            ctx,
            &row,
            serde_json::json!({ "state": state::WAITING, "declined_by": ctx.caller.subject, "reason": reason }),
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        d.committed();
        record_offer(OfferOutcome::Declined);
        let view = self.assignment_view(&row.id, ctx.locale).await?;
        d.enqueue(&row).await;
        Ok(pb::DeclineAssignmentResponse {
            assignment: Some(view),
        })
    }

    async fn record_arrival(
        &self,
        ctx: &RequestContext,
        request: pb::RecordArrivalRequest,
    ) -> Result<pb::RecordArrivalResponse, ApiError> {
        staff_or_technician(&ctx.caller, ARRIVAL_RECORDERS)?;
        let now = steelcare_store::now();
        let (id, arrived_at, position) = parse_arrival(&request, now)?;
        let d = &self.dispatcher;
        let tx = begin_write(&d.db).await.map_err(db_err)?;
        let row = store::assignment(&tx, &id)
            .await?
            .ok_or_else(|| not_found("assignment", &id))?;
        may_record_arrival(&ctx.caller, &row, arrived_at)?;
        let deadline = store::arrival_deadline_ms(&tx, &row.ticket_id)
            .await?
            .or(row.arrival_deadline_ms);
        let met = deadline.is_none_or(|d| ms(arrived_at) <= d);
        let updated = store::update_assignment(
            &tx,
            &row,
            assignments::Entity::update_many()
                .col_expr(assignments::Column::State, Expr::value(state::ARRIVED))
                .col_expr(
                    assignments::Column::ArrivedAtMs,
                    Expr::value(ms(arrived_at)),
                )
                .col_expr(
                    assignments::Column::ArrivalPosition,
                    Expr::value(position.as_ref().map(to_json)),
                )
                .col_expr(assignments::Column::ArrivalMet, Expr::value(met))
                .filter(assignments::Column::State.eq(state::CONFIRMED)),
        )
        .await?;
        if !updated {
            return Err(changed_meanwhile());
        }
        audit_assignment(
            &tx,
            ctx,
            &row,
            serde_json::json!({
                "state": state::ARRIVED,
                "arrived_at": arrived_at,
                "position": position,
                "arrival_met": met,
            }),
        )
        .await?;
        event(
            &tx,
            actor_of(&ctx.caller),
            &row.ticket_id,
            Payload::TechnicianArrived(events::TechnicianArrived {
                assignment_id: row.id.clone(),
                arrival_met: met,
                arrive_time: Some(to_timestamp(arrived_at)),
            }),
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        d.committed();
        Ok(pb::RecordArrivalResponse {
            assignment: Some(self.assignment_view(&row.id, ctx.locale).await?),
            arrival_met: met,
        })
    }

    async fn plan_survey(
        &self,
        ctx: &RequestContext,
        request: pb::PlanSurveyRequest,
    ) -> Result<pb::PlanSurveyResponse, ApiError> {
        require(&ctx.caller, PLANNERS)?;
        let plan = request
            .survey_plan
            .ok_or_else(|| ApiError::invalid("survey_plan", msg!("field-required")))?;
        let now = steelcare_store::now();
        let d = &self.dispatcher;
        let default_duration =
            TimeDelta::from_std(d.config.settings.survey_duration).unwrap_or(TimeDelta::hours(4));
        let mut survey = SurveyRequest::parse(&plan, now, default_duration)?;
        let tx = begin_write(&d.db).await.map_err(db_err)?;
        let ticket = surveyable_ticket(&tx, &survey.ticket_id).await?;
        let category: ProblemCategory = ticket
            .category
            .parse()
            .map_err(|err| ApiError::Internal(format!("ticket {}: {err}", ticket.id)))?;
        if survey.instruments.is_empty() {
            survey.instruments = default_instruments(category)
                .into_iter()
                .map(|i| i as i32)
                .collect();
        }
        let documents = plan_documents(&tx, &ticket.project_id, &plan.documents).await?;
        self.check_team(&tx, &survey, category).await?;
        let plan_view = store_survey_plan(&tx, ctx, &survey, &documents, now).await?;
        tx.commit().await.map_err(db_err)?;
        d.committed();
        Ok(pb::PlanSurveyResponse {
            survey_plan: Some(plan_view),
        })
    }

    /// Every member of a survey's team is on duty, not on leave during it, qualified (the lead
    /// for the category, the others by its certificates on the day) and not booked on another
    /// survey that overlaps.
    async fn check_team(
        &self,
        tx: &DatabaseTransaction,
        survey: &SurveyRequest,
        category: ProblemCategory,
    ) -> Result<(), ApiError> {
        let d = &self.dispatcher;
        let (start, end, team) = (survey.start, survey.end, &survey.team);
        let rows = store::technicians_by_id(tx, team).await?;
        let visit = start
            .with_timezone(&d.config.calendar.timezone())
            .date_naive();
        for id in team {
            let row = rows
                .iter()
                .find(|r| &r.id == id)
                .ok_or_else(|| not_found("technician", id))?;
            let t = TechnicianRecord::from_row(row)?;
            self.fits_survey(&t, id, *id == survey.lead, category, (start, end, visit))?;
        }
        let clashes = store::overlapping_surveys(tx, team, ms(start), ms(end)).await?;
        match clashes.first() {
            Some(clash) => Err(survey_clash(clash)),
            None => Ok(()),
        }
    }

    /// A member of a survey team is on duty, not on leave during it, and qualified: the lead
    /// for the category, the others with its certificates valid on the day.
    fn fits_survey(
        &self,
        t: &TechnicianRecord,
        id: &str,
        lead: bool,
        category: ProblemCategory,
        (start, end, visit): (DateTime<Utc>, DateTime<Utc>, chrono::NaiveDate),
    ) -> Result<(), ApiError> {
        let rules = &self.dispatcher.config.settings.rules;
        let refuse =
            |current: &str, message: Msg| Err(technician_precondition(id, current, message));
        if t.status != DutyStatus::OnDuty {
            let message = msg!(
                "error-technician-status",
                id = id,
                status = t.status.label()
            );
            return refuse(t.status.as_str(), message);
        }
        if t.on_leave(start, end) {
            return refuse(
                "ON_LEAVE",
                msg!("error-technician-on-leave-survey", id = id),
            );
        }
        if lead {
            if let Err(why) = qualifies(rules, category, &t.skills, &t.certificates, visit) {
                let message = msg!(
                    "error-lead-unqualified",
                    id = id,
                    category = category.label(),
                    why = why.message()
                );
                return refuse(t.status.as_str(), message);
            }
            return Ok(());
        }
        for kind in rules.certificates_for(category) {
            let valid = t
                .certificates
                .iter()
                .filter(|c: &&Certificate| c.kind == kind)
                .map(|c| c.valid_until)
                .max();
            if valid.is_none_or(|until| until < visit) {
                let message = msg!(
                    "error-technician-certificate",
                    id = id,
                    kind = kind,
                    day = visit
                );
                return refuse(t.status.as_str(), message);
            }
        }
        Ok(())
    }

    async fn list_assignments(
        &self,
        ctx: &RequestContext,
        request: pb::ListAssignmentsRequest,
    ) -> Result<pb::ListAssignmentsResponse, ApiError> {
        let customer = ctx.caller.has_any(&[Role::Customer]) && ctx.caller.is_customer_only();
        let staff = if customer {
            self.customers_case(ctx, &request.ticket_id).await?;
            true
        } else {
            staff_or_technician(&ctx.caller, TEAM_READERS)?
        };
        let mut technician_id = request.technician_id.trim().to_owned();
        if !staff {
            if technician_id.is_empty() {
                technician_id = ctx.caller.subject.clone();
            } else if technician_id != ctx.caller.subject {
                return Err(ApiError::PermissionDenied(msg!("error-own-assignments")));
            }
        }
        let size = page_size(request.page_size)?;
        let (states, range) = parse_list_filter(&request)?;
        let now = steelcare_store::now();
        let ticket_id = request.ticket_id.trim().to_owned();
        let filter = (
            &technician_id,
            &states,
            request.overdue_only,
            range.0.map(ms),
            range.1.map(ms),
            &ticket_id,
        );
        let fingerprint = page::fingerprint(&filter);
        let after: Option<(i64, String)> = page::decode(&request.page_token, &fingerprint)?;
        let mut query = filtered(
            &technician_id,
            &states,
            request.overdue_only,
            range,
            &ticket_id,
            now,
        );
        if let Some((score, id)) = &after {
            query = query.filter(
                Condition::any()
                    .add(assignments::Column::Score.gt(*score))
                    .add(
                        Condition::all()
                            .add(assignments::Column::Score.eq(*score))
                            .add(assignments::Column::Id.gt(id)),
                    ),
            );
        }
        let mut rows = query
            .order_by_asc(assignments::Column::Score)
            .order_by_asc(assignments::Column::Id)
            .limit(size + 1)
            .all(&self.dispatcher.db)
            .await
            .map_err(db_err)?;
        let next_page_token =
            page::next_token(&mut rows, size, &fingerprint, |r| (r.score, r.id.clone()));
        let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
        let offers = store::offers(&self.dispatcher.db, &ids).await?;
        let names = self.names(&rows, &offers).await?;
        let reading = view::Reading {
            now,
            locale: ctx.locale,
            names: &names,
        };
        let mut assignments = view::assignments(&rows, &offers, &reading)?;
        if customer {
            assignments.iter_mut().for_each(view::as_customer_sees);
        }
        Ok(pb::ListAssignmentsResponse {
            assignments,
            next_page_token,
        })
    }
}

/// The technician a request makes: all of `given`, or (with an update mask) the stored one
/// with the masked fields taken from `given`.
fn merge_update(
    given: pb::Technician,
    existing: Option<&technicians::Model>,
    id: &str,
    paths: &[String],
) -> Result<pb::Technician, ApiError> {
    Ok(if paths.is_empty() {
        given
    } else {
        let Some(row) = existing else {
            return Err(not_found("technician", id));
        };
        let mut base = TechnicianRecord::from_row(row)?.to_proto();
        for path in paths {
            match path.as_str() {
                "person" => base.person = given.person.clone(),
                "team" => base.team = given.team.clone(),
                "regions" => base.regions = given.regions.clone(),
                "base_location" => base.base_location = given.base_location,
                "skills" => base.skills = given.skills.clone(),
                "certificates" => base.certificates = given.certificates.clone(),
                "calendar" => base.calendar = given.calendar.clone(),
                "capacity" => base.capacity = given.capacity,
                "status" => base.status = given.status,
                "leave_periods" => base.leave_periods = given.leave_periods.clone(),
                "instruments" => base.instruments = given.instruments.clone(),
                other => {
                    return Err(ApiError::invalid(
                        "update_mask",
                        msg!("field-not-updatable", path = other),
                    ));
                }
            }
        }
        base
    })
}

/// Writes a technician's row: inserted, or updated if it is still the version read (the
/// bookings and offer counts are kept as they are).
async fn write_technician(
    tx: &DatabaseTransaction,
    id: &str,
    record: &TechnicianRecord,
    existing: Option<&technicians::Model>,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let model = technicians::ActiveModel {
        id: Set(id.to_owned()),
        person: Set(to_json(&record.person)),
        team: Set(record.team.clone()),
        regions: Set(to_json(&record.regions)),
        base_latitude: Set(record.base.map(|p| p.latitude)),
        base_longitude: Set(record.base.map(|p| p.longitude)),
        skills: Set(to_json(&record.skills)),
        certificates: Set(to_json(&record.certificates)),
        calendar: Set(record.calendar.clone()),
        capacity: Set(record.capacity),
        booked: Set(existing.map_or(0, |r| r.booked)),
        offered: Set(existing.map_or(0, |r| r.offered)),
        status: Set(record.status.as_str().to_owned()),
        leave_periods: Set(to_json(&record.leave)),
        instruments: Set(to_json(&record.instruments)),
        // Kept by acceptance events only (never set here, so never overwritten).
        first_time_rate: NotSet,
        first_round_cases: NotSet,
        first_round_accepted: NotSet,
        created_at: Set(existing.map_or(now, |r| r.created_at)),
        updated_at: Set(now),
        version: Set(existing.map_or(1, |r| r.version + 1)),
    };
    match existing {
        Some(row) => {
            let updated = technicians::Entity::update_many()
                .set(model)
                .filter(technicians::Column::Id.eq(id))
                .filter(technicians::Column::Version.eq(row.version))
                .exec(tx)
                .await
                .map_err(db_err)?;
            if updated.rows_affected != 1 {
                return Err(ApiError::Aborted(msg!("error-technician-changed", id = id)));
            }
        }
        None => {
            model.insert(tx).await.map_err(db_err)?;
        }
    }
    Ok(())
}

/// A survey plan as requested, checked field by field (every violation named at once).
struct SurveyRequest {
    ticket_id: String,
    lead: String,
    /// The lead first, then the other members, each once.
    team: Vec<String>,
    accompanying: Vec<Person>,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    instruments: Vec<i32>,
    access: String,
}

impl SurveyRequest {
    fn parse(
        plan: &pb::SurveyPlan,
        now: DateTime<Utc>,
        default_duration: TimeDelta,
    ) -> Result<SurveyRequest, ApiError> {
        let mut v = Violations::default();
        let ticket_id = v.required("survey_plan.ticket_id", &plan.ticket_id, SHORT);
        let lead = v.required(
            "survey_plan.lead_technician_id",
            &plan.lead_technician_id,
            SHORT,
        );
        let mut team: Vec<String> = vec![lead.clone()];
        for (i, m) in plan.member_technician_ids.iter().enumerate() {
            let m = v.required(&format!("survey_plan.member_technician_ids[{i}]"), m, SHORT);
            if !m.is_empty() && !team.contains(&m) {
                team.push(m);
            }
        }
        let accompanying: Vec<Person> = plan
            .accompanying
            .iter()
            .enumerate()
            .map(|(i, p)| {
                Person::parse(
                    &mut v,
                    &format!("survey_plan.accompanying[{i}]"),
                    Some(p),
                    true,
                    false,
                )
            })
            .collect();
        let (start, end) = scheduled_window(&mut v, plan, now, default_duration);
        let instruments = instruments_of(&mut v, &plan.instruments);
        let access = v.optional(
            "survey_plan.access_arrangements",
            &plan.access_arrangements,
            LONG,
        );
        v.finish(SurveyRequest {
            ticket_id,
            lead,
            team,
            accompanying,
            start,
            end,
            instruments,
            access,
        })
    }
}

/// When a survey is planned: in the future, for its expected duration (the default when not
/// given; at most 7 days).
fn scheduled_window(
    v: &mut Violations,
    plan: &pb::SurveyPlan,
    now: DateTime<Utc>,
    default_duration: TimeDelta,
) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = match plan.scheduled_time.as_ref() {
        None => {
            v.add("survey_plan.scheduled_time", msg!("field-required"));
            now
        }
        Some(ts) => match from_timestamp(ts, "survey_plan.scheduled_time") {
            Ok(at) if at <= now => {
                v.add("survey_plan.scheduled_time", msg!("field-must-be-future"));
                now
            }
            Ok(at) => at,
            Err(_) => {
                v.add("survey_plan.scheduled_time", msg!("field-not-timestamp"));
                now
            }
        },
    };
    let duration = match plan.expected_duration {
        None => default_duration,
        Some(dur) if dur.seconds > 0 && dur.seconds <= 7 * 24 * 3600 && dur.nanos >= 0 => {
            TimeDelta::seconds(dur.seconds)
        }
        Some(_) => {
            v.add(
                "survey_plan.expected_duration",
                msg!("field-duration-range"),
            );
            TimeDelta::hours(4)
        }
    };
    (start, start + duration)
}

/// The instruments a survey takes, each once.
fn instruments_of(v: &mut Violations, given: &[i32]) -> Vec<i32> {
    let mut instruments: Vec<i32> = Vec::new();
    for (i, value) in given.iter().enumerate() {
        if v.enum_value(&format!("survey_given[{i}]"), *value, |n| {
            pb::Instrument::try_from(n)
                .ok()
                .filter(|i| *i != pb::Instrument::Unspecified)
        })
        .is_some()
            && !instruments.contains(value)
        {
            instruments.push(*value);
        }
    }
    instruments
}

/// The ticket of a case a survey can be planned for: ACKNOWLEDGED, with a technician who
/// confirmed the assignment.
async fn surveyable_ticket(
    tx: &DatabaseTransaction,
    ticket_id: &str,
) -> Result<steelcare_store::entity::tickets::Model, ApiError> {
    let ticket_id = ticket_id.to_owned();
    let ticket = store::ticket(tx, &ticket_id)
        .await?
        .ok_or_else(|| not_found("ticket", &ticket_id))?;
    let case = cases::get(tx, &ticket_id).await?;
    if case.state != CaseState::Acknowledged {
        return Err(case_precondition(
            &ticket_id,
            case.state,
            msg!("error-survey-plan-state"),
        ));
    }
    let assignment = store::assignment_of_ticket(tx, &ticket_id).await?;
    match &assignment {
        Some(a) if [state::CONFIRMED, state::ARRIVED].contains(&a.state.as_str()) => {}
        Some(a) => {
            return Err(assignment_precondition(
                a,
                msg!("error-survey-needs-confirmed"),
            ));
        }
        None => {
            return Err(case_precondition(
                &ticket_id,
                case.state,
                msg!("error-nobody-dispatched"),
            ));
        }
    }
    Ok(ticket)
}

/// The documents a survey takes: those asked for, each of which must be in the project's
/// handover dossier, or else every document the dossier has.
async fn plan_documents(
    tx: &DatabaseTransaction,
    project_id: &str,
    requested: &[String],
) -> Result<Vec<String>, ApiError> {
    let dossier = store::dossier(tx, project_id).await?;
    let present: Vec<&steelcare_store::entity::dossier_items::Model> =
        dossier.iter().filter(|i| i.present).collect();
    let documents: Vec<String> = if requested.is_empty() {
        present
            .iter()
            .map(|i| {
                if i.document_reference.is_empty() {
                    i.kind.clone()
                } else {
                    i.document_reference.clone()
                }
            })
            .collect()
    } else {
        let mut v = Violations::default();
        for (i, doc) in requested.iter().enumerate() {
            let doc = doc.trim();
            if !present
                .iter()
                .any(|item| item.kind == doc || item.document_reference == doc)
            {
                v.add(
                    format!("survey_plan.documents[{i}]"),
                    msg!("field-not-in-dossier", doc = doc),
                );
            }
        }
        v.finish(requested.iter().map(|d| d.trim().to_owned()).collect())?
    };
    Ok(documents)
}

/// Stores a checked survey plan with its members' bookings, moves the case to
/// SURVEY_SCHEDULED, audits and announces it; answers the plan as the API shows it.
async fn store_survey_plan(
    tx: &DatabaseTransaction,
    ctx: &RequestContext,
    survey: &SurveyRequest,
    documents: &[String],
    now: DateTime<Utc>,
) -> Result<pb::SurveyPlan, ApiError> {
    let (ticket_id, lead, team, start, end) = (
        &survey.ticket_id,
        &survey.lead,
        &survey.team,
        survey.start,
        survey.end,
    );
    let plan_id = uuid::Uuid::now_v7().to_string();
    let members: Vec<String> = team.iter().skip(1).cloned().collect();
    let model = survey_plans::ActiveModel {
        id: Set(plan_id.clone()),
        ticket_id: Set(ticket_id.clone()),
        lead_technician_id: Set(lead.clone()),
        members: Set(to_json(&members)),
        accompanying: Set(to_json(&survey.accompanying)),
        scheduled_at_ms: Set(ms(start)),
        ends_at_ms: Set(ms(end)),
        instruments: Set(to_json(&survey.instruments)),
        documents: Set(to_json(&documents)),
        access_arrangements: Set(survey.access.clone()),
        created_by: Set(ctx.caller.subject.clone()),
        created_at: Set(now),
    }
    .insert(tx)
    .await
    .map_err(db_err)?;
    survey_plan_members::Entity::insert_many(team.iter().map(|id| {
        survey_plan_members::ActiveModel {
            survey_plan_id: Set(plan_id.clone()),
            technician_id: Set(id.clone()),
            starts_at_ms: Set(ms(start)),
            ends_at_ms: Set(ms(end)),
        }
    }))
    .exec(tx)
    .await
    .map_err(db_err)?;
    cases::transition(tx, ticket_id, CaseState::SurveyScheduled).await?;
    let plan_view = view::survey_plan(&model)?;
    audit(
        tx,
        ctx,
        "survey_plan",
        &plan_id,
        None,
        serde_json::to_value(SurveyAudit {
            ticket_id,
            lead,
            members: &members,
            scheduled_at: start,
            ends_at: end,
            documents,
        })
        .unwrap_or_default(),
    )
    .await?;
    event(
        tx,
        actor_of(&ctx.caller),
        ticket_id,
        Payload::CaseStateChanged(events::CaseStateChanged {
            from_state: CaseState::Acknowledged.proto_value(),
            to_state: CaseState::SurveyScheduled.proto_value(),
            reason: "survey planned".to_owned(),
        }),
    )
    .await?;
    event(
        tx,
        actor_of(&ctx.caller),
        ticket_id,
        Payload::SurveyPlanned(events::SurveyPlanned {
            survey_plan_id: plan_id,
            scheduled_time: Some(to_timestamp(start)),
        }),
    )
    .await?;
    Ok(plan_view)
}

#[derive(serde::Serialize)]
struct SurveyAudit<'a> {
    ticket_id: &'a str,
    lead: &'a str,
    members: &'a [String],
    scheduled_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    documents: &'a [String],
}

/// What the audit log keeps of a technician.
fn summary(t: &TechnicianRecord) -> serde_json::Value {
    serde_json::json!({
        "name": t.person.display_name,
        "team": t.team,
        "regions": t.regions,
        "skills": t.skills,
        "certificates": t.certificates,
        "calendar": t.calendar,
        "capacity": t.capacity,
        "status": t.status.as_str(),
        "leave_periods": t.leave,
    })
}

mod sheets_api;

steelcare_runtime::rpcs! {
    impl DispatchApi for DispatchService {
    (
        import_technicians,
        pb::ImportTechniciansRequest,
        pb::ImportTechniciansResponse
    ),
    (
        export_technicians,
        pb::ExportTechniciansRequest,
        pb::ExportTechniciansResponse
    ),
    (
        upsert_technician,
        pb::UpsertTechnicianRequest,
        pb::UpsertTechnicianResponse
    ),
    (
        get_technician,
        pb::GetTechnicianRequest,
        pb::GetTechnicianResponse
    ),
    (
        list_technicians,
        pb::ListTechniciansRequest,
        pb::ListTechniciansResponse
    ),
    (
        set_availability,
        pb::SetAvailabilityRequest,
        pb::SetAvailabilityResponse
    ),
    (plan_survey, pb::PlanSurveyRequest, pb::PlanSurveyResponse),
    (
        offer_assignment,
        pb::OfferAssignmentRequest,
        pb::OfferAssignmentResponse
    ),
    (
        accept_assignment,
        pb::AcceptAssignmentRequest,
        pb::AcceptAssignmentResponse
    ),
    (
        decline_assignment,
        pb::DeclineAssignmentRequest,
        pb::DeclineAssignmentResponse
    ),
    (
        record_arrival,
        pb::RecordArrivalRequest,
        pb::RecordArrivalResponse
    ),
    (
        list_assignments,
        pb::ListAssignmentsRequest,
        pb::ListAssignmentsResponse
    ),
    }
}
