//! Counters of numbers handed out per day or year (`acceptance_counters`): acceptance
//! numbers (intake) and archive numbers (acceptance), each one atomic statement.

use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};

use crate::StoreError;
use crate::entity::acceptance_counters;

/// Adds `by` to the counter `day` (created at `by`), returning the new value: one statement.
pub async fn increment_counter(
    conn: &impl ConnectionTrait,
    day: &str,
    by: i64,
) -> Result<i64, StoreError> {
    use acceptance_counters::Column;
    let stmt = Query::insert()
        .into_table(acceptance_counters::Entity)
        .columns([Column::Day, Column::LastValue])
        .values_panic([day.into(), by.into()])
        .on_conflict(
            OnConflict::column(Column::Day)
                .value(
                    Column::LastValue,
                    Expr::col((acceptance_counters::Entity, Column::LastValue)).add(by),
                )
                .to_owned(),
        )
        .returning_col(Column::LastValue)
        .to_owned();
    let row = conn
        .query_one(&stmt)
        .await?
        .ok_or_else(|| StoreError::Corrupt("acceptance counter returned nothing".to_owned()))?;
    Ok(row.try_get::<i64>("", "last_value")?)
}
