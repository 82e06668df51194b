//! Dispatch's queries. Every state change is a conditional update (on state and version), so
//! two workers, a worker and an RPC, or two replicas can never both apply one.

use std::collections::{HashMap, HashSet};
use steelcare_i18n::Said;

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Statement,
};
use steelcare_runtime::ApiError;
use steelcare_store::StoreError;
use steelcare_store::entity::{
    assignment_offers, assignments, cases, dossier_items, projects, sla_clocks,
    survey_plan_members, technician_regions, technicians, tickets,
};

use crate::records::state;

/// A candidate as the database gives it per job: who, which version, how loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    /// Technician id.
    pub id: String,
    /// Row version.
    pub version: i64,
    /// Confirmed assignments.
    pub booked: i32,
    /// Open offers.
    pub offered: i32,
    /// Capacity.
    pub capacity: i32,
}

fn db(err: sea_orm::DbErr) -> ApiError {
    StoreError::from(err).into()
}

/// A technician row.
pub async fn technician(
    conn: &impl ConnectionTrait,
    id: &str,
) -> Result<Option<technicians::Model>, ApiError> {
    technicians::Entity::find_by_id(id.to_owned())
        .one(conn)
        .await
        .map_err(db)
}

/// Technician rows by id.
pub async fn technicians_by_id(
    conn: &impl ConnectionTrait,
    ids: &[String],
) -> Result<Vec<technicians::Model>, ApiError> {
    technicians::Entity::find()
        .filter(technicians::Column::Id.is_in(ids.iter().cloned()))
        .all(conn)
        .await
        .map_err(db)
}

/// Replaces the regions of a technician.
pub async fn set_regions(
    conn: &impl ConnectionTrait,
    technician_id: &str,
    regions: &[String],
) -> Result<(), ApiError> {
    technician_regions::Entity::delete_many()
        .filter(technician_regions::Column::TechnicianId.eq(technician_id))
        .exec(conn)
        .await
        .map_err(db)?;
    if regions.is_empty() {
        return Ok(());
    }
    technician_regions::Entity::insert_many(regions.iter().map(|r| {
        technician_regions::ActiveModel {
            technician_id: sea_orm::Set(technician_id.to_owned()),
            region: sea_orm::Set(r.clone()),
        }
    }))
    .exec(conn)
    .await
    .map_err(db)?;
    Ok(())
}

/// On-duty technicians with room (booked + offered < capacity) covering any of `regions`:
/// id, version and load. Driven from the region index and joined by primary key, a plan that
/// stays cheap before the planner has statistics (an `IN (subquery)` semi-join did not).
pub async fn candidates(
    conn: &impl ConnectionTrait,
    regions: &[String],
) -> Result<Vec<Slot>, ApiError> {
    use sea_orm::sea_query::Query;
    use technician_regions::Column as R;
    use technicians::Column as T;
    let t = technicians::Entity;
    let select = Query::select()
        .columns([
            (t, T::Id),
            (t, T::Version),
            (t, T::Booked),
            (t, T::Offered),
            (t, T::Capacity),
        ])
        .from(technician_regions::Entity)
        .inner_join(
            t,
            Expr::col((t, T::Id)).equals((technician_regions::Entity, R::TechnicianId)),
        )
        .and_where(
            Expr::col((technician_regions::Entity, R::Region)).is_in(regions.iter().cloned()),
        )
        .and_where(Expr::col((t, T::Status)).eq("on_duty"))
        .and_where(Expr::cust(
            "technicians.booked + technicians.offered < technicians.capacity",
        ))
        .to_owned();
    let rows = conn
        .query_all_raw(conn.get_database_backend().build(&select))
        .await
        .map_err(db)?;
    let mut seen = std::collections::HashSet::new();
    let mut slots = Vec::with_capacity(rows.len());
    for row in &rows {
        let id: String = row.try_get_by_index(0).map_err(db)?;
        // A technician covering the city and the province appears twice.
        if seen.insert(id.clone()) {
            slots.push(Slot {
                id,
                version: row.try_get_by_index(1).map_err(db)?,
                booked: row.try_get_by_index(2).map_err(db)?,
                offered: row.try_get_by_index(3).map_err(db)?,
                capacity: row.try_get_by_index(4).map_err(db)?,
            });
        }
    }
    Ok(slots)
}

