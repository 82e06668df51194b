//! Intake's background work: the SLA escalation watcher, and the consumer that stops clocks
//! when other services report the steps that meet them (arrival, agreement, completion),
//! takes over the category and tier a survey diagnosed, pauses the clocks while a dispute is
//! open and cancels them when a case needs no repair.

use std::sync::Arc;
use std::time::Duration;

use sea_orm::TransactionTrait;
use steelcare_bus::{EVENTS_STREAM, EventStream, run_group};
use steelcare_domain::sla::ClockKind;
use steelcare_domain::{ProblemCategory, SeverityTier};
use steelcare_proto::common::v1::Actor;
use steelcare_proto::events::v1::EventEnvelope;
use steelcare_proto::events::v1::event_envelope::Payload;
use steelcare_runtime::ApiError;
use steelcare_runtime::record::{emit, envelope, receive, retry_aborted};
use steelcare_store::{Database, begin_write, processed};
use tokio::sync::{Notify, watch};
use tracing::Instrument;

use crate::IntakeService;
use crate::clocks::{self, fire_due};
use crate::store;

/// The actor of work intake does on its own.
pub(crate) fn system() -> Actor {
    Actor {
        subject: "system:intake".to_owned(),
        roles: Vec::new(),
        organization_id: String::new(),
        display_name: String::new(),
    }
}

/// Fires every alert due now; returns how many events were emitted.
pub async fn watch_once(db: &Database) -> Result<usize, ApiError> {
    let now = steelcare_store::now();
    let due = store::due_clocks(db, now.timestamp_millis(), 200).await?;
    let mut emitted = 0;
    for row in due {
        let tx = begin_write(db)
            .await
            .map_err(steelcare_store::StoreError::from)?;
        let alerts = fire_due(&tx, &row, now).await?;
        for alert in &alerts {
            emit(
                &tx,
                EVENTS_STREAM,
                envelope(system(), Some(&alert.ticket_id), alert.payload.clone()),
            )
            .await?;
        }
        let tier = if alerts.is_empty() {
            String::new()
        } else {
            clocks::refresh_ticket(&tx, &row.ticket_id).await?;
            store::ticket(&tx, &row.ticket_id)
                .await?
                .map(|t| t.tier.to_ascii_uppercase())
                .unwrap_or_default()
        };
        tx.commit()
            .await
            .map_err(steelcare_store::StoreError::from)?;
        for alert in &alerts {
            let kind = match alert.payload {
                Payload::SlaBreached(_) => "breached",
                _ => "at_risk",
            };
            steelcare_runtime::metrics::record_sla_alert(kind, &row.kind, &tier);
        }
        emitted += alerts.len();
    }
    Ok(emitted)
}

/// Runs the escalation watcher until shutdown. Its state is in the database, so a restart
/// neither loses nor repeats an alert.
pub async fn run_watcher(
    db: Database,
    interval: Duration,
    relay: Option<Arc<Notify>>,
    mut shutdown: watch::Receiver<bool>,
) {
    while !*shutdown.borrow() {
        match watch_once(&db).await {
            Ok(0) => {}
            Ok(n) => {
                tracing::info!(alerts = n, "sla alerts fired");
                if let Some(relay) = &relay {
                    relay.notify_one();
                }
            }
            Err(err) => tracing::warn!(error = %err, "sla watcher round failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = shutdown.changed() => {}
        }
    }
}

/// The consumer group of intake on the event stream.
pub const CONSUMER_GROUP: &str = "intake";

/// Applies one event to intake's clocks, once (processed-event key in the same transaction).
pub async fn handle_event(service: &IntakeService, payload: &[u8]) -> Result<(), ApiError> {
    let (event, span) = receive(payload, CONSUMER_GROUP)?;
    retry_aborted(|| apply_event(service, &event))
        .instrument(span)
        .await
}

async fn apply_event(service: &IntakeService, event: &EventEnvelope) -> Result<(), ApiError> {
    if let Some(Payload::SurveyReportSubmitted(report)) = &event.payload {
        let diagnosed = ProblemCategory::from_proto_value(report.category)
            .zip(SeverityTier::from_proto_value(report.tier));
        return match diagnosed {
            Some((category, tier)) => {
                service
                    .apply_diagnosis(CONSUMER_GROUP, event, category, tier)
                    .await
            }
            None => Ok(()),
        };
    }
    if matches!(
        &event.payload,
        Some(
            Payload::DisputeOpened(_) | Payload::DisputeResolved(_) | Payload::CaseStateChanged(_)
        )
    ) {
        return service.follow_case(CONSUMER_GROUP, event).await;
    }
    let db = service.db();
    let kind = match &event.payload {
        Some(Payload::TechnicianArrived(_)) => ClockKind::Arrival,
        Some(Payload::AgreementSigned(_)) => ClockKind::Solution,
        Some(Payload::RepairCompleted(_)) => ClockKind::Completion,
        _ => return Ok(()),
    };
    // An arrival stops the clock when the technician arrived, which may precede the event.
    let reported = match &event.payload {
        Some(Payload::TechnicianArrived(arrived)) => arrived.arrive_time.as_ref(),
        _ => None,
    };
    let at = reported
        .or(event.occurred_time.as_ref())
        .and_then(|t| steelcare_runtime::convert::from_timestamp(t, "occurred_time").ok())
        .unwrap_or_else(steelcare_store::now);
    let tx = db
        .begin()
        .await
        .map_err(steelcare_store::StoreError::from)?;
    if !processed::mark_processed(&tx, CONSUMER_GROUP, &event.event_id).await? {
        return Ok(());
    }
    if clocks::stop(&tx, &event.case_id, kind, at).await?.is_some() {
        clocks::refresh_ticket(&tx, &event.case_id).await?;
    }
    tx.commit()
        .await
        .map_err(steelcare_store::StoreError::from)?;
    Ok(())
}

/// Runs the event consumer until shutdown.
pub async fn run_consumer_loop(
    service: IntakeService,
    events: Arc<dyn EventStream>,
    consumer_name: String,
    redelivery: Duration,
    published: Option<watch::Receiver<u64>>,
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
            let service = service.clone();
            async move { handle_event(&service, &delivery.payload).await }
        },
    )
    .await;
}
