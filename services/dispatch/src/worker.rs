//! Dispatch's background work:
//! - the event consumer (group `dispatch`): a classified ticket that needs a site visit gets a
//!   waiting assignment and a queue job; a cancelled or remotely resolved case withdraws it; a
//!   surveyed case completes it;
//! - queue workers: claim the earliest deadline with a lease, match and offer (or escalate);
//! - the sweeper: offers whose time ran out move on, and retries that came due are queued;
//! - the reconciler: at start and periodically, every waiting assignment the database knows
//!   and the queue lacks is queued again (DESIGN.md decision 3).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use steelcare_i18n::{Msg, Said};

use steelcare_bus::{
    ClaimedJob, ConsumerOptions, Delivery, EVENTS_STREAM, EventStream, run_batch_consumer,
};
use steelcare_domain::{CaseState, ProblemCategory, SeverityTier};
use steelcare_proto::events::v1::EventEnvelope;
use steelcare_proto::events::v1::event_envelope::Payload;
use steelcare_runtime::ApiError;
use steelcare_runtime::convert::from_timestamp;
use steelcare_runtime::record::{receive, retry_aborted};
use steelcare_store::{StoreError, processed};
use tokio::sync::watch;
use tracing::Instrument;

use crate::engine::{Dispatcher, JOBS_PER_CLAIM, JobOutcome, QUEUE, VisitRequest};
use crate::records::state;
use crate::store;
use steelcare_store::entity::assignments;

/// The consumer group of dispatch on the event stream.
pub const CONSUMER_GROUP: &str = "dispatch";

fn db_err(err: sea_orm::DbErr) -> ApiError {
    StoreError::from(err).into()
}

/// What an event asks of dispatch.
#[derive(Clone, Copy)]
enum Action {
    /// A site visit for a classified ticket (a new assignment, or a revised one).
    Request {
        category: ProblemCategory,
        tier: SeverityTier,
        deadline: Option<chrono::DateTime<chrono::Utc>>,
    },
    /// The assignment ends with this outcome and reason (a catalogue message id).
    End(&'static str, &'static str),
}

/// What `event` asks of dispatch; `None` for an event dispatch does not follow.
fn action_of(event: &EventEnvelope) -> Option<Action> {
    Some(match &event.payload {
        Some(Payload::TicketClassified(c)) if c.needs_site_visit => {
            let (Some(category), Some(tier)) = (
                ProblemCategory::from_proto_value(c.category),
                SeverityTier::from_proto_value(c.tier),
            ) else {
                tracing::warn!(event_id = %event.event_id, "classified event without a known category or tier");
                return None;
            };
            Action::Request {
                category,
                tier,
                deadline: c
                    .arrival_deadline_time
                    .as_ref()
                    .and_then(|t| from_timestamp(t, "arrival_deadline_time").ok()),
            }
        }
        Some(Payload::TicketClassified(_)) => {
            Action::End(state::WITHDRAWN, "offer-end-reclassified")
        }
        Some(Payload::CaseStateChanged(change)) => {
            match CaseState::ALL
                .into_iter()
                .find(|s| s.proto_value() == change.to_state)
            {
                Some(CaseState::Cancelled) => Action::End(state::WITHDRAWN, "offer-end-cancelled"),
                Some(CaseState::ResolvedRemotely) => {
                    Action::End(state::WITHDRAWN, "offer-end-resolved-remotely")
                }
                Some(CaseState::Surveyed) => Action::End(state::COMPLETED, "offer-end-surveyed"),
                _ => return None,
            }
        }
        _ => return None,
    })
}

