//! [`Application`]: one listener, the chosen services, health, reflection, gRPC-Web, auth,
//! and the background workers, with graceful shutdown (STYLE.md 2).

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;

use std::sync::Arc;
use steelcare_bus::{Bus, OutboxRelay};
use steelcare_proto::admin::v1::admin_service_server::AdminServiceServer;
use steelcare_proto::identity::v1::people_service_server::PeopleServiceServer;
use steelcare_proto::identity::v1::session_service_server::SessionServiceServer;
use steelcare_proto::integration::v1::integration_service_server::IntegrationServiceServer;
use steelcare_runtime::oidc::OidcLayer;
use steelcare_runtime::server::{RpcTraceLayer, cors_layer};
use steelcare_runtime::supervise::Supervisor;
use steelcare_runtime::{Authenticator, Settings};
use steelcare_store::Database;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tonic::server::NamedService;
use tonic::service::interceptor::InterceptedService;
use tonic::service::{Routes, RoutesBuilder};
use tonic::transport::Server;
use tonic_web::GrpcWebLayer;

use crate::console::ConsoleLayer;

use crate::admin::AdminService;
use crate::health::HealthMonitor;
use crate::identity::IdentityService;
use crate::integration::IntegrationService;
use crate::services::{ServiceName, ServiceSelection};
use steelcare_runtime::attachments::AttachmentStore;
use steelcare_runtime::mount::Wiring;

/// Why the server could not start. Each names the problem in one line.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// A service this process runs needs another's address, and none is configured.
    #[error("{0}")]
    Wiring(String),
    /// The database could not be reached or opened.
    #[error("cannot connect to the database at {url}: {cause}")]
    Database {
        /// URL without credentials.
        url: String,
        /// Cause, in words.
        cause: String,
    },
    /// Migrations failed.
    #[error("cannot apply migrations: {0}")]
    Migration(sea_orm::DbErr),
    /// Redis could not be reached.
    #[error("cannot connect to redis at {url}: {source}")]
    Redis {
        /// URL without credentials.
        url: String,
        /// Cause.
        source: steelcare_bus::BusError,
    },
    /// Auth is misconfigured.
    #[error(transparent)]
    Auth(#[from] steelcare_runtime::auth::AuthError),
    /// The listen address is taken or not ours.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// Address.
        addr: SocketAddr,
        /// Cause.
        source: std::io::Error,
    },
    /// Reflection could not be built from the descriptors.
    #[error("reflection: {0}")]
    Reflection(String),
    /// The attachment storage could not be opened.
    #[error("cannot open attachment storage: {0}")]
    Attachments(String),
    /// The server failed while running.
    #[error("server: {0}")]
    Serve(#[from] tonic::transport::Error),
}

/// Hides the password of a URL for messages and logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{}://{}:***@{}", &url[..scheme_end], user, &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

/// The host and port of a `postgres://` URL (default port 5432).
fn postgres_host_port(url: &str) -> Option<(String, u16)> {
    let rest = url
        .strip_prefix("postgres://")
        .or_else(|| url.strip_prefix("postgresql://"))?;
    let authority = rest.split(['/', '?']).next()?;
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = match host_port.rsplit_once(':') {
        Some((host, port)) if !port.contains(']') => (host, port.parse().ok()?),
        _ => (host_port, 5432),
    };
    Some((host.trim_matches(['[', ']']).to_owned(), port))
}

/// Says why a connection failed. The pool reports only that it timed out waiting for a
/// connection; for a PostgreSQL server a direct TCP connect names the cause (refused, unknown
/// host, no answer). Errors the server itself returned (authentication, unknown database)
/// already name theirs.
async fn connect_failure_cause(url: &str, err: &sea_orm::DbErr) -> String {
    let text = err.to_string();
    let Some((host, port)) = postgres_host_port(url).filter(|_| text.contains("timed out")) else {
        return text;
    };
    let attempt = tokio::time::timeout(
        std::time::Duration::from_secs(3),
        tokio::net::TcpStream::connect((host.as_str(), port)),
    )
    .await;
    match attempt {
        Err(_) => format!("no answer from {host}:{port} within 3 s"),
        Ok(Err(io)) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            format!("connection refused by {host}:{port} (is PostgreSQL running there?)")
        }
        Ok(Err(io)) if io.to_string().contains("lookup") => format!("unknown host {host}"),
        Ok(Err(io)) => format!("cannot reach {host}:{port}: {io}"),
        Ok(Ok(_)) => text,
    }
}

