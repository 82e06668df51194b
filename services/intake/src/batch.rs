//! Group commit for CreateTicket: concurrent creates are written together, one transaction and
//! one multi-row insert per table for the whole group, instead of one of each per ticket. A
//! group that fails (say, two racing retries with the same request id) is replayed one ticket
//! per transaction, so one bad create never fails its neighbours. A create that would be a
//! group of one (nothing waiting, a writer free) is written by its own call, which saves it
//! the two hand-offs between tasks (and, on a busy runtime, between threads) that a lone
//! caller pays for nothing; the project reads do the same.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::NaiveDate;
use sea_orm::{ConnectionTrait, EntityTrait, QueryTrait, Statement};
use steelcare_domain::AcceptanceNumber;
use steelcare_proto::events::v1::EventEnvelope;
use steelcare_proto::events::v1::event_envelope::Payload;
use steelcare_runtime::supervise::Supervisor;
use steelcare_runtime::{ApiError, RequestContext};
use steelcare_store::audit::{self, NewAuditRecord};
use steelcare_store::entity::{sla_clocks, tickets};
use steelcare_store::idempotency::{self, IdempotencyKey};
use steelcare_store::{Database, StoreError, begin_write, cases, outbox};
use tokio::sync::{Mutex, OwnedSemaphorePermit, Semaphore, mpsc, oneshot};

use crate::store;

/// Most tickets written in one transaction.
const MAX_GROUP: usize = 64;

/// A ticket ready to be written but for its acceptance number.
#[derive(Debug, Clone)]
pub struct Draft {
    /// The ticket row; its acceptance number is set when written.
    pub ticket: tickets::Model,
    /// Its clocks.
    pub clocks: Vec<sla_clocks::Model>,
    /// The day of its acceptance number.
    pub day: NaiveDate,
    /// Who creates it.
    pub ctx: RequestContext,
    /// The audit summary; `acceptance_number` is added when written.
    pub audit_after: serde_json::Value,
    /// Its events in order; a `TicketCreated` gets the acceptance number when written.
    pub events: Vec<EventEnvelope>,
    /// The request id to remember, if any.
    pub idempotency: Option<IdempotencyKey>,
}

type Job = (Draft, oneshot::Sender<Result<tickets::Model, ApiError>>);

/// Hands drafts to the group writers.
#[derive(Clone)]
pub struct Batcher {
    db: Database,
    groups: Groups<Job>,
}

impl Batcher {
    /// Starts `writers` group writers on `db` (one suits SQLite's single writer) under
    /// `supervisor`.
    pub fn start(db: Database, writers: usize, supervisor: &Supervisor) -> Batcher {
        let writer_db = db.clone();
        let groups = Groups::start(supervisor, "ticket-writer", writers, move |group| {
            let db = writer_db.clone();
            async move { write_group(&db, group).await }
        });
        Batcher { db, groups }
    }

    /// Writes a draft with whatever else is waiting; returns the stored ticket.
    pub async fn submit(&self, draft: Draft) -> Result<tickets::Model, ApiError> {
        if let Some(_writer) = self.groups.alone() {
            // A group of one: only this call's ticket is at stake should the call be dropped.
            return write_one(&self.db, &draft).await;
        }
        let (reply, answer) = oneshot::channel();
        self.groups
            .sender
            .send((draft, reply))
            .await
            .map_err(|_| ApiError::Unavailable("the ticket writer has stopped".to_owned()))?;
        answer
            .await
            .map_err(|_| ApiError::Internal("the ticket writer dropped a ticket".to_owned()))?
    }
}

/// Items handed to `workers` group workers, each taking whatever is waiting as one group; a
/// worker's place is a permit, which a caller alone may take to do its own item's work.
struct Groups<J> {
    sender: mpsc::Sender<J>,
    places: Arc<Semaphore>,
}

impl<J> Clone for Groups<J> {
    fn clone(&self) -> Self {
        Groups {
            sender: self.sender.clone(),
            places: self.places.clone(),
        }
    }
}

