//! Corrective actions (MISSION §8.3: find, solve, prevent): raised to a department with an
//! owner, a due date and the cases or pattern they answer; progress recorded; closed only when
//! verified effective — no ticket of the pattern (and no recurrence of a linked case) in the
//! verification window after the fix.

use chrono::{NaiveDate, TimeZone};
use prost::Message;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use steelcare_bus::EVENTS_STREAM;
use steelcare_domain::feedback::{Effectiveness, effectiveness};
use steelcare_domain::{ProblemCategory, Role};
use steelcare_i18n::{Arg, Locale, Msg, Said, msg};
use steelcare_proto::events::v1 as events;
use steelcare_proto::events::v1::event_envelope::Payload;
use steelcare_proto::feedback::v1 as pb;
use steelcare_proto::intake::v1 as intake;
use steelcare_runtime::convert::{page_size, to_timestamp};
use steelcare_runtime::handler::{not_found, require};
use steelcare_runtime::idempotent::Begun;
use steelcare_runtime::record::{actor_of, audit, emit, envelope, payload_hash};
use steelcare_runtime::validate::{LONG, Person, SHORT, Violations, to_date};
use steelcare_runtime::{ApiError, RequestContext};
use steelcare_store::entity::{cases, corrective_actions as rows};
use steelcare_store::page;

use crate::analytics::statement;
use crate::engine::{Feedback, db_err};
use crate::facts::short_key;

const RAISERS: &[Role] = &[
    Role::Engineer,
    Role::ChiefEngineer,
    Role::Manager,
    Role::Admin,
];
const VERIFIERS: &[Role] = &[Role::ChiefEngineer, Role::Manager, Role::Admin];
const READERS: &[Role] = &[
    Role::Engineer,
    Role::ChiefEngineer,
    Role::Manager,
    Role::Admin,
    Role::Auditor,
];
/// Longest verification window, days.
const MAX_WINDOW_DAYS: i32 = 730;

fn date_of(d: Option<&steelcare_proto::common::v1::Date>) -> Option<NaiveDate> {
    d.and_then(|d| {
        NaiveDate::from_ymd_opt(
            d.year,
            u32::try_from(d.month).ok()?,
            u32::try_from(d.day).ok()?,
        )
    })
}

/// A corrective action as stored.
pub(crate) fn stored(row: &rows::Model) -> Result<pb::CorrectiveAction, ApiError> {
    pb::CorrectiveAction::decode(row.body.as_slice()).map_err(|err| {
        ApiError::Internal(format!(
            "corrective action {} does not decode: {err}",
            row.id
        ))
    })
}

fn decode(row: &rows::Model, today: NaiveDate) -> Result<pb::CorrectiveAction, ApiError> {
    let mut action = stored(row)?;
    action.overdue = overdue(&action, today);
    Ok(action)
}

/// A corrective action as a reader in `locale` sees it: the system's notes (verified, reopened)
/// in their language, people's notes as they wrote them.
fn shown(
    row: &rows::Model,
    today: NaiveDate,
    locale: Locale,
) -> Result<pb::CorrectiveAction, ApiError> {
    let mut action = decode(row, today)?;
    for update in &mut action.updates {
        update.note = Said::read(&update.note, locale);
    }
    Ok(action)
}

/// Past its due date and not closed.
fn overdue(action: &pb::CorrectiveAction, today: NaiveDate) -> bool {
    action.status != pb::ActionStatus::ClosedEffective as i32
        && date_of(action.due_date.as_ref()).is_some_and(|due| due < today)
}

pub(crate) async fn save(
    conn: &impl ConnectionTrait,
    row: &rows::Model,
    action: &pb::CorrectiveAction,
) -> Result<(), ApiError> {
    let mut stored = action.clone();
    stored.overdue = false;
    let status = pb::ActionStatus::try_from(action.status)
        .unwrap_or_default()
        .as_str_name();
    let result = rows::Entity::update_many()
        .col_expr(rows::Column::Body, Expr::value(stored.encode_to_vec()))
        .col_expr(rows::Column::Status, Expr::value(status))
        .col_expr(rows::Column::Version, Expr::value(row.version + 1))
        .col_expr(rows::Column::UpdatedAt, Expr::value(steelcare_store::now()))
        .filter(rows::Column::Id.eq(&row.id))
        .filter(rows::Column::Version.eq(row.version))
        .exec(conn)
        .await
        .map_err(db_err)?;
    if result.rows_affected == 0 {
        return Err(ApiError::Aborted(msg!("error-action-changed")));
    }
    Ok(())
}