/// Connects to the configured database and applies migrations when asked.
pub async fn connect_database(
    settings: &Settings,
    migrate: bool,
) -> Result<Database, StartupError> {
    let url = &settings.database.url;
    let db = match steelcare_store::connect(url, settings.database.max_connections).await {
        Ok(db) => db,
        Err(err) => {
            return Err(StartupError::Database {
                url: redact_url(url),
                cause: connect_failure_cause(url, &err).await,
            });
        }
    };
    if migrate {
        steelcare_store::migrate(&db)
            .await
            .map_err(StartupError::Migration)?;
    }
    Ok(db)
}

/// Connects the configured bus: Redis when `redis.url` is set, else embedded in `db`.
pub async fn connect_bus(settings: &Settings, db: &Database) -> Result<Bus, StartupError> {
    match &settings.redis.url {
        Some(url) => Bus::redis(url, &settings.redis.key_prefix)
            .await
            .map_err(|source| StartupError::Redis {
                url: redact_url(url),
                source,
            }),
        None => Ok(Bus::embedded(db.clone())),
    }
}

/// A built server, bound and ready to run.
pub struct Application {
    listener: TcpListener,
    local_addr: SocketAddr,
    settings: Settings,
    selection: ServiceSelection,
    db: Database,
    bus: Bus,
    authenticator: Authenticator,
    generated_secret: Option<PathBuf>,
    attachments: Option<AttachmentStore>,
    faults: Option<Faults>,
}

/// Faults a test injects into a running server.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// While above zero, each dispatch job a queue worker takes makes it panic and counts
    /// one down; the test may change it while the server runs.
    pub panic_dispatch_jobs: Arc<std::sync::atomic::AtomicU32>,
    /// While true, the repair consumers take no event (each delivery fails and is delivered
    /// again later), as if the repair Deployment were down between an event and its effect.
    pub hold_repair_events: Arc<std::sync::atomic::AtomicBool>,
}

