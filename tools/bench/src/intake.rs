//! `steelcare bench intake`: a load generator that creates tickets over gRPC at several
//! concurrency levels and prints throughput and latency percentiles, against an in-process
//! server on the configured database (or a fresh SQLite file), or against `--target`. In
//! process it also waits after each level until every event the level caused is handled by
//! every consumer group, and prints how long that took and the rate counting it
//! (`sustained_tps`): a process whose consumers fall behind takes tickets in faster than it
//! can keep up with.

use std::time::{Duration, Instant};

use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use steelcare_bus::{Bus, EVENTS_STREAM};
use steelcare_domain::Role;
use steelcare_proto::common::v1 as common;
use steelcare_proto::intake::v1 as pb;
use steelcare_proto::intake::v1::intake_service_client::IntakeServiceClient;
use steelcare_runtime::{Authenticator, Settings};
use steelcare_store::Database;
use steelcare_store::entity::outbox;
use tonic::transport::Channel;

use steelcare::Application;
use steelcare::ServiceSelection;

/// What to run.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Concurrency levels.
    pub clients: Vec<usize>,
    /// How long each level runs.
    pub duration: Duration,
    /// A running server to load instead of an in-process one.
    pub target: Option<String>,
    /// Label printed with the figures (e.g. sqlite, postgres).
    pub label: String,
    /// The services the in-process server runs.
    pub service: ServiceSelection,
}

/// One level's figures.
#[derive(Debug, Clone)]
pub struct LevelResult {
    /// Concurrent clients.
    pub clients: usize,
    /// Tickets created.
    pub created: usize,
    /// Failed calls.
    pub errors: usize,
    /// Tickets per second.
    pub throughput: f64,
    /// Median latency.
    pub p50: Duration,
    /// 99th percentile latency.
    pub p99: Duration,
    /// How long the level ran.
    pub elapsed: Duration,
    /// How long after the level every event it caused was handled by every consumer group of
    /// the in-process server (none against `--target`).
    pub caught_up: Option<Duration>,
}

impl LevelResult {
    /// Tickets per second counting the time the consumers took to catch up: what the process
    /// can keep up with, not only take in.
    pub fn sustained(&self) -> f64 {
        let took = self.elapsed + self.caught_up.unwrap_or_default();
        self.created as f64 / took.as_secs_f64()
    }
}

pub(crate) fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// The configured authenticator, and an hour's token of `roles` for the load generator.
pub(crate) fn bench_token(
    settings: &Settings,
    roles: &[Role],
) -> Result<(Authenticator, String), String> {
    let (auth, _) =
        Authenticator::from_settings(&settings.auth, settings.is_embedded(), &settings.data_dir)
            .map_err(|err| err.to_string())?;
    let token = auth
        .issue("bench", roles, None, std::time::Duration::from_secs(3600))
        .map_err(|err| err.to_string())?;
    Ok((auth, token))
}

pub(crate) fn authed<T>(message: T, token: &str) -> Result<tonic::Request<T>, String> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {token}")
            .parse()
            .map_err(|_| "token is not a valid header".to_owned())?,
    );
    Ok(request)
}

pub(crate) async fn prepare(
    client: &mut IntakeServiceClient<Channel>,
    token: &str,
) -> Result<String, String> {
    let customer = client
        .create_customer(authed(
            pb::CreateCustomerRequest {
                request_id: String::new(),
                organization_name: "Bench Logistics".into(),
                contacts: vec![common::PersonRef {
                    display_name: "Bench".into(),
                    phone: "13800000000".into(),
                    ..Default::default()
                }],
            },
            token,
        )?)
        .await
        .map_err(|s| format!("create customer: {}", s.message()))?
        .into_inner()
        .customer
        .ok_or("no customer returned")?;
    let project = client
        .register_project(authed(
            pb::RegisterProjectRequest {
                customer_id: customer.customer_id,
                name: "Bench warehouse".into(),
                address: Some(common::Address {
                    city: "Suzhou".into(),
                    position: Some(common::GeoPoint {
                        latitude: crate::dispatch::SITE.0,
                        longitude: crate::dispatch::SITE.1,
                    }),
                    ..Default::default()
                }),
                contract_number: format!("BENCH-{}", uuid_like()),
                structure_type: pb::StructureType::PortalFrame as i32,
                completion_acceptance_date: Some(common::Date {
                    year: 2024,
                    month: 5,
                    day: 10,
                }),
                ..Default::default()
            },
            token,
        )?)
        .await
        .map_err(|s| format!("register project: {}", s.message()))?
        .into_inner()
        .project
        .ok_or("no project returned")?;
    Ok(project.project_id)
}

fn uuid_like() -> String {
    format!("{:x}", rand_seed())
}

fn rand_seed() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default()
}

