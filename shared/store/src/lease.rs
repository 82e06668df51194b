//! Leases for tasks that must run once across replicas (the outbox relay): a row per task
//! with its holder and expiry, taken or renewed with one conditional update, so two
//! processes can never both hold it (clocks of the replicas are assumed to agree to well
//! within the lease).

use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use crate::StoreError;
use crate::entity::bus_leases::{self, Column};

/// Takes the lease `name` for `holder` until `now_ms + ttl_ms` if it is free, expired or
/// already `holder`'s; returns whether `holder` holds it now.
pub async fn acquire(
    conn: &impl ConnectionTrait,
    name: &str,
    holder: &str,
    now_ms: i64,
    ttl_ms: i64,
) -> Result<bool, StoreError> {
    bus_leases::Entity::insert(bus_leases::ActiveModel {
        name: Set(name.to_owned()),
        holder: Set(String::new()),
        expires_at_ms: Set(0),
    })
    .on_conflict(OnConflict::column(Column::Name).do_nothing().to_owned())
    .exec_without_returning(conn)
    .await?;
    let taken = bus_leases::Entity::update_many()
        .col_expr(Column::Holder, Expr::value(holder))
        .col_expr(Column::ExpiresAtMs, Expr::value(now_ms + ttl_ms))
        .filter(Column::Name.eq(name))
        .filter(Column::Holder.eq(holder).or(Column::ExpiresAtMs.lt(now_ms)))
        .exec(conn)
        .await?;
    Ok(taken.rows_affected == 1)
}

/// Gives the lease up at once (at shutdown), so another replica takes over without waiting.
pub async fn release(
    conn: &impl ConnectionTrait,
    name: &str,
    holder: &str,
) -> Result<(), StoreError> {
    bus_leases::Entity::update_many()
        .col_expr(Column::ExpiresAtMs, Expr::value(0_i64))
        .filter(Column::Name.eq(name))
        .filter(Column::Holder.eq(holder))
        .exec(conn)
        .await?;
    Ok(())
}