impl Application {
    /// Connects the database (migrating in the embedded default or when configured), the
    /// bus and auth, and binds the listener (port 0 picks a free one).
    pub async fn build(
        settings: Settings,
        selection: ServiceSelection,
    ) -> Result<Application, StartupError> {
        let (authenticator, generated_secret) = Authenticator::from_settings(
            &settings.auth,
            settings.is_embedded(),
            &settings.data_dir,
        )?;
        let db = connect_database(&settings, settings.database.migrate_on_start).await?;
        let authenticator = authenticator
            .with_directory(Arc::new(crate::identity::PeopleDirectory::new(db.clone())));
        let bus = connect_bus(&settings, &db).await?;
        if selection.contains(ServiceName::Feedback)
            && !selection.contains(ServiceName::Intake)
            && settings.feedback.intake_url.is_none()
        {
            return Err(StartupError::Wiring(
                "feedback without intake in the same process needs feedback.intake_url \
                 (STEELCARE__FEEDBACK__INTAKE_URL), the intake service it opens recurrence \
                 tickets through"
                    .to_owned(),
            ));
        }
        let attachments = if selection.contains(ServiceName::Intake)
            || selection.contains(ServiceName::Acceptance)
        {
            Some(AttachmentStore::open(&settings.attachments).map_err(StartupError::Attachments)?)
        } else {
            None
        };
        let addr = settings.server.listen;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| StartupError::Bind { addr, source })?;
        let local_addr = listener
            .local_addr()
            .map_err(|source| StartupError::Bind { addr, source })?;
        Ok(Application {
            listener,
            local_addr,
            settings,
            selection,
            db,
            bus,
            authenticator,
            generated_secret,
            attachments,
            faults: None,
        })
    }

    /// Injects faults (tests of supervision).
    #[doc(hidden)]
    pub fn inject_faults(&mut self, faults: Faults) {
        self.faults = Some(faults);
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// How the feedback service reaches intake's contract: the configured
    /// `feedback.intake_url`, else this process's own port (intake runs here: checked in
    /// [`Application::build`]). Lazy: nothing connects until the first call.
    fn intake_link(&self) -> Result<steelcare_feedback::IntakeLink, StartupError> {
        let url = self
            .settings
            .feedback
            .intake_url
            .clone()
            .unwrap_or_else(|| {
                let mut own = self.local_addr;
                if own.ip().is_unspecified() {
                    own.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
                }
                format!("http://{own}")
            });
        let endpoint = tonic::transport::Endpoint::from_shared(url.clone())
            .map_err(|err| StartupError::Wiring(format!("feedback.intake_url {url}: {err}")))?;
        Ok(steelcare_feedback::IntakeLink::new(
            endpoint
                .connect_timeout(std::time::Duration::from_secs(5))
                .connect_lazy(),
        ))
    }

    /// The database handle (tests inspect it).
    pub fn db(&self) -> &Database {
        &self.db
    }

    /// The bus (tests inspect it).
    pub fn bus(&self) -> &Bus {
        &self.bus
    }

    /// The authenticator (tests and `steelcare token` issue tokens with it).
    pub fn authenticator(&self) -> &Authenticator {
        &self.authenticator
    }

    /// The issuers the console signs in at (those with a console client id).
    fn provider_issuers(&self) -> Vec<String> {
        self.settings
            .auth
            .oidc
            .iter()
            .filter(|provider| !provider.console_client_id.is_empty())
            .map(|provider| provider.issuer.clone())
            .collect()
    }

    /// Logs what this process serves, and where the embedded default keeps its secret.
    fn announce(&self) {
        tracing::info!(
            addr = %self.local_addr,
            services = ?self.selection.services(),
            database = %redact_url(&self.settings.database.url),
            bus = ?self.bus.backend,
            "steelcare serving"
        );
        if let Some(path) = &self.generated_secret {
            tracing::info!(
                path = %path.display(),
                "embedded default: tokens are signed with the secret in this file; `steelcare token` uses it"
            );
        }
    }

    /// Starts what every process runs (the outbox relay, the gauges' sampler where metrics
    /// are exported) and answers the wiring the services mount with.
    fn start_background(&self, supervisor: &Supervisor, drain: watch::Receiver<bool>) -> Wiring {
        let relay = OutboxRelay::new(self.db.clone(), self.bus.events.clone())
            .with_options(self.settings.bus.relay_options());
        let relay_wake = relay.waker();
        let published = relay.published();
        let sequenced = relay.sequenced();
        supervisor.spawn("", "outbox-relay", move |stop| relay.clone().run(stop));
        if self.settings.telemetry.otlp_endpoint.is_some() {
            let sampler = Arc::new(steelcare_runtime::metrics::Sampler::new(
                self.db.clone(),
                self.bus.events.clone(),
                self.bus.queue.clone(),
                vec![steelcare_dispatch::engine::QUEUE.to_owned()],
                self.settings.telemetry.metrics_interval,
            ));
            supervisor.spawn("", "metrics-sampler", move |stop| sampler.clone().run(stop));
        }
        Wiring {
            db: self.db.clone(),
            bus: self.bus.clone(),
            settings: self.settings.clone(),
            supervisor: supervisor.clone(),
            relay_wake,
            published,
            sequenced,
            drain,
            consumer_name: format!(
                "{}-{}",
                std::env::var("HOSTNAME").unwrap_or_else(|_| "steelcare".to_owned()),
                std::process::id()
            ),
            interceptor: self.authenticator.interceptor(),
        }
    }

    /// Adds admin, integration and each chosen service (its crate's `mount`, one line each)
    /// to `routes`; answers the names mounted.
    fn mount_services(
        &self,
        w: &Wiring,
        routes: &mut RoutesBuilder,
    ) -> Result<Vec<&'static str>, StartupError> {
        let max = w.max_message();
        routes.add_service(InterceptedService::new(
            AdminServiceServer::new(AdminService::new(
                self.db.clone(),
                self.settings.intake.calendar.clone(),
                self.settings.intake.timezone,
            ))
            .max_decoding_message_size(max)
            .max_encoding_message_size(max),
            w.interceptor.clone(),
        ));
        routes.add_service(InterceptedService::new(
            IntegrationServiceServer::new(IntegrationService::new(
                self.db.clone(),
                w.sequenced.clone(),
                w.drain.clone(),
            ))
            .max_decoding_message_size(max)
            .max_encoding_message_size(max),
            w.interceptor.clone(),
        ));
        let identity = IdentityService::new(
            self.db.clone(),
            self.authenticator.clone(),
            self.settings.auth.access_token_lifetime,
            self.settings.auth.refresh_token_lifetime,
        );
        // Signing in carries no token: the password or refresh token is the credential.
        routes.add_service(SessionServiceServer::new(identity.clone()));
        routes.add_service(InterceptedService::new(
            PeopleServiceServer::new(identity),
            w.interceptor.clone(),
        ));
        let mut mounted = vec![
            <AdminServiceServer<AdminService> as NamedService>::NAME,
            <IntegrationServiceServer<IntegrationService> as NamedService>::NAME,
            <SessionServiceServer<IdentityService> as NamedService>::NAME,
            <PeopleServiceServer<IdentityService> as NamedService>::NAME,
        ];
        let faults = self.faults.as_ref();
        let wants = |name| self.selection.contains(name);
        if let (true, Some(files)) = (wants(ServiceName::Intake), &self.attachments) {
            mounted.push(steelcare_intake::mount(w, routes, files.clone()));
        }
        if wants(ServiceName::Dispatch) {
            let panics = faults.map(|f| f.panic_dispatch_jobs.clone());
            mounted.push(steelcare_dispatch::mount(w, routes, panics));
        }
        if wants(ServiceName::Repair) {
            let hold = faults.map(|f| f.hold_repair_events.clone());
            mounted.push(steelcare_repair::mount(w, routes, hold));
        }
        if let (true, Some(files)) = (wants(ServiceName::Acceptance), &self.attachments) {
            mounted.push(steelcare_acceptance::mount(w, routes, files.clone()));
        }
        if wants(ServiceName::Feedback) {
            mounted.push(steelcare_feedback::mount(w, routes, self.intake_link()?));
        }
        if wants(ServiceName::Notify) {
            mounted.push(steelcare_notify::mount(w, routes).map_err(StartupError::Wiring)?);
        }
        Ok(mounted)
    }

    /// Serves until `shutdown` resolves, then stops accepting, drains in-flight calls (up to
    /// `server.shutdown_grace_secs`) and stops the workers.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartupError> {
        let (stop_workers, workers_stopped) = watch::channel(false);
        // Turns true when shutdown begins: streams end, in-flight calls drain.
        let (drain_started, mut drain_signal) = watch::channel(false);
        let supervisor = Supervisor::new(workers_stopped.clone());
        let wiring = self.start_background(&supervisor, drain_signal.clone());
        let mut routes = Routes::builder();
        let mounted = self.mount_services(&wiring, &mut routes)?;
        add_reflection(&mut routes, &mounted)?;

        let (health, health_service) = tonic_health::server::health_reporter();
        let monitor = Arc::new(HealthMonitor {
            reporter: health.clone(),
            db: self.db.clone(),
            supervisor: supervisor.clone(),
            services: mounted.clone(),
            draining: drain_signal.clone(),
        });
        routes.add_service(health_service);
        monitor.check(&mut None).await;
        supervisor.spawn("", "health-monitor", move |stop| monitor.clone().run(stop));

        self.announce();

        let grace = self.settings.server.shutdown_grace;
        let delay = self.settings.server.drain_delay;
        // At SIGTERM health turns NOT_SERVING at once (streams end too); the listener keeps
        // accepting for `server.drain_delay_ms`, so balancers that check health move away
        // first; then it closes (the acceptor) and in-flight calls drain.
        let drain_health = health.clone();
        let drain_names: Vec<&'static str> = mounted.iter().copied().chain([""]).collect();
        let console = ConsoleLayer::new(&self.provider_issuers());
        let (incoming, acceptor) = crate::acceptor::accept(self.listener);
        let signal = async move {
            shutdown.await;
            let _ = drain_started.send(true);
            for name in &drain_names {
                drain_health
                    .set_service_status(*name, tonic_health::ServingStatus::NotServing)
                    .await;
            }
            if !delay.is_zero() {
                tracing::info!(
                    delay_ms = delay.as_millis() as u64,
                    "draining: health NOT_SERVING"
                );
                tokio::time::sleep(delay).await;
            }
            // The listener closes; connections that just arrived are read before the
            // server's graceful close, which would drop a connection it has not read yet.
            acceptor.stop().await;
        };
        let serve = Server::builder()
            .accept_http1(true)
            .timeout(self.settings.server.request_timeout)
            .layer(cors_layer(&self.settings.server.cors_allowed_origins))
            .layer(console)
            .layer(GrpcWebLayer::new())
            .layer(RpcTraceLayer::new(self.settings.server.default_locale))
            .layer(OidcLayer::new(self.authenticator.oidc().clone()))
            .add_routes(routes.routes())
            .serve_with_incoming_shutdown(incoming, signal);
        tokio::pin!(serve);
        let served = tokio::select! {
            result = &mut serve => result,
            _ = async {
                let _ = drain_signal.wait_for(|started| *started).await;
                tokio::time::sleep(delay + grace).await;
            } => {
                tracing::warn!(grace_secs = grace.as_secs(), "in-flight calls did not finish within the grace period");
                Ok(())
            }
        };
        for name in mounted.iter().copied().chain([""]) {
            health
                .set_service_status(name, tonic_health::ServingStatus::NotServing)
                .await;
        }
        let _ = stop_workers.send(true);
        supervisor.join().await;
        tracing::info!("steelcare stopped");
        Ok(served?)
    }
}