pub(crate) fn ticket(project_id: &str, n: usize) -> pb::CreateTicketRequest {
    const PHENOMENA: [&str; 4] = [
        "屋面接缝处漏水",
        "钢梁下翼缘出现裂缝",
        "高强螺栓松动",
        "柱脚涂层脱落",
    ];
    pb::CreateTicketRequest {
        // Every sane client sends one (the console does): the lookup is part of the cost.
        request_id: uuid::Uuid::new_v4().to_string(),
        channel: pb::Channel::App as i32,
        project_id: project_id.to_owned(),
        reporter: Some(common::PersonRef {
            display_name: "Bench reporter".into(),
            phone: "13800000000".into(),
            ..Default::default()
        }),
        location: Some(pb::StructureLocation {
            description: format!("bay {}", n % 40),
            ..Default::default()
        }),
        description: Some(pb::ProblemDescription {
            phenomenon: PHENOMENA[n % PHENOMENA.len()].to_owned(),
            ..Default::default()
        }),
        customer_request: "repair".into(),
        related_case_id: String::new(),
    }
}

/// One level: `clients` clients, each on its own connection (as pgbench's clients are),
/// creating tickets back to back for `duration`.
async fn level(
    address: &str,
    token: &str,
    project_id: &str,
    clients: usize,
    duration: Duration,
) -> Result<LevelResult, String> {
    let mut channels = Vec::with_capacity(clients);
    for _ in 0..clients {
        channels.push(connect(address).await?);
    }
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::with_capacity(clients);
    for (worker, channel) in channels.into_iter().enumerate() {
        let mut client = IntakeServiceClient::new(channel);
        let token = token.to_owned();
        let project_id = project_id.to_owned();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0;
            let mut n = worker;
            while Instant::now() < deadline {
                let Ok(request) = authed(ticket(&project_id, n), &token) else {
                    errors += 1;
                    break;
                };
                let t = Instant::now();
                match client.create_ticket(request).await {
                    Ok(_) => latencies.push(t.elapsed()),
                    Err(_) => errors += 1,
                }
                n += clients;
            }
            (latencies, errors)
        }));
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    for task in tasks {
        if let Ok((l, e)) = task.await {
            latencies.extend(l);
            errors += e;
        }
    }
    let elapsed = started.elapsed();
    latencies.sort();
    Ok(LevelResult {
        clients,
        created: latencies.len(),
        errors,
        throughput: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: percentile(&latencies, 0.50),
        p99: percentile(&latencies, 0.99),
        elapsed,
        caught_up: None,
    })
}

async fn connect(address: &str) -> Result<Channel, String> {
    Channel::from_shared(address.to_owned())
        .map_err(|err| err.to_string())?
        .connect()
        .await
        .map_err(|err| format!("cannot connect to {address}: {err}"))
}

