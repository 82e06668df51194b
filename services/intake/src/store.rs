//! Intake's queries. Every function takes a connection or a transaction, so a handler can
//! compose them with the case transition, the audit record and the outbox event it commits.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::Serialize;
use steelcare_store::entity::{
    attachments, cases, customers, dossier_items, projects, sla_clocks, sla_pauses, tickets,
    trainings, warranty_terms,
};
use steelcare_store::{StoreError, page};

/// Loads a customer.
pub async fn customer(
    conn: &impl ConnectionTrait,
    id: &str,
) -> Result<Option<customers::Model>, StoreError> {
    Ok(customers::Entity::find_by_id(id.to_owned())
        .one(conn)
        .await?)
}

/// Loads a project.
pub async fn project(
    conn: &impl ConnectionTrait,
    id: &str,
) -> Result<Option<projects::Model>, StoreError> {
    Ok(projects::Entity::find_by_id(id.to_owned())
        .one(conn)
        .await?)
}

/// Loads projects with their warranty terms (by scope), in one query.
pub async fn projects_with_terms(
    conn: &impl ConnectionTrait,
    ids: &[String],
) -> Result<Vec<(projects::Model, Vec<warranty_terms::Model>)>, StoreError> {
    Ok(projects::Entity::find()
        .filter(projects::Column::Id.is_in(ids.iter().cloned()))
        .find_with_related(warranty_terms::Entity)
        .order_by_asc(warranty_terms::Column::Scope)
        .order_by_asc(warranty_terms::Column::Id)
        .all(conn)
        .await?)
}

/// Loads a project by contract number.
pub async fn project_by_contract(
    conn: &impl ConnectionTrait,
    contract_number: &str,
) -> Result<Option<projects::Model>, StoreError> {
    Ok(projects::Entity::find()
        .filter(projects::Column::ContractNumber.eq(contract_number))
        .one(conn)
        .await?)
}

/// A project's warranty terms.
pub async fn warranty_terms(
    conn: &impl ConnectionTrait,
    project_id: &str,
) -> Result<Vec<warranty_terms::Model>, StoreError> {
    Ok(warranty_terms::Entity::find()
        .filter(warranty_terms::Column::ProjectId.eq(project_id))
        .order_by_asc(warranty_terms::Column::Scope)
        .order_by_asc(warranty_terms::Column::Id)
        .all(conn)
        .await?)
}

/// Replaces a project's warranty terms.
pub async fn replace_warranty_terms(
    conn: &impl ConnectionTrait,
    project_id: &str,
    terms: &[steelcare_domain::warranty::WarrantyTerm],
) -> Result<(), StoreError> {
    warranty_terms::Entity::delete_many()
        .filter(warranty_terms::Column::ProjectId.eq(project_id))
        .exec(conn)
        .await?;
    insert_warranty_terms(conn, project_id, terms).await
}

/// Adds the warranty terms of a project that has none yet (a new one), in one statement (an
/// import writes thousands of projects' terms).
pub async fn insert_warranty_terms(
    conn: &impl ConnectionTrait,
    project_id: &str,
    terms: &[steelcare_domain::warranty::WarrantyTerm],
) -> Result<(), StoreError> {
    if terms.is_empty() {
        return Ok(());
    }
    warranty_terms::Entity::insert_many(terms.iter().map(|term| warranty_terms::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        project_id: Set(project_id.to_owned()),
        scope: Set(term.scope.as_str().to_owned()),
        start_date: Set(term.start.to_string()),
        months: Set(i32::try_from(term.months).unwrap_or(i32::MAX)),
        note: Set(term.note.clone()),
    }))
    .exec(conn)
    .await?;
    Ok(())
}

/// Every warranty term, by project (for a whole sheet at once).
pub async fn all_warranty_terms(
    conn: &impl ConnectionTrait,
) -> Result<std::collections::HashMap<String, Vec<warranty_terms::Model>>, StoreError> {
    let mut by_project: std::collections::HashMap<String, Vec<warranty_terms::Model>> =
        std::collections::HashMap::new();
    for t in warranty_terms::Entity::find()
        .order_by_asc(warranty_terms::Column::Scope)
        .order_by_asc(warranty_terms::Column::Id)
        .all(conn)
        .await?
    {
        by_project.entry(t.project_id.clone()).or_default().push(t);
    }
    Ok(by_project)
}

