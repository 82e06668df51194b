//! SLA clocks of tickets, kept in the database (DESIGN.md decision 5): planned from the tier's
//! policy at intake, stopped by the step that meets them, paused while waiting for the
//! customer, rescheduled on reclassification, and watched: each at-risk threshold and the
//! breach fire exactly once, because firing is a conditional update committed with its event.

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde::{Deserialize, Serialize};
use steelcare_domain::sla::{self, ClockKind, ClockMode, Pause, PolicyBook};
use steelcare_domain::{BusinessCalendar, SeverityTier};
use steelcare_i18n::{Msg, msg};
use steelcare_proto::events::v1 as events;
use steelcare_runtime::ApiError;
use steelcare_store::entity::{sla_clocks, sla_pauses};

use crate::store;

/// What the clocks are computed with.
#[derive(Debug, Clone)]
pub struct SlaConfig {
    /// Business calendar.
    pub calendar: BusinessCalendar,
    /// Policies per tier with overrides.
    pub policies: PolicyBook,
    /// At-risk fractions, ascending.
    pub thresholds: Vec<f64>,
}

/// Clock status names as stored.
pub mod status {
    pub const ON_TRACK: &str = "on_track";
    pub const AT_RISK: &str = "at_risk";
    pub const BREACHED: &str = "breached";
    pub const MET: &str = "met";
    pub const PAUSED: &str = "paused";
    pub const CANCELLED: &str = "cancelled";
}

/// One at-risk threshold of a clock: its fraction and when it is crossed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Threshold {
    /// Fraction of the limit.
    pub fraction: f64,
    /// When it is crossed (ms); `None` while paused before it.
    pub at_ms: Option<i64>,
}

fn ms(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

fn from_ms(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

fn mode_name(mode: ClockMode) -> &'static str {
    match mode {
        ClockMode::RoundTheClock => "round_the_clock",
        ClockMode::Business => "business",
    }
}

fn parse_mode(s: &str) -> ClockMode {
    if s == "round_the_clock" {
        ClockMode::RoundTheClock
    } else {
        ClockMode::Business
    }
}

fn to_pauses(rows: &[sla_pauses::Model]) -> Vec<Pause> {
    rows.iter()
        .map(|p| Pause {
            start: from_ms(p.started_at_ms),
            end: p.ended_at_ms.map(from_ms),
        })
        .collect()
}

/// The instant of the next unfired alert: threshold `fired`, or the deadline after them all.
fn next_alert(thresholds: &[Threshold], deadline_ms: Option<i64>, fired: usize) -> Option<i64> {
    match fired.cmp(&thresholds.len()) {
        std::cmp::Ordering::Less => thresholds[fired].at_ms,
        std::cmp::Ordering::Equal => deadline_ms,
        std::cmp::Ordering::Greater => None,
    }
}

struct Schedule {
    deadline_ms: Option<i64>,
    thresholds: Vec<Threshold>,
}

fn compute(
    config: &SlaConfig,
    mode: ClockMode,
    started: DateTime<Utc>,
    limit: TimeDelta,
    pauses: &[Pause],
) -> Schedule {
    let s = sla::schedule(
        mode,
        &config.calendar,
        started,
        limit,
        pauses,
        &config.thresholds,
    );
    Schedule {
        deadline_ms: s.deadline.map(ms),
        thresholds: config
            .thresholds
            .iter()
            .zip(s.thresholds)
            .map(|(fraction, at)| Threshold {
                fraction: *fraction,
                at_ms: at.map(ms),
            })
            .collect(),
    }
}

fn thresholds_of(row: &sla_clocks::Model) -> Vec<Threshold> {
    serde_json::from_str(&row.thresholds_ms).unwrap_or_default()
}

/// Whose clocks: the case, its tier and the customer and contract whose overrides apply.
#[derive(Debug, Clone, Copy)]
pub struct CaseClocks<'a> {
    /// Ticket id.
    pub ticket_id: &'a str,
    /// Tier in force.
    pub tier: SeverityTier,
    /// Customer.
    pub customer_id: &'a str,
    /// Contract of the project.
    pub contract_number: &'a str,
    /// When the clocks started (intake).
    pub started: DateTime<Utc>,
}