/// Counts an offer opened (`+1`) or closed (`-1`) for a technician.
pub async fn count_offer(
    conn: &impl ConnectionTrait,
    technician_id: &str,
    delta: i32,
) -> Result<(), ApiError> {
    let mut update = technicians::Entity::update_many()
        .col_expr(
            technicians::Column::Offered,
            Expr::col(technicians::Column::Offered).add(delta),
        )
        .filter(technicians::Column::Id.eq(technician_id));
    if delta < 0 {
        update = update.filter(technicians::Column::Offered.gte(-delta));
    }
    update.exec(conn).await.map_err(db)?;
    Ok(())
}

/// Reserves a place for an offer the matcher makes: `offered + 1` only while the technician
/// is on duty and `booked + offered < capacity`, in one conditional update, so two workers
/// (in one process or two) can never both take a technician's last place. False when full.
pub async fn reserve_offer(
    conn: &impl ConnectionTrait,
    technician_id: &str,
) -> Result<bool, ApiError> {
    let result = technicians::Entity::update_many()
        .col_expr(
            technicians::Column::Offered,
            Expr::col(technicians::Column::Offered).add(1),
        )
        .filter(technicians::Column::Id.eq(technician_id))
        .filter(technicians::Column::Status.eq("on_duty"))
        .filter(Expr::cust(
            "technicians.booked + technicians.offered < technicians.capacity",
        ))
        .exec(conn)
        .await
        .map_err(db)?;
    Ok(result.rows_affected == 1)
}

/// Turns an open offer into a booked place: `booked + 1, offered - 1` only while under
/// capacity. False when full; this is the database's guard against double booking.
pub async fn book(conn: &impl ConnectionTrait, technician_id: &str) -> Result<bool, ApiError> {
    let result = technicians::Entity::update_many()
        .col_expr(
            technicians::Column::Booked,
            Expr::col(technicians::Column::Booked).add(1),
        )
        .col_expr(
            technicians::Column::Offered,
            Expr::cust("CASE WHEN offered > 0 THEN offered - 1 ELSE 0 END"),
        )
        .filter(technicians::Column::Id.eq(technician_id))
        .filter(Expr::col(technicians::Column::Booked).lt(Expr::col(technicians::Column::Capacity)))
        .exec(conn)
        .await
        .map_err(db)?;
    Ok(result.rows_affected == 1)
}

/// Counts a first acceptance round judged on work a technician did, and keeps their
/// first-time acceptance rate (accepted first rounds over first rounds) with it: one update,
/// the rate computed from the counts it increments.
pub async fn count_first_round(
    conn: &impl ConnectionTrait,
    technician_id: &str,
    accepted: bool,
) -> Result<(), ApiError> {
    let add = i64::from(accepted);
    technicians::Entity::update_many()
        .col_expr(
            technicians::Column::FirstRoundCases,
            Expr::col(technicians::Column::FirstRoundCases).add(1),
        )
        .col_expr(
            technicians::Column::FirstRoundAccepted,
            Expr::col(technicians::Column::FirstRoundAccepted).add(add),
        )
        .col_expr(
            technicians::Column::FirstTimeRate,
            Expr::cust(format!(
                "CAST(first_round_accepted + {add} AS DOUBLE PRECISION) / (first_round_cases + 1)"
            )),
        )
        // Matching keeps a parsed profile per row version: the new rate must reach it.
        .col_expr(
            technicians::Column::Version,
            Expr::col(technicians::Column::Version).add(1),
        )
        .filter(technicians::Column::Id.eq(technician_id))
        .exec(conn)
        .await
        .map_err(db)?;
    Ok(())
}