impl<J: Send + 'static> Groups<J> {
    /// Starts `workers` tasks named `name-<i>` under `supervisor` (restarted after a panic,
    /// counted in health), each a [`work`]er taking groups of up to [`MAX_GROUP`].
    fn start<F, Fut>(supervisor: &Supervisor, name: &str, workers: usize, handle: F) -> Self
    where
        F: Fn(Vec<J>) -> Fut + Clone + Send + Sync + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let (sender, receiver) = mpsc::channel::<J>(1024);
        let receiver = Arc::new(Mutex::new(receiver));
        let places = Arc::new(Semaphore::new(workers.max(1)));
        for i in 0..workers.max(1) {
            let (receiver, places, handle) = (receiver.clone(), places.clone(), handle.clone());
            supervisor.spawn("", format!("{name}-{i}"), move |stop| {
                work(receiver.clone(), places.clone(), handle.clone(), stop)
            });
        }
        Groups { sender, places }
    }

    /// A worker's place for a caller whose item would be a group of its own: nothing is
    /// waiting and a place is free. `None` when the item should join the others.
    fn alone(&self) -> Option<OwnedSemaphorePermit> {
        if self.sender.capacity() < self.sender.max_capacity() {
            return None;
        }
        self.places.clone().try_acquire_owned().ok()
    }
}

/// One group worker: waits for an item, then for a free place, takes whatever else is waiting
/// by then and hands the group to `handle`, until shutdown. Shutdown ends a wait for an item,
/// never a group already taken (its callers are waiting for their answers).
async fn work<J, F, Fut>(
    receiver: Arc<Mutex<mpsc::Receiver<J>>>,
    places: Arc<Semaphore>,
    handle: F,
    mut stop: tokio::sync::watch::Receiver<bool>,
) where
    F: Fn(Vec<J>) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    loop {
        let mut waiting = tokio::select! {
            _ = stop.wait_for(|stopped| *stopped) => return,
            waiting = receiver.lock() => waiting,
        };
        let first = tokio::select! {
            _ = stop.wait_for(|stopped| *stopped) => return,
            first = waiting.recv() => first,
        };
        let Some(first) = first else {
            // Every sender is gone: wait for shutdown.
            drop(waiting);
            let _ = stop.wait_for(|stopped| *stopped).await;
            return;
        };
        // The semaphore is never closed, so this waits for a place and never fails.
        let _place = places.clone().acquire_owned().await.ok();
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match waiting.try_recv() {
                Ok(item) => group.push(item),
                Err(_) => break,
            }
        }
        drop(waiting);
        handle(group).await;
    }
}

/// Reads the projects of a group of lookups in one query and answers each.
async fn read_group(db: &Database, group: Vec<Lookup>) {
    let mut ids: Vec<String> = group.iter().map(|l| l.project_id.clone()).collect();
    ids.sort();
    ids.dedup();
    match store::projects_with_terms(db, &ids).await {
        Ok(projects) => {
            for lookup in group {
                let _ = lookup
                    .reply
                    .send(Ok(project_of(&projects, &lookup.project_id)));
            }
        }
        Err(err) => {
            // Every lookup of the group gets the same answer: UNAVAILABLE while the database
            // cannot be reached, INTERNAL otherwise.
            let err = ApiError::from(err);
            for lookup in group {
                let _ = lookup.reply.send(Err(match &err {
                    ApiError::Unavailable(m) => ApiError::Unavailable(m.clone()),
                    other => ApiError::Internal(other.to_string()),
                }));
            }
        }
    }
}

/// Project `id` among `projects`.
fn project_of(projects: &[ProjectWithTerms], id: &str) -> Option<ProjectWithTerms> {
    projects.iter().find(|(p, _)| p.id == id).cloned()
}

async fn write_group(db: &Database, group: Vec<Job>) {
    let drafts: Vec<Draft> = group.iter().map(|(d, _)| d.clone()).collect();
    match write(db, &drafts).await {
        Ok(rows) => {
            for ((_, reply), row) in group.into_iter().zip(rows) {
                let _ = reply.send(Ok(row));
            }
        }
        Err(err) if group.len() == 1 => {
            if let Some((_, reply)) = group.into_iter().next() {
                let _ = reply.send(Err(err));
            }
        }
        Err(_) => {
            for (draft, reply) in group {
                let _ = reply.send(write_one(db, &draft).await);
            }
        }
    }
}