/// Every dossier item, by project (for a whole sheet at once).
pub async fn all_dossier_items(
    conn: &impl ConnectionTrait,
) -> Result<std::collections::HashMap<String, Vec<dossier_items::Model>>, StoreError> {
    let mut by_project: std::collections::HashMap<String, Vec<dossier_items::Model>> =
        std::collections::HashMap::new();
    for i in dossier_items::Entity::find().all(conn).await? {
        by_project.entry(i.project_id.clone()).or_default().push(i);
    }
    Ok(by_project)
}

/// Every customer, by organisation name, then id.
pub async fn all_customers(
    conn: &impl ConnectionTrait,
) -> Result<Vec<customers::Model>, StoreError> {
    Ok(customers::Entity::find()
        .order_by_asc(customers::Column::OrganizationName)
        .order_by_asc(customers::Column::Id)
        .all(conn)
        .await?)
}

/// Every project, by contract number.
pub async fn all_projects(conn: &impl ConnectionTrait) -> Result<Vec<projects::Model>, StoreError> {
    Ok(projects::Entity::find()
        .order_by_asc(projects::Column::ContractNumber)
        .all(conn)
        .await?)
}

/// A project's dossier checklist.
pub async fn dossier_items(
    conn: &impl ConnectionTrait,
    project_id: &str,
) -> Result<Vec<dossier_items::Model>, StoreError> {
    Ok(dossier_items::Entity::find()
        .filter(dossier_items::Column::ProjectId.eq(project_id))
        .all(conn)
        .await?)
}

/// Sets one dossier item.
pub async fn upsert_dossier_item(
    conn: &impl ConnectionTrait,
    project_id: &str,
    kind: &str,
    present: bool,
    document_reference: &str,
) -> Result<(), StoreError> {
    use dossier_items::Column;
    let stmt = Query::insert()
        .into_table(dossier_items::Entity)
        .columns([
            Column::ProjectId,
            Column::Kind,
            Column::Present,
            Column::DocumentReference,
        ])
        .values_panic([
            project_id.into(),
            kind.into(),
            present.into(),
            document_reference.into(),
        ])
        .on_conflict(
            OnConflict::columns([Column::ProjectId, Column::Kind])
                .update_columns([Column::Present, Column::DocumentReference])
                .to_owned(),
        )
        .to_owned();
    conn.execute(&stmt).await?;
    Ok(())
}

/// A project's trainings, oldest first.
pub async fn trainings(
    conn: &impl ConnectionTrait,
    project_id: &str,
) -> Result<Vec<trainings::Model>, StoreError> {
    Ok(trainings::Entity::find()
        .filter(trainings::Column::ProjectId.eq(project_id))
        .order_by_asc(trainings::Column::HeldAt)
        .all(conn)
        .await?)
}

/// Projects, oldest first, one page at a time.
pub async fn list_projects(
    conn: &impl ConnectionTrait,
    customer_id: Option<&str>,
    page_size: u64,
    page_token: &str,
) -> Result<(Vec<projects::Model>, String), StoreError> {
    let fingerprint = page::fingerprint(&customer_id);
    let after: Option<(DateTime<Utc>, String)> = page::decode(page_token, &fingerprint)?;
    let mut query = projects::Entity::find();
    if let Some(c) = customer_id {
        query = query.filter(projects::Column::CustomerId.eq(c));
    }
    if let Some(key) = after {
        query = query.filter(page::after(
            projects::Column::CreatedAt,
            projects::Column::Id,
            key,
        ));
    }
    let mut rows = query
        .order_by_asc(projects::Column::CreatedAt)
        .order_by_asc(projects::Column::Id)
        .limit(page_size + 1)
        .all(conn)
        .await?;
    let next = page::next_token(&mut rows, page_size, &fingerprint, |p| {
        (p.created_at, p.id.clone())
    });
    Ok((rows, next))
}

/// A page of customers by organisation name, then id; only `only` when given (a customer's
/// own organisation).
pub async fn list_customers(
    conn: &impl ConnectionTrait,
    only: Option<&str>,
    page_size: u64,
    page_token: &str,
) -> Result<(Vec<customers::Model>, String), StoreError> {
    let fingerprint = page::fingerprint(&only);
    let after: Option<(String, String)> = page::decode(page_token, &fingerprint)?;
    let mut query = customers::Entity::find();
    if let Some(id) = only {
        query = query.filter(customers::Column::Id.eq(id));
    }
    if let Some(key) = after {
        query = query.filter(page::after(
            customers::Column::OrganizationName,
            customers::Column::Id,
            key,
        ));
    }
    let mut rows = query
        .order_by_asc(customers::Column::OrganizationName)
        .order_by_asc(customers::Column::Id)
        .limit(page_size + 1)
        .all(conn)
        .await?;
    let next = page::next_token(&mut rows, page_size, &fingerprint, |c| {
        (c.organization_name.clone(), c.id.clone())
    });
    Ok((rows, next))
}

