//! Dispatch's background work:
//! - the event consumer (group `dispatch`): a classified ticket that needs a site visit gets a
//!   waiting assignment and a queue job; a cancelled or remotely resolved case withdraws it; a
//!   surveyed case completes it;
//! - queue workers: claim the earliest deadline with a lease, match and offer (or escalate);
//! - the sweeper: offers whose time ran out move on, and retries that came due are queued;
//! - the reconciler: at start and periodically, every waiting assignment the database knows
//!   and the queue lacks is queued again (DESIGN.md decision 3).

use std::sync::Arc;
use std::time::Duration;

use steelcare_bus::{ConsumerOptions, EVENTS_STREAM, EventStream, run_consumer};
use steelcare_domain::{CaseState, ProblemCategory, SeverityTier};
use steelcare_proto::events::v1::EventEnvelope;
use steelcare_proto::events::v1::event_envelope::Payload;
use steelcare_runtime::ApiError;
use steelcare_runtime::convert::from_timestamp;
use steelcare_runtime::record::{receive, retry_aborted};
use steelcare_store::{StoreError, processed};
use tokio::sync::watch;
use tracing::Instrument;

use crate::engine::{Dispatcher, JobOutcome, QUEUE};
use crate::records::state;
use crate::store;

/// The consumer group of dispatch on the event stream.
pub const CONSUMER_GROUP: &str = "dispatch";

fn db_err(err: sea_orm::DbErr) -> ApiError {
    StoreError::from(err).into()
}

/// Applies one event to dispatch, once (processed-event key in the same transaction).
pub async fn handle_event(dispatcher: &Dispatcher, payload: &[u8]) -> Result<(), ApiError> {
    let (event, span) = receive(payload, CONSUMER_GROUP)?;
    // A worker offering the assignment or a technician answering may change it meanwhile.
    retry_aborted(|| apply_event(dispatcher, &event))
        .instrument(span)
        .await
}

async fn apply_event(dispatcher: &Dispatcher, event: &EventEnvelope) -> Result<(), ApiError> {
    if let Some(Payload::CustomerAcceptanceRecorded(round)) = &event.payload {
        return count_first_round(dispatcher, event, round).await;
    }
    enum Action {
        Request {
            category: ProblemCategory,
            tier: SeverityTier,
            deadline: Option<chrono::DateTime<chrono::Utc>>,
        },
        End(&'static str, &'static str),
    }
    let action = match &event.payload {
        Some(Payload::TicketClassified(c)) if c.needs_site_visit => {
            let (Some(category), Some(tier)) = (
                ProblemCategory::from_proto_value(c.category),
                SeverityTier::from_proto_value(c.tier),
            ) else {
                tracing::warn!(event_id = %event.event_id, "classified event without a known category or tier");
                return Ok(());
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
            Action::End(state::WITHDRAWN, "reclassified: no site visit needed")
        }
        Some(Payload::CaseStateChanged(change)) => {
            match CaseState::ALL
                .into_iter()
                .find(|s| s.proto_value() == change.to_state)
            {
                Some(CaseState::Cancelled) => Action::End(state::WITHDRAWN, "case cancelled"),
                Some(CaseState::ResolvedRemotely) => {
                    Action::End(state::WITHDRAWN, "case resolved remotely")
                }
                Some(CaseState::Surveyed) => Action::End(state::COMPLETED, "survey done"),
                _ => return Ok(()),
            }
        }
        _ => return Ok(()),
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
                dispatcher.end_in(&tx, &row, outcome, reason, now).await?;
            }
            None
        }
    };
    tx.commit().await.map_err(db_err)?;
    dispatcher.committed();
    if let Some(row) = to_enqueue
        && row.state == state::WAITING
        && !dispatcher.enqueue(&row).await
    {
        // Already queued: it may have been revised, so it takes its new place.
        if let Err(err) = dispatcher.queue.rescore(QUEUE, &row.id, row.score).await {
            tracing::warn!(assignment_id = %row.id, error = %err, "cannot move the job to its new place in the queue");
        }
    }
    Ok(())
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
    // Small reads, so that the consumers of this group share a burst between them.
    options.batch = 16;
    run_consumer(
        events,
        options,
        move |delivery| {
            let dispatcher = dispatcher.clone();
            async move { handle_event(&dispatcher, &delivery.payload).await }
        },
        shutdown,
    )
    .await;
}

/// Claims and handles one job; returns whether there was one.
pub async fn work_once(dispatcher: &Dispatcher) -> Result<bool, ApiError> {
    let lease = dispatcher.config.settings.lease;
    let Some(job) = dispatcher.queue.claim(QUEUE, lease).await? else {
        return Ok(false);
    };
    // The job continues the trace of the event that created its assignment (the call that
    // took the ticket in), kept on the row so it survives a queue rebuilt from the database.
    let span = tracing::info_span!(
        "dispatch job",
        otel.name = "dispatch offer",
        otel.kind = "consumer",
        assignment_id = %job.job_id,
    );
    let handled = match store::assignment(&dispatcher.db, &job.job_id).await {
        Ok(Some(row)) => {
            if let Some(traceparent) = &row.trace_context {
                steelcare_runtime::telemetry::continue_trace(&span, traceparent, "");
            }
            dispatcher.handle_assignment(row).instrument(span).await
        }
        Ok(None) => Ok(JobOutcome::Skipped),
        Err(err) => Err(err),
    };
    match handled {
        Ok(outcome) => {
            match &outcome {
                JobOutcome::Offered(technician_id) => {
                    tracing::debug!(assignment_id = %job.job_id, %technician_id, "offered")
                }
                JobOutcome::Escalated(retry) => {
                    tracing::info!(assignment_id = %job.job_id, %retry, "nobody available; escalated")
                }
                JobOutcome::Skipped => {}
                JobOutcome::Retry => {
                    // Back at the row's current place: a reclassification may have moved it.
                    let score = store::assignment(&dispatcher.db, &job.job_id)
                        .await?
                        .map_or(job.score, |row| row.score);
                    dispatcher
                        .queue
                        .release(QUEUE, &job.job_id, &job.lease_token, score)
                        .await?;
                    return Ok(true);
                }
            }
            dispatcher
                .queue
                .ack(QUEUE, &job.job_id, &job.lease_token)
                .await?;
            Ok(true)
        }
        Err(err) => {
            // Leave the lease to expire: the job comes back and is tried again.
            tracing::warn!(assignment_id = %job.job_id, error = %err, "dispatch job failed; it will be retried");
            Ok(true)
        }
    }
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
