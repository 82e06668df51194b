//! The state changes every path of the repair service shares: idempotent creates, moving the
//! case through the lifecycle with its event, who may see a case, crew checks, and clearing a
//! completion after a failed acceptance (the worker's one change).

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use sea_orm::DatabaseTransaction;
use steelcare_bus::EVENTS_STREAM;
use steelcare_domain::dispatch::{Certificate, Requirement, Skill, SkillRules};
use steelcare_domain::tolerance::ToleranceTable;
use steelcare_domain::{CaseState, Role};
use steelcare_i18n::{Arg, Msg, Said, msg};
use steelcare_proto::common::v1::Actor;
use steelcare_proto::events::v1::event_envelope::Payload;
use steelcare_runtime::record::{emit, envelope};
use steelcare_runtime::{ApiError, Caller, RequestContext};
use steelcare_store::{Database, StoreError};
use tokio::sync::Notify;

use crate::records::{kind, status};
use crate::store::{self, Case};

/// What the repair service is configured with.
#[derive(Debug, Clone)]
pub struct RepairConfig {
    /// A plan estimated above this many cents needs the chief engineer too.
    pub chief_engineer_above_cents: i64,
    /// The currency of every amount.
    pub currency: steelcare_domain::money::Currency,
    /// Who pays, per responsible party, in warranty and out of it.
    pub cost_policy: steelcare_domain::cost::CostPolicy,
    /// Skills per category and certificates per skill (dispatch's rules).
    pub rules: SkillRules,
    /// The local time zone: the day a measurement or work date falls on.
    pub timezone: Tz,
}

/// The repair engine: the database, the tolerance table and the configuration, shared by the
/// RPCs and the worker.
#[derive(Clone)]
pub struct Repairer {
    /// The database.
    pub db: Database,
    /// GB 50205 limits.
    pub table: &'static ToleranceTable,
    /// Configuration.
    pub config: RepairConfig,
    relay: Option<Arc<Notify>>,
}

pub use steelcare_runtime::idempotent::{Begun, Key};

pub(crate) fn db_err(err: sea_orm::DbErr) -> ApiError {
    StoreError::from(err).into()
}

/// FAILED_PRECONDITION naming the case's current state.
pub fn case_precondition(case: &Case, message: Msg) -> ApiError {
    steelcare_runtime::error::in_state(&case.id, case.state, message)
}

/// The actor of work the repair service does on its own.
pub fn system() -> Actor {
    Actor {
        subject: "system:repair".to_owned(),
        roles: Vec::new(),
        organization_id: String::new(),
        display_name: String::new(),
    }
}

impl Repairer {
    /// The engine over a database, with the shipped tolerance table.
    pub fn new(db: Database, config: RepairConfig, relay: Option<Arc<Notify>>) -> Self {
        Repairer {
            db,
            table: ToleranceTable::shipped(),
            config,
            relay,
        }
    }