/// A running clock row with a fresh schedule and no alert fired.
fn fresh_row(
    ticket_id: &str,
    kind: ClockKind,
    mode: ClockMode,
    limit: TimeDelta,
    started: DateTime<Utc>,
    schedule: &Schedule,
    paused: bool,
) -> sla_clocks::Model {
    sla_clocks::Model {
        ticket_id: ticket_id.to_owned(),
        kind: kind.as_str().to_owned(),
        mode: mode_name(mode).to_owned(),
        limit_ms: limit.num_milliseconds(),
        started_at_ms: ms(started),
        deadline_at_ms: schedule.deadline_ms,
        thresholds_ms: serde_json::to_string(&schedule.thresholds).unwrap_or_default(),
        alerts_fired: 0,
        next_alert_at_ms: next_alert(&schedule.thresholds, schedule.deadline_ms, 0),
        status: if paused {
            status::PAUSED
        } else {
            status::ON_TRACK
        }
        .to_owned(),
        stopped_at_ms: None,
        breached_at_ms: None,
    }
}

/// The clocks of a new ticket from its tier's policy, computed in memory.
pub fn plan(config: &SlaConfig, case: &CaseClocks<'_>) -> Vec<sla_clocks::Model> {
    let policy = config
        .policies
        .policy(case.tier, case.customer_id, case.contract_number);
    ClockKind::ALL
        .into_iter()
        .filter_map(|kind| {
            let limit = policy.limit(kind)?.resolve(policy.mode, &config.calendar);
            let schedule = compute(config, policy.mode, case.started, limit, &[]);
            Some(fresh_row(
                case.ticket_id,
                kind,
                policy.mode,
                limit,
                case.started,
                &schedule,
                false,
            ))
        })
        .collect()
}

/// Applies `update` to one clock of a ticket; returns how many rows changed (0 or 1).
async fn update_clock(
    conn: &impl ConnectionTrait,
    ticket_id: &str,
    kind: &str,
    update: sea_orm::UpdateMany<sla_clocks::Entity>,
) -> Result<u64, ApiError> {
    Ok(update
        .filter(sla_clocks::Column::TicketId.eq(ticket_id))
        .filter(sla_clocks::Column::Kind.eq(kind))
        .exec(conn)
        .await
        .map_err(steelcare_store::StoreError::from)?
        .rows_affected)
}

/// Stores planned clocks in one statement.
pub async fn insert(
    conn: &impl ConnectionTrait,
    planned: &[sla_clocks::Model],
) -> Result<(), ApiError> {
    steelcare_store::db::execute_all(conn, insert_statement(conn.get_database_backend(), planned))
        .await?;
    Ok(())
}

/// The statement of [`insert`] (`None` for no clocks).
pub fn insert_statement(
    backend: sea_orm::DbBackend,
    planned: &[sla_clocks::Model],
) -> Option<sea_orm::Statement> {
    use sea_orm::QueryTrait;
    if planned.is_empty() {
        return None;
    }
    Some(
        sla_clocks::Entity::insert_many(planned.iter().cloned().map(sla_clocks::ActiveModel::from))
            .build(backend),
    )
}

