//! Possible recurrences and standard repairs. When a new case is indexed (open, not linked
//! by intake, taken in within two weeks), the index looks for an earlier case of the same
//! project at the same place (member type or grid axes) that was resolved, shares words with
//! it, and whose return-visit horizon the new case falls in (its last visit's due date; six
//! months after acceptance where it has no visits). The best one is flagged once, for an agent
//! to confirm or reject; a confirmed recurrence counts in the figures as one (the facts read
//! confirmed flags like intake's links) and reopens the corrective actions verified on the
//! earlier case.

use std::collections::HashMap;

use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use steelcare_domain::Role;
use steelcare_domain::location::OTHER;
use steelcare_i18n::msg;
use steelcare_proto::common::v1 as common;
use steelcare_proto::feedback::v1 as pb;
use steelcare_runtime::convert::to_timestamp;
use steelcare_runtime::handler::require;
use steelcare_runtime::record::{audit, case_precondition};
use steelcare_runtime::validate::Violations;
use steelcare_runtime::{ApiError, RequestContext};
use steelcare_store::case_records::kind;
use steelcare_store::entity::{
    case_facts, case_records, recurrence_flags, return_visits, standard_repairs, tickets,
};
use steelcare_store::{begin_write, page};
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{BooleanQuery, Occur, Query};

use super::cases::{self, outcome};
use super::index::{CaseDoc, words};
use super::search::{earlier_than, reasons, size_of, stored, summary, term, words_in};
use super::{Fields, Ready, search_err};
use crate::engine::{Feedback, db_err};
use crate::facts::{self, UNDETERMINED};

/// States of a flag.
pub mod state {
    pub const POSSIBLE: &str = "possible";
    pub const CONFIRMED: &str = "confirmed";
    pub const REJECTED: &str = "rejected";
}

const DAY_MS: i64 = 86_400_000;
/// A new case is looked at for a recurrence while it is younger than this.
const LOOK_WITHIN_MS: i64 = 14 * DAY_MS;
/// The horizon of an earlier case without return visits, after its acceptance.
const DEFAULT_HORIZON_MS: i64 = 183 * DAY_MS;
/// Candidates weighed per new case.
const CANDIDATES: usize = 5;
/// Longest note on a standard repair.
const NOTE_MAX: usize = 2000;

fn state_value(stored: &str) -> i32 {
    match stored {
        state::POSSIBLE => pb::RecurrenceState::Possible as i32,
        state::CONFIRMED => pb::RecurrenceState::Confirmed as i32,
        state::REJECTED => pb::RecurrenceState::Rejected as i32,
        _ => 0,
    }
}

/// A case that was resolved (and so can come back): resolved, or resolved and recurred since.
fn was_resolved(f: &Fields) -> Box<dyn Query> {
    Box::new(BooleanQuery::new(vec![
        (Occur::Should, term(f.outcome, outcome::RESOLVED)),
        (Occur::Should, term(f.outcome, outcome::RECURRED)),
    ]))
}

/// Whether the project has a resolved case at all: a count over two terms and the project's,
/// where the full query builds a union of every word per segment (in a storm of new calls at
/// one project, that union was most of the follower's work).
fn resolved_in_project(ready: &Ready, project_id: &str) -> Result<bool, ApiError> {
    let f = &ready.fields;
    let query = BooleanQuery::new(vec![
        (Occur::Must, term(f.project_id, project_id)),
        (Occur::Must, was_resolved(f)),
    ]);
    let found = ready.reader.searcher().search(&query, &Count);
    Ok(found.map_err(search_err)? > 0)
}

/// The earlier cases `doc` may repeat, best first, with their scores. Blocking.
fn candidates(ready: &Ready, doc: &CaseDoc) -> Result<Vec<(f32, CaseDoc)>, ApiError> {
    let f = &ready.fields;
    let mut place: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    if doc.member_type != OTHER && doc.member_type != UNDETERMINED {
        place.push((Occur::Should, term(f.member_type, &doc.member_type)));
    }
    if !doc.grid_axes.is_empty() {
        place.push((Occur::Should, term(f.grid_axes, &doc.grid_axes)));
    }
    let said = words(&doc.texts[..2].join("\n"));
    if place.is_empty() || said.is_empty() || !resolved_in_project(ready, &doc.project_id)? {
        return Ok(Vec::new());
    }
    // What the customer said, in what was said and found of the earlier case.
    let query = BooleanQuery::new(vec![
        (Occur::Must, term(f.project_id, &doc.project_id)),
        (Occur::Must, Box::new(BooleanQuery::new(place))),
        (Occur::Must, words_in(f, &said, 4)),
        (Occur::Must, earlier_than(f, doc.created_ms)),
        (Occur::MustNot, term(f.ticket_id, &doc.ticket_id)),
        // Only a case that was resolved can come back; as a required clause the few resolved
        // cases of a storm of new ones lead the search, not the words all of them share.
        (Occur::Must, was_resolved(f)),
    ]);
    let searcher = ready.reader.searcher();
    let found = searcher
        .search(&query, &TopDocs::with_limit(CANDIDATES).order_by_score())
        .map_err(search_err)?;
    found
        .into_iter()
        .map(|(score, at)| stored(&searcher, f, at).map(|(_, case)| (score, case)))
        .collect()
}

