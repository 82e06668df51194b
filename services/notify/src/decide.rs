//! Who must hear what, per event. A topic names the message (its catalogue keys are
//! `notify-<topic>-title` and `notify-<topic>-body`, its SMS template is configured per
//! topic); each decision lists the recipients, whether it is urgent (a P1: quiet hours do not
//! hold it, and SMS joins the defaults) and whether the contract requires it (an opted-out
//! customer still gets it).
//!
//! | event | topic | to |
//! |---|---|---|
//! | TicketCreated | `ticket-received` (acceptance number, response due, next steps; required) | the customer's contact |
//! | AssignmentOffered | `offer` (the site, the offer's expiry) | the technician |
//! | SurveyPlanned | `survey-planned` (the arrival time) | the customer's contact |
//! | PlanProposed | `plan-to-review` | the technical leads (engineers), not the author |
//! | PlanReviewed (approved, the chief engineer next) | `plan-to-review` | the chief engineers, not the reviewer |
//! | CaseStateChanged to PLAN_APPROVED | `plan-to-decide` | the customer's contact |
//! | CustomerAcceptanceRecorded (accepted) | `satisfaction-survey` | the customer's contact |
//! | SlaAtRisk, SlaBreached | `sla-at-risk`, `sla-breached` | dispatchers and managers; a P1 also the duty managers, at any hour |
//! | DispatchEscalated | `dispatch-escalated` (nobody qualified is free) | dispatchers; a P1 also the duty managers |
//! | AgreementPrepared | `agreement-to-sign` (required) | the customer's contact |
//! | SelfInspectionRecorded (passed) | `acceptance-to-sign` (required) | the customer's contact |
//! | VisitsScheduled | `visits-scheduled` | the customer's contact |
//!
//! What falls due without an event (a return visit, a corrective action) is in `reminders.rs`.
//! A group robot hears every topic its `[notify.webhooks.<name>] topics` lists.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use steelcare_domain::{Role, SeverityTier};
use steelcare_i18n::{Arg, enum_label};
use steelcare_proto::events::v1::EventEnvelope;
use steelcare_proto::events::v1::SlaClockKind;
use steelcare_proto::events::v1::event_envelope::Payload;
use steelcare_runtime::ApiError;
use steelcare_store::entity::{projects, sla_clocks, tickets};

use crate::engine::{Notifier, db_err};
use crate::recipients::{self, Recipient};

/// A message to send because of an event.
#[derive(Debug, Clone)]
pub struct Decision {
    /// The message's topic.
    pub topic: &'static str,
    /// Who hears it.
    pub recipients: Vec<Recipient>,
    /// A P1: past quiet hours, SMS among the defaults.
    pub urgent: bool,
    /// Required by the contract: sent to an opted-out contact too.
    pub required: bool,
    /// The facts its text names.
    pub facts: Vec<(&'static str, Arg)>,
}

impl Decision {
    /// A message neither urgent nor required by the contract.
    pub fn new(
        topic: &'static str,
        recipients: Vec<Recipient>,
        facts: Vec<(&'static str, Arg)>,
    ) -> Decision {
        decision(topic, recipients, (false, false), facts)
    }
}

/// What the messages of a case say about it.
#[derive(Clone)]
pub(crate) struct Case {
    pub(crate) ticket: tickets::Model,
    tier: Option<SeverityTier>,
    project: String,
}

/// The case's ticket and project; `None` when the id names no ticket.
pub(crate) async fn case(
    conn: &impl ConnectionTrait,
    case_id: &str,
) -> Result<Option<Case>, ApiError> {
    Ok(cases(conn, &[case_id]).await?.remove(case_id))
}

/// The tickets and projects of `case_ids`, by case id (two reads however many); an id that
/// names no ticket is left out.
async fn cases(
    conn: &impl ConnectionTrait,
    case_ids: &[&str],
) -> Result<HashMap<String, Case>, ApiError> {
    let ids: BTreeSet<&str> = case_ids
        .iter()
        .copied()
        .filter(|id| !id.is_empty())
        .collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let tickets = tickets::Entity::find()
        .filter(tickets::Column::Id.is_in(ids))
        .all(conn)
        .await
        .map_err(db_err)?;
    let project_ids: BTreeSet<&str> = tickets.iter().map(|t| t.project_id.as_str()).collect();
    let projects: HashMap<String, String> = projects::Entity::find()
        .filter(projects::Column::Id.is_in(project_ids))
        .all(conn)
        .await
        .map_err(db_err)?
        .into_iter()
        .map(|p| (p.id, p.name))
        .collect();
    Ok(tickets
        .into_iter()
        .map(|ticket| {
            let case = Case {
                tier: ticket.tier.parse().ok(),
                project: projects
                    .get(&ticket.project_id)
                    .cloned()
                    .unwrap_or_default(),
                ticket,
            };
            (case.ticket.id.clone(), case)
        })
        .collect())
}

/// What deciding a read of events looks up, read once for the whole read: the cases, the
/// response clocks of the tickets taken in, the technicians offered, and (when an event needs
/// them) the people of the directory and the duty managers.
pub(crate) struct Lookups {
    cases: HashMap<String, Case>,
    response_due: HashMap<String, DateTime<Utc>>,
    technicians: HashMap<String, Recipient>,
    people: Option<Vec<steelcare_store::entity::people::Model>>,
    duty_managers: Option<Vec<Recipient>>,
}

impl Lookups {
    /// Reads what `events` need up front: their cases, the response clocks of the tickets
    /// they take in and the technicians they offer to.
    pub(crate) async fn load(
        conn: &impl ConnectionTrait,
        events: &[&EventEnvelope],
    ) -> Result<Lookups, ApiError> {
        let ids: Vec<&str> = events.iter().map(|e| e.case_id.as_str()).collect();
        let mut taken_in = Vec::new();
        let mut offered = BTreeSet::new();
        for event in events {
            match &event.payload {
                Some(Payload::TicketCreated(_)) => taken_in.push(event.case_id.as_str()),
                Some(Payload::AssignmentOffered(offer)) => {
                    offered.insert(offer.technician_id.clone());
                }
                _ => {}
            }
        }
        let offered: Vec<String> = offered.into_iter().collect();
        Ok(Lookups {
            cases: cases(conn, &ids).await?,
            response_due: response_due(conn, &taken_in).await?,
            technicians: recipients::technicians(conn, &offered).await?,
            people: None,
            duty_managers: None,
        })
    }