/// Reschedules the running clocks after a reclassification: clocks the new tier lacks are
/// cancelled, new ones start from the original start, and every running clock gets the new
/// limit with its alerts re-armed.
pub async fn reschedule(
    conn: &impl ConnectionTrait,
    config: &SlaConfig,
    case: &CaseClocks<'_>,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let (ticket_id, started) = (case.ticket_id, case.started);
    let policy = config
        .policies
        .policy(case.tier, case.customer_id, case.contract_number);
    let existing = store::clocks(conn, ticket_id).await?;
    let pauses = to_pauses(&store::pauses(conn, ticket_id).await?);
    let paused = pauses.iter().any(|p| p.end.is_none());
    for kind in ClockKind::ALL {
        let row = existing.iter().find(|c| c.kind == kind.as_str());
        if row.is_some_and(|r| r.stopped_at_ms.is_some()) {
            continue;
        }
        match (row, policy.limit(kind)) {
            (Some(_), None) => {
                update_clock(
                    conn,
                    ticket_id,
                    kind.as_str(),
                    sla_clocks::Entity::update_many()
                        .col_expr(sla_clocks::Column::Status, Expr::value(status::CANCELLED))
                        .col_expr(sla_clocks::Column::StoppedAtMs, Expr::value(ms(now)))
                        .col_expr(
                            sla_clocks::Column::NextAlertAtMs,
                            Expr::value(Option::<i64>::None),
                        ),
                )
                .await?;
            }
            (None, Some(limit)) => {
                let limit = limit.resolve(policy.mode, &config.calendar);
                let s = compute(config, policy.mode, started, limit, &pauses);
                let row = fresh_row(ticket_id, kind, policy.mode, limit, started, &s, paused);
                insert(conn, std::slice::from_ref(&row)).await?;
            }
            (Some(_), Some(limit)) => {
                let limit = limit.resolve(policy.mode, &config.calendar);
                let s = compute(config, policy.mode, started, limit, &pauses);
                update_clock(
                    conn,
                    ticket_id,
                    kind.as_str(),
                    sla_clocks::Entity::update_many()
                        .col_expr(
                            sla_clocks::Column::Mode,
                            Expr::value(mode_name(policy.mode)),
                        )
                        .col_expr(
                            sla_clocks::Column::LimitMs,
                            Expr::value(limit.num_milliseconds()),
                        )
                        .col_expr(sla_clocks::Column::DeadlineAtMs, Expr::value(s.deadline_ms))
                        .col_expr(
                            sla_clocks::Column::ThresholdsMs,
                            Expr::value(serde_json::to_string(&s.thresholds).unwrap_or_default()),
                        )
                        .col_expr(sla_clocks::Column::AlertsFired, Expr::value(0))
                        .col_expr(
                            sla_clocks::Column::NextAlertAtMs,
                            Expr::value(next_alert(&s.thresholds, s.deadline_ms, 0)),
                        )
                        .col_expr(
                            sla_clocks::Column::Status,
                            Expr::value(if paused {
                                status::PAUSED
                            } else {
                                status::ON_TRACK
                            }),
                        )
                        .col_expr(
                            sla_clocks::Column::BreachedAtMs,
                            Expr::value(Option::<i64>::None),
                        ),
                )
                .await?;
            }
            (None, None) => {}
        }
    }
    Ok(())
}

/// Stops a running clock at `at`: met when in time, else breached at its deadline. Returns
/// whether it was met, or `None` when the ticket has no such running clock.
pub async fn stop(
    conn: &impl ConnectionTrait,
    ticket_id: &str,
    kind: ClockKind,
    at: DateTime<Utc>,
) -> Result<Option<bool>, ApiError> {
    let clocks = store::clocks(conn, ticket_id).await?;
    let Some(row) = clocks
        .iter()
        .find(|c| c.kind == kind.as_str() && c.stopped_at_ms.is_none())
    else {
        return Ok(None);
    };
    let met = row.deadline_at_ms.is_none_or(|d| ms(at) <= d);
    let breached_at = if met {
        None
    } else {
        row.breached_at_ms.or(row.deadline_at_ms)
    };
    update_clock(
        conn,
        ticket_id,
        kind.as_str(),
        sla_clocks::Entity::update_many()
            .col_expr(
                sla_clocks::Column::Status,
                Expr::value(if met { status::MET } else { status::BREACHED }),
            )
            .col_expr(sla_clocks::Column::StoppedAtMs, Expr::value(ms(at)))
            .col_expr(sla_clocks::Column::BreachedAtMs, Expr::value(breached_at))
            .col_expr(
                sla_clocks::Column::NextAlertAtMs,
                Expr::value(Option::<i64>::None),
            )
            .filter(sla_clocks::Column::StoppedAtMs.is_null()),
    )
    .await?;
    Ok(Some(met))
}

/// Stops every running clock of a cancelled case.
pub async fn cancel_all(
    conn: &impl ConnectionTrait,
    ticket_id: &str,
    at: DateTime<Utc>,
) -> Result<(), ApiError> {
    sla_clocks::Entity::update_many()
        .col_expr(sla_clocks::Column::Status, Expr::value(status::CANCELLED))
        .col_expr(sla_clocks::Column::StoppedAtMs, Expr::value(ms(at)))
        .col_expr(
            sla_clocks::Column::NextAlertAtMs,
            Expr::value(Option::<i64>::None),
        )
        .filter(sla_clocks::Column::TicketId.eq(ticket_id))
        .filter(sla_clocks::Column::StoppedAtMs.is_null())
        .exec(conn)
        .await
        .map_err(steelcare_store::StoreError::from)?;
    Ok(())
}

