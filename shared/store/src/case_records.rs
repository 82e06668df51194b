//! The records of a case's process after dispatch (`case_records`), shared by the repair and
//! acceptance services: each is its encoded protobuf message, with a kind, a version, a plan
//! step, a status, a unique slot while it must be one of a kind, and an optional clock of its
//! own (`due_at_ms`). Functions take any connection or transaction.

use chrono::{DateTime, Utc};
use prost::Message;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};

use crate::StoreError;
use crate::entity::case_records;

/// The status of a record written once and never changed.
pub const RECORDED: &str = "recorded";

/// Kinds of records: the repair service writes the first thirteen, the acceptance service the
/// next two, the feedback service the satisfaction surveys (`roles::RECORD_KINDS`); every service that reads a case's records (the archive, the analytics) names
/// them from here.
pub mod kind {
    /// A survey report version.
    pub const REPORT: &str = "report";
    /// A plan version.
    pub const PLAN: &str = "plan";
    /// An internal review of a plan version.
    pub const REVIEW: &str = "review";
    /// A communication with the customer.
    pub const COMMUNICATION: &str = "communication";
    /// The customer's decision on a plan version.
    pub const DECISION: &str = "decision";
    /// The handling agreement.
    pub const AGREEMENT: &str = "agreement";
    /// An agreement prepared for the customer to countersign (not yet binding; the archive
    /// keeps the concluded agreement).
    pub const PREPARED_AGREEMENT: &str = "prepared_agreement";
    /// An amendment of the agreement.
    pub const AMENDMENT: &str = "amendment";
    /// A work-log entry.
    pub const WORK: &str = "work";
    /// A key-step inspection.
    pub const INSPECTION: &str = "inspection";
    /// The declaration that the repair is finished.
    pub const COMPLETION: &str = "completion";
    /// The end of a case without repair.
    pub const NO_REPAIR: &str = "no_repair";
    /// A dispute.
    pub const DISPUTE: &str = "dispute";
    /// A self-inspection (acceptance).
    pub const SELF_INSPECTION: &str = "self_inspection";
    /// A customer acceptance round (acceptance).
    pub const ACCEPTANCE: &str = "acceptance";
    /// A satisfaction survey (feedback).
    pub const SATISFACTION: &str = "satisfaction";
}

/// Statuses of records (plans and disputes change; the others are `recorded`).
pub mod status {
    /// Written once, never changed.
    pub const RECORDED: &str = super::RECORDED;
    /// An inspection that passed.
    pub const PASSED: &str = "passed";
    /// An inspection that failed.
    pub const FAILED: &str = "failed";
    /// A completion a failed acceptance cleared.
    pub const CLEARED: &str = "cleared";
    /// An open dispute.
    pub const OPEN: &str = "open";
    /// A resolved dispute.
    pub const RESOLVED: &str = "resolved";
    /// A prepared agreement waiting for the customer's signature.
    pub const AWAITING: &str = "awaiting";
    /// A prepared agreement a newer preparation replaced.
    pub const REPLACED: &str = "replaced";
    /// A prepared agreement the customer countersigned.
    pub const COUNTERSIGNED: &str = "countersigned";
}

/// A record to insert, built with [`NewRecord::new`] and its setters.
pub struct NewRecord<'a, M: Message> {
    /// Id.
    id: &'a str,
    /// Ticket.
    ticket_id: &'a str,
    /// Kind (`records::kind`).
    kind: &'a str,
    /// Version (reports, plans, reviews of a plan version), else 0.
    version: i32,
    /// Plan step (work, inspections).
    step_id: Option<&'a str>,
    /// Status (`records::status` or a plan status).
    status: &'a str,
    /// Unique slot while it must be the only one of its kind.
    slot: Option<String>,
    /// The record.
    body: &'a M,
    /// When its own clock runs out (an open dispute's appraisal deadline), in ms.
    due_at_ms: Option<i64>,
    /// Who wrote it.
    created_by: &'a str,
    /// When.
    at: DateTime<Utc>,
}

impl<'a, M: Message> NewRecord<'a, M> {
    /// A record of `kind` written by `created_by` at `at`: version 0, no step, RECORDED, no
    /// slot until set.
    pub fn new(
        kind: &'a str,
        id: &'a str,
        ticket_id: &'a str,
        body: &'a M,
        created_by: &'a str,
        at: DateTime<Utc>,
    ) -> Self {
        NewRecord {
            id,
            ticket_id,
            kind,
            version: 0,
            step_id: None,
            status: RECORDED,
            slot: None,
            body,
            due_at_ms: None,
            created_by,
            at,
        }
    }

    /// The version (reports, plans and what belongs to a plan version).
    pub fn version(self, version: i32) -> Self {
        NewRecord { version, ..self }
    }

    /// The plan step it concerns.
    pub fn step(self, step_id: &'a str) -> Self {
        NewRecord {
            step_id: Some(step_id),
            ..self
        }
    }

    /// Its status.
    pub fn status(self, status: &'a str) -> Self {
        NewRecord { status, ..self }
    }

    /// When its own clock runs out, if it has one.
    pub fn due_opt(self, at: Option<DateTime<Utc>>) -> Self {
        NewRecord {
            due_at_ms: at.map(|at| at.timestamp_millis()),
            ..self
        }
    }

    /// The unique slot it claims.
    pub fn slot(self, slot: String) -> Self {
        NewRecord {
            slot: Some(slot),
            ..self
        }
    }
}

