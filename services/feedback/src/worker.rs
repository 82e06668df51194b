//! The feedback service's consumer of the event stream. Every event that changes what the
//! figures know of a case rebuilds that case's facts (and, for a recurrence's new ticket, the
//! original case's); `CaseArchived` also schedules the case's return visits, once (a
//! processed-event key in the same transaction). A rebuild reads the records as they stand,
//! so events may arrive in any order or twice; what another consumer changes in reaction to
//! an event (a clock intake stops) shows at the case's next event.

use steelcare_proto::events::v1::EventEnvelope;
use steelcare_proto::events::v1::event_envelope::Payload;
use steelcare_runtime::ApiError;
use steelcare_runtime::record::{receive, retry_aborted};
use steelcare_store::{begin_write, processed};
use tracing::Instrument;

use crate::engine::{Feedback, db_err};
use crate::facts;

/// The consumer group of the feedback service on the event stream.
pub const CONSUMER_GROUP: &str = "feedback";
/// Marks the tickets whose corrective-action reopening was done (once per event).
const REOPEN_GROUP: &str = "feedback-reopen";

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
    let zone = feedback.config.timezone;
    let tx = begin_write(&feedback.db).await.map_err(db_err)?;
    facts::refresh(&tx, zone, &event.case_id).await?;
    if let Payload::TicketCreated(created) = payload
        && !created.related_case_id.is_empty()
    {
        facts::refresh(&tx, zone, &created.related_case_id).await?;
    }
    let mut reopened = Vec::new();
    if matches!(payload, Payload::TicketCreated(_))
        && processed::mark_processed(&tx, REOPEN_GROUP, &event.event_id).await?
    {
        reopened = feedback.reopen_for(&tx, &event.case_id).await?;
    }
    let mut scheduled = 0;
    if matches!(payload, Payload::CaseArchived(_))
        && processed::mark_processed(&tx, CONSUMER_GROUP, &event.event_id).await?
    {
        scheduled = feedback.schedule_visits(&tx, &event.case_id).await?;
    }
    tx.commit().await.map_err(db_err)?;
    if !reopened.is_empty() {
        feedback.committed();
        tracing::info!(case_id = %event.case_id, actions = ?reopened, "corrective actions reopened");
    }
    if scheduled > 0 {
        feedback.committed();
        tracing::info!(case_id = %event.case_id, visits = scheduled, "return visits scheduled");
    }
    Ok(())
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