async fn recompute_running(
    conn: &impl ConnectionTrait,
    config: &SlaConfig,
    ticket_id: &str,
    pauses: &[Pause],
    paused: bool,
) -> Result<(), ApiError> {
    for row in store::clocks(conn, ticket_id).await? {
        if row.stopped_at_ms.is_some() {
            continue;
        }
        let s = compute(
            config,
            parse_mode(&row.mode),
            from_ms(row.started_at_ms),
            TimeDelta::milliseconds(row.limit_ms),
            pauses,
        );
        // Thresholds already fired keep their recorded instant.
        let old = thresholds_of(&row);
        let fired = usize::try_from(row.alerts_fired).unwrap_or(0);
        let thresholds: Vec<Threshold> = s
            .thresholds
            .iter()
            .enumerate()
            .map(|(i, t)| {
                if i < fired {
                    old.get(i).copied().unwrap_or(*t)
                } else {
                    *t
                }
            })
            .collect();
        let status = if paused {
            status::PAUSED
        } else if row.breached_at_ms.is_some() {
            status::BREACHED
        } else if fired > 0 {
            status::AT_RISK
        } else {
            status::ON_TRACK
        };
        update_clock(
            conn,
            ticket_id,
            &row.kind,
            sla_clocks::Entity::update_many()
                .col_expr(sla_clocks::Column::DeadlineAtMs, Expr::value(s.deadline_ms))
                .col_expr(
                    sla_clocks::Column::ThresholdsMs,
                    Expr::value(serde_json::to_string(&thresholds).unwrap_or_default()),
                )
                .col_expr(
                    sla_clocks::Column::NextAlertAtMs,
                    Expr::value(next_alert(&thresholds, s.deadline_ms, fired)),
                )
                .col_expr(sla_clocks::Column::Status, Expr::value(status)),
        )
        .await?;
    }
    Ok(())
}

/// Pauses the running clocks. Refused when already paused or nothing runs.
pub async fn pause(
    conn: &impl ConnectionTrait,
    config: &SlaConfig,
    ticket_id: &str,
    at: DateTime<Utc>,
    reason: &str,
) -> Result<(), ApiError> {
    let existing = store::pauses(conn, ticket_id).await?;
    if existing.iter().any(|p| p.ended_at_ms.is_none()) {
        return Err(precondition(
            ticket_id,
            status::PAUSED,
            msg!("error-clocks-paused"),
        ));
    }
    let running = store::clocks(conn, ticket_id)
        .await?
        .iter()
        .any(|c| c.stopped_at_ms.is_none());
    if !running {
        return Err(precondition(
            ticket_id,
            "STOPPED",
            msg!("error-no-clock-running"),
        ));
    }
    sla_pauses::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        ticket_id: Set(ticket_id.to_owned()),
        started_at_ms: Set(ms(at)),
        ended_at_ms: Set(None),
        reason: Set(reason.to_owned()),
    }
    .insert(conn)
    .await
    .map_err(steelcare_store::StoreError::from)?;
    let all = to_pauses(&store::pauses(conn, ticket_id).await?);
    recompute_running(conn, config, ticket_id, &all, true).await
}

/// Resumes paused clocks; the paused time moves every deadline later.
pub async fn resume(
    conn: &impl ConnectionTrait,
    config: &SlaConfig,
    ticket_id: &str,
    at: DateTime<Utc>,
) -> Result<(), ApiError> {
    let existing = store::pauses(conn, ticket_id).await?;
    let Some(open) = existing.iter().find(|p| p.ended_at_ms.is_none()) else {
        return Err(precondition(
            ticket_id,
            "RUNNING",
            msg!("error-clocks-not-paused"),
        ));
    };
    sla_pauses::Entity::update_many()
        .col_expr(
            sla_pauses::Column::EndedAtMs,
            Expr::value(ms(at).max(open.started_at_ms)),
        )
        .filter(sla_pauses::Column::Id.eq(open.id.clone()))
        .exec(conn)
        .await
        .map_err(steelcare_store::StoreError::from)?;
    let all = to_pauses(&store::pauses(conn, ticket_id).await?);
    recompute_running(conn, config, ticket_id, &all, false).await
}

fn precondition(ticket_id: &str, current: &str, message: Msg) -> ApiError {
    ApiError::FailedPrecondition {
        subject: format!("ticket/{ticket_id}/sla"),
        current_state: current.to_owned(),
        message,
    }
}

