//! The test harness (STYLE.md 15): a running server on a random port with a fresh database,
//! typed clients and tokens, on every backend the environment enables.
//!
//! - Always: SQLite in a temp directory, embedded bus.
//! - With `STEELCARE_TEST_DATABASE_URL` (a PostgreSQL server URL) and `STEELCARE_TEST_REDIS_URL`:
//!   also a fresh PostgreSQL database per test and Redis under a unique key prefix.
//!
//! A variable that is set but unreachable fails the test; it is never skipped.

use std::time::Duration;

use sea_orm::{ConnectionTrait, Database as SeaDatabase};
use steelcare::{Application, Faults, ServiceSelection};
use steelcare_bus::Bus;
use steelcare_domain::Role;
use steelcare_runtime::settings::Secret;
use steelcare_runtime::{Authenticator, Settings};
use steelcare_store::Database;
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::Channel;

/// The secret test servers sign with.
pub const TEST_SECRET: &str = "steelcare-test-secret-0123456789abcdef";

/// A database and bus combination the tests run on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// SQLite file and embedded bus: the no-servers default.
    Embedded,
    /// PostgreSQL and Redis.
    PostgresRedis {
        /// Server URL (any database on it; tests create their own).
        database_url: String,
        /// Redis URL.
        redis_url: String,
    },
}

impl Backend {
    /// Short name for messages.
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Embedded => "embedded",
            Backend::PostgresRedis { .. } => "postgres+redis",
        }
    }
}

fn env_url(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The backends enabled in this environment: embedded always, PostgreSQL + Redis when both
/// `STEELCARE_TEST_DATABASE_URL` and `STEELCARE_TEST_REDIS_URL` are set.
pub fn backends() -> Vec<Backend> {
    let mut all = vec![Backend::Embedded];
    match (
        env_url("STEELCARE_TEST_DATABASE_URL"),
        env_url("STEELCARE_TEST_REDIS_URL"),
    ) {
        (Some(database_url), Some(redis_url)) => all.push(Backend::PostgresRedis {
            database_url,
            redis_url,
        }),
        (None, None) => {}
        _ => {
            panic!("set both STEELCARE_TEST_DATABASE_URL and STEELCARE_TEST_REDIS_URL, or neither")
        }
    }
    all
}

/// The PostgreSQL server URL, when enabled.
pub fn postgres_url() -> Option<String> {
    env_url("STEELCARE_TEST_DATABASE_URL")
}

/// The Redis URL, when enabled.
pub fn redis_url() -> Option<String> {
    env_url("STEELCARE_TEST_REDIS_URL")
}

/// A fresh, empty database that lives as long as this value (SQLite) or until the next CI run
/// clears `sc_test_%` databases (PostgreSQL).
pub struct FreshDatabase {
    /// URL of the fresh database.
    pub url: String,
    _dir: Option<TempDir>,
}

/// A fresh SQLite database in a temp directory.
pub fn fresh_sqlite() -> FreshDatabase {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}/steelcare.db?mode=rwc", dir.path().display());
    FreshDatabase {
        url,
        _dir: Some(dir),
    }
}

/// A fresh PostgreSQL database on the server at `server_url`.
pub async fn fresh_postgres(server_url: &str) -> FreshDatabase {
    let name = format!("sc_test_{}", uuid::Uuid::new_v4().simple());
    let admin = SeaDatabase::connect(server_url)
        .await
        .unwrap_or_else(|err| panic!("STEELCARE_TEST_DATABASE_URL unreachable: {err}"));
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create test database");
    admin.close().await.ok();
    let base = server_url
        .rsplit_once('/')
        .map(|(base, _)| base)
        .unwrap_or(server_url);
    FreshDatabase {
        url: format!("{base}/{name}"),
        _dir: None,
    }
}

/// A fresh database for `backend`.
pub async fn fresh_database(backend: &Backend) -> FreshDatabase {
    match backend {
        Backend::Embedded => fresh_sqlite(),
        Backend::PostgresRedis { database_url, .. } => fresh_postgres(database_url).await,
    }
}

/// A fresh database for `backend` with every migration applied, and the handle that keeps it.
pub async fn migrated_database(backend: &Backend) -> (Database, FreshDatabase) {
    use sea_orm_migration::MigratorTrait;
    let fresh = fresh_database(backend).await;
    let db = steelcare_store::connect(&fresh.url, 5).await.unwrap();
    steelcare_store::Migrator::up(&db, None).await.unwrap();
    (db, fresh)
}

