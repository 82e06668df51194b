//! `[notify]`: how the notification service reaches people. Each channel but the console is
//! off until configured: e-mail with `[notify.smtp] host`, SMS with `[notify.sms] url`, and
//! each group robot with a `[notify.webhooks.<name>]` table.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::NaiveTime;
use serde::Deserialize;

use super::{Secret, SettingsError, invalid};

pub(super) const DEFAULTS: &str = r#"
[notify]
consumers = 1
senders = 8
batch = 50
lease_ms = 30000
max_attempts = 8
retry_base_ms = 2000
retry_max_ms = 600000
poll_interval_ms = 500
send_timeout_ms = 10000
max_event_age_ms = 86400000
reminder_interval_ms = 60000
duty_managers = []

[notify.smtp]
host = ""
port = 587
security = "starttls"
username = ""
password = ""
from = ""

[notify.sms]
url = ""
access_key = ""
secret = ""
sign_name = ""
templates = {}
"#;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawNotify {
    consumers: u32,
    senders: u32,
    batch: u32,
    lease_ms: u64,
    max_attempts: u32,
    retry_base_ms: u64,
    retry_max_ms: u64,
    poll_interval_ms: u64,
    send_timeout_ms: u64,
    max_event_age_ms: u64,
    reminder_interval_ms: u64,
    duty_managers: Vec<String>,
    smtp: RawSmtp,
    sms: RawSms,
    #[serde(default)]
    webhooks: BTreeMap<String, RawWebhook>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSmtp {
    host: String,
    port: u16,
    security: String,
    username: String,
    password: String,
    from: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSms {
    url: String,
    access_key: String,
    secret: String,
    sign_name: String,
    templates: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWebhook {
    kind: String,
    url: String,
    #[serde(default)]
    secret: String,
    topics: Topics,
}

/// A robot's topics: a list, or one string of names separated by commas (as an environment
/// variable gives it: `STEELCARE__NOTIFY__WEBHOOKS__OPS__TOPICS=sla-breached,sla-at-risk`).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Topics {
    List(Vec<String>),
    Text(String),
}

impl Topics {
    fn names(self) -> Vec<String> {
        let names = match self {
            Topics::List(names) => names,
            Topics::Text(text) => text.split(',').map(str::to_owned).collect(),
        };
        names
            .into_iter()
            .map(|n| n.trim().to_owned())
            .filter(|n| !n.is_empty())
            .collect()
    }
}

/// `[notify]`.
#[derive(Debug, Clone)]
pub struct NotifySettings {
    /// Event consumers of the notify group in this process (at least 1).
    pub consumers: u32,
    /// Deliveries sent at once by this process.
    pub senders: u32,
    /// Most deliveries one claim takes.
    pub batch: u32,
    /// How long a claimed delivery is the claimer's; a sender that dies mid-send leaves it to
    /// be sent again (with the same idempotency key) once this passes.
    pub lease: Duration,
    /// Attempts before a delivery that keeps failing for a temporary reason is dead.
    pub max_attempts: u32,
    /// The first retry's delay; each next one doubles, up to `retry_max`.
    pub retry_base: Duration,
    /// The longest delay between retries.
    pub retry_max: Duration,
    /// How often a sender looks for due deliveries when nothing wakes it.
    pub poll_interval: Duration,
    /// How long one send may take before it counts as a temporary failure.
    pub send_timeout: Duration,
    /// Events older than this are not told to anyone (a new deployment's consumer group reads
    /// the stream from its start; an offer of last week is news to nobody).
    pub max_event_age: Duration,
    /// How often what falls due without an event (a return visit, a corrective action) is
    /// looked for.
    pub reminder_interval: Duration,
    /// The subjects (logins) of the duty managers: a P1 reaches them at any hour.
    pub duty_managers: Vec<String>,
    /// E-mail, when configured.
    pub smtp: Option<SmtpSettings>,
    /// The SMS gateway, when configured.
    pub sms: Option<SmsSettings>,
    /// The group robots, by name.
    pub webhooks: BTreeMap<String, WebhookSettings>,
}

/// How an SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// STARTTLS required after connecting (port 587).
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
    /// Plain text: only for a relay on this host or a test.
    None,
}

/// `[notify.smtp]`.
#[derive(Debug, Clone)]
pub struct SmtpSettings {
    /// The server's host name.
    pub host: String,
    /// Its port.
    pub port: u16,
    /// STARTTLS, TLS or none.
    pub security: SmtpSecurity,
    /// The user to authenticate as; empty: no authentication.
    pub username: String,
    /// The password.
    pub password: Secret,
    /// The sender, e.g. `SteelCare <service@example.com>`.
    pub from: String,
}

/// `[notify.sms]`: a gateway shaped like the common Chinese cloud SMS APIs: a signed POST of
/// the phone number, the signature name, a template code and its parameters, and the
/// delivery's id as the caller's `out_id`.
#[derive(Debug, Clone)]
pub struct SmsSettings {
    /// The gateway's address.
    pub url: String,
    /// The account's access key id.
    pub access_key: String,
    /// The key the request is signed with (HMAC-SHA256).
    pub secret: Secret,
    /// The registered signature name shown to the recipient.
    pub sign_name: String,
    /// The provider's template code per topic; a topic without one is not sent by SMS.
    pub templates: BTreeMap<String, String>,
}

