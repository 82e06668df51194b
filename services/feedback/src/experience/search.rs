//! SearchCases and SimilarCases over the index. A search is the query's words in any searched
//! text (BM25, the customer's words and the diagnosis weighing more than the work log), within
//! the filter's terms; customers are held to their organisation's cases by a term of the
//! query, not by filtering results. Similar cases rank in tiers, each a constant score far
//! above what shared words add: same project and place, then same member type, category,
//! structure type; shared words order each tier.

use std::ops::Bound;

use steelcare_domain::location::{Locations, OTHER};
use steelcare_domain::{ProblemCategory, Role};
use steelcare_i18n::{Locale, msg};
use steelcare_proto::common::v1 as common;
use steelcare_proto::feedback::v1 as pb;
use steelcare_proto::intake::v1 as intake;
use steelcare_runtime::convert::{from_timestamp, to_timestamp};
use steelcare_runtime::validate::Violations;
use steelcare_runtime::{ApiError, Caller, RequestContext};
use steelcare_store::page;
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, EmptyQuery, Occur, Query, RangeQuery,
    TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::snippet::SnippetGenerator;
use tantivy::{DocAddress, Searcher, TantivyDocument, Term};

use super::cases;
use super::index::{CaseDoc, Fields, TEXTS, words};
use super::{Ready, search_err};
use crate::engine::Feedback;
use crate::facts::{UNDETERMINED, root_cause_key, short_key};

/// Default and largest page of SearchCases.
const SEARCH_PAGE: (u64, u64) = (20, 100);
/// Default and largest page of SimilarCases.
const SIMILAR_PAGE: (u64, u64) = (5, 20);
/// Deepest result a search pages to.
const MAX_OFFSET: u64 = 10_000;
/// Words of a case that a similar-case query looks for.
const MAX_WORDS: usize = 48;
/// Weight of each searched text, in the order of [`TEXTS`].
const WEIGHTS: [f32; 6] = [2.0, 1.5, 1.2, 1.5, 1.0, 0.7];
/// Characters of a highlighted fragment.
const FRAGMENT: usize = 120;

/// The tiers of similarity: constant scores far apart, so shared words only order a tier.
mod tier {
    pub const PROJECT_LOCATION: f32 = 1000.0;
    pub const PROJECT: f32 = 300.0;
    pub const MEMBER_TYPE: f32 = 100.0;
    pub const CATEGORY: f32 = 30.0;
    pub const STRUCTURE_TYPE: f32 = 10.0;
}

/// Staff who may see other customers' cases beside the one they work on.
const STAFF: &[Role] = &[
    Role::Agent,
    Role::Dispatcher,
    Role::Technician,
    Role::Engineer,
    Role::ChiefEngineer,
    Role::Manager,
    Role::Auditor,
    Role::Admin,
];

pub(super) fn term(field: Field, value: &str) -> Box<dyn Query> {
    Box::new(TermQuery::new(
        Term::from_field_text(field, value),
        IndexRecordOption::Basic,
    ))
}

fn constant(query: Box<dyn Query>, score: f32) -> Box<dyn Query> {
    Box::new(ConstScoreQuery::new(query, score))
}

fn all_of(queries: Vec<Box<dyn Query>>) -> Box<dyn Query> {
    Box::new(BooleanQuery::new(
        queries.into_iter().map(|q| (Occur::Must, q)).collect(),
    ))
}

/// Any of `words` in any searched text, weighted by text.
fn words_query(f: &Fields, words: &[String]) -> Box<dyn Query> {
    words_in(f, words, TEXTS.len())
}

/// Any of `words` in the first `texts` searched texts, weighted by text.
pub(super) fn words_in(f: &Fields, words: &[String], texts: usize) -> Box<dyn Query> {
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    for (field, weight) in f.texts.iter().zip(WEIGHTS).take(texts) {
        for word in words {
            let q = TermQuery::new(
                Term::from_field_text(*field, word),
                IndexRecordOption::WithFreqs,
            );
            clauses.push((
                Occur::Should,
                Box::new(BoostQuery::new(Box::new(q), weight)),
            ));
        }
    }
    Box::new(BooleanQuery::new(clauses))
}

