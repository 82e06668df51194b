//! Queries of the repair service: its records and bookings, and what it reads of the case
//! (ticket, case state, survey plan, arrival, technicians, attachments).

use chrono::{DateTime, Utc};
use prost::Message;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};
use steelcare_domain::{CaseState, ProblemCategory, SeverityTier};
use steelcare_runtime::ApiError;
use steelcare_store::entity::{
    assignments, attachments, repair_bookings, repair_records, survey_plan_members, survey_plans,
    technicians, tickets,
};
use steelcare_store::{StoreError, cases};

fn db(err: sea_orm::DbErr) -> ApiError {
    StoreError::from(err).into()
}

/// What the repair service needs to know of a case.
#[derive(Debug, Clone)]
pub struct Case {
    /// Ticket (and case) id.
    pub id: String,
    /// The customer organisation.
    pub organization_id: Option<String>,
    /// Lifecycle state.
    pub state: CaseState,
    /// The state a dispute left, while DISPUTED.
    pub state_before_dispute: Option<CaseState>,
    /// Current category.
    pub category: ProblemCategory,
    /// Current tier.
    pub tier: SeverityTier,
    /// Whether the affected scope was under warranty when reported.
    pub in_warranty: bool,
    /// The warranty scope that covers it, as intake found it.
    pub warranty_scope: String,
}

/// Loads a case; `None` when there is no such ticket.
pub async fn case(conn: &impl ConnectionTrait, id: &str) -> Result<Option<Case>, ApiError> {
    let Some(ticket) = tickets::Entity::find_by_id(id.to_owned())
        .one(conn)
        .await
        .map_err(db)?
    else {
        return Ok(None);
    };
    let record = cases::get(conn, id).await?;
    let corrupt = |what: &str| ApiError::Internal(format!("ticket {id} has an unreadable {what}"));
    let category = ticket
        .category
        .parse::<ProblemCategory>()
        .map_err(|_| corrupt("category"))?;
    let tier = ticket
        .tier
        .parse::<SeverityTier>()
        .map_err(|_| corrupt("tier"))?;
    let warranty: serde_json::Value =
        serde_json::from_str(&ticket.warranty).map_err(|_| corrupt("warranty"))?;
    Ok(Some(Case {
        id: ticket.id,
        organization_id: record.organization_id,
        state: record.state,
        state_before_dispute: record.state_before_dispute,
        category,
        tier,
        in_warranty: warranty
            .get("in_warranty")
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false),
        warranty_scope: warranty
            .get("scope")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
            .to_owned(),
    }))
}

/// A record to insert, built with [`NewRecord::new`] and its setters.
pub struct NewRecord<'a, M: Message> {
    /// Id.
    id: &'a str,
    /// Ticket.
    ticket_id: &'a str,
    /// Kind (`records::kind`).
    kind: &'a str,
    /// Version (reports, plans, reviews of a plan version), else 0.
    version: i32,
    /// Plan step (work, inspections).
    step_id: Option<&'a str>,
    /// Status (`records::status` or a plan status).
    status: &'a str,
    /// Unique slot while it must be the only one of its kind.
    slot: Option<String>,
    /// The record.
    body: &'a M,
    /// When its own clock runs out (an open dispute's appraisal deadline), in ms.
    due_at_ms: Option<i64>,
    /// Who wrote it.
    created_by: &'a str,
    /// When.
    at: DateTime<Utc>,
}

impl<'a, M: Message> NewRecord<'a, M> {
    /// A record of `kind` written by `created_by` at `at`: version 0, no step, RECORDED, no
    /// slot until set.
    pub fn new(
        kind: &'a str,
        id: &'a str,
        ticket_id: &'a str,
        body: &'a M,
        created_by: &'a str,
        at: DateTime<Utc>,
    ) -> Self {
        NewRecord {
            id,
            ticket_id,
            kind,
            version: 0,
            step_id: None,
            status: crate::records::status::RECORDED,
            slot: None,
            body,
            due_at_ms: None,
            created_by,
            at,
        }
    }

    /// The version (reports, plans and what belongs to a plan version).
    pub fn version(self, version: i32) -> Self {
        NewRecord { version, ..self }
    }