/// Applies one event, once (processed-event key in the same transaction); `action` is what
/// [`action_of`] made of it.
async fn apply_event(
    dispatcher: &Dispatcher,
    event: &EventEnvelope,
    action: Option<Action>,
) -> Result<(), ApiError> {
    if let Some(Payload::CustomerAcceptanceRecorded(round)) = &event.payload {
        return count_first_round(dispatcher, event, round).await;
    }
    let Some(action) = action else {
        return Ok(());
    };
    let now = steelcare_store::now();
    // Several consumers may run at once: take the write lock up front on SQLite.
    let tx = steelcare_store::begin_write(&dispatcher.db)
        .await
        .map_err(db_err)?;
    if !processed::mark_processed(&tx, CONSUMER_GROUP, &event.event_id).await? {
        return Ok(());
    }
    let to_enqueue = match action {
        Action::Request {
            category,
            tier,
            deadline,
        } => {
            dispatcher
                .request_visit(&tx, &event.case_id, category, tier, deadline, now)
                .await?
        }
        Action::End(outcome, reason) => {
            if let Some(row) = store::assignment_of_ticket(&tx, &event.case_id).await? {
                dispatcher
                    .end_in(&tx, &row, outcome, &Said::from(Msg::new(reason)), now)
                    .await?;
            }
            None
        }
    };
    tx.commit().await.map_err(db_err)?;
    dispatcher.committed();
    if let Some(row) = to_enqueue {
        dispatcher.queue_waiting(&row).await;
    }
    Ok(())
}

/// Applies one read of the stream; answers the entry ids handled. The site visits of
/// tickets that have no other event in the read go together in one transaction
/// ([`Dispatcher::request_visits`]); every other event, and all of them when the burst
/// cannot be taken as a whole, one by one in the stream's order.
pub async fn handle_events(dispatcher: &Dispatcher, batch: Vec<Delivery>) -> Vec<String> {
    let decoded = decode(batch);
    let burst = take_burst(dispatcher, &decoded).await;
    let mut done = Vec::with_capacity(decoded.len());
    for (i, (entry_id, event, span, action)) in decoded.into_iter().enumerate() {
        if !burst.contains(&i) {
            // A worker offering the assignment or a technician answering may change it.
            let applied = retry_aborted(|| apply_event(dispatcher, &event, action))
                .instrument(span)
                .await;
            if let Err(err) = applied {
                tracing::warn!(event_id = %event.event_id, error = %err, "event handling failed; it will be redelivered");
                continue;
            }
        }
        done.push(entry_id);
    }
    done
}

/// An event of a read with its entry id, span and what it asks of dispatch.
type Decoded = (String, EventEnvelope, tracing::Span, Option<Action>);

/// The events of a read that can be decoded (the others stay pending and come back).
fn decode(batch: Vec<Delivery>) -> Vec<Decoded> {
    let mut decoded = Vec::with_capacity(batch.len());
    for delivery in batch {
        match receive(&delivery.payload, CONSUMER_GROUP) {
            Ok((event, span)) => {
                let action = action_of(&event);
                decoded.push((delivery.entry_id, event, span, action));
            }
            Err(err) => {
                tracing::warn!(event_id = %delivery.event_id, error = %err, "event handling failed; it will be redelivered")
            }
        }
    }
    decoded
}

/// Applies the site visits of the read's tickets that have no other event in it that
/// dispatch acts on, together; answers their positions, or none when they were not taken
/// (fewer than two, or the burst could not be taken whole).
async fn take_burst(dispatcher: &Dispatcher, decoded: &[Decoded]) -> HashSet<usize> {
    let mut per_case: HashMap<&str, usize> = HashMap::new();
    for (_, event, _, action) in decoded {
        if action.is_some() || matches!(event.payload, Some(Payload::CustomerAcceptanceRecorded(_)))
        {
            *per_case.entry(event.case_id.as_str()).or_default() += 1;
        }
    }
    let mut burst = HashSet::new();
    let mut requests = Vec::new();
    for (i, (_, event, span, action)) in decoded.iter().enumerate() {
        if let Some(Action::Request {
            category,
            tier,
            deadline,
        }) = *action
            && per_case.get(event.case_id.as_str()) == Some(&1)
        {
            burst.insert(i);
            requests.push(VisitRequest {
                event_id: event.event_id.clone(),
                ticket_id: event.case_id.clone(),
                category,
                tier,
                deadline,
                span: span.clone(),
            });
        }
    }
    if requests.len() < 2 {
        return HashSet::new();
    }
    match dispatcher.request_visits(CONSUMER_GROUP, &requests).await {
        Ok(true) => burst,
        Ok(false) => {
            tracing::debug!("a burst of site visits goes one by one");
            HashSet::new()
        }
        Err(err) => {
            tracing::warn!(error = %err, "a burst of site visits failed; applying its events one by one");
            HashSet::new()
        }
    }
}

