//! The feedback service's consumer of the event stream and its facts worker. Every event that
//! changes what the figures know of a case marks the case (and, for a recurrence's new ticket,
//! the original case), a whole read of the stream in one statement; the facts worker rebuilds
//! each marked case once per burst of its events. `CaseArchived` rebuilds at once and schedules the case's return visits, once (a
//! processed-event key in the same transaction). A rebuild reads the records as they stand,
//! so events may arrive in any order or twice; what another consumer changes in reaction to
//! an event (a clock intake stops) shows at the case's next event.

use std::collections::BTreeSet;

use steelcare_bus::Delivery;
use steelcare_proto::events::v1::EventEnvelope;
use steelcare_proto::events::v1::event_envelope::Payload;
use steelcare_runtime::ApiError;
use steelcare_runtime::record::{receive, retry_aborted};
use steelcare_store::{begin_write, processed};
use tokio::sync::watch;
use tracing::Instrument;

use crate::engine::{Feedback, db_err};
use crate::facts;

/// The consumer group of the feedback service on the event stream.
pub const CONSUMER_GROUP: &str = "feedback";

/// Applies a read of events; answers the entry ids applied (the others are delivered again).
/// The cases the read changes are marked in one transaction; an archive, which schedules the
/// case's visits, is applied on its own.
pub async fn handle_events(feedback: &Feedback, batch: Vec<Delivery>) -> Vec<String> {
    let mut done = Vec::with_capacity(batch.len());
    let mut marked = Vec::new();
    let mut cases = BTreeSet::new();
    for delivery in batch {
        let (event, span) = match receive(&delivery.payload, CONSUMER_GROUP) {
            Ok(received) => received,
            Err(err) => {
                tracing::warn!(event_id = %delivery.event_id, error = %err, "event handling failed; it will be redelivered");
                continue;
            }
        };
        match marks(&event) {
            Marks::Nothing => done.push(delivery.entry_id),
            Marks::Cases(ids) => {
                cases.extend(ids);
                marked.push(delivery.entry_id);
            }
            Marks::Archive => {
                let applied = retry_aborted(|| archived(feedback, &event))
                    .instrument(span)
                    .await;
                match applied {
                    Ok(()) => done.push(delivery.entry_id),
                    Err(err) => {
                        tracing::warn!(event_id = %event.event_id, error = %err, "event handling failed; it will be redelivered")
                    }
                }
            }
        }
    }
    if cases.is_empty() {
        return done;
    }
    let cases: Vec<String> = cases.into_iter().collect();
    match retry_aborted(|| mark_all(feedback, &cases)).await {
        Ok(()) => done.extend(marked),
        Err(err) => {
            tracing::warn!(cases = cases.len(), error = %err, "marking cases' facts stale failed; their events will be redelivered")
        }
    }
    done
}

/// What an event asks of the feedback consumer.
enum Marks {
    Nothing,
    /// Mark these cases' facts stale.
    Cases(Vec<String>),
    /// Rebuild now and schedule the visits.
    Archive,
}

fn marks(event: &EventEnvelope) -> Marks {
    let Some(payload) = &event.payload else {
        return Marks::Nothing;
    };
    if event.case_id.is_empty() || !changes_facts(payload) {
        return Marks::Nothing;
    }
    match payload {
        Payload::CaseArchived(_) => Marks::Archive,
        // A recurrence's new ticket changes its original case's figures too.
        Payload::TicketCreated(created) if !created.related_case_id.is_empty() => {
            Marks::Cases(vec![event.case_id.clone(), created.related_case_id.clone()])
        }
        _ => Marks::Cases(vec![event.case_id.clone()]),
    }
}

async fn mark_all(feedback: &Feedback, cases: &[String]) -> Result<(), ApiError> {
    let tx = begin_write(&feedback.db).await.map_err(db_err)?;
    facts::mark_all_dirty(&tx, cases).await?;
    tx.commit().await.map_err(db_err)
}

/// Whether an event changes what the figures (or the experience base's words) know of its
/// case.
fn changes_facts(payload: &Payload) -> bool {
    matches!(
        payload,
        Payload::TicketCreated(_)
            | Payload::TicketClassified(_)
            | Payload::TicketAcknowledged(_)
            | Payload::CaseStateChanged(_)
            | Payload::SlaBreached(_)
            | Payload::AssignmentAccepted(_)
            | Payload::SurveyPlanned(_)
            | Payload::TechnicianArrived(_)
            | Payload::SurveyReportSubmitted(_)
            | Payload::PlanProposed(_)
            | Payload::AgreementSigned(_)
            | Payload::WorkLogged(_)
            | Payload::RepairCompleted(_)
            | Payload::DisputeOpened(_)
            | Payload::DisputeResolved(_)
            | Payload::CustomerAcceptanceRecorded(_)
            | Payload::CaseArchived(_)
            | Payload::VisitRecorded(_)
    )
}

