//! How each copy of the index follows the database. A copy is named in `search_replicas` when
//! it is built; every change to what the index knows of a case marks the case for every named
//! copy in the same transaction (`mark`), so a crash anywhere loses no change: the follower
//! indexes its marked cases, commits the index, then removes the marks it applied (a mark made
//! again meanwhile stays). A copy that was not seen for an hour is forgotten with its marks;
//! if it comes back it rebuilds, as does a copy whose files are missing, damaged or of an older
//! shape.
//!
//! Naming a copy waits for every transaction that is marking (PostgreSQL: they hold the
//! replicas table in share mode, the naming takes it exclusively; SQLite has one writer), and
//! the build reads the database only after, so every change is either in the build or marked
//! for the copy.

use std::time::Duration;

use sea_orm::sea_query::{LockType, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, Statement,
};
use steelcare_runtime::ApiError;
use steelcare_store::begin_write;
use steelcare_store::db::{Mark, mark_place};
use steelcare_store::entity::{search_marks, search_replicas};
use tokio::sync::watch;

use super::{Experience, Ready, cases, create_fresh, into_ready, open_existing, search_err};
use crate::engine::{Feedback, db_err};

/// How often a copy says it is alive.
const HEARTBEAT: Duration = Duration::from_secs(5);
/// A copy not seen for this long is forgotten, with its marks.
const FORGET_AFTER_MS: i64 = 3_600_000;
/// Most marked cases one pass indexes.
const BATCH: u64 = 500;
/// How often the follower looks for marks written by other processes.
const POLL: Duration = Duration::from_millis(250);
/// A pass that indexed at least this many cases (a burst of calls) is followed by a rest of
/// [`BUSY_REST`], so the burst is indexed in a few large commits rather than one per wake:
/// each commit writes a segment and reopens the searcher.
const BUSY: usize = 32;
const BUSY_REST: Duration = Duration::from_secs(1);
/// Cases read from the database at a time while building.
const BUILD_CHUNK: u64 = 500;

/// Marks `ticket_ids` for every copy of the index, in the caller's transaction.
pub async fn mark(conn: &impl ConnectionTrait, ticket_ids: &[String]) -> Result<(), ApiError> {
    if ticket_ids.is_empty() {
        return Ok(());
    }
    let mut replicas = search_replicas::Entity::find()
        .select_only()
        .column(search_replicas::Column::Id);
    if conn.get_database_backend() == DbBackend::Postgres {
        replicas = replicas.lock(LockType::Share);
    }
    let replicas: Vec<String> = replicas.into_tuple().all(conn).await.map_err(db_err)?;
    if replicas.is_empty() {
        return Ok(());
    }
    let now = steelcare_store::now().timestamp_millis();
    let rows = replicas.iter().flat_map(|replica| {
        ticket_ids
            .iter()
            .map(move |ticket| search_marks::ActiveModel {
                replica_id: Set(replica.clone()),
                ticket_id: Set(ticket.clone()),
                marked_at_ms: Set(now),
            })
    });
    search_marks::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::columns([
                search_marks::Column::ReplicaId,
                search_marks::Column::TicketId,
            ])
            .update_column(search_marks::Column::MarkedAtMs)
            .to_owned(),
        )
        .exec(conn)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// Whether `ticket_id` has a change copy `replica` has not indexed yet.
pub async fn pending(
    db: &steelcare_store::Database,
    replica: &str,
    ticket_id: &str,
) -> Result<bool, ApiError> {
    let marks = search_marks::Entity::find()
        .filter(search_marks::Column::ReplicaId.eq(replica))
        .filter(search_marks::Column::TicketId.eq(ticket_id))
        .count(db)
        .await
        .map_err(db_err)?;
    Ok(marks > 0)
}

