//! `steelcare.notify.v1.NotifyService`: the console's notifications (listed, marked read,
//! watched), recipients' preferences, and the dead-letter list an administrator retries from.

use std::pin::Pin;
use std::time::Duration;

use chrono::DateTime;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, EntityTrait};
use steelcare_domain::Role;
use steelcare_i18n::{Locale, msg};
use steelcare_proto::notify::v1 as pb;
use steelcare_proto::notify::v1::notify_service_server::NotifyService as NotifyApi;
use steelcare_runtime::convert::{page_size, to_timestamp};
use steelcare_runtime::handler::{not_found, respond};
use steelcare_runtime::record::audit;
use steelcare_runtime::settings::parse_hhmm;
use steelcare_runtime::{ApiError, RequestContext};
use steelcare_store::entity::{notify_deliveries, notify_preferences};
use steelcare_store::page;
use tokio::sync::mpsc;
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use crate::channels::Kind;
use crate::deliveries::{self, state};
use crate::engine::{Notifier, db_err};
use crate::recipients::Preferences;

/// The service is the engine.
pub type NotifyService = Notifier;

type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

/// Who may read and set anyone's preferences.
const OFFICE: &[Role] = &[Role::Admin, Role::Manager, Role::Agent];
/// Who may read the deliveries.
const SUPERVISORS: &[Role] = &[Role::Admin, Role::Manager];

fn millis(ms: Option<i64>) -> Option<prost_types::Timestamp> {
    ms.and_then(DateTime::from_timestamp_millis)
        .map(to_timestamp)
}

fn notification(row: &notify_deliveries::Model) -> pb::Notification {
    pb::Notification {
        notification_id: row.id.clone(),
        topic: row.topic.clone(),
        title: row.title.clone(),
        body: row.body.clone(),
        case_id: row.case_id.clone().unwrap_or_default(),
        create_time: millis(Some(row.created_at_ms)),
        read_time: millis(row.read_at_ms),
        urgent: row.urgent,
    }
}

fn delivery_state(stored: &str) -> pb::DeliveryState {
    match stored {
        state::PENDING => pb::DeliveryState::Pending,
        state::SENDING => pb::DeliveryState::Sending,
        state::SENT => pb::DeliveryState::Sent,
        state::DEAD => pb::DeliveryState::Dead,
        _ => pb::DeliveryState::Unspecified,
    }
}

fn delivery(row: &notify_deliveries::Model) -> pb::Delivery {
    pb::Delivery {
        delivery_id: row.id.clone(),
        event_id: row.event_id.clone(),
        recipient: row.recipient.clone(),
        channel: Kind::parse(&row.channel)
            .map_or(pb::DeliveryChannel::Unspecified, Kind::to_proto)
            .into(),
        topic: row.topic.clone(),
        state: delivery_state(&row.state).into(),
        attempts: row.attempts,
        last_error: row.last_error.clone(),
        case_id: row.case_id.clone().unwrap_or_default(),
        create_time: millis(Some(row.created_at_ms)),
        sent_time: millis(row.sent_at_ms),
        next_attempt_time: (row.state == state::PENDING)
            .then(|| millis(Some(row.next_attempt_ms)))
            .flatten(),
        title: row.title.clone(),
    }
}

/// Preferences as the API shows them.
fn preferences_view(recipient: &str, prefs: &Preferences) -> pb::Preferences {
    pb::Preferences {
        recipient: recipient.to_owned(),
        channels: prefs
            .channels
            .iter()
            .map(|k| i32::from(k.to_proto()))
            .collect(),
        language: prefs.locale.map(|l| l.tag().to_owned()).unwrap_or_default(),
        quiet_start: prefs
            .quiet
            .map(|(s, _)| s.format("%H:%M").to_string())
            .unwrap_or_default(),
        quiet_end: prefs
            .quiet
            .map(|(_, e)| e.format("%H:%M").to_string())
            .unwrap_or_default(),
        opted_out: prefs.opted_out,
    }
}

/// Preferences as the audit trail keeps them.
fn preferences_json(recipient: &str, prefs: &Preferences) -> serde_json::Value {
    let view = preferences_view(recipient, prefs);
    serde_json::json!({
        "channels": prefs.channels.iter().map(|k| k.as_str()).collect::<Vec<_>>(),
        "language": view.language,
        "quiet_start": view.quiet_start,
        "quiet_end": view.quiet_end,
        "opted_out": view.opted_out,
    })
}