/// A date as a message of its own (an item of a list).
fn date_msg(day: NaiveDate) -> Msg {
    msg!("format-date-value", day = day)
}

fn precondition(action: &pb::CorrectiveAction, message: Msg) -> ApiError {
    let status = pb::ActionStatus::try_from(action.status).unwrap_or_default();
    ApiError::FailedPrecondition {
        subject: format!("corrective_action/{}", action.action_id),
        current_state: status.as_str_name().to_owned(),
        message: msg!(
            "error-action-state",
            what = message,
            status = steelcare_i18n::enum_label("ActionStatus", status.as_str_name())
        ),
    }
}

/// A corrective action's request, checked.
struct Raised {
    department: pb::Department,
    title: String,
    description: String,
    owner: Person,
    due: chrono::NaiveDate,
    pattern: Option<pb::Pattern>,
}

/// Checks a new corrective action: department, title, description, owner (a user), due
/// date, the cases or the pattern it answers (a known category, location and structure
/// type), the verification window.
fn parse_raise(request: &pb::RaiseCorrectiveActionRequest) -> Result<Raised, ApiError> {
    let mut v = Violations::default();
    let department = v.enum_value("department", request.department, |d| {
        pb::Department::try_from(d).ok()
    });
    let title = v.required("title", &request.title, SHORT);
    let description = v.required("description", &request.description, LONG);
    let owner = Person::parse(&mut v, "owner", request.owner.as_ref(), true, false);
    if owner.user_id.is_empty() {
        v.add("owner.user_id", msg!("field-owner-required"));
    }
    let due = v.date("due_date", request.due_date.as_ref(), true);
    if let Some(p) = &request.pattern {
        if ProblemCategory::from_proto_value(p.category).is_none() {
            v.add("pattern.category", msg!("field-pattern-category-required"));
        }
        if !p.location.is_empty()
            && p.location != steelcare_domain::location::OTHER
            && steelcare_domain::location::Locations::shipped()
                .kind(&p.location)
                .is_none()
        {
            v.add(
                "pattern.location",
                msg!("field-unknown-location", location = p.location.as_str()),
            );
        }
        if p.structure_type != 0 && intake::StructureType::try_from(p.structure_type).is_err() {
            v.add(
                "pattern.structure_type",
                msg!("field-unknown-value", value = p.structure_type),
            );
        }
    }
    if request.case_ids.is_empty() && request.pattern.is_none() {
        v.add("case_ids", msg!("field-action-subject-required"));
    }
    if request.case_ids.len() > 100 {
        v.add("case_ids", msg!("field-too-many-cases"));
    }
    if !(0..=MAX_WINDOW_DAYS).contains(&request.verification_days) {
        v.add(
            "verification_days",
            msg!("field-verification-days", max = MAX_WINDOW_DAYS),
        );
    }
    let (department, due) = v.finish((department, due))?;
    Ok(Raised {
        department: department.unwrap_or_default(),
        title,
        description,
        owner,
        due: due.unwrap_or_default(),
        pattern: request.pattern.clone(),
    })
}

/// The cases named, each once, every one existing (NOT_FOUND otherwise).
async fn existing_cases(
    tx: &sea_orm::DatabaseTransaction,
    given: &[String],
) -> Result<Vec<String>, ApiError> {
    let mut case_ids: Vec<String> = Vec::new();
    for id in given {
        let id = steelcare_runtime::validate::id("case_ids", id)?;
        cases::Entity::find_by_id(id)
            .one(tx)
            .await
            .map_err(db_err)?
            .ok_or_else(|| not_found("case", id))?;
        if !case_ids.iter().any(|c| c == id) {
            case_ids.push(id.to_owned());
        }
    }
    Ok(case_ids)
}

