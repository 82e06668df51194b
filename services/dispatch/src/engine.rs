//! The assignment state changes every path shares (RPCs, queue workers, the sweeper and the
//! event consumer). Each runs inside the caller's write transaction as a conditional update on
//! the row's state and version, together with the offer history and the event in the outbox;
//! the queue is only told after the commit, and the reconciler repairs the queue if that step
//! is lost.
//!
//! An assignment moves `waiting → offered → confirmed → arrived → completed`; a decline or a
//! timed-out offer sends it back to `waiting` (that technician is not asked again); nobody
//! available keeps it `waiting` with a retry time (escalation with backoff); a cancelled or
//! remotely resolved case withdraws it.

use std::sync::Arc;
use steelcare_runtime::metrics::{OfferOutcome, record_offer};

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, Set};
use steelcare_bus::{DispatchQueue, EVENTS_STREAM, QueueJob};
use steelcare_domain::dispatch::retry_backoff;
use steelcare_domain::{CaseState, ProblemCategory, SeverityTier};
use steelcare_i18n::{Locale, Msg, Said, msg};
use steelcare_proto::common::v1::Actor;
use steelcare_proto::events::v1 as events;
use steelcare_proto::events::v1::event_envelope::Payload;
use steelcare_runtime::ApiError;
use steelcare_runtime::convert::to_timestamp;
use steelcare_runtime::record::{emit, envelope};
use steelcare_store::entity::{assignment_offers, assignments, projects, technicians};
use steelcare_store::{Database, StoreError, begin_write};
use tokio::sync::Notify;

pub use crate::config::DispatchConfig;
use crate::matching::{self, Job};
use crate::records::{RankingRecord, Site, from_json, state, to_json};
use crate::store;

mod batch;
pub use batch::VisitRequest;

/// The dispatch queue's name.
pub const QUEUE: &str = "dispatch";

/// Jobs a queue worker claims at once: in a storm, one transaction and one read of the field
/// for all of them; when the queue holds one job, that one alone, at once. On two cores 32
/// drained a backlog faster than 16 (3,637 against 2,958–3,069 jobs/s) with no later
/// offers at 1,000 tickets/s; 8 drained slower and offered later.
pub const JOBS_PER_CLAIM: usize = 32;

/// How long after a change the reconciler leaves a waiting row to the path that changed it.
const SETTLE_MS: i64 = 2_000;

/// Score of a job without an arrival deadline: after every real deadline (year 2096).
const NO_DEADLINE_MS: i64 = 4_000_000_000_000;

/// The queue score: arrival deadline first, then severity (P1 before P4 on equal deadlines).
/// At most 1.6e13, exact as a Redis sorted-set score.
pub fn score(deadline_ms: Option<i64>, tier: SeverityTier) -> i64 {
    deadline_ms
        .unwrap_or(NO_DEADLINE_MS)
        .clamp(0, NO_DEADLINE_MS)
        * 4
        + i64::from(tier.proto_value() - 1)
}

/// The actor of work the service does on its own.
pub fn system() -> Actor {
    Actor {
        subject: "system:dispatch".to_owned(),
        roles: Vec::new(),
        organization_id: String::new(),
        display_name: String::new(),
    }
}