/// The cases taken in before `created_ms`.
pub(super) fn earlier_than(f: &Fields, created_ms: i64) -> Box<dyn Query> {
    Box::new(RangeQuery::new(
        Bound::Unbounded,
        Bound::Excluded(Term::from_field_i64(f.created_ms, created_ms)),
    ))
}

/// A page size within `(default, max)`.
pub(super) fn size_of(requested: i32, (default, max): (u64, u64)) -> Result<u64, ApiError> {
    match requested {
        n if n < 0 => Err(ApiError::invalid("page_size", msg!("field-negative"))),
        0 => Ok(default),
        n => Ok((n as u64).min(max)),
    }
}

/// The filter's terms (and the caller's organisation, for customers).
fn filter_terms(
    f: &Fields,
    caller: &Caller,
    filter: &pb::CaseSearchFilter,
) -> Result<Vec<Box<dyn Query>>, ApiError> {
    let mut v = Violations::default();
    let mut must: Vec<Box<dyn Query>> = Vec::new();
    if caller.is_customer_only() {
        match &caller.organization_id {
            Some(org) => must.push(term(f.organization, org)),
            None => must.push(Box::new(EmptyQuery)),
        }
    }
    for (field, value) in [
        (f.project_id, &filter.project_id),
        (f.customer_id, &filter.customer_id),
    ] {
        if !value.is_empty() {
            must.push(term(field, value));
        }
    }
    match intake::StructureType::try_from(filter.structure_type) {
        Ok(intake::StructureType::Unspecified) => {}
        Ok(s) => must.push(term(
            f.structure_type,
            &short_key(s.as_str_name(), "STRUCTURE_TYPE_"),
        )),
        Err(_) => v.add(
            "filter.structure_type",
            msg!("field-unknown-value", value = filter.structure_type),
        ),
    }
    if !filter.member_type.is_empty() {
        let known = filter.member_type == OTHER
            || (Locations::shipped().kinds.iter()).any(|k| k.key == filter.member_type);
        if known {
            must.push(term(f.member_type, &filter.member_type));
        } else {
            v.add(
                "filter.member_type",
                msg!("field-unknown-value", value = filter.member_type.clone()),
            );
        }
    }
    if filter.category != 0 {
        match ProblemCategory::from_proto_value(filter.category) {
            Some(c) => must.push(term(f.category, c.as_str())),
            None => v.add(
                "filter.category",
                msg!("field-unknown-value", value = filter.category),
            ),
        }
    }
    if filter.root_cause != 0 {
        match common::RootCause::try_from(filter.root_cause) {
            Ok(_) => must.push(term(f.root_cause, &root_cause_key(filter.root_cause))),
            Err(_) => v.add(
                "filter.root_cause",
                msg!("field-unknown-value", value = filter.root_cause),
            ),
        }
    }
    match pb::CaseOutcome::try_from(filter.outcome) {
        Ok(pb::CaseOutcome::Unspecified) => {}
        Ok(o) => must.push(term(
            f.outcome,
            &short_key(o.as_str_name(), "CASE_OUTCOME_"),
        )),
        Err(_) => v.add(
            "filter.outcome",
            msg!("field-unknown-value", value = filter.outcome),
        ),
    }
    if let Some(range) = &filter.created {
        let bound = |ts: Option<&prost_types::Timestamp>, field: &str, v: &mut Violations| {
            ts.and_then(|t| match from_timestamp(t, field) {
                Ok(at) => Some(at.timestamp_millis()),
                Err(_) => {
                    v.add(field, msg!("field-timestamp-range"));
                    None
                }
            })
        };
        let start = bound(
            range.start_time.as_ref(),
            "filter.created.start_time",
            &mut v,
        );
        let end = bound(range.end_time.as_ref(), "filter.created.end_time", &mut v);
        let lower = start.map_or(Bound::Unbounded, |s| {
            Bound::Included(Term::from_field_i64(f.created_ms, s))
        });
        let upper = end.map_or(Bound::Unbounded, |e| {
            Bound::Excluded(Term::from_field_i64(f.created_ms, e))
        });
        if start.is_some() || end.is_some() {
            must.push(Box::new(RangeQuery::new(lower, upper)));
        }
    }
    v.finish(must)
}