/// Adds server reflection, both versions, to `routes`: it lists only what this process
/// serves (`mounted`), and carries the `google.rpc` error details so grpcurl can print a
/// BadRequest.
fn add_reflection(
    routes: &mut RoutesBuilder,
    mounted: &[&'static str],
) -> Result<(), StartupError> {
    let configure = || {
        let mut builder = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(steelcare_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_types::pb::FILE_DESCRIPTOR_SET)
            // Both reflection versions are listed, so each must describe both: a client
            // describes every service it is shown.
            .register_encoded_file_descriptor_set(tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(
                tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
            )
            .with_service_name("grpc.health.v1.Health")
            .with_service_name("grpc.reflection.v1.ServerReflection")
            .with_service_name("grpc.reflection.v1alpha.ServerReflection");
        for name in mounted {
            builder = builder.with_service_name(*name);
        }
        builder
    };
    routes
        .add_service(
            configure()
                .build_v1()
                .map_err(|err| StartupError::Reflection(err.to_string()))?,
        )
        .add_service(
            configure()
                .build_v1alpha()
                .map_err(|err| StartupError::Reflection(err.to_string()))?,
        );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db:5432/steelcare"),
            "postgres://app:***@db:5432/steelcare"
        );
        assert_eq!(
            super::postgres_host_port("postgres://u:p@db.internal:6543/x?sslmode=disable"),
            Some(("db.internal".to_owned(), 6543))
        );
        assert_eq!(
            super::postgres_host_port("postgres://u@localhost/x"),
            Some(("localhost".to_owned(), 5432))
        );
        assert_eq!(super::postgres_host_port("sqlite://./x.db"), None);
        assert_eq!(
            redact_url("redis://127.0.0.1:6379"),
            "redis://127.0.0.1:6379"
        );
    }
}
