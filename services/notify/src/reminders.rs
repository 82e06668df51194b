//! What falls due without an event: a return visit due within a day (the customer's contact
//! hears when we will call, the agent who calls that it is due) and a corrective action due
//! within three days and not closed (its owner). Looked for every `reminder_interval`. Each
//! reminder is decided once, like an event, under a key of its own (`visit-due:<visit id>`,
//! `action-due:<action id>`), so every replica may look and each is told once; who hears it
//! is read only when its key is new.

use chrono::{DateTime, Days, NaiveDate, Utc};
use prost::Message as _;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
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

/// Something falling due: a return visit or a corrective action, as stored.
enum Reminder {
    Visit(return_visits::Model),
    Action(corrective_actions::Model),
}

impl Reminder {
    /// The key it is told once under.
    fn key(&self) -> String {
        match self {
            Reminder::Visit(visit) => format!("visit-due:{}", visit.id),
            Reminder::Action(action) => format!("action-due:{}", action.id),
        }
    }
}

/// One look: every reminder due now, each recorded once; who hears it is read only for the
/// ones not told before.
async fn remind(notifier: &Notifier) -> Result<(), ApiError> {
    let now = steelcare_store::now();
    let mut due = visits_due(notifier, now).await?;
    due.extend(actions_due(notifier, now).await?);
    let mut recorded = false;
    for reminder in due {
        recorded |= record(notifier, &reminder, now).await?;
    }
    if recorded {
        notifier.due.notify_waiters();
        notifier.inbox.send_modify(|n| *n += 1);
    }
    Ok(())
}

/// Records the deliveries of `reminder` unless it was recorded before.
async fn record(
    notifier: &Notifier,
    reminder: &Reminder,
    now: DateTime<Utc>,
) -> Result<bool, ApiError> {
    let key = reminder.key();
    let tx = begin_write(&notifier.db).await.map_err(db_err)?;
    if !processed::mark_processed(&tx, CONSUMER_GROUP, &key).await? {
        return Ok(false);
    }
    let (case_id, decisions) = match reminder {
        Reminder::Visit(visit) => visit_decisions(notifier, &tx, visit, now).await?,
        Reminder::Action(action) => action_decisions(&tx, action).await?,
    };
    let envelope = EventEnvelope {
        event_id: key,
        case_id,
        occurred_time: Some(steelcare_runtime::convert::to_timestamp(now)),
        ..Default::default()
    };
    let rows = notifier.deliveries(&tx, &envelope, &decisions).await?;
    deliveries::insert(&tx, rows).await?;
    tx.commit().await.map_err(db_err)?;
    Ok(true)
}

/// Return visits due within a day.
async fn visits_due(notifier: &Notifier, now: DateTime<Utc>) -> Result<Vec<Reminder>, ApiError> {
    let visits = return_visits::Entity::find()
        .filter(return_visits::Column::Status.eq("scheduled"))
        .filter(return_visits::Column::DueAtMs.gt(now.timestamp_millis()))
        .filter(return_visits::Column::DueAtMs.lte((now + VISIT_AHEAD).timestamp_millis()))
        .all(&notifier.db)
        .await
        .map_err(db_err)?;
    Ok(visits.into_iter().map(Reminder::Visit).collect())
}

/// A visit's case and who hears of it: the customer's contact, and the agent who calls.
async fn visit_decisions(
    notifier: &Notifier,
    conn: &impl ConnectionTrait,
    visit: &return_visits::Model,
    now: DateTime<Utc>,
) -> Result<(String, Vec<Decision>), ApiError> {
    let Some(case) = case(conn, &visit.ticket_id).await? else {
        return Ok((visit.ticket_id.clone(), Vec::new()));
    };
    let when = DateTime::from_timestamp_millis(visit.due_at_ms).unwrap_or(now);
    let facts = vec![
        ("number", Arg::Text(case.ticket.acceptance_number.clone())),
        ("when", Arg::time(when, notifier.timezone)),
    ];
    let contact = recipients::contact(conn, &case.ticket.reporter).await?;
    let agent = recipients::by_subjects(conn, std::slice::from_ref(&visit.agent_id)).await?;
    let decisions = vec![
        Decision::new("visit-due", contact.into_iter().collect(), facts.clone()),
        Decision::new("visit-call-due", agent, facts),
    ];
    Ok((visit.ticket_id.clone(), decisions))
}

/// Corrective actions due within three days and not closed.
async fn actions_due(notifier: &Notifier, now: DateTime<Utc>) -> Result<Vec<Reminder>, ApiError> {
    let today = now.with_timezone(&notifier.timezone).date_naive();
    let last = today
        .checked_add_days(Days::new(ACTION_AHEAD_DAYS))
        .unwrap_or(today);
    let day = |d: NaiveDate| d.format("%Y-%m-%d").to_string();
    let actions = corrective_actions::Entity::find()
        .filter(corrective_actions::Column::Status.is_in(ACTION_OPEN))
        .filter(corrective_actions::Column::DueDate.gte(day(today)))
        .filter(corrective_actions::Column::DueDate.lte(day(last)))
        .all(&notifier.db)
        .await
        .map_err(db_err)?;
    Ok(actions.into_iter().map(Reminder::Action).collect())
}

/// An action's first case and who hears of it: its owner.
async fn action_decisions(
    conn: &impl ConnectionTrait,
    row: &corrective_actions::Model,
) -> Result<(String, Vec<Decision>), ApiError> {
    let action = fpb::CorrectiveAction::decode(row.body.as_slice()).ok();
    let due = NaiveDate::parse_from_str(&row.due_date, "%Y-%m-%d").ok();
    let (Some(action), Some(due)) = (action, due) else {
        return Ok((String::new(), Vec::new()));
    };
    let owner = action.owner.map(|o| o.user_id).unwrap_or_default();
    let facts = vec![("title", Arg::Text(action.title)), ("due", Arg::Date(due))];
    let to = recipients::by_subjects(conn, &[owner]).await?;
    let case_id = action.case_ids.first().cloned().unwrap_or_default();
    Ok((case_id, vec![Decision::new("action-due", to, facts)]))
}