/// The name of a member type in `locale` (empty for one the taxonomy does not name).
fn member_label(key: &str, locale: Locale) -> String {
    match Locations::shipped().kind(key) {
        Some(kind) if locale == Locale::chinese() => kind.zh.clone(),
        Some(kind) => kind.en.clone(),
        None => String::new(),
    }
}

/// The proto form of a case, in `locale`.
pub fn summary(doc: &CaseDoc, locale: Locale) -> pb::CaseSummary {
    let upper = |prefix: &str, key: &str| format!("{prefix}{}", key.to_ascii_uppercase());
    pb::CaseSummary {
        ticket_id: doc.ticket_id.clone(),
        acceptance_number: doc.acceptance_number.clone(),
        project_id: doc.project_id.clone(),
        project_name: doc.project_name.clone(),
        category: doc
            .category
            .parse::<ProblemCategory>()
            .map_or(0, ProblemCategory::proto_value),
        member_type: doc.member_type.clone(),
        member_type_label: member_label(&doc.member_type, locale),
        location: doc.texts[1].clone(),
        phenomenon: doc.texts[0].clone(),
        root_cause: if doc.root_cause == UNDETERMINED {
            0
        } else {
            common::RootCause::from_str_name(&upper("ROOT_CAUSE_", &doc.root_cause))
                .map_or(0, |c| c as i32)
        },
        state: common::CaseState::from_str_name(&upper("CASE_STATE_", &doc.state))
            .map_or(0, |s| s as i32),
        create_time: chrono::DateTime::from_timestamp_millis(doc.created_ms).map(to_timestamp),
        fix: doc.fix.clone(),
        cost: (!doc.cost_currency.is_empty()).then(|| common::Money {
            currency_code: doc.cost_currency.clone(),
            amount_minor: doc.cost_minor,
        }),
        recurred: doc.recurred,
        standard_repair: doc.standard,
        standard_note: doc.standard_note.clone(),
        structure_type: intake::StructureType::from_str_name(&upper(
            "STRUCTURE_TYPE_",
            &doc.structure_type,
        ))
        .map_or(0, |s| s as i32),
    }
}

/// The highlighted fragments of a found document.
fn highlights(
    searcher: &Searcher,
    f: &Fields,
    query: &dyn Query,
    doc: &TantivyDocument,
) -> Result<Vec<pb::Highlight>, ApiError> {
    let mut out = Vec::new();
    for (field, name) in f.texts.iter().zip(TEXTS) {
        let mut generator =
            SnippetGenerator::create(searcher, query, *field).map_err(search_err)?;
        generator.set_max_num_chars(FRAGMENT);
        let snippet = generator.snippet_from_doc(doc);
        if snippet.highlighted().is_empty() {
            continue;
        }
        let text = snippet.fragment();
        let mut segments = Vec::new();
        let mut at = 0;
        for range in snippet.highlighted() {
            if range.start > at {
                segments.push(pb::TextSegment {
                    text: text[at..range.start].to_owned(),
                    matched: false,
                });
            }
            segments.push(pb::TextSegment {
                text: text[range.clone()].to_owned(),
                matched: true,
            });
            at = range.end;
        }
        if at < text.len() {
            segments.push(pb::TextSegment {
                text: text[at..].to_owned(),
                matched: false,
            });
        }
        out.push(pb::Highlight {
            field: name.to_owned(),
            segments,
        });
    }
    Ok(out)
}

pub(super) fn stored(
    searcher: &Searcher,
    f: &Fields,
    at: DocAddress,
) -> Result<(TantivyDocument, CaseDoc), ApiError> {
    let doc: TantivyDocument = searcher.doc(at).map_err(search_err)?;
    let case = CaseDoc::from_document(&doc, f);
    Ok((doc, case))
}