/// The request's preferences, checked: every problem at its field.
fn parse_preferences(p: &pb::Preferences) -> Result<Preferences, ApiError> {
    let mut v = steelcare_runtime::validate::Violations::default();
    let mut channels = Vec::new();
    for (i, c) in p.channels.iter().enumerate() {
        match pb::DeliveryChannel::try_from(*c)
            .ok()
            .and_then(Kind::from_proto)
        {
            Some(kind @ (Kind::Email | Kind::Sms)) => {
                if !channels.contains(&kind) {
                    channels.push(kind);
                }
            }
            _ => v.add(
                format!("preferences.channels[{i}]"),
                msg!("notify-channel-personal"),
            ),
        }
    }
    let locale = match p.language.trim() {
        "" => None,
        tag => {
            let parsed = Locale::parse(tag).filter(|l| l.tag().eq_ignore_ascii_case(tag));
            if parsed.is_none() {
                v.add("preferences.language", msg!("field-language-not-shipped"));
            }
            parsed
        }
    };
    let quiet = match (p.quiet_start.trim(), p.quiet_end.trim()) {
        ("", "") => None,
        (start, end) => {
            let (s, e) = (parse_hhmm(start), parse_hhmm(end));
            if s.is_none() {
                v.add("preferences.quiet_start", msg!("notify-field-hhmm"));
            }
            if e.is_none() {
                v.add("preferences.quiet_end", msg!("notify-field-hhmm"));
            }
            s.zip(e)
        }
    };
    v.finish(Preferences {
        channels,
        locale,
        quiet,
        opted_out: p.opted_out,
    })
}

impl Notifier {
    /// The recipient a preferences call is about: the caller's own, or (for the office)
    /// anyone's.
    fn recipient_of(&self, ctx: &RequestContext, asked: &str) -> Result<String, ApiError> {
        let asked = asked.trim();
        if asked.is_empty() || asked == ctx.caller.subject {
            return Ok(ctx.caller.subject.clone());
        }
        if asked.len() > 256 || asked.chars().any(char::is_control) {
            return Err(ApiError::invalid("recipient", msg!("field-invalid")));
        }
        ctx.caller.require_any(OFFICE)?;
        Ok(asked.to_owned())
    }

    /// ListNotifications.
    pub async fn list_notifications(
        &self,
        ctx: &RequestContext,
        request: pb::ListNotificationsRequest,
    ) -> Result<pb::ListNotificationsResponse, ApiError> {
        let size = page_size(request.page_size)?;
        let fingerprint = page::fingerprint(&("inbox", request.unread_only));
        let before: Option<String> = page::decode(&request.page_token, &fingerprint)?;
        let me = &ctx.caller.subject;
        let mut rows = deliveries::inbox(
            &self.db,
            me,
            request.unread_only,
            before.as_deref(),
            size + 1,
        )
        .await?;
        let next_page_token = page::next_token(&mut rows, size, &fingerprint, |r| r.id.clone());
        Ok(pb::ListNotificationsResponse {
            notifications: rows.iter().map(notification).collect(),
            unread_count: deliveries::unread(&self.db, me).await?,
            next_page_token,
        })
    }

    /// MarkNotificationsRead.
    pub async fn mark_notifications_read(
        &self,
        ctx: &RequestContext,
        request: pb::MarkNotificationsReadRequest,
    ) -> Result<pb::MarkNotificationsReadResponse, ApiError> {
        if !request.all && request.notification_ids.is_empty() {
            return Err(ApiError::invalid(
                "notification_ids",
                msg!("field-required"),
            ));
        }
        let me = &ctx.caller.subject;
        let ids = (!request.all).then_some(request.notification_ids.as_slice());
        let now = steelcare_store::now().timestamp_millis();
        let missing = deliveries::mark_read(&self.db, me, ids, now).await?;
        if let Some(id) = missing.first() {
            return Err(not_found("notification", id));
        }
        Ok(pb::MarkNotificationsReadResponse {
            unread_count: deliveries::unread(&self.db, me).await?,
        })
    }

