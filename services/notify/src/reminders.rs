//! What falls due without an event: a return visit due within a day (the customer's contact
//! hears when we will call, the agent who calls that it is due) and a corrective action due
//! within three days and not closed (its owner). Looked for every `reminder_interval`. Each
//! reminder is decided once, like an event, under a key of its own (`visit-due:<visit id>`,
//! `action-due:<action id>`), so every replica may look and each is told once.

use chrono::{DateTime, Days, NaiveDate, Utc};
use prost::Message as _;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use steelcare_i18n::Arg;
use steelcare_proto::events::v1::EventEnvelope;
use steelcare_proto::feedback::v1 as fpb;
use steelcare_runtime::ApiError;
use steelcare_store::entity::{corrective_actions, return_visits};
use steelcare_store::{begin_write, processed};
use tokio::sync::watch;

use crate::decide::{Decision, case};
use crate::deliveries;
use crate::engine::{Notifier, db_err};
use crate::recipients;
use crate::worker::CONSUMER_GROUP;

/// How far ahead a return visit is announced.
const VISIT_AHEAD: chrono::Duration = chrono::Duration::days(1);
/// How many days ahead a corrective action's owner is reminded.
const ACTION_AHEAD_DAYS: u64 = 3;
/// The stored statuses of a corrective action still to be done.
const ACTION_OPEN: [&str; 2] = ["ACTION_STATUS_OPEN", "ACTION_STATUS_IN_PROGRESS"];

/// Looks for what falls due until shutdown.
pub async fn run_reminders(notifier: Notifier, mut shutdown: watch::Receiver<bool>) {
    loop {
        if let Err(err) = remind(&notifier).await {
            tracing::warn!(error = %err, "reminders: will look again");
        }
        tokio::select! {
            _ = tokio::time::sleep(notifier.settings.reminder_interval) => {}
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            return;
        }
    }
}

/// One look: every reminder due now, each recorded once.
async fn remind(notifier: &Notifier) -> Result<(), ApiError> {
    let now = steelcare_store::now();
    let mut due = visits_due(notifier, now).await?;
    due.extend(actions_due(notifier, now).await?);
    let mut recorded = false;
    for (key, case_id, decisions) in due {
        recorded |= record(notifier, &key, case_id, &decisions, now).await?;
    }
    if recorded {
        notifier.due.notify_waiters();
        notifier.inbox.send_modify(|n| *n += 1);
    }
    Ok(())
}

/// A reminder's key, its case, and who hears what.
type Due = (String, String, Vec<Decision>);

/// Records the deliveries of the reminder `key` unless it was recorded before.
async fn record(
    notifier: &Notifier,
    key: &str,
    case_id: String,
    decisions: &[Decision],
    now: DateTime<Utc>,
) -> Result<bool, ApiError> {
    let tx = begin_write(&notifier.db).await.map_err(db_err)?;
    if !processed::mark_processed(&tx, CONSUMER_GROUP, key).await? {
        return Ok(false);
    }
    let envelope = EventEnvelope {
        event_id: key.to_owned(),
        case_id,
        occurred_time: Some(steelcare_runtime::convert::to_timestamp(now)),
        ..Default::default()
    };
    let rows = notifier.deliveries(&tx, &envelope, decisions).await?;
    deliveries::insert(&tx, rows).await?;
    tx.commit().await.map_err(db_err)?;
    Ok(true)
}

/// Return visits due within a day: the customer's contact, and the agent who calls.
async fn visits_due(notifier: &Notifier, now: DateTime<Utc>) -> Result<Vec<Due>, ApiError> {
    let db = &notifier.db;
    let visits = return_visits::Entity::find()
        .filter(return_visits::Column::Status.eq("scheduled"))
        .filter(return_visits::Column::DueAtMs.gt(now.timestamp_millis()))
        .filter(return_visits::Column::DueAtMs.lte((now + VISIT_AHEAD).timestamp_millis()))
        .all(db)
        .await
        .map_err(db_err)?;
    let mut out = Vec::new();
    for visit in visits {
        let key = format!("visit-due:{}", visit.id);
        let Some(case) = case(db, &visit.ticket_id).await? else {
            continue;
        };
        let when = DateTime::from_timestamp_millis(visit.due_at_ms).unwrap_or(now);
        let facts = vec![
            ("number", Arg::Text(case.ticket.acceptance_number.clone())),
            ("when", Arg::time(when, notifier.timezone)),
        ];
        let contact = recipients::contact(db, &case.ticket.reporter).await?;
        let agent = recipients::by_subjects(db, std::slice::from_ref(&visit.agent_id)).await?;
        let decisions = vec![
            Decision::new("visit-due", contact.into_iter().collect(), facts.clone()),
            Decision::new("visit-call-due", agent, facts),
        ];
        out.push((key, visit.ticket_id, decisions));
    }
    Ok(out)
}

/// Corrective actions due within three days and not closed: their owner.
async fn actions_due(notifier: &Notifier, now: DateTime<Utc>) -> Result<Vec<Due>, ApiError> {
    let db = &notifier.db;
    let today = now.with_timezone(&notifier.timezone).date_naive();
    let last = today
        .checked_add_days(Days::new(ACTION_AHEAD_DAYS))
        .unwrap_or(today);
    let day = |d: NaiveDate| d.format("%Y-%m-%d").to_string();
    let actions = corrective_actions::Entity::find()
        .filter(corrective_actions::Column::Status.is_in(ACTION_OPEN))
        .filter(corrective_actions::Column::DueDate.gte(day(today)))
        .filter(corrective_actions::Column::DueDate.lte(day(last)))
        .all(db)
        .await
        .map_err(db_err)?;
    let mut out = Vec::new();
    for row in actions {
        let key = format!("action-due:{}", row.id);
        let Ok(action) = fpb::CorrectiveAction::decode(row.body.as_slice()) else {
            continue;
        };
        let owner = action.owner.map(|o| o.user_id).unwrap_or_default();
        let Ok(due) = NaiveDate::parse_from_str(&row.due_date, "%Y-%m-%d") else {
            continue;
        };
        let facts = vec![("title", Arg::Text(action.title)), ("due", Arg::Date(due))];
        let to = recipients::by_subjects(db, &[owner]).await?;
        let case_id = action.case_ids.first().cloned().unwrap_or_default();
        out.push((key, case_id, vec![Decision::new("action-due", to, facts)]));
    }
    Ok(out)
}