/// Writes one draft in a transaction of its own.
async fn write_one(db: &Database, draft: &Draft) -> Result<tickets::Model, ApiError> {
    write(db, std::slice::from_ref(draft))
        .await?
        .pop()
        .ok_or_else(|| ApiError::Internal("empty write".to_owned()))
}

/// Writes drafts in one transaction, numbering them in order per day.
async fn write(db: &Database, drafts: &[Draft]) -> Result<Vec<tickets::Model>, ApiError> {
    // SQLite writes in a transaction; PostgreSQL takes the acceptance numbers (a sequence,
    // outside any transaction anyway) and then writes everything in one statement.
    let tx = if db.get_database_backend() == sea_orm::DbBackend::Sqlite {
        Some(begin_write(db).await.map_err(StoreError::from)?)
    } else {
        None
    };
    let sequences = match &tx {
        Some(tx) => day_sequences(tx, drafts).await?,
        None => day_sequences(db, drafts).await?,
    };
    let mut numbered = number(drafts, sequences)?;
    let statements = group_statements(db.get_database_backend(), drafts, &mut numbered);
    match tx {
        // PostgreSQL: the whole group in one statement (atomic on its own).
        None => {
            db.execute_raw(steelcare_store::db::one_statement(statements))
                .await
                .map_err(StoreError::from)?;
        }
        Some(tx) => {
            for statement in statements {
                tx.execute_raw(statement).await.map_err(StoreError::from)?;
            }
            tx.commit().await.map_err(StoreError::from)?;
        }
    }
    Ok(numbered.rows)
}

/// For each day of the drafts, as many acceptance sequence numbers as it has drafts, in order.
async fn day_sequences(
    conn: &impl ConnectionTrait,
    drafts: &[Draft],
) -> Result<HashMap<NaiveDate, std::vec::IntoIter<i64>>, ApiError> {
    let mut days: Vec<NaiveDate> = drafts.iter().map(|d| d.day).collect();
    days.dedup();
    let mut sequences = HashMap::new();
    for day in days {
        let wanted = drafts.iter().filter(|d| d.day == day).count();
        let key = AcceptanceNumber::day_key(day);
        let values = store::next_acceptance_sequences(conn, &key, wanted).await?;
        sequences.insert(day, values.into_iter());
    }
    Ok(sequences)
}

/// A group's tickets with their acceptance numbers, the audit record of each and the events.
struct Numbered {
    rows: Vec<tickets::Model>,
    audits: Vec<serde_json::Value>,
    envelopes: Vec<EventEnvelope>,
}

/// Gives each draft its acceptance number (in the ticket, its audit record and its
/// `TicketCreated`).
fn number(
    drafts: &[Draft],
    mut sequences: HashMap<NaiveDate, std::vec::IntoIter<i64>>,
) -> Result<Numbered, ApiError> {
    let mut numbered = Numbered {
        rows: Vec::with_capacity(drafts.len()),
        audits: Vec::with_capacity(drafts.len()),
        envelopes: Vec::new(),
    };
    for draft in drafts {
        let sequence = sequences
            .get_mut(&draft.day)
            .and_then(Iterator::next)
            .ok_or_else(|| ApiError::Internal("too few acceptance numbers".to_owned()))?;
        let number = AcceptanceNumber::new(draft.day, u32::try_from(sequence).unwrap_or(u32::MAX));
        let mut row = draft.ticket.clone();
        row.acceptance_number = number.to_string();
        let mut after = draft.audit_after.clone();
        after["acceptance_number"] = serde_json::Value::String(number.to_string());
        numbered.audits.push(after);
        for envelope in &draft.events {
            let mut envelope = envelope.clone();
            if let Some(Payload::TicketCreated(created)) = &mut envelope.payload {
                created.acceptance_number = number.to_string();
            }
            numbered.envelopes.push(envelope);
        }
        numbered.rows.push(row);
    }
    Ok(numbered)
}