/// An archived case: its facts rebuilt now (the visits are scheduled from them: when the
/// customer accepted) and its return visits scheduled, once.
async fn archived(feedback: &Feedback, event: &EventEnvelope) -> Result<(), ApiError> {
    let tx = begin_write(&feedback.db).await.map_err(db_err)?;
    facts::refresh(&tx, feedback.config.timezone, &event.case_id).await?;
    let mut scheduled = 0;
    if processed::mark_processed(&tx, CONSUMER_GROUP, &event.event_id).await? {
        scheduled = feedback.schedule_visits(&tx, &event.case_id).await?;
    }
    tx.commit().await.map_err(db_err)?;
    if scheduled > 0 {
        feedback.committed();
        tracing::info!(case_id = %event.case_id, visits = scheduled, "return visits scheduled");
    }
    Ok(())
}

/// How long a case's mark rests before its facts are rebuilt: the events of one burst (a
/// ticket taken in, classified, offered) come within it and make one rebuild.
const SETTLE: std::time::Duration = std::time::Duration::from_millis(100);
/// Most cases one pass of the facts worker rebuilds (in one transaction).
const FACTS_BATCH: u64 = 100;
/// Cases a rebuild of everything rebuilds in one transaction.
const REBUILD_CHUNK: usize = 100;

/// Rebuilds the facts of the marked cases until shutdown, each once per burst of its events;
/// a case whose facts are new (a ticket just taken in) reopens the corrective actions its
/// pattern comes back to. A mark made again during a rebuild stays for the next pass; a crash
/// leaves the marks for the next worker.
pub async fn run_facts_worker(feedback: Feedback, mut shutdown: watch::Receiver<bool>) {
    loop {
        let rebuilt = match rebuild_marked(&feedback).await {
            Ok(n) => n,
            Err(err) => {
                tracing::warn!(error = %err, "facts worker: will retry");
                0
            }
        };
        if rebuilt < FACTS_BATCH as usize {
            tokio::select! {
                _ = tokio::time::sleep(SETTLE) => {}
                _ = shutdown.changed() => {}
            }
        }
        if *shutdown.borrow() {
            return;
        }
    }
}

/// One pass: rebuilds the cases marked at least [`SETTLE`] ago, oldest first, together, but
/// for those a concurrent change holds (they are marked again by it); answers how many marks
/// it read, or none when it could hold none of them.
async fn rebuild_marked(feedback: &Feedback) -> Result<usize, ApiError> {
    let settled = steelcare_store::now() - SETTLE;
    let marked = facts::marked(&feedback.db, settled.timestamp_millis(), FACTS_BATCH).await?;
    if marked.is_empty() {
        return Ok(0);
    }
    let ids: Vec<String> = marked.iter().map(|m| m.key.clone()).collect();
    let tx = begin_write(&feedback.db).await.map_err(db_err)?;
    let held = facts::hold_cases(&tx, &ids).await?;
    let known = facts::existing(&tx, &held).await?;
    let built = facts::refresh_all(&tx, feedback.config.timezone, &held).await?;
    let new: Vec<_> = built
        .iter()
        .filter(|f| !known.contains(&f.ticket_id))
        .collect();
    let reopened = feedback.reopen_for(&tx, &new).await?;
    let rebuilt: Vec<_> = marked
        .into_iter()
        .filter(|m| held.contains(&m.key))
        .collect();
    facts::clear_marks(&tx, &rebuilt).await?;
    tx.commit().await.map_err(db_err)?;
    feedback.experience.wake.notify_one();
    if !reopened.is_empty() {
        feedback.committed();
        tracing::info!(actions = ?reopened, "corrective actions reopened");
    }
    // A pass that could hold none of its cases rests like an idle one: their changes are
    // still being written.
    Ok(if held.is_empty() { 0 } else { ids.len() })
}

/// Rebuilds the facts of every case (after a restore, or a change of how facts are derived);
/// returns how many. Tickets go in id order, which is creation order (UUIDv7), so an original
/// case's facts are rebuilt before a recurrence inherits its diagnosis from them.
pub async fn rebuild_all(
    db: &steelcare_store::Database,
    zone: chrono_tz::Tz,
) -> Result<usize, ApiError> {
    let mut after = String::new();
    let mut done = 0;
    loop {
        let ids = facts::ticket_ids_after(db, &after, 500).await?;
        let Some(last) = ids.last().cloned() else {
            return Ok(done);
        };
        for chunk in ids.chunks(REBUILD_CHUNK) {
            let tx = begin_write(db).await.map_err(db_err)?;
            facts::refresh_all(&tx, zone, chunk).await?;
            tx.commit().await.map_err(db_err)?;
            done += chunk.len();
        }
        after = last;
    }
}