/// Stores a new corrective action, open, version 1.
async fn insert_action(
    tx: &sea_orm::DatabaseTransaction,
    action: &pb::CorrectiveAction,
    department: pb::Department,
    due: chrono::NaiveDate,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), ApiError> {
    rows::ActiveModel {
        id: Set(action.action_id.clone()),
        department: Set(department.as_str_name().to_owned()),
        status: Set(pb::ActionStatus::Open.as_str_name().to_owned()),
        due_date: Set(due.format("%Y-%m-%d").to_string()),
        body: Set(action.encode_to_vec()),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(tx)
    .await
    .map_err(db_err)?;
    Ok(())
}

impl Feedback {
    fn today(&self) -> NaiveDate {
        self.day_of(steelcare_store::now())
    }

    async fn action_row(
        &self,
        conn: &impl ConnectionTrait,
        id: &str,
    ) -> Result<rows::Model, ApiError> {
        let id = steelcare_runtime::validate::id("action_id", id)?;
        rows::Entity::find_by_id(id)
            .one(conn)
            .await
            .map_err(db_err)?
            .ok_or_else(|| not_found("corrective_action", id))
    }

    async fn action(&self, id: &str, locale: Locale) -> Result<pb::CorrectiveAction, ApiError> {
        shown(&self.action_row(&self.db, id).await?, self.today(), locale)
    }

    /// RaiseCorrectiveAction.
    pub async fn raise_corrective_action(
        &self,
        ctx: &RequestContext,
        request: pb::RaiseCorrectiveActionRequest,
    ) -> Result<pb::RaiseCorrectiveActionResponse, ApiError> {
        require(&ctx.caller, RAISERS)?;
        let Raised {
            department,
            title,
            description,
            owner,
            due,
            pattern,
        } = parse_raise(&request)?;
        let hash = payload_hash(&request, |r| r.request_id.clear());
        let (tx, key) = match self
            .begin(ctx, "RaiseCorrectiveAction", &request.request_id, hash)
            .await?
        {
            Begun::Replay(id) => return self.raised_again(&id, ctx.locale).await,
            Begun::Fresh(tx, key) => (tx, key),
        };
        self.check_owner(&tx, department, &owner.user_id).await?;
        let case_ids = existing_cases(&tx, &request.case_ids).await?;
        let id = uuid::Uuid::now_v7().to_string();
        let now = steelcare_store::now();
        let other_open_action_ids = match &pattern {
            Some(p) => self.open_on_pattern(&tx, p, &id).await?,
            None => Vec::new(),
        };
        let action = pb::CorrectiveAction {
            action_id: id.clone(),
            department: department as i32,
            title,
            description,
            owner: Some(owner.to_proto()),
            due_date: Some(to_date(due)),
            case_ids,
            pattern,
            status: pb::ActionStatus::Open as i32,
            overdue: false,
            fix_date: None,
            verification_days: if request.verification_days == 0 {
                self.config.verification_days as i32
            } else {
                request.verification_days
            },
            updates: Vec::new(),
            raised_by: Some(actor_of(&ctx.caller)),
            create_time: Some(to_timestamp(now)),
            fix_date_reason: String::new(),
        };
        insert_action(&tx, &action, department, due, now).await?;
        let audited = serde_json::json!({
            "department": department.as_str_name(),
            "title": action.title,
            "due_date": due.to_string(),
            "cases": action.case_ids,
            "other_open_on_pattern": other_open_action_ids,
        });
        audit(&tx, ctx, "corrective_action", &id, None, audited).await?;
        let raised = Payload::CorrectiveActionRaised(events::CorrectiveActionRaised {
            corrective_action_id: id.clone(),
            department: short_key(department.as_str_name(), "DEPARTMENT_"),
        });
        let announced = envelope(actor_of(&ctx.caller), None, raised);
        emit(&tx, EVENTS_STREAM, announced).await?;
        self.finish(tx, key, &id).await?;
        Ok(pb::RaiseCorrectiveActionResponse {
            action: Some(pb::CorrectiveAction {
                overdue: overdue(&action, self.today()),
                ..action
            }),
            other_open_action_ids,
        })
    }

    /// The answer to a replayed RaiseCorrectiveAction: the action as it is now, with the other
    /// actions open on its pattern.
    async fn raised_again(
        &self,
        id: &str,
        locale: Locale,
    ) -> Result<pb::RaiseCorrectiveActionResponse, ApiError> {
        let action = self.action(id, locale).await?;
        let other_open_action_ids = match &action.pattern {
            Some(p) => self.open_on_pattern(&self.db, p, id).await?,
            None => Vec::new(),
        };
        Ok(pb::RaiseCorrectiveActionResponse {
            action: Some(action),
            other_open_action_ids,
        })
    }

    /// Staff who raise actions update any; anyone else only the actions they own.
    async fn allow_update(&self, ctx: &RequestContext, action_id: &str) -> Result<(), ApiError> {
        if ctx.caller.has_any(RAISERS) {
            return Ok(());
        }
        let row = self.action_row(&self.db, action_id).await?;
        let owner = decode(&row, self.today())?
            .owner
            .unwrap_or_default()
            .user_id;
        if owner != ctx.caller.subject {
            require(&ctx.caller, RAISERS)?;
        }
        Ok(())
    }

    /// A fix date before the action was raised needs its reason.
    fn check_fix_date(
        &self,
        action: &pb::CorrectiveAction,
        fix_date: Option<chrono::NaiveDate>,
        fix_date_reason: &str,
    ) -> Result<(), ApiError> {
        let raised = action
            .create_time
            .as_ref()
            .and_then(|t| chrono::DateTime::from_timestamp(t.seconds, 0))
            .map(|t| self.day_of(t));
        if let (Some(fix), Some(raised)) = (fix_date, raised)
            && fix < raised
            && fix_date_reason.is_empty()
        {
            return Err(ApiError::invalid(
                "fix_date_reason",
                msg!("field-fix-date-reason", fix = fix, raised = raised),
            ));
        }
        Ok(())
    }

    /// UpdateCorrectiveAction.
    pub async fn update_corrective_action(
        &self,
        ctx: &RequestContext,
        request: pb::UpdateCorrectiveActionRequest,
    ) -> Result<pb::UpdateCorrectiveActionResponse, ApiError> {
        self.allow_update(ctx, &request.action_id).await?;
        let mut v = Violations::default();
        let status = match pb::ActionStatus::try_from(request.status) {
            Ok(s @ (pb::ActionStatus::InProgress | pb::ActionStatus::FixDeployed)) => Some(s),
            _ => {
                v.add("status", msg!("field-action-status-target"));
                None
            }
        };
        let note = v.required("note", &request.note, LONG);
        let fix_date = v.date(
            "fix_date",
            request.fix_date.as_ref(),
            status == Some(pb::ActionStatus::FixDeployed),
        );
        if fix_date.is_some_and(|d| d > self.today()) {
            v.add("fix_date", msg!("field-fix-not-future"));
        }
        let fix_date_reason = v.optional("fix_date_reason", &request.fix_date_reason, LONG);
        let status = v.finish(status)?.unwrap_or_default();
        let hash = payload_hash(&request, |r| r.request_id.clear());
        let (tx, key) = match self
            .begin(ctx, "UpdateCorrectiveAction", &request.request_id, hash)
            .await?
        {
            Begun::Replay(id) => {
                return Ok(pb::UpdateCorrectiveActionResponse {
                    action: Some(self.action(&id, ctx.locale).await?),
                });
            }
            Begun::Fresh(tx, key) => (tx, key),
        };
        let row = self.action_row(&tx, &request.action_id).await?;
        let mut action = decode(&row, self.today())?;
        if action.status == pb::ActionStatus::ClosedEffective as i32 {
            return Err(precondition(&action, msg!("error-action-closed")));
        }
        self.check_fix_date(&action, fix_date, &fix_date_reason)?;
        let before = action.status;
        action.status = status as i32;
        if status == pb::ActionStatus::FixDeployed {
            action.fix_date = fix_date.map(to_date);
            action.fix_date_reason = fix_date_reason;
        }
        action.updates.push(pb::ActionUpdate {
            status: status as i32,
            note: Said::words(note).to_column(),
            author: Some(actor_of(&ctx.caller)),
            create_time: Some(to_timestamp(steelcare_store::now())),
        });
        save(&tx, &row, &action).await?;
        audit(
            &tx,
            ctx,
            "corrective_action",
            &row.id,
            Some(serde_json::json!({ "status": before })),
            serde_json::json!({ "status": status.as_str_name(), "fix_date": fix_date.map(|d| d.to_string()) }),
        )
        .await?;
        self.finish(tx, key, &row.id).await?;
        Ok(pb::UpdateCorrectiveActionResponse {
            action: Some(action),
        })
    }

    /// The tickets that show the action's problem again after `fix`: tickets of its pattern,
    /// and tickets recurring from its cases or from cases of its pattern, by creation.
    async fn seen_again(
        &self,
        conn: &impl ConnectionTrait,
        action: &pb::CorrectiveAction,
        fix: NaiveDate,
    ) -> Result<Vec<(String, NaiveDate)>, ApiError> {
        let zone = self.config.timezone;
        let from = fix
            .and_hms_opt(0, 0, 0)
            .and_then(|t| zone.from_local_datetime(&t).earliest())
            .map_or(0, |t| t.timestamp_millis());
        let mut values: Vec<sea_orm::Value> = vec![from.into()];
        let mut alternatives: Vec<String> = Vec::new();
        if let Some(p) = &action.pattern {
            let mut parts = Vec::new();
            let mut pattern_values: Vec<sea_orm::Value> = Vec::new();
            if let Some(c) = ProblemCategory::from_proto_value(p.category) {
                parts.push("category = ?");
                pattern_values.push(c.as_str().into());
            }
            if !p.location.is_empty() {
                parts.push("location = ?");
                pattern_values.push(p.location.clone().into());
            }
            if let Ok(s) = intake::StructureType::try_from(p.structure_type)
                && s != intake::StructureType::Unspecified
            {
                parts.push("structure_type = ?");
                pattern_values.push(short_key(s.as_str_name(), "STRUCTURE_TYPE_").into());
            }
            if !parts.is_empty() {
                let pattern_sql = parts.join(" AND ");
                alternatives.push(format!("({pattern_sql})"));
                values.extend(pattern_values.clone());
                alternatives.push(format!(
                    "related_case_id IN (SELECT ticket_id FROM case_facts WHERE {pattern_sql})"
                ));
                values.extend(pattern_values);
            }
        }
        if !action.case_ids.is_empty() {
            let marks = vec!["?"; action.case_ids.len()].join(", ");
            alternatives.push(format!("related_case_id IN ({marks})"));
            values.extend(
                action
                    .case_ids
                    .iter()
                    .map(|c| sea_orm::Value::from(c.clone())),
            );
        }
        if alternatives.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT ticket_id, created_at_ms FROM case_facts WHERE created_at_ms >= ? AND ({}) \
             ORDER BY created_at_ms",
            alternatives.join(" OR ")
        );
        let found = conn
            .query_all_raw(statement(conn.get_database_backend(), &sql, values))
            .await
            .map_err(db_err)?;
        Ok(found
            .iter()
            .filter_map(|r| {
                let id: String = r.try_get_by_index(0).ok()?;
                let at: i64 = r.try_get_by_index(1).ok()?;
                let day = chrono::Utc
                    .timestamp_millis_opt(at)
                    .single()?
                    .with_timezone(&zone)
                    .date_naive();
                Some((id, day))
            })
            .collect())
    }

    /// VerifyCorrectiveAction.
    pub async fn verify_corrective_action(
        &self,
        ctx: &RequestContext,
        request: pb::VerifyCorrectiveActionRequest,
    ) -> Result<pb::VerifyCorrectiveActionResponse, ApiError> {
        require(&ctx.caller, VERIFIERS)?;
        let hash = payload_hash(&request, |r| r.request_id.clear());
        let (tx, key) = match self
            .begin(ctx, "VerifyCorrectiveAction", &request.request_id, hash)
            .await?
        {
            Begun::Replay(id) => {
                return Ok(pb::VerifyCorrectiveActionResponse {
                    action: Some(self.action(&id, ctx.locale).await?),
                });
            }
            Begun::Fresh(tx, key) => (tx, key),
        };
        let today = self.today();
        let row = self.action_row(&tx, &request.action_id).await?;
        let mut action = decode(&row, today)?;
        let fix = date_of(action.fix_date.as_ref());
        let (Some(fix), true) = (fix, action.status == pb::ActionStatus::FixDeployed as i32) else {
            return Err(precondition(&action, msg!("error-no-fix-deployed")));
        };
        let seen = self.seen_again(&tx, &action, fix).await?;
        let days: Vec<NaiveDate> = seen.iter().map(|(_, d)| *d).collect();
        let window = u32::try_from(action.verification_days).unwrap_or(0);
        match effectiveness(fix, window, today, &days) {
            Effectiveness::WindowOpen(end) => {
                return Err(precondition(&action, msg!("error-window-open", end = end)));
            }
            Effectiveness::Recurred(on) => {
                let end = fix + chrono::Days::new(u64::from(window));
                let tickets: Vec<&str> = seen
                    .iter()
                    .filter(|(_, d)| *d > fix && *d <= end)
                    .map(|(id, _)| id.as_str())
                    .collect();
                return Err(precondition(
                    &action,
                    msg!(
                        "error-pattern-recurred",
                        days = Arg::List(on.iter().map(|d| date_msg(*d)).collect()),
                        tickets = tickets.join(", ")
                    ),
                ));
            }
            Effectiveness::Effective => {}
        }
        action.status = pb::ActionStatus::ClosedEffective as i32;
        action.overdue = false;
        action.updates.push(pb::ActionUpdate {
            status: action.status,
            note: Said::from(msg!(
                "action-verified-effective",
                days = i64::from(window),
                fix = fix
            ))
            .to_column(),
            author: Some(actor_of(&ctx.caller)),
            create_time: Some(to_timestamp(steelcare_store::now())),
        });
        save(&tx, &row, &action).await?;
        audit(
            &tx,
            ctx,
            "corrective_action",
            &row.id,
            Some(serde_json::json!({ "status": "ACTION_STATUS_FIX_DEPLOYED" })),
            serde_json::json!({ "status": "ACTION_STATUS_CLOSED_EFFECTIVE", "window_days": window }),
        )
        .await?;
        self.finish(tx, key, &row.id).await?;
        Ok(pb::VerifyCorrectiveActionResponse {
            action: Some(action),
        })
    }

    /// GetCorrectiveAction.
    pub async fn get_corrective_action(
        &self,
        ctx: &RequestContext,
        request: pb::GetCorrectiveActionRequest,
    ) -> Result<pb::GetCorrectiveActionResponse, ApiError> {
        require(&ctx.caller, READERS)?;
        Ok(pb::GetCorrectiveActionResponse {
            action: Some(self.action(&request.action_id, ctx.locale).await?),
        })
    }

    /// ListCorrectiveActions: earliest due first.
    pub async fn list_corrective_actions(
        &self,
        ctx: &RequestContext,
        request: pb::ListCorrectiveActionsRequest,
    ) -> Result<pb::ListCorrectiveActionsResponse, ApiError> {
        require(&ctx.caller, READERS)?;
        let size = page_size(request.page_size)?;
        let today = self.today();
        let fingerprint = page::fingerprint(&(
            request.status,
            request.department,
            request.overdue_only,
            today.to_string(),
        ));
        let after: Option<(String, String)> = page::decode(&request.page_token, &fingerprint)?;
        let mut query = rows::Entity::find();
        if request.status != 0 {
            let status = pb::ActionStatus::try_from(request.status)
                .map_err(|_| ApiError::invalid("status", msg!("field-unknown")))?;
            query = query.filter(rows::Column::Status.eq(status.as_str_name()));
        }
        if request.department != 0 {
            let department = pb::Department::try_from(request.department)
                .map_err(|_| ApiError::invalid("department", msg!("field-unknown")))?;
            query = query.filter(rows::Column::Department.eq(department.as_str_name()));
        }
        if request.overdue_only {
            query = query
                .filter(rows::Column::DueDate.lt(today.format("%Y-%m-%d").to_string()))
                .filter(rows::Column::Status.ne(pb::ActionStatus::ClosedEffective.as_str_name()));
        }
        if let Some(key) = after {
            query = query.filter(page::after(rows::Column::DueDate, rows::Column::Id, key));
        }
        let mut found = query
            .order_by_asc(rows::Column::DueDate)
            .order_by_asc(rows::Column::Id)
            .limit(size + 1)
            .all(&self.db)
            .await
            .map_err(db_err)?;
        let next_page_token = page::next_token(&mut found, size, &fingerprint, |r| {
            (r.due_date.clone(), r.id.clone())
        });
        Ok(pb::ListCorrectiveActionsResponse {
            actions: found
                .iter()
                .map(|r| shown(r, today, ctx.locale))
                .collect::<Result<_, _>>()?,
            next_page_token,
        })
    }
}