fn ms(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

fn db_err(err: sea_orm::DbErr) -> ApiError {
    StoreError::from(err).into()
}

/// Emits a dispatch event for a case in the caller's transaction.
pub async fn event(
    tx: &DatabaseTransaction,
    actor: Actor,
    ticket_id: &str,
    payload: Payload,
) -> Result<(), ApiError> {
    emit(tx, EVENTS_STREAM, envelope(actor, Some(ticket_id), payload)).await?;
    Ok(())
}

/// The row of offer number `seq` of `row` to `technician_id`, made `now`, open until `expires`.
fn offer_row(
    row: &assignments::Model,
    seq: i32,
    technician_id: &str,
    ranking: &RankingRecord,
    manual: bool,
    now: DateTime<Utc>,
    expires: DateTime<Utc>,
) -> assignment_offers::ActiveModel {
    assignment_offers::ActiveModel {
        assignment_id: Set(row.id.clone()),
        seq: Set(seq),
        technician_id: Set(technician_id.to_owned()),
        state: Set(state::OFFERED.to_owned()),
        ranking: Set(to_json(ranking)),
        manual: Set(manual),
        offered_at_ms: Set(ms(now)),
        expires_at_ms: Set(ms(expires)),
        responded_at_ms: Set(None),
        reason: Set(String::new()),
    }
}

/// The event of an offer of `row` to `technician_id`, open until `expires`.
fn offered(row: &assignments::Model, technician_id: &str, expires: DateTime<Utc>) -> Payload {
    Payload::AssignmentOffered(events::AssignmentOffered {
        assignment_id: row.id.clone(),
        technician_id: technician_id.to_owned(),
        expire_time: Some(to_timestamp(expires)),
    })
}

/// A new waiting assignment of a ticket at `project`'s site, carrying the current trace.
fn new_assignment(
    ticket_id: &str,
    category: ProblemCategory,
    tier: SeverityTier,
    deadline_ms: Option<i64>,
    project: Option<&projects::Model>,
    now: DateTime<Utc>,
) -> Result<assignments::Model, ApiError> {
    let site = Site {
        address: match project {
            Some(p) => from_json(&p.address, "project address", &p.id)?,
            None => Default::default(),
        },
    };
    Ok(assignments::Model {
        id: uuid::Uuid::now_v7().to_string(),
        ticket_id: ticket_id.to_owned(),
        category: category.as_str().to_owned(),
        tier: tier.as_str().to_owned(),
        arrival_deadline_ms: deadline_ms,
        score: score(deadline_ms, tier),
        site: to_json(&site),
        state: state::WAITING.to_owned(),
        technician_id: None,
        offer_expires_at_ms: None,
        ranking: None,
        manual: false,
        arrived_at_ms: None,
        arrival_position: None,
        arrival_met: None,
        escalations: 0,
        retry_at_ms: None,
        excluded: "[]".to_owned(),
        trace_context: Some(steelcare_runtime::telemetry::current_trace_context().0)
            .filter(|t| !t.is_empty()),
        created_at: now,
        updated_at: now,
        version: 1,
    })
}

/// The event of a new assignment.
fn requested(
    row: &assignments::Model,
    deadline: Option<DateTime<Utc>>,
    tier: SeverityTier,
) -> Payload {
    Payload::DispatchRequested(events::DispatchRequested {
        dispatch_id: row.id.clone(),
        arrival_deadline_time: deadline.map(to_timestamp),
        tier: tier.proto_value(),
    })
}

/// Why nobody was offered a job: no qualified, available technician covers its regions.
pub(crate) fn nobody_covers(regions: &[String], category: ProblemCategory) -> Msg {
    msg!(
        "offer-nobody-covers",
        regions = regions.join("/"),
        category = category.label()
    )
}

/// Why an offer closed without an answer.
fn no_answer() -> Said {
    Said::from(msg!("offer-expired"))
}

/// The event of an escalation: nobody is available (`why`), tried again at `retry`.
fn escalated(row: &assignments::Model, why: &Msg, retry: DateTime<Utc>) -> Payload {
    Payload::DispatchEscalated(events::DispatchEscalated {
        dispatch_id: row.id.clone(),
        reason: why.english(),
        retry_time: Some(to_timestamp(retry)),
    })
}

/// What a queue worker did with a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutcome {
    /// Offered to this technician.
    Offered(String),
    /// Nobody available; retry at this time.
    Escalated(DateTime<Utc>),
    /// Nothing to do (already offered, confirmed, withdrawn, gone, or waiting for its retry).
    Skipped,
    /// Not done this time (the chosen technicians filled up or the row changed while
    /// matching): the job goes back in the queue at once.
    Retry,
}

/// What became of an offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfferResult {
    /// Made: the assignment is offered and the technician's place reserved.
    Made,
    /// The assignment changed meanwhile; nothing was written.
    Changed,
    /// The technician has no place left (or went off duty); nothing was written.
    Full,
}