    /// WatchNotifications: the unread count, then each new notification as it is recorded.
    async fn watch(
        &self,
        ctx: &RequestContext,
    ) -> Result<BoxStream<pb::WatchNotificationsResponse>, ApiError> {
        let me = ctx.caller.subject.clone();
        let newest = deliveries::inbox(&self.db, &me, false, None, 1).await?;
        let last = newest.first().map(|r| r.id.clone()).unwrap_or_default();
        let first = pb::WatchNotificationsResponse {
            notification: None,
            unread_count: deliveries::unread(&self.db, &me).await?,
        };
        let (sender, receiver) = mpsc::channel(16);
        let _ = sender.try_send(Ok(first));
        tokio::spawn(self.clone().follow(me, last, sender));
        Ok(Box::pin(ReceiverStream::new(receiver)))
    }

    /// Sends `me`'s notifications newer than `last` until the watcher goes; looks when this
    /// process recorded some, and every second for those another process recorded.
    async fn follow(
        self,
        me: String,
        mut last: String,
        sender: mpsc::Sender<Result<pb::WatchNotificationsResponse, Status>>,
    ) {
        let mut recorded = self.inbox.subscribe();
        let mut drain = self.drain.clone();
        loop {
            if *drain.borrow() {
                return;
            }
            tokio::select! {
                _ = recorded.changed() => {}
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = sender.closed() => return,
                // A dropped sender means no shutdown will ever be signalled.
                _ = async {
                    if drain.changed().await.is_err() {
                        std::future::pending::<()>().await;
                    }
                } => return,
            }
            let Ok(rows) = deliveries::inbox_after(&self.db, &me, &last).await else {
                continue;
            };
            for row in rows {
                let unread_count = deliveries::unread(&self.db, &me).await.unwrap_or(0);
                last = row.id.clone();
                let message = pb::WatchNotificationsResponse {
                    notification: Some(notification(&row)),
                    unread_count,
                };
                if sender.send(Ok(message)).await.is_err() {
                    return;
                }
            }
        }
    }

    /// GetPreferences.
    pub async fn get_preferences(
        &self,
        ctx: &RequestContext,
        request: pb::GetPreferencesRequest,
    ) -> Result<pb::GetPreferencesResponse, ApiError> {
        let recipient = self.recipient_of(ctx, &request.recipient)?;
        let stored = crate::recipients::preferences(&self.db, std::slice::from_ref(&recipient))
            .await?
            .remove(&recipient)
            .unwrap_or_default();
        Ok(pb::GetPreferencesResponse {
            preferences: Some(preferences_view(&recipient, &stored)),
        })
    }

