//! The audit log: who did what to which entity, when, under which trace (MISSION §1).

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use serde::Serialize;

use crate::entity::audit_log::{self, Column};
use crate::{StoreError, page};

/// A mutation to record.
#[derive(Debug, Clone)]
pub struct NewAuditRecord<'a> {
    /// The JWT subject.
    pub subject: &'a str,
    /// The caller's roles.
    pub roles: &'a [String],
    /// The caller's organisation (customers).
    pub organization_id: Option<&'a str>,
    /// The person's name at the time (people of the directory).
    pub display_name: Option<&'a str>,
    /// Full gRPC method path.
    pub rpc: &'a str,
    /// Entity type, e.g. "ticket".
    pub entity_type: &'a str,
    /// Entity id.
    pub entity_id: &'a str,
    /// Summary before (JSON), `None` for creates.
    pub before: Option<serde_json::Value>,
    /// Summary after (JSON).
    pub after: serde_json::Value,
    /// Trace id of the request.
    pub trace_id: &'a str,
}

fn active(entry: NewAuditRecord<'_>) -> audit_log::ActiveModel {
    audit_log::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        subject: Set(entry.subject.to_owned()),
        roles: Set(entry.roles.join(",")),
        organization_id: Set(entry.organization_id.map(str::to_owned)),
        display_name: Set(entry.display_name.map(str::to_owned)),
        rpc: Set(entry.rpc.to_owned()),
        entity_type: Set(entry.entity_type.to_owned()),
        entity_id: Set(entry.entity_id.to_owned()),
        before_summary: Set(entry.before.map(|v| v.to_string())),
        after_summary: Set(entry.after.to_string()),
        trace_id: Set(entry.trace_id.to_owned()),
        created_at: Set(Utc::now()),
    }
}

/// Records one mutation, inside the caller's transaction.
pub async fn record(
    conn: &impl ConnectionTrait,
    entry: NewAuditRecord<'_>,
) -> Result<audit_log::Model, StoreError> {
    Ok(active(entry).insert(conn).await?)
}

/// Records several mutations with one statement, inside the caller's transaction.
pub async fn record_all(
    conn: &impl ConnectionTrait,
    entries: Vec<NewAuditRecord<'_>>,
) -> Result<(), StoreError> {
    crate::db::execute_all(
        conn,
        record_all_statement(conn.get_database_backend(), entries),
    )
    .await
}

/// The statement of [`record_all`] (`None` for no entries).
pub fn record_all_statement(
    backend: sea_orm::DbBackend,
    entries: Vec<NewAuditRecord<'_>>,
) -> Option<sea_orm::Statement> {
    use sea_orm::QueryTrait;
    if entries.is_empty() {
        return None;
    }
    Some(audit_log::Entity::insert_many(entries.into_iter().map(active)).build(backend))
}

/// Filter of [`list`].
#[derive(Debug, Clone, Default, Serialize)]
pub struct AuditFilter {
    /// Only this entity type.
    pub entity_type: Option<String>,
    /// Only this entity id.
    pub entity_id: Option<String>,
    /// Only this subject.
    pub subject: Option<String>,
    /// Only at or after.
    pub from: Option<DateTime<Utc>>,
    /// Only before.
    pub to: Option<DateTime<Utc>>,
}

/// Lists records newest first, one page at a time (keyset on create time, then id).
pub async fn list(
    conn: &impl ConnectionTrait,
    filter: &AuditFilter,
    page_size: u64,
    page_token: &str,
) -> Result<(Vec<audit_log::Model>, String), StoreError> {
    let fingerprint = page::fingerprint(filter);
    let after: Option<(DateTime<Utc>, String)> = page::decode(page_token, &fingerprint)?;
    let mut cond = Condition::all();
    if let Some(v) = &filter.entity_type {
        cond = cond.add(Column::EntityType.eq(v.clone()));
    }
    if let Some(v) = &filter.entity_id {
        cond = cond.add(Column::EntityId.eq(v.clone()));
    }
    if let Some(v) = &filter.subject {
        cond = cond.add(Column::Subject.eq(v.clone()));
    }
    if let Some(v) = filter.from {
        cond = cond.add(Column::CreatedAt.gte(v));
    }
    if let Some(v) = filter.to {
        cond = cond.add(Column::CreatedAt.lt(v));
    }
    if let Some((at, id)) = after {
        cond = cond.add(
            Condition::any().add(Column::CreatedAt.lt(at)).add(
                Condition::all()
                    .add(Column::CreatedAt.eq(at))
                    .add(Column::Id.lt(id)),
            ),
        );
    }
    let mut rows = audit_log::Entity::find()
        .filter(cond)
        .order_by_desc(Column::CreatedAt)
        .order_by_desc(Column::Id)
        .limit(page_size + 1)
        .all(conn)
        .await?;
    let next = if rows.len() as u64 > page_size {
        rows.truncate(page_size as usize);
        rows.last()
            .map(|last| page::encode(&(last.created_at, last.id.clone()), &fingerprint))
            .unwrap_or_default()
    } else {
        String::new()
    };
    Ok((rows, next))
}
