//! The experience base (MISSION §7.3, §8.3): a full-text index of every case, a cache of the
//! database like Redis is. Each feedback process keeps its own copy under `feedback.search_dir`
//! (`./data/search` by default): built from the database when missing, damaged, of an older
//! shape or forgotten by the database, then kept current by the marks written with each
//! change (`follow.rs`). Read top-down: `index.rs` (the shape and the word analyzer),
//! `cases.rs` (a case's words from the database), `follow.rs` (copies, marks, the follower),
//! `search.rs` (SearchCases, SimilarCases), `recurrence.rs` (possible recurrences, standard
//! repairs).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use steelcare_runtime::ApiError;
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy};
use tokio::sync::Notify;

pub mod cases;
pub mod follow;
pub mod index;
pub mod recurrence;
pub mod search;

use index::{Fields, SCHEMA_VERSION};

/// Memory the index writer may hold before it writes a segment.
const WRITER_BYTES: usize = 20_000_000;

/// The experience base of a process: its index once opened or built.
#[derive(Clone)]
pub struct Experience {
    dir: PathBuf,
    ready: Arc<RwLock<Option<Arc<Ready>>>>,
    /// Wakes the follower when this process marked cases.
    pub wake: Arc<Notify>,
}

/// An open index.
pub struct Ready {
    pub index: Index,
    pub reader: IndexReader,
    pub writer: Mutex<IndexWriter>,
    pub fields: Fields,
    /// The name of this copy in `search_replicas`.
    pub replica: String,
}

/// What the index remembers of itself in its commits: the copy's name.
fn payload(replica: &str) -> String {
    serde_json::json!({ "replica": replica }).to_string()
}

fn search_err(err: impl std::fmt::Display) -> ApiError {
    ApiError::Internal(format!("search index: {err}"))
}

impl Experience {
    /// The experience base kept under `dir` (nothing is read until the follower starts).
    pub fn new(dir: PathBuf) -> Self {
        Experience {
            dir,
            ready: Arc::new(RwLock::new(None)),
            wake: Arc::new(Notify::new()),
        }
    }

    /// The open index, or UNAVAILABLE while it is first built.
    pub fn ready(&self) -> Result<Arc<Ready>, ApiError> {
        self.current()
            .ok_or_else(|| ApiError::Unavailable("the experience base is being built".into()))
    }

    fn current(&self) -> Option<Arc<Ready>> {
        self.ready.read().ok().and_then(|r| r.clone())
    }

    fn set(&self, ready: Option<Arc<Ready>>) {
        if let Ok(mut slot) = self.ready.write() {
            *slot = ready;
        }
    }

    /// The directory of this shape's index.
    fn versioned(&self) -> PathBuf {
        self.dir.join(format!("v{SCHEMA_VERSION}"))
    }
}

/// Opens the index at `path` and the copy name its last commit holds; `None` when there is
/// no usable index there.
fn open_existing(path: &Path) -> Option<(Index, String)> {
    let index = Index::open_in_dir(path).ok()?;
    index::register(&index);
    let payload = index.load_metas().ok()?.payload?;
    let payload: serde_json::Value = serde_json::from_str(&payload).ok()?;
    let replica = payload.get("replica")?.as_str()?.to_owned();
    Some((index, replica))
}

/// A fresh, empty index at `path` (anything there before, and indexes of other shapes beside
/// it, removed).
fn create_fresh(dir: &Path, path: &Path) -> Result<Index, ApiError> {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.path().is_dir() {
                std::fs::remove_dir_all(entry.path()).map_err(search_err)?;
            }
        }
    }
    std::fs::create_dir_all(path).map_err(search_err)?;
    let (schema, _) = index::schema();
    let index = Index::create_in_dir(path, schema).map_err(search_err)?;
    index::register(&index);
    Ok(index)
}

/// The index opened for reading and writing.
fn into_ready(index: Index, replica: String) -> Result<Ready, ApiError> {
    let writer = index
        .writer_with_num_threads(1, WRITER_BYTES)
        .map_err(search_err)?;
    let reader = index
        .reader_builder()
        .reload_policy(ReloadPolicy::Manual)
        .try_into()
        .map_err(search_err)?;
    let (_, fields) = index::schema();
    Ok(Ready {
        index,
        reader,
        writer: Mutex::new(writer),
        fields,
        replica,
    })
}

impl Ready {
    /// Adds the documents of new cases, without committing (building). Blocking.
    pub fn add(&self, docs: &[index::CaseDoc]) -> Result<(), ApiError> {
        let writer = self
            .writer
            .lock()
            .map_err(|_| search_err("writer poisoned"))?;
        for doc in docs {
            writer
                .add_document(doc.to_document(&self.fields))
                .map_err(search_err)?;
        }
        Ok(())
    }

    /// Replaces the documents of `docs`' cases (and removes those of `gone`), commits, and
    /// makes the change visible to searches. Blocking: call from a blocking thread.
    pub fn write(&self, docs: &[index::CaseDoc], gone: &[String]) -> Result<(), ApiError> {
        let mut writer = self
            .writer
            .lock()
            .map_err(|_| search_err("writer poisoned"))?;
        for id in docs.iter().map(|d| &d.ticket_id).chain(gone) {
            writer.delete_term(tantivy::Term::from_field_text(self.fields.ticket_id, id));
        }
        for doc in docs {
            writer
                .add_document(doc.to_document(&self.fields))
                .map_err(search_err)?;
        }
        let mut prepared = writer.prepare_commit().map_err(search_err)?;
        prepared.set_payload(&payload(&self.replica));
        prepared.commit().map_err(search_err)?;
        self.reader.reload().map_err(search_err)
    }
}