/// Gives a place back (a confirmed assignment completed or was withdrawn).
pub async fn unbook(conn: &impl ConnectionTrait, technician_id: &str) -> Result<(), ApiError> {
    technicians::Entity::update_many()
        .col_expr(
            technicians::Column::Booked,
            Expr::col(technicians::Column::Booked).sub(1),
        )
        .filter(technicians::Column::Id.eq(technician_id))
        .filter(technicians::Column::Booked.gt(0))
        .exec(conn)
        .await
        .map_err(db)?;
    Ok(())
}

/// An assignment by id.
pub async fn assignment(
    conn: &impl ConnectionTrait,
    id: &str,
) -> Result<Option<assignments::Model>, ApiError> {
    assignments::Entity::find_by_id(id.to_owned())
        .one(conn)
        .await
        .map_err(db)
}

/// The assignment of a ticket.
pub async fn assignment_of_ticket(
    conn: &impl ConnectionTrait,
    ticket_id: &str,
) -> Result<Option<assignments::Model>, ApiError> {
    assignments::Entity::find()
        .filter(assignments::Column::TicketId.eq(ticket_id))
        .one(conn)
        .await
        .map_err(db)
}

/// Applies `update` to an assignment only if it is still at `version`; bumps the version.
/// False when it changed meanwhile.
pub async fn update_assignment(
    conn: &impl ConnectionTrait,
    row: &assignments::Model,
    update: sea_orm::UpdateMany<assignments::Entity>,
) -> Result<bool, ApiError> {
    let result = update
        .col_expr(
            assignments::Column::Version,
            Expr::col(assignments::Column::Version).add(1),
        )
        .col_expr(
            assignments::Column::UpdatedAt,
            Expr::value(steelcare_store::now()),
        )
        .filter(assignments::Column::Id.eq(&row.id))
        .filter(assignments::Column::Version.eq(row.version))
        .exec(conn)
        .await
        .map_err(db)?;
    Ok(result.rows_affected == 1)
}

/// Runs an UPDATE over a table of values, in one statement on both backends, and answers the
/// `id`s it returns. `columns` names the table's columns with their PostgreSQL types (its
/// parameters need them); `rows` holds one value per column for each row; `sql` writes the
/// statement from the `VALUES` list and the placeholders of `params`, the statement's other
/// values. The rows' placeholders come first in the text and in the numbering, so SQLite's
/// `?`, numbered in the order they appear, and PostgreSQL's `$n` take the same values.
async fn update_from_values(
    conn: &impl ConnectionTrait,
    columns: &[&str],
    rows: Vec<Vec<sea_orm::Value>>,
    params: Vec<sea_orm::Value>,
    sql: impl FnOnce(&str, &[String]) -> String,
) -> Result<HashSet<String>, ApiError> {
    if rows.is_empty() {
        return Ok(HashSet::new());
    }
    let backend = conn.get_database_backend();
    let mut next = 0;
    let mut placeholder = |pg_type: &str| {
        next += 1;
        match backend {
            DbBackend::Postgres if pg_type.is_empty() => format!("${next}"),
            DbBackend::Postgres => format!("${next}::{pg_type}"),
            _ => "?".to_owned(),
        }
    };
    let mut values = Vec::with_capacity(rows.len() * columns.len() + params.len());
    let mut tuples = Vec::with_capacity(rows.len());
    for row in rows {
        let marks: Vec<String> = columns.iter().map(|c| placeholder(c)).collect();
        tuples.push(format!("({})", marks.join(", ")));
        values.extend(row);
    }
    let param_marks: Vec<String> = params.iter().map(|_| placeholder("")).collect();
    values.extend(params);
    let sql = sql(&tuples.join(", "), &param_marks);
    let rows = conn
        .query_all_raw(Statement::from_sql_and_values(backend, sql, values))
        .await
        .map_err(db)?;
    rows.iter()
        .map(|r| r.try_get::<String>("", "id").map_err(db))
        .collect()
}