/// A unique Redis key prefix for one test.
pub fn unique_prefix() -> String {
    format!("sctest:{}:", uuid::Uuid::new_v4().simple())
}

/// Settings of a test server on `backend`: port 0, the fresh database, a unique Redis prefix,
/// then `extra` variables.
pub fn test_settings(
    backend: &Backend,
    database: &FreshDatabase,
    data_dir: &TempDir,
    extra: &[(&str, &str)],
) -> Settings {
    let mut env = vec![
        (
            "STEELCARE__SERVER__LISTEN".to_owned(),
            "127.0.0.1:0".to_owned(),
        ),
        ("STEELCARE__DATABASE__URL".to_owned(), database.url.clone()),
        (
            "STEELCARE__DATABASE__MAX_CONNECTIONS".to_owned(),
            "5".to_owned(),
        ),
        (
            "STEELCARE__DATABASE__MIGRATE_ON_START".to_owned(),
            "true".to_owned(),
        ),
        (
            "STEELCARE__AUTH__JWT_SECRET".to_owned(),
            TEST_SECRET.to_owned(),
        ),
        (
            "STEELCARE__SERVER__CORS_ALLOWED_ORIGINS".to_owned(),
            "https://console.example".to_owned(),
        ),
        (
            "STEELCARE__SERVER__SHUTDOWN_GRACE_SECS".to_owned(),
            "5".to_owned(),
        ),
        (
            "STEELCARE__DATA_DIR".to_owned(),
            data_dir.path().display().to_string(),
        ),
    ];
    if let Backend::PostgresRedis { redis_url, .. } = backend {
        env.push(("STEELCARE__REDIS__URL".to_owned(), redis_url.clone()));
        env.push(("STEELCARE__REDIS__KEY_PREFIX".to_owned(), unique_prefix()));
    }
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    Settings::load_with_env(&[], env).expect("test settings")
}

/// A running test server.
pub struct TestApp {
    /// Which backend it runs on.
    pub backend: Backend,
    /// `http://127.0.0.1:PORT`.
    pub address: String,
    /// The bound address.
    pub local_addr: std::net::SocketAddr,
    /// Its database.
    pub db: Database,
    /// Its bus.
    pub bus: Bus,
    /// Issues tokens the server accepts.
    pub auth: Authenticator,
    /// The settings it runs with.
    pub settings: Settings,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<Result<(), steelcare::StartupError>>>,
    database: Option<FreshDatabase>,
    data_dir: Option<TempDir>,
}

/// Starts a server on `backend` with every built service.
pub async fn spawn_app(backend: &Backend) -> TestApp {
    spawn_app_with(backend, &[]).await
}

/// Starts a server on `backend` with extra `STEELCARE__*` settings.
pub async fn spawn_app_with(backend: &Backend, extra: &[(&str, &str)]) -> TestApp {
    steelcare_runtime::telemetry::init_for_tests();
    let database = fresh_database(backend).await;
    let data_dir = tempfile::tempdir().expect("temp dir");
    let settings = test_settings(backend, &database, &data_dir, extra);
    start(backend, settings, database, data_dir).await
}

/// Starts a server on `backend` with extra settings and injected faults.
pub async fn spawn_app_with_faults(
    backend: &Backend,
    extra: &[(&str, &str)],
    faults: Faults,
) -> TestApp {
    steelcare_runtime::telemetry::init_for_tests();
    let database = fresh_database(backend).await;
    let data_dir = tempfile::tempdir().expect("temp dir");
    let settings = test_settings(backend, &database, &data_dir, extra);
    launch(
        backend,
        settings,
        Some(database),
        Some(data_dir),
        Some(faults),
    )
    .await
}

async fn start(
    backend: &Backend,
    settings: Settings,
    database: FreshDatabase,
    data_dir: TempDir,
) -> TestApp {
    launch(backend, settings, Some(database), Some(data_dir), None).await
}

