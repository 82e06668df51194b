//! What every path of the notification service shares: the database, the settings, the
//! channels and the wake-up of the senders and the console's watchers.

use std::sync::Arc;

use chrono_tz::Tz;
use sea_orm::DbErr;
use steelcare_i18n::Locale;
use steelcare_runtime::ApiError;
use steelcare_runtime::settings::NotifySettings;
use steelcare_store::{Database, StoreError};
use tokio::sync::{Notify, watch};

use crate::channels::Channels;

/// A database error as an API error.
pub fn db_err(err: DbErr) -> ApiError {
    StoreError::from(err).into()
}

/// The notification engine.
#[derive(Clone)]
pub struct Notifier {
    /// The database.
    pub db: Database,
    /// Settings.
    pub settings: Arc<NotifySettings>,
    /// The local time zone (quiet hours, times in messages).
    pub timezone: Tz,
    /// The language of a recipient who chose none (and of the robots).
    pub default_locale: Locale,
    /// The channels configured.
    pub channels: Arc<Channels>,
    /// Wakes the senders when deliveries were recorded.
    pub due: Arc<Notify>,
    /// Counts in-console notifications recorded by this process (the watchers look then).
    pub inbox: watch::Sender<u64>,
    /// Turns true when the server begins to shut down: the watchers' streams end.
    pub drain: watch::Receiver<bool>,
}

impl Notifier {
    /// The engine over a database with `channels`.
    pub fn new(
        db: Database,
        settings: NotifySettings,
        (timezone, default_locale): (Tz, Locale),
        channels: Channels,
        drain: watch::Receiver<bool>,
    ) -> Self {
        Notifier {
            db,
            settings: Arc::new(settings),
            timezone,
            default_locale,
            channels: Arc::new(channels),
            due: Arc::new(Notify::new()),
            inbox: watch::Sender::new(0),
            drain,
        }
    }
}