    /// The plan step it concerns.
    pub fn step(self, step_id: &'a str) -> Self {
        NewRecord {
            step_id: Some(step_id),
            ..self
        }
    }

    /// Its status.
    pub fn status(self, status: &'a str) -> Self {
        NewRecord { status, ..self }
    }

    /// When its own clock runs out, if it has one.
    pub fn due_opt(self, at: Option<DateTime<Utc>>) -> Self {
        NewRecord {
            due_at_ms: at.map(|at| at.timestamp_millis()),
            ..self
        }
    }

    /// The unique slot it claims.
    pub fn slot(self, slot: String) -> Self {
        NewRecord {
            slot: Some(slot),
            ..self
        }
    }
}

/// Inserts a record. A taken slot means a concurrent writer won: `ABORTED`.
pub async fn insert<M: Message>(
    conn: &impl ConnectionTrait,
    new: NewRecord<'_, M>,
) -> Result<(), ApiError> {
    let result = repair_records::ActiveModel {
        id: Set(new.id.to_owned()),
        ticket_id: Set(new.ticket_id.to_owned()),
        kind: Set(new.kind.to_owned()),
        version: Set(new.version),
        step_id: Set(new.step_id.map(str::to_owned)),
        status: Set(new.status.to_owned()),
        slot: Set(new.slot),
        body: Set(new.body.encode_to_vec()),
        due_at_ms: Set(new.due_at_ms),
        created_by: Set(new.created_by.to_owned()),
        created_at: Set(new.at),
        updated_at: Set(new.at),
    }
    .insert(conn)
    .await;
    match result {
        Ok(_) => Ok(()),
        Err(err)
            if matches!(
                err.sql_err(),
                Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
            ) =>
        {
            Err(ApiError::Aborted(format!(
                "the case's {} changed meanwhile; read it again",
                new.kind
            )))
        }
        Err(err) => Err(db(err)),
    }
}

/// Changes a record's status (and slot, and body when given), only if it still has
/// `from_status`; false when it changed meanwhile.
pub async fn set_status<M: Message>(
    conn: &impl ConnectionTrait,
    id: &str,
    from_status: &str,
    to_status: &str,
    slot: Option<Option<String>>,
    body: Option<&M>,
) -> Result<bool, ApiError> {
    let mut update = repair_records::Entity::update_many()
        .col_expr(repair_records::Column::Status, Expr::value(to_status))
        .col_expr(
            repair_records::Column::UpdatedAt,
            Expr::value(steelcare_store::now()),
        );
    if let Some(slot) = slot {
        update = update.col_expr(repair_records::Column::Slot, Expr::value(slot));
    }
    if let Some(body) = body {
        update = update.col_expr(
            repair_records::Column::Body,
            Expr::value(body.encode_to_vec()),
        );
    }
    let done = update
        .filter(repair_records::Column::Id.eq(id))
        .filter(repair_records::Column::Status.eq(from_status))
        .exec(conn)
        .await
        .map_err(db)?;
    Ok(done.rows_affected == 1)
}

/// Records of `kind` whose own clock ran out by `now_ms` and is not announced yet.
pub async fn due(
    conn: &impl ConnectionTrait,
    kind: &str,
    now_ms: i64,
    limit: u64,
) -> Result<Vec<repair_records::Model>, ApiError> {
    use sea_orm::QuerySelect;
    repair_records::Entity::find()
        .filter(repair_records::Column::Kind.eq(kind))
        .filter(repair_records::Column::DueAtMs.lte(now_ms))
        .order_by_asc(repair_records::Column::DueAtMs)
        .limit(limit)
        .all(conn)
        .await
        .map_err(db)
}

/// Stops a record's own clock; false when it was stopped already (by another process, or the
/// record was settled).
pub async fn stop_clock(conn: &impl ConnectionTrait, id: &str) -> Result<bool, ApiError> {
    let done = repair_records::Entity::update_many()
        .col_expr(
            repair_records::Column::DueAtMs,
            Expr::value(Option::<i64>::None),
        )
        .filter(repair_records::Column::Id.eq(id))
        .filter(repair_records::Column::DueAtMs.is_not_null())
        .exec(conn)
        .await
        .map_err(db)?;
    Ok(done.rows_affected == 1)
}

