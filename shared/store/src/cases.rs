//! Cases and their lifecycle state. Every transition goes through
//! [`steelcare_domain::CaseState::transition`] and an optimistic version check, so two
//! concurrent changes can never both apply.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set,
    sea_query::{Expr, ExprTrait},
};
use steelcare_domain::{CaseState, IllegalTransition};

use crate::StoreError;
use crate::entity::cases::{self, Column};

/// A case as the lifecycle sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseRecord {
    /// Case id.
    pub id: String,
    /// Customer organisation.
    pub organization_id: Option<String>,
    /// Current state.
    pub state: CaseState,
    /// The state a dispute was opened from, while DISPUTED.
    pub state_before_dispute: Option<CaseState>,
    /// Incremented by every change.
    pub version: i64,
}

impl TryFrom<cases::Model> for CaseRecord {
    type Error = StoreError;

    fn try_from(model: cases::Model) -> Result<Self, Self::Error> {
        let parse = |s: &str| {
            s.parse::<CaseState>()
                .map_err(|err| StoreError::Corrupt(err.to_string()))
        };
        Ok(CaseRecord {
            state: parse(&model.state)?,
            state_before_dispute: model
                .state_before_dispute
                .as_deref()
                .map(parse)
                .transpose()?,
            id: model.id,
            organization_id: model.organization_id,
            version: model.version,
        })
    }
}

/// Creates a case in RECEIVED.
pub async fn create(
    conn: &impl ConnectionTrait,
    id: &str,
    organization_id: Option<&str>,
) -> Result<CaseRecord, StoreError> {
    let now = Utc::now();
    cases::ActiveModel {
        id: Set(id.to_owned()),
        organization_id: Set(organization_id.map(str::to_owned)),
        state: Set(CaseState::Received.as_str().to_owned()),
        state_before_dispute: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(conn)
    .await?
    .try_into()
}

/// Creates several cases in RECEIVED with one statement: `(id, organisation)` pairs.
pub async fn create_all(
    conn: &impl ConnectionTrait,
    new: &[(String, Option<String>)],
) -> Result<(), StoreError> {
    crate::db::execute_all(conn, create_all_statement(conn.get_database_backend(), new)).await
}

/// The statement of [`create_all`] (`None` for no cases).
pub fn create_all_statement(
    backend: sea_orm::DbBackend,
    new: &[(String, Option<String>)],
) -> Option<sea_orm::Statement> {
    use sea_orm::QueryTrait;
    if new.is_empty() {
        return None;
    }
    let now = Utc::now();
    Some(
        cases::Entity::insert_many(new.iter().map(|(id, org)| cases::ActiveModel {
            id: Set(id.clone()),
            organization_id: Set(org.clone()),
            state: Set(CaseState::Received.as_str().to_owned()),
            state_before_dispute: Set(None),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
        }))
        .build(backend),
    )
}

/// Loads a case.
pub async fn get(conn: &impl ConnectionTrait, id: &str) -> Result<CaseRecord, StoreError> {
    cases::Entity::find_by_id(id.to_owned())
        .one(conn)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            entity: "case",
            id: id.to_owned(),
        })?
        .try_into()
}

/// Moves a case to `to`. Refused with [`StoreError::IllegalTransition`] (naming the current
/// state) when the lifecycle does not allow it, and with [`StoreError::Conflict`] when the case
/// changed since it was read. Opening a dispute remembers the state it left; leaving DISPUTED
/// must go back to that state.
pub async fn transition(
    conn: &impl ConnectionTrait,
    id: &str,
    to: CaseState,
) -> Result<CaseRecord, StoreError> {
    let current = get(conn, id).await?;
    let before_dispute = match (current.state, to) {
        (CaseState::Disputed, CaseState::Cancelled) => {
            CaseState::Disputed.transition(to)?;
            None
        }
        (CaseState::Disputed, _) => {
            let prior = current.state_before_dispute.ok_or_else(|| {
                StoreError::Corrupt(format!("disputed case {id} has no state before dispute"))
            })?;
            if CaseState::Disputed.resume_after_dispute(prior)? != to {
                return Err(IllegalTransition {
                    from: CaseState::Disputed,
                    to,
                }
                .into());
            }
            None
        }
        (from, CaseState::Disputed) => {
            from.transition(to)?;
            Some(from)
        }
        (from, to) => {
            from.transition(to)?;
            None
        }
    };
    let updated = cases::Entity::update_many()
        .col_expr(Column::State, Expr::value(to.as_str()))
        .col_expr(
            Column::StateBeforeDispute,
            Expr::value(before_dispute.map(|s| s.as_str().to_owned())),
        )
        .col_expr(Column::Version, Expr::col(Column::Version).add(1))
        .col_expr(Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(Column::Id.eq(id))
        .filter(Column::Version.eq(current.version))
        .exec(conn)
        .await?;
    if updated.rows_affected != 1 {
        return Err(StoreError::Conflict {
            entity: "case",
            id: id.to_owned(),
        });
    }
    Ok(CaseRecord {
        state: to,
        state_before_dispute: before_dispute,
        version: current.version + 1,
        ..current
    })
}