/// When each of `ids` stops counting a repeat as a recurrence: its last return visit's due
/// date, or six months after it was accepted (or taken in).
async fn horizons(
    conn: &impl ConnectionTrait,
    ids: Vec<String>,
) -> Result<HashMap<String, i64>, ApiError> {
    let mut out: HashMap<String, i64> = HashMap::new();
    for (id, accepted, created) in case_facts::Entity::find()
        .select_only()
        .column(case_facts::Column::TicketId)
        .column(case_facts::Column::AcceptedAtMs)
        .column(case_facts::Column::CreatedAtMs)
        .filter(case_facts::Column::TicketId.is_in(ids.clone()))
        .into_tuple::<(String, Option<i64>, i64)>()
        .all(conn)
        .await
        .map_err(db_err)?
    {
        out.insert(id, accepted.unwrap_or(created) + DEFAULT_HORIZON_MS);
    }
    for (id, due) in return_visits::Entity::find()
        .select_only()
        .column(return_visits::Column::TicketId)
        .column_as(return_visits::Column::DueAtMs.max(), "due")
        .filter(return_visits::Column::TicketId.is_in(ids))
        .group_by(return_visits::Column::TicketId)
        .into_tuple::<(String, Option<i64>)>()
        .all(conn)
        .await
        .map_err(db_err)?
    {
        if let Some(due) = due {
            out.insert(id, due);
        }
    }
    Ok(out)
}

/// Flags the possible recurrences among newly indexed cases, once each.
pub async fn detect(
    feedback: &Feedback,
    ready: &std::sync::Arc<Ready>,
    docs: &[CaseDoc],
) -> Result<(), ApiError> {
    let now = steelcare_store::now().timestamp_millis();
    let looked: Vec<CaseDoc> = (docs.iter())
        .filter(|d| {
            d.related_case_id.is_none()
                && d.outcome == outcome::OPEN
                && now - d.created_ms < LOOK_WITHIN_MS
        })
        .cloned()
        .collect();
    if looked.is_empty() {
        return Ok(());
    }
    let flagged: Vec<String> = recurrence_flags::Entity::find()
        .select_only()
        .column(recurrence_flags::Column::TicketId)
        .filter(
            recurrence_flags::Column::TicketId.is_in(looked.iter().map(|d| d.ticket_id.clone())),
        )
        .into_tuple()
        .all(&feedback.db)
        .await
        .map_err(db_err)?;
    let looked: Vec<CaseDoc> = (looked.into_iter())
        .filter(|d| !flagged.contains(&d.ticket_id))
        .collect();
    let r = ready.clone();
    let found: Vec<(CaseDoc, Vec<(f32, CaseDoc)>)> = tokio::task::spawn_blocking(move || {
        looked
            .into_iter()
            .map(|d| candidates(&r, &d).map(|c| (d, c)))
            .collect::<Result<Vec<_>, ApiError>>()
    })
    .await
    .map_err(search_err)??;
    let originals: Vec<String> = (found.iter())
        .flat_map(|(_, c)| c.iter().map(|(_, o)| o.ticket_id.clone()))
        .collect();
    if originals.is_empty() {
        return Ok(());
    }
    let horizon = horizons(&feedback.db, originals).await?;
    let mut rows = Vec::new();
    for (doc, candidates) in &found {
        let within = candidates.iter().find(|(_, o)| {
            horizon
                .get(&o.ticket_id)
                .is_some_and(|end| doc.created_ms <= *end)
        });
        if let Some((score, original)) = within {
            // The query held only cases sharing a word of what the customer said.
            let shared: Vec<String> = words(&doc.texts[..2].join("\n"));
            let why = reasons(doc, original, &shared);
            rows.push(recurrence_flags::ActiveModel {
                ticket_id: Set(doc.ticket_id.clone()),
                original_id: Set(original.ticket_id.clone()),
                score: Set(f64::from(*score)),
                reasons: Set(serde_json::to_string(&why).unwrap_or_default()),
                state: Set(state::POSSIBLE.to_owned()),
                decided_by: Set(None),
                decided_at_ms: Set(None),
                flagged_at_ms: Set(now),
            });
        }
    }
    if rows.is_empty() {
        return Ok(());
    }
    let n = rows.len();
    recurrence_flags::Entity::insert_many(rows)
        .on_conflict_do_nothing()
        .exec(&feedback.db)
        .await
        .map_err(db_err)?;
    tracing::info!(flags = n, "possible recurrences flagged");
    Ok(())
}