/// One search: the page of hits and how many matched. Blocking.
fn search_page(
    ready: &Ready,
    text: &[String],
    filters: Vec<Box<dyn Query>>,
    offset: u64,
    size: u64,
    locale: Locale,
) -> Result<(Vec<pb::CaseHit>, usize), ApiError> {
    let f = &ready.fields;
    let searcher = ready.reader.searcher();
    let mut must = filters;
    let ranked = !text.is_empty();
    if ranked {
        must.push(words_query(f, text));
    } else if must.is_empty() {
        must.push(Box::new(AllQuery));
    }
    let query = all_of(must);
    let (found, total): (Vec<(f32, DocAddress)>, usize) = if ranked {
        searcher
            .search(
                &query,
                &(
                    TopDocs::with_limit(size as usize)
                        .and_offset(offset as usize)
                        .order_by_score(),
                    Count,
                ),
            )
            .map_err(search_err)?
    } else {
        let (newest, total) = searcher
            .search(
                &query,
                &(
                    TopDocs::with_limit(size as usize)
                        .and_offset(offset as usize)
                        .order_by_fast_field::<i64>("created_ms", tantivy::Order::Desc),
                    Count,
                ),
            )
            .map_err(search_err)?;
        (newest.into_iter().map(|(_, at)| (0.0, at)).collect(), total)
    };
    let mut hits = Vec::with_capacity(found.len());
    for (score, at) in found {
        let (doc, case) = stored(&searcher, f, at)?;
        hits.push(pb::CaseHit {
            case: Some(summary(&case, locale)),
            score,
            highlights: if ranked {
                highlights(&searcher, f, &*query, &doc)?
            } else {
                Vec::new()
            },
        });
    }
    Ok((hits, total))
}

impl Feedback {
    /// SearchCases.
    pub async fn search_cases(
        &self,
        ctx: &RequestContext,
        request: pb::SearchCasesRequest,
    ) -> Result<pb::SearchCasesResponse, ApiError> {
        let ready = self.experience.ready()?;
        let size = size_of(request.page_size, SEARCH_PAGE)?;
        let filter = request.filter.unwrap_or_default();
        let fingerprint =
            page::fingerprint(&(&request.query, &ctx.caller.subject, format!("{filter:?}")));
        let offset: u64 = page::decode(&request.page_token, &fingerprint)?.unwrap_or(0);
        if offset > MAX_OFFSET {
            return Err(ApiError::invalid(
                "page_token",
                msg!("field-unknown-value", value = offset),
            ));
        }
        let filters = filter_terms(&ready.fields, &ctx.caller, &filter)?;
        let text = words(&request.query);
        if !request.query.trim().is_empty() && text.is_empty() {
            return Ok(pb::SearchCasesResponse::default());
        }
        let locale = ctx.locale;
        let (hits, total) = tokio::task::spawn_blocking(move || {
            search_page(&ready, &text, filters, offset, size, locale)
        })
        .await
        .map_err(search_err)??;
        let next = offset + hits.len() as u64;
        Ok(pb::SearchCasesResponse {
            next_page_token: if (next as usize) < total && next <= MAX_OFFSET {
                page::encode(&next, &fingerprint)
            } else {
                String::new()
            },
            total_size: i32::try_from(total).unwrap_or(i32::MAX),
            hits,
        })
    }

    /// SimilarCases.
    pub async fn similar_cases(
        &self,
        ctx: &RequestContext,
        request: pb::SimilarCasesRequest,
    ) -> Result<pb::SimilarCasesResponse, ApiError> {
        steelcare_runtime::handler::require(&ctx.caller, STAFF)?;
        let ready = self.experience.ready()?;
        let size = size_of(request.page_size, SIMILAR_PAGE)?;
        self.case_for(&self.db, &ctx.caller, &request.ticket_id)
            .await?;
        let this = cases::load(&self.db, std::slice::from_ref(&request.ticket_id))
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| steelcare_runtime::handler::not_found("ticket", &request.ticket_id))?;
        let recurrence = super::recurrence::flag_of(&self.db, &request.ticket_id).await?;
        let pending = super::follow::pending(&self.db, &ready.replica, &request.ticket_id).await?;
        let r = ready.clone();
        let locale = ctx.locale;
        let (cases, standard_repairs, indexed) = tokio::task::spawn_blocking(move || {
            let similar = similar(&r, &this, size, locale)?;
            let standard = standards(&r, &this, locale)?;
            Ok::<_, ApiError>((similar, standard, indexed(&r, &this.ticket_id)?))
        })
        .await
        .map_err(search_err)??;
        Ok(pb::SimilarCasesResponse {
            cases,
            standard_repairs,
            recurrence,
            pending: pending || !indexed,
        })
    }
}

