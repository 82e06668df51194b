//! The repair service's background work: the consumer of the event stream. A failed customer
//! acceptance (`CustomerAcceptanceRecorded`, accepted = false) clears the case's completion,
//! so the crew completes again after the rework; applied once per event.

use std::sync::Arc;
use std::time::Duration;

use steelcare_bus::{ConsumerOptions, EVENTS_STREAM, EventStream, run_consumer};
use steelcare_proto::events::v1::EventEnvelope;
use steelcare_proto::events::v1::event_envelope::Payload;
use steelcare_runtime::ApiError;
use steelcare_runtime::record::{receive, retry_aborted};
use steelcare_store::{begin_write, processed};
use tokio::sync::watch;
use tracing::Instrument;

use crate::engine::{Repairer, db_err};

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
    let reason = format!(
        "customer acceptance {} failed: rectification",
        acceptance.acceptance_id
    );
    if repairer
        .clear_completion(&tx, &event.case_id, &reason)
        .await?
    {
        tracing::info!(case_id = %event.case_id, "completion cleared after a failed acceptance");
    }
    tx.commit().await.map_err(db_err)?;
    Ok(())
}

/// Runs the event consumer until shutdown.
pub async fn run_consumer_loop(
    repairer: Repairer,
    events: Arc<dyn EventStream>,
    consumer_name: String,
    redelivery: Duration,
    published: Option<watch::Receiver<u64>>,
    shutdown: watch::Receiver<bool>,
) {
    let mut options = ConsumerOptions::new(EVENTS_STREAM, CONSUMER_GROUP, &consumer_name);
    options.wake = published;
    options.min_idle = redelivery;
    run_consumer(
        events,
        options,
        move |delivery| {
            let repairer = repairer.clone();
            async move { handle_event(&repairer, &delivery.payload).await }
        },
        shutdown,
    )
    .await;
}
