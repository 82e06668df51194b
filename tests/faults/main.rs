//! The fault suite: real `steelcare` processes, two per service (intake and dispatch) and one
//! notify, on a PostgreSQL cluster and a Redis server that the suite starts itself on other
//! ports, under a steady load of site-visit calls while it kills, restarts and flushes things:
//!
//! 1. baseline, 2. kill -9 of a dispatch process, 3. kill -9 of an intake process,
//! 4. kill -9 of the notify process (its SMS gateway answers in 30 ms, so sends are in flight),
//! 5. Redis lost (killed and started empty), 6. PostgreSQL restarted, 7. SIGTERM of every
//!    process in turn, each started again.
//!
//! A call counts as acknowledged when CreateTicket answered OK; a client whose call failed
//! retries it with the same `request_id` (on the other intake process), as a real front-end
//! would. At the end it counts, and fails unless every count is right: acknowledged tickets
//! lost (0), tickets duplicated (0), panics in any log (0), site-visit tickets without an offer
//! (0), technicians over capacity (0), acknowledged tickets whose caller got no SMS (0),
//! tickets with more than one SMS (0).
//!
//! `cargo run -p steelcare-tests --bin fault-suite` after `cargo build -p steelcare`; it needs
//! PostgreSQL's server binaries (`/usr/lib/postgresql/*/bin`) and `redis-server`. As root it
//! runs PostgreSQL as the `postgres` user. `.ci/run` runs it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use steelcare_domain::Role;
use steelcare_domain::dispatch::Skill;
use steelcare_proto::common::v1 as common;
use steelcare_proto::dispatch::v1 as dispatch;
use steelcare_proto::dispatch::v1::dispatch_service_client::DispatchServiceClient;
use steelcare_proto::intake::v1 as intake;
use steelcare_proto::intake::v1::intake_service_client::IntakeServiceClient;
use steelcare_runtime::Authenticator;
use steelcare_runtime::settings::Secret;
use steelcare_tests::receivers::HttpReceiver;
use tokio::sync::Mutex;
use tonic::transport::Channel;
use tonic_health::pb::health_check_response::ServingStatus;

type Failure = Box<dyn std::error::Error + Send + Sync>;
type Outcome<T> = Result<T, Failure>;

const SECRET: &str = "fault-suite-secret-0123456789abcdef";
const PG_PORT: u16 = 55432;
const REDIS_PORT: u16 = 56379;
const BASE_PORT: u16 = 57100;
const TECHNICIANS: usize = 100;
const CAPACITY: i32 = 10;
const CLIENTS: usize = 6;
/// Each client's pause between calls: about 20 calls a second in all.
const PACE: Duration = Duration::from_millis(250);

