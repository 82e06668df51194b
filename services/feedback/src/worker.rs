//! The feedback service's consumer of the event stream and its facts worker. Every event that
//! changes what the figures know of a case marks the case (and, for a recurrence's new ticket,
//! the original case); the facts worker rebuilds each marked case once per burst of its
//! events. `CaseArchived` rebuilds at once and schedules the case's return visits, once (a
//! processed-event key in the same transaction). A rebuild reads the records as they stand,
//! so events may arrive in any order or twice; what another consumer changes in reaction to
//! an event (a clock intake stops) shows at the case's next event.

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

/// Applies one event.
pub async fn handle_event(feedback: &Feedback, payload: &[u8]) -> Result<(), ApiError> {
    let (event, span) = receive(payload, CONSUMER_GROUP)?;
    retry_aborted(|| apply_event(feedback, &event))
        .instrument(span)
        .await
}

/// Whether an event changes what the figures know of its case.
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

async fn apply_event(feedback: &Feedback, event: &EventEnvelope) -> Result<(), ApiError> {
    let Some(payload) = &event.payload else {
        return Ok(());
    };
    if event.case_id.is_empty() || !changes_facts(payload) {
        return Ok(());
    }
    let tx = begin_write(&feedback.db).await.map_err(db_err)?;
    let mut scheduled = 0;
    if matches!(payload, Payload::CaseArchived(_)) {
        // The visits are scheduled from the facts (when the customer accepted): fresh now.
        facts::refresh(&tx, feedback.config.timezone, &event.case_id).await?;
        if processed::mark_processed(&tx, CONSUMER_GROUP, &event.event_id).await? {
            scheduled = feedback.schedule_visits(&tx, &event.case_id).await?;
        }
    } else {
        // Marked, and rebuilt once per burst of the case's events by the facts worker.
        facts::mark_dirty(&tx, &event.case_id).await?;
        if let Payload::TicketCreated(created) = payload
            && !created.related_case_id.is_empty()
        {
            facts::mark_dirty(&tx, &created.related_case_id).await?;
        }
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
/// Most cases one pass of the facts worker rebuilds.
const FACTS_BATCH: u64 = 200;

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

/// One pass: rebuilds the cases marked at least [`SETTLE`] ago, oldest first.
async fn rebuild_marked(feedback: &Feedback) -> Result<usize, ApiError> {
    let settled = steelcare_store::now() - SETTLE;
    let marked = facts::marked(&feedback.db, settled.timestamp_millis(), FACTS_BATCH).await?;
    for (ticket_id, marked_at_ms) in &marked {
        let tx = begin_write(&feedback.db).await.map_err(db_err)?;
        facts::hold_case(&tx, ticket_id).await?;
        let new = !facts::exists(&tx, ticket_id).await?;
        facts::refresh(&tx, feedback.config.timezone, ticket_id).await?;
        let reopened = if new {
            feedback.reopen_for(&tx, ticket_id).await?
        } else {
            Vec::new()
        };
        facts::clear_mark(&tx, ticket_id, *marked_at_ms).await?;
        tx.commit().await.map_err(db_err)?;
        if !reopened.is_empty() {
            feedback.committed();
            tracing::info!(case_id = %ticket_id, actions = ?reopened, "corrective actions reopened");
        }
    }
    Ok(marked.len())
}

/// Rebuilds the facts of every case (after a restore, or a change of how facts are derived);
/// returns how many. Tickets go in id order, which is creation order (UUIDv7), so an original
/// case's facts are rebuilt before a recurrence inherits its diagnosis from them.
pub async fn rebuild_all(
    db: &steelcare_store::Database,
    zone: chrono_tz::Tz,
) -> Result<usize, ApiError> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
    use steelcare_store::entity::tickets;
    let mut after = String::new();
    let mut done = 0;
    loop {
        let ids: Vec<String> = tickets::Entity::find()
            .select_only()
            .column(tickets::Column::Id)
            .filter(tickets::Column::Id.gt(after.clone()))
            .order_by_asc(tickets::Column::Id)
            .limit(500)
            .into_tuple()
            .all(db)
            .await
            .map_err(db_err)?;
        let Some(last) = ids.last().cloned() else {
            return Ok(done);
        };
        for id in ids {
            let tx = begin_write(db).await.map_err(db_err)?;
            facts::refresh(&tx, zone, &id).await?;
            tx.commit().await.map_err(db_err)?;
            done += 1;
        }
        after = last;
    }
}