    /// The enabled people holding any of `roles` (the directory is read once per read).
    async fn with_roles(
        &mut self,
        conn: &impl ConnectionTrait,
        roles: &[Role],
    ) -> Result<Vec<Recipient>, ApiError> {
        if self.people.is_none() {
            self.people = Some(recipients::enabled_people(conn).await?);
        }
        Ok(recipients::holding(
            self.people.as_deref().unwrap_or_default(),
            roles,
        ))
    }

    /// The duty managers (`notify.duty_managers`), read once per read.
    async fn duty_managers(
        &mut self,
        conn: &impl ConnectionTrait,
        subjects: &[String],
    ) -> Result<Vec<Recipient>, ApiError> {
        if self.duty_managers.is_none() {
            self.duty_managers = Some(recipients::by_subjects(conn, subjects).await?);
        }
        Ok(self.duty_managers.clone().unwrap_or_default())
    }
}

fn time(ts: Option<&prost_types::Timestamp>) -> Option<DateTime<Utc>> {
    steelcare_runtime::convert::from_timestamp(ts?, "time").ok()
}

/// The facts of a case's messages, in the deployment's time zone.
struct Facts<'a> {
    case: &'a Case,
    tz: chrono_tz::Tz,
}

impl Facts<'_> {
    /// The acceptance number, which every message names.
    fn number(&self) -> (&'static str, Arg) {
        (
            "number",
            Arg::Text(self.case.ticket.acceptance_number.clone()),
        )
    }

    /// The case's tier, when it has one.
    fn tier(&self) -> Option<(&'static str, Arg)> {
        self.case
            .tier
            .map(|t| ("tier", Arg::Msg(Box::new(t.label()))))
    }

    /// A time the message names; "as soon as possible" when it is not known.
    fn at(&self, name: &'static str, t: Option<DateTime<Utc>>) -> (&'static str, Arg) {
        let value = t.map_or_else(
            || Arg::Msg(Box::new(steelcare_i18n::msg!("notify-time-unknown"))),
            |t| Arg::time(t, self.tz),
        );
        (name, value)
    }

    fn p1(&self) -> bool {
        self.case.tier == Some(SeverityTier::P1)
    }
}