/// Names a new copy, once every transaction that is marking has finished.
async fn name_copy(db: &steelcare_store::Database, replica: &str) -> Result<(), ApiError> {
    let tx = begin_write(db).await.map_err(db_err)?;
    if tx.get_database_backend() == DbBackend::Postgres {
        tx.execute_raw(Statement::from_string(
            DbBackend::Postgres,
            "LOCK TABLE search_replicas IN EXCLUSIVE MODE",
        ))
        .await
        .map_err(db_err)?;
    }
    search_replicas::Entity::insert(search_replicas::ActiveModel {
        id: Set(replica.to_owned()),
        seen_at_ms: Set(steelcare_store::now().timestamp_millis()),
    })
    .exec(&tx)
    .await
    .map_err(db_err)?;
    tx.commit().await.map_err(db_err)
}

/// Says the copy is alive; false when the database forgot it.
async fn heartbeat(db: &steelcare_store::Database, replica: &str) -> Result<bool, ApiError> {
    let done = search_replicas::Entity::update_many()
        .col_expr(
            search_replicas::Column::SeenAtMs,
            sea_orm::sea_query::Expr::value(steelcare_store::now().timestamp_millis()),
        )
        .filter(search_replicas::Column::Id.eq(replica))
        .exec(db)
        .await
        .map_err(db_err)?;
    Ok(done.rows_affected == 1)
}

/// Forgets the copies not seen for [`FORGET_AFTER_MS`], with their marks.
async fn forget_gone(db: &steelcare_store::Database) -> Result<(), ApiError> {
    let cutoff = steelcare_store::now().timestamp_millis() - FORGET_AFTER_MS;
    let gone: Vec<String> = search_replicas::Entity::find()
        .select_only()
        .column(search_replicas::Column::Id)
        .filter(search_replicas::Column::SeenAtMs.lt(cutoff))
        .into_tuple()
        .all(db)
        .await
        .map_err(db_err)?;
    if gone.is_empty() {
        return Ok(());
    }
    let tx = begin_write(db).await.map_err(db_err)?;
    search_replicas::Entity::delete_many()
        .filter(search_replicas::Column::Id.is_in(gone.clone()))
        .exec(&tx)
        .await
        .map_err(db_err)?;
    search_marks::Entity::delete_many()
        .filter(search_marks::Column::ReplicaId.is_in(gone.clone()))
        .exec(&tx)
        .await
        .map_err(db_err)?;
    tx.commit().await.map_err(db_err)?;
    tracing::info!(copies = ?gone, "search index copies not seen for an hour forgotten");
    Ok(())
}

/// Runs `work` on a blocking thread.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(search_err)?
}

impl Experience {
    /// Opens this process's copy, or builds it from the database.
    pub async fn open_or_build(&self, db: &steelcare_store::Database) -> Result<(), ApiError> {
        let path = self.versioned();
        let existing = blocking({
            let path = path.clone();
            move || Ok(open_existing(&path))
        })
        .await?;
        if let Some((index, replica)) = existing
            && heartbeat(db, &replica).await?
        {
            let ready = blocking(move || into_ready(index, replica)).await?;
            tracing::info!(copy = %ready.replica, "search index opened");
            self.set(Some(std::sync::Arc::new(ready)));
            return Ok(());
        }
        self.build(db, path).await
    }

    /// Builds a new copy at `path` from every case in the database.
    async fn build(
        &self,
        db: &steelcare_store::Database,
        path: std::path::PathBuf,
    ) -> Result<(), ApiError> {
        let started = std::time::Instant::now();
        let dir = self.dir.clone();
        let index = blocking(move || create_fresh(&dir, &path)).await?;
        let replica = uuid::Uuid::now_v7().to_string();
        name_copy(db, &replica).await?;
        let ready = std::sync::Arc::new(blocking(move || into_ready(index, replica)).await?);
        let mut after = String::new();
        let mut built = 0;
        loop {
            let ids = crate::facts::ticket_ids_after(db, &after, BUILD_CHUNK).await?;
            let Some(last) = ids.last().cloned() else {
                break;
            };
            let docs = cases::load(db, &ids).await?;
            built += docs.len();
            let r = ready.clone();
            blocking(move || r.add(&docs)).await?;
            after = last;
        }
        let r = ready.clone();
        blocking(move || r.write(&[], &[])).await?;
        tracing::info!(copy = %ready.replica, cases = built, ms = started.elapsed().as_millis() as u64, "search index built");
        self.set(Some(ready));
        Ok(())
    }
}

