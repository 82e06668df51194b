//! Configuration (DESIGN.md decision 10): built-in defaults, then an optional TOML file, then
//! `STEELCARE__SECTION__KEY` environment variables. Unknown keys and invalid values stop
//! start-up with a message naming the key.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::NaiveTime;

use config::{Config, Environment, File, FileFormat};
use serde::Deserialize;
use steelcare_domain::BusinessCalendar;
use steelcare_domain::category::UnknownValue;
use steelcare_domain::cost::{CostPolicy, Party, Treatment};
use steelcare_domain::dispatch::{Skill, SkillRules};
use steelcare_domain::money::{Currency, MAX_MINOR};
use steelcare_domain::sla::{ClockMode, PolicyBook, PolicyOverride, SlaDuration};
use steelcare_domain::{ProblemCategory, SeverityTier};

mod notify;
pub use notify::{
    NotifySettings, SmsSettings, SmtpSecurity, SmtpSettings, WebhookKind, WebhookSettings,
    parse_hhmm,
};

const DEFAULTS: &str = r#"
data_dir = "./data"

[server]
listen = "127.0.0.1:50051"
max_message_bytes = 4194304
request_timeout_secs = 30
shutdown_grace_secs = 20
drain_delay_ms = 0
cors_allowed_origins = []
default_locale = "zh-CN"

[database]
url = "sqlite://./data/steelcare.db?mode=rwc"
max_connections = 10

[redis]
key_prefix = "steelcare:"

[bus]
redelivery_idle_ms = 5000
relay_lease_ms = 5000

[auth]
issuer = "steelcare"
max_token_lifetime = "720h"
access_token_lifetime = "15m"
refresh_token_lifetime = "12h"

[intake]
timezone = "Asia/Shanghai"
escalation_thresholds = [0.5, 0.8]
watcher_interval_ms = 1000

[dispatch]
workers = 4
consumers = 2
lease_ms = 10000
offer_timeout = { p1 = "10m", p2 = "30m", p3 = "2h", p4 = "4h" }
retry_base = "30s"
retry_max = "10m"
sweep_interval_ms = 500
reconcile_interval_ms = 5000
survey_duration = "4h"

[repair]
chief_engineer_above_cents = 5000000
currency = "CNY"
consumers = 1
watcher_interval_ms = 1000

# Who pays (steelcare_domain::cost): per responsible party, in warranty and out of it, one of
# free, claim (designer, material_supplier, third_party only), at_cost, paid_service.
[repair.cost_policy.in_warranty]
contractor = "free"
designer = "claim"
material_supplier = "claim"
third_party = "claim"
customer_use = "paid_service"
environment = "paid_service"
force_majeure = "paid_service"

[repair.cost_policy.out_of_warranty]
contractor = "at_cost"
designer = "claim"
material_supplier = "claim"
third_party = "claim"
customer_use = "paid_service"
environment = "paid_service"
force_majeure = "paid_service"

[feedback]
team = "customer-service"
verification_days = 90
# Local time of day return visits fall due, on the first working day of the business calendar
# on or after the day they are due; it must lie within a working shift.
visit_time = "10:00"
# The intake service feedback opens recurrence tickets through (its gRPC address, e.g.
# http://steelcare-intake:50051); empty: this process's own, when it runs intake too.
intake_url = ""
consumers = 1
# Where this process keeps its copy of the experience base's search index (a cache of the
# database, rebuilt when missing); empty: `<data_dir>/search`.
search_dir = ""

[attachments]
max_bytes = 26214400
allowed_content_types = [
  "image/jpeg", "image/png", "image/heic", "image/webp",
  "video/mp4", "video/quicktime", "application/pdf",
]
s3_allow_http = false

[telemetry]
log_format = "pretty"
log_filter = "info"
service_name = "steelcare"
metrics_interval_ms = 10000
"#;

/// A configuration problem, naming the key.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The file could not be read or parsed, or a value has the wrong type.
    #[error("configuration: {0}")]
    Load(String),
    /// A value is of the right type but not acceptable.
    #[error("configuration key {key}: {message}")]
    Invalid {
        /// Dotted key, e.g. `server.listen`.
        key: &'static str,
        /// What is wrong.
        message: String,
    },
}

fn invalid(key: &'static str, message: impl Into<String>) -> SettingsError {
    SettingsError::Invalid {
        key,
        message: message.into(),
    }
}