fn fail(message: impl Into<String>) -> Failure {
    message.into().into()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// A PostgreSQL command, as the `postgres` user when we are root.
fn pg_command(bin: &Path, name: &str) -> Command {
    let program = bin.join(name);
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn run(mut command: Command, what: &str) -> Outcome<()> {
    let out = command
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()?;
    if !out.status.success() {
        return Err(fail(format!(
            "{what} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(())
}

struct Postgres {
    bin: PathBuf,
    data: PathBuf,
    log: PathBuf,
    socket_dir: PathBuf,
}

impl Postgres {
    fn init(dir: &Path) -> Outcome<Postgres> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")?
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .filter(|p| p.join("initdb").is_file())
            .max()
            .ok_or_else(|| fail("no PostgreSQL server binaries under /usr/lib/postgresql"))?;
        let pg = Postgres {
            bin,
            data: dir.join("pg"),
            log: dir.join("postgres.log"),
            socket_dir: dir.to_owned(),
        };
        let mut initdb = pg_command(&pg.bin, "initdb");
        initdb
            .arg("-D")
            .arg(&pg.data)
            .args(["-A", "trust", "-U", "postgres", "--no-sync"]);
        run(initdb, "initdb")?;
        Ok(pg)
    }

    fn ctl(&self, action: &str) -> Outcome<()> {
        let mut ctl = pg_command(&self.bin, "pg_ctl");
        ctl.arg("-D")
            .arg(&self.data)
            .arg("-l")
            .arg(&self.log)
            .args([
                "-w",
                "-t",
                "60",
                "-m",
                "fast",
                "-o",
                &format!(
                    "-p {PG_PORT} -k {} -c listen_addresses=127.0.0.1 -c fsync=on",
                    self.socket_dir.display()
                ),
                action,
            ]);
        run(ctl, &format!("pg_ctl {action}"))
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = self.ctl("stop");
    }
}

fn start_redis(dir: &Path) -> Outcome<Child> {
    let child = Command::new("redis-server")
        .args([
            "--port",
            &REDIS_PORT.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .arg("--dir")
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    Ok(child)
}

fn kill9(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

fn sigterm(child: &mut Child) -> Outcome<()> {
    run(
        {
            let mut c = Command::new("kill");
            c.args(["-TERM", &child.id().to_string()]);
            c
        },
        "kill -TERM",
    )?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if child.try_wait()?.is_some() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(fail("a process did not stop within 30 s of SIGTERM"))
}

/// One `steelcare serve` process.
struct Node {
    name: String,
    service: &'static str,
    port: u16,
    log: PathBuf,
    child: Option<Child>,
    starts: u32,
}

struct Cluster {
    bin: PathBuf,
    dir: PathBuf,
    db_url: String,
    redis_url: String,
    /// More settings for every process (the notify process's SMS gateway).
    extra: Vec<(String, String)>,
    nodes: Vec<Node>,
}

impl Cluster {
    fn env(&self, command: &mut Command) {
        for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("STEELCARE__")) {
            command.env_remove(key);
        }
        command
            .env("STEELCARE__DATABASE__URL", &self.db_url)
            .env("STEELCARE__DATABASE__MAX_CONNECTIONS", "8")
            .env("STEELCARE__REDIS__URL", &self.redis_url)
            .env("STEELCARE__AUTH__JWT_SECRET", SECRET)
            .env("STEELCARE__DATA_DIR", self.dir.join("data"))
            .env("STEELCARE__TELEMETRY__LOG_FILTER", "info")
            .env("RUST_LOG", "info")
            .envs(self.extra.iter().map(|(k, v)| (k, v)));
    }

    fn migrate(&self) -> Outcome<()> {
        let mut c = Command::new(&self.bin);
        c.arg("migrate");
        self.env(&mut c);
        run(c, "steelcare migrate")
    }

    fn start(&mut self, index: usize) -> Outcome<()> {
        let node = &self.nodes[index];
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&node.log)?;
        let mut c = Command::new(&self.bin);
        c.args(["serve", "--service", node.service]);
        self.env(&mut c);
        c.env(
            "STEELCARE__SERVER__LISTEN",
            format!("127.0.0.1:{}", node.port),
        )
        .env("HOSTNAME", &node.name)
        .stdout(log.try_clone()?)
        .stderr(log);
        let child = c.spawn()?;
        let node = &mut self.nodes[index];
        node.child = Some(child);
        node.starts += 1;
        Ok(())
    }

    async fn wait_ready(&self, index: usize) -> Outcome<()> {
        let node = &self.nodes[index];
        let deadline = Instant::now() + Duration::from_secs(60);
        let address = format!("http://127.0.0.1:{}", node.port);
        while Instant::now() < deadline {
            if let Ok(channel) = Channel::from_shared(address.clone())?.connect().await {
                let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
                let checked = health
                    .check(tonic_health::pb::HealthCheckRequest {
                        service: String::new(),
                    })
                    .await;
                if checked.is_ok_and(|r| r.into_inner().status == 1) {
                    return Ok(());
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Err(fail(format!("{} never became SERVING", node.name)))
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            if let Some(child) = node.child.as_mut() {
                kill9(child);
            }
        }
    }
}

fn channel(port: u16) -> Outcome<Channel> {
    Ok(Channel::from_shared(format!("http://127.0.0.1:{port}"))?
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(20))
        .connect_lazy())
}

fn authed<T>(message: T, token: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    if let Ok(value) = format!("Bearer {token}").parse() {
        request.metadata_mut().insert("authorization", value);
    }
    request
}

fn person(name: &str) -> common::PersonRef {
    common::PersonRef {
        display_name: name.into(),
        phone: "13800000000".into(),
        ..Default::default()
    }
}

/// What the load generator saw.
#[derive(Default)]
struct Ledger {
    /// request_id → ticket id, for every acknowledged call.
    acknowledged: HashMap<String, String>,
    /// Calls that failed and were retried.
    retries: u64,
}

struct Load {
    intake_ports: Vec<u16>,
    agent: String,
    project_id: String,
    ledger: Arc<Mutex<Ledger>>,
    sequence: AtomicU64,
}

impl Load {
    /// One call, retried with the same request id on the next intake process until it is
    /// acknowledged (at most 120 s).
    async fn call(&self, client: usize) -> Outcome<()> {
        let n = self.sequence.fetch_add(1, Ordering::SeqCst);
        let request_id = format!("fault-{n:05}");
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut attempt = client;
        loop {
            let port = self.intake_ports[attempt % self.intake_ports.len()];
            let mut intake = IntakeServiceClient::new(channel(port)?);
            let answer = intake
                .create_ticket(authed(
                    intake::CreateTicketRequest {
                        request_id: request_id.clone(),
                        channel: intake::Channel::Hotline as i32,
                        project_id: self.project_id.clone(),
                        reporter: Some(person("Wang Wu")),
                        location: Some(intake::StructureLocation {
                            description: "bay 3".into(),
                            ..Default::default()
                        }),
                        description: Some(intake::ProblemDescription {
                            phenomenon: format!("钢梁下翼缘裂缝 {request_id}"),
                            ..Default::default()
                        }),
                        customer_request: "please come".into(),
                        related_case_id: String::new(),
                    },
                    &self.agent,
                ))
                .await;
            match answer {
                Ok(reply) => {
                    let ticket_id = reply
                        .into_inner()
                        .ticket
                        .map(|t| t.ticket_id)
                        .unwrap_or_default();
                    self.ledger
                        .lock()
                        .await
                        .acknowledged
                        .insert(request_id, ticket_id);
                    return Ok(());
                }
                Err(status) => {
                    if Instant::now() > deadline {
                        return Err(fail(format!("{request_id} never acknowledged: {status}")));
                    }
                    self.ledger.lock().await.retries += 1;
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
            }
        }
    }

    /// `CLIENTS` clients, each calling every `PACE` until `running` turns false.
    async fn steady(self: &Arc<Self>, running: Arc<AtomicBool>) -> Outcome<()> {
        let mut clients = Vec::new();
        for client in 0..CLIENTS {
            let load = self.clone();
            let running = running.clone();
            clients.push(tokio::spawn(async move {
                while running.load(Ordering::SeqCst) {
                    load.call(client).await?;
                    tokio::time::sleep(PACE).await;
                }
                Ok::<(), Failure>(())
            }));
        }
        for c in clients {
            c.await??;
        }
        Ok(())
    }
}

/// What the suite saw while the database was down.
#[derive(Default)]
struct DbDown {
    health_not_serving: bool,
    probe: Option<tonic::Code>,
    health_serving_again: bool,
}

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

/// Whether every process reports `want` for the whole server within `within`.
async fn wait_health(cluster: &Cluster, want: ServingStatus, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    'poll: while Instant::now() < deadline {
        for node in &cluster.nodes {
            let Ok(channel) = channel(node.port) else {
                return false;
            };
            let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
            let status = health
                .check(tonic_health::pb::HealthCheckRequest {
                    service: String::new(),
                })
                .await
                .map(|r| r.into_inner().status);
            if status.ok() != Some(want as i32) {
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue 'poll;
            }
        }
        return true;
    }
    false
}

/// The code a read that needs the database gets: `None` when it succeeded.
async fn probe(port: u16, token: &str) -> Option<tonic::Code> {
    let mut intake = IntakeServiceClient::new(channel(port).ok()?);
    intake
        .list_tickets(authed(
            intake::ListTicketsRequest {
                page_size: 1,
                ..Default::default()
            },
            token,
        ))
        .await
        .err()
        .map(|status| status.code())
}

async fn scalar(db: &DatabaseConnection, sql: &str) -> Outcome<i64> {
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await?
        .ok_or_else(|| fail(format!("no row: {sql}")))?;
    Ok(row.try_get_by_index::<i64>(0)?)
}

/// The counts the suite is judged by.
struct Verdict {
    acknowledged: usize,
    lost: usize,
    duplicated: usize,
    tickets: i64,
    offered: i64,
    not_offered: i64,
    over_capacity: i64,
    panics: usize,
    retries: u64,
    slowest_offer_ms: i64,
}

async fn verdict(db: &DatabaseConnection, ledger: &Ledger, logs: &[PathBuf]) -> Outcome<Verdict> {
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT id, description FROM tickets",
        ))
        .await?;
    let mut by_request: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut ids = HashSet::new();
    for row in &rows {
        let id: String = row.try_get_by_index(0)?;
        let description: String = row.try_get_by_index(1)?;
        if let Some(at) = description.find("fault-") {
            let marker: String = description[at..].chars().take(11).collect();
            by_request.entry(marker).or_default().push(id.clone());
        }
        ids.insert(id);
    }
    let lost = ledger
        .acknowledged
        .values()
        .filter(|id| !ids.contains(*id))
        .count();
    let duplicated = by_request.values().map(|v| v.len().saturating_sub(1)).sum();
    let tickets = scalar(db, "SELECT CAST(COUNT(*) AS BIGINT) FROM tickets").await?;
    let offered = scalar(
        db,
        "SELECT CAST(COUNT(*) AS BIGINT) FROM assignments WHERE state = 'offered'",
    )
    .await?;
    let not_offered = scalar(
        db,
        "SELECT CAST(COUNT(*) AS BIGINT) FROM tickets t WHERE NOT EXISTS \
         (SELECT 1 FROM assignments a WHERE a.ticket_id = t.id AND a.state = 'offered')",
    )
    .await?;
    let over_capacity = scalar(
        db,
        "SELECT CAST(COUNT(*) AS BIGINT) FROM technicians t WHERE t.booked + t.offered > t.capacity \
         OR (SELECT COUNT(*) FROM assignments a WHERE a.technician_id = t.id \
             AND a.state IN ('offered', 'confirmed', 'arrived')) > t.capacity",
    )
    .await?;
    let slowest_offer_ms = scalar(
        db,
        "SELECT CAST(COALESCE(MAX(o.offered_at_ms - CAST(EXTRACT(EPOCH FROM t.created_at) * 1000 AS BIGINT)), 0) AS BIGINT) \
         FROM tickets t JOIN assignments a ON a.ticket_id = t.id \
         JOIN assignment_offers o ON o.assignment_id = a.id AND o.seq = 1",
    )
    .await?;
    let mut panics = 0;
    for log in logs {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        panics += text.matches("panicked").count();
    }
    Ok(Verdict {
        acknowledged: ledger.acknowledged.len(),
        lost,
        duplicated,
        tickets,
        offered,
        not_offered,
        over_capacity,
        panics,
        retries: ledger.retries,
        slowest_offer_ms,
    })
}

async fn wait_all_offered(db: &DatabaseConnection, within: Duration) -> Outcome<()> {
    let deadline = Instant::now() + within;
    loop {
        let missing = scalar(
            db,
            "SELECT CAST(COUNT(*) AS BIGINT) FROM tickets t WHERE NOT EXISTS \
             (SELECT 1 FROM assignments a WHERE a.ticket_id = t.id AND a.state = 'offered')",
        )
        .await;
        if matches!(missing, Ok(0)) || Instant::now() > deadline {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The SMS gateway the notify process sends to: it answers in 30 ms, sends each `OutId`
/// once and counts the requests that came again with one it had.
struct Gateway {
    receiver: HttpReceiver,
}

/// What the gateway's requests say about the texts.
struct Texts {
    missing: usize,
    doubled: usize,
    unknown: usize,
    resent: usize,
}

impl Gateway {
    async fn start() -> Gateway {
        let receiver = HttpReceiver::start_delayed(Duration::from_millis(30), |_| {
            (200, r#"{"Code":"OK"}"#.to_owned())
        })
        .await;
        Gateway { receiver }
    }

    /// The notify settings that send every new ticket's acknowledgement by SMS here, with a
    /// short lease so that a killed sender's claims come back within the suite.
    fn settings(&self) -> Vec<(String, String)> {
        [
            ("STEELCARE__NOTIFY__SMS__URL", self.receiver.url("/sms")),
            ("STEELCARE__NOTIFY__SMS__ACCESS_KEY", "fault-key".into()),
            ("STEELCARE__NOTIFY__SMS__SECRET", "fault-secret".into()),
            (
                "STEELCARE__NOTIFY__SMS__TEMPLATES__TICKET-RECEIVED",
                "SMS_100".into(),
            ),
            ("STEELCARE__NOTIFY__LEASE_MS", "3000".into()),
            ("STEELCARE__NOTIFY__SEND_TIMEOUT_MS", "2000".into()),
            ("STEELCARE__NOTIFY__RETRY_BASE_MS", "200".into()),
            ("STEELCARE__NOTIFY__RETRY_MAX_MS", "2000".into()),
            ("STEELCARE__NOTIFY__MAX_ATTEMPTS", "50".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    async fn verdict(&self, db: &DatabaseConnection, ledger: &Ledger) -> Outcome<Texts> {
        let rows = db
            .query_all_raw(Statement::from_string(
                db.get_database_backend(),
                "SELECT id, case_id FROM notify_deliveries WHERE channel = 'sms'",
            ))
            .await?;
        let mut case_of = HashMap::new();
        let mut per_case: HashMap<String, usize> = HashMap::new();
        for row in &rows {
            let id: String = row.try_get_by_index(0)?;
            let case: Option<String> = row.try_get_by_index(1)?;
            let case = case.unwrap_or_default();
            *per_case.entry(case.clone()).or_default() += 1;
            case_of.insert(id, case);
        }
        let mut seen = HashSet::new();
        let (mut unknown, mut resent) = (0, 0);
        let mut texted = HashSet::new();
        for request in self.receiver.requests() {
            let out_id = request.json()["OutId"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            match case_of.get(&out_id) {
                None => unknown += 1,
                Some(_) if !seen.insert(out_id.clone()) => resent += 1,
                Some(case) => {
                    texted.insert(case.clone());
                }
            }
        }
        Ok(Texts {
            missing: ledger
                .acknowledged
                .values()
                .filter(|ticket| !texted.contains(*ticket))
                .count(),
            doubled: per_case.values().filter(|n| **n > 1).count(),
            unknown,
            resent,
        })
    }
}

/// Waits until every ticket's SMS is sent (or `within` passes).
async fn wait_all_texted(db: &DatabaseConnection, within: Duration) -> Outcome<()> {
    let deadline = Instant::now() + within;
    loop {
        let missing = scalar(
            db,
            "SELECT CAST(COUNT(*) AS BIGINT) FROM tickets t WHERE NOT EXISTS \
             (SELECT 1 FROM notify_deliveries d WHERE d.case_id = t.id \
              AND d.channel = 'sms' AND d.state = 'sent')",
        )
        .await;
        if matches!(missing, Ok(0)) || Instant::now() > deadline {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::main]
async fn main() {
    match suite().await {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(err) => {
            eprintln!("fault suite: {err}");
            std::process::exit(2);
        }
    }
}

async fn suite() -> Outcome<bool> {
    let started = Instant::now();
    let root = std::env::temp_dir().join(format!("sc-faults-{}", std::process::id()));
    std::fs::create_dir_all(&root)?;
    run(
        {
            let mut c = Command::new("chmod");
            c.arg("1777").arg(&root);
            c
        },
        "chmod",
    )?;
    let bin = std::env::var_os("STEELCARE_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/debug/steelcare"));
    if !bin.is_file() {
        return Err(fail(format!(
            "{} not found: cargo build -p steelcare first",
            bin.display()
        )));
    }
    println!(
        "fault suite: PostgreSQL on {PG_PORT}, Redis on {REDIS_PORT}, in {}",
        root.display()
    );
    let pg = Postgres::init(&root)?;
    pg.ctl("start")?;
    let mut redis = start_redis(&root)?;
    let admin =
        Database::connect(format!("postgres://postgres@127.0.0.1:{PG_PORT}/postgres")).await?;
    admin
        .execute_unprepared("CREATE DATABASE steelcare")
        .await?;
    admin.close().await?;
    let db_url = format!("postgres://postgres@127.0.0.1:{PG_PORT}/steelcare");
    let services = [
        ("intake-a", "intake"),
        ("intake-b", "intake"),
        ("dispatch-a", "dispatch"),
        ("dispatch-b", "dispatch"),
        ("notify-a", "notify"),
    ];
    let gateway = Gateway::start().await;
    let mut cluster = Cluster {
        bin,
        dir: root.clone(),
        db_url: db_url.clone(),
        redis_url: format!("redis://127.0.0.1:{REDIS_PORT}"),
        extra: gateway.settings(),
        nodes: services
            .iter()
            .enumerate()
            .map(|(i, (name, service))| Node {
                name: (*name).to_owned(),
                service,
                port: BASE_PORT + i as u16,
                log: root.join(format!("{name}.log")),
                child: None,
                starts: 0,
            })
            .collect(),
    };
    cluster.migrate()?;
    for i in 0..cluster.nodes.len() {
        cluster.start(i)?;
    }
    for i in 0..cluster.nodes.len() {
        cluster.wait_ready(i).await?;
    }

    let auth =
        Authenticator::with_secret(&Secret::new(SECRET), "steelcare").expect("the suite's secret");
    let hour = Duration::from_secs(3600);
    let agent = auth.issue("agent-1", &[Role::Agent], None, hour)?;
    let dispatcher = auth.issue("dispatcher-1", &[Role::Dispatcher], None, hour)?;
    let mut intake = IntakeServiceClient::new(channel(cluster.nodes[0].port)?);
    let customer_id = intake
        .create_customer(authed(
            intake::CreateCustomerRequest {
                request_id: "fault-customer".into(),
                organization_name: "Acme Logistics".into(),
                contacts: vec![person("Li Wei")],
            },
            &agent,
        ))
        .await?
        .into_inner()
        .customer
        .map(|c| c.customer_id)
        .unwrap_or_default();
    let project_id = intake
        .register_project(authed(
            intake::RegisterProjectRequest {
                request_id: "fault-project".into(),
                customer_id,
                name: "Suzhou warehouse".into(),
                address: Some(common::Address {
                    province: "Jiangsu".into(),
                    city: "Suzhou".into(),
                    ..Default::default()
                }),
                contract_number: "HT-FAULT-1".into(),
                structure_type: intake::StructureType::PortalFrame as i32,
                completion_acceptance_date: Some(common::Date {
                    year: 2024,
                    month: 5,
                    day: 10,
                }),
                design_service_life_years: 50,
                ..Default::default()
            },
            &agent,
        ))
        .await?
        .into_inner()
        .project
        .map(|p| p.project_id)
        .unwrap_or_default();
    let mut team = DispatchServiceClient::new(channel(cluster.nodes[2].port)?);
    for i in 0..TECHNICIANS {
        team.upsert_technician(authed(
            dispatch::UpsertTechnicianRequest {
                technician: Some(dispatch::Technician {
                    technician_id: format!("tech-{i:02}"),
                    person: Some(person(&format!("Technician {i}"))),
                    regions: vec!["Suzhou".into()],
                    skills: [Skill::StructuralSurvey, Skill::SurveyingInstruments]
                        .map(Skill::proto_value)
                        .to_vec(),
                    calendar: "round_the_clock".into(),
                    capacity: CAPACITY,
                    ..Default::default()
                }),
                update_mask: None,
            },
            &dispatcher,
        ))
        .await?;
    }

    let load = Arc::new(Load {
        intake_ports: vec![cluster.nodes[0].port, cluster.nodes[1].port],
        agent,
        project_id,
        ledger: Arc::default(),
        sequence: AtomicU64::new(0),
    });
    let check_db = Database::connect(&db_url).await?;

    println!("| phase | calls acknowledged | retried | took |");
    println!("|---|---|---|---|");
    let phases = [
        "baseline",
        "kill -9 dispatch-a",
        "kill -9 intake-a",
        "kill -9 notify-a",
        "redis lost (killed, started empty)",
        "postgresql stopped, then started",
        "sigterm each process in turn",
    ];
    let mut db_down = DbDown::default();
    for (phase, name) in phases.iter().enumerate() {
        let t = Instant::now();
        let (acked_before, retried_before) = {
            let ledger = load.ledger.lock().await;
            (ledger.acknowledged.len(), ledger.retries)
        };
        let running = Arc::new(AtomicBool::new(true));
        let traffic = {
            let load = load.clone();
            let running = running.clone();
            tokio::spawn(async move { load.steady(running).await })
        };
        // Under load: strike a second in, keep the load on for two seconds after recovery.
        tokio::time::sleep(Duration::from_secs(1)).await;
        match phase {
            1..=3 => {
                let index = [2, 0, 4][phase - 1];
                if let Some(child) = cluster.nodes[index].child.as_mut() {
                    kill9(child);
                }
                tokio::time::sleep(Duration::from_millis(1500)).await;
                cluster.start(index)?;
                cluster.wait_ready(index).await?;
            }
            4 => {
                kill9(&mut redis);
                tokio::time::sleep(Duration::from_millis(1000)).await;
                redis = start_redis(&root)?;
            }
            5 => {
                pg.ctl("stop")?;
                // Operators must see it: health NOT_SERVING everywhere, and calls UNAVAILABLE
                // (retryable), never INTERNAL.
                db_down.health_not_serving =
                    wait_health(&cluster, ServingStatus::NotServing, Duration::from_secs(10)).await;
                db_down.probe = probe(cluster.nodes[1].port, &load.agent).await;
                pg.ctl("start")?;
                db_down.health_serving_again =
                    wait_health(&cluster, ServingStatus::Serving, Duration::from_secs(20)).await;
            }
            6 => {
                for index in 0..cluster.nodes.len() {
                    if let Some(child) = cluster.nodes[index].child.as_mut() {
                        sigterm(child)?;
                    }
                    cluster.start(index)?;
                    cluster.wait_ready(index).await?;
                }
            }
            _ => {}
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
        running.store(false, Ordering::SeqCst);
        traffic.await??;
        let ledger = load.ledger.lock().await;
        println!(
            "| {name} | {} | {} | {:.1} s |",
            ledger.acknowledged.len() - acked_before,
            ledger.retries - retried_before,
            t.elapsed().as_secs_f64()
        );
    }
    wait_all_offered(&check_db, Duration::from_secs(90)).await?;
    wait_all_texted(&check_db, Duration::from_secs(60)).await?;

    let logs: Vec<PathBuf> = cluster.nodes.iter().map(|n| n.log.clone()).collect();
    let v = verdict(&check_db, &*load.ledger.lock().await, &logs).await?;
    let texts = gateway
        .verdict(&check_db, &*load.ledger.lock().await)
        .await?;
    let checks = [
        db_down.health_not_serving,
        db_down.probe == Some(tonic::Code::Unavailable),
        db_down.health_serving_again,
        v.lost == 0,
        v.duplicated == 0,
        v.panics == 0,
        v.not_offered == 0,
        v.over_capacity == 0,
        v.tickets as usize >= v.acknowledged,
        texts.missing == 0,
        texts.doubled == 0,
        texts.unknown == 0,
    ];
    let passed = checks.iter().filter(|c| **c).count();
    let ok = passed == checks.len();
    println!();
    println!("| count | value |");
    println!("|---|---|");
    println!(
        "| processes (2 intake + 2 dispatch + 1 notify), starts | 5, {} |",
        cluster.nodes.iter().map(|n| n.starts).sum::<u32>()
    );
    println!("| calls acknowledged | {} |", v.acknowledged);
    println!("| calls retried after a failure | {} |", v.retries);
    println!("| tickets stored | {} |", v.tickets);
    println!("| acknowledged tickets lost | {} |", v.lost);
    println!("| tickets duplicated | {} |", v.duplicated);
    println!("| site-visit tickets offered | {} |", v.offered);
    println!(
        "| site-visit tickets without an offer | {} |",
        v.not_offered
    );
    println!("| technicians over capacity | {} |", v.over_capacity);
    println!(
        "| slowest ticket → first offer | {:.1} s |",
        v.slowest_offer_ms as f64 / 1000.0
    );
    println!("| panics in the logs | {} |", v.panics);
    println!(
        "| acknowledged tickets whose caller got no SMS | {} |",
        texts.missing
    );
    println!("| tickets with more than one SMS | {} |", texts.doubled);
    println!(
        "| SMS requests for a delivery the database does not hold | {} |",
        texts.unknown
    );
    println!(
        "| SMS requests sent again with an `OutId` the gateway had (dropped by it) | {} |",
        texts.resent
    );
    println!(
        "| database down: every process NOT_SERVING / a call answered / SERVING once it is back | {} / {} / {} |",
        yes(db_down.health_not_serving),
        db_down
            .probe
            .map_or_else(|| "OK (wrong)".to_owned(), |c| format!("{c:?}")),
        yes(db_down.health_serving_again)
    );
    println!("| took | {:.0} s |", started.elapsed().as_secs_f64());
    println!();
    kill9(&mut redis);
    drop(cluster);
    drop(pg);
    if ok {
        let _ = std::fs::remove_dir_all(&root);
    } else {
        println!("logs kept in {}", root.display());
    }
    println!("faults: {passed} passed, {} failed", checks.len() - passed);
    Ok(ok)
}
