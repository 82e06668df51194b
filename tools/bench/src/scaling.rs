//! `steelcare-bench dispatch-scaling`: whether the dispatch queue drains faster with more
//! workers in a process and with more dispatch processes (replicas) on one queue.
//!
//! One in-process server runs every service with no queue worker: it takes the tickets in,
//! and its consumers turn them into queued jobs and handle the offers' events, as the other
//! Deployments would. For each shape (replicas × workers) a backlog of `--backlog` jobs is
//! queued and every event of it handled; then `replicas` more servers of the dispatch
//! service alone start, each with `workers` queue workers, its own pools and its own cache of
//! the field, and the bench times until every job of the backlog is claimed and offered.
//! The shapes run twice, in alternating order, on one database and one queue.
//!
//! Every server shares the one process's runtime and this machine's cores, so the figures
//! say whether the queue's coordination (the claim, the technicians' row locks, the places
//! two replicas' caches both count as free) lets more replicas drain more, as far as the
//! cores allow. On two cores one worker already drains about half of pgbench's rate, so
//! the cores, not the queue, bound the larger shapes there; on a machine whose cores one
//! replica does not fill (PostgreSQL and Redis on their own), the same shapes measure how
//! the drain grows with replicas.

use std::time::{Duration, Instant};

use steelcare::ServiceSelection;
use steelcare::services::ServiceName;
use steelcare_domain::Role;
use steelcare_proto::intake::v1::intake_service_client::IntakeServiceClient;
use steelcare_runtime::Settings;

use crate::dispatch::{
    Running, offered_by, offered_count, queue_backlog, register, start, start_services,
};

/// The shapes measured: (replicas, workers per replica).
const SHAPES: [(usize, u32); 5] = [(1, 1), (2, 1), (1, 2), (1, 4), (2, 2)];

/// What to run.
#[derive(Debug, Clone)]
pub struct ScalingOptions {
    /// Technicians to register (capacity 20 each: room for every backlog of the run).
    pub technicians: usize,
    /// Jobs drained per shape and round.
    pub backlog: usize,
    /// Label printed with the figures.
    pub label: String,
}

/// Runs the scaling benchmark and prints one line per drain, then the ratios.
pub async fn scaling(settings: Settings, options: ScalingOptions) -> Result<(), String> {
    if settings.redis.url.is_none() {
        return Err("dispatch-scaling needs Redis: replicas share its queue".to_owned());
    }
    let places = options.technicians * 20;
    let wanted = options.backlog * SHAPES.len() * 2;
    if wanted > places {
        return Err(format!(
            "{wanted} jobs need more than the {places} places of {} technicians",
            options.technicians
        ));
    }
    let (_, token) = crate::intake::bench_token(&settings, &[Role::Agent, Role::Dispatcher])?;
    let rest = start(&settings, 0).await?;
    let channel = rest.channel().await?;
    register(&channel, &token, options.technicians).await?;
    let project_id =
        crate::intake::prepare(&mut IntakeServiceClient::new(channel.clone()), &token).await?;
    let backlog = Backlog {
        rest: &rest,
        channel,
        token,
        project_id,
        jobs: options.backlog,
    };
    let mut rates: Vec<((usize, u32), f64)> = Vec::new();
    let rounds = [SHAPES.to_vec(), SHAPES.iter().rev().copied().collect()];
    for shape in rounds.concat() {
        backlog.queue().await?;
        let drained = drain(&settings, &rest, shape, options.backlog).await?;
        println!(
            "dispatch_scaling backend={} replicas={} workers={} jobs={} claimed_and_offered_per_sec={:.1} with_start_per_sec={:.1}",
            options.label,
            shape.0,
            shape.1,
            options.backlog,
            drained.from_first_offer,
            drained.with_start
        );
        rates.push((shape, drained.from_first_offer));
    }
    rest.stop().await;
    print_ratios(&options.label, &rates);
    Ok(())
}

/// Queues backlogs through the server of every service.
struct Backlog<'a> {
    rest: &'a Running,
    channel: tonic::transport::Channel,
    token: String,
    project_id: String,
    jobs: usize,
}

impl Backlog<'_> {
    /// Creates the tickets of one backlog and waits until their jobs are queued and every
    /// event of them is handled, then takes planner statistics (as the drain phase does).
    async fn queue(&self) -> Result<(), String> {
        let before = offered_count(&self.rest.db).await? as usize;
        queue_backlog(
            self.rest,
            &self.channel,
            &self.token,
            &self.project_id,
            self.jobs,
        )
        .await?;
        if offered_count(&self.rest.db).await? as usize != before {
            return Err("a job was offered with no worker running".to_owned());
        }
        Ok(())
    }
}

/// How fast one backlog drained: over the whole window, the replicas' start included, and
/// from the first offer on (the queue's own rate).
struct Drained {
    with_start: f64,
    from_first_offer: f64,
}

/// Starts `replicas` servers of the dispatch service with `workers` each and times until the
/// backlog is offered.
async fn drain(
    settings: &Settings,
    rest: &Running,
    (replicas, workers): (usize, u32),
    jobs: usize,
) -> Result<Drained, String> {
    let target = offered_count(&rest.db).await? as usize + jobs;
    let dispatch_only: ServiceSelection = ServiceName::Dispatch
        .as_str()
        .parse()
        .map_err(|err: steelcare::services::SelectionError| err.to_string())?;
    let started_ms = chrono::Utc::now().timestamp_millis();
    let t = Instant::now();
    let mut running = Vec::with_capacity(replicas);
    for _ in 0..replicas {
        running.push(start_services(settings, workers, dispatch_only.clone()).await?);
    }
    offered_by(&rest.db, target, Duration::from_millis(10)).await?;
    let secs = t.elapsed().as_secs_f64();
    let done_ms = chrono::Utc::now().timestamp_millis();
    for replica in running {
        replica.stop().await;
    }
    let first_ms = first_offer_since(&rest.db, started_ms).await?;
    Ok(Drained {
        with_start: jobs as f64 / secs,
        from_first_offer: jobs as f64 / ((done_ms - first_ms).max(1) as f64 / 1000.0),
    })
}

/// When the first offer made at or after `since_ms` was made (the server's clock, this
/// machine's).
async fn first_offer_since(db: &steelcare_store::Database, since_ms: i64) -> Result<i64, String> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
    use steelcare_store::entity::assignment_offers::{Column, Entity};
    let first: Option<Option<i64>> = Entity::find()
        .select_only()
        .column_as(Column::OfferedAtMs.min(), "first")
        .filter(Column::OfferedAtMs.gte(since_ms))
        .into_tuple()
        .one(db)
        .await
        .map_err(|err| err.to_string())?;
    Ok(first.flatten().unwrap_or(since_ms))
}

/// Each shape's mean rate over its rounds against one replica with one worker.
fn print_ratios(label: &str, rates: &[((usize, u32), f64)]) {
    let mean = |shape: (usize, u32)| {
        let of: Vec<f64> = (rates.iter())
            .filter(|(s, _)| *s == shape)
            .map(|(_, r)| *r)
            .collect();
        of.iter().sum::<f64>() / of.len().max(1) as f64
    };
    let one = mean((1, 1));
    for shape in SHAPES {
        println!(
            "dispatch_scaling_ratio backend={label} replicas={} workers={} per_sec={:.1} against_one_replica_one_worker={:.2}",
            shape.0,
            shape.1,
            mean(shape),
            mean(shape) / one
        );
    }
}