/// The statements that write a numbered group: cases, tickets, clocks, audit, events (taken
/// from `numbered`) and idempotency keys.
fn group_statements(
    backend: sea_orm::DbBackend,
    drafts: &[Draft],
    numbered: &mut Numbered,
) -> Vec<Statement> {
    let envelopes = std::mem::take(&mut numbered.envelopes);
    let new_cases: Vec<(String, Option<String>)> = (numbered.rows.iter())
        .map(|t| (t.id.clone(), Some(t.customer_id.clone())))
        .collect();
    let clocks: Vec<sla_clocks::Model> = drafts.iter().flat_map(|d| d.clocks.clone()).collect();
    let role_names: Vec<Vec<String>> = drafts.iter().map(|d| d.ctx.caller.role_names()).collect();
    let entries = drafts
        .iter()
        .zip(&numbered.audits)
        .zip(&role_names)
        .map(|((d, after), roles)| NewAuditRecord {
            subject: &d.ctx.caller.subject,
            roles,
            organization_id: d.ctx.caller.organization_id.as_deref(),
            rpc: &d.ctx.rpc,
            entity_type: "ticket",
            entity_id: &d.ticket.id,
            before: None,
            after: after.clone(),
            trace_id: &d.ctx.trace_id,
            display_name: None,
        })
        .collect();
    let keys = drafts
        .iter()
        .filter_map(|d| d.idempotency.clone())
        .collect();
    [
        cases::create_all_statement(backend, &new_cases),
        Some(
            tickets::Entity::insert_many(
                (numbered.rows.iter().cloned()).map(tickets::ActiveModel::from),
            )
            .build(backend),
        ),
        crate::clocks::insert_statement(backend, &clocks),
        audit::record_all_statement(backend, entries),
        outbox::append_all_statement(
            backend,
            steelcare_runtime::record::outbox_rows(steelcare_bus::EVENTS_STREAM, envelopes),
        ),
        idempotency::save_all_statement(backend, keys),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// A project with its warranty terms.
pub type ProjectWithTerms = (
    steelcare_store::entity::projects::Model,
    Vec<steelcare_store::entity::warranty_terms::Model>,
);

struct Lookup {
    project_id: String,
    reply: oneshot::Sender<Result<Option<ProjectWithTerms>, ApiError>>,
}

/// Group reads for CreateTicket: the projects (with their warranty terms) that concurrent
/// creates need are read in one query (one round trip per group, not per ticket). A lookup
/// waits for the next query that starts after it arrived, never for one already under way, so
/// it sees every change committed before it asked, as a read of its own would.
#[derive(Clone)]
pub struct ProjectReader {
    db: Database,
    groups: Groups<Lookup>,
}

impl ProjectReader {
    /// Starts `readers` group readers on `db` under `supervisor`.
    pub fn start(db: Database, readers: usize, supervisor: &Supervisor) -> ProjectReader {
        let reader_db = db.clone();
        let groups = Groups::start(supervisor, "project-reader", readers, move |group| {
            let db = reader_db.clone();
            async move { read_group(&db, group).await }
        });
        ProjectReader { db, groups }
    }

    /// The project `project_id` with its warranty terms (`None` when there is none), read
    /// with the other creates of the moment.
    pub async fn read(&self, project_id: &str) -> Result<Option<ProjectWithTerms>, ApiError> {
        if let Some(_reader) = self.groups.alone() {
            let ids = [project_id.to_owned()];
            let projects = store::projects_with_terms(&self.db, &ids).await?;
            return Ok(project_of(&projects, project_id));
        }
        let (reply, answer) = oneshot::channel();
        let lookup = Lookup {
            project_id: project_id.to_owned(),
            reply,
        };
        self.groups
            .sender
            .send(lookup)
            .await
            .map_err(|_| ApiError::Unavailable("the project reader has stopped".to_owned()))?;
        answer
            .await
            .map_err(|_| ApiError::Internal("the project reader dropped a lookup".to_owned()))?
    }
}