async fn launch(
    backend: &Backend,
    settings: Settings,
    database: Option<FreshDatabase>,
    data_dir: Option<TempDir>,
    faults: Option<Faults>,
) -> TestApp {
    let mut app = Application::build(settings.clone(), ServiceSelection::all())
        .await
        .unwrap_or_else(|err| panic!("{} app failed to start: {err}", backend.name()));
    if let Some(faults) = faults {
        app.inject_faults(faults);
    }
    let local_addr = app.local_addr();
    let db = app.db().clone();
    let bus = app.bus().clone();
    let auth = app.authenticator().clone();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async move {
        let _ = stopped.await;
    }));
    TestApp {
        backend: backend.clone(),
        address: format!("http://{local_addr}"),
        local_addr,
        db,
        bus,
        auth,
        settings,
        stop: Some(stop),
        server: Some(server),
        database,
        data_dir,
    }
}

impl TestApp {
    /// A channel to the server.
    pub async fn channel(&self) -> Channel {
        Channel::from_shared(self.address.clone())
            .expect("address")
            .connect_timeout(Duration::from_secs(5))
            .connect()
            .await
            .expect("connect to test server")
    }

    /// A token for `roles` (and `org` for customers), valid for an hour.
    pub fn token(&self, subject: &str, roles: &[Role], org: Option<&str>) -> String {
        self.auth
            .issue(subject, roles, org, Duration::from_secs(3600))
            .expect("issue token")
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(mut self) -> Result<(), steelcare::StartupError> {
        self.halt().await
    }

    async fn halt(&mut self) -> Result<(), steelcare::StartupError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.server.take() {
            Some(handle) => handle.await.expect("server task"),
            None => Ok(()),
        }
    }

    /// Starts a second server on the same database and Redis key prefix, with its own
    /// listener and `extra` settings on top: another replica of the same deployment.
    pub async fn replica(&self, extra: &[(&str, &str)]) -> TestApp {
        let mut settings = self.settings.clone();
        settings.server.listen = "127.0.0.1:0".parse().expect("address");
        let mut env = vec![
            (
                "STEELCARE__DATABASE__URL".to_owned(),
                settings.database.url.clone(),
            ),
            (
                "STEELCARE__DATABASE__MAX_CONNECTIONS".to_owned(),
                "5".to_owned(),
            ),
            (
                "STEELCARE__AUTH__JWT_SECRET".to_owned(),
                TEST_SECRET.to_owned(),
            ),
            (
                "STEELCARE__SERVER__LISTEN".to_owned(),
                "127.0.0.1:0".to_owned(),
            ),
            (
                "STEELCARE__DATA_DIR".to_owned(),
                settings.data_dir.display().to_string(),
            ),
            // Each process keeps its own copy of the search index.
            (
                "STEELCARE__FEEDBACK__SEARCH_DIR".to_owned(),
                settings
                    .data_dir
                    .join(format!("search-{}", unique_prefix()))
                    .display()
                    .to_string(),
            ),
        ];
        if let Some(url) = &settings.redis.url {
            env.push(("STEELCARE__REDIS__URL".to_owned(), url.clone()));
            env.push((
                "STEELCARE__REDIS__KEY_PREFIX".to_owned(),
                settings.redis.key_prefix.clone(),
            ));
        }
        env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let settings = Settings::load_with_env(&[], env).expect("replica settings");
        launch(&self.backend, settings, None, None, None).await
    }