/// A case's records of `kind`, oldest first.
pub async fn records(
    conn: &impl ConnectionTrait,
    ticket_id: &str,
    kind: &str,
) -> Result<Vec<repair_records::Model>, ApiError> {
    repair_records::Entity::find()
        .filter(repair_records::Column::TicketId.eq(ticket_id))
        .filter(repair_records::Column::Kind.eq(kind))
        .order_by_asc(repair_records::Column::Version)
        .order_by_asc(repair_records::Column::Id)
        .all(conn)
        .await
        .map_err(db)
}

/// A page of a case's records of `kind` after the id `after`, oldest first.
pub async fn records_after(
    conn: &impl ConnectionTrait,
    ticket_id: &str,
    kind: &str,
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<repair_records::Model>, ApiError> {
    use sea_orm::QuerySelect;
    let mut query = repair_records::Entity::find()
        .filter(repair_records::Column::TicketId.eq(ticket_id))
        .filter(repair_records::Column::Kind.eq(kind));
    if let Some(after) = after {
        query = query.filter(repair_records::Column::Id.gt(after));
    }
    query
        .order_by_asc(repair_records::Column::Id)
        .limit(limit)
        .all(conn)
        .await
        .map_err(db)
}

/// One record by id.
pub async fn record(
    conn: &impl ConnectionTrait,
    id: &str,
) -> Result<Option<repair_records::Model>, ApiError> {
    repair_records::Entity::find_by_id(id.to_owned())
        .one(conn)
        .await
        .map_err(db)
}

/// The record of a case of `kind` and `version` (0 = the latest), if any.
pub async fn versioned(
    conn: &impl ConnectionTrait,
    ticket_id: &str,
    kind: &str,
    version: i32,
) -> Result<Option<repair_records::Model>, ApiError> {
    let mut query = repair_records::Entity::find()
        .filter(repair_records::Column::TicketId.eq(ticket_id))
        .filter(repair_records::Column::Kind.eq(kind));
    if version > 0 {
        query = query.filter(repair_records::Column::Version.eq(version));
    }
    query
        .order_by_desc(repair_records::Column::Version)
        .order_by_desc(repair_records::Column::Id)
        .one(conn)
        .await
        .map_err(db)
}

/// The reviews of a plan version, oldest first.
pub async fn reviews(
    conn: &impl ConnectionTrait,
    ticket_id: &str,
    version: i32,
) -> Result<Vec<repair_records::Model>, ApiError> {
    repair_records::Entity::find()
        .filter(repair_records::Column::TicketId.eq(ticket_id))
        .filter(repair_records::Column::Kind.eq(crate::records::kind::REVIEW))
        .filter(repair_records::Column::Version.eq(version))
        .order_by_asc(repair_records::Column::Id)
        .all(conn)
        .await
        .map_err(db)
}

/// Decodes a stored record body.
pub fn decode<M: Message + Default>(row: &repair_records::Model) -> Result<M, ApiError> {
    M::decode(row.body.as_slice()).map_err(|err| {
        ApiError::Internal(format!(
            "stored {} {} is unreadable: {err}",
            row.kind, row.id
        ))
    })
}

/// Whether the case's surveyor (on its survey plan) is `technician_id`.
pub async fn on_survey_plan(
    conn: &impl ConnectionTrait,
    ticket_id: &str,
    technician_id: &str,
) -> Result<bool, ApiError> {
    let plans: Vec<String> = survey_plans::Entity::find()
        .filter(survey_plans::Column::TicketId.eq(ticket_id))
        .all(conn)
        .await
        .map_err(db)?
        .into_iter()
        .map(|p| p.id)
        .collect();
    if plans.is_empty() {
        return Ok(false);
    }
    Ok(survey_plan_members::Entity::find()
        .filter(survey_plan_members::Column::SurveyPlanId.is_in(plans))
        .filter(survey_plan_members::Column::TechnicianId.eq(technician_id))
        .one(conn)
        .await
        .map_err(db)?
        .is_some())
}

/// When a technician arrived on the case's site, if recorded.
pub async fn arrival_ms(
    conn: &impl ConnectionTrait,
    ticket_id: &str,
) -> Result<Option<i64>, ApiError> {
    Ok(assignments::Entity::find()
        .filter(assignments::Column::TicketId.eq(ticket_id))
        .filter(assignments::Column::ArrivedAtMs.is_not_null())
        .one(conn)
        .await
        .map_err(db)?
        .and_then(|a| a.arrived_at_ms))
}

/// The case's attachments among `ids`.
pub async fn attachments_of(
    conn: &impl ConnectionTrait,
    ticket_id: &str,
    ids: &[String],
) -> Result<Vec<attachments::Model>, ApiError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    attachments::Entity::find()
        .filter(attachments::Column::TicketId.eq(ticket_id))
        .filter(attachments::Column::Id.is_in(ids.iter().cloned()))
        .all(conn)
        .await
        .map_err(db)
}

