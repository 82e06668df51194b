//! `steelcare bench dispatch`: the dispatch queue under load, against an in-process server on
//! the configured database and bus.
//!
//! 1. Registers `--technicians` technicians over gRPC (all in the site's region, every skill,
//!    capacity 20, room with 1,000 technicians for 10 s at 1,000/s after a backlog of 4,000) and
//!    times matching: one job against them through the database, and the
//!    ranking alone against 10,000 in memory.
//! 2. Backlog: with the queue workers off, creates `--backlog` tickets; then starts a server
//!    with workers and times until every job is claimed and offered (queue throughput).
//! 3. Steady rate: creates tickets at `--rate` per second for `--duration` and reports
//!    ticket-created → offer-made latency from the server's own timestamps, per tier, and
//!    how it splits before the queue (ticket → assignment) and in it (assignment → offer).

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use std::sync::Arc;
use steelcare_bus::Bus;
use steelcare_dispatch::DispatchConfig;

use steelcare_dispatch::matching::{self, Job, Profile};
use steelcare_dispatch::records::{DutyStatus, Site};
use steelcare_dispatch::store::Slot;
use steelcare_domain::dispatch::{Certificate, Point, Skill};
use steelcare_domain::{ProblemCategory, Role};
use steelcare_proto::common::v1 as common;
use steelcare_proto::dispatch::v1 as pb;
use steelcare_proto::dispatch::v1::dispatch_service_client::DispatchServiceClient;
use steelcare_proto::intake::v1::intake_service_client::IntakeServiceClient;
use steelcare_runtime::Settings;
use steelcare_runtime::validate::Address;
use steelcare_store::Database;
use steelcare_store::entity::{assignment_offers, assignments, tickets};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::Channel;

use crate::intake::{analyze, authed, caught_up, percentile, prepare, ticket};
use steelcare::ServiceSelection;
use steelcare::{Application, StartupError};

/// What to run.
#[derive(Debug, Clone)]
pub struct DispatchBenchOptions {
    /// Technicians to register.
    pub technicians: usize,
    /// Tickets in the backlog phase.
    pub backlog: usize,
    /// Tickets per second in the steady phase.
    pub rate: u32,
    /// How long the steady phase runs.
    pub duration: Duration,
    /// Label printed with the figures.
    pub label: String,
    /// The services the in-process server runs (intake and dispatch among them).
    pub services: ServiceSelection,
}

/// The site every bench ticket is at (the bench project's position).
pub const SITE: (f64, f64) = (31.30, 120.60);

pub(crate) struct Running {
    address: String,
    pub(crate) db: Database,
    pub(crate) bus: Bus,
    stop: oneshot::Sender<()>,
    handle: JoinHandle<Result<(), StartupError>>,
}

pub(crate) async fn start(settings: &Settings, workers: u32) -> Result<Running, String> {
    start_services(settings, workers, ServiceSelection::all()).await
}

/// Starts an in-process server of `services` with `workers` queue workers.
pub(crate) async fn start_services(
    settings: &Settings,
    workers: u32,
    services: ServiceSelection,
) -> Result<Running, String> {
    let mut settings = settings.clone();
    settings.server.listen = "127.0.0.1:0"
        .parse()
        .map_err(|_| "bad listen address".to_owned())?;
    settings.database.migrate_on_start = true;
    settings.dispatch.workers = workers;
    let app = Application::build(settings, services)
        .await
        .map_err(|err| err.to_string())?;
    let address = format!("http://{}", app.local_addr());
    let db = app.db().clone();
    let bus = app.bus().clone();
    let (stop, stopped) = oneshot::channel::<()>();
    let handle = tokio::spawn(app.run_until_stopped(async move {
        let _ = stopped.await;
    }));
    Ok(Running {
        address,
        db,
        bus,
        stop,
        handle,
    })
}

impl Running {
    pub(crate) async fn channel(&self) -> Result<Channel, String> {
        Channel::from_shared(self.address.clone())
            .map_err(|err| err.to_string())?
            .connect()
            .await
            .map_err(|err| format!("cannot connect to {}: {err}", self.address))
    }