/// The proto form of a stored flag.
async fn view(
    conn: &impl ConnectionTrait,
    row: &recurrence_flags::Model,
) -> Result<pb::RecurrenceFlag, ApiError> {
    let number: Option<String> = tickets::Entity::find_by_id(row.original_id.clone())
        .select_only()
        .column(tickets::Column::AcceptanceNumber)
        .into_tuple()
        .one(conn)
        .await
        .map_err(db_err)?;
    Ok(pb::RecurrenceFlag {
        ticket_id: row.ticket_id.clone(),
        original_ticket_id: row.original_id.clone(),
        original_acceptance_number: number.unwrap_or_default(),
        state: state_value(&row.state),
        reasons: serde_json::from_str(&row.reasons).unwrap_or_default(),
        decided_by: row.decided_by.as_ref().map(|subject| common::Actor {
            subject: subject.clone(),
            ..Default::default()
        }),
        flag_time: chrono::DateTime::from_timestamp_millis(row.flagged_at_ms).map(to_timestamp),
    })
}

/// The flag of a case, if it has one.
pub async fn flag_of(
    conn: &impl ConnectionTrait,
    ticket_id: &str,
) -> Result<Option<pb::RecurrenceFlag>, ApiError> {
    match recurrence_flags::Entity::find_by_id(ticket_id.to_owned())
        .one(conn)
        .await
        .map_err(db_err)?
    {
        Some(row) => Ok(Some(view(conn, &row).await?)),
        None => Ok(None),
    }
}

impl Feedback {
    /// DecideRecurrence.
    pub async fn decide_recurrence(
        &self,
        ctx: &RequestContext,
        request: pb::DecideRecurrenceRequest,
    ) -> Result<pb::DecideRecurrenceResponse, ApiError> {
        require(&ctx.caller, &[Role::Agent, Role::Manager, Role::Admin])?;
        self.case_for(&self.db, &ctx.caller, &request.ticket_id)
            .await?;
        let tx = begin_write(&self.db).await.map_err(db_err)?;
        let row = recurrence_flags::Entity::find_by_id(request.ticket_id.clone())
            .one(&tx)
            .await
            .map_err(db_err)?
            .ok_or_else(|| {
                steelcare_runtime::handler::not_found("recurrence-flag", &request.ticket_id)
            })?;
        let decided = if request.confirmed {
            state::CONFIRMED
        } else {
            state::REJECTED
        };
        let now = steelcare_store::now().timestamp_millis();
        let done = recurrence_flags::Entity::update_many()
            .col_expr(recurrence_flags::Column::State, Expr::value(decided))
            .col_expr(
                recurrence_flags::Column::DecidedBy,
                Expr::value(ctx.caller.subject.clone()),
            )
            .col_expr(recurrence_flags::Column::DecidedAtMs, Expr::value(now))
            .filter(recurrence_flags::Column::TicketId.eq(&row.ticket_id))
            .filter(recurrence_flags::Column::State.eq(state::POSSIBLE))
            .exec(&tx)
            .await
            .map_err(db_err)?;
        if done.rows_affected != 1 {
            return Err(ApiError::FailedPrecondition {
                subject: format!("recurrence-flag/{}", row.ticket_id),
                current_state: row.state.to_ascii_uppercase(),
                message: msg!("error-recurrence-decided", state = row.state.clone()),
            });
        }
        audit(
            &tx,
            ctx,
            "recurrence_flag",
            &row.ticket_id,
            Some(serde_json::json!({ "state": row.state, "original": row.original_id })),
            serde_json::json!({ "state": decided, "original": row.original_id }),
        )
        .await?;
        let mut reopened = Vec::new();
        if request.confirmed {
            let ids = [row.original_id.clone(), row.ticket_id.clone()];
            let built = facts::refresh_all(&tx, self.config.timezone, &ids).await?;
            let new: Vec<&case_facts::Model> = built
                .iter()
                .filter(|f| f.ticket_id == row.ticket_id)
                .collect();
            reopened = self.reopen_for(&tx, &new).await?;
        }
        tx.commit().await.map_err(db_err)?;
        self.committed();
        self.experience.wake.notify_one();
        if !reopened.is_empty() {
            tracing::info!(actions = ?reopened, "corrective actions reopened by a confirmed recurrence");
        }
        let row = recurrence_flags::Entity::find_by_id(row.ticket_id.clone())
            .one(&self.db)
            .await
            .map_err(db_err)?
            .ok_or_else(|| ApiError::Internal("decided flag vanished".to_owned()))?;
        Ok(pb::DecideRecurrenceResponse {
            recurrence: Some(view(&self.db, &row).await?),
        })
    }

