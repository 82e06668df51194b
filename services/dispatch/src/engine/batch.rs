//! Dispatch in bursts: a consumer's read of tickets that need a site visit is applied in one
//! transaction, and a queue worker's claim of several jobs is matched and written in one,
//! with one statement per kind of read for the whole burst where the single paths take one
//! per ticket. What a burst cannot take as a whole (a reclassified ticket, a case that moved
//! on, a technician who filled up meanwhile) goes by the single path, so the outcome is the
//! single path's; only the number of statements and commits changes.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{DatabaseTransaction, EntityTrait};
use steelcare_bus::EVENTS_STREAM;
use steelcare_domain::{CaseState, ProblemCategory, SeverityTier};
use steelcare_i18n::Msg;
use steelcare_runtime::ApiError;
use steelcare_runtime::metrics::{OfferOutcome, record_offer};
use steelcare_runtime::record::{emit_all, envelope};
use steelcare_store::entity::{assignment_offers, assignments, technicians};
use steelcare_store::{begin_write, processed};
use tracing::Instrument;

use super::{
    Dispatcher, JobOutcome, db_err, escalated, ms, new_assignment, offer_row, offered, requested,
    system,
};
use crate::matching::{self, Job};
use crate::records::{RankingRecord, state, to_json};
use crate::store::{self, BurstOffer};
use steelcare_domain::dispatch::Ranked;

/// A classified ticket's request for a site visit, as its event carried it.
#[derive(Debug, Clone)]
pub struct VisitRequest {
    /// The event's id (its processed key).
    pub event_id: String,
    /// The ticket (the case id).
    pub ticket_id: String,
    /// Its category.
    pub category: ProblemCategory,
    /// Its severity tier.
    pub tier: SeverityTier,
    /// The committed arrival deadline.
    pub deadline: Option<DateTime<Utc>>,
    /// The span of the event's handling (its trace goes on in the assignment).
    pub span: tracing::Span,
}

/// What a burst of jobs does with one of them, decided before the transaction.
enum Plan {
    /// Nothing to do (not waiting, or waiting for its retry).
    Skip,
    /// Nobody qualified and available, on a fresh read of the field.
    Escalate(Msg),
    /// Offer to the best-ranked technician.
    Offer(Ranked),
}