/// Whether the case is in the index at all (a ticket a moment old may not be marked yet).
fn indexed(ready: &Ready, ticket_id: &str) -> Result<bool, ApiError> {
    let found = ready
        .reader
        .searcher()
        .search(&term(ready.fields.ticket_id, ticket_id), &Count)
        .map_err(search_err)?;
    Ok(found > 0)
}

/// The words a case is known by: what the customer said and what the survey found.
pub fn case_words(doc: &CaseDoc) -> Vec<String> {
    let mut out = words(&doc.texts[..4].join("\n"));
    out.truncate(MAX_WORDS);
    out
}

/// The query of the cases like `doc` that came before it, in tiers.
pub fn similar_query(f: &Fields, doc: &CaseDoc) -> Box<dyn Query> {
    let mut should: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    let located = doc.member_type != OTHER && doc.member_type != UNDETERMINED;
    let mut place: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    if located {
        place.push((Occur::Should, term(f.member_type, &doc.member_type)));
    }
    if !doc.grid_axes.is_empty() {
        place.push((Occur::Should, term(f.grid_axes, &doc.grid_axes)));
    }
    if !place.is_empty() {
        should.push((
            Occur::Should,
            constant(
                all_of(vec![
                    term(f.project_id, &doc.project_id),
                    Box::new(BooleanQuery::new(place)),
                ]),
                tier::PROJECT_LOCATION,
            ),
        ));
    }
    should.push((
        Occur::Should,
        constant(term(f.project_id, &doc.project_id), tier::PROJECT),
    ));
    if located {
        should.push((
            Occur::Should,
            constant(term(f.member_type, &doc.member_type), tier::MEMBER_TYPE),
        ));
    }
    should.push((
        Occur::Should,
        constant(term(f.category, &doc.category), tier::CATEGORY),
    ));
    if !doc.structure_type.is_empty() && doc.structure_type != UNDETERMINED {
        should.push((
            Occur::Should,
            constant(
                term(f.structure_type, &doc.structure_type),
                tier::STRUCTURE_TYPE,
            ),
        ));
    }
    let text = case_words(doc);
    if !text.is_empty() {
        should.push((Occur::Should, words_query(f, &text)));
    }
    Box::new(BooleanQuery::new(vec![
        (
            Occur::Must,
            Box::new(BooleanQuery::new(should)) as Box<dyn Query>,
        ),
        (Occur::Must, earlier_than(f, doc.created_ms)),
        (Occur::MustNot, term(f.ticket_id, &doc.ticket_id)),
    ]))
}

/// Why `other` is like `doc`, most telling first.
pub fn reasons(doc: &CaseDoc, other: &CaseDoc, shared: &[String]) -> Vec<i32> {
    use pb::SimilarityReason as R;
    let mut out = Vec::new();
    let same_project = doc.project_id == other.project_id;
    let same_member = doc.member_type == other.member_type
        && doc.member_type != OTHER
        && doc.member_type != UNDETERMINED;
    let same_axes = !doc.grid_axes.is_empty() && doc.grid_axes == other.grid_axes;
    if same_project && (same_member || same_axes) {
        out.push(R::SameProjectLocation);
    } else if same_project {
        out.push(R::SameProject);
    }
    if same_member {
        out.push(R::SameMemberType);
    }
    if doc.category == other.category {
        out.push(R::SameCategory);
    }
    if doc.structure_type == other.structure_type && doc.structure_type != UNDETERMINED {
        out.push(R::SameStructureType);
    }
    if !shared.is_empty() {
        out.push(R::SimilarWords);
    }
    if other.standard {
        out.push(R::StandardRepair);
    }
    out.into_iter().map(|r| r as i32).collect()
}

