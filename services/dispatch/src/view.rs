//! Stored rows to protobuf messages.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use steelcare_domain::{ProblemCategory, SeverityTier};
use steelcare_i18n::{Locale, Said};
use steelcare_proto::dispatch::v1 as pb;
use steelcare_runtime::ApiError;
use steelcare_runtime::convert::to_timestamp;
use steelcare_runtime::validate::Person;
use steelcare_store::entity::{assignment_offers, assignments, survey_plans, technicians};

use crate::records::{RankingRecord, TechnicianRecord, from_json, state};

fn ts_ms(ms: i64) -> Option<prost_types::Timestamp> {
    DateTime::from_timestamp_millis(ms).map(to_timestamp)
}

fn ranking(text: &str, id: &str, locale: Locale) -> Result<pb::RankingReason, ApiError> {
    Ok(from_json::<RankingRecord>(text, "ranking", id)?.to_proto(locale))
}

/// A technician with their current load.
pub fn technician(row: &technicians::Model) -> Result<pb::Technician, ApiError> {
    let mut t = TechnicianRecord::from_row(row)?.to_proto();
    t.booked_assignments = row.booked;
    t.active_assignments = row.booked + row.offered;
    t.first_time_acceptance_rate = row.first_time_rate;
    t.update_time = Some(to_timestamp(row.updated_at));
    Ok(t)
}

/// Whether an assignment's arrival deadline passed with nobody on site.
pub fn overdue(row: &assignments::Model, now: DateTime<Utc>) -> bool {
    [state::WAITING, state::OFFERED, state::CONFIRMED].contains(&row.state.as_str())
        && row
            .arrival_deadline_ms
            .is_some_and(|d| d < now.timestamp_millis())
}

/// Technicians' names by id (a row whose person cannot be read is left out: its id shows).
pub fn names(rows: &[technicians::Model]) -> HashMap<String, String> {
    rows.iter()
        .filter_map(|row| {
            let person: Person = serde_json::from_str(&row.person).ok()?;
            Some((row.id.clone(), person.display_name))
        })
        .collect()
}

/// What an assignment view is made with: the time, the reader's language and the names of
/// the technicians it mentions.
pub struct Reading<'a> {
    /// Now, for overdue.
    pub now: DateTime<Utc>,
    /// The reader's language.
    pub locale: Locale,
    /// Technicians' names by id.
    pub names: &'a HashMap<String, String>,
}

impl Reading<'_> {
    fn name(&self, id: &str) -> String {
        self.names.get(id).cloned().unwrap_or_default()
    }
}

/// An assignment with its offers, their reasons in the reader's language.
pub fn assignment(
    row: &assignments::Model,
    offers: &[&assignment_offers::Model],
    reading: &Reading<'_>,
) -> Result<pb::Assignment, ApiError> {
    let (now, locale) = (reading.now, reading.locale);
    Ok(pb::Assignment {
        technician_name: row
            .technician_id
            .as_deref()
            .map(|t| reading.name(t))
            .unwrap_or_default(),
        assignment_id: row.id.clone(),
        ticket_id: row.ticket_id.clone(),
        technician_id: row.technician_id.clone().unwrap_or_default(),
        state: state::proto(&row.state),
        offer_expire_time: row.offer_expires_at_ms.and_then(ts_ms),
        arrival_deadline_time: row.arrival_deadline_ms.and_then(ts_ms),
        arrive_time: row.arrived_at_ms.and_then(ts_ms),
        ranking: row
            .ranking
            .as_deref()
            .map(|r| ranking(r, &row.id, locale))
            .transpose()?,
        manual: row.manual,
        overdue: overdue(row, now),
        tier: row
            .tier
            .parse::<SeverityTier>()
            .map_or(0, |t| t.proto_value()),
        category: row
            .category
            .parse::<ProblemCategory>()
            .map_or(0, |c| c.proto_value()),
        escalations: row.escalations,
        retry_time: row.retry_at_ms.and_then(ts_ms),
        offers: offers
            .iter()
            .map(|o| {
                Ok(pb::Offer {
                    technician_id: o.technician_id.clone(),
                    state: state::proto(&o.state),
                    offer_time: ts_ms(o.offered_at_ms),
                    expire_time: ts_ms(o.expires_at_ms),
                    ranking: Some(ranking(&o.ranking, &row.id, locale)?),
                    manual: o.manual,
                    reason: Said::read(&o.reason, locale),
                    technician_name: reading.name(&o.technician_id),
                })
            })
            .collect::<Result<_, ApiError>>()?,
    })
}

/// An assignment as the customer sees it: who comes and when, without the ranking behind the
/// choice or the offers other technicians declined (their reasons are their own).
pub fn as_customer_sees(assignment: &mut pb::Assignment) {
    assignment.ranking = None;
    assignment.offers.clear();
    assignment.escalations = 0;
}

/// Assignments with their offers, in the order given.
pub fn assignments(
    rows: &[assignments::Model],
    offers: &[assignment_offers::Model],
    reading: &Reading<'_>,
) -> Result<Vec<pb::Assignment>, ApiError> {
    let mut by_assignment: HashMap<&str, Vec<&assignment_offers::Model>> = HashMap::new();
    for o in offers {
        by_assignment
            .entry(o.assignment_id.as_str())
            .or_default()
            .push(o);
    }
    rows.iter()
        .map(|row| {
            assignment(
                row,
                by_assignment
                    .get(row.id.as_str())
                    .map(Vec::as_slice)
                    .unwrap_or(&[]),
                reading,
            )
        })
        .collect()
}

/// A survey plan.
pub fn survey_plan(row: &survey_plans::Model) -> Result<pb::SurveyPlan, ApiError> {
    let accompanying: Vec<Person> = from_json(&row.accompanying, "accompanying", &row.id)?;
    let instruments: Vec<i32> = from_json(&row.instruments, "instruments", &row.id)?;
    Ok(pb::SurveyPlan {
        survey_plan_id: row.id.clone(),
        ticket_id: row.ticket_id.clone(),
        lead_technician_id: row.lead_technician_id.clone(),
        member_technician_ids: from_json(&row.members, "members", &row.id)?,
        accompanying: accompanying.iter().map(Person::to_proto).collect(),
        scheduled_time: ts_ms(row.scheduled_at_ms),
        instruments,
        documents: from_json(&row.documents, "documents", &row.id)?,
        access_arrangements: row.access_arrangements.clone(),
        expected_duration: Some(prost_types::Duration {
            seconds: (row.ends_at_ms - row.scheduled_at_ms) / 1000,
            nanos: 0,
        }),
        create_time: Some(to_timestamp(row.created_at)),
    })
}
