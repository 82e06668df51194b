//! The quality loop around corrective actions (MISSION §8.3): the people of each department
//! (an action's owner is one of them), the actions of a pattern (a second open one is
//! flagged), an action verified effective reopened when its pattern comes back, and the Pareto
//! of category × location × cause with its cumulative shares and each row's actions.

use std::collections::BTreeMap;
use steelcare_i18n::{Said, msg};

use chrono::TimeZone;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use steelcare_bus::EVENTS_STREAM;
use steelcare_domain::{ProblemCategory, Role};
use steelcare_proto::common::v1 as common;
use steelcare_proto::events::v1 as events;
use steelcare_proto::events::v1::event_envelope::Payload;
use steelcare_proto::feedback::v1 as pb;
use steelcare_proto::intake::v1 as intake;
use steelcare_runtime::convert::to_timestamp;
use steelcare_runtime::handler::require;
use steelcare_runtime::record::{audit, emit, envelope};
use steelcare_runtime::validate::{Person, Violations};
use steelcare_runtime::{ApiError, RequestContext};
use steelcare_store::entity::{case_facts, corrective_actions as rows, department_members};

use crate::actions::stored;
use crate::analytics::{self, Scope};
use crate::engine::{Feedback, db_err};
use crate::facts::short_key;

const MEMBER_SETTERS: &[Role] = &[Role::Manager, Role::Admin];
const MEMBER_READERS: &[Role] = &[
    Role::Engineer,
    Role::ChiefEngineer,
    Role::Manager,
    Role::Admin,
    Role::Auditor,
];
/// Most people one department lists.
const MAX_MEMBERS: usize = 200;
/// Who reopens an action: the service itself.
const REOPENER: &str = "steelcare-feedback";

/// Whether a case (its category, location and structure type keys) shows `pattern`: the same
/// category, and the same location and structure type where the pattern names them.
fn shows(pattern: &pb::Pattern, category: &str, location: &str, structure: &str) -> bool {
    let category_matches =
        ProblemCategory::from_proto_value(pattern.category).is_some_and(|c| c.as_str() == category);
    let structure_matches = match intake::StructureType::try_from(pattern.structure_type) {
        Ok(s) if s != intake::StructureType::Unspecified => {
            short_key(s.as_str_name(), "STRUCTURE_TYPE_") == structure
        }
        _ => true,
    };
    category_matches
        && (pattern.location.is_empty() || pattern.location == location)
        && structure_matches
}

fn same_pattern(a: &pb::Pattern, b: &pb::Pattern) -> bool {
    a.category == b.category && a.location == b.location && a.structure_type == b.structure_type
}

fn is_open(action: &pb::CorrectiveAction) -> bool {
    action.status != pb::ActionStatus::ClosedEffective as i32
}

/// The department's key as stored.
fn department_key(department: pb::Department) -> &'static str {
    department.as_str_name()
}

/// Whether a ticket (its first facts) shows the problem an action verified effective was to
/// remove: after the verification, recurring from the action's cases or showing its pattern.
fn comes_back(action: &pb::CorrectiveAction, facts: &case_facts::Model) -> bool {
    let closed_ms = action
        .updates
        .last()
        .and_then(|u| u.create_time.as_ref())
        .map_or(0, |t| t.seconds * 1000);
    let recurs_from_its_case = facts
        .related_case_id
        .as_ref()
        .is_some_and(|r| action.case_ids.contains(r));
    let shows_pattern = action
        .pattern
        .as_ref()
        .is_some_and(|p| shows(p, &facts.category, &facts.location, &facts.structure_type));
    facts.created_at_ms > closed_ms && (recurs_from_its_case || shows_pattern)
}

impl Feedback {
    /// Every corrective action, decoded, oldest first.
    async fn all_actions(
        &self,
        conn: &impl ConnectionTrait,
    ) -> Result<Vec<(rows::Model, pb::CorrectiveAction)>, ApiError> {
        rows::Entity::find()
            .order_by_asc(rows::Column::CreatedAt)
            .all(conn)
            .await
            .map_err(db_err)?
            .into_iter()
            .map(|row| stored(&row).map(|action| (row, action)))
            .collect()
    }

