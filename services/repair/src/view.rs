//! Stored records to the messages the API returns: the encoded record, with what changes
//! after it was written (a plan's status and reviews, an agreement's amendments, whether a
//! dispute's appraisal is overdue) filled in at read time.

use chrono::{DateTime, Utc};
use sea_orm::ConnectionTrait;
use steelcare_i18n::{Locale, Said};
use steelcare_proto::repair::v1 as pb;
use steelcare_runtime::ApiError;
use steelcare_runtime::convert::from_timestamp;
use steelcare_store::entity::case_records;

use crate::records::{kind, plan_status};
use crate::store::{self, decode};

/// A plan version with its status and reviews.
pub async fn plan(
    conn: &impl ConnectionTrait,
    row: &case_records::Model,
    locale: Locale,
) -> Result<pb::RepairPlan, ApiError> {
    let mut plan: pb::RepairPlan = decode(row)?;
    plan.status = plan_status(&row.status) as i32;
    shown_in(&mut plan, locale);
    plan.reviews = store::reviews(conn, &row.ticket_id, row.version)
        .await?
        .iter()
        .map(decode)
        .collect::<Result<_, _>>()?;
    Ok(plan)
}

/// A plan as a reader in `locale` sees it: why the chief engineer is in its chain, in their
/// language.
pub fn shown_in(plan: &mut pb::RepairPlan, locale: Locale) {
    for reason in &mut plan.chain_reasons {
        *reason = Said::read(reason, locale);
    }
}

/// The agreement with its amendments.
pub async fn agreement(
    conn: &impl ConnectionTrait,
    row: &case_records::Model,
) -> Result<pb::Agreement, ApiError> {
    let mut agreement: pb::Agreement = decode(row)?;
    agreement.amendments = store::records(conn, &row.ticket_id, kind::AMENDMENT)
        .await?
        .iter()
        .map(decode)
        .collect::<Result<_, _>>()?;
    Ok(agreement)
}

/// A dispute, with whether its appraisal is overdue at `now`.
pub fn dispute(row: &case_records::Model, now: DateTime<Utc>) -> Result<pb::Dispute, ApiError> {
    Ok(dispute_of(decode(row)?, now))
}

/// A dispute with whether its appraisal is overdue at `now`.
pub fn dispute_of(mut dispute: pb::Dispute, now: DateTime<Utc>) -> pb::Dispute {
    let deadline = dispute
        .appraisal_deadline_time
        .as_ref()
        .and_then(|t| from_timestamp(t, "appraisal_deadline_time").ok());
    let settled = dispute
        .resolve_time
        .as_ref()
        .and_then(|t| from_timestamp(t, "resolve_time").ok());
    dispute.appraisal_overdue = deadline.is_some_and(|d| settled.unwrap_or(now) > d);
    dispute
}

/// Every record of a kind, decoded, oldest first.
pub async fn all<M: prost::Message + Default>(
    conn: &impl ConnectionTrait,
    ticket_id: &str,
    kind: &str,
) -> Result<Vec<M>, ApiError> {
    Ok(store::records(conn, ticket_id, kind)
        .await?
        .iter()
        .map(decode)
        .collect::<Result<_, _>>()?)
}