    /// The local day of an instant.
    pub fn day_of(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.config.timezone).date_naive()
    }

    /// Tells the relay that events were committed.
    pub fn committed(&self) {
        if let Some(relay) = &self.relay {
            relay.notify_one();
        }
    }

    /// Begins an idempotent create of `rpc` by the caller (AIP-155): `request_id` is required;
    /// a repeat with the same payload replays, a different payload is ALREADY_EXISTS.
    pub async fn begin(
        &self,
        ctx: &RequestContext,
        rpc: &str,
        request_id: &str,
        hash: String,
    ) -> Result<Begun, ApiError> {
        steelcare_runtime::idempotent::begin(&self.db, ctx, "repair", rpc, request_id, hash).await
    }

    /// Saves the key with the resource made, commits, and wakes the relay.
    pub async fn finish(
        &self,
        tx: DatabaseTransaction,
        key: Key,
        resource_id: &str,
    ) -> Result<(), ApiError> {
        steelcare_runtime::idempotent::finish(tx, key, resource_id).await?;
        self.committed();
        Ok(())
    }

    /// The case as `caller` may see it: NOT_FOUND when it does not exist or belongs to
    /// another customer organisation.
    pub async fn case_for(
        &self,
        conn: &impl sea_orm::ConnectionTrait,
        caller: &Caller,
        ticket_id: &str,
    ) -> Result<Case, ApiError> {
        let ticket_id = steelcare_runtime::validate::id("ticket_id", ticket_id)?;
        let not_found = || steelcare_runtime::handler::not_found("ticket", ticket_id);
        let case = store::case(conn, ticket_id).await?.ok_or_else(not_found)?;
        if caller.is_customer_only() && caller.organization_id != case.organization_id {
            return Err(not_found());
        }
        Ok(case)
    }

    /// Moves the case to `to` and emits `CaseStateChanged`.
    pub async fn move_case(
        &self,
        tx: &DatabaseTransaction,
        actor: Actor,
        case: &Case,
        to: CaseState,
        reason: &str,
    ) -> Result<(), ApiError> {
        steelcare_runtime::record::move_case(
            tx,
            EVENTS_STREAM,
            actor,
            &case.id,
            case.state,
            to,
            reason,
        )
        .await
    }

    /// Emits an event of the case.
    pub async fn event(
        &self,
        tx: &DatabaseTransaction,
        actor: Actor,
        ticket_id: &str,
        payload: Payload,
    ) -> Result<(), ApiError> {
        emit(tx, EVENTS_STREAM, envelope(actor, Some(ticket_id), payload)).await?;
        Ok(())
    }

    /// Checks a crew for work on the case from `from` to `to`: every member a registered
    /// technician, the crew together holding the skills the case's category needs, each member
    /// holding the certificates their skills need valid on every work day, and nobody booked on
    /// another case (survey or repair) at that time. Problems go to `field`, naming the member
    /// and the clash.
    pub async fn check_crew(
        &self,
        conn: &impl sea_orm::ConnectionTrait,
        case: &Case,
        field: &str,
        crew: &[String],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<(), ApiError> {
        let rows = store::technicians(conn, crew).await?;
        let mut problems = Vec::new();
        let requirement = Requirement::of(&self.config.rules, case.category);
        let mut crew_skills: Vec<Skill> = Vec::new();
        let last_day = self.day_of(to);
        for (i, id) in crew.iter().enumerate() {
            let Some(row) = rows.iter().find(|r| &r.id == id) else {
                problems.push((
                    format!("{field}[{i}]"),
                    msg!("field-not-a-technician", id = id.as_str()),
                ));
                continue;
            };
            let (brings, unqualified) = self.member_fit(&requirement, row, last_day);
            if let Some(why) = unqualified {
                problems.push((
                    format!("{field}[{i}]"),
                    msg!(
                        "field-crew-unqualified",
                        id = id.as_str(),
                        why = why,
                        until = last_day
                    ),
                ));
            }
            crew_skills.extend(brings);
        }
        for skill in &requirement.skills {
            if !rows.is_empty() && !crew_skills.contains(skill) {
                problems.push((
                    field.to_owned(),
                    msg!(
                        "field-crew-lacks-skill",
                        skill = skill.label(),
                        category = case.category.label()
                    ),
                ));
            }
        }
        let clashes = store::clashes(
            conn,
            &case.id,
            crew,
            from.timestamp_millis(),
            to.timestamp_millis(),
        )
        .await?;
        problems.extend(clashes.iter().map(|c| self.clash_problem(field, crew, c)));
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ApiError::InvalidArgument(
                problems
                    .into_iter()
                    .map(|(f, d)| steelcare_runtime::FieldViolation::new(f, d))
                    .collect(),
            ))
        }
    }

    /// The needed skills a crew member brings, and why they may not do the work (a skill's
    /// certificate missing or expired by `last_day`), if so.
    fn member_fit(
        &self,
        requirement: &Requirement,
        row: &steelcare_store::entity::technicians::Model,
        last_day: chrono::NaiveDate,
    ) -> (Vec<Skill>, Option<Msg>) {
        let skills: Vec<Skill> = serde_json::from_str(&row.skills).unwrap_or_default();
        let certificates: Vec<Certificate> =
            serde_json::from_str(&row.certificates).unwrap_or_default();
        // The certificates of the needed skills this member brings, valid to the last day.
        let brings: Vec<Skill> = requirement
            .skills
            .iter()
            .copied()
            .filter(|s| skills.contains(s))
            .collect();
        let own = Requirement {
            skills: brings.clone(),
            certificates: brings
                .iter()
                .flat_map(|s| {
                    self.config
                        .rules
                        .skill_certificates
                        .get(s)
                        .cloned()
                        .unwrap_or_default()
                })
                .collect(),
        };
        let unqualified = own
            .check(&skills, &certificates, last_day)
            .err()
            .map(|why| why.message());
        (brings, unqualified)
    }

    /// A crew member booked elsewhere at the time: the member's field and the clash.
    fn clash_problem(&self, field: &str, crew: &[String], clash: &store::Clash) -> (String, Msg) {
        let i = crew
            .iter()
            .position(|c| c == &clash.technician_id)
            .unwrap_or(0);
        let at = |ms: i64| {
            Arg::time(
                DateTime::from_timestamp_millis(ms).unwrap_or_default(),
                self.config.timezone,
            )
        };
        (
            format!("{field}[{i}]"),
            msg!(
                "field-crew-booked",
                id = clash.technician_id.as_str(),
                what = Msg::owned(format!("booking-{}", clash.what)),
                ticket = clash.ticket_id.as_str(),
                from = at(clash.starts_at_ms),
                to = at(clash.ends_at_ms)
            ),
        )
    }
}

/// Clears the case's active completion after a failed customer acceptance: the crew goes back
/// to work and must complete again. Returns whether one was cleared. The repair consumer does
/// it on the rejection's event; CompleteRepair does it first if the event has not been
/// consumed yet, and whichever comes second finds nothing. With `recorded_by`, only a
/// completion recorded by then is cleared, never the rework's completion that came after.
pub async fn clear_completion(
    tx: &DatabaseTransaction,
    ticket_id: &str,
    reason: &Msg,
    recorded_by: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<bool, ApiError> {
    let Some(row) = store::records(tx, ticket_id, kind::COMPLETION)
        .await?
        .into_iter()
        .rev()
        .find(|r| r.status == status::RECORDED)
        .filter(|r| recorded_by.is_none_or(|at| r.created_at <= at))
    else {
        return Ok(false);
    };
    let mut body: steelcare_proto::repair::v1::RepairCompletion = store::decode(&row)?;
    body.cleared_reason = Said::from(reason.clone()).to_column();
    store::set_status(
        tx,
        &row.id,
        status::RECORDED,
        status::CLEARED,
        Some(None),
        Some(&body),
    )
    .await
    .map_err(ApiError::from)
}

/// Every role reads the repair records (customers their own cases').
pub const READERS: &[Role] = &Role::ALL;
