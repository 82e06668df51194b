//! What every path of the feedback service shares: the database, the time zone, the team
//! return visits go to, the intake that opens a recurrence's ticket, idempotent creates and
//! who may see a case.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbErr};
use steelcare_domain::BusinessCalendar;
use steelcare_runtime::idempotent::{Begun, Key};
use steelcare_runtime::{ApiError, Caller, RequestContext};
use steelcare_store::{Database, StoreError};
use tokio::sync::Notify;

use crate::experience::Experience;
use crate::intake_link::IntakeLink;

/// Settings of the feedback service.
#[derive(Debug, Clone)]
pub struct FeedbackConfig {
    /// The local time zone (months, days of a corrective action).
    pub timezone: Tz,
    /// The business calendar visits fall due on (working days, its time zone).
    pub calendar: BusinessCalendar,
    /// The local time of day visits fall due.
    pub visit_time: NaiveTime,
    /// The team return visits go to.
    pub team: String,
    /// Days after a fix with no recurrence that verify a corrective action, unless it says.
    pub verification_days: u32,
    /// Where this process keeps its copy of the experience base's index.
    pub search_dir: std::path::PathBuf,
}

/// A case as the feedback service sees it.
pub use steelcare_store::cases::CaseRecord as Case;

/// FAILED_PRECONDITION naming the case's current state.
pub use steelcare_runtime::record::case_precondition;

/// A database error as an API error.
pub fn db_err(err: DbErr) -> ApiError {
    StoreError::from(err).into()
}

/// The feedback engine.
#[derive(Clone)]
pub struct Feedback {
    /// The database.
    pub db: Database,
    /// Settings.
    pub config: Arc<FeedbackConfig>,
    /// Opens the tickets of recurrences.
    pub intake: IntakeLink,
    /// The experience base: this process's copy of the search index.
    pub experience: Experience,
    relay: Option<Arc<Notify>>,
}

impl Feedback {
    /// The engine over a database.
    pub fn new(
        db: Database,
        config: FeedbackConfig,
        intake: IntakeLink,
        relay: Option<Arc<Notify>>,
    ) -> Self {
        Feedback {
            db,
            experience: Experience::new(config.search_dir.clone()),
            config: Arc::new(config),
            intake,
            relay,
        }
    }

    /// The local day of an instant.
    pub fn day_of(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.config.timezone).date_naive()
    }

    /// Begins an idempotent create.
    pub async fn begin(
        &self,
        ctx: &RequestContext,
        rpc: &str,
        request_id: &str,
        hash: String,
    ) -> Result<Begun, ApiError> {
        steelcare_runtime::idempotent::begin(&self.db, ctx, "feedback", rpc, request_id, hash).await
    }

    /// Saves the key, commits, and wakes the relay.
    pub async fn finish(
        &self,
        tx: DatabaseTransaction,
        key: Key,
        resource_id: &str,
    ) -> Result<(), ApiError> {
        steelcare_runtime::idempotent::finish(tx, key, resource_id).await?;
        self.committed();
        Ok(())
    }

    /// Wakes the relay after a commit that wrote events.
    pub fn committed(&self) {
        if let Some(relay) = &self.relay {
            relay.notify_one();
        }
    }

    /// The case as `caller` may see it: NOT_FOUND when it does not exist or belongs to
    /// another customer organisation.
    pub async fn case_for(
        &self,
        conn: &impl ConnectionTrait,
        caller: &Caller,
        ticket_id: &str,
    ) -> Result<Case, ApiError> {
        steelcare_runtime::record::visible_case(conn, caller, ticket_id).await
    }
}

/// Whether `caller` may see what belongs to `organization`: staff see all, customers their
/// own organisation's.
pub fn sees(caller: &Caller, organization: Option<&str>) -> bool {
    !caller.is_customer_only() || caller.organization_id.as_deref() == organization
}

/// The actor of work the service does on its own (scheduling visits).
pub fn system() -> steelcare_proto::common::v1::Actor {
    steelcare_proto::common::v1::Actor {
        subject: "system:feedback".to_owned(),
        roles: Vec::new(),
        organization_id: String::new(),
        display_name: String::new(),
    }
}