/// Follows the database until shutdown: opens or builds the copy, then indexes the marked
/// cases, flags possible recurrences among them, says the copy is alive and forgets copies
/// long gone.
pub async fn run(feedback: Feedback, mut shutdown: watch::Receiver<bool>) {
    let experience = feedback.experience.clone();
    let mut last_beat = std::time::Instant::now() - HEARTBEAT;
    loop {
        let pass = async {
            let ready = match experience.current() {
                Some(ready) => ready,
                None => {
                    experience.open_or_build(&feedback.db).await?;
                    experience.ready()?
                }
            };
            if last_beat.elapsed() >= HEARTBEAT {
                last_beat = std::time::Instant::now();
                if !heartbeat(&feedback.db, &ready.replica).await? {
                    tracing::warn!(copy = %ready.replica, "search index copy was forgotten; rebuilding");
                    experience.set(None);
                    return Ok(0);
                }
                forget_gone(&feedback.db).await?;
            }
            apply_marks(&feedback, &ready).await
        };
        let applied = match pass.await {
            Ok(n) => n,
            Err(err) => {
                tracing::warn!(error = %err, "search index follower: will retry");
                0
            }
        };
        if applied >= BATCH as usize {
            // Behind: go on at once.
        } else if applied >= BUSY {
            tokio::select! {
                _ = tokio::time::sleep(BUSY_REST) => {}
                _ = shutdown.changed() => {}
            }
        } else {
            tokio::select! {
                _ = tokio::time::sleep(POLL) => {}
                _ = experience.wake.notified() => {}
                _ = shutdown.changed() => {}
            }
        }
        if *shutdown.borrow() {
            return;
        }
    }
}

/// Indexes the cases marked for this copy, flags possible recurrences among them, then
/// removes the marks applied; answers how many.
async fn apply_marks(
    feedback: &Feedback,
    ready: &std::sync::Arc<Ready>,
) -> Result<usize, ApiError> {
    let backend = feedback.db.get_database_backend();
    let marks: Vec<Mark> = search_marks::Entity::find()
        .select_only()
        .column(search_marks::Column::TicketId)
        .column(search_marks::Column::MarkedAtMs)
        .expr(mark_place(backend))
        .filter(search_marks::Column::ReplicaId.eq(&ready.replica))
        .order_by_asc(search_marks::Column::MarkedAtMs)
        .limit(BATCH)
        .into_tuple::<(String, i64, Option<String>)>()
        .all(&feedback.db)
        .await
        .map_err(db_err)?
        .into_iter()
        .map(Mark::from)
        .collect();
    if marks.is_empty() {
        return Ok(0);
    }
    let ids: Vec<String> = marks.iter().map(|m| m.key.clone()).collect();
    let docs = cases::load(&feedback.db, &ids).await?;
    let gone: Vec<String> = (ids.iter())
        .filter(|id| !docs.iter().any(|d| &d.ticket_id == *id))
        .cloned()
        .collect();
    let r = ready.clone();
    let written = docs.clone();
    blocking(move || r.write(&written, &gone)).await?;
    super::recurrence::detect(feedback, ready, &docs).await?;
    let applied = steelcare_store::db::marks_among(backend, "ticket_id", "marked_at_ms", &marks);
    let tx = begin_write(&feedback.db).await.map_err(db_err)?;
    steelcare_store::db::find_by_place(&tx)
        .await
        .map_err(db_err)?;
    search_marks::Entity::delete_many()
        .filter(search_marks::Column::ReplicaId.eq(&ready.replica))
        .filter(applied)
        .exec(&tx)
        .await
        .map_err(db_err)?;
    tx.commit().await.map_err(db_err)?;
    Ok(marks.len())
}