/// A first acceptance round counts for every technician of the crew it judged (the rate
/// matching ranks on); later rounds do not. Once per event.
async fn count_first_round(
    dispatcher: &Dispatcher,
    event: &EventEnvelope,
    round: &steelcare_proto::events::v1::CustomerAcceptanceRecorded,
) -> Result<(), ApiError> {
    if round.round != 1 || round.technician_ids.is_empty() {
        return Ok(());
    }
    let tx = steelcare_store::begin_write(&dispatcher.db)
        .await
        .map_err(db_err)?;
    if !processed::mark_processed(&tx, CONSUMER_GROUP, &event.event_id).await? {
        return Ok(());
    }
    for technician_id in &round.technician_ids {
        store::count_first_round(&tx, technician_id, round.accepted).await?;
    }
    tx.commit().await.map_err(db_err)?;
    Ok(())
}

/// Runs the event consumer until shutdown.
pub async fn run_consumer_loop(
    dispatcher: Dispatcher,
    events: Arc<dyn EventStream>,
    consumer_name: String,
    redelivery: Duration,
    published: Option<watch::Receiver<u64>>,
    shutdown: watch::Receiver<bool>,
) {
    let mut options = ConsumerOptions::new(EVENTS_STREAM, CONSUMER_GROUP, &consumer_name);
    options.wake = published;
    options.min_idle = redelivery;
    // A storm's events go in reads of up to 256, each one transaction for its site visits.
    // A ticket brings about four events and dispatch acts on one of them, so a read of 64
    // held some 16 visits: at 1,000 tickets/s on two cores the consumer fell seconds behind
    // the stream, urgent tickets with the rest (the queue behind it is earliest deadline
    // first, the stream is not). Read 256 at a time, the backlog waits in the queue, where
    // P1 goes first. A quiet read takes what is there, as before.
    options.batch = 256;
    run_batch_consumer(
        events,
        options,
        move |batch| {
            let dispatcher = dispatcher.clone();
            async move { handle_events(&dispatcher, batch).await }
        },
        shutdown,
    )
    .await;
}

/// Claims up to [`JOBS_PER_CLAIM`] jobs and handles them; returns whether there was one. The
/// claim is one call to the queue, and so are the acks of the jobs done.
pub async fn work_once(dispatcher: &Dispatcher) -> Result<bool, ApiError> {
    let lease = dispatcher.config.settings.lease;
    let jobs = dispatcher
        .queue
        .claim_up_to(QUEUE, lease, JOBS_PER_CLAIM)
        .await?;
    if jobs.is_empty() {
        return Ok(false);
    }
    let ids: Vec<&str> = jobs.iter().map(|j| j.job_id.as_str()).collect();
    // Leave the leases to expire on a failed read: the jobs come back and are tried again.
    let mut rows = store::assignments_by_id(&dispatcher.db, &ids).await?;
    let mut claimed = Vec::with_capacity(jobs.len());
    let mut held = Vec::with_capacity(jobs.len());
    let mut done = Vec::with_capacity(jobs.len());
    for job in &jobs {
        match rows.remove(&job.job_id) {
            Some(row) => {
                let span = job_span(&row);
                held.push((row, span));
                claimed.push(job);
            }
            // Gone: nothing to do.
            None => done.push(job),
        }
    }
    let outcomes = match held.len() {
        0 => Vec::new(),
        1 => {
            let (row, span) = held.remove(0);
            vec![dispatcher.handle_assignment(row).instrument(span).await]
        }
        _ => dispatcher.handle_assignments(held).await,
    };
    for (job, outcome) in claimed.into_iter().zip(outcomes) {
        match settle(dispatcher, job, outcome).await {
            Ok(true) => done.push(job),
            Ok(false) => {}
            // The lease expires and the job comes back; the others are still acked.
            Err(err) => {
                tracing::warn!(assignment_id = %job.job_id, error = %err, "a retried job could not go back to the queue")
            }
        }
    }
    let acks: Vec<(&str, &str)> = (done.iter())
        .map(|job| (job.job_id.as_str(), job.lease_token.as_str()))
        .collect();
    dispatcher.queue.ack_all(QUEUE, &acks).await?;
    Ok(true)
}