/// The ticket-level SLA status: the worst of the running clocks, or, when all stopped,
/// breached if any breached, else met.
pub fn ticket_status(clocks: &[sla_clocks::Model]) -> &'static str {
    let running: Vec<&str> = clocks
        .iter()
        .filter(|c| c.stopped_at_ms.is_none())
        .map(|c| c.status.as_str())
        .collect();
    let any = |s: &str, set: &[&str]| set.contains(&s);
    if running.iter().any(|s| any(s, &[status::BREACHED]))
        || (running.is_empty() && clocks.iter().any(|c| c.status == status::BREACHED))
    {
        status::BREACHED
    } else if running.iter().any(|s| any(s, &[status::AT_RISK])) {
        status::AT_RISK
    } else if running.iter().any(|s| any(s, &[status::PAUSED])) {
        status::PAUSED
    } else if running.is_empty() {
        status::MET
    } else {
        status::ON_TRACK
    }
}

/// Recomputes and stores the ticket's SLA status, and bumps its version.
pub async fn refresh_ticket(conn: &impl ConnectionTrait, ticket_id: &str) -> Result<(), ApiError> {
    let clocks = store::clocks(conn, ticket_id).await?;
    store::touch_ticket(conn, ticket_id, Some(ticket_status(&clocks))).await?;
    Ok(())
}

/// An alert the watcher fired.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// Ticket.
    pub ticket_id: String,
    /// The event to emit.
    pub payload: events::event_envelope::Payload,
}

fn clock_kind_proto(kind: &str) -> i32 {
    kind.parse::<ClockKind>().map(|k| k as i32).unwrap_or(0)
}

/// Fires every alert of `row` due at `now` with one conditional update; returns the alerts
/// fired (empty when another watcher fired them first).
pub async fn fire_due(
    conn: &impl ConnectionTrait,
    row: &sla_clocks::Model,
    now: DateTime<Utc>,
) -> Result<Vec<Alert>, ApiError> {
    let thresholds = thresholds_of(row);
    let now_ms = ms(now);
    let mut fired = usize::try_from(row.alerts_fired).unwrap_or(0);
    let mut status = row.status.clone();
    let mut breached_at = row.breached_at_ms;
    let mut alerts = Vec::new();
    let deadline = row
        .deadline_at_ms
        .map(|d| steelcare_runtime::convert::to_timestamp(from_ms(d)));
    loop {
        match next_alert(&thresholds, row.deadline_at_ms, fired) {
            Some(at) if at <= now_ms => {
                let payload = if fired < thresholds.len() {
                    status = status::AT_RISK.to_owned();
                    events::event_envelope::Payload::SlaAtRisk(events::SlaAtRisk {
                        clock: clock_kind_proto(&row.kind),
                        threshold: thresholds[fired].fraction,
                        deadline_time: deadline,
                    })
                } else {
                    status = status::BREACHED.to_owned();
                    breached_at = row.deadline_at_ms;
                    events::event_envelope::Payload::SlaBreached(events::SlaBreached {
                        clock: clock_kind_proto(&row.kind),
                        deadline_time: deadline,
                    })
                };
                alerts.push(Alert {
                    ticket_id: row.ticket_id.clone(),
                    payload,
                });
                fired += 1;
            }
            _ => break,
        }
    }
    if alerts.is_empty() {
        return Ok(alerts);
    }
    let updated = update_clock(
        conn,
        &row.ticket_id,
        &row.kind,
        sla_clocks::Entity::update_many()
            .col_expr(sla_clocks::Column::AlertsFired, Expr::value(fired as i32))
            .col_expr(
                sla_clocks::Column::NextAlertAtMs,
                Expr::value(next_alert(&thresholds, row.deadline_at_ms, fired)),
            )
            .col_expr(sla_clocks::Column::Status, Expr::value(status))
            .col_expr(sla_clocks::Column::BreachedAtMs, Expr::value(breached_at))
            .filter(sla_clocks::Column::AlertsFired.eq(row.alerts_fired))
            .filter(sla_clocks::Column::StoppedAtMs.is_null()),
    )
    .await?;
    if updated != 1 {
        return Ok(Vec::new());
    }
    Ok(alerts)
}

/// Milliseconds to a time (for views).
pub fn instant(ms: i64) -> DateTime<Utc> {
    from_ms(ms)
}
