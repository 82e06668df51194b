//! The notification service's consumer of the event stream: each event is decided once (a
//! processed-event key in the same transaction as its deliveries; the events of one read go
//! in one transaction, which reads the cases, clocks, people and preferences they need once
//! for all of them, so the group keeps up with a storm of tickets), and every delivery it
//! calls for is recorded before anything is sent, rendered in the recipient's language, due
//! now or when the recipient's quiet hours end (never later for an urgent one). The senders
//! are woken after the commit.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, ConnectionTrait};
use steelcare_bus::Delivery;
use steelcare_i18n::{Arg, Locale, Msg};
use steelcare_proto::events::v1::EventEnvelope;
use steelcare_runtime::ApiError;
use steelcare_runtime::record::{receive, retry_aborted};
use steelcare_store::entity::notify_deliveries;
use steelcare_store::{begin_write, processed};
use tracing::Instrument;

use crate::channels::Kind;
use crate::decide::{Decision, Lookups};
use crate::deliveries::{self, state};
use crate::engine::{Notifier, db_err};
use crate::recipients::{self, Preferences, after_quiet_hours, channels_for};

/// The consumer group of the notification service on the event stream.
pub const CONSUMER_GROUP: &str = "notify";

/// Applies a read of events; answers the entry ids applied (the others are delivered again).
pub async fn handle_events(notifier: &Notifier, batch: Vec<Delivery>) -> Vec<String> {
    let mut done = Vec::with_capacity(batch.len());
    let mut concerned = Vec::new();
    for delivery in batch {
        let (event, span) = match receive(&delivery.payload, CONSUMER_GROUP) {
            Ok(received) => received,
            Err(err) => {
                tracing::warn!(event_id = %delivery.event_id, error = %err, "event handling failed; it will be redelivered");
                continue;
            }
        };
        if crate::decide::concerns(&event) {
            concerned.push((delivery.entry_id, event, span));
        } else {
            done.push(delivery.entry_id);
        }
    }
    // Only deliveries recorded wake the senders and the console's watchers: a burst of
    // events that tell no one woke every channel's sender to find nothing, ~140 times a second.
    if record_read(notifier, concerned, &mut done).await > 0 {
        notifier.due.notify_waiters();
        notifier.inbox.send_modify(|n| *n += 1);
    }
    done
}

/// An event of a read that may concern someone, with its entry id and span.
type Concerned = (String, EventEnvelope, tracing::Span);

/// Records the events of a read in one transaction; when that fails, one by one, so that one
/// event that cannot be recorded holds back no other. Adds the entry ids recorded to `done`;
/// answers how many deliveries they made.
async fn record_read(
    notifier: &Notifier,
    concerned: Vec<Concerned>,
    done: &mut Vec<String>,
) -> usize {
    if concerned.len() > 1 {
        let events: Vec<(&EventEnvelope, &tracing::Span)> =
            concerned.iter().map(|(_, e, span)| (e, span)).collect();
        match retry_aborted(|| record(notifier, &events)).await {
            Ok(made) => {
                done.extend(concerned.into_iter().map(|(entry_id, _, _)| entry_id));
                return made;
            }
            Err(err) => {
                tracing::warn!(events = concerned.len(), error = %err, "recording a read of events failed; recording them one by one")
            }
        }
    }
    let mut made = 0;
    for (entry_id, event, span) in concerned {
        let one = [(&event, &span)];
        match retry_aborted(|| record(notifier, &one)).await {
            Ok(n) => {
                made += n;
                done.push(entry_id);
            }
            Err(err) => {
                tracing::warn!(event_id = %event.event_id, error = %err, "event handling failed; it will be redelivered")
            }
        }
    }
    made
}