/// Waits until every event committed is published and every consumer group has handled it
/// (5 minutes at most); answers how long that took.
pub(crate) async fn caught_up(db: &Database, bus: &Bus) -> Result<Duration, String> {
    let started = Instant::now();
    let by = started + Duration::from_secs(300);
    loop {
        let unpublished = outbox::Entity::find()
            .filter(outbox::Column::PublishedAt.is_null())
            .count(db)
            .await
            .map_err(|err| err.to_string())?;
        let behind: u64 = (bus.events.group_lags(EVENTS_STREAM).await)
            .map_err(|err| err.to_string())?
            .iter()
            .map(|g| g.pending + g.lag)
            .sum();
        if unpublished == 0 && behind == 0 {
            return Ok(started.elapsed());
        }
        if Instant::now() > by {
            return Err(format!(
                "the consumers never caught up: {unpublished} unpublished, {behind} behind"
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Gives PostgreSQL's planner the statistics autovacuum keeps in any database that has run
/// for a minute. A database created seconds ago and filled at thousands of rows a second has
/// none: the planner then takes a lookup of a hundred ids (the facts worker's) to match half
/// a table and reads all of it, which is not the deployment the benchmark stands for.
pub(crate) async fn analyze(db: &Database) -> Result<(), String> {
    use sea_orm::ConnectionTrait;
    if db.get_database_backend() == sea_orm::DbBackend::Postgres {
        db.execute_unprepared("ANALYZE")
            .await
            .map_err(|err| format!("ANALYZE failed: {err}"))?;
    }
    Ok(())
}

/// Runs the intake benchmark and prints one line per level.
pub async fn intake(settings: Settings, options: BenchOptions) -> Result<Vec<LevelResult>, String> {
    let (auth, _) =
        Authenticator::from_settings(&settings.auth, settings.is_embedded(), &settings.data_dir)
            .map_err(|err| err.to_string())?;
    let mut server = None;
    let mut running = None;
    let address = match &options.target {
        Some(target) => target.clone(),
        None => {
            let mut settings = settings.clone();
            settings.server.listen = "127.0.0.1:0"
                .parse()
                .map_err(|_| "bad listen address".to_owned())?;
            settings.database.migrate_on_start = true;
            let app = Application::build(settings, options.service.clone())
                .await
                .map_err(|err| err.to_string())?;
            let address = format!("http://{}", app.local_addr());
            running = Some((app.db().clone(), app.bus().clone()));
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            let handle = tokio::spawn(app.run_until_stopped(async move {
                let _ = stopped.await;
            }));
            server = Some((stop, handle));
            address
        }
    };
    let token = auth
        .issue("bench", &[Role::Agent], None, Duration::from_secs(3600))
        .map_err(|err| err.to_string())?;
    let mut client = IntakeServiceClient::new(connect(&address).await?);
    let project_id = prepare(&mut client, &token).await?;
    // Warm up connections and caches.
    level(&address, &token, &project_id, 4, Duration::from_millis(500)).await?;
    if let Some((db, bus)) = &running {
        caught_up(db, bus).await?;
        analyze(db).await?;
    }
    let mut results = Vec::new();
    for &clients in &options.clients {
        let mut r = level(&address, &token, &project_id, clients, options.duration).await?;
        if let Some((db, bus)) = &running {
            r.caught_up = Some(caught_up(db, bus).await?);
        }
        println!(
            "intake_create backend={} clients={} tickets={} errors={} tps={:.1} p50_ms={:.2} p99_ms={:.2} caught_up_s={:.1} sustained_tps={:.1}",
            options.label,
            r.clients,
            r.created,
            r.errors,
            r.throughput,
            r.p50.as_secs_f64() * 1000.0,
            r.p99.as_secs_f64() * 1000.0,
            r.caught_up.unwrap_or_default().as_secs_f64(),
            r.sustained(),
        );
        results.push(r);
    }
    if let Some((stop, handle)) = server {
        let _ = stop.send(());
        let _ = handle.await;
    }
    Ok(results)
}

/// Judges `measurements` mixed measurements (every kind of the tolerance table, coating as 5
/// spots of 3 readings, the others 10 readings each) `rounds` times and prints the median
/// round's time per measurement.
pub fn judge(measurements: usize, rounds: usize) {
    use steelcare_domain::tolerance::{Quantity, Rule, Storey, ToleranceTable};
    let table = ToleranceTable::shipped();
    let kinds = [
        Quantity::CoatingDryFilm {
            indoor: false,
            design_um: None,
            coats: 5,
            one_coat: false,
        },
        Quantity::BoltFinalTorque {
            target_nm: 500.0,
            hours_after_tightening: Some(4.0),
        },
        Quantity::TwistOffSplines { bolts_in_node: 24 },
        Quantity::OverallVerticality {
            height_mm: 12_000.0,
            storey: Storey::Single,
        },
        Quantity::ColumnVerticality { height_mm: 6_000.0 },
        Quantity::MidSpanVerticality { height_mm: 1_800.0 },
        Quantity::LateralBending { span_mm: 36_000.0 },
        Quantity::SpaceFrameDeflection { design_mm: 40.0 },
        Quantity::Other {
            nominal: 0.0,
            lower: Some(-3.0),
            upper: Some(3.0),
            rule: Rule::General,
        },
    ];
    // Deterministic readings around each kind's nominal value.
    let work: Vec<(Quantity, Vec<f64>)> = (0..measurements)
        .map(|i| {
            let q = kinds[i % kinds.len()].clone();
            let (n, base, spread) = match &q {
                Quantity::CoatingDryFilm { .. } => (15, 150.0, 80.0),
                Quantity::BoltFinalTorque { .. } => (10, 500.0, 110.0),
                Quantity::TwistOffSplines { .. } => (10, 0.0, 0.0),
                Quantity::SpaceFrameDeflection { .. } => (10, 40.0, 8.0),
                _ => (10, 0.0, 14.0),
            };
            let readings = (0..n)
                .map(|k| {
                    let wobble = (((i * 31 + k * 17) % 101) as f64 / 100.0) - 0.5;
                    base + spread * wobble
                })
                .collect();
            (q, readings)
        })
        .collect();
    let mut times = Vec::with_capacity(rounds);
    let mut passed = 0;
    for _ in 0..rounds {
        let started = std::time::Instant::now();
        passed = 0;
        for (q, readings) in &work {
            if table.judge(q, readings).is_ok_and(|j| j.passed) {
                passed += 1;
            }
        }
        times.push(started.elapsed());
    }
    times.sort();
    let median = times[times.len() / 2];
    println!(
        "judge: {measurements} measurements in {:.2} ms (median of {rounds} rounds), {:.2} µs each; {passed} passed",
        median.as_secs_f64() * 1e3,
        median.as_secs_f64() * 1e6 / measurements as f64
    );
}