/// The next `n` acceptance-number sequences of `day`, ascending.
///
/// SQLite: a counter row, inside the create's transaction, which already holds the write lock
/// (no extra disk sync). PostgreSQL: a sequence per day (`acceptance_YYYYMMDD`), created on
/// first use: `nextval` never waits for other transactions and never hands a number out twice,
/// so concurrent creates do not queue behind a counter row lock. A create that fails after
/// taking a number leaves a gap, never a duplicate.
pub async fn next_acceptance_sequences(
    tx: &impl ConnectionTrait,
    day: &str,
    n: usize,
) -> Result<Vec<i64>, StoreError> {
    let n = Ord::max(i64::try_from(n).unwrap_or(i64::MAX), 1);
    if tx.get_database_backend() == sea_orm::DbBackend::Sqlite {
        let last = increment_counter(tx, day, n).await?;
        return Ok((last - n + 1..=last).collect());
    }
    if day.is_empty() || !day.chars().all(|c| c.is_ascii_digit()) {
        return Err(StoreError::Corrupt(format!("acceptance day key {day:?}")));
    }
    let nextval = sea_orm::Statement::from_string(
        sea_orm::DbBackend::Postgres,
        format!("SELECT nextval('acceptance_{day}') AS value FROM generate_series(1, {n})"),
    );
    let mut values = tx
        .query_all_raw(nextval)
        .await?
        .iter()
        .map(|row| row.try_get::<i64>("", "value"))
        .collect::<Result<Vec<_>, _>>()?;
    values.sort_unstable();
    Ok(values)
}

/// Makes sure the PostgreSQL sequence of `day` exists (outside any transaction, so that a
/// create's transaction never fails on it). A no-op on SQLite.
pub async fn ensure_acceptance_sequence(
    db: &steelcare_store::Database,
    day: &str,
) -> Result<(), StoreError> {
    if db.get_database_backend() == sea_orm::DbBackend::Sqlite {
        return Ok(());
    }
    if day.is_empty() || !day.chars().all(|c| c.is_ascii_digit()) {
        return Err(StoreError::Corrupt(format!("acceptance day key {day:?}")));
    }
    // Intake's database role may not create anything: the migration's function creates the
    // sequence as the schema's owner and grants it to intake.
    let create = format!("SELECT {SEQUENCE_FUNCTION}('{day}')");
    if let Err(err) = db.execute_unprepared(&create).await {
        // The function absorbs two processes creating it at once; anything else is worth a
        // look (the create that follows fails on the missing sequence).
        tracing::warn!(error = %err, day, "the acceptance sequence of the day was not created");
    }
    Ok(())
}

use steelcare_store::migration::m20261204_000016_acceptance_sequence_function::FUNCTION as SEQUENCE_FUNCTION;

/// Acceptance and archive numbers count in one shared table.
pub use steelcare_store::counters::increment_counter;

/// Loads a ticket by id or acceptance number.
pub async fn ticket(
    conn: &impl ConnectionTrait,
    id_or_number: &str,
) -> Result<Option<tickets::Model>, StoreError> {
    let column = if id_or_number.starts_with("SC-") {
        tickets::Column::AcceptanceNumber
    } else {
        tickets::Column::Id
    };
    Ok(tickets::Entity::find()
        .filter(column.eq(id_or_number))
        .one(conn)
        .await?)
}

/// Marks a ticket changed (version and update time), optionally with a new SLA status.
pub async fn touch_ticket(
    conn: &impl ConnectionTrait,
    id: &str,
    sla_status: Option<&str>,
) -> Result<(), StoreError> {
    let mut update = tickets::Entity::update_many()
        .col_expr(
            tickets::Column::Version,
            Expr::col(tickets::Column::Version).add(1),
        )
        .col_expr(
            tickets::Column::UpdatedAt,
            Expr::value(steelcare_store::now()),
        );
    if let Some(status) = sla_status {
        update = update.col_expr(tickets::Column::SlaStatus, Expr::value(status));
    }
    update.filter(tickets::Column::Id.eq(id)).exec(conn).await?;
    Ok(())
}

/// The filter of [`list_tickets`].
#[derive(Debug, Clone, Default, Serialize)]
pub struct TicketFilter {
    pub states: Vec<String>,
    pub tiers: Vec<String>,
    pub categories: Vec<String>,
    pub project_id: Option<String>,
    pub customer_id: Option<String>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_to: Option<DateTime<Utc>>,
    pub sla_status: Option<String>,
}