impl Dispatcher {
    /// Applies the requests of one read of the event stream in one transaction: marks their
    /// events processed, creates the waiting assignments of the ones not seen before and emits
    /// their events, then queues them. `Ok(false)` (nothing written) when the burst cannot be
    /// taken as a whole: a ticket already has an assignment (a reclassification, or a
    /// dispatcher's offer by hand), or its case is not waiting for a visit; the caller then
    /// applies the events one by one.
    pub async fn request_visits(
        &self,
        consumer: &str,
        requests: &[VisitRequest],
    ) -> Result<bool, ApiError> {
        let now = steelcare_store::now();
        let tx = begin_write(&self.db).await.map_err(db_err)?;
        let event_ids: Vec<&str> = requests.iter().map(|r| r.event_id.as_str()).collect();
        let fresh = processed::mark_all_processed(&tx, consumer, &event_ids).await?;
        let todo: Vec<&VisitRequest> = requests
            .iter()
            .filter(|r| fresh.contains(&r.event_id))
            .collect();
        let Some(rows) = self.new_assignments(&tx, &todo, now).await? else {
            return Ok(false);
        };
        if !rows.is_empty() {
            // It may exist: a ticket classified again, or a dispatcher's manual offer.
            let inserted = assignments::Entity::insert_many(
                rows.iter()
                    .map(|(row, _)| assignments::ActiveModel::from(row.clone())),
            )
            .on_conflict(
                OnConflict::column(assignments::Column::TicketId)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(&tx)
            .await
            .map_err(db_err)?;
            if inserted != rows.len() as u64 {
                return Ok(false);
            }
            let envelopes = rows
                .iter()
                .map(|(row, request)| {
                    request.span.in_scope(|| {
                        envelope(
                            system(),
                            Some(&row.ticket_id),
                            requested(row, request.deadline, request.tier),
                        )
                    })
                })
                .collect();
            emit_all(&tx, EVENTS_STREAM, envelopes).await?;
        }
        tx.commit().await.map_err(db_err)?;
        self.committed();
        let queued: Vec<&assignments::Model> = rows.iter().map(|(row, _)| row).collect();
        self.queue_all_waiting(&queued).await;
        Ok(true)
    }

    /// The assignments to create for `todo`, each with its request: the tickets that exist
    /// and whose case still waits for a visit. `None` when one of them needs the single path
    /// (its case moved on, so a reclassification may have to reach its assignment).
    async fn new_assignments<'r>(
        &self,
        tx: &DatabaseTransaction,
        todo: &[&'r VisitRequest],
        now: DateTime<Utc>,
    ) -> Result<Option<Vec<(assignments::Model, &'r VisitRequest)>>, ApiError> {
        if todo.is_empty() {
            return Ok(Some(Vec::new()));
        }
        let ticket_ids: Vec<&str> = todo.iter().map(|r| r.ticket_id.as_str()).collect();
        let tickets = store::projects_and_states(tx, &ticket_ids).await?;
        let project_ids: Vec<&str> = tickets.values().map(|(p, _)| p.as_str()).collect();
        let projects = store::projects(tx, &project_ids).await?;
        let waiting = [
            CaseState::Received.as_str(),
            CaseState::Acknowledged.as_str(),
        ];
        let mut rows = Vec::with_capacity(todo.len());
        for request in todo {
            // A ticket that is not there has nothing to dispatch (as on the single path).
            let Some((project_id, state)) = tickets.get(&request.ticket_id) else {
                continue;
            };
            if !state.as_deref().is_some_and(|s| waiting.contains(&s)) {
                return Ok(None);
            }
            let row = request.span.in_scope(|| {
                new_assignment(
                    &request.ticket_id,
                    request.category,
                    request.tier,
                    request.deadline.map(ms),
                    projects.get(project_id),
                    now,
                )
            })?;
            rows.push((row, *request));
        }
        Ok(Some(rows))
    }

    /// Handles the jobs of several claimed assignments together: each is matched (a fresh
    /// read of the field once per region for all of those nobody covers), then every offer
    /// and escalation is written in one transaction. Answers each row's outcome in order.
    /// A job whose chosen technician filled up meanwhile, and every job when a write fails,
    /// goes by [`Dispatcher::handle_assignment`] after the commit.
    pub async fn handle_assignments(
        &self,
        rows: Vec<(assignments::Model, tracing::Span)>,
    ) -> Vec<Result<JobOutcome, ApiError>> {
        let now = steelcare_store::now();
        let mut plans = Vec::with_capacity(rows.len());
        let mut refreshed = HashSet::new();
        for (row, span) in &rows {
            self.inject_panic(row);
            let plan = self
                .plan_job(row, now, &mut refreshed)
                .instrument(span.clone())
                .await;
            plans.push(plan);
        }
        let written = self.write_plans(&rows, &plans, now).await;
        let mut outcomes = Vec::with_capacity(rows.len());
        for ((row, span), outcome) in rows.into_iter().zip(written) {
            outcomes.push(match outcome {
                Some(outcome) => Ok(outcome),
                None => self.handle_assignment(row).instrument(span).await,
            });
        }
        outcomes
    }

    /// What to do with one job of a burst. "Nobody" is decided on a fresh read of the field,
    /// made once per burst for the regions in `refreshed`. A chosen technician's place counts
    /// as taken in the cached field at once (the transaction's conditional update is what
    /// guards it; a place counted for an offer not made is corrected by the next read).
    async fn plan_job(
        &self,
        row: &assignments::Model,
        now: DateTime<Utc>,
        refreshed: &mut HashSet<Vec<String>>,
    ) -> Result<Plan, ApiError> {
        if row.state != state::WAITING || row.retry_at_ms.is_some_and(|r| r > ms(now)) {
            return Ok(Plan::Skip);
        }
        let job = Job::of(row)?;
        let regions = job.site.region_keys();
        let mut ranked = matching::find(&self.db, &self.config, &self.directory, &job, now).await?;
        if ranked.is_empty() && refreshed.insert(regions.clone()) {
            self.directory.forget(&regions);
            ranked = matching::find(&self.db, &self.config, &self.directory, &job, now).await?;
        }
        Ok(match ranked.into_iter().next() {
            Some(best) => {
                // The next jobs of the burst see this offer's place taken before it is written.
                self.directory.note_offer(&best.technician_id);
                Plan::Offer(best)
            }
            None => Plan::Escalate(super::nobody_covers(&regions, job.category)),
        })
    }

    /// Writes the plans of a burst in one transaction. Each row's outcome, or `None` for the
    /// ones left to the single path (all of them when the transaction fails).
    async fn write_plans(
        &self,
        rows: &[(assignments::Model, tracing::Span)],
        plans: &[Result<Plan, ApiError>],
        now: DateTime<Utc>,
    ) -> Vec<Option<JobOutcome>> {
        let written = async {
            let tx = begin_write(&self.db).await.map_err(db_err)?;
            let mut outcomes = self.escalate_all(&tx, rows, plans, now).await?;
            self.offer_all(&tx, rows, plans, &mut outcomes, now).await?;
            tx.commit().await.map_err(db_err)?;
            Ok::<_, ApiError>(outcomes)
        }
        .await;
        match written {
            Ok(outcomes) => {
                self.committed();
                for outcome in &outcomes {
                    if let Some(JobOutcome::Offered(_)) = outcome {
                        record_offer(OfferOutcome::Made);
                    }
                }
                outcomes
            }
            Err(err) => {
                tracing::warn!(error = %err, jobs = rows.len(), "a burst of dispatch jobs failed; handling them one by one");
                vec![None; rows.len()]
            }
        }
    }

    /// The escalations of a burst: one conditional update for all of them, and their events
    /// in one statement. Answers every row's outcome as far as it is decided here: escalated,
    /// skipped (a plan to skip, or a row that changed), or `None` (an offer, or a row whose
    /// plan failed, left to the single path).
    async fn escalate_all(
        &self,
        tx: &DatabaseTransaction,
        rows: &[(assignments::Model, tracing::Span)],
        plans: &[Result<Plan, ApiError>],
        now: DateTime<Utc>,
    ) -> Result<Vec<Option<JobOutcome>>, ApiError> {
        let retries: Vec<DateTime<Utc>> = rows
            .iter()
            .map(|(row, _)| self.retry_after(row, now))
            .collect();
        let due: Vec<(&assignments::Model, i64)> = rows
            .iter()
            .zip(plans)
            .zip(&retries)
            .filter(|((_, plan), _)| matches!(plan, Ok(Plan::Escalate(_))))
            .map(|(((row, _), _), retry)| (row, ms(*retry)))
            .collect();
        let escalated_ids = store::escalate_all(tx, &due).await?;
        let mut outcomes = Vec::with_capacity(rows.len());
        let mut envelopes = Vec::new();
        for (((row, span), plan), retry) in rows.iter().zip(plans).zip(retries) {
            outcomes.push(match plan {
                Ok(Plan::Skip) => Some(JobOutcome::Skipped),
                Ok(Plan::Escalate(why)) if escalated_ids.contains(&row.id) => {
                    envelopes.push(span.in_scope(|| {
                        envelope(system(), Some(&row.ticket_id), escalated(row, why, retry))
                    }));
                    Some(JobOutcome::Escalated(retry))
                }
                // Changed since it was read: the claim of a job no longer waiting is acked.
                Ok(Plan::Escalate(_)) => Some(JobOutcome::Skipped),
                Ok(Plan::Offer(_)) | Err(_) => None,
            });
        }
        if !envelopes.is_empty() {
            emit_all(tx, EVENTS_STREAM, envelopes).await?;
        }
        Ok(outcomes)
    }

    /// The offers of a burst, each to its best-ranked technician: claimed one by one
    /// ([`Dispatcher::claim_all`]), then numbered and written together. Sets the outcome of
    /// each offer made, or `Retry` for a row that changed; one whose technician is no longer
    /// free is left `None`, to the single path, nothing of it written.
    async fn offer_all(
        &self,
        tx: &DatabaseTransaction,
        rows: &[(assignments::Model, tracing::Span)],
        plans: &[Result<Plan, ApiError>],
        outcomes: &mut [Option<JobOutcome>],
        now: DateTime<Utc>,
    ) -> Result<(), ApiError> {
        let offers: Vec<(usize, &Ranked)> = (plans.iter().enumerate())
            .filter_map(|(i, plan)| match plan {
                Ok(Plan::Offer(best)) => Some((i, best)),
                _ => None,
            })
            .collect();
        if offers.is_empty() {
            return Ok(());
        }
        let made = self.claim_all(tx, rows, offers, outcomes, now).await?;
        if made.is_empty() {
            return Ok(());
        }
        let assignment_ids: Vec<&str> = made.iter().map(|c| rows[c.at].0.id.as_str()).collect();
        let seqs = store::next_offer_seqs(tx, &assignment_ids).await?;
        let mut offer_rows = Vec::with_capacity(made.len());
        let mut envelopes = Vec::with_capacity(made.len());
        for claimed in &made {
            let (row, span) = &rows[claimed.at];
            let technician_id = &claimed.best.technician_id;
            let seq = seqs.get(&row.id).copied().unwrap_or(1);
            offer_rows.push(offer_row(
                row,
                seq,
                technician_id,
                &claimed.ranking,
                false,
                now,
                claimed.expires,
            ));
            envelopes.push(span.in_scope(|| {
                envelope(
                    system(),
                    Some(&row.ticket_id),
                    offered(row, technician_id, claimed.expires),
                )
            }));
            outcomes[claimed.at] = Some(JobOutcome::Offered(technician_id.clone()));
        }
        assignment_offers::Entity::insert_many(offer_rows)
            .exec_without_returning(tx)
            .await
            .map_err(db_err)?;
        emit_all(tx, EVENTS_STREAM, envelopes).await?;
        Ok(())
    }

    /// Claims the offers of a burst (`at` its row), in one statement for the places and one
    /// for the assignments: the technicians are read once; a technician's places are
    /// reserved together, while on duty and with room for all of them, and each assignment
    /// moves to offered only while still waiting at the version read (the guards against
    /// overbooking and against a changed row). A row that changed gets `Retry` and its place
    /// back. Answers the offers claimed; the others are left to the single path.
    async fn claim_all<'r>(
        &self,
        tx: &DatabaseTransaction,
        rows: &[(assignments::Model, tracing::Span)],
        offers: Vec<(usize, &'r Ranked)>,
        outcomes: &mut [Option<JobOutcome>],
        now: DateTime<Utc>,
    ) -> Result<Vec<Claimed<'r>>, ApiError> {
        let mut ids: Vec<String> = (offers.iter())
            .map(|(_, b)| b.technician_id.clone())
            .collect();
        ids.sort();
        ids.dedup();
        let current: HashMap<String, technicians::Model> = store::technicians_by_id(tx, &ids)
            .await?
            .into_iter()
            .map(|t| (t.id.clone(), t))
            .collect();
        let offers: Vec<(usize, &Ranked)> = (offers.into_iter())
            .filter(|(_, best)| (current.get(&best.technician_id)).is_some_and(|t| self.is_free(t)))
            .collect();
        let mut wanted: HashMap<&str, i32> = HashMap::new();
        for (_, best) in &offers {
            *wanted.entry(best.technician_id.as_str()).or_default() += 1;
        }
        let reserved = store::reserve_offers(tx, &wanted).await?;
        let claimed: Vec<Claimed> = (offers.into_iter())
            .filter(|(_, best)| reserved.contains(&best.technician_id))
            .map(|(at, best)| Claimed {
                at,
                best,
                ranking: RankingRecord {
                    ranked: Some(best.clone()),
                    notes: Vec::new(),
                },
                expires: now + self.offer_timeout(&rows[at].0),
            })
            .collect();
        let burst: Vec<BurstOffer> = (claimed.iter())
            .map(|c| BurstOffer {
                row: &rows[c.at].0,
                technician_id: &c.best.technician_id,
                expires_ms: ms(c.expires),
                ranking: to_json(&c.ranking),
            })
            .collect();
        let moved = store::offer_all(tx, &burst).await?;
        let mut made = Vec::with_capacity(claimed.len());
        for c in claimed {
            if moved.contains(&rows[c.at].0.id) {
                made.push(c);
            } else {
                // The place reserved for it is given back in the same transaction.
                store::count_offer(tx, &c.best.technician_id, -1).await?;
                outcomes[c.at] = Some(JobOutcome::Retry);
            }
        }
        Ok(made)
    }
}

/// An offer of a burst claimed: its row's place in the burst, the technician ranked best, the
/// ranking record and the offer's expiry.
struct Claimed<'r> {
    at: usize,
    best: &'r Ranked,
    ranking: RankingRecord,
    expires: DateTime<Utc>,
}