/// Counts one more escalation on each waiting assignment of `due` (the row as read, and the
/// time of its retry in ms), in one statement, each only if it is still waiting at the version
/// read. Answers the ids that were updated.
pub async fn escalate_all(
    conn: &impl ConnectionTrait,
    due: &[(&assignments::Model, i64)],
) -> Result<HashSet<String>, ApiError> {
    let rows = (due.iter())
        .map(|(row, retry_at_ms)| {
            vec![
                row.id.clone().into(),
                row.version.into(),
                (row.escalations + 1).into(),
                (*retry_at_ms).into(),
            ]
        })
        .collect();
    let params = vec![steelcare_store::now().into(), state::WAITING.into()];
    update_from_values(
        conn,
        &["text", "bigint", "integer", "bigint"],
        rows,
        params,
        |values, p| {
            format!(
                "WITH due (id, version, escalations, retry_at_ms) AS (VALUES {values}) \
                 UPDATE assignments SET escalations = due.escalations, \
                 retry_at_ms = due.retry_at_ms, version = assignments.version + 1, \
                 updated_at = {} FROM due WHERE assignments.state = {} \
                 AND assignments.id = due.id AND assignments.version = due.version \
                 RETURNING assignments.id",
                p[0], p[1]
            )
        },
    )
    .await
}

/// Reserves places for the offers of a burst: for each technician of `wanted` (id, offers),
/// `offered + n` only while on duty and `booked + offered + n <= capacity`, in one statement;
/// a technician without room for all their offers gets none of them (as [`reserve_offer`]
/// for each). Answers the technicians whose places were reserved.
pub async fn reserve_offers(
    conn: &impl ConnectionTrait,
    wanted: &HashMap<&str, i32>,
) -> Result<HashSet<String>, ApiError> {
    if wanted.is_empty() {
        return Ok(HashSet::new());
    }
    if conn.get_database_backend() == DbBackend::Postgres {
        // Two bursts that reserve some of the same technicians take their rows in one order
        // (by id), so they cannot wait for each other in a circle; in any order they did,
        // and each deadlock stalled both workers for PostgreSQL's `deadlock_timeout` (1 s)
        // before one burst was undone. SQLite has one writer at a time.
        let ids: Vec<&str> = wanted.keys().copied().collect();
        technicians::Entity::find()
            .select_only()
            .column(technicians::Column::Id)
            .filter(technicians::Column::Id.is_in(ids))
            .order_by_asc(technicians::Column::Id)
            .lock_exclusive()
            .into_tuple::<String>()
            .all(conn)
            .await
            .map_err(db)?;
    }
    let rows = (wanted.iter())
        .map(|(id, n)| vec![(*id).into(), (*n).into()])
        .collect();
    update_from_values(
        conn,
        &["text", "integer"],
        rows,
        vec!["on_duty".into()],
        |values, p| {
            format!(
                "WITH want (id, n) AS (VALUES {values}) \
                 UPDATE technicians SET offered = technicians.offered + want.n FROM want \
                 WHERE technicians.id = want.id AND technicians.status = {} \
                 AND technicians.booked + technicians.offered + want.n <= technicians.capacity \
                 RETURNING technicians.id",
                p[0]
            )
        },
    )
    .await
}

/// An offer of a burst for [`offer_all`]: the assignment as read, to whom, until when (ms),
/// and the ranking record's JSON.
pub struct BurstOffer<'a> {
    /// The assignment as read.
    pub row: &'a assignments::Model,
    /// The technician offered it.
    pub technician_id: &'a str,
    /// When the offer expires, ms since the epoch.
    pub expires_ms: i64,
    /// The ranking record, as JSON.
    pub ranking: String,
}

