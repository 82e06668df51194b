//! The embedded backend: streams, consumer groups and queues as tables in the SQL database
//! (SQLite by default, PostgreSQL when configured without Redis). Every step that two workers
//! could race on is a conditional update, so it is safe with several processes on PostgreSQL.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set, Statement,
};
use steelcare_store::entity::{bus_group_cursors, bus_pending, bus_queue_jobs, bus_stream_entries};
use steelcare_store::{Database, begin_write};

use crate::{
    BusError, ClaimedJob, Delivery, DispatchQueue, EventStream, GroupLag, OutgoingMessage,
    QueueJob, now_ms,
};

/// Stream entries per insert statement (4 parameters each).
const PUBLISH_CHUNK: usize = 500;

/// Bus tables in the store's database.
#[derive(Clone)]
pub struct EmbeddedBus {
    db: Database,
}

impl EmbeddedBus {
    /// Uses `db`, which must be migrated.
    pub fn new(db: Database) -> Self {
        EmbeddedBus { db }
    }

    /// Applies `update` to a job only while `lease_token` holds its lease.
    async fn update_held(
        &self,
        queue: &str,
        job_id: &str,
        lease_token: &str,
        update: sea_orm::UpdateMany<bus_queue_jobs::Entity>,
    ) -> Result<bool, BusError> {
        use bus_queue_jobs::Column;
        let updated = update
            .filter(Column::Queue.eq(queue))
            .filter(Column::JobId.eq(job_id))
            .filter(Column::LeaseToken.eq(lease_token))
            .exec(&self.db)
            .await?;
        Ok(updated.rows_affected == 1)
    }

    /// Whether a job of `queue` is ready to be claimed at `now`.
    async fn any_ready(&self, queue: &str, now: i64) -> Result<bool, BusError> {
        use bus_queue_jobs::Column;
        Ok(bus_queue_jobs::Entity::find()
            .filter(Column::Queue.eq(queue))
            .filter(
                Column::LeaseUntilMs
                    .is_null()
                    .or(Column::LeaseUntilMs.lte(now)),
            )
            .one(&self.db)
            .await?
            .is_some())
    }

    /// PostgreSQL's claim: the first `max` free jobs are chosen and locked in one pass that
    /// skips those another claim holds (`FOR UPDATE SKIP LOCKED`), then leased. Two claims
    /// that chose overlapping jobs and locked them in different orders deadlocked (PostgreSQL
    /// then aborted one); a choice made once (`MATERIALIZED`) also cannot be scanned again
    /// and lease more than `max`.
    async fn claim_locked(
        &self,
        queue: &str,
        lease: Duration,
        max: usize,
        token: &str,
        now: i64,
    ) -> Result<Vec<bus_queue_jobs::Model>, BusError> {
        let sql = "WITH ready AS MATERIALIZED (\
             SELECT job_id FROM bus_queue_jobs \
             WHERE queue = $1 AND (lease_until_ms IS NULL OR lease_until_ms <= $2) \
             ORDER BY score, job_id LIMIT $3 FOR UPDATE SKIP LOCKED) \
             UPDATE bus_queue_jobs SET lease_token = $4, lease_until_ms = $5, \
             attempts = attempts + 1 \
             WHERE queue = $1 AND job_id IN (SELECT job_id FROM ready) \
             RETURNING *";
        let values: [sea_orm::Value; 5] = [
            queue.into(),
            now.into(),
            i64::try_from(max).unwrap_or(i64::MAX).into(),
            token.into(),
            (now + millis(lease)).into(),
        ];
        Ok(bus_queue_jobs::Entity::find()
            .from_raw_sql(Statement::from_sql_and_values(
                DbBackend::Postgres,
                sql,
                values,
            ))
            .all(&self.db)
            .await?)
    }
}