fn decision(
    topic: &'static str,
    recipients: Vec<Recipient>,
    (urgent, required): (bool, bool),
    facts: Vec<(&'static str, Arg)>,
) -> Decision {
    Decision {
        topic,
        recipients,
        urgent,
        required,
        facts,
    }
}

impl Notifier {
    /// The messages `event` calls for (none for most events); what it reads comes through
    /// `lookups`, loaded for the events of its read.
    pub(crate) async fn decide(
        &self,
        conn: &impl ConnectionTrait,
        event: &EventEnvelope,
        lookups: &mut Lookups,
    ) -> Result<Vec<Decision>, ApiError> {
        let Some(payload) = event.payload.as_ref().filter(|p| concerns_anyone(p)) else {
            return Ok(Vec::new());
        };
        let Some(case) = lookups.cases.get(&event.case_id).cloned() else {
            return Ok(Vec::new());
        };
        let facts = Facts {
            case: &case,
            tz: self.timezone,
        };
        let decided = match payload {
            Payload::SlaAtRisk(_) | Payload::SlaBreached(_) | Payload::DispatchEscalated(_) => {
                self.for_the_office(conn, payload, &facts, lookups).await?
            }
            Payload::AssignmentOffered(offer) => {
                let technician = lookups.technicians.get(&offer.technician_id).cloned();
                let when = time(offer.expire_time.as_ref());
                let project = ("project", Arg::Text(case.project.clone()));
                let said = vec![facts.number(), project, facts.at("expires", when)];
                let to = technician.into_iter().collect();
                Some(decision("offer", to, (facts.p1(), false), said))
            }
            Payload::PlanProposed(_) | Payload::PlanReviewed(_) => {
                self.for_the_approvers(conn, event, payload, &facts, lookups)
                    .await?
            }
            _ => {
                self.for_the_customer(conn, payload, &facts, lookups)
                    .await?
            }
        };
        Ok(decided.into_iter().collect())
    }

    /// What an approver hears: a plan proposed waits for the technical leads (engineers), and
    /// once they approved it, for the chief engineers when the chain needs them (the case is
    /// still PLAN_PROPOSED); never for the plan's author or the reviewer who just approved.
    async fn for_the_approvers(
        &self,
        conn: &impl ConnectionTrait,
        event: &EventEnvelope,
        payload: &Payload,
        facts: &Facts<'_>,
        lookups: &mut Lookups,
    ) -> Result<Option<Decision>, ApiError> {
        let (version, role) = match payload {
            Payload::PlanProposed(plan) => (plan.version, Role::Engineer),
            Payload::PlanReviewed(review) if review.approved => {
                let state = steelcare_store::cases::get(conn, &facts.case.ticket.id)
                    .await
                    .map(|c| c.state);
                if !matches!(state, Ok(steelcare_domain::CaseState::PlanProposed)) {
                    return Ok(None);
                }
                (review.version, Role::ChiefEngineer)
            }
            _ => return Ok(None),
        };
        let actor = event.actor.as_ref().map_or("", |a| a.subject.as_str());
        let approvers = (lookups.with_roles(conn, &[role]).await?)
            .into_iter()
            .filter(|r| r.key != actor)
            .collect();
        let said = vec![facts.number(), ("version", Arg::Int(i64::from(version)))];
        Ok(Some(decision(
            "plan-to-review",
            approvers,
            (facts.p1(), false),
            said,
        )))
    }

    /// What the customer's contact hears: their report received (with when we respond), the
    /// visit planned, the approved plan to decide on, the agreement to countersign, the repair
    /// to accept, the satisfaction survey once accepted, the return visits.
    async fn for_the_customer(
        &self,
        conn: &impl ConnectionTrait,
        payload: &Payload,
        facts: &Facts<'_>,
        lookups: &Lookups,
    ) -> Result<Option<Decision>, ApiError> {
        let (topic, required, said) = match payload {
            Payload::TicketCreated(_) => {
                let due = lookups.response_due.get(&facts.case.ticket.id).copied();
                ("ticket-received", true, vec![facts.at("due", due)])
            }
            Payload::SurveyPlanned(plan) => {
                let when = time(plan.scheduled_time.as_ref());
                ("survey-planned", false, vec![facts.at("when", when)])
            }
            Payload::CaseStateChanged(changed)
                if changed.to_state
                    == steelcare_proto::common::v1::CaseState::PlanApproved as i32 =>
            {
                ("plan-to-decide", false, Vec::new())
            }
            Payload::CustomerAcceptanceRecorded(acceptance) if acceptance.accepted => {
                ("satisfaction-survey", false, Vec::new())
            }
            Payload::AgreementPrepared(prepared) => {
                let version = ("version", Arg::Int(i64::from(prepared.plan_version)));
                ("agreement-to-sign", true, vec![version])
            }
            Payload::SelfInspectionRecorded(inspection) if inspection.passed => {
                ("acceptance-to-sign", true, Vec::new())
            }
            Payload::VisitsScheduled(visits) => {
                let count = ("count", Arg::Int(visits.visit_ids.len() as i64));
                ("visits-scheduled", false, vec![count])
            }
            _ => return Ok(None),
        };
        let contact = recipients::contact(conn, &facts.case.ticket.reporter).await?;
        let mut all = vec![facts.number()];
        all.extend(said);
        Ok(Some(decision(
            topic,
            contact.into_iter().collect(),
            (false, required),
            all,
        )))
    }

    /// What the office hears of a clock at risk or breached, or of nobody to send: the
    /// dispatchers (and managers, for a clock), and for a P1 the duty managers too.
    async fn for_the_office(
        &self,
        conn: &impl ConnectionTrait,
        payload: &Payload,
        facts: &Facts<'_>,
        lookups: &mut Lookups,
    ) -> Result<Option<Decision>, ApiError> {
        let mut said = vec![facts.number()];
        said.extend(facts.tier());
        let (topic, roles): (_, &[Role]) = match payload {
            Payload::SlaAtRisk(r) => {
                said.push(clock(r.clock));
                said.push(facts.at("deadline", time(r.deadline_time.as_ref())));
                ("sla-at-risk", &[Role::Dispatcher, Role::Manager])
            }
            Payload::SlaBreached(b) => {
                said.push(clock(b.clock));
                said.push(facts.at("deadline", time(b.deadline_time.as_ref())));
                ("sla-breached", &[Role::Dispatcher, Role::Manager])
            }
            Payload::DispatchEscalated(_) => ("dispatch-escalated", &[Role::Dispatcher]),
            _ => return Ok(None),
        };
        let people = self.escalate_to(conn, roles, facts.p1(), lookups).await?;
        Ok(Some(decision(topic, people, (facts.p1(), false), said)))
    }

    /// The people holding `roles`, and for a P1 the duty managers too.
    async fn escalate_to(
        &self,
        conn: &impl ConnectionTrait,
        roles: &[Role],
        p1: bool,
        lookups: &mut Lookups,
    ) -> Result<Vec<Recipient>, ApiError> {
        let mut people = lookups.with_roles(conn, roles).await?;
        if p1 {
            let duty = (lookups.duty_managers(conn, &self.settings.duty_managers)).await?;
            for duty in duty {
                if !people.iter().any(|p| p.key == duty.key) {
                    people.push(duty);
                }
            }
        }
        Ok(people)
    }
}

/// A clock's label as a fact.
fn clock(kind: i32) -> (&'static str, Arg) {
    let label = match SlaClockKind::try_from(kind) {
        Ok(c) if c != SlaClockKind::Unspecified => enum_label("SlaClockKind", c.as_str_name()),
        _ => steelcare_i18n::msg!("notify-clock-unknown"),
    };
    ("clock", Arg::Msg(Box::new(label)))
}

/// Whether `event` may concern anyone: the others are acknowledged without a transaction.
pub(crate) fn concerns(event: &EventEnvelope) -> bool {
    event.payload.as_ref().is_some_and(concerns_anyone)
}

/// Whether an event may concern anyone (the rest are skipped without reading anything).
fn concerns_anyone(payload: &Payload) -> bool {
    matches!(
        payload,
        Payload::TicketCreated(_)
            | Payload::AssignmentOffered(_)
            | Payload::SurveyPlanned(_)
            | Payload::PlanProposed(_)
            | Payload::PlanReviewed(_)
            | Payload::CaseStateChanged(_)
            | Payload::CustomerAcceptanceRecorded(_)
            | Payload::SlaAtRisk(_)
            | Payload::SlaBreached(_)
            | Payload::DispatchEscalated(_)
            | Payload::AgreementPrepared(_)
            | Payload::SelfInspectionRecorded(_)
            | Payload::VisitsScheduled(_)
    )
}

/// When the response clocks of `ticket_ids` run out, by ticket (those that run).
async fn response_due(
    conn: &impl ConnectionTrait,
    ticket_ids: &[&str],
) -> Result<HashMap<String, DateTime<Utc>>, ApiError> {
    if ticket_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let clocks = sla_clocks::Entity::find()
        .filter(sla_clocks::Column::TicketId.is_in(ticket_ids.iter().copied()))
        .filter(sla_clocks::Column::Kind.eq("response"))
        .all(conn)
        .await
        .map_err(db_err)?;
    Ok(clocks
        .into_iter()
        .filter_map(|c| {
            let due = c.deadline_at_ms.and_then(DateTime::from_timestamp_millis)?;
            Some((c.ticket_id, due))
        })
        .collect())
}

/// Every topic, for the catalogue's check.
pub const TOPICS: &[&str] = &[
    "ticket-received",
    "offer",
    "survey-planned",
    "plan-to-review",
    "plan-to-decide",
    "satisfaction-survey",
    "sla-at-risk",
    "sla-breached",
    "dispatch-escalated",
    "agreement-to-sign",
    "acceptance-to-sign",
    "visits-scheduled",
    "visit-due",
    "visit-call-due",
    "action-due",
];

#[cfg(test)]
mod tests {
    use super::TOPICS;

    #[test]
    fn every_topic_has_a_title_and_a_body_in_the_catalogue() {
        let catalogue = steelcare_i18n::catalogue();
        for topic in TOPICS {
            for part in ["title", "body"] {
                let key = format!("notify-{topic}-{part}");
                assert!(catalogue.has(&key), "{key} is not in the catalogue");
            }
        }
        assert!(
            catalogue.problems().is_empty(),
            "{:?}",
            catalogue.problems()
        );
    }
}