/// The technicians among `ids`.
pub async fn technicians(
    conn: &impl ConnectionTrait,
    ids: &[String],
) -> Result<Vec<technicians::Model>, ApiError> {
    technicians::Entity::find()
        .filter(technicians::Column::Id.is_in(ids.iter().cloned()))
        .all(conn)
        .await
        .map_err(db)
}

/// A booking elsewhere that clashes: the technician, the other case, what and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clash {
    /// The technician booked.
    pub technician_id: String,
    /// The other case.
    pub ticket_id: String,
    /// `survey` or `repair`.
    pub what: &'static str,
    /// Booked from.
    pub starts_at_ms: i64,
    /// Booked until.
    pub ends_at_ms: i64,
}

/// Bookings of `technician_ids` on other cases than `ticket_id` overlapping `[from, to)`:
/// survey plans and repair work.
pub async fn clashes(
    conn: &impl ConnectionTrait,
    ticket_id: &str,
    technician_ids: &[String],
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<Clash>, ApiError> {
    let mut out: Vec<Clash> = repair_bookings::Entity::find()
        .filter(repair_bookings::Column::TechnicianId.is_in(technician_ids.iter().cloned()))
        .filter(repair_bookings::Column::TicketId.ne(ticket_id))
        .filter(repair_bookings::Column::StartsAtMs.lt(to_ms))
        .filter(repair_bookings::Column::EndsAtMs.gt(from_ms))
        .all(conn)
        .await
        .map_err(db)?
        .into_iter()
        .map(|b| Clash {
            technician_id: b.technician_id,
            ticket_id: b.ticket_id,
            what: "repair",
            starts_at_ms: b.starts_at_ms,
            ends_at_ms: b.ends_at_ms,
        })
        .collect();
    let members = survey_plan_members::Entity::find()
        .filter(survey_plan_members::Column::TechnicianId.is_in(technician_ids.iter().cloned()))
        .filter(survey_plan_members::Column::StartsAtMs.lt(to_ms))
        .filter(survey_plan_members::Column::EndsAtMs.gt(from_ms))
        .all(conn)
        .await
        .map_err(db)?;
    for m in members {
        let plan = survey_plans::Entity::find_by_id(m.survey_plan_id.clone())
            .one(conn)
            .await
            .map_err(db)?;
        if let Some(plan) = plan.filter(|p| p.ticket_id != ticket_id) {
            out.push(Clash {
                technician_id: m.technician_id,
                ticket_id: plan.ticket_id,
                what: "survey",
                starts_at_ms: m.starts_at_ms,
                ends_at_ms: m.ends_at_ms,
            });
        }
    }
    Ok(out)
}

/// Books `technician_ids` on the case for `[from, to)`, for record `record_id`.
pub async fn book(
    conn: &impl ConnectionTrait,
    ticket_id: &str,
    record_id: &str,
    technician_ids: &[String],
    from_ms: i64,
    to_ms: i64,
) -> Result<(), ApiError> {
    if technician_ids.is_empty() {
        return Ok(());
    }
    repair_bookings::Entity::insert_many(technician_ids.iter().map(|t| {
        repair_bookings::ActiveModel {
            id: Set(uuid::Uuid::now_v7().to_string()),
            technician_id: Set(t.clone()),
            ticket_id: Set(ticket_id.to_owned()),
            record_id: Set(record_id.to_owned()),
            starts_at_ms: Set(from_ms),
            ends_at_ms: Set(to_ms),
        }
    }))
    .exec_without_returning(conn)
    .await
    .map_err(db)?;
    Ok(())
}