/// The words both cases use that say something: not a number (a bay's or an axis's) and not
/// a lone character (时, a): shared, those made cases look alike that were not.
fn shared_words(mine: &[String], other: &CaseDoc) -> Vec<String> {
    let theirs = words(&other.texts.join("\n"));
    mine.iter()
        .filter(|w| says_something(w) && theirs.contains(w))
        .cloned()
        .collect()
}

fn says_something(word: &str) -> bool {
    word.chars().count() > 1 && !word.chars().all(|c| c.is_ascii_digit())
}

/// The earlier cases most like `doc`. Blocking.
fn similar(
    ready: &Ready,
    doc: &CaseDoc,
    size: u64,
    locale: Locale,
) -> Result<Vec<pb::SimilarCase>, ApiError> {
    let f = &ready.fields;
    let searcher = ready.reader.searcher();
    let query = similar_query(f, doc);
    let found = searcher
        .search(
            &*query,
            &TopDocs::with_limit(size as usize).order_by_score(),
        )
        .map_err(search_err)?;
    let mine = case_words(doc);
    let mut out = Vec::with_capacity(found.len());
    for (score, at) in found {
        let (_, other) = stored(&searcher, f, at)?;
        let shared = shared_words(&mine, &other);
        out.push(pb::SimilarCase {
            reasons: reasons(doc, &other, &shared),
            matched_terms: shared,
            score,
            case: Some(summary(&other, locale)),
        });
    }
    Ok(out)
}

/// The standard repairs for `doc`'s kind of defect (its category and member type). Blocking.
fn standards(
    ready: &Ready,
    doc: &CaseDoc,
    locale: Locale,
) -> Result<Vec<pb::CaseSummary>, ApiError> {
    let f = &ready.fields;
    let searcher = ready.reader.searcher();
    let query = BooleanQuery::new(vec![
        (
            Occur::Must,
            Box::new(TermQuery::new(
                Term::from_field_u64(f.standard, 1),
                IndexRecordOption::Basic,
            )) as Box<dyn Query>,
        ),
        (Occur::Must, term(f.category, &doc.category)),
        (Occur::Must, term(f.member_type, &doc.member_type)),
        (Occur::MustNot, term(f.ticket_id, &doc.ticket_id)),
    ]);
    let found = searcher
        .search(
            &query,
            &TopDocs::with_limit(3).order_by_fast_field::<i64>("created_ms", tantivy::Order::Desc),
        )
        .map_err(search_err)?;
    found
        .into_iter()
        .map(|(_, at)| stored(&searcher, f, at).map(|(_, c)| summary(&c, locale)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experience::cases::outcome;

    /// Keeps the compiler honest about the outcome keys the proto names.
    #[test]
    fn outcome_keys_match_the_contract() {
        for (o, key) in [
            (pb::CaseOutcome::Open, outcome::OPEN),
            (pb::CaseOutcome::Resolved, outcome::RESOLVED),
            (pb::CaseOutcome::Recurred, outcome::RECURRED),
            (pb::CaseOutcome::Cancelled, outcome::CANCELLED),
        ] {
            assert_eq!(short_key(o.as_str_name(), "CASE_OUTCOME_"), key);
        }
    }

    #[test]
    fn numbers_and_lone_characters_are_not_shared_words() {
        let other = CaseDoc {
            texts: [
                "下雨时天沟漏水 bay 3 a bolts".to_owned(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
            ],
            ..CaseDoc::default()
        };
        let mine = words("下雨时天沟又漏水了, bay 3, a bolt");
        let shared = shared_words(&mine, &other);
        assert!(shared.contains(&"天沟".to_owned()), "{shared:?}");
        assert!(shared.contains(&"bolt".to_owned()), "{shared:?}");
        for noise in ["3", "时", "a"] {
            assert!(!shared.contains(&noise.to_owned()), "{noise} in {shared:?}");
        }
    }
}