/// Inserts a record. A taken slot means a concurrent writer won: `ABORTED`.
pub async fn insert<M: Message>(
    conn: &impl ConnectionTrait,
    new: NewRecord<'_, M>,
) -> Result<(), StoreError> {
    let result = case_records::ActiveModel {
        id: Set(new.id.to_owned()),
        ticket_id: Set(new.ticket_id.to_owned()),
        kind: Set(new.kind.to_owned()),
        version: Set(new.version),
        step_id: Set(new.step_id.map(str::to_owned)),
        status: Set(new.status.to_owned()),
        slot: Set(new.slot),
        body: Set(new.body.encode_to_vec()),
        due_at_ms: Set(new.due_at_ms),
        created_by: Set(new.created_by.to_owned()),
        created_at: Set(new.at),
        updated_at: Set(new.at),
    }
    .insert(conn)
    .await;
    match result {
        Ok(_) => Ok(()),
        Err(err)
            if matches!(
                err.sql_err(),
                Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
            ) =>
        {
            Err(StoreError::Conflict {
                entity: "case record",
                id: format!("{} of case {}", new.kind, new.ticket_id),
            })
        }
        Err(err) => Err(err.into()),
    }
}

/// Changes a record's status (and slot, and body when given), only if it still has
/// `from_status`; false when it changed meanwhile.
pub async fn set_status<M: Message>(
    conn: &impl ConnectionTrait,
    id: &str,
    from_status: &str,
    to_status: &str,
    slot: Option<Option<String>>,
    body: Option<&M>,
) -> Result<bool, StoreError> {
    let mut update = case_records::Entity::update_many()
        .col_expr(case_records::Column::Status, Expr::value(to_status))
        .col_expr(case_records::Column::UpdatedAt, Expr::value(crate::now()));
    if let Some(slot) = slot {
        update = update.col_expr(case_records::Column::Slot, Expr::value(slot));
    }
    if let Some(body) = body {
        update = update.col_expr(
            case_records::Column::Body,
            Expr::value(body.encode_to_vec()),
        );
    }
    let done = update
        .filter(case_records::Column::Id.eq(id))
        .filter(case_records::Column::Status.eq(from_status))
        .exec(conn)
        .await?;
    Ok(done.rows_affected == 1)
}

/// Records of `kind` whose own clock ran out by `now_ms` and is not announced yet.
pub async fn due(
    conn: &impl ConnectionTrait,
    kind: &str,
    now_ms: i64,
    limit: u64,
) -> Result<Vec<case_records::Model>, StoreError> {
    case_records::Entity::find()
        .filter(case_records::Column::Kind.eq(kind))
        .filter(case_records::Column::DueAtMs.lte(now_ms))
        .order_by_asc(case_records::Column::DueAtMs)
        .limit(limit)
        .all(conn)
        .await
        .map_err(StoreError::from)
}

/// Stops a record's own clock; false when it was stopped already (by another process, or the
/// record was settled).
pub async fn stop_clock(conn: &impl ConnectionTrait, id: &str) -> Result<bool, StoreError> {
    let done = case_records::Entity::update_many()
        .col_expr(
            case_records::Column::DueAtMs,
            Expr::value(Option::<i64>::None),
        )
        .filter(case_records::Column::Id.eq(id))
        .filter(case_records::Column::DueAtMs.is_not_null())
        .exec(conn)
        .await?;
    Ok(done.rows_affected == 1)
}

/// A case's records of `kind`, oldest first.
pub async fn records(
    conn: &impl ConnectionTrait,
    ticket_id: &str,
    kind: &str,
) -> Result<Vec<case_records::Model>, StoreError> {
    case_records::Entity::find()
        .filter(case_records::Column::TicketId.eq(ticket_id))
        .filter(case_records::Column::Kind.eq(kind))
        .order_by_asc(case_records::Column::Version)
        .order_by_asc(case_records::Column::Id)
        .all(conn)
        .await
        .map_err(StoreError::from)
}

/// A page of a case's records of `kind` after the id `after`, oldest first.
pub async fn records_after(
    conn: &impl ConnectionTrait,
    ticket_id: &str,
    kind: &str,
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<case_records::Model>, StoreError> {
    let mut query = case_records::Entity::find()
        .filter(case_records::Column::TicketId.eq(ticket_id))
        .filter(case_records::Column::Kind.eq(kind));
    if let Some(after) = after {
        query = query.filter(case_records::Column::Id.gt(after));
    }
    query
        .order_by_asc(case_records::Column::Id)
        .limit(limit)
        .all(conn)
        .await
        .map_err(StoreError::from)
}

/// One record by id.
pub async fn record(
    conn: &impl ConnectionTrait,
    id: &str,
) -> Result<Option<case_records::Model>, StoreError> {
    case_records::Entity::find_by_id(id.to_owned())
        .one(conn)
        .await
        .map_err(StoreError::from)
}

/// The record of a case of `kind` and `version` (0 = the latest), if any.
pub async fn versioned(
    conn: &impl ConnectionTrait,
    ticket_id: &str,
    kind: &str,
    version: i32,
) -> Result<Option<case_records::Model>, StoreError> {
    let mut query = case_records::Entity::find()
        .filter(case_records::Column::TicketId.eq(ticket_id))
        .filter(case_records::Column::Kind.eq(kind));
    if version > 0 {
        query = query.filter(case_records::Column::Version.eq(version));
    }
    query
        .order_by_desc(case_records::Column::Version)
        .order_by_desc(case_records::Column::Id)
        .one(conn)
        .await
        .map_err(StoreError::from)
}

/// Decodes a stored record body.
pub fn decode<M: Message + Default>(row: &case_records::Model) -> Result<M, StoreError> {
    M::decode(row.body.as_slice()).map_err(|err| {
        StoreError::Corrupt(format!(
            "stored {} {} is unreadable: {err}",
            row.kind, row.id
        ))
    })
}