/// The span of a job, continuing the trace of the event that created its assignment (the
/// call that took the ticket in), kept on the row so it survives a queue rebuilt from the
/// database.
fn job_span(row: &assignments::Model) -> tracing::Span {
    let span = tracing::info_span!(
        "dispatch job",
        otel.name = "dispatch offer",
        otel.kind = "consumer",
        assignment_id = %row.id,
    );
    if let Some(traceparent) = &row.trace_context {
        steelcare_runtime::telemetry::continue_trace(&span, traceparent, "");
    }
    span
}

/// What becomes of a claimed job: `true` when it is done (the caller acks it with the rest);
/// a retry goes back at once at the row's current place; when handling failed, nothing: the
/// lease expires and the job comes back.
async fn settle(
    dispatcher: &Dispatcher,
    job: &ClaimedJob,
    outcome: Result<JobOutcome, ApiError>,
) -> Result<bool, ApiError> {
    match outcome {
        Ok(JobOutcome::Offered(technician_id)) => {
            tracing::debug!(assignment_id = %job.job_id, %technician_id, "offered")
        }
        Ok(JobOutcome::Escalated(retry)) => {
            tracing::info!(assignment_id = %job.job_id, %retry, "nobody available; escalated")
        }
        Ok(JobOutcome::Skipped) => {}
        Ok(JobOutcome::Retry) => {
            // Back at the row's current place: a reclassification may have moved it.
            let score = store::assignment(&dispatcher.db, &job.job_id)
                .await?
                .map_or(job.score, |row| row.score);
            dispatcher
                .queue
                .release(QUEUE, &job.job_id, &job.lease_token, score)
                .await?;
            return Ok(false);
        }
        Err(err) => {
            tracing::warn!(assignment_id = %job.job_id, error = %err, "dispatch job failed; it will be retried");
            return Ok(false);
        }
    }
    Ok(true)
}

/// Runs one queue worker until shutdown: busy while there is work, then waits for this
/// process's enqueue signal or polls (5 → 200 ms) for jobs other processes queued.
pub async fn run_queue_worker(dispatcher: Dispatcher, mut shutdown: watch::Receiver<bool>) {
    let signal = dispatcher.work_signal();
    let mut idle = Duration::from_millis(5);
    while !*shutdown.borrow() {
        match work_once(&dispatcher).await {
            Ok(true) => {
                idle = Duration::from_millis(5);
                continue;
            }
            Ok(false) => idle = (idle * 2).min(Duration::from_millis(200)),
            Err(err) => {
                tracing::warn!(error = %err, "dispatch queue claim failed");
                idle = Duration::from_secs(1);
            }
        }
        tokio::select! {
            _ = signal.notified() => {}
            _ = tokio::time::sleep(idle) => {}
            _ = shutdown.changed() => {}
        }
    }
}

/// Runs the sweeper (expired offers, due retries) and the reconciler until shutdown. The
/// reconciler runs first at start.
pub async fn run_sweeper(dispatcher: Dispatcher, mut shutdown: watch::Receiver<bool>) {
    let sweep = dispatcher.config.settings.sweep_interval;
    let reconcile_every = dispatcher.config.settings.reconcile_interval;
    let mut last_reconcile: Option<tokio::time::Instant> = None;
    while !*shutdown.borrow() {
        if last_reconcile.is_none_or(|at| at.elapsed() >= reconcile_every) {
            match dispatcher.reconcile(false).await {
                Ok(0) => {}
                Ok(n) => {
                    tracing::warn!(restored = n, "reconciler queued jobs the queue was missing")
                }
                Err(err) => tracing::warn!(error = %err, "reconciler round failed"),
            }
            last_reconcile = Some(tokio::time::Instant::now());
        }
        match dispatcher.expire_offers().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                expired = n,
                "offers timed out; moving to the next candidate"
            ),
            Err(err) => tracing::warn!(error = %err, "offer sweep failed"),
        }
        if let Err(err) = dispatcher.reconcile(true).await {
            tracing::warn!(error = %err, "retry sweep failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(sweep) => {}
            _ = shutdown.changed() => {}
        }
    }
}