/// Tickets oldest first (create time, then id), one page at a time.
pub async fn list_tickets(
    conn: &impl ConnectionTrait,
    filter: &TicketFilter,
    page_size: u64,
    page_token: &str,
) -> Result<(Vec<tickets::Model>, String), StoreError> {
    use tickets::Column;
    let fingerprint = page::fingerprint(filter);
    let after: Option<(DateTime<Utc>, String)> = page::decode(page_token, &fingerprint)?;
    let mut cond = Condition::all();
    if !filter.states.is_empty() {
        cond = cond.add(
            Column::Id.in_subquery(
                Query::select()
                    .column(cases::Column::Id)
                    .from(cases::Entity)
                    .and_where(cases::Column::State.is_in(filter.states.clone()))
                    .to_owned(),
            ),
        );
    }
    if !filter.tiers.is_empty() {
        cond = cond.add(Column::Tier.is_in(filter.tiers.clone()));
    }
    if !filter.categories.is_empty() {
        cond = cond.add(Column::Category.is_in(filter.categories.clone()));
    }
    if let Some(v) = &filter.project_id {
        cond = cond.add(Column::ProjectId.eq(v.clone()));
    }
    if let Some(v) = &filter.customer_id {
        cond = cond.add(Column::CustomerId.eq(v.clone()));
    }
    if let Some(v) = filter.created_from {
        cond = cond.add(Column::CreatedAt.gte(v));
    }
    if let Some(v) = filter.created_to {
        cond = cond.add(Column::CreatedAt.lt(v));
    }
    if let Some(v) = &filter.sla_status {
        cond = cond.add(Column::SlaStatus.eq(v.clone()));
    }
    if let Some((at, id)) = after {
        cond = cond.add(
            Condition::any().add(Column::CreatedAt.gt(at)).add(
                Condition::all()
                    .add(Column::CreatedAt.eq(at))
                    .add(Column::Id.gt(id)),
            ),
        );
    }
    let mut rows = tickets::Entity::find()
        .filter(cond)
        .order_by_asc(Column::CreatedAt)
        .order_by_asc(Column::Id)
        .limit(page_size + 1)
        .all(conn)
        .await?;
    let next = page::next_token(&mut rows, page_size, &fingerprint, |t| {
        (t.created_at, t.id.clone())
    });
    Ok((rows, next))
}

/// A ticket's clocks.
pub async fn clocks(
    conn: &impl ConnectionTrait,
    ticket_id: &str,
) -> Result<Vec<sla_clocks::Model>, StoreError> {
    clocks_of(conn, &[ticket_id.to_owned()]).await
}

/// A ticket's pauses, oldest first.
pub async fn pauses(
    conn: &impl ConnectionTrait,
    ticket_id: &str,
) -> Result<Vec<sla_pauses::Model>, StoreError> {
    Ok(sla_pauses::Entity::find()
        .filter(sla_pauses::Column::TicketId.eq(ticket_id))
        .order_by_asc(sla_pauses::Column::StartedAtMs)
        .all(conn)
        .await?)
}

/// Clocks with an alert due at `now_ms`, soonest first.
pub async fn due_clocks(
    conn: &impl ConnectionTrait,
    now_ms: i64,
    limit: u64,
) -> Result<Vec<sla_clocks::Model>, StoreError> {
    Ok(sla_clocks::Entity::find()
        .filter(sla_clocks::Column::StoppedAtMs.is_null())
        .filter(sla_clocks::Column::NextAlertAtMs.lte(now_ms))
        .order_by_asc(sla_clocks::Column::NextAlertAtMs)
        .limit(limit)
        .all(conn)
        .await?)
}

/// A ticket's attachments, oldest first.
pub async fn attachments(
    conn: &impl ConnectionTrait,
    ticket_id: &str,
) -> Result<Vec<attachments::Model>, StoreError> {
    attachments_of(conn, &[ticket_id.to_owned()]).await
}

/// Loads an attachment.
pub async fn attachment(
    conn: &impl ConnectionTrait,
    id: &str,
) -> Result<Option<attachments::Model>, StoreError> {
    Ok(attachments::Entity::find_by_id(id.to_owned())
        .one(conn)
        .await?)
}

