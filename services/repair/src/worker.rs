//! The repair service's background work: the consumer of the event stream, and the watcher
//! of the appraisal clocks. A failed customer acceptance (`CustomerAcceptanceRecorded`,
//! accepted = false) clears the case's completion, so the crew completes again after the
//! rework; applied once per event. An open dispute whose appraisal deadline passes is
//! announced once (`SlaBreached`, clock APPRAISAL), by whichever process stops its clock.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use steelcare_bus::{EventStream, run_group};
use steelcare_i18n::msg;
use steelcare_proto::events::v1::EventEnvelope;
use steelcare_proto::events::v1::event_envelope::Payload;
use steelcare_runtime::ApiError;
use steelcare_runtime::record::{receive, retry_aborted};
use steelcare_store::{begin_write, processed};
use tokio::sync::watch;
use tracing::Instrument;

use crate::engine::{Repairer, db_err, system};
use crate::records::kind;
use steelcare_proto::events::v1 as events;

/// The consumer group of the repair service on the event stream.
pub const CONSUMER_GROUP: &str = "repair";

/// Applies one event, once (processed-event key in the same transaction).
pub async fn handle_event(repairer: &Repairer, payload: &[u8]) -> Result<(), ApiError> {
    let (event, span) = receive(payload, CONSUMER_GROUP)?;
    retry_aborted(|| apply_event(repairer, &event))
        .instrument(span)
        .await
}

async fn apply_event(repairer: &Repairer, event: &EventEnvelope) -> Result<(), ApiError> {
    let Some(Payload::CustomerAcceptanceRecorded(acceptance)) = &event.payload else {
        return Ok(());
    };
    if acceptance.accepted {
        return Ok(());
    }
    let tx = begin_write(&repairer.db).await.map_err(db_err)?;
    if !processed::mark_processed(&tx, CONSUMER_GROUP, &event.event_id).await? {
        return Ok(());
    }
    let reason = msg!(
        "completion-cleared",
        acceptance = acceptance.acceptance_id.as_str()
    );
    // Only a completion the failed round judged: the crew may have completed the rework
    // since (the acceptance cleared this one in its own transaction already).
    let judged = event
        .occurred_time
        .as_ref()
        .and_then(|t| chrono::DateTime::from_timestamp(t.seconds, t.nanos.max(0) as u32));
    if crate::engine::clear_completion(&tx, &event.case_id, &reason, judged).await? {
        tracing::info!(case_id = %event.case_id, "completion cleared after a failed acceptance");
    }
    tx.commit().await.map_err(db_err)?;
    Ok(())
}

/// Announces every appraisal deadline that passed; returns how many.
pub async fn watch_once(repairer: &Repairer) -> Result<usize, ApiError> {
    let now = steelcare_store::now();
    let due = crate::store::due(&repairer.db, kind::DISPUTE, now.timestamp_millis(), 100).await?;
    let mut announced = 0;
    for row in due {
        let tx = begin_write(&repairer.db).await.map_err(db_err)?;
        if !crate::store::stop_clock(&tx, &row.id).await? {
            continue;
        }
        let dispute: steelcare_proto::repair::v1::Dispute = crate::store::decode(&row)?;
        repairer
            .event(
                &tx,
                system(),
                &row.ticket_id,
                Payload::SlaBreached(events::SlaBreached {
                    clock: events::SlaClockKind::Appraisal as i32,
                    deadline_time: dispute.appraisal_deadline_time,
                }),
            )
            .await?;
        tx.commit().await.map_err(db_err)?;
        announced += 1;
    }
    if announced > 0 {
        repairer.committed();
    }
    Ok(announced)
}

/// Runs the appraisal watcher until shutdown. Its state is in the database, so a restart
/// neither loses nor repeats an announcement.
pub async fn run_watcher(
    repairer: Repairer,
    interval: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    while !*shutdown.borrow() {
        match watch_once(&repairer).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(disputes = n, "appraisal deadlines passed"),
            Err(err) => tracing::warn!(error = %err, "appraisal watcher round failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = shutdown.changed() => {}
        }
    }
}

/// Runs the event consumer until shutdown; while `hold` is true it takes nothing (tests).
#[allow(clippy::too_many_arguments)]
pub async fn run_consumer_loop(
    repairer: Repairer,
    events: Arc<dyn EventStream>,
    consumer_name: String,
    redelivery: Duration,
    published: Option<watch::Receiver<u64>>,
    hold: Option<Arc<AtomicBool>>,
    shutdown: watch::Receiver<bool>,
) {
    run_group(
        events,
        CONSUMER_GROUP,
        &consumer_name,
        redelivery,
        published,
        shutdown,
        move |delivery| {
            let (repairer, hold) = (repairer.clone(), hold.clone());
            async move {
                // A test's stand-in for a repair Deployment that is down: nothing is taken.
                if hold.is_some_and(|h| h.load(Ordering::SeqCst)) {
                    return Err(ApiError::Unavailable("repair consumers held".to_owned()));
                }
                handle_event(&repairer, &delivery.payload).await
            }
        },
    )
    .await;
}