    pub(crate) async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.handle.await;
    }
}

pub(crate) fn technician(n: usize) -> pb::Technician {
    // Spread bases over about ±0.5° around the site, deterministically.
    let spread = |k: usize| ((k * 7919) % 1000) as f64 / 1000.0 - 0.5;
    pb::Technician {
        technician_id: format!("bench-tech-{n:05}"),
        person: Some(common::PersonRef {
            display_name: format!("Technician {n}"),
            phone: "13800000000".into(),
            ..Default::default()
        }),
        team: format!("team-{}", n % 20),
        regions: vec!["Suzhou".into(), format!("district-{}", n % 10)],
        base_location: Some(common::GeoPoint {
            latitude: SITE.0 + spread(n),
            longitude: SITE.1 + spread(n + 1),
        }),
        skills: Skill::ALL.iter().map(|s| s.proto_value()).collect(),
        certificates: ["welder", "work_at_height"]
            .iter()
            .map(|kind| pb::Certificate {
                kind: (*kind).into(),
                number: format!("{kind}-{n}"),
                issuer: String::new(),
                valid_until: Some(common::Date {
                    year: 2030,
                    month: 12,
                    day: 31,
                }),
            })
            .collect(),
        calendar: "round_the_clock".into(),
        capacity: 20,
        ..Default::default()
    }
}

/// Runs `call(n)` for every `n < count`, 16 at a time.
async fn in_lanes<F, Fut>(count: usize, call: F) -> Result<(), String>
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Result<(), String>> + Send,
{
    const LANES: usize = 16;
    let mut tasks = Vec::new();
    for lane in 0..LANES {
        let call = call.clone();
        tasks.push(tokio::spawn(async move {
            let mut n = lane;
            while n < count {
                call(n).await?;
                n += LANES;
            }
            Ok::<(), String>(())
        }));
    }
    for task in tasks {
        task.await.map_err(|err| err.to_string())??;
    }
    Ok(())
}

pub(crate) async fn register(channel: &Channel, token: &str, count: usize) -> Result<(), String> {
    let client = DispatchServiceClient::new(channel.clone());
    let token = token.to_owned();
    in_lanes(count, move |n| {
        let mut client = client.clone();
        let request = authed(
            pb::UpsertTechnicianRequest {
                technician: Some(technician(n)),
                update_mask: None,
            },
            &token,
        );
        async move {
            client
                .upsert_technician(request?)
                .await
                .map(|_| ())
                .map_err(|s| format!("register technician: {}", s.message()))
        }
    })
    .await
}

fn bench_job() -> Job {
    Job {
        category: ProblemCategory::StructuralSafety,
        site: Site {
            address: Address {
                province: "Jiangsu".into(),
                city: "Suzhou".into(),
                latitude: Some(SITE.0),
                longitude: Some(SITE.1),
                ..Default::default()
            },
        },
        deadline: Some(chrono::Utc::now() + chrono::TimeDelta::hours(24)),
        excluded: Vec::new(),
    }
}

/// Matching alone (qualification and ranking) over `n` technicians held in memory, as the
/// queue workers do once profiles are cached; returns the median per job.
fn match_in_memory(config: &DispatchConfig, n: usize) -> Duration {
    let now = chrono::Utc::now();
    let field: Vec<matching::Member> = (0..n)
        .map(|i| {
            let t = technician(i);
            let base = t.base_location.unwrap_or_default();
            let profile = Profile {
                id: t.technician_id.clone(),
                version: 1,
                status: DutyStatus::OnDuty,
                skills: Skill::ALL.to_vec(),
                certificates: vec![Certificate {
                    kind: "work_at_height".into(),
                    number: format!("w-{i}"),
                    issuer: String::new(),
                    valid_until: chrono::NaiveDate::from_ymd_opt(2030, 12, 31).unwrap_or_default(),
                }],
                leave: Vec::new(),
                round_the_clock: true,
                base: Some(Point {
                    latitude: base.latitude,
                    longitude: base.longitude,
                }),
                first_time_rate: (i % 3 == 0).then_some(0.8),
            };
            let slot = Slot {
                id: t.technician_id,
                version: 1,
                booked: (i % 4) as i32,
                offered: (i % 2) as i32,
                capacity: 10,
            };
            (Arc::new(profile), slot)
        })
        .collect();
    let job = bench_job();
    let mut times = Vec::new();
    for _ in 0..21 {
        let t = Instant::now();
        let ranked = matching::rank_candidates(config, &job, &field, now, matching::SHORT_LIST);
        times.push(t.elapsed());
        std::hint::black_box(ranked);
    }
    times.sort();
    percentile(&times, 0.5)
}