/// Decides `events` once each (those already recorded are skipped) and records their
/// deliveries, in one transaction: what the decisions read is read once for all of them.
/// Answers how many deliveries were recorded.
async fn record(
    notifier: &Notifier,
    events: &[(&EventEnvelope, &tracing::Span)],
) -> Result<usize, ApiError> {
    let tx = begin_write(&notifier.db).await.map_err(db_err)?;
    let ids: Vec<&str> = events.iter().map(|(e, _)| e.event_id.as_str()).collect();
    let fresh = processed::mark_all_processed(&tx, CONSUMER_GROUP, &ids).await?;
    let now = steelcare_store::now().timestamp_millis();
    let mut to_decide = Vec::with_capacity(fresh.len());
    for &(event, span) in events {
        if !fresh.contains(&event.event_id) {
            continue;
        }
        let age = now - occurred_ms(event);
        if u128::try_from(age).unwrap_or(0) > notifier.settings.max_event_age.as_millis() {
            span.in_scope(|| tracing::info!(age_ms = age, "event too old to tell anyone"));
            continue;
        }
        to_decide.push((event, span));
    }
    let plain: Vec<&EventEnvelope> = to_decide.iter().map(|(e, _)| *e).collect();
    let mut lookups = Lookups::load(&tx, &plain).await?;
    let mut decided = Vec::with_capacity(to_decide.len());
    for (event, span) in to_decide {
        let decisions = (notifier.decide(&tx, event, &mut lookups))
            .instrument(span.clone())
            .await?;
        decided.push((event, span, decisions));
    }
    let keys: Vec<String> = recipient_keys(decided.iter().flat_map(|(_, _, d)| d.iter()));
    let prefs = recipients::preferences(&tx, &keys).await?;
    let mut rows = Vec::new();
    for (event, span, decisions) in &decided {
        let made = notifier.rows_of(event, decisions, &prefs);
        if !made.is_empty() {
            span.in_scope(|| tracing::info!(deliveries = made.len(), "deliveries recorded"));
        }
        rows.extend(made);
    }
    let made = rows.len();
    deliveries::insert(&tx, rows).await?;
    tx.commit().await.map_err(db_err)?;
    Ok(made)
}

/// The recipients `decisions` name, each once.
fn recipient_keys<'a>(decisions: impl Iterator<Item = &'a Decision>) -> Vec<String> {
    let keys: BTreeSet<&str> = decisions
        .flat_map(|d| d.recipients.iter().map(|r| r.key.as_str()))
        .collect();
    keys.into_iter().map(str::to_owned).collect()
}

/// When the event happened (its commit), in ms; now when it does not say.
fn occurred_ms(event: &EventEnvelope) -> i64 {
    event
        .occurred_time
        .as_ref()
        .and_then(|t| steelcare_runtime::convert::from_timestamp(t, "occurred_time").ok())
        .map_or_else(
            || steelcare_store::now().timestamp_millis(),
            |t| t.timestamp_millis(),
        )
}

/// What every delivery of one event shares.
struct Origin<'a> {
    event: &'a EventEnvelope,
    now: DateTime<Utc>,
    event_time_ms: i64,
}

impl Notifier {
    /// The rows of `decisions`: per recipient, per channel they get it on; per robot that
    /// hears the topic.
    pub(crate) async fn deliveries(
        &self,
        conn: &impl ConnectionTrait,
        event: &EventEnvelope,
        decisions: &[Decision],
    ) -> Result<Vec<notify_deliveries::ActiveModel>, ApiError> {
        let prefs = recipients::preferences(conn, &recipient_keys(decisions.iter())).await?;
        Ok(self.rows_of(event, decisions, &prefs))
    }