/// Which chat's group robot a webhook is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookKind {
    /// WeCom (企业微信): the key is in the URL.
    WeCom,
    /// DingTalk (钉钉): signed with the robot's secret in the query.
    DingTalk,
    /// Feishu/Lark (飞书): signed with the robot's secret in the body.
    Feishu,
}

/// `[notify.webhooks.<name>]`.
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// The chat.
    pub kind: WebhookKind,
    /// The robot's address.
    pub url: String,
    /// The signing secret (DingTalk, Feishu; empty: unsigned).
    pub secret: Secret,
    /// The topics this group hears, e.g. `sla-breached`.
    pub topics: Vec<String>,
}

fn http_url(key: &'static str, url: &str) -> Result<String, SettingsError> {
    let url = url.trim();
    if (url.starts_with("http://") || url.starts_with("https://"))
        && url.parse::<http::Uri>().is_ok()
    {
        Ok(url.to_owned())
    } else {
        Err(invalid(key, "an http:// or https:// address"))
    }
}

impl RawNotify {
    pub(super) fn validate(self) -> Result<NotifySettings, SettingsError> {
        for (key, value) in [
            ("notify.consumers", self.consumers),
            ("notify.senders", self.senders),
            ("notify.batch", self.batch),
            ("notify.max_attempts", self.max_attempts),
        ] {
            if value == 0 {
                return Err(invalid(key, "must be at least 1"));
            }
        }
        if self.retry_base_ms == 0 || self.retry_max_ms < self.retry_base_ms {
            return Err(invalid(
                "notify.retry_max_ms",
                "retry_base_ms must be positive and at most retry_max_ms",
            ));
        }
        if self.lease_ms <= self.send_timeout_ms {
            return Err(invalid(
                "notify.lease_ms",
                "must be longer than send_timeout_ms (a send still running must keep its claim)",
            ));
        }
        Ok(NotifySettings {
            consumers: self.consumers,
            senders: self.senders,
            batch: self.batch,
            lease: Duration::from_millis(self.lease_ms),
            max_attempts: self.max_attempts,
            retry_base: Duration::from_millis(self.retry_base_ms),
            retry_max: Duration::from_millis(self.retry_max_ms),
            poll_interval: Duration::from_millis(self.poll_interval_ms.max(10)),
            send_timeout: Duration::from_millis(self.send_timeout_ms.max(100)),
            max_event_age: Duration::from_millis(self.max_event_age_ms),
            reminder_interval: Duration::from_millis(self.reminder_interval_ms.max(100)),
            duty_managers: self
                .duty_managers
                .into_iter()
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect(),
            smtp: self.smtp.validate()?,
            sms: self.sms.validate()?,
            webhooks: self
                .webhooks
                .into_iter()
                .map(|(name, raw)| raw.validate().map(|w| (name, w)))
                .collect::<Result<_, _>>()?,
        })
    }
}

impl RawSmtp {
    fn validate(self) -> Result<Option<SmtpSettings>, SettingsError> {
        if self.host.trim().is_empty() {
            return Ok(None);
        }
        let security = match self.security.trim() {
            "starttls" => SmtpSecurity::StartTls,
            "tls" => SmtpSecurity::Tls,
            "none" => SmtpSecurity::None,
            _ => {
                return Err(invalid(
                    "notify.smtp.security",
                    "one of starttls, tls, none",
                ));
            }
        };
        if self.from.trim().is_empty() {
            return Err(invalid(
                "notify.smtp.from",
                "the sender address is required with a host",
            ));
        }
        Ok(Some(SmtpSettings {
            host: self.host.trim().to_owned(),
            port: self.port,
            security,
            username: self.username.trim().to_owned(),
            password: Secret::new(self.password),
            from: self.from.trim().to_owned(),
        }))
    }
}

impl RawSms {
    fn validate(self) -> Result<Option<SmsSettings>, SettingsError> {
        if self.url.trim().is_empty() {
            return Ok(None);
        }
        let url = http_url("notify.sms.url", &self.url)?;
        if self.access_key.trim().is_empty() || self.secret.is_empty() {
            return Err(invalid(
                "notify.sms.secret",
                "access_key and secret are required with a url",
            ));
        }
        Ok(Some(SmsSettings {
            url,
            access_key: self.access_key.trim().to_owned(),
            secret: Secret::new(self.secret),
            sign_name: self.sign_name.trim().to_owned(),
            templates: self.templates,
        }))
    }
}

impl RawWebhook {
    fn validate(self) -> Result<WebhookSettings, SettingsError> {
        let kind = match self.kind.trim() {
            "wecom" => WebhookKind::WeCom,
            "dingtalk" => WebhookKind::DingTalk,
            "feishu" | "lark" => WebhookKind::Feishu,
            _ => {
                return Err(invalid(
                    "notify.webhooks.kind",
                    "one of wecom, dingtalk, feishu",
                ));
            }
        };
        let topics = self.topics.names();
        if topics.is_empty() {
            return Err(invalid(
                "notify.webhooks.topics",
                "name the topics the group hears, e.g. [\"sla-breached\"]",
            ));
        }
        Ok(WebhookSettings {
            kind,
            url: http_url("notify.webhooks.url", &self.url)?,
            secret: Secret::new(self.secret),
            topics,
        })
    }
}

/// Whether `time` is `HH:MM`.
pub fn parse_hhmm(time: &str) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(time.trim(), "%H:%M").ok()
}