/// The shared core of the dispatch service.
#[derive(Clone)]
pub struct Dispatcher {
    /// The database.
    pub db: Database,
    /// The dispatch queue.
    pub queue: Arc<dyn DispatchQueue>,
    /// Configuration.
    pub config: Arc<DispatchConfig>,
    relay: Option<Arc<Notify>>,
    work: Arc<Notify>,
    directory: Arc<matching::Directory>,
    panics: Arc<std::sync::atomic::AtomicU32>,
}

impl Dispatcher {
    /// A dispatcher over `db` and `queue`; `relay` is woken after commits that emit events.
    pub fn new(
        db: Database,
        queue: Arc<dyn DispatchQueue>,
        config: DispatchConfig,
        relay: Option<Arc<Notify>>,
    ) -> Self {
        Dispatcher {
            db,
            queue,
            config: Arc::new(config),
            relay,
            work: Arc::new(Notify::new()),
            directory: Arc::new(matching::Directory::default()),
            panics: Arc::default(),
        }
    }

    /// Fault injection for tests: while `counter` is above zero, each job a queue worker
    /// handles panics and counts it down.
    #[doc(hidden)]
    pub fn inject_panics(&mut self, counter: Arc<std::sync::atomic::AtomicU32>) {
        self.panics = counter;
    }

    /// Woken when this process enqueues a job, so an idle worker claims it at once.
    pub fn work_signal(&self) -> Arc<Notify> {
        self.work.clone()
    }

    /// Tells the outbox relay that events were committed.
    pub fn committed(&self) {
        if let Some(relay) = &self.relay {
            relay.notify_one();
        }
    }

    /// Puts an assignment's job in the queue (if absent). A failure is logged, not returned:
    /// the row is committed and the reconciler puts the job back. Only the id, ticket and
    /// score are used, which no state change alters, so the row read before a change will do.
    pub async fn enqueue(&self, row: &assignments::Model) -> bool {
        match self
            .queue
            .enqueue(QUEUE, &row.id, row.ticket_id.as_bytes(), row.score)
            .await
        {
            Ok(added) => {
                self.work.notify_one();
                added
            }
            Err(err) => {
                tracing::warn!(assignment_id = %row.id, error = %err, "enqueue failed; the reconciler will restore the job");
                false
            }
        }
    }

    /// The offer timeout of an assignment's tier.
    pub fn offer_timeout(&self, row: &assignments::Model) -> TimeDelta {
        let tier = row.tier.parse().unwrap_or(SeverityTier::P4);
        TimeDelta::from_std(self.config.settings.offer_timeout_for(tier))
            .unwrap_or(TimeDelta::minutes(10))
    }