    /// [`Notifier::deliveries`] with the recipients' preferences read.
    fn rows_of(
        &self,
        event: &EventEnvelope,
        decisions: &[Decision],
        prefs: &HashMap<String, Preferences>,
    ) -> Vec<notify_deliveries::ActiveModel> {
        let now = steelcare_store::now();
        let origin = Origin {
            event,
            now,
            event_time_ms: occurred_ms(event),
        };
        let mut rows = Vec::new();
        for decision in decisions {
            let mut seen = BTreeSet::new();
            for recipient in &decision.recipients {
                if !seen.insert(recipient.key.clone()) {
                    continue;
                }
                let prefs = prefs.get(&recipient.key).cloned().unwrap_or_default();
                let locale = prefs
                    .locale
                    .or(recipient.locale)
                    .unwrap_or(self.default_locale);
                let has = |kind: Kind| self.channels.sends(kind, decision.topic);
                for kind in channels_for(recipient, &prefs, decision.urgent, decision.required, has)
                {
                    let address = match kind {
                        Kind::Email => recipient.email.clone(),
                        Kind::Sms => recipient.phone.clone(),
                        Kind::Console | Kind::Webhook => String::new(),
                    };
                    let due = self.due_at(&origin, decision, &prefs, kind);
                    rows.push(row(
                        &origin,
                        decision,
                        &recipient.key,
                        kind,
                        address,
                        locale,
                        due,
                    ));
                }
            }
            for (name, robot) in &self.settings.webhooks {
                if robot.topics.iter().any(|t| t == decision.topic) {
                    let key = format!("webhook:{name}");
                    let (at, locale) = (origin.now, self.default_locale);
                    rows.push(row(
                        &origin,
                        decision,
                        &key,
                        Kind::Webhook,
                        name.clone(),
                        locale,
                        at,
                    ));
                }
            }
        }
        rows
    }

    /// When a delivery may go: now, or when the recipient's quiet hours end (an urgent one and
    /// the console are never held).
    fn due_at(
        &self,
        origin: &Origin<'_>,
        decision: &Decision,
        prefs: &Preferences,
        kind: Kind,
    ) -> DateTime<Utc> {
        match prefs.quiet {
            Some(quiet) if !decision.urgent && kind != Kind::Console => {
                after_quiet_hours(origin.now, self.timezone, quiet)
            }
            _ => origin.now,
        }
    }
}

/// One delivery's row, rendered in `locale`.
fn row(
    origin: &Origin<'_>,
    decision: &Decision,
    recipient: &str,
    kind: Kind,
    address: String,
    locale: Locale,
    due: DateTime<Utc>,
) -> notify_deliveries::ActiveModel {
    let message = |part: &str| {
        let mut msg = Msg::owned(format!("notify-{}-{part}", decision.topic));
        for (name, value) in &decision.facts {
            msg = msg.with(name, value.clone());
        }
        msg.render(locale)
    };
    let params: serde_json::Map<String, serde_json::Value> = decision
        .facts
        .iter()
        .map(|(name, value)| ((*name).to_owned(), fact_text(value, locale).into()))
        .collect();
    let trace = origin.event.trace_context.clone().unwrap_or_default();
    let now_ms = origin.now.timestamp_millis();
    let console = kind == Kind::Console;
    notify_deliveries::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        event_id: Set(origin.event.event_id.clone()),
        recipient: Set(recipient.to_owned()),
        channel: Set(kind.as_str().to_owned()),
        topic: Set(decision.topic.to_owned()),
        case_id: Set(Some(origin.event.case_id.clone()).filter(|c| !c.is_empty())),
        address: Set(address),
        locale: Set(locale.tag().to_owned()),
        title: Set(message("title")),
        body: Set(message("body")),
        params: Set(serde_json::Value::Object(params).to_string()),
        urgent: Set(decision.urgent),
        state: Set(if console { state::SENT } else { state::PENDING }.to_owned()),
        attempts: Set(0),
        next_attempt_ms: Set(due.timestamp_millis()),
        lease_until_ms: Set(0),
        last_error: Set(String::new()),
        traceparent: Set(trace.traceparent),
        tracestate: Set(trace.tracestate),
        event_time_ms: Set(origin.event_time_ms),
        created_at_ms: Set(now_ms),
        sent_at_ms: Set(console.then_some(now_ms)),
        read_at_ms: Set(None),
    }
}

/// A fact as the text an SMS template is given, in the reader's language.
fn fact_text(value: &Arg, locale: Locale) -> String {
    match value {
        Arg::Text(text) => text.clone(),
        other => Msg::new("notify-fact")
            .with("value", other.clone())
            .render(locale),
    }
}
