//! Queries of the repair service: its records (`steelcare_store::case_records`, re-exported),
//! bookings, and what it reads of the case (ticket, case state, survey plan, arrival,
//! technicians, attachments).

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use steelcare_domain::{CaseState, ProblemCategory, SeverityTier};
use steelcare_runtime::ApiError;
pub use steelcare_store::case_records::{
    NewRecord, decode, due, insert, record, records, records_after, set_status, stop_clock,
    versioned,
};
use steelcare_store::entity::{
    assignments, attachments, case_records, repair_bookings, survey_plan_members, survey_plans,
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
    /// The first day the scope's warranty covered, where intake kept it.
    pub warranty_start: Option<chrono::NaiveDate>,
    /// The first day no longer covered.
    pub warranty_expiry: Option<chrono::NaiveDate>,
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
        warranty_start: date_of(&warranty, "start"),
        warranty_expiry: date_of(&warranty, "expiry"),
    }))
}

fn date_of(json: &serde_json::Value, key: &str) -> Option<chrono::NaiveDate> {
    json.get(key)
        .and_then(serde_json::Value::as_str)
        .and_then(|d| d.parse().ok())
}

/// The reviews of a plan version, oldest first.
pub async fn reviews(
    conn: &impl ConnectionTrait,
    ticket_id: &str,
    version: i32,
) -> Result<Vec<case_records::Model>, ApiError> {
    case_records::Entity::find()
        .filter(case_records::Column::TicketId.eq(ticket_id))
        .filter(case_records::Column::Kind.eq(crate::records::kind::REVIEW))
        .filter(case_records::Column::Version.eq(version))
        .order_by_asc(case_records::Column::Id)
        .all(conn)
        .await
        .map_err(db)
}

/// Plan versions waiting for reviews, across every case, by id (oldest first).
pub async fn proposed_plans(
    conn: &impl ConnectionTrait,
) -> Result<Vec<case_records::Model>, ApiError> {
    case_records::Entity::find()
        .filter(case_records::Column::Kind.eq(crate::records::kind::PLAN))
        .filter(
            case_records::Column::Status.eq(crate::records::plan_status_name(
                steelcare_proto::repair::v1::PlanStatus::Proposed,
            )),
        )
        .order_by_asc(case_records::Column::Id)
        .all(conn)
        .await
        .map_err(db)
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
    Ok(steelcare_store::attachments::of_case(conn, ticket_id, ids).await?)
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