    /// Records that a ticket needs a site visit (its classified event): creates the waiting
    /// assignment, or updates the category, tier and deadline of one not yet confirmed.
    /// Returns the row to enqueue, if any.
    pub async fn request_visit(
        &self,
        tx: &DatabaseTransaction,
        ticket_id: &str,
        category: ProblemCategory,
        tier: SeverityTier,
        deadline: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<Option<assignments::Model>, ApiError> {
        let deadline_ms = deadline.map(ms);
        let Some(ticket) = store::ticket(tx, ticket_id).await? else {
            return Ok(None);
        };
        // A reclassification reaches an existing assignment whatever the case's state.
        if let Some(existing) = store::assignment_of_ticket(tx, ticket_id).await? {
            return self
                .revise_visit(tx, &existing, category, tier, deadline_ms)
                .await;
        }
        // A late or redelivered event must not dispatch a case that moved on.
        let case = steelcare_store::cases::get(tx, ticket_id).await?;
        if !matches!(case.state, CaseState::Received | CaseState::Acknowledged) {
            return Ok(None);
        }
        let project = store::project(tx, &ticket.project_id).await?;
        let row = new_assignment(
            ticket_id,
            category,
            tier,
            deadline_ms,
            project.as_ref(),
            now,
        )?;
        // It may exist: a reclassification, or a dispatcher's manual offer at the same moment.
        let inserted = assignments::Entity::insert(assignments::ActiveModel::from(row.clone()))
            .on_conflict(
                OnConflict::column(assignments::Column::TicketId)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(tx)
            .await
            .map_err(db_err)?;
        if inserted == 0 {
            let existing = store::assignment_of_ticket(tx, ticket_id)
                .await?
                .ok_or_else(|| ApiError::Internal(format!("assignment of {ticket_id} vanished")))?;
            return self
                .revise_visit(tx, &existing, category, tier, deadline_ms)
                .await;
        }
        event(tx, system(), ticket_id, requested(&row, deadline, tier)).await?;
        Ok(Some(row))
    }

    /// Queues a waiting assignment after its commit; one already queued (a revision) takes
    /// its new place.
    pub async fn queue_waiting(&self, row: &assignments::Model) {
        self.queue_all_waiting(&[row]).await;
    }

    /// [`Dispatcher::queue_waiting`] for several rows, in one call to the queue; wakes as
    /// many idle workers as the jobs need.
    pub async fn queue_all_waiting(&self, rows: &[&assignments::Model]) {
        let waiting: Vec<&assignments::Model> = (rows.iter().copied())
            .filter(|row| row.state == state::WAITING)
            .collect();
        if waiting.is_empty() {
            return;
        }
        let jobs: Vec<QueueJob> = (waiting.iter())
            .map(|row| QueueJob {
                job_id: &row.id,
                payload: row.ticket_id.as_bytes(),
                score: row.score,
            })
            .collect();
        let added = match self.queue.enqueue_all(QUEUE, &jobs).await {
            Ok(added) => added,
            Err(err) => {
                tracing::warn!(jobs = jobs.len(), error = %err, "enqueue failed; the reconciler will restore the jobs");
                return;
            }
        };
        for _ in 0..jobs.len().div_ceil(JOBS_PER_CLAIM) {
            self.work.notify_one();
        }
        for (row, added) in waiting.into_iter().zip(added) {
            if added {
                continue;
            }
            if let Err(err) = self.queue.rescore(QUEUE, &row.id, row.score).await {
                tracing::warn!(assignment_id = %row.id, error = %err, "cannot move the job to its new place in the queue");
            }
        }
    }

    /// A reclassification reaches the assignment in every open state (waiting, offered,
    /// confirmed, arrived): category, tier, arrival deadline and queue score change, and an
    /// open offer's expiry moves to the new tier's timeout from when it was made. The caller
    /// rescores the queued job after the commit. A concurrent change is `ABORTED`, and the
    /// consumer tries again at once.
    async fn revise_visit(
        &self,
        tx: &DatabaseTransaction,
        row: &assignments::Model,
        category: ProblemCategory,
        tier: SeverityTier,
        deadline_ms: Option<i64>,
    ) -> Result<Option<assignments::Model>, ApiError> {
        let open = [
            state::WAITING,
            state::OFFERED,
            state::CONFIRMED,
            state::ARRIVED,
        ];
        if !open.contains(&row.state.as_str()) {
            return Ok(None);
        }
        let unchanged = row.category == category.as_str()
            && row.tier == tier.as_str()
            && row.arrival_deadline_ms == deadline_ms;
        if unchanged {
            return Ok(Some(row.clone()));
        }
        let mut revised = row.clone();
        revised.tier = tier.as_str().to_owned();
        let new_expiry = match row.offer_expires_at_ms {
            Some(expiry) if row.state == state::OFFERED => {
                let old = self.offer_timeout(row).num_milliseconds();
                let new = self.offer_timeout(&revised).num_milliseconds();
                Some(expiry - old + new)
            }
            other => other,
        };
        let updated = store::update_assignment(
            tx,
            row,
            assignments::Entity::update_many()
                .col_expr(
                    assignments::Column::Category,
                    Expr::value(category.as_str()),
                )
                .col_expr(assignments::Column::Tier, Expr::value(tier.as_str()))
                .col_expr(
                    assignments::Column::ArrivalDeadlineMs,
                    Expr::value(deadline_ms),
                )
                .col_expr(
                    assignments::Column::Score,
                    Expr::value(score(deadline_ms, tier)),
                )
                .col_expr(
                    assignments::Column::OfferExpiresAtMs,
                    Expr::value(new_expiry),
                ),
        )
        .await?;
        if !updated {
            return Err(ApiError::Aborted(steelcare_i18n::msg!(
                "error-assignment-changed"
            )));
        }
        if row.state == state::OFFERED
            && let Some(expiry) = new_expiry
        {
            store::move_offer_expiry(tx, &row.id, expiry).await?;
        }
        store::assignment(tx, &row.id).await
    }

    /// Offers an assignment to a technician. The matcher's offers (`manual` false) reserve a
    /// place first with a conditional update; a dispatcher's offer by hand counts the offer
    /// whatever the load (the accept is still refused past capacity).
    #[allow(clippy::too_many_arguments)]
    pub async fn offer_in(
        &self,
        tx: &DatabaseTransaction,
        row: &assignments::Model,
        technician_id: &str,
        ranking: &RankingRecord,
        manual: bool,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<OfferResult, ApiError> {
        let expires = now + self.offer_timeout(row);
        let claimed = self
            .claim_offer(tx, row, technician_id, ranking, manual, expires)
            .await?;
        if claimed != OfferResult::Made {
            return Ok(claimed);
        }
        let seq = store::next_offer_seq(tx, &row.id).await?;
        offer_row(row, seq, technician_id, ranking, manual, now, expires)
            .insert(tx)
            .await
            .map_err(db_err)?;
        event(
            tx,
            actor,
            &row.ticket_id,
            offered(row, technician_id, expires),
        )
        .await?;
        Ok(OfferResult::Made)
    }

    /// The guarded half of an offer: the technician's place reserved (a dispatcher's manual
    /// offer counts it whatever the capacity) and the assignment moved to offered, each one
    /// conditional update. `Changed` leaves the reservation for the caller to give back or
    /// drop with the transaction; the offer's row and event are the caller's to write.
    async fn claim_offer(
        &self,
        tx: &DatabaseTransaction,
        row: &assignments::Model,
        technician_id: &str,
        ranking: &RankingRecord,
        manual: bool,
        expires: DateTime<Utc>,
    ) -> Result<OfferResult, ApiError> {
        if manual {
            store::count_offer(tx, technician_id, 1).await?;
        } else if !store::reserve_offer(tx, technician_id).await? {
            return Ok(OfferResult::Full);
        }
        let updated = store::update_assignment(
            tx,
            row,
            assignments::Entity::update_many()
                .col_expr(assignments::Column::State, Expr::value(state::OFFERED))
                .col_expr(
                    assignments::Column::TechnicianId,
                    Expr::value(technician_id),
                )
                .col_expr(
                    assignments::Column::OfferExpiresAtMs,
                    Expr::value(ms(expires)),
                )
                .col_expr(assignments::Column::Ranking, Expr::value(to_json(ranking)))
                .col_expr(assignments::Column::Manual, Expr::value(manual))
                .col_expr(
                    assignments::Column::RetryAtMs,
                    Expr::value(Option::<i64>::None),
                )
                .filter(assignments::Column::State.eq(row.state.as_str())),
        )
        .await?;
        Ok(if updated {
            OfferResult::Made
        } else {
            OfferResult::Changed
        })
    }

    /// Takes an open offer back: the technician declined (`DECLINED`), it timed out
    /// (`EXPIRED`) or a dispatcher or the technician's status change withdrew it
    /// (`WITHDRAWN`). The assignment waits again and this technician is not asked again
    /// (unless withdrawn). False when the row changed meanwhile.
    pub async fn release_in(
        &self,
        tx: &DatabaseTransaction,
        row: &assignments::Model,
        outcome: &str,
        reason: &Said,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<bool, ApiError> {
        let Some(technician_id) = row.technician_id.clone() else {
            return Ok(false);
        };
        let mut excluded: Vec<String> = from_json(&row.excluded, "excluded technicians", &row.id)?;
        if outcome != state::WITHDRAWN && !excluded.contains(&technician_id) {
            excluded.push(technician_id.clone());
        }
        let updated = store::update_assignment(
            tx,
            row,
            assignments::Entity::update_many()
                .col_expr(assignments::Column::State, Expr::value(state::WAITING))
                .col_expr(
                    assignments::Column::TechnicianId,
                    Expr::value(Option::<String>::None),
                )
                .col_expr(
                    assignments::Column::OfferExpiresAtMs,
                    Expr::value(Option::<i64>::None),
                )
                .col_expr(assignments::Column::Manual, Expr::value(false))
                .col_expr(
                    assignments::Column::Excluded,
                    Expr::value(to_json(&excluded)),
                )
                .filter(assignments::Column::State.eq(state::OFFERED)),
        )
        .await?;
        if !updated {
            return Ok(false);
        }
        store::close_offer(tx, &row.id, outcome, ms(now), reason).await?;
        store::count_offer(tx, &technician_id, -1).await?;
        event(
            tx,
            actor,
            &row.ticket_id,
            Payload::AssignmentDeclined(events::AssignmentDeclined {
                assignment_id: row.id.clone(),
                technician_id,
                reason: reason.render(Locale::english()),
            }),
        )
        .await?;
        Ok(true)
    }

    /// Nobody available: counts the escalation, schedules the retry with backoff and emits
    /// the escalation event. Returns the retry time, or `None` when the row changed.
    pub async fn escalate_in(
        &self,
        tx: &DatabaseTransaction,
        row: &assignments::Model,
        why: &Msg,
        now: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, ApiError> {
        let retry = self.retry_after(row, now);
        let updated = store::update_assignment(
            tx,
            row,
            assignments::Entity::update_many()
                .col_expr(
                    assignments::Column::Escalations,
                    Expr::value(row.escalations + 1),
                )
                .col_expr(assignments::Column::RetryAtMs, Expr::value(ms(retry)))
                .filter(assignments::Column::State.eq(state::WAITING)),
        )
        .await?;
        if !updated {
            return Ok(None);
        }
        event(tx, system(), &row.ticket_id, escalated(row, why, retry)).await?;
        Ok(Some(retry))
    }

    /// When an assignment nobody is available for is tried again: the backoff of its next
    /// escalation.
    fn retry_after(&self, row: &assignments::Model, now: DateTime<Utc>) -> DateTime<Utc> {
        let attempt = u32::try_from(row.escalations).unwrap_or(0) + 1;
        let s = &self.config.settings;
        now + retry_backoff(
            attempt,
            TimeDelta::from_std(s.retry_base).unwrap_or(TimeDelta::seconds(30)),
            TimeDelta::from_std(s.retry_max).unwrap_or(TimeDelta::minutes(10)),
        )
    }

    /// Ends an assignment: `WITHDRAWN` (case cancelled or resolved remotely) or `COMPLETED`
    /// (survey done). A confirmed or arrived technician's place is given back. False when
    /// already ended or changed meanwhile.
    pub async fn end_in(
        &self,
        tx: &DatabaseTransaction,
        row: &assignments::Model,
        outcome: &str,
        reason: &Said,
        now: DateTime<Utc>,
    ) -> Result<bool, ApiError> {
        let booked = [state::CONFIRMED, state::ARRIVED].contains(&row.state.as_str());
        let open = booked || [state::WAITING, state::OFFERED].contains(&row.state.as_str());
        if !open || (outcome == state::COMPLETED && !booked) {
            return Ok(false);
        }
        let updated = store::update_assignment(
            tx,
            row,
            assignments::Entity::update_many()
                .col_expr(assignments::Column::State, Expr::value(outcome))
                .col_expr(
                    assignments::Column::OfferExpiresAtMs,
                    Expr::value(Option::<i64>::None),
                )
                .col_expr(
                    assignments::Column::RetryAtMs,
                    Expr::value(Option::<i64>::None),
                )
                .filter(assignments::Column::State.eq(row.state.as_str())),
        )
        .await?;
        if !updated {
            return Ok(false);
        }
        if row.state == state::OFFERED {
            store::close_offer(tx, &row.id, state::WITHDRAWN, ms(now), reason).await?;
            if let Some(technician_id) = &row.technician_id {
                store::count_offer(tx, technician_id, -1).await?;
            }
        }
        if booked && let Some(technician_id) = &row.technician_id {
            store::unbook(tx, technician_id).await?;
        }
        Ok(true)
    }

    /// Handles one claimed job: matches and offers, or escalates when nobody is available.
    pub async fn handle_job(&self, assignment_id: &str) -> Result<JobOutcome, ApiError> {
        match store::assignment(&self.db, assignment_id).await? {
            Some(row) => self.handle_assignment(row).await,
            None => Ok(JobOutcome::Skipped),
        }
    }

    /// Whether the technician the matcher chose, read again in the offer's transaction, is
    /// still on duty with a place, and as the field the choice was made on knew them.
    fn is_free(&self, t: &technicians::Model) -> bool {
        t.status == "on_duty"
            && t.booked + t.offered < t.capacity
            && self.directory.is_current(&t.id, t.version)
    }

    /// Fault injection for tests of supervision (see [`Dispatcher::inject_panics`]).
    fn inject_panic(&self, row: &assignments::Model) {
        use std::sync::atomic::Ordering;
        if self
            .panics
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            panic!("injected fault: queue worker panics on job {}", row.id);
        }
    }

    /// [`Dispatcher::handle_job`] with the job's assignment already read.
    pub async fn handle_assignment(&self, row: assignments::Model) -> Result<JobOutcome, ApiError> {
        self.inject_panic(&row);
        let now = steelcare_store::now();
        if row.state != state::WAITING || row.retry_at_ms.is_some_and(|r| r > ms(now)) {
            return Ok(JobOutcome::Skipped);
        }
        let job = Job::of(&row)?;
        let regions = job.site.region_keys();
        // The field may be up to a second old: the chosen technician's row is read again in
        // the offer's transaction, and a stale choice re-reads the field (at most twice).
        let mut attempts = 0;
        let (tx, outcome) = loop {
            attempts += 1;
            let ranked = matching::find(&self.db, &self.config, &self.directory, &job, now).await?;
            // "Nobody" is decided on a fresh read of the field, never on a cached one that
            // may predate a technician who just came on duty.
            if ranked.is_empty() && attempts == 1 {
                self.directory.forget(&regions);
                continue;
            }
            let tx = begin_write(&self.db).await.map_err(db_err)?;
            let Some(best) = ranked.into_iter().next() else {
                let why = nobody_covers(&regions, job.category);
                match self.escalate_in(&tx, &row, &why, now).await? {
                    Some(retry) => break (tx, JobOutcome::Escalated(retry)),
                    None => return Ok(JobOutcome::Skipped),
                }
            };
            let current = store::technician(&tx, &best.technician_id).await?;
            let still_free = current.as_ref().is_some_and(|t| self.is_free(t));
            let technician_id = best.technician_id.clone();
            let result = if still_free {
                let ranking = RankingRecord {
                    ranked: Some(best),
                    notes: Vec::new(),
                };
                self.offer_in(&tx, &row, &technician_id, &ranking, false, system(), now)
                    .await?
            } else {
                OfferResult::Full
            };
            match result {
                OfferResult::Made => {}
                // The row moved on (or was revised): the worker puts the job back, and a
                // claim of a job no longer waiting is just acked.
                OfferResult::Changed => return Ok(JobOutcome::Retry),
                OfferResult::Full => {
                    self.directory.forget(&regions);
                    if attempts < 3 {
                        continue;
                    }
                    return Ok(JobOutcome::Retry);
                }
            }
            break (tx, JobOutcome::Offered(technician_id));
        };
        tx.commit().await.map_err(db_err)?;
        self.committed();
        if let JobOutcome::Offered(technician_id) = &outcome {
            self.directory.note_offer(technician_id);
            record_offer(OfferOutcome::Made);
        }
        Ok(outcome)
    }

    /// A technician came on duty or was registered: the waiting assignments of their regions
    /// that sit out a retry after nobody was available are queued now, not when the retry
    /// comes due. Returns how many.
    pub async fn wake_technician(&self, technician_id: &str) -> Result<usize, ApiError> {
        let regions: std::collections::HashSet<String> = store::regions_of(&self.db, technician_id)
            .await?
            .into_iter()
            .map(|r| r.trim().to_lowercase())
            .collect();
        self.wake_regions(&regions).await
    }

    /// Queues now the waiting work of `regions` (lower-cased): technicians who cover them
    /// became available (one scan for a whole imported team).
    pub async fn wake_regions(
        &self,
        regions: &std::collections::HashSet<String>,
    ) -> Result<usize, ApiError> {
        if regions.is_empty() {
            return Ok(0);
        }
        let now = ms(steelcare_store::now());
        let mut woken = 0;
        for row in store::waiting_for_retry(&self.db, now, 1000).await? {
            let job = Job::of(&row)?;
            let keys = job.site.region_keys();
            if !keys.iter().any(|k| regions.contains(k)) {
                continue;
            }
            let cleared = store::update_assignment(
                &self.db,
                &row,
                assignments::Entity::update_many()
                    .col_expr(
                        assignments::Column::RetryAtMs,
                        Expr::value(Option::<i64>::None),
                    )
                    .filter(assignments::Column::State.eq(state::WAITING)),
            )
            .await?;
            if cleared {
                self.directory.forget(&keys);
                self.enqueue(&row).await;
                woken += 1;
            }
        }
        Ok(woken)
    }

    /// Moves every offer whose time ran out to the next candidate; returns how many.
    pub async fn expire_offers(&self) -> Result<usize, ApiError> {
        let now = steelcare_store::now();
        let due = store::expired_offers(&self.db, ms(now), 200).await?;
        let mut expired = 0;
        for row in due {
            let tx = begin_write(&self.db).await.map_err(db_err)?;
            let Some(current) = store::assignment(&tx, &row.id).await? else {
                continue;
            };
            if current.state != state::OFFERED
                || current.offer_expires_at_ms.is_none_or(|e| e > ms(now))
            {
                continue;
            }
            if self
                .release_in(&tx, &current, state::EXPIRED, &no_answer(), system(), now)
                .await?
            {
                tx.commit().await.map_err(db_err)?;
                self.committed();
                record_offer(OfferOutcome::TimedOut);
                expired += 1;
                self.enqueue(&current).await;
            }
        }
        Ok(expired)
    }

    /// Puts back in the queue every waiting assignment the database knows and the queue
    /// lacks (Redis lost its data, a process died between commit and enqueue, or a retry is
    /// due). Returns how many jobs were added.
    pub async fn reconcile(&self, retries_only: bool) -> Result<usize, ApiError> {
        let now = ms(steelcare_store::now());
        let mut after: Option<String> = None;
        let mut added = 0;
        loop {
            let page =
                store::due_waiting(&self.db, now, retries_only, after.as_deref(), 500).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.id.clone());
            // A row changed in the last seconds is being queued by whoever changed it
            // (enqueue follows commit): not missing, not yet.
            let settled: Vec<&assignments::Model> = (page.iter())
                .filter(|row| retries_only || ms(row.updated_at) <= now - SETTLE_MS)
                .collect();
            // Ask first, the page in one call: a read, where enqueue is a write on the
            // embedded backend. When the queue cannot answer, every row is offered to it.
            let ids: Vec<&str> = settled.iter().map(|row| row.id.as_str()).collect();
            let queued = (self.queue.contains_all(QUEUE, &ids).await)
                .unwrap_or_else(|_| vec![false; ids.len()]);
            for (row, queued) in settled.into_iter().zip(queued) {
                if queued {
                    continue;
                }
                // A worker may have offered it between the read and the enqueue; such a job
                // is just skipped when claimed, and is not counted as restored.
                if self.enqueue(row).await
                    && store::assignment(&self.db, &row.id)
                        .await?
                        .is_some_and(|r| r.state == state::WAITING)
                {
                    added += 1;
                }
            }
        }
        Ok(added)
    }
}