/// Moves each waiting assignment of `offers` to offered (its technician, expiry and ranking;
/// not manual, no retry), in one statement, each only if it is still waiting at the version
/// read. Answers the ids that were updated.
pub async fn offer_all(
    conn: &impl ConnectionTrait,
    offers: &[BurstOffer<'_>],
) -> Result<HashSet<String>, ApiError> {
    let rows = (offers.iter())
        .map(|o| {
            vec![
                o.row.id.clone().into(),
                o.row.version.into(),
                o.technician_id.into(),
                o.expires_ms.into(),
                o.ranking.clone().into(),
            ]
        })
        .collect();
    let params = vec![
        state::OFFERED.into(),
        false.into(),
        steelcare_store::now().into(),
        state::WAITING.into(),
    ];
    update_from_values(
        conn,
        &["text", "bigint", "text", "bigint", "text"],
        rows,
        params,
        |values, p| {
            format!(
                "WITH o (id, version, technician_id, expires_ms, ranking) AS (VALUES {values}) \
                 UPDATE assignments SET state = {}, technician_id = o.technician_id, \
                 offer_expires_at_ms = o.expires_ms, ranking = o.ranking, manual = {}, \
                 retry_at_ms = NULL, version = assignments.version + 1, updated_at = {} \
                 FROM o WHERE assignments.id = o.id AND assignments.version = o.version \
                 AND assignments.state = {} RETURNING assignments.id",
                p[0], p[1], p[2], p[3]
            )
        },
    )
    .await
}

/// Offers of assignments, oldest first.
pub async fn offers(
    conn: &impl ConnectionTrait,
    assignment_ids: &[String],
) -> Result<Vec<assignment_offers::Model>, ApiError> {
    if assignment_ids.is_empty() {
        return Ok(Vec::new());
    }
    assignment_offers::Entity::find()
        .filter(assignment_offers::Column::AssignmentId.is_in(assignment_ids.iter().cloned()))
        .order_by_asc(assignment_offers::Column::AssignmentId)
        .order_by_asc(assignment_offers::Column::Seq)
        .all(conn)
        .await
        .map_err(db)
}

/// The next offer number of an assignment.
pub async fn next_offer_seq(
    conn: &impl ConnectionTrait,
    assignment_id: &str,
) -> Result<i32, ApiError> {
    Ok(next_offer_seqs(conn, &[assignment_id])
        .await?
        .remove(assignment_id)
        .unwrap_or(1))
}

/// The next offer number of each of `assignment_ids` (1 for one without offers), in one query.
pub async fn next_offer_seqs(
    conn: &impl ConnectionTrait,
    assignment_ids: &[&str],
) -> Result<HashMap<String, i32>, ApiError> {
    let mut next: HashMap<String, i32> = assignment_ids
        .iter()
        .map(|id| ((*id).to_owned(), 1))
        .collect();
    if assignment_ids.is_empty() {
        return Ok(next);
    }
    let found: Vec<(String, Option<i32>)> = assignment_offers::Entity::find()
        .select_only()
        .column(assignment_offers::Column::AssignmentId)
        .column_as(Expr::col(assignment_offers::Column::Seq).max(), "m")
        .filter(assignment_offers::Column::AssignmentId.is_in(assignment_ids.iter().copied()))
        .group_by(assignment_offers::Column::AssignmentId)
        .into_tuple()
        .all(conn)
        .await
        .map_err(db)?;
    for (id, max) in found {
        next.insert(id, max.unwrap_or(0) + 1);
    }
    Ok(next)
}

/// Closes the open offer of an assignment with `outcome`.
pub async fn close_offer(
    conn: &impl ConnectionTrait,
    assignment_id: &str,
    outcome: &str,
    at_ms: i64,
    reason: &Said,
) -> Result<(), ApiError> {
    assignment_offers::Entity::update_many()
        .col_expr(assignment_offers::Column::State, Expr::value(outcome))
        .col_expr(assignment_offers::Column::RespondedAtMs, Expr::value(at_ms))
        .col_expr(
            assignment_offers::Column::Reason,
            Expr::value(reason.to_column()),
        )
        .filter(assignment_offers::Column::AssignmentId.eq(assignment_id))
        .filter(assignment_offers::Column::State.eq(state::OFFERED))
        .exec(conn)
        .await
        .map_err(db)?;
    Ok(())
}

/// Moves the expiry of an assignment's open offer.
pub async fn move_offer_expiry(
    conn: &impl ConnectionTrait,
    assignment_id: &str,
    expires_at_ms: i64,
) -> Result<(), ApiError> {
    assignment_offers::Entity::update_many()
        .col_expr(
            assignment_offers::Column::ExpiresAtMs,
            Expr::value(expires_at_ms),
        )
        .filter(assignment_offers::Column::AssignmentId.eq(assignment_id))
        .filter(assignment_offers::Column::State.eq(state::OFFERED))
        .exec(conn)
        .await
        .map_err(db)?;
    Ok(())
}

/// Offers whose time ran out, oldest expiry first.
pub async fn expired_offers(
    conn: &impl ConnectionTrait,
    now_ms: i64,
    limit: u64,
) -> Result<Vec<assignments::Model>, ApiError> {
    assignments::Entity::find()
        .filter(assignments::Column::State.eq(state::OFFERED))
        .filter(assignments::Column::OfferExpiresAtMs.lte(now_ms))
        .order_by_asc(assignments::Column::OfferExpiresAtMs)
        .limit(limit)
        .all(conn)
        .await
        .map_err(db)
}

/// Waiting assignments that should be in the queue now: with `retries_only`, those whose
/// retry came due (the sweeper queues them); otherwise those with no retry pending (the
/// reconciler checks the queue has them). After `after` in id order.
pub async fn due_waiting(
    conn: &impl ConnectionTrait,
    now_ms: i64,
    retries_only: bool,
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<assignments::Model>, ApiError> {
    let due = assignments::Column::RetryAtMs.lte(now_ms);
    let mut query = assignments::Entity::find()
        .filter(assignments::Column::State.eq(state::WAITING))
        .filter(if retries_only {
            Condition::all().add(due)
        } else {
            Condition::all().add(assignments::Column::RetryAtMs.is_null())
        });
    if let Some(after) = after {
        query = query.filter(assignments::Column::Id.gt(after));
    }
    query
        .order_by_asc(assignments::Column::Id)
        .limit(limit)
        .all(conn)
        .await
        .map_err(db)
}

/// The regions a technician covers.
pub async fn regions_of(
    conn: &impl ConnectionTrait,
    technician_id: &str,
) -> Result<Vec<String>, ApiError> {
    technician_regions::Entity::find()
        .select_only()
        .column(technician_regions::Column::Region)
        .filter(technician_regions::Column::TechnicianId.eq(technician_id))
        .into_tuple()
        .all(conn)
        .await
        .map_err(db)
}

/// Waiting assignments sitting out a retry that is not due yet.
pub async fn waiting_for_retry(
    conn: &impl ConnectionTrait,
    now_ms: i64,
    limit: u64,
) -> Result<Vec<assignments::Model>, ApiError> {
    assignments::Entity::find()
        .filter(assignments::Column::State.eq(state::WAITING))
        .filter(assignments::Column::RetryAtMs.gt(now_ms))
        .order_by_asc(assignments::Column::Score)
        .limit(limit)
        .all(conn)
        .await
        .map_err(db)
}

/// A ticket row.
pub async fn ticket(
    conn: &impl ConnectionTrait,
    id: &str,
) -> Result<Option<tickets::Model>, ApiError> {
    tickets::Entity::find_by_id(id.to_owned())
        .one(conn)
        .await
        .map_err(db)
}

/// The rows of entity `E` whose `id` column is one of `ids` (the ones that exist), in one
/// query.
async fn rows_with_ids<E: EntityTrait>(
    conn: &impl ConnectionTrait,
    id: E::Column,
    ids: &[&str],
) -> Result<Vec<E::Model>, ApiError> {
    E::find()
        .filter(id.is_in(ids.iter().copied()))
        .all(conn)
        .await
        .map_err(db)
}

/// What a burst of site visits needs of its tickets: each existing ticket's project and its
/// case's lifecycle state (none when the case is missing), by ticket id, in one query.
pub async fn projects_and_states(
    conn: &impl ConnectionTrait,
    ids: &[&str],
) -> Result<HashMap<String, (String, Option<String>)>, ApiError> {
    use sea_orm::sea_query::Query;
    let (t, c) = (tickets::Entity, cases::Entity);
    let select = Query::select()
        .columns([(t, tickets::Column::Id), (t, tickets::Column::ProjectId)])
        .column((c, cases::Column::State))
        .from(t)
        .left_join(
            c,
            Expr::col((c, cases::Column::Id)).equals((t, tickets::Column::Id)),
        )
        .and_where(Expr::col((t, tickets::Column::Id)).is_in(ids.iter().copied()))
        .to_owned();
    let rows = conn
        .query_all_raw(conn.get_database_backend().build(&select))
        .await
        .map_err(db)?;
    let mut found = HashMap::with_capacity(rows.len());
    for row in &rows {
        let id: String = row.try_get_by_index(0).map_err(db)?;
        let project_id: String = row.try_get_by_index(1).map_err(db)?;
        let state: Option<String> = row.try_get_by_index(2).map_err(db)?;
        found.insert(id, (project_id, state));
    }
    Ok(found)
}

/// Project rows by id (the ones that exist), in one query.
pub async fn projects(
    conn: &impl ConnectionTrait,
    ids: &[&str],
) -> Result<HashMap<String, projects::Model>, ApiError> {
    let rows = rows_with_ids::<projects::Entity>(conn, projects::Column::Id, ids).await?;
    Ok(rows.into_iter().map(|p| (p.id.clone(), p)).collect())
}

/// Assignments by id (the ones that exist), in one query.
pub async fn assignments_by_id(
    conn: &impl ConnectionTrait,
    ids: &[&str],
) -> Result<HashMap<String, assignments::Model>, ApiError> {
    let rows = rows_with_ids::<assignments::Entity>(conn, assignments::Column::Id, ids).await?;
    Ok(rows.into_iter().map(|a| (a.id.clone(), a)).collect())
}

/// A project row.
pub async fn project(
    conn: &impl ConnectionTrait,
    id: &str,
) -> Result<Option<projects::Model>, ApiError> {
    projects::Entity::find_by_id(id.to_owned())
        .one(conn)
        .await
        .map_err(db)
}

/// The handover dossier of a project.
pub async fn dossier(
    conn: &impl ConnectionTrait,
    project_id: &str,
) -> Result<Vec<dossier_items::Model>, ApiError> {
    dossier_items::Entity::find()
        .filter(dossier_items::Column::ProjectId.eq(project_id))
        .order_by_asc(dossier_items::Column::Kind)
        .all(conn)
        .await
        .map_err(db)
}

/// The current arrival deadline of a ticket (pauses included), in ms.
pub async fn arrival_deadline_ms(
    conn: &impl ConnectionTrait,
    ticket_id: &str,
) -> Result<Option<i64>, ApiError> {
    Ok(
        sla_clocks::Entity::find_by_id((ticket_id.to_owned(), "arrival".to_owned()))
            .one(conn)
            .await
            .map_err(db)?
            .and_then(|c| c.deadline_at_ms),
    )
}

/// Survey-plan memberships of `technician_ids` overlapping `[from_ms, to_ms)`.
pub async fn overlapping_surveys(
    conn: &impl ConnectionTrait,
    technician_ids: &[String],
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<survey_plan_members::Model>, ApiError> {
    survey_plan_members::Entity::find()
        .filter(survey_plan_members::Column::TechnicianId.is_in(technician_ids.iter().cloned()))
        .filter(survey_plan_members::Column::StartsAtMs.lt(to_ms))
        .filter(survey_plan_members::Column::EndsAtMs.gt(from_ms))
        .all(conn)
        .await
        .map_err(db)
}