    /// The other actions still open on `pattern` (a second open action on one pattern).
    pub(crate) async fn open_on_pattern(
        &self,
        conn: &impl ConnectionTrait,
        pattern: &pb::Pattern,
        except: &str,
    ) -> Result<Vec<String>, ApiError> {
        Ok(self
            .all_actions(conn)
            .await?
            .into_iter()
            .filter(|(row, action)| {
                row.id != except
                    && is_open(action)
                    && action
                        .pattern
                        .as_ref()
                        .is_some_and(|p| same_pattern(p, pattern))
            })
            .map(|(row, _)| row.id)
            .collect())
    }

    /// INVALID_ARGUMENT at `owner.user_id` unless the owner is a person of `department`.
    pub(crate) async fn check_owner(
        &self,
        conn: &impl ConnectionTrait,
        department: pb::Department,
        owner: &str,
    ) -> Result<(), ApiError> {
        let member = department_members::Entity::find_by_id((
            department_key(department).to_owned(),
            owner.to_owned(),
        ))
        .one(conn)
        .await
        .map_err(db_err)?;
        if member.is_some() {
            return Ok(());
        }
        Err(ApiError::invalid(
            "owner.user_id",
            msg!(
                "field-owner-not-in-department",
                owner = owner,
                department = steelcare_i18n::enum_label("Department", department.as_str_name())
            ),
        ))
    }