    /// ListRecurrenceFlags.
    pub async fn list_recurrence_flags(
        &self,
        ctx: &RequestContext,
        request: pb::ListRecurrenceFlagsRequest,
    ) -> Result<pb::ListRecurrenceFlagsResponse, ApiError> {
        require(
            &ctx.caller,
            &[Role::Agent, Role::Manager, Role::Admin, Role::Auditor],
        )?;
        let wanted = match pb::RecurrenceState::try_from(request.state) {
            Ok(pb::RecurrenceState::Unspecified | pb::RecurrenceState::Possible) => state::POSSIBLE,
            Ok(pb::RecurrenceState::Confirmed) => state::CONFIRMED,
            Ok(pb::RecurrenceState::Rejected) => state::REJECTED,
            Err(_) => {
                return Err(ApiError::invalid(
                    "state",
                    msg!("field-unknown-value", value = request.state),
                ));
            }
        };
        let size = size_of(request.page_size, (50, 100))?;
        let fingerprint = page::fingerprint(&wanted);
        let after: Option<(i64, String)> = page::decode(&request.page_token, &fingerprint)?;
        let mut query =
            recurrence_flags::Entity::find().filter(recurrence_flags::Column::State.eq(wanted));
        if let Some(key) = after {
            query = query.filter(page::after(
                recurrence_flags::Column::FlaggedAtMs,
                recurrence_flags::Column::TicketId,
                key,
            ));
        }
        let mut found = query
            .order_by_asc(recurrence_flags::Column::FlaggedAtMs)
            .order_by_asc(recurrence_flags::Column::TicketId)
            .limit(size + 1)
            .all(&self.db)
            .await
            .map_err(db_err)?;
        let next_page_token = page::next_token(&mut found, size, &fingerprint, |r| {
            (r.flagged_at_ms, r.ticket_id.clone())
        });
        let mut flags = Vec::with_capacity(found.len());
        for row in &found {
            flags.push(view(&self.db, row).await?);
        }
        Ok(pb::ListRecurrenceFlagsResponse {
            flags,
            next_page_token,
        })
    }

    /// MarkStandardRepair.
    pub async fn mark_standard_repair(
        &self,
        ctx: &RequestContext,
        request: pb::MarkStandardRepairRequest,
    ) -> Result<pb::MarkStandardRepairResponse, ApiError> {
        require(
            &ctx.caller,
            &[
                Role::Engineer,
                Role::ChiefEngineer,
                Role::Manager,
                Role::Admin,
            ],
        )?;
        let mut v = Violations::default();
        let note = v.optional("note", &request.note, NOTE_MAX);
        v.finish(())?;
        let case = self
            .case_for(&self.db, &ctx.caller, &request.ticket_id)
            .await?;
        let tx = begin_write(&self.db).await.map_err(db_err)?;
        let planned = case_records::Entity::find()
            .filter(case_records::Column::TicketId.eq(&case.id))
            .filter(case_records::Column::Kind.eq(kind::PLAN))
            .one(&tx)
            .await
            .map_err(db_err)?
            .is_some();
        if request.standard && !planned {
            return Err(case_precondition(&case, msg!("error-standard-needs-plan")));
        }
        let before = standard_repairs::Entity::find_by_id(case.id.clone())
            .one(&tx)
            .await
            .map_err(db_err)?;
        standard_repairs::Entity::delete_by_id(case.id.clone())
            .exec(&tx)
            .await
            .map_err(db_err)?;
        if request.standard {
            standard_repairs::Entity::insert(standard_repairs::ActiveModel {
                ticket_id: Set(case.id.clone()),
                note: Set(note.clone()),
                marked_by: Set(ctx.caller.subject.clone()),
                marked_at_ms: Set(steelcare_store::now().timestamp_millis()),
            })
            .exec(&tx)
            .await
            .map_err(db_err)?;
        }
        audit(
            &tx,
            ctx,
            "standard_repair",
            &case.id,
            Some(
                serde_json::json!({ "standard": before.is_some(), "note": before.map(|b| b.note) }),
            ),
            serde_json::json!({ "standard": request.standard, "note": note }),
        )
        .await?;
        super::follow::mark(&tx, std::slice::from_ref(&case.id)).await?;
        tx.commit().await.map_err(db_err)?;
        self.experience.wake.notify_one();
        let doc = cases::load(&self.db, std::slice::from_ref(&case.id))
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| steelcare_runtime::handler::not_found("ticket", &case.id))?;
        Ok(pb::MarkStandardRepairResponse {
            case: Some(summary(&doc, ctx.locale)),
        })
    }
}