async fn create_tickets(
    channel: &Channel,
    token: &str,
    project_id: &str,
    count: usize,
) -> Result<(), String> {
    let client = IntakeServiceClient::new(channel.clone());
    let token = token.to_owned();
    let project_id = project_id.to_owned();
    in_lanes(count, move |n| {
        let mut client = client.clone();
        let request = authed(ticket(&project_id, n), &token);
        async move {
            client
                .create_ticket(request?)
                .await
                .map(|_| ())
                .map_err(|s| format!("create ticket: {}", s.message()))
        }
    })
    .await
}

/// Creates `jobs` tickets through `running` (whose queue workers are off) and waits until
/// their jobs are queued and every event of them is handled (published, and read and
/// acknowledged by every consumer group), so that a drain measures the queue and what its
/// offers cause, not the rest of the process catching up on the backlog's tickets; then takes
/// planner statistics for tables filled seconds ago, as the intake bench does (otherwise
/// autovacuum's first ANALYZE comes before the drain in one run and during it in the next).
pub(crate) async fn queue_backlog(
    running: &Running,
    channel: &Channel,
    token: &str,
    project_id: &str,
    jobs: usize,
) -> Result<(), String> {
    create_tickets(channel, token, project_id, jobs).await?;
    let queued_by = Instant::now() + Duration::from_secs(120);
    while (running
        .bus
        .queue
        .len(steelcare_dispatch::engine::QUEUE)
        .await)
        .map_err(|e| e.to_string())?
        < jobs as u64
    {
        if Instant::now() > queued_by {
            return Err("the backlog never reached the queue".to_owned());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    caught_up(&running.db, &running.bus).await?;
    analyze(&running.db).await
}

/// Waits, looking every `poll`, until `db` holds at least `target` offers (5 minutes at most).
pub(crate) async fn offered_by(db: &Database, target: usize, poll: Duration) -> Result<(), String> {
    let drained_by = Instant::now() + Duration::from_secs(300);
    while (offered_count(db).await? as usize) < target {
        if Instant::now() > drained_by {
            return Err("the backlog was not drained in 5 minutes".to_owned());
        }
        tokio::time::sleep(poll).await;
    }
    Ok(())
}

pub(crate) async fn offered_count(db: &Database) -> Result<u64, String> {
    assignment_offers::Entity::find()
        .count(db)
        .await
        .map_err(|err| err.to_string())
}

/// Where a tier's tickets waited, one list each, sorted.
#[derive(Default)]
struct Waits {
    /// Ticket created → first offer made.
    to_offer: Vec<Duration>,
    /// Ticket created → its assignment created (the stream and the dispatch consumer: before
    /// the queue, first come, first served).
    to_assignment: Vec<Duration>,
    /// Assignment created → first offer (the queue, earliest deadline first, and matching).
    in_queue: Vec<Duration>,
}

impl Waits {
    fn add(&mut self, to_offer: i64, to_assignment: i64) {
        let micros = |t: i64| Duration::from_micros(t.max(0) as u64);
        self.to_offer.push(micros(to_offer));
        self.to_assignment.push(micros(to_assignment));
        self.in_queue.push(micros(to_offer - to_assignment));
    }
}

/// Ticket-created → first-offer latencies of `ticket_ids` by tier ("all" for every ticket),
/// and how they split before the queue and in it, from the server's timestamps; also how many
/// got no offer. A ticket without an offer (or an assignment) counts with the time from its
/// creation to `now` (the end of the run): leaving it out would make the percentiles of an
/// overloaded queue look better the worse it is; counted so, they are a lower bound.
async fn offer_latencies(
    db: &Database,
    ticket_ids: &[String],
) -> Result<(BTreeMap<String, Waits>, usize), String> {
    let now = chrono::Utc::now().timestamp_micros();
    let mut waits: BTreeMap<String, Waits> = BTreeMap::new();
    let mut missing = 0;
    for chunk in ticket_ids.chunks(500) {
        let created: HashMap<String, i64> = tickets::Entity::find()
            .filter(tickets::Column::Id.is_in(chunk.iter().cloned()))
            .all(db)
            .await
            .map_err(|err| err.to_string())?
            .into_iter()
            .map(|t| (t.id, t.created_at.timestamp_micros()))
            .collect();
        let rows = assignments::Entity::find()
            .filter(assignments::Column::TicketId.is_in(chunk.iter().cloned()))
            .all(db)
            .await
            .map_err(|err| err.to_string())?;
        let first_offer: HashMap<String, i64> = assignment_offers::Entity::find()
            .filter(assignment_offers::Column::Seq.eq(1))
            .filter(
                assignment_offers::Column::AssignmentId.is_in(rows.iter().map(|r| r.id.clone())),
            )
            .all(db)
            .await
            .map_err(|err| err.to_string())?
            .into_iter()
            .map(|o| (o.assignment_id, o.offered_at_ms * 1000))
            .collect();
        let by_ticket: HashMap<&str, &assignments::Model> =
            rows.iter().map(|r| (r.ticket_id.as_str(), r)).collect();
        for id in chunk {
            let Some(c) = created.get(id) else {
                missing += 1;
                continue;
            };
            let assignment = by_ticket.get(id.as_str());
            let assigned = assignment.map_or(now, |a| a.created_at.timestamp_micros());
            let offered = assignment.and_then(|a| first_offer.get(&a.id)).copied();
            if offered.is_none() {
                missing += 1;
            }
            let tier = assignment.map_or("none", |a| a.tier.as_str());
            let (to_offer, to_assignment) = (offered.unwrap_or(now) - c, assigned - c);
            waits
                .entry("all".to_owned())
                .or_default()
                .add(to_offer, to_assignment);
            waits
                .entry(tier.to_owned())
                .or_default()
                .add(to_offer, to_assignment);
        }
    }
    for tier in waits.values_mut() {
        tier.to_offer.sort();
        tier.to_assignment.sort();
        tier.in_queue.sort();
    }
    Ok((waits, missing))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Runs the dispatch benchmark and prints its figures, one line each.
pub async fn dispatch(settings: Settings, options: DispatchBenchOptions) -> Result<(), String> {
    let (_, token) = crate::intake::bench_token(&settings, &[Role::Agent, Role::Dispatcher])?;
    let label = &options.label;
    let config = DispatchConfig {
        settings: settings.dispatch.clone(),
        calendar: settings.intake.calendar.clone(),
    };

    // 1. The team, and matching.
    let quiet = start_services(&settings, 0, options.services.clone()).await?;
    let channel = quiet.channel().await?;
    let t = Instant::now();
    register(&channel, &token, options.technicians).await?;
    println!(
        "dispatch_register backend={label} technicians={} secs={:.1}",
        options.technicians,
        t.elapsed().as_secs_f64()
    );
    let directory = matching::Directory::default();
    let regions = bench_job().site.region_keys();
    for (fresh, what) in [(true, "field read each job"), (false, "field cached")] {
        let mut times = Vec::new();
        for _ in 0..21 {
            if fresh {
                directory.forget(&regions);
            }
            let t = Instant::now();
            let ranked = matching::find(
                &quiet.db,
                &config,
                &directory,
                &bench_job(),
                chrono::Utc::now(),
            )
            .await
            .map_err(|err| err.to_string())?;
            times.push(t.elapsed());
            std::hint::black_box(ranked);
        }
        times.sort();
        println!(
            "dispatch_match_db backend={label} technicians={} p50_ms={:.2} ({what}; profiles cached)",
            options.technicians,
            ms(percentile(&times, 0.5))
        );
    }
    println!(
        "dispatch_match_ranking technicians=10000 per_job_ms={:.2}",
        ms(match_in_memory(&config, 10_000))
    );

    // 2. A backlog, then workers drain it.
    let mut intake = IntakeServiceClient::new(channel.clone());
    let project_id = prepare(&mut intake, &token).await?;
    queue_backlog(&quiet, &channel, &token, &project_id, options.backlog).await?;
    quiet.stop().await;
    let workers = settings.dispatch.workers.max(1);
    let busy = start_services(&settings, workers, options.services.clone()).await?;
    let t = Instant::now();
    offered_by(&busy.db, options.backlog, Duration::from_millis(20)).await?;
    let drain = t.elapsed();
    println!(
        "dispatch_queue backend={label} workers={} jobs={} secs={:.2} claimed_and_offered_per_sec={:.1}",
        workers,
        options.backlog,
        drain.as_secs_f64(),
        options.backlog as f64 / drain.as_secs_f64()
    );

    // 3. A steady rate.
    let channel = busy.channel().await?;
    let period = Duration::from_secs_f64(1.0 / f64::from(options.rate.max(1)));
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let until = Instant::now() + options.duration;
    let mut calls = Vec::new();
    let mut n = options.backlog;
    while Instant::now() < until {
        tick.tick().await;
        let mut client = IntakeServiceClient::new(channel.clone());
        let request = authed(ticket(&project_id, n), &token)?;
        n += 1;
        calls.push(tokio::spawn(async move {
            client
                .create_ticket(request)
                .await
                .ok()
                .and_then(|r| r.into_inner().ticket)
                .map(|t| t.ticket_id)
        }));
    }
    let mut ids = Vec::new();
    let mut failed = 0;
    for call in calls {
        match call.await.ok().flatten() {
            Some(id) => ids.push(id),
            None => failed += 1,
        }
    }
    let settle = Instant::now() + Duration::from_secs(10);
    let target = options.backlog + ids.len();
    while (offered_count(&busy.db).await? as usize) < target && Instant::now() < settle {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (by_tier, missing) = offer_latencies(&busy.db, &ids).await?;
    println!(
        "dispatch_ticket_to_offer backend={label} rate={} tickets={} failed={} without_offer={missing}{}",
        options.rate,
        ids.len(),
        failed,
        if missing > 0 {
            " (each counted until the run's end: the percentiles below are a lower bound)"
        } else {
            ""
        },
    );
    // Earliest deadline first: under load the urgent tiers are served before the others.
    for (tier, waits) in &by_tier {
        let latencies = &waits.to_offer;
        println!(
            "dispatch_ticket_to_offer backend={label} tier={tier} tickets={} p50_ms={:.1} p99_ms={:.1} max_ms={:.1}",
            latencies.len(),
            ms(percentile(latencies, 0.5)),
            ms(percentile(latencies, 0.99)),
            ms(latencies.last().copied().unwrap_or_default()),
        );
    }
    // Where they waited: before the queue (the stream and the consumer, first come, first
    // served) and in it (earliest deadline first).
    for (tier, waits) in &by_tier {
        println!(
            "dispatch_wait backend={label} tier={tier} to_assignment_p50_ms={:.1} to_assignment_p99_ms={:.1} in_queue_p50_ms={:.1} in_queue_p99_ms={:.1}",
            ms(percentile(&waits.to_assignment, 0.5)),
            ms(percentile(&waits.to_assignment, 0.99)),
            ms(percentile(&waits.in_queue, 0.5)),
            ms(percentile(&waits.in_queue, 0.99)),
        );
    }
    busy.stop().await;
    Ok(())
}