    /// SetDepartmentMembers: replaces the department's people.
    pub async fn set_department_members(
        &self,
        ctx: &RequestContext,
        request: pb::SetDepartmentMembersRequest,
    ) -> Result<pb::SetDepartmentMembersResponse, ApiError> {
        require(&ctx.caller, MEMBER_SETTERS)?;
        let mut v = Violations::default();
        let department = v.enum_value("department", request.department, |d| {
            pb::Department::try_from(d).ok()
        });
        if request.members.len() > MAX_MEMBERS {
            v.add("members", msg!("field-too-many-people", max = MAX_MEMBERS));
        }
        let mut members: Vec<common::PersonRef> = Vec::new();
        for (i, m) in request.members.iter().enumerate() {
            let field = format!("members[{i}]");
            let person = Person::parse(&mut v, &field, Some(m), true, false).to_proto();
            if person.user_id.is_empty() {
                v.add(format!("{field}.user_id"), msg!("field-required"));
            } else if members.iter().any(|p| p.user_id == person.user_id) {
                v.add(format!("{field}.user_id"), msg!("field-listed-twice"));
            }
            members.push(person);
        }
        let department = v.finish(department)?.unwrap_or_default();
        members.sort_by(|a, b| a.user_id.cmp(&b.user_id));
        let key = department_key(department);
        let tx = steelcare_store::begin_write(&self.db)
            .await
            .map_err(db_err)?;
        let before: Vec<String> = department_members::Entity::find()
            .filter(department_members::Column::Department.eq(key))
            .all(&tx)
            .await
            .map_err(db_err)?
            .into_iter()
            .map(|m| m.user_id)
            .collect();
        department_members::Entity::delete_many()
            .filter(department_members::Column::Department.eq(key))
            .exec(&tx)
            .await
            .map_err(db_err)?;
        let now = steelcare_store::now();
        if !members.is_empty() {
            department_members::Entity::insert_many(members.iter().map(|m| {
                department_members::ActiveModel {
                    department: Set(key.to_owned()),
                    user_id: Set(m.user_id.clone()),
                    display_name: Set(m.display_name.clone()),
                    phone: Set(m.phone.clone()),
                    email: Set(m.email.clone()),
                    updated_by: Set(ctx.caller.subject.clone()),
                    updated_at: Set(now),
                }
            }))
            .exec(&tx)
            .await
            .map_err(db_err)?;
        }
        audit(
            &tx,
            ctx,
            "department_members",
            key,
            Some(serde_json::json!({ "members": before })),
            serde_json::json!({ "members": members.iter().map(|m| &m.user_id).collect::<Vec<_>>() }),
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        Ok(pb::SetDepartmentMembersResponse { members })
    }

    /// ListDepartmentMembers.
    pub async fn list_department_members(
        &self,
        ctx: &RequestContext,
        request: pb::ListDepartmentMembersRequest,
    ) -> Result<pb::ListDepartmentMembersResponse, ApiError> {
        require(&ctx.caller, MEMBER_READERS)?;
        let department = pb::Department::try_from(request.department)
            .ok()
            .filter(|d| *d != pb::Department::Unspecified)
            .ok_or_else(|| ApiError::invalid("department", msg!("field-department-required")))?;
        let members = department_members::Entity::find()
            .filter(department_members::Column::Department.eq(department_key(department)))
            .order_by_asc(department_members::Column::UserId)
            .all(&self.db)
            .await
            .map_err(db_err)?
            .into_iter()
            .map(|m| common::PersonRef {
                user_id: m.user_id,
                display_name: m.display_name,
                phone: m.phone,
                email: m.email,
                ..Default::default()
            })
            .collect();
        Ok(pb::ListDepartmentMembersResponse { members })
    }

    /// Reopens every action verified effective whose pattern a new ticket shows (or whose
    /// cases it recurs from), when the ticket came after the verification: the action goes
    /// back to OPEN with a note naming the ticket, and `CorrectiveActionReopened` is emitted.
    /// `new` are the first facts of new tickets, in creation order. Returns the actions
    /// reopened.
    pub async fn reopen_for(
        &self,
        tx: &sea_orm::DatabaseTransaction,
        new: &[&case_facts::Model],
    ) -> Result<Vec<String>, ApiError> {
        let mut reopened = Vec::new();
        if new.is_empty() {
            return Ok(reopened);
        }
        // Only the actions verified effective (by their status column: a new ticket's
        // rebuild reads no other action).
        let closed = rows::Entity::find()
            .filter(rows::Column::Status.eq(pb::ActionStatus::ClosedEffective.as_str_name()))
            .all(tx)
            .await
            .map_err(db_err)?;
        for row in closed {
            let mut action = stored(&row)?;
            if let Some(facts) = new.iter().find(|f| comes_back(&action, f)) {
                self.reopen(tx, &row, &mut action, facts).await?;
                reopened.push(row.id);
            }
        }
        Ok(reopened)
    }

    /// Reopens an action for the ticket of `facts`, with its note and event.
    async fn reopen(
        &self,
        tx: &sea_orm::DatabaseTransaction,
        row: &rows::Model,
        action: &mut pb::CorrectiveAction,
        facts: &case_facts::Model,
    ) -> Result<(), ApiError> {
        let ticket_id = &facts.ticket_id;
        let day = chrono::Utc
            .timestamp_millis_opt(facts.created_at_ms)
            .single()
            .map(|t| self.day_of(t));
        action.status = pb::ActionStatus::Open as i32;
        action.updates.push(pb::ActionUpdate {
            status: action.status,
            note: Said::from(match day {
                Some(day) => msg!("action-reopened", ticket = ticket_id, day = day),
                None => msg!("action-reopened-undated", ticket = ticket_id),
            })
            .to_column(),
            author: Some(common::Actor {
                subject: REOPENER.to_owned(),
                ..Default::default()
            }),
            create_time: Some(to_timestamp(steelcare_store::now())),
        });
        crate::actions::save(tx, row, action).await?;
        emit(
            tx,
            EVENTS_STREAM,
            envelope(
                common::Actor {
                    subject: REOPENER.to_owned(),
                    ..Default::default()
                },
                Some(ticket_id),
                Payload::CorrectiveActionReopened(events::CorrectiveActionReopened {
                    corrective_action_id: row.id.clone(),
                    ticket_id: ticket_id.clone(),
                }),
            ),
        )
        .await?;
        Ok(())
    }

    /// ProblemPareto.
    pub async fn problem_pareto(
        &self,
        ctx: &RequestContext,
        request: pb::ProblemParetoRequest,
    ) -> Result<pb::ProblemParetoResponse, ApiError> {
        require(&ctx.caller, MEMBER_READERS)?;
        let scope = Scope::parse(
            &ctx.caller,
            request.period.as_ref(),
            request.filter.as_ref(),
        )?;
        let counted = analytics::pareto_counts(&self.db, &scope).await?;
        let actions = self.all_actions(&self.db).await?;
        Ok(pareto(counted, &actions))
    }
}

/// One group of the Pareto as counted: (category, location, cause) → (cases, recurrences,
/// inherited).
pub type ParetoCounts = BTreeMap<(String, String, String), (i64, i64, i64)>;

/// Orders the groups, adds the cumulative shares and the vital few, and each row's actions.
fn pareto(
    counted: ParetoCounts,
    actions: &[(rows::Model, pb::CorrectiveAction)],
) -> pb::ProblemParetoResponse {
    let total: i64 = counted.values().map(|(n, _, _)| n).sum();
    let mut groups: Vec<_> = counted.into_iter().collect();
    groups.sort_by(|a, b| b.1.0.cmp(&a.1.0).then_with(|| a.0.cmp(&b.0)));
    let mut cumulative = 0;
    let mut vital = true;
    let rows = groups
        .into_iter()
        .map(
            |((category, location, cause), (cases, recurrences, inherited))| {
                cumulative += cases;
                let share = analytics::ratio(cases, total);
                let cumulative_share = analytics::ratio(cumulative, total);
                let vital_few = vital;
                vital = vital && cumulative_share + 1e-9 < 0.8;
                let (zh, en) = analytics::pattern_label(&category, &location, &cause);
                let mut row = pb::ParetoRow {
                    label_zh: zh,
                    label_en: en,
                    cases,
                    recurrences,
                    inherited,
                    share,
                    cumulative_share,
                    vital_few,
                    ..Default::default()
                };
                for (r, action) in actions {
                    let Some(p) = action.pattern.as_ref() else {
                        continue;
                    };
                    let matches = ProblemCategory::from_proto_value(p.category)
                        .is_some_and(|c| c.as_str() == category)
                        && (p.location.is_empty() || p.location == location);
                    if !matches {
                        continue;
                    }
                    match pb::ActionStatus::try_from(action.status) {
                        Ok(pb::ActionStatus::ClosedEffective) => {
                            row.effective_action_ids.push(r.id.clone())
                        }
                        Ok(pb::ActionStatus::FixDeployed) => {
                            row.deployed_action_ids.push(r.id.clone())
                        }
                        _ => row.open_action_ids.push(r.id.clone()),
                    }
                }
                row.second_open_action =
                    row.open_action_ids.len() + row.deployed_action_ids.len() > 1;
                row.category = category;
                row.location = location;
                row.root_cause = cause;
                row
            },
        )
        .collect();
    pb::ProblemParetoResponse {
        rows,
        total_cases: total,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(groups: &[(&str, i64)]) -> ParetoCounts {
        groups
            .iter()
            .map(|(cat, n)| {
                (
                    (
                        (*cat).to_owned(),
                        "gutter".to_owned(),
                        "workmanship".to_owned(),
                    ),
                    (*n, 0, 0),
                )
            })
            .collect()
    }

    #[test]
    fn the_vital_few_end_with_the_row_that_reaches_eighty_percent() {
        let p = pareto(
            counts(&[
                ("leakage", 50),
                ("coating_damage", 20),
                ("other", 20),
                ("hardware_damage", 10),
            ]),
            &[],
        );
        let rows: Vec<(&str, f64, bool)> = p
            .rows
            .iter()
            .map(|r| (r.category.as_str(), r.cumulative_share, r.vital_few))
            .collect();
        // 50 %, 70 %, 90 % (reaches 80 %: the last of the vital few), 100 %; ties by key.
        assert_eq!(
            rows,
            [
                ("leakage", 0.5, true),
                ("coating_damage", 0.7, true),
                ("other", 0.9, true),
                ("hardware_damage", 1.0, false)
            ]
        );
        assert_eq!(p.total_cases, 100);
        assert!(pareto(BTreeMap::new(), &[]).rows.is_empty());
    }
}