async fn update_ticket(
    conn: &impl ConnectionTrait,
    id: &str,
    columns: Vec<(tickets::Column, sea_orm::sea_query::SimpleExpr)>,
    only_if: Option<Condition>,
) -> Result<u64, StoreError> {
    let mut update = tickets::Entity::update_many()
        .col_expr(
            tickets::Column::Version,
            Expr::col(tickets::Column::Version).add(1),
        )
        .col_expr(
            tickets::Column::UpdatedAt,
            Expr::value(steelcare_store::now()),
        );
    for (column, value) in columns {
        update = update.col_expr(column, value);
    }
    let mut update = update.filter(tickets::Column::Id.eq(id));
    if let Some(cond) = only_if {
        update = update.filter(cond);
    }
    Ok(update.exec(conn).await?.rows_affected)
}

/// Stores the reply given to the customer.
pub async fn set_reply(
    conn: &impl ConnectionTrait,
    id: &str,
    reply: &str,
) -> Result<(), StoreError> {
    update_ticket(
        conn,
        id,
        vec![(tickets::Column::Reply, Expr::value(reply))],
        None,
    )
    .await?;
    Ok(())
}

/// Stores a new classification and the warranty status it implies.
pub async fn set_classification(
    conn: &impl ConnectionTrait,
    id: &str,
    category: &str,
    tier: &str,
    warranty: &str,
) -> Result<(), StoreError> {
    update_ticket(
        conn,
        id,
        vec![
            (tickets::Column::Category, Expr::value(category)),
            (tickets::Column::Tier, Expr::value(tier)),
            (tickets::Column::Warranty, Expr::value(warranty)),
        ],
        None,
    )
    .await?;
    Ok(())
}

/// A free-text field of a ticket set by a later step.
#[derive(Debug, Clone, Copy)]
pub enum TicketText {
    /// The first response (AcknowledgeTicket).
    FirstResponse,
    /// The remote answer or the cancellation reason.
    Closing,
}

/// Stores one of the ticket's free-text fields.
pub async fn set_text(
    conn: &impl ConnectionTrait,
    id: &str,
    field: TicketText,
    text: &str,
) -> Result<(), StoreError> {
    let column = match field {
        TicketText::FirstResponse => tickets::Column::FirstResponseText,
        TicketText::Closing => tickets::Column::ClosingText,
    };
    update_ticket(conn, id, vec![(column, Expr::value(text))], None).await?;
    Ok(())
}

/// Records the read-back once; false when it was already confirmed.
pub async fn confirm_readback(
    conn: &impl ConnectionTrait,
    id: &str,
    text: &str,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let changed = update_ticket(
        conn,
        id,
        vec![
            (tickets::Column::ReadbackText, Expr::value(text)),
            (tickets::Column::ReadbackConfirmedAt, Expr::value(at)),
        ],
        Some(Condition::all().add(tickets::Column::ReadbackConfirmedAt.is_null())),
    )
    .await?;
    Ok(changed == 1)
}

/// The clocks of several tickets.
pub async fn clocks_of(
    conn: &impl ConnectionTrait,
    ticket_ids: &[String],
) -> Result<Vec<sla_clocks::Model>, StoreError> {
    Ok(sla_clocks::Entity::find()
        .filter(sla_clocks::Column::TicketId.is_in(ticket_ids.iter().cloned()))
        .all(conn)
        .await?)
}

/// The open pauses of several tickets.
pub async fn open_pauses_of(
    conn: &impl ConnectionTrait,
    ticket_ids: &[String],
) -> Result<Vec<sla_pauses::Model>, StoreError> {
    Ok(sla_pauses::Entity::find()
        .filter(sla_pauses::Column::TicketId.is_in(ticket_ids.iter().cloned()))
        .filter(sla_pauses::Column::EndedAtMs.is_null())
        .all(conn)
        .await?)
}

/// The attachments of several tickets, oldest first.
pub async fn attachments_of(
    conn: &impl ConnectionTrait,
    ticket_ids: &[String],
) -> Result<Vec<attachments::Model>, StoreError> {
    Ok(attachments::Entity::find()
        .filter(attachments::Column::TicketId.is_in(ticket_ids.iter().cloned()))
        .order_by_asc(attachments::Column::CreatedAt)
        .order_by_asc(attachments::Column::Id)
        .all(conn)
        .await?)
}

/// The lifecycle states of several cases.
pub async fn states_of(
    conn: &impl ConnectionTrait,
    ids: &[String],
) -> Result<Vec<cases::Model>, StoreError> {
    Ok(cases::Entity::find()
        .filter(cases::Column::Id.is_in(ids.iter().cloned()))
        .all(conn)
        .await?)
}