/// A secret that never prints.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself; use only where it is needed.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSettings {
    data_dir: PathBuf,
    server: RawServer,
    database: RawDatabase,
    redis: RawRedis,
    bus: RawBus,
    auth: RawAuth,
    telemetry: RawTelemetry,
    intake: RawIntake,
    dispatch: RawDispatch,
    repair: RawRepair,
    feedback: RawFeedback,
    notify: notify::RawNotify,
    attachments: RawAttachments,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFeedback {
    team: String,
    verification_days: u32,
    visit_time: String,
    intake_url: String,
    consumers: u32,
    search_dir: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRepair {
    chief_engineer_above_cents: i64,
    currency: String,
    consumers: u32,
    watcher_interval_ms: u64,
    cost_policy: RawCostPolicy,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCostPolicy {
    in_warranty: std::collections::BTreeMap<String, String>,
    out_of_warranty: std::collections::BTreeMap<String, String>,
}

impl RawCostPolicy {
    fn validate(&self) -> Result<CostPolicy, SettingsError> {
        let mut policy = CostPolicy::default();
        for (in_warranty, key, rules) in [
            (true, "repair.cost_policy.in_warranty", &self.in_warranty),
            (
                false,
                "repair.cost_policy.out_of_warranty",
                &self.out_of_warranty,
            ),
        ] {
            for (party, treatment) in rules {
                let party: Party = party
                    .parse()
                    .map_err(|e: UnknownValue| invalid(key, e.to_string()))?;
                let treatment: Treatment = treatment
                    .parse()
                    .map_err(|e: UnknownValue| invalid(key, e.to_string()))?;
                policy
                    .set(in_warranty, party, treatment)
                    .map_err(|e| invalid(key, e.to_string()))?;
            }
        }
        Ok(policy)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDispatch {
    workers: u32,
    consumers: u32,
    lease_ms: u64,
    offer_timeout: RawTierDurations,
    retry_base: String,
    retry_max: String,
    sweep_interval_ms: u64,
    reconcile_interval_ms: u64,
    survey_duration: String,
    #[serde(default)]
    category_skills: std::collections::BTreeMap<String, Vec<String>>,
    #[serde(default)]
    skill_certificates: std::collections::BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTierDurations {
    p1: String,
    p2: String,
    p3: String,
    p4: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIntake {
    timezone: String,
    calendar_file: Option<PathBuf>,
    escalation_thresholds: Vec<f64>,
    watcher_interval_ms: u64,
    #[serde(default)]
    sla: RawSla,
    #[serde(default)]
    sla_overrides: Vec<RawOverride>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSla {
    p1: Option<RawTier>,
    p2: Option<RawTier>,
    p3: Option<RawTier>,
    p4: Option<RawTier>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTier {
    mode: Option<String>,
    response: Option<String>,
    arrival: Option<String>,
    solution: Option<String>,
    completion: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOverride {
    customer_id: Option<String>,
    contract_number: Option<String>,
    tier: String,
    response: Option<String>,
    arrival: Option<String>,
    solution: Option<String>,
    completion: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAttachments {
    max_bytes: u64,
    allowed_content_types: Vec<String>,
    local_dir: Option<PathBuf>,
    s3_bucket: Option<String>,
    s3_endpoint: Option<String>,
    s3_region: Option<String>,
    s3_access_key_id: Option<String>,
    s3_secret_access_key: Option<String>,
    s3_allow_http: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServer {
    listen: String,
    max_message_bytes: u64,
    request_timeout_secs: u64,
    shutdown_grace_secs: u64,
    drain_delay_ms: u64,
    cors_allowed_origins: Vec<String>,
    default_locale: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDatabase {
    url: String,
    max_connections: u32,
    migrate_on_start: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRedis {
    url: Option<String>,
    key_prefix: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBus {
    redelivery_idle_ms: u64,
    relay_lease_ms: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAuth {
    jwt_secret: Option<String>,
    jwt_public_key_file: Option<PathBuf>,
    issuer: String,
    max_token_lifetime: String,
    access_token_lifetime: String,
    refresh_token_lifetime: String,
    #[serde(default)]
    oidc: std::collections::BTreeMap<String, RawOidc>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOidc {
    issuer: String,
    audience: String,
    #[serde(default = "default_oidc_algorithms")]
    algorithms: Vec<String>,
    #[serde(default)]
    roles_claim: String,
    #[serde(default)]
    role_map: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    organization_claim: String,
    #[serde(default = "default_name_claim")]
    name_claim: String,
    #[serde(default = "default_locale_claim")]
    locale_claim: String,
    #[serde(default)]
    login_claim: String,
    #[serde(default)]
    require_directory: bool,
    #[serde(default = "default_refetch_floor")]
    jwks_refetch_floor: String,
    #[serde(default = "default_jwks_max_age")]
    jwks_max_age: String,
    #[serde(default)]
    console_client_id: String,
    #[serde(default)]
    console_label: String,
    #[serde(default = "default_console_scope")]
    console_scope: String,
    #[serde(default)]
    console_resource: String,
}

fn default_oidc_algorithms() -> Vec<String> {
    ["RS256", "ES256", "EdDSA"].map(str::to_owned).to_vec()
}

fn default_name_claim() -> String {
    "name".to_owned()
}

fn default_locale_claim() -> String {
    "locale".to_owned()
}

fn default_refetch_floor() -> String {
    "30s".to_owned()
}

fn default_jwks_max_age() -> String {
    "1h".to_owned()
}

fn default_console_scope() -> String {
    "openid profile offline_access".to_owned()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTelemetry {
    otlp_endpoint: Option<String>,
    log_format: String,
    log_filter: String,
    service_name: String,
    metrics_interval_ms: u64,
}

/// Validated settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where the embedded default keeps its files (SQLite, generated secret, attachments).
    pub data_dir: PathBuf,
    /// The gRPC server.
    pub server: ServerSettings,
    /// The SQL database.
    pub database: DatabaseSettings,
    /// Redis; `None` url = the embedded queue and streams.
    pub redis: RedisSettings,
    /// The event bus: redelivery and the relay's lease.
    pub bus: BusSettings,
    /// Authentication.
    pub auth: AuthSettings,
    /// Logs and traces.
    pub telemetry: TelemetrySettings,
    /// Intake: acceptance-number time zone, business calendar, SLA policies, escalation.
    pub intake: IntakeSettings,
    /// Dispatch: queue workers, leases, offer timeouts, retry backoff, skill rules.
    pub dispatch: DispatchSettings,
    /// Repair: the approval threshold of the chief engineer.
    pub repair: RepairSettings,
    /// Feedback: the return-visit team, the corrective-action verification window.
    pub feedback: FeedbackSettings,
    /// Notifications: channels, retries, the duty managers.
    pub notify: NotifySettings,
    /// Attachments: limits and storage.
    pub attachments: AttachmentSettings,
}

/// `[bus]`.
#[derive(Debug, Clone)]
pub struct BusSettings {
    /// A delivered event not acknowledged for this long goes to another consumer of its
    /// group (its consumer crashed or hangs).
    pub redelivery_idle: Duration,
    /// One outbox relay publishes across replicas; it holds a lease in the database for
    /// this long, renewed as it works, and another process takes over once it lapses.
    pub relay_lease: Duration,
}

impl BusSettings {
    /// The relay's options.
    pub fn relay_options(&self) -> steelcare_bus::RelayOptions {
        steelcare_bus::RelayOptions {
            lease: self.relay_lease,
            ..Default::default()
        }
    }
}

/// `[dispatch]`.
#[derive(Debug, Clone)]
pub struct DispatchSettings {
    /// Queue workers in this process (0: this process claims no jobs).
    pub workers: u32,
    /// Event consumers of the dispatch group in this process (at least 1).
    pub consumers: u32,
    /// How long a claimed job is held before it returns to the queue.
    pub lease: Duration,
    /// How long an offer stays open, per tier (P1 first).
    pub offer_timeout: [Duration; 4],
    /// First wait after nobody was available; doubles per attempt.
    pub retry_base: Duration,
    /// Longest wait between attempts.
    pub retry_max: Duration,
    /// How often expired offers and due retries are looked for.
    pub sweep_interval: Duration,
    /// How often the queue is rebuilt from the database (and at start).
    pub reconcile_interval: Duration,
    /// Expected length of a survey when the plan does not say.
    pub survey_duration: Duration,
    /// Skills per category and certificates per skill.
    pub rules: SkillRules,
}

impl DispatchSettings {
    /// The offer timeout of a tier.
    pub fn offer_timeout_for(&self, tier: SeverityTier) -> Duration {
        self.offer_timeout[tier.proto_value() as usize - 1]
    }
}

/// `[feedback]`.
#[derive(Debug, Clone)]
pub struct FeedbackSettings {
    /// The team return visits are assigned to.
    pub team: String,
    /// Days after a fix with no recurrence that verify a corrective action (by default).
    pub verification_days: u32,
    /// Local time of day return visits fall due (within a working shift).
    pub visit_time: NaiveTime,
    /// The intake service's gRPC address (`http://host:port`); `None`: this process's own.
    pub intake_url: Option<String>,
    /// Event consumers of the feedback group in this process (at least 1).
    pub consumers: u32,
    /// Where this process keeps its copy of the search index.
    pub search_dir: PathBuf,
}

/// `[repair]`.
#[derive(Debug, Clone)]
pub struct RepairSettings {
    /// A plan whose estimate is above this many cents needs the chief engineer's approval too.
    pub chief_engineer_above_cents: i64,
    /// The currency of every amount (an ISO 4217 code the product knows).
    pub currency: Currency,
    /// Who pays, per responsible party, in warranty and out of it.
    pub cost_policy: CostPolicy,
    /// Event consumers of the repair group in this process (at least 1).
    pub consumers: u32,
    /// How often the appraisal watcher looks for passed deadlines.
    pub watcher_interval: Duration,
}

/// `[intake]`.
#[derive(Debug, Clone)]
pub struct IntakeSettings {
    /// Time zone of acceptance-number dates.
    pub timezone: chrono_tz::Tz,
    /// Business calendar (the shipped China 2026 one unless `intake.calendar_file` is set).
    pub calendar: BusinessCalendar,
    /// SLA policies per tier with overrides.
    pub policies: PolicyBook,
    /// Fractions of a limit at which at-risk events fire, ascending, each in (0, 1).
    pub escalation_thresholds: Vec<f64>,
    /// How often the escalation watcher looks.
    pub watcher_interval: Duration,
}

/// Where attachment bytes go.
#[derive(Debug, Clone)]
pub enum AttachmentStorage {
    /// A directory on the local filesystem.
    Local(PathBuf),
    /// An S3-compatible bucket.
    S3 {
        /// Bucket.
        bucket: String,
        /// Endpoint for S3-compatible stores (MinIO, OSS); unset = AWS.
        endpoint: Option<String>,
        /// Region.
        region: String,
        /// Access key id.
        access_key_id: Option<String>,
        /// Secret access key.
        secret_access_key: Option<Secret>,
        /// Allow plain http endpoints.
        allow_http: bool,
    },
}

/// `[attachments]`.
#[derive(Debug, Clone)]
pub struct AttachmentSettings {
    /// Largest attachment accepted.
    pub max_bytes: u64,
    /// MIME types accepted.
    pub allowed_content_types: Vec<String>,
    /// Storage.
    pub storage: AttachmentStorage,
}

/// `[server]`.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    /// Address to listen on; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Largest message accepted or sent.
    pub max_message_bytes: usize,
    /// Deadline for one unary call.
    pub request_timeout: Duration,
    /// How long shutdown waits for in-flight calls.
    pub shutdown_grace: Duration,
    /// At shutdown, how long health says NOT_SERVING while the listener still accepts, so
    /// load balancers that check health stop sending before it closes.
    pub drain_delay: Duration,
    /// Origins allowed for gRPC-Web from browsers; `*` allows any, empty allows none.
    pub cors_allowed_origins: Vec<String>,
    /// The locale of a caller who asks for none of ours and has no stored preference.
    pub default_locale: steelcare_i18n::Locale,
}

/// `[database]`.
#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    /// `sqlite://...` or `postgres://...`.
    pub url: String,
    /// Pool size.
    pub max_connections: u32,
    /// Whether `serve` applies migrations at start.
    pub migrate_on_start: bool,
}

/// `[redis]`.
#[derive(Debug, Clone)]
pub struct RedisSettings {
    /// `redis://host:port/db`; unset = embedded bus.
    pub url: Option<String>,
    /// Prefix of every key.
    pub key_prefix: String,
}

/// `[auth]`.
#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// HS256 secret.
    pub jwt_secret: Option<Secret>,
    /// PEM public key (RS256 or ES256) to verify tokens issued elsewhere.
    pub jwt_public_key_file: Option<PathBuf>,
    /// `iss` claim issued and required.
    pub issuer: String,
    /// The longest a token may be valid (`exp` − `iat`); longer ones are refused.
    pub max_token_lifetime: Duration,
    /// How long an access token from a password sign-in is valid: how long a disabled person
    /// keeps working at most.
    pub access_token_lifetime: Duration,
    /// How long a refresh token is valid (each use gives a new one).
    pub refresh_token_lifetime: Duration,
    /// The OpenID Providers whose access tokens are trusted (`[auth.oidc.<name>]`), by name.
    pub oidc: Vec<OidcSettings>,
}

/// `[auth.oidc.<name>]`: an OpenID Provider whose access tokens SteelCare accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcSettings {
    /// The table's name (`staff`, `customers`), shown on the console's sign-in button unless
    /// `console_label` says otherwise.
    pub name: String,
    /// The `iss` of its tokens, exactly; the discovery document is at
    /// `<issuer>/.well-known/openid-configuration`.
    pub issuer: String,
    /// The `aud` a token must carry to be for SteelCare.
    pub audience: String,
    /// Signature algorithms accepted (of RS256, ES256, EdDSA).
    pub algorithms: Vec<jsonwebtoken::Algorithm>,
    /// Dotted path of the claim holding roles or groups (`groups`, `realm_access.roles`);
    /// empty: roles come from the directory only.
    pub roles_claim: String,
    /// A claim value to the role it grants; empty: values that are role names grant that role.
    pub role_map: Vec<(String, steelcare_domain::Role)>,
    /// Dotted path of the claim holding a customer's organisation; empty: from the directory.
    pub organization_claim: String,
    /// The claim holding the person's display name.
    pub name_claim: String,
    /// The claim holding the person's language.
    pub locale_claim: String,
    /// The claim matched against a person's login in the directory; empty: no directory.
    pub login_claim: String,
    /// Whether a person must be in the directory (and enabled) to be let in.
    pub require_directory: bool,
    /// The shortest time between two fetches of the key set for an unknown `kid`.
    pub jwks_refetch_floor: Duration,
    /// How long a fetched key set is used before it is fetched again.
    pub jwks_max_age: Duration,
    /// The console's client id at this provider; empty: the console offers no button for it.
    pub console_client_id: String,
    /// The console's sign-in button.
    pub console_label: String,
    /// The scopes the console asks for.
    pub console_scope: String,
    /// The `resource` the console asks a token for (RFC 8707), when the provider needs one.
    pub console_resource: String,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable.
    Pretty,
    /// One JSON object per line.
    Json,
}

/// `[telemetry]`.
#[derive(Debug, Clone)]
pub struct TelemetrySettings {
    /// OTLP gRPC endpoint, e.g. `http://otel-collector:4317`; unset = no export.
    pub otlp_endpoint: Option<String>,
    /// Log format.
    pub log_format: LogFormat,
    /// `tracing` filter directive (`RUST_LOG` overrides it).
    pub log_filter: String,
    /// `service.name` of exported traces.
    pub service_name: String,
    /// How often metrics are exported, and the database and bus sampled for the gauges.
    pub metrics_interval: Duration,
}

impl Settings {
    /// Loads defaults, then `files` in order (each must exist; a later one overrides an
    /// earlier one, e.g. a Deployment's own database credentials over the shared secrets), then
    /// the environment.
    pub fn load(files: &[PathBuf]) -> Result<Settings, SettingsError> {
        Self::load_with_env(files, std::env::vars())
    }

    /// As [`Settings::load`], with the environment given explicitly (for tests).
    pub fn load_with_env(
        files: &[PathBuf],
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Settings, SettingsError> {
        let mut builder = Config::builder()
            .add_source(File::from_str(DEFAULTS, FileFormat::Toml))
            .add_source(File::from_str(notify::DEFAULTS, FileFormat::Toml));
        for path in files {
            if !path.is_file() {
                return Err(SettingsError::Load(format!(
                    "cannot read config file {}",
                    path.display()
                )));
            }
            builder = builder.add_source(File::from(path.as_path()).format(FileFormat::Toml));
        }
        let env: Vec<(String, String)> = env.into_iter().collect();
        // The standard OpenTelemetry variables win over the configuration: each Deployment
        // names its service with OTEL_SERVICE_NAME (OTEL_RESOURCE_ATTRIBUTES is read by the
        // SDK's resource detector).
        let standard = |name: &str| {
            env.iter()
                .find(|(k, v)| k == name && !v.trim().is_empty())
                .map(|(_, v)| v.trim().to_owned())
        };
        if let Some(endpoint) = standard("OTEL_EXPORTER_OTLP_ENDPOINT") {
            builder = builder
                .set_override("telemetry.otlp_endpoint", endpoint)
                .map_err(|err| SettingsError::Load(one_line(&err.to_string())))?;
        }
        if let Some(name) = standard("OTEL_SERVICE_NAME") {
            builder = builder
                .set_override("telemetry.service_name", name)
                .map_err(|err| SettingsError::Load(one_line(&err.to_string())))?;
        }
        let env_map = env
            .into_iter()
            .filter(|(k, _)| k.starts_with("STEELCARE__"))
            .collect();
        builder = builder.add_source(
            Environment::with_prefix("STEELCARE")
                .prefix_separator("__")
                .separator("__")
                .list_separator(",")
                .with_list_parse_key("server.cors_allowed_origins")
                .with_list_parse_key("intake.escalation_thresholds")
                .with_list_parse_key("attachments.allowed_content_types")
                .with_list_parse_key("notify.duty_managers")
                .try_parsing(true)
                .source(Some(env_map)),
        );
        let raw: RawSettings = builder
            .build()
            .and_then(Config::try_deserialize)
            .map_err(|err| SettingsError::Load(one_line(&err.to_string())))?;
        raw.validate()
    }

    /// True when running on SQLite with the embedded bus: the no-servers default.
    pub fn is_embedded(&self) -> bool {
        self.database.url.starts_with("sqlite:") && self.redis.url.is_none()
    }
}

/// A parser message on one line: source snippets and carets dropped, the rest joined.
fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .filter(|l| {
            let code = l
                .trim_start_matches(|c: char| c.is_ascii_digit())
                .trim_start();
            !code.starts_with('|')
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.trim().is_empty())
}

impl RawSettings {
    fn validate(self) -> Result<Settings, SettingsError> {
        let server = self.server.validate()?;
        let database = self.database.validate()?;
        let redis = self.redis.validate()?;
        let telemetry = self.telemetry.validate()?;
        let auth = self.auth.validate()?;
        let bus = self.bus.validate()?;
        let intake = self.intake.validate()?;
        let dispatch = self.dispatch.validate()?;
        let repair = self.repair.validate()?;
        let feedback = self.feedback.validate(&intake.calendar, &self.data_dir)?;
        let notify = self.notify.validate()?;
        let attachments = self.attachments.validate(&self.data_dir)?;
        Ok(Settings {
            intake,
            dispatch,
            repair,
            feedback,
            notify,
            attachments,
            data_dir: self.data_dir,
            server,
            database,
            redis,
            bus,
            auth,
            telemetry,
        })
    }
}

impl RawServer {
    fn validate(self) -> Result<ServerSettings, SettingsError> {
        let listen: SocketAddr = self.listen.parse().map_err(|_| {
            invalid(
                "server.listen",
                format!(
                    "{:?} is not a socket address like 127.0.0.1:50051",
                    self.listen
                ),
            )
        })?;
        if self.max_message_bytes < 1024 || self.max_message_bytes > 256 << 20 {
            return Err(invalid(
                "server.max_message_bytes",
                "must be between 1024 and 268435456",
            ));
        }
        if self.request_timeout_secs == 0 {
            return Err(invalid("server.request_timeout_secs", "must be at least 1"));
        }
        if self.drain_delay_ms > 60_000 {
            return Err(invalid("server.drain_delay_ms", "must be at most 60000"));
        }
        let default_locale = self
            .default_locale
            .parse::<steelcare_i18n::Locale>()
            .map_err(|err| invalid("server.default_locale", err.to_string()))?;
        Ok(ServerSettings {
            listen,
            max_message_bytes: self.max_message_bytes as usize,
            request_timeout: Duration::from_secs(self.request_timeout_secs),
            shutdown_grace: Duration::from_secs(self.shutdown_grace_secs),
            drain_delay: Duration::from_millis(self.drain_delay_ms),
            cors_allowed_origins: self.cors_allowed_origins,
            default_locale,
        })
    }
}

impl RawDatabase {
    fn validate(self) -> Result<DatabaseSettings, SettingsError> {
        let url = self.url.trim().to_owned();
        let is_sqlite = url.starts_with("sqlite:");
        if !(is_sqlite || url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(invalid(
                "database.url",
                "must start with sqlite:, postgres:// or postgresql://",
            ));
        }
        if self.max_connections == 0 {
            return Err(invalid("database.max_connections", "must be at least 1"));
        }
        Ok(DatabaseSettings {
            url,
            max_connections: self.max_connections,
            migrate_on_start: self.migrate_on_start.unwrap_or(is_sqlite),
        })
    }
}

impl RawRedis {
    fn validate(self) -> Result<RedisSettings, SettingsError> {
        let url = non_empty(self.url);
        if let Some(u) = &url
            && !(u.starts_with("redis://") || u.starts_with("redis+unix://"))
        {
            return Err(invalid(
                "redis.url",
                "must start with redis:// or redis+unix://",
            ));
        }
        Ok(RedisSettings {
            url,
            key_prefix: self.key_prefix,
        })
    }
}

impl RawTelemetry {
    fn validate(self) -> Result<TelemetrySettings, SettingsError> {
        let log_format = match self.log_format.as_str() {
            "pretty" => LogFormat::Pretty,
            "json" => LogFormat::Json,
            other => {
                return Err(invalid(
                    "telemetry.log_format",
                    format!("{other:?} is not one of pretty, json"),
                ));
            }
        };
        let otlp_endpoint = non_empty(self.otlp_endpoint);
        if let Some(e) = &otlp_endpoint
            && !(e.starts_with("http://") || e.starts_with("https://"))
        {
            return Err(invalid(
                "telemetry.otlp_endpoint",
                "must be an http:// or https:// URL",
            ));
        }
        if !(100..=3_600_000).contains(&self.metrics_interval_ms) {
            return Err(invalid(
                "telemetry.metrics_interval_ms",
                "must be between 100 and 3600000",
            ));
        }
        Ok(TelemetrySettings {
            otlp_endpoint,
            log_format,
            log_filter: self.log_filter,
            service_name: self.service_name,
            metrics_interval: Duration::from_millis(self.metrics_interval_ms),
        })
    }
}

impl RawAuth {
    fn validate(self) -> Result<AuthSettings, SettingsError> {
        if let Some(path) = &self.jwt_public_key_file
            && !path.is_file()
        {
            return Err(invalid(
                "auth.jwt_public_key_file",
                format!("cannot read {}", path.display()),
            ));
        }
        let jwt_secret = non_empty(self.jwt_secret);
        if let Some(secret) = &jwt_secret
            && secret.len() < 16
        {
            return Err(invalid("auth.jwt_secret", "must be at least 16 characters"));
        }
        Ok(AuthSettings {
            jwt_secret: jwt_secret.map(Secret::new),
            jwt_public_key_file: self.jwt_public_key_file,
            issuer: self.issuer,
            max_token_lifetime: parse_span("auth.max_token_lifetime", &self.max_token_lifetime)?,
            access_token_lifetime: parse_span(
                "auth.access_token_lifetime",
                &self.access_token_lifetime,
            )?,
            refresh_token_lifetime: parse_span(
                "auth.refresh_token_lifetime",
                &self.refresh_token_lifetime,
            )?,
            oidc: self
                .oidc
                .into_iter()
                .map(|(name, raw)| raw.validate(name))
                .collect::<Result<_, _>>()?,
        })
    }
}

impl RawOidc {
    fn validate(self, name: String) -> Result<OidcSettings, SettingsError> {
        let issuer = self.issuer.trim_end_matches('/').to_owned();
        if !(issuer.starts_with("https://") || is_local_http(&issuer)) {
            return Err(invalid(
                "auth.oidc.<name>.issuer",
                format!(
                    "[auth.oidc.{name}]: {issuer:?} must be an https:// URL (http:// only on 127.0.0.1 or localhost)"
                ),
            ));
        }
        if self.audience.trim().is_empty() {
            return Err(invalid(
                "auth.oidc.<name>.audience",
                format!("[auth.oidc.{name}]: must name the audience of SteelCare's tokens"),
            ));
        }
        let algorithms = oidc_algorithms(&name, &self.algorithms)?;
        let role_map = oidc_role_map(&name, self.role_map)?;
        if self.require_directory && self.login_claim.trim().is_empty() {
            return Err(invalid(
                "auth.oidc.<name>.require_directory",
                format!("[auth.oidc.{name}]: needs login_claim, the claim matched to a login"),
            ));
        }
        if self.roles_claim.trim().is_empty() && self.login_claim.trim().is_empty() {
            return Err(invalid(
                "auth.oidc.<name>.roles_claim",
                format!(
                    "[auth.oidc.{name}]: roles come from roles_claim, login_claim (the directory), or both; neither is set"
                ),
            ));
        }
        let console_label = if self.console_label.trim().is_empty() {
            name.clone()
        } else {
            self.console_label
        };
        Ok(OidcSettings {
            issuer,
            audience: self.audience,
            algorithms,
            roles_claim: self.roles_claim,
            role_map,
            organization_claim: self.organization_claim,
            name_claim: self.name_claim,
            locale_claim: self.locale_claim,
            login_claim: self.login_claim,
            require_directory: self.require_directory,
            jwks_refetch_floor: parse_span(
                "auth.oidc.<name>.jwks_refetch_floor",
                &self.jwks_refetch_floor,
            )?,
            jwks_max_age: parse_span("auth.oidc.<name>.jwks_max_age", &self.jwks_max_age)?,
            console_client_id: self.console_client_id,
            console_label,
            console_scope: self.console_scope,
            console_resource: self.console_resource,
            name,
        })
    }
}

/// The signature algorithms a provider's tokens may use: some of RS256, ES256, EdDSA.
fn oidc_algorithms(
    name: &str,
    given: &[String],
) -> Result<Vec<jsonwebtoken::Algorithm>, SettingsError> {
    let algorithms = given
        .iter()
        .map(|alg| match alg.as_str() {
            "RS256" => Ok(jsonwebtoken::Algorithm::RS256),
            "ES256" => Ok(jsonwebtoken::Algorithm::ES256),
            "EdDSA" => Ok(jsonwebtoken::Algorithm::EdDSA),
            other => Err(invalid(
                "auth.oidc.<name>.algorithms",
                format!("[auth.oidc.{name}]: {other:?} is not one of RS256, ES256, EdDSA"),
            )),
        })
        .collect::<Result<Vec<_>, _>>()?;
    if algorithms.is_empty() {
        return Err(invalid(
            "auth.oidc.<name>.algorithms",
            format!("[auth.oidc.{name}]: at least one of RS256, ES256, EdDSA"),
        ));
    }
    Ok(algorithms)
}

/// A provider's claim values and the roles they grant (each a role name).
fn oidc_role_map(
    name: &str,
    given: std::collections::BTreeMap<String, String>,
) -> Result<Vec<(String, steelcare_domain::Role)>, SettingsError> {
    given
        .into_iter()
        .map(
            |(value, role)| match role.parse::<steelcare_domain::Role>() {
                Ok(role) => Ok((value, role)),
                Err(err) => Err(invalid(
                    "auth.oidc.<name>.role_map",
                    format!("[auth.oidc.{name}]: {value:?}: {err}"),
                )),
            },
        )
        .collect()
}

/// `http://127.0.0.1…` or `http://localhost…`: a provider on this machine (tests, a sidecar).
fn is_local_http(url: &str) -> bool {
    ["http://127.0.0.1", "http://localhost", "http://[::1]"]
        .iter()
        .any(|local| {
            url.strip_prefix(local)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with([':', '/']))
        })
}

impl RawBus {
    fn validate(self) -> Result<BusSettings, SettingsError> {
        if !(100..=600_000).contains(&self.redelivery_idle_ms) {
            return Err(invalid(
                "bus.redelivery_idle_ms",
                "must be between 100 and 600000",
            ));
        }
        if !(500..=600_000).contains(&self.relay_lease_ms) {
            return Err(invalid(
                "bus.relay_lease_ms",
                "must be between 500 and 600000",
            ));
        }
        Ok(BusSettings {
            redelivery_idle: Duration::from_millis(self.redelivery_idle_ms),
            relay_lease: Duration::from_millis(self.relay_lease_ms),
        })
    }
}

impl RawRepair {
    fn validate(self) -> Result<RepairSettings, SettingsError> {
        if self.chief_engineer_above_cents < 0 {
            return Err(invalid(
                "repair.chief_engineer_above_cents",
                "must not be negative",
            ));
        }
        if self.consumers == 0 {
            return Err(invalid("repair.consumers", "must be at least 1"));
        }
        if self.watcher_interval_ms == 0 {
            return Err(invalid("repair.watcher_interval_ms", "must be at least 1"));
        }
        if self.chief_engineer_above_cents > MAX_MINOR {
            return Err(invalid(
                "repair.chief_engineer_above_cents",
                format!("must be at most {MAX_MINOR}"),
            ));
        }
        let currency = Currency::parse(&self.currency).ok_or_else(|| {
            invalid(
                "repair.currency",
                format!(
                    "{:?} is not an ISO 4217 code this product knows",
                    self.currency
                ),
            )
        })?;
        Ok(RepairSettings {
            chief_engineer_above_cents: self.chief_engineer_above_cents,
            currency,
            cost_policy: self.cost_policy.validate()?,
            consumers: self.consumers,
            watcher_interval: Duration::from_millis(self.watcher_interval_ms),
        })
    }
}

impl RawFeedback {
    /// Checks feedback's settings; visits are made within the working shifts of `calendar`.
    fn validate(
        self,
        calendar: &BusinessCalendar,
        data_dir: &std::path::Path,
    ) -> Result<FeedbackSettings, SettingsError> {
        if self.team.trim().is_empty() {
            return Err(invalid("feedback.team", "must not be empty"));
        }
        if !(1..=730).contains(&self.verification_days) {
            return Err(invalid(
                "feedback.verification_days",
                "must be between 1 and 730",
            ));
        }
        if self.consumers == 0 {
            return Err(invalid("feedback.consumers", "must be at least 1"));
        }
        let visit_time = NaiveTime::parse_from_str(self.visit_time.trim(), "%H:%M")
            .map_err(|_| invalid("feedback.visit_time", "must be HH:MM"))?;
        if !calendar.in_shift(visit_time) {
            return Err(invalid(
                "feedback.visit_time",
                format!(
                    "{visit_time} is outside the working shifts of calendar {}",
                    calendar.name()
                ),
            ));
        }
        let intake_url = match self.intake_url.trim() {
            "" => None,
            url if (url.starts_with("http://") || url.starts_with("https://"))
                && url.parse::<http::Uri>().is_ok() =>
            {
                Some(url.to_owned())
            }
            _ => {
                return Err(invalid(
                    "feedback.intake_url",
                    "an http:// or https:// address, or empty",
                ));
            }
        };
        Ok(FeedbackSettings {
            team: self.team.trim().to_owned(),
            verification_days: self.verification_days,
            visit_time,
            intake_url,
            consumers: self.consumers,
            search_dir: match self.search_dir.trim() {
                "" => data_dir.join("search"),
                dir => PathBuf::from(dir),
            },
        })
    }
}

fn parse_limit(
    key: &'static str,
    value: &Option<String>,
) -> Result<Option<SlaDuration>, SettingsError> {
    value
        .as_deref()
        .map(|v| {
            v.parse::<SlaDuration>()
                .map_err(|err| invalid(key, err.to_string()))
        })
        .transpose()
}

/// Like [`parse_limit`], but "none" removes the clock.
fn parse_optional_limit(
    key: &'static str,
    value: &Option<String>,
    current: Option<SlaDuration>,
) -> Result<Option<SlaDuration>, SettingsError> {
    match value.as_deref() {
        None => Ok(current),
        Some("none") => Ok(None),
        Some(_) => parse_limit(key, value),
    }
}

impl RawIntake {
    fn validate(self) -> Result<IntakeSettings, SettingsError> {
        let timezone: chrono_tz::Tz = self.timezone.parse().map_err(|_| {
            invalid(
                "intake.timezone",
                format!("{:?} is not an IANA time zone", self.timezone),
            )
        })?;
        let calendar = match &self.calendar_file {
            None => BusinessCalendar::china_2026(),
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|err| {
                    invalid(
                        "intake.calendar_file",
                        format!("cannot read {}: {err}", path.display()),
                    )
                })?;
                BusinessCalendar::from_toml(&text)
                    .map_err(|err| invalid("intake.calendar_file", err.to_string()))?
            }
        };
        let mut thresholds = self.escalation_thresholds;
        if thresholds.iter().any(|f| !(*f > 0.0 && *f < 1.0)) {
            return Err(invalid(
                "intake.escalation_thresholds",
                "each threshold must be between 0 and 1 (exclusive)",
            ));
        }
        thresholds.sort_by(f64::total_cmp);
        thresholds.dedup();
        if self.watcher_interval_ms == 0 {
            return Err(invalid("intake.watcher_interval_ms", "must be at least 1"));
        }
        let mut policies = PolicyBook::default();
        let raw_tiers = [self.sla.p1, self.sla.p2, self.sla.p3, self.sla.p4];
        for (policy, raw) in policies.tiers.iter_mut().zip(raw_tiers) {
            let Some(raw) = raw else { continue };
            if let Some(mode) = &raw.mode {
                policy.mode = match mode.as_str() {
                    "round_the_clock" => ClockMode::RoundTheClock,
                    "business" => ClockMode::Business,
                    other => {
                        return Err(invalid(
                            "intake.sla.<tier>.mode",
                            format!("{other:?} is not one of round_the_clock, business"),
                        ));
                    }
                };
            }
            if let Some(v) = parse_limit("intake.sla.<tier>.response", &raw.response)? {
                policy.response = v;
            }
            policy.arrival =
                parse_optional_limit("intake.sla.<tier>.arrival", &raw.arrival, policy.arrival)?;
            policy.solution =
                parse_optional_limit("intake.sla.<tier>.solution", &raw.solution, policy.solution)?;
            policy.completion = parse_optional_limit(
                "intake.sla.<tier>.completion",
                &raw.completion,
                policy.completion,
            )?;
        }
        for raw in self.sla_overrides {
            let tier: SeverityTier =
                raw.tier
                    .parse()
                    .map_err(|err: steelcare_domain::category::UnknownValue| {
                        invalid("intake.sla_overrides.tier", err.to_string())
                    })?;
            if raw.customer_id.is_none() && raw.contract_number.is_none() {
                return Err(invalid(
                    "intake.sla_overrides",
                    "each override needs customer_id or contract_number",
                ));
            }
            policies.overrides.push(PolicyOverride {
                customer_id: raw.customer_id,
                contract_number: raw.contract_number,
                tier,
                response: parse_limit("intake.sla_overrides.response", &raw.response)?,
                arrival: parse_limit("intake.sla_overrides.arrival", &raw.arrival)?,
                solution: parse_limit("intake.sla_overrides.solution", &raw.solution)?,
                completion: parse_limit("intake.sla_overrides.completion", &raw.completion)?,
            });
        }
        Ok(IntakeSettings {
            timezone,
            calendar,
            policies,
            escalation_thresholds: thresholds,
            watcher_interval: Duration::from_millis(self.watcher_interval_ms),
        })
    }
}

/// A span like 90s, 30m or 4h (no days: these are wall-clock waits).
fn parse_span(key: &'static str, value: &str) -> Result<Duration, SettingsError> {
    match value.parse::<SlaDuration>() {
        Ok(SlaDuration::Span(span)) if span > chrono::TimeDelta::zero() => span
            .to_std()
            .map_err(|_| invalid(key, format!("{value:?} is out of range"))),
        _ => Err(invalid(
            key,
            format!("{value:?} is not a positive span like 90s, 30m or 4h"),
        )),
    }
}

impl RawDispatch {
    fn validate(self) -> Result<DispatchSettings, SettingsError> {
        if self.consumers == 0 {
            return Err(invalid("dispatch.consumers", "must be at least 1"));
        }
        if self.lease_ms < 100 {
            return Err(invalid("dispatch.lease_ms", "must be at least 100"));
        }
        if self.sweep_interval_ms == 0 {
            return Err(invalid("dispatch.sweep_interval_ms", "must be at least 1"));
        }
        if self.reconcile_interval_ms == 0 {
            return Err(invalid(
                "dispatch.reconcile_interval_ms",
                "must be at least 1",
            ));
        }
        let t = &self.offer_timeout;
        let offer_timeout = [
            parse_span("dispatch.offer_timeout.p1", &t.p1)?,
            parse_span("dispatch.offer_timeout.p2", &t.p2)?,
            parse_span("dispatch.offer_timeout.p3", &t.p3)?,
            parse_span("dispatch.offer_timeout.p4", &t.p4)?,
        ];
        let retry_base = parse_span("dispatch.retry_base", &self.retry_base)?;
        let retry_max = parse_span("dispatch.retry_max", &self.retry_max)?;
        if retry_max < retry_base {
            return Err(invalid(
                "dispatch.retry_max",
                "must not be shorter than dispatch.retry_base",
            ));
        }
        let mut rules = SkillRules::default();
        for (category, skills) in self.category_skills {
            let category: ProblemCategory = category.parse().map_err(|err: UnknownValue| {
                invalid("dispatch.category_skills", err.to_string())
            })?;
            let skills = skills
                .iter()
                .map(|s| s.parse::<Skill>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|err| invalid("dispatch.category_skills", err.to_string()))?;
            if skills.is_empty() {
                return Err(invalid(
                    "dispatch.category_skills",
                    format!("{category} needs at least one skill"),
                ));
            }
            rules.category_skills.insert(category, skills);
        }
        for (skill, kinds) in self.skill_certificates {
            let skill: Skill = skill.parse().map_err(|err: UnknownValue| {
                invalid("dispatch.skill_certificates", err.to_string())
            })?;
            if kinds.iter().any(|k| k.trim().is_empty()) {
                return Err(invalid(
                    "dispatch.skill_certificates",
                    "certificate kinds must not be empty",
                ));
            }
            rules.skill_certificates.insert(skill, kinds);
        }
        Ok(DispatchSettings {
            workers: self.workers,
            consumers: self.consumers,
            lease: Duration::from_millis(self.lease_ms),
            offer_timeout,
            retry_base,
            retry_max,
            sweep_interval: Duration::from_millis(self.sweep_interval_ms),
            reconcile_interval: Duration::from_millis(self.reconcile_interval_ms),
            survey_duration: parse_span("dispatch.survey_duration", &self.survey_duration)?,
            rules,
        })
    }
}

impl RawAttachments {
    fn validate(self, data_dir: &Path) -> Result<AttachmentSettings, SettingsError> {
        if self.max_bytes == 0 {
            return Err(invalid("attachments.max_bytes", "must be at least 1"));
        }
        if self.allowed_content_types.iter().any(|t| !t.contains('/')) {
            return Err(invalid(
                "attachments.allowed_content_types",
                "each entry must be a MIME type like image/jpeg",
            ));
        }
        let storage = match non_empty(self.s3_bucket) {
            Some(bucket) => AttachmentStorage::S3 {
                bucket,
                endpoint: non_empty(self.s3_endpoint),
                region: non_empty(self.s3_region).unwrap_or_else(|| "us-east-1".to_owned()),
                access_key_id: non_empty(self.s3_access_key_id),
                secret_access_key: non_empty(self.s3_secret_access_key).map(Secret::new),
                allow_http: self.s3_allow_http,
            },
            None => AttachmentStorage::Local(
                self.local_dir
                    .unwrap_or_else(|| data_dir.join("attachments")),
            ),
        };
        Ok(AttachmentSettings {
            max_bytes: self.max_bytes,
            allowed_content_types: self
                .allowed_content_types
                .into_iter()
                .map(|t| t.trim().to_ascii_lowercase())
                .collect(),
            storage,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use steelcare_domain::Role;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_are_the_embedded_deployment() {
        let s = Settings::load_with_env(&[], env(&[])).unwrap();
        assert_eq!(s.server.listen.to_string(), "127.0.0.1:50051");
        assert_eq!(s.database.url, "sqlite://./data/steelcare.db?mode=rwc");
        assert!(s.is_embedded());
        assert!(s.database.migrate_on_start);
        assert_eq!(s.telemetry.log_format, LogFormat::Pretty);
        assert!(s.auth.jwt_secret.is_none());
    }

    #[test]
    fn the_standard_opentelemetry_variables_win() {
        let s = Settings::load_with_env(
            &[],
            env(&[
                ("STEELCARE__TELEMETRY__SERVICE_NAME", "from-config"),
                ("OTEL_SERVICE_NAME", "steelcare-dispatch"),
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317"),
            ]),
        )
        .unwrap();
        assert_eq!(s.telemetry.service_name, "steelcare-dispatch");
        assert_eq!(
            s.telemetry.otlp_endpoint.as_deref(),
            Some("http://collector:4317")
        );
        let bad =
            Settings::load_with_env(&[], env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "collector")]));
        assert!(bad.is_err(), "the endpoint is checked like the setting");
        let unset = Settings::load_with_env(&[], env(&[("OTEL_SERVICE_NAME", " ")])).unwrap();
        assert_eq!(unset.telemetry.service_name, "steelcare");
    }

    #[test]
    fn environment_overrides_defaults() {
        let s = Settings::load_with_env(
            &[],
            env(&[
                ("STEELCARE__SERVER__LISTEN", "0.0.0.0:6000"),
                ("STEELCARE__REDIS__URL", "redis://127.0.0.1:6379"),
                ("STEELCARE__AUTH__JWT_SECRET", "0123456789abcdef0123"),
                (
                    "STEELCARE__SERVER__CORS_ALLOWED_ORIGINS",
                    "https://a.example,https://b.example",
                ),
                ("STEELCARE__TELEMETRY__LOG_FORMAT", "json"),
            ]),
        )
        .unwrap();
        assert_eq!(s.server.listen.port(), 6000);
        assert!(!s.is_embedded());
        assert_eq!(s.server.cors_allowed_origins.len(), 2);
        assert_eq!(s.telemetry.log_format, LogFormat::Json);
        assert_eq!(
            s.auth.jwt_secret.as_ref().map(Secret::expose),
            Some("0123456789abcdef0123")
        );
        assert!(!format!("{s:?}").contains("0123456789abcdef0123"));
    }

    #[test]
    fn invalid_values_name_their_key() {
        let cases = [
            (
                "STEELCARE__SERVER__LISTEN",
                "not-an-address",
                "server.listen",
            ),
            ("STEELCARE__DATABASE__URL", "mysql://x", "database.url"),
            ("STEELCARE__REDIS__URL", "http://x", "redis.url"),
            (
                "STEELCARE__TELEMETRY__LOG_FORMAT",
                "xml",
                "telemetry.log_format",
            ),
            ("STEELCARE__AUTH__JWT_SECRET", "short", "auth.jwt_secret"),
            (
                "STEELCARE__SERVER__REQUEST_TIMEOUT_SECS",
                "soon",
                "request_timeout_secs",
            ),
            (
                "STEELCARE__FEEDBACK__VISIT_TIME",
                "10am",
                "feedback.visit_time",
            ),
            // 12:30 is the lunch break of the shipped calendar: nobody is called then.
            ("STEELCARE__FEEDBACK__VISIT_TIME", "12:30", "working shifts"),
            (
                "STEELCARE__FEEDBACK__INTAKE_URL",
                "intake:50051",
                "feedback.intake_url",
            ),
        ];
        for (key, value, named) in cases {
            let err = Settings::load_with_env(&[], env(&[(key, value)])).unwrap_err();
            assert!(err.to_string().contains(named), "{key}: {err}");
        }
    }

    #[test]
    fn an_identity_provider_needs_https_an_audience_and_a_source_of_roles() {
        let provider = |extra: &[(&'static str, &'static str)]| {
            let mut all = vec![
                (
                    "STEELCARE__AUTH__OIDC__STAFF__ISSUER",
                    "https://id.example.com/realms/sc/",
                ),
                ("STEELCARE__AUTH__OIDC__STAFF__AUDIENCE", "steelcare"),
                (
                    "STEELCARE__AUTH__OIDC__STAFF__ROLES_CLAIM",
                    "realm_access.roles",
                ),
                ("STEELCARE__AUTH__OIDC__STAFF__ROLE_MAP__SC_AGENTS", "agent"),
            ];
            all.extend_from_slice(extra);
            Settings::load_with_env(&[], env(&all))
        };
        let s = provider(&[]).unwrap();
        let staff = &s.auth.oidc[0];
        assert_eq!(
            staff.issuer, "https://id.example.com/realms/sc",
            "no trailing slash"
        );
        assert_eq!(staff.role_map, vec![("sc_agents".to_owned(), Role::Agent)]);
        assert_eq!(staff.jwks_refetch_floor, Duration::from_secs(30));
        assert_eq!(staff.console_label, "staff");
        let refused = [
            (
                "STEELCARE__AUTH__OIDC__STAFF__ISSUER",
                "http://id.example.com",
                "https",
            ),
            ("STEELCARE__AUTH__OIDC__STAFF__AUDIENCE", " ", "audience"),
            (
                "STEELCARE__AUTH__OIDC__STAFF__ROLE_MAP__SC_AGENTS",
                "boss",
                "sc_agents",
            ),
            ("STEELCARE__AUTH__OIDC__STAFF__ROLES_CLAIM", "", "neither"),
            (
                "STEELCARE__AUTH__OIDC__STAFF__REQUIRE_DIRECTORY",
                "true",
                "login_claim",
            ),
            (
                "STEELCARE__AUTH__OIDC__STAFF__JWKS_REFETCH_FLOOR",
                "often",
                "jwks_refetch_floor",
            ),
        ];
        for (key, value, named) in refused {
            let err = provider(&[(key, value)]).unwrap_err();
            assert!(err.to_string().contains(named), "{key}={value}: {err}");
        }
        let local = provider(&[(
            "STEELCARE__AUTH__OIDC__STAFF__ISSUER",
            "http://127.0.0.1:8080",
        )]);
        assert!(local.is_ok(), "a provider on this machine may use http");
    }

    #[test]
    fn the_kubernetes_secret_examples_are_configuration_files() {
        let dev = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/k8s/overlays/dev");
        for (file, user) in [
            ("migrate", "steelcare:"),
            ("intake", "steelcare_intake_app:"),
            ("feedback", "steelcare_feedback_app:"),
        ] {
            let files = [
                dev.join("secrets.example.toml"),
                dev.join(format!("database/{file}.toml")),
            ];
            let s = Settings::load_with_env(&files, env(&[])).unwrap();
            assert!(
                s.database.url.starts_with(&format!("postgres://{user}")),
                "{file}: {}",
                s.database.url
            );
            assert!(s.redis.url.is_some());
        }
    }

    #[test]
    fn the_readme_identity_provider_examples_are_configuration_files() {
        let readme =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md"))
                .unwrap();
        let examples: Vec<&str> = readme
            .split("```toml\n")
            .skip(1)
            .filter_map(|block| block.split("```").next())
            .filter(|block| block.contains("[auth.oidc."))
            .collect();
        assert_eq!(examples.len(), 2, "the Keycloak and Entra examples");
        let dir = std::env::temp_dir().join(format!("steelcare-oidc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (i, example) in examples.iter().enumerate() {
            // The placeholders an operator fills in.
            let filled = example
                .replace("<tenant-id>", "0f1e2d3c")
                .replace("<the API registration's client id>", "11111111-2222")
                .replace("<the console registration's client id>", "33333333-4444");
            let file = dir.join(format!("oidc-{i}.toml"));
            std::fs::write(&file, filled).unwrap();
            let s = Settings::load_with_env(&[file], env(&[])).unwrap();
            let provider = &s.auth.oidc[0];
            assert!(provider.issuer.starts_with("https://"), "{provider:?}");
            assert!(!provider.console_client_id.is_empty());
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_later_file_overrides_an_earlier_one() {
        let dir = std::env::temp_dir().join(format!("steelcare-layers-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let shared = dir.join("steelcare.toml");
        let own = dir.join("database.toml");
        std::fs::write(
            &shared,
            "[database]\nurl = \"postgres://owner@db/steelcare\"\n[redis]\nurl = \"redis://r\"\n",
        )
        .unwrap();
        std::fs::write(
            &own,
            "[database]\nurl = \"postgres://intake_app@db/steelcare\"\n",
        )
        .unwrap();
        let s = Settings::load_with_env(&[shared, own], env(&[])).unwrap();
        assert_eq!(s.database.url, "postgres://intake_app@db/steelcare");
        assert_eq!(s.redis.url.as_deref(), Some("redis://r"));
    }

    #[test]
    fn unknown_keys_and_missing_files_are_refused() {
        let err =
            Settings::load_with_env(&[], env(&[("STEELCARE__SERVER__LISTN", "x")])).unwrap_err();
        assert!(err.to_string().contains("listn"), "{err}");
        let err =
            Settings::load_with_env(&[PathBuf::from("/nonexistent/steelcare.toml")], env(&[]))
                .unwrap_err();
        assert!(
            err.to_string().contains("/nonexistent/steelcare.toml"),
            "{err}"
        );
    }

    #[test]
    fn dispatch_rules_and_timeouts_load_from_configuration() {
        let dir = std::env::temp_dir().join(format!("steelcare-dispatch-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("dispatch.toml");
        std::fs::write(
            &path,
            "[dispatch]\noffer_timeout = { p1 = \"5m\", p2 = \"30m\", p3 = \"2h\", p4 = \"4h\" }\n\
             [dispatch.category_skills]\nleakage = [\"waterproofing\", \"welding\"]\n\
             [dispatch.skill_certificates]\nwelding = [\"welder\", \"hot_work\"]\n",
        )
        .unwrap();
        let s = Settings::load_with_env(std::slice::from_ref(&path), env(&[])).unwrap();
        let d = &s.dispatch;
        assert_eq!(
            d.offer_timeout_for(SeverityTier::P1),
            Duration::from_secs(300)
        );
        assert_eq!(
            d.offer_timeout_for(SeverityTier::P4),
            Duration::from_secs(4 * 3600)
        );
        let certs: Vec<&str> = d
            .rules
            .certificates_for(ProblemCategory::Leakage)
            .into_iter()
            .collect();
        assert_eq!(certs, ["hot_work", "welder", "work_at_height"]);
        // Categories not configured keep their defaults.
        assert_eq!(
            d.rules.skills_for(ProblemCategory::CoatingDamage),
            [Skill::AntiCorrosionCoating]
        );
        for (key, value, named) in [
            (
                "STEELCARE__DISPATCH__RETRY_BASE",
                "2d",
                "dispatch.retry_base",
            ),
            ("STEELCARE__DISPATCH__RETRY_MAX", "1s", "dispatch.retry_max"),
            ("STEELCARE__DISPATCH__LEASE_MS", "5", "dispatch.lease_ms"),
        ] {
            let err = Settings::load_with_env(&[], env(&[(key, value)])).unwrap_err();
            assert!(err.to_string().contains(named), "{err}");
        }
        std::fs::write(
            &path,
            "[dispatch.category_skills]\nleakage = [\"plumbing\"]\n",
        )
        .unwrap();
        let err = Settings::load_with_env(std::slice::from_ref(&path), env(&[])).unwrap_err();
        assert!(
            err.to_string().contains("dispatch.category_skills"),
            "{err}"
        );
        assert!(err.to_string().contains("plumbing"), "{err}");
    }

    #[test]
    fn sla_policies_and_thresholds_load_from_configuration() {
        let dir = std::env::temp_dir().join(format!("steelcare-sla-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("sla.toml");
        std::fs::write(
            &path,
            "[intake.sla.p2]\nresponse = \"2h\"\ncompletion = \"none\"\n\
             [[intake.sla_overrides]]\ncontract_number = \"HT-9\"\ntier = \"p3\"\nresponse = \"3h\"\n",
        )
        .unwrap();
        let s = Settings::load_with_env(
            std::slice::from_ref(&path),
            env(&[("STEELCARE__INTAKE__ESCALATION_THRESHOLDS", "0.9,0.25")]),
        )
        .unwrap();
        let p2 = &s.intake.policies.tiers[1];
        assert_eq!(p2.response.to_string(), "2h");
        assert_eq!(p2.completion, None);
        assert_eq!(s.intake.escalation_thresholds, vec![0.25, 0.9]);
        assert_eq!(
            s.intake
                .policies
                .policy(SeverityTier::P3, "c", "HT-9")
                .response
                .to_string(),
            "3h"
        );
        assert!(matches!(s.attachments.storage, AttachmentStorage::Local(_)));
        std::fs::remove_dir_all(&dir).ok();

        for (key, value, named) in [
            (
                "STEELCARE__INTAKE__TIMEZONE",
                "Mars/Base",
                "intake.timezone",
            ),
            (
                "STEELCARE__INTAKE__ESCALATION_THRESHOLDS",
                "1.5",
                "intake.escalation_thresholds",
            ),
            (
                "STEELCARE__ATTACHMENTS__MAX_BYTES",
                "0",
                "attachments.max_bytes",
            ),
            (
                "STEELCARE__INTAKE__CALENDAR_FILE",
                "/nonexistent.toml",
                "intake.calendar_file",
            ),
        ] {
            let err = Settings::load_with_env(&[], env(&[(key, value)])).unwrap_err();
            assert!(err.to_string().contains(named), "{key}: {err}");
        }
    }

    #[test]
    fn a_file_sits_between_defaults_and_environment() {
        let dir = std::env::temp_dir().join(format!("steelcare-settings-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("steelcare.toml");
        std::fs::write(
            &path,
            "[server]\nlisten = \"127.0.0.1:7000\"\n[database]\nmax_connections = 3\n",
        )
        .unwrap();
        let s = Settings::load_with_env(
            std::slice::from_ref(&path),
            env(&[("STEELCARE__DATABASE__MAX_CONNECTIONS", "7")]),
        )
        .unwrap();
        assert_eq!(s.server.listen.port(), 7000);
        assert_eq!(s.database.max_connections, 7);
        std::fs::remove_dir_all(&dir).ok();
    }
}