    /// Stops the server and starts a new one on the same database, files and settings, as a
    /// process restart would; `down_for` is how long nothing runs in between.
    pub async fn restart(mut self, down_for: Duration) -> TestApp {
        self.halt().await.expect("clean stop before restart");
        tokio::time::sleep(down_for).await;
        let database = self.database.take().expect("database");
        let data_dir = self.data_dir.take().expect("data dir");
        let mut settings = self.settings.clone();
        settings.server.listen = "127.0.0.1:0".parse().expect("address");
        start(&self.backend, settings, database, data_dir).await
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// An authenticator with the test secret (for tokens the server must refuse or accept).
pub fn test_authenticator() -> Authenticator {
    Authenticator::with_secret(&Secret::new(TEST_SECRET), "steelcare").expect("the test secret")
}

/// Wraps a message with a bearer token.
pub fn authed<T>(message: T, token: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().expect("header value"),
    );
    request
}

/// The ticket's arrival clock once it has stopped (or as it is after 10 s): the arrival
/// event reaches intake's consumer asynchronously.
pub async fn stopped_arrival_clock(
    intake: &mut steelcare_proto::intake::v1::intake_service_client::IntakeServiceClient<Channel>,
    ticket_id: &str,
    token: &str,
) -> steelcare_proto::common::v1::SlaClock {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let ticket = intake
            .get_ticket(authed(
                steelcare_proto::intake::v1::GetTicketRequest {
                    ticket_id: ticket_id.to_owned(),
                },
                token,
            ))
            .await
            .expect("get ticket")
            .into_inner()
            .ticket
            .expect("ticket");
        let arrival = ticket
            .sla
            .and_then(|sla| sla.arrival)
            .expect("arrival clock");
        if arrival.stop_time.is_some() || tokio::time::Instant::now() > deadline {
            return arrival;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Request fixtures every test binary uses: the customer and the project on the test site.
pub mod receivers;

pub mod fixtures {
    use steelcare_domain::dispatch::Skill;
    use steelcare_proto::common::v1 as common;
    use steelcare_proto::dispatch::v1 as dispatch;
    use steelcare_proto::intake::v1 as intake;

    /// The site of the test project: Suzhou, with a position.
    pub const SITE: (f64, f64) = (31.30, 120.60);

    /// A structural surveyor of the east team, on duty round the clock in Suzhou, based
    /// `km_from_site` north of the site, with capacity 2.
    pub fn surveyor(id: &str, km_from_site: f64) -> dispatch::Technician {
        dispatch::Technician {
            technician_id: id.into(),
            person: Some(person(id)),
            team: "east".into(),
            regions: vec!["Suzhou".into()],
            // About 111 km per degree of latitude.
            base_location: Some(common::GeoPoint {
                latitude: SITE.0 + km_from_site / 111.0,
                longitude: SITE.1,
            }),
            skills: vec![
                Skill::StructuralSurvey.proto_value(),
                Skill::SurveyingInstruments.proto_value(),
            ],
            calendar: "round_the_clock".into(),
            capacity: 2,
            ..Default::default()
        }
    }

    /// A person with a phone number.
    pub fn person(name: &str) -> common::PersonRef {
        common::PersonRef {
            display_name: name.into(),
            phone: "13800000000".into(),
            ..Default::default()
        }
    }

    /// A calendar date.
    pub fn date(year: i32, month: i32, day: i32) -> common::Date {
        common::Date { year, month, day }
    }

    /// Acme Logistics, with Li Wei as its contact.
    pub fn customer_request(request_id: &str) -> intake::CreateCustomerRequest {
        intake::CreateCustomerRequest {
            request_id: request_id.into(),
            organization_name: "Acme Logistics".into(),
            contacts: vec![person("Li Wei")],
        }
    }

    /// The Suzhou logistics warehouse (a portal frame handed over on 2024-05-10) at the site.
    pub fn project_request(request_id: &str, customer_id: &str) -> intake::RegisterProjectRequest {
        intake::RegisterProjectRequest {
            request_id: request_id.into(),
            customer_id: customer_id.into(),
            name: "Suzhou logistics warehouse".into(),
            address: Some(common::Address {
                province: "Jiangsu".into(),
                city: "Suzhou".into(),
                position: Some(common::GeoPoint {
                    latitude: SITE.0,
                    longitude: SITE.1,
                }),
                ..Default::default()
            }),
            contract_number: "HT-2024-001".into(),
            structure_type: intake::StructureType::PortalFrame as i32,
            completion_acceptance_date: Some(date(2024, 5, 10)),
            technical_lead: Some(person("Zhang San")),
            designer: Some(person("Design Institute")),
            warranty_terms: vec![],
            design_service_life_years: 50,
        }
    }
}

/// The current state a FAILED_PRECONDITION names in its `ErrorInfo` (e.g. `IN_REPAIR`), or
/// empty.
pub fn refused_state(status: &tonic::Status) -> String {
    use tonic_types::StatusExt;
    status
        .get_details_error_info()
        .and_then(|info| info.metadata.get("current_state").cloned())
        .unwrap_or_default()
}

/// `request` as a caller reading `tag` sends it (`accept-language`).
pub fn in_language<T>(mut request: tonic::Request<T>, tag: &str) -> tonic::Request<T> {
    if let Ok(value) = tag.parse() {
        request.metadata_mut().insert("accept-language", value);
    }
    request
}