/// Claimed rows as the jobs a worker holds under `token`, in the queue's order.
fn claimed_jobs(mut claimed: Vec<bus_queue_jobs::Model>, token: &str) -> Vec<ClaimedJob> {
    claimed.sort_by(|a, b| (a.score, &a.job_id).cmp(&(b.score, &b.job_id)));
    claimed
        .into_iter()
        .map(|job| ClaimedJob {
            job_id: job.job_id,
            payload: job.payload,
            score: job.score,
            lease_token: token.to_owned(),
            attempts: u32::try_from(job.attempts).unwrap_or(u32::MAX),
        })
        .collect()
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

async fn load_deliveries(
    conn: &impl ConnectionTrait,
    ids: &[i64],
    redelivered: bool,
) -> Result<Vec<Delivery>, BusError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = bus_stream_entries::Entity::find()
        .filter(bus_stream_entries::Column::Id.is_in(ids.iter().copied()))
        .order_by_asc(bus_stream_entries::Column::Id)
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| Delivery {
            entry_id: row.id.to_string(),
            event_id: row.event_id,
            payload: row.payload,
            redelivered,
        })
        .collect())
}

#[async_trait::async_trait]
impl EventStream for EmbeddedBus {
    async fn publish(
        &self,
        stream: &str,
        event_id: &str,
        payload: &[u8],
    ) -> Result<String, BusError> {
        let row = bus_stream_entries::ActiveModel {
            stream: Set(stream.to_owned()),
            event_id: Set(event_id.to_owned()),
            payload: Set(payload.to_vec()),
            created_at_ms: Set(now_ms()),
            ..Default::default()
        }
        .insert(&self.db)
        .await?;
        Ok(row.id.to_string())
    }

