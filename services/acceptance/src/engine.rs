//! What every path of the acceptance service shares: the database, the attachment store, the
//! tolerance table, idempotent creates, who may see a case, and the agreed plan of a case
//! (the repair service's records it closes).

use std::sync::Arc;
use steelcare_i18n::msg;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use sea_orm::{ConnectionTrait, DatabaseTransaction};
use steelcare_domain::tolerance::ToleranceTable;
use steelcare_proto::repair::v1 as repair;
use steelcare_runtime::attachments::AttachmentStore;
use steelcare_runtime::idempotent::{Begun, Key};
use steelcare_runtime::{ApiError, Caller, RequestContext};
use steelcare_store::case_records::kind;
use steelcare_store::{Database, case_records};
use tokio::sync::Notify;

/// A case as the acceptance service sees it.
pub use steelcare_store::cases::CaseRecord as Case;

/// FAILED_PRECONDITION naming the case's current state.
pub use steelcare_runtime::record::case_precondition;

/// The acceptance engine.
#[derive(Clone)]
pub struct Acceptor {
    /// The database.
    pub db: Database,
    /// Attachment bytes (archived with the case).
    pub files: AttachmentStore,
    /// GB 50205 limits.
    pub table: &'static ToleranceTable,
    /// The local time zone (the day of a measurement, archive years, dossier dates).
    pub timezone: Tz,
    relay: Option<Arc<Notify>>,
}

impl Acceptor {
    /// The engine over a database and the attachment store.
    pub fn new(
        db: Database,
        files: AttachmentStore,
        timezone: Tz,
        relay: Option<Arc<Notify>>,
    ) -> Self {
        Acceptor {
            db,
            files,
            table: ToleranceTable::shipped(),
            timezone,
            relay,
        }
    }

    /// The local day of an instant.
    pub fn day_of(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.timezone).date_naive()
    }

    /// Begins an idempotent create.
    pub async fn begin(
        &self,
        ctx: &RequestContext,
        rpc: &str,
        request_id: &str,
        hash: String,
    ) -> Result<Begun, ApiError> {
        steelcare_runtime::idempotent::begin(&self.db, ctx, "acceptance", rpc, request_id, hash)
            .await
    }

    /// Saves the key, commits, and wakes the relay.
    pub async fn finish(
        &self,
        tx: DatabaseTransaction,
        key: Key,
        resource_id: &str,
    ) -> Result<(), ApiError> {
        steelcare_runtime::idempotent::finish(tx, key, resource_id).await?;
        if let Some(relay) = &self.relay {
            relay.notify_one();
        }
        Ok(())
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

/// The plan version the case's agreement was signed on.
pub async fn agreed_plan(
    conn: &impl ConnectionTrait,
    case: &Case,
) -> Result<repair::RepairPlan, ApiError> {
    let Some(row) = case_records::versioned(conn, &case.id, kind::AGREEMENT, 0).await? else {
        return Err(case_precondition(case, msg!("error-no-agreement")));
    };
    let agreement: repair::Agreement = case_records::decode(&row)?;
    let plan = case_records::versioned(conn, &case.id, kind::PLAN, agreement.plan_version)
        .await?
        .ok_or_else(|| ApiError::Internal(format!("agreed plan of {} is missing", case.id)))?;
    Ok(case_records::decode(&plan)?)
}

/// Every technician who logged work on the case (a read model shared with feedback).
pub use steelcare_runtime::record::crew_of;