    /// UpdatePreferences.
    pub async fn update_preferences(
        &self,
        ctx: &RequestContext,
        request: pb::UpdatePreferencesRequest,
    ) -> Result<pb::UpdatePreferencesResponse, ApiError> {
        let asked = request.preferences.unwrap_or_default();
        let prefs = parse_preferences(&asked)?;
        let recipient = self.recipient_of(ctx, &asked.recipient)?;
        let names: Vec<&str> = prefs.channels.iter().map(|k| k.as_str()).collect();
        let hhmm = |t: chrono::NaiveTime| t.format("%H:%M").to_string();
        let row = notify_preferences::ActiveModel {
            recipient: Set(recipient.clone()),
            channels: Set(serde_json::to_string(&names).unwrap_or_else(|_| "[]".into())),
            locale: Set(prefs.locale.map(|l| l.tag().to_owned())),
            quiet_start: Set(prefs.quiet.map(|(s, _)| hhmm(s))),
            quiet_end: Set(prefs.quiet.map(|(_, e)| hhmm(e))),
            opted_out: Set(prefs.opted_out),
            updated_at_ms: Set(steelcare_store::now().timestamp_millis()),
        };
        use notify_preferences::Column as C;
        let before = crate::recipients::preferences(&self.db, std::slice::from_ref(&recipient))
            .await?
            .remove(&recipient)
            .map(|p| preferences_json(&recipient, &p));
        let tx = steelcare_store::begin_write(&self.db)
            .await
            .map_err(db_err)?;
        notify_preferences::Entity::insert(row)
            .on_conflict(
                OnConflict::column(C::Recipient)
                    .update_columns([
                        C::Channels,
                        C::Locale,
                        C::QuietStart,
                        C::QuietEnd,
                        C::OptedOut,
                        C::UpdatedAtMs,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(&tx)
            .await
            .map_err(db_err)?;
        let after = preferences_json(&recipient, &prefs);
        audit(&tx, ctx, "notify_preferences", &recipient, before, after).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(pb::UpdatePreferencesResponse {
            preferences: Some(preferences_view(&recipient, &prefs)),
        })
    }

    /// ListDeliveries.
    pub async fn list_deliveries(
        &self,
        ctx: &RequestContext,
        request: pb::ListDeliveriesRequest,
    ) -> Result<pb::ListDeliveriesResponse, ApiError> {
        ctx.caller.require_any(SUPERVISORS)?;
        let size = page_size(request.page_size)?;
        let wanted = pb::DeliveryState::try_from(request.state)
            .map_err(|_| ApiError::invalid("state", msg!("field-invalid")))?;
        let stored = match wanted {
            pb::DeliveryState::Unspecified => None,
            pb::DeliveryState::Pending => Some(state::PENDING),
            pb::DeliveryState::Sending => Some(state::SENDING),
            pb::DeliveryState::Sent => Some(state::SENT),
            pb::DeliveryState::Dead => Some(state::DEAD),
        };
        let event = Some(request.event_id.as_str()).filter(|e| !e.is_empty());
        let fingerprint = page::fingerprint(&(stored, event));
        let before: Option<String> = page::decode(&request.page_token, &fingerprint)?;
        let mut rows =
            deliveries::list(&self.db, stored, event, before.as_deref(), size + 1).await?;
        let next_page_token = page::next_token(&mut rows, size, &fingerprint, |r| r.id.clone());
        Ok(pb::ListDeliveriesResponse {
            deliveries: rows.iter().map(delivery).collect(),
            next_page_token,
        })
    }

    /// RetryDelivery.
    pub async fn retry_delivery(
        &self,
        ctx: &RequestContext,
        request: pb::RetryDeliveryRequest,
    ) -> Result<pb::RetryDeliveryResponse, ApiError> {
        ctx.caller.require_any(&[Role::Admin])?;
        let id = steelcare_runtime::validate::id("delivery_id", &request.delivery_id)?;
        let now = steelcare_store::now().timestamp_millis();
        // Revived and read in one transaction: the answer is the delivery as revived, before
        // a sender can take it.
        let tx = steelcare_store::begin_write(&self.db)
            .await
            .map_err(db_err)?;
        let revived = deliveries::revive(&tx, id, now).await?;
        let row = deliveries::get(&tx, id)
            .await?
            .ok_or_else(|| not_found("delivery", id))?;
        if revived {
            let before = serde_json::json!({ "state": state::DEAD, "last_error": row.last_error });
            let after = serde_json::json!({ "state": row.state });
            audit(&tx, ctx, "notify_delivery", id, Some(before), after).await?;
        }
        tx.commit().await.map_err(db_err)?;
        if !revived {
            let current = row.state.to_ascii_uppercase();
            return Err(ApiError::FailedPrecondition {
                subject: format!("delivery/{id}"),
                message: msg!("notify-retry-not-dead", state = current.clone()),
                current_state: current,
            });
        }
        self.due.notify_waiters();
        Ok(pb::RetryDeliveryResponse {
            delivery: Some(delivery(&row)),
        })
    }
}

steelcare_runtime::rpcs! {
    impl NotifyApi for NotifyService {
        (list_notifications, pb::ListNotificationsRequest, pb::ListNotificationsResponse),
        (mark_notifications_read, pb::MarkNotificationsReadRequest, pb::MarkNotificationsReadResponse),
        (get_preferences, pb::GetPreferencesRequest, pb::GetPreferencesResponse),
        (update_preferences, pb::UpdatePreferencesRequest, pb::UpdatePreferencesResponse),
        (list_deliveries, pb::ListDeliveriesRequest, pb::ListDeliveriesResponse),
        (retry_delivery, pb::RetryDeliveryRequest, pb::RetryDeliveryResponse),
    }
    type WatchNotificationsStream = BoxStream<pb::WatchNotificationsResponse>;

    async fn watch_notifications(
        &self,
        request: Request<pb::WatchNotificationsRequest>,
    ) -> Result<Response<Self::WatchNotificationsStream>, Status> {
        let ctx = steelcare_runtime::handler::context(&request)?;
        respond(&ctx, self.watch(&ctx).await)
    }
}