    /// One statement for the whole batch (the relay publishes up to 256 at a time): a
    /// statement per message made each its own write transaction, which on SQLite queued
    /// behind the ticket writer's, and the relay fell behind a burst of calls.
    async fn publish_all(&self, messages: &[OutgoingMessage<'_>]) -> Result<Vec<String>, BusError> {
        if messages.is_empty() {
            return Ok(Vec::new());
        }
        let now = now_ms();
        let mut ids: HashMap<String, i64> = HashMap::with_capacity(messages.len());
        // Rows per statement: well inside SQLite's and PostgreSQL's limits on parameters.
        for chunk in messages.chunks(PUBLISH_CHUNK) {
            let rows = chunk.iter().map(|m| bus_stream_entries::ActiveModel {
                stream: Set(m.stream.to_owned()),
                event_id: Set(m.event_id.to_owned()),
                payload: Set(m.payload.to_vec()),
                created_at_ms: Set(now),
                ..Default::default()
            });
            let inserted = bus_stream_entries::Entity::insert_many(rows)
                .exec_with_returning(&self.db)
                .await?;
            ids.extend(inserted.into_iter().map(|row| (row.event_id, row.id)));
        }
        messages
            .iter()
            .map(|m| {
                ids.get(m.event_id).map(i64::to_string).ok_or_else(|| {
                    BusError::Malformed(format!("no entry id for event {}", m.event_id))
                })
            })
            .collect()
    }

    async fn ensure_group(&self, stream: &str, group: &str) -> Result<(), BusError> {
        use bus_group_cursors::Column;
        let stmt = Query::insert()
            .into_table(bus_group_cursors::Entity)
            .columns([Column::Stream, Column::GroupName, Column::LastEntryId])
            .values_panic([stream.into(), group.into(), 0_i64.into()])
            .on_conflict(
                OnConflict::columns([Column::Stream, Column::GroupName])
                    .do_nothing()
                    .to_owned(),
            )
            .to_owned();
        self.db.execute(&stmt).await?;
        Ok(())
    }

    async fn read_new(
        &self,
        stream: &str,
        group: &str,
        consumer: &str,
        count: usize,
    ) -> Result<Vec<Delivery>, BusError> {
        let tx = begin_write(&self.db).await?;
        let cursor = bus_group_cursors::Entity::find_by_id((stream.to_owned(), group.to_owned()))
            .one(&tx)
            .await?
            .ok_or_else(|| BusError::NoGroup {
                stream: stream.to_owned(),
                group: group.to_owned(),
            })?;
        let ids: Vec<i64> = bus_stream_entries::Entity::find()
            .select_only()
            .column(bus_stream_entries::Column::Id)
            .filter(bus_stream_entries::Column::Stream.eq(stream))
            .filter(bus_stream_entries::Column::Id.gt(cursor.last_entry_id))
            .order_by_asc(bus_stream_entries::Column::Id)
            .limit(count as u64)
            .into_tuple()
            .all(&tx)
            .await?;
        let Some(&last) = ids.last() else {
            tx.commit().await?;
            return Ok(Vec::new());
        };
        // Advance the cursor only from the value read: a concurrent reader that got there
        // first makes this a no-op, and this reader delivers nothing.
        let moved = bus_group_cursors::Entity::update_many()
            .col_expr(bus_group_cursors::Column::LastEntryId, Expr::value(last))
            .filter(bus_group_cursors::Column::Stream.eq(stream))
            .filter(bus_group_cursors::Column::GroupName.eq(group))
            .filter(bus_group_cursors::Column::LastEntryId.eq(cursor.last_entry_id))
            .exec(&tx)
            .await?;
        if moved.rows_affected != 1 {
            tx.rollback().await?;
            return Ok(Vec::new());
        }
        let now = now_ms();
        let pending = ids.iter().map(|&id| bus_pending::ActiveModel {
            stream: Set(stream.to_owned()),
            group_name: Set(group.to_owned()),
            entry_id: Set(id),
            consumer: Set(consumer.to_owned()),
            delivered_at_ms: Set(now),
            delivery_count: Set(1),
        });
        bus_pending::Entity::insert_many(pending).exec(&tx).await?;
        let deliveries = load_deliveries(&tx, &ids, false).await?;
        tx.commit().await?;
        Ok(deliveries)
    }

    async fn ack(&self, stream: &str, group: &str, entry_ids: &[String]) -> Result<u64, BusError> {
        let ids: Vec<i64> = entry_ids
            .iter()
            .map(|id| {
                id.parse::<i64>()
                    .map_err(|_| BusError::Malformed(format!("entry id {id:?}")))
            })
            .collect::<Result<_, _>>()?;
        if ids.is_empty() {
            return Ok(0);
        }
        let deleted = bus_pending::Entity::delete_many()
            .filter(bus_pending::Column::Stream.eq(stream))
            .filter(bus_pending::Column::GroupName.eq(group))
            .filter(bus_pending::Column::EntryId.is_in(ids))
            .exec(&self.db)
            .await?;
        Ok(deleted.rows_affected)
    }

    async fn claim_stale(
        &self,
        stream: &str,
        group: &str,
        consumer: &str,
        min_idle: Duration,
        count: usize,
    ) -> Result<Vec<Delivery>, BusError> {
        use bus_pending::Column;
        let now = now_ms();
        let stale = bus_pending::Entity::find()
            .filter(Column::Stream.eq(stream))
            .filter(Column::GroupName.eq(group))
            .filter(Column::DeliveredAtMs.lte(now - millis(min_idle)))
            .order_by_asc(Column::EntryId)
            .limit(count as u64)
            .all(&self.db)
            .await?;
        if stale.is_empty() {
            return Ok(Vec::new());
        }
        let tx = begin_write(&self.db).await?;
        let mut claimed = Vec::with_capacity(stale.len());
        for row in stale {
            let taken = bus_pending::Entity::update_many()
                .col_expr(Column::Consumer, Expr::value(consumer))
                .col_expr(Column::DeliveredAtMs, Expr::value(now))
                .col_expr(
                    Column::DeliveryCount,
                    Expr::col(Column::DeliveryCount).add(1),
                )
                .filter(Column::Stream.eq(stream))
                .filter(Column::GroupName.eq(group))
                .filter(Column::EntryId.eq(row.entry_id))
                .filter(Column::DeliveredAtMs.eq(row.delivered_at_ms))
                .exec(&tx)
                .await?;
            if taken.rows_affected == 1 {
                claimed.push(row.entry_id);
            }
        }
        let deliveries = load_deliveries(&tx, &claimed, true).await?;
        tx.commit().await?;
        Ok(deliveries)
    }

    async fn group_lags(&self, stream: &str) -> Result<Vec<GroupLag>, BusError> {
        let cursors = bus_group_cursors::Entity::find()
            .filter(bus_group_cursors::Column::Stream.eq(stream))
            .all(&self.db)
            .await?;
        let mut lags = Vec::with_capacity(cursors.len());
        for cursor in cursors {
            let lag = bus_stream_entries::Entity::find()
                .filter(bus_stream_entries::Column::Stream.eq(stream))
                .filter(bus_stream_entries::Column::Id.gt(cursor.last_entry_id))
                .count(&self.db)
                .await?;
            let pending = self.pending_count(stream, &cursor.group_name).await?;
            lags.push(GroupLag {
                group: cursor.group_name,
                pending,
                lag,
            });
        }
        Ok(lags)
    }

    async fn pending_count(&self, stream: &str, group: &str) -> Result<u64, BusError> {
        Ok(bus_pending::Entity::find()
            .filter(bus_pending::Column::Stream.eq(stream))
            .filter(bus_pending::Column::GroupName.eq(group))
            .count(&self.db)
            .await?)
    }
}

#[async_trait::async_trait]
impl DispatchQueue for EmbeddedBus {
    async fn enqueue_all(&self, queue: &str, jobs: &[QueueJob<'_>]) -> Result<Vec<bool>, BusError> {
        use bus_queue_jobs::Column;
        if jobs.is_empty() {
            return Ok(Vec::new());
        }
        let now = now_ms();
        let mut stmt = Query::insert();
        stmt.into_table(bus_queue_jobs::Entity).columns([
            Column::Queue,
            Column::JobId,
            Column::Payload,
            Column::Score,
            Column::Attempts,
            Column::EnqueuedAtMs,
        ]);
        for job in jobs {
            stmt.values_panic([
                queue.into(),
                job.job_id.into(),
                job.payload.to_vec().into(),
                job.score.into(),
                0_i32.into(),
                now.into(),
            ]);
        }
        stmt.on_conflict(
            OnConflict::columns([Column::Queue, Column::JobId])
                .do_nothing()
                .to_owned(),
        )
        .returning_col(Column::JobId);
        let mut added = HashSet::new();
        for row in self.db.query_all(&stmt).await? {
            added.insert(row.try_get::<String>("", "job_id")?);
        }
        // A job given twice is added once, the first time.
        Ok(jobs.iter().map(|job| added.remove(job.job_id)).collect())
    }

    async fn rescore(&self, queue: &str, job_id: &str, score: i64) -> Result<bool, BusError> {
        use bus_queue_jobs::Column;
        let updated = bus_queue_jobs::Entity::update_many()
            .col_expr(Column::Score, Expr::value(score))
            .filter(Column::Queue.eq(queue))
            .filter(Column::JobId.eq(job_id))
            .exec(&self.db)
            .await?;
        Ok(updated.rows_affected == 1)
    }

    async fn claim_up_to(
        &self,
        queue: &str,
        lease: Duration,
        max: usize,
    ) -> Result<Vec<ClaimedJob>, BusError> {
        use bus_queue_jobs::Column;
        if max == 0 {
            return Ok(Vec::new());
        }
        let token = uuid::Uuid::new_v4().to_string();
        // Another worker may take some of the chosen rows between the choice and the update
        // (PostgreSQL rechecks the lease of each row it updates; there the choice skips the
        // rows another claim has locked): then fewer are claimed, and when none are, the next
        // ones are chosen. Each empty try means another claim succeeded or is committing, so
        // this loop always progresses.
        loop {
            let now = now_ms();
            if self.db.get_database_backend() == DbBackend::Postgres {
                let claimed = self.claim_locked(queue, lease, max, &token, now).await?;
                if claimed.is_empty() && self.any_ready(queue, now).await? {
                    tokio::task::yield_now().await;
                    continue;
                }
                return Ok(claimed_jobs(claimed, &token));
            }
            let free = || {
                Column::LeaseUntilMs
                    .is_null()
                    .or(Column::LeaseUntilMs.lte(now))
            };
            let ready = Query::select()
                .column(Column::JobId)
                .from(bus_queue_jobs::Entity)
                .and_where(Column::Queue.eq(queue))
                .and_where(free())
                .order_by(Column::Score, sea_orm::Order::Asc)
                .order_by(Column::JobId, sea_orm::Order::Asc)
                .limit(u64::try_from(max).unwrap_or(u64::MAX))
                .to_owned();
            let claimed = bus_queue_jobs::Entity::update_many()
                .col_expr(Column::LeaseToken, Expr::value(token.clone()))
                .col_expr(Column::LeaseUntilMs, Expr::value(now + millis(lease)))
                .col_expr(Column::Attempts, Expr::col(Column::Attempts).add(1))
                .filter(Column::Queue.eq(queue))
                .filter(Column::JobId.in_subquery(ready))
                .filter(free())
                .exec_with_returning(&self.db)
                .await?;
            if claimed.is_empty() && self.any_ready(queue, now).await? {
                continue;
            }
            return Ok(claimed_jobs(claimed, &token));
        }
    }

    async fn ack_all(&self, queue: &str, held: &[(&str, &str)]) -> Result<Vec<bool>, BusError> {
        use bus_queue_jobs::Column;
        // One statement per lease token (the jobs of a claim share theirs).
        let mut by_token: HashMap<&str, Vec<&str>> = HashMap::new();
        for (job_id, token) in held {
            by_token.entry(*token).or_default().push(*job_id);
        }
        let mut removed = HashSet::new();
        for (token, job_ids) in by_token {
            let gone = bus_queue_jobs::Entity::delete_many()
                .filter(Column::Queue.eq(queue))
                .filter(Column::LeaseToken.eq(token))
                .filter(Column::JobId.is_in(job_ids))
                .exec_with_returning(&self.db)
                .await?;
            removed.extend(gone.into_iter().map(|job| (job.job_id, token)));
        }
        Ok(held
            .iter()
            .map(|(job_id, token)| removed.remove(&((*job_id).to_owned(), *token)))
            .collect())
    }

    async fn release(
        &self,
        queue: &str,
        job_id: &str,
        lease_token: &str,
        score: i64,
    ) -> Result<bool, BusError> {
        use bus_queue_jobs::Column;
        self.update_held(
            queue,
            job_id,
            lease_token,
            bus_queue_jobs::Entity::update_many()
                .col_expr(Column::Score, Expr::value(score))
                .col_expr(Column::LeaseToken, Expr::value(Option::<String>::None))
                .col_expr(Column::LeaseUntilMs, Expr::value(Option::<i64>::None)),
        )
        .await
    }

    async fn extend_lease(
        &self,
        queue: &str,
        job_id: &str,
        lease_token: &str,
        lease: Duration,
    ) -> Result<bool, BusError> {
        self.update_held(
            queue,
            job_id,
            lease_token,
            bus_queue_jobs::Entity::update_many().col_expr(
                bus_queue_jobs::Column::LeaseUntilMs,
                Expr::value(now_ms() + millis(lease)),
            ),
        )
        .await
    }

    async fn contains(&self, queue: &str, job_id: &str) -> Result<bool, BusError> {
        Ok(
            bus_queue_jobs::Entity::find_by_id((queue.to_owned(), job_id.to_owned()))
                .one(&self.db)
                .await?
                .is_some(),
        )
    }

    async fn contains_all(&self, queue: &str, job_ids: &[&str]) -> Result<Vec<bool>, BusError> {
        if job_ids.is_empty() {
            return Ok(Vec::new());
        }
        let found: std::collections::HashSet<String> = bus_queue_jobs::Entity::find()
            .select_only()
            .column(bus_queue_jobs::Column::JobId)
            .filter(bus_queue_jobs::Column::Queue.eq(queue))
            .filter(bus_queue_jobs::Column::JobId.is_in(job_ids.iter().copied()))
            .into_tuple::<String>()
            .all(&self.db)
            .await?
            .into_iter()
            .collect();
        Ok(job_ids.iter().map(|id| found.contains(*id)).collect())
    }

    async fn len(&self, queue: &str) -> Result<u64, BusError> {
        Ok(bus_queue_jobs::Entity::find()
            .filter(bus_queue_jobs::Column::Queue.eq(queue))
            .count(&self.db)
            .await?)
    }
}
