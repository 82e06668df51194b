//! The channels behind one interface ([`Channel`]): e-mail over SMTP, the SMS gateway, and
//! the company's chat robots (WeCom, DingTalk, Feishu/Lark). The console is a channel with
//! nothing to send: its deliveries are the notifications the API lists.
//!
//! Each send carries the delivery's id as the idempotency key where the channel takes one
//! (an e-mail's `Message-ID`, the SMS gateway's `OutId`); a failure is temporary (retried with
//! backoff) or permanent (the dead-letter list).

mod email;
mod robots;
mod sms;

use std::collections::BTreeMap;
use std::time::Duration;

use steelcare_proto::notify::v1 as pb;
use steelcare_runtime::settings::NotifySettings;

pub use email::Email;
pub use robots::Robot;
pub use sms::Sms;

/// A channel by name, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// The console's list.
    Console,
    /// E-mail.
    Email,
    /// SMS.
    Sms,
    /// A chat group's robot.
    Webhook,
}

impl Kind {
    /// Every channel.
    pub const ALL: [Kind; 4] = [Kind::Console, Kind::Email, Kind::Sms, Kind::Webhook];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Console => "console",
            Kind::Email => "email",
            Kind::Sms => "sms",
            Kind::Webhook => "webhook",
        }
    }

    /// The channel of a stored name.
    pub fn parse(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// As the API names it.
    pub fn to_proto(self) -> pb::DeliveryChannel {
        match self {
            Kind::Console => pb::DeliveryChannel::Console,
            Kind::Email => pb::DeliveryChannel::Email,
            Kind::Sms => pb::DeliveryChannel::Sms,
            Kind::Webhook => pb::DeliveryChannel::Webhook,
        }
    }

    /// The channel the API names; `None` for unspecified.
    pub fn from_proto(channel: pb::DeliveryChannel) -> Option<Kind> {
        match channel {
            pb::DeliveryChannel::Console => Some(Kind::Console),
            pb::DeliveryChannel::Email => Some(Kind::Email),
            pb::DeliveryChannel::Sms => Some(Kind::Sms),
            pb::DeliveryChannel::Webhook => Some(Kind::Webhook),
            pb::DeliveryChannel::Unspecified => None,
        }
    }
}

/// One message as a channel sends it.
#[derive(Debug, Clone)]
pub struct Outgoing<'a> {
    /// The delivery's id: the idempotency key the channel sees where it takes one.
    pub id: &'a str,
    /// The topic (the SMS template is chosen by it).
    pub topic: &'a str,
    /// The e-mail address, the phone number, or the robot's name.
    pub address: &'a str,
    /// The title in the recipient's language.
    pub title: &'a str,
    /// The text in the recipient's language.
    pub body: &'a str,
    /// The facts of the message, for the SMS template.
    pub params: &'a serde_json::Value,
}

/// Why a send failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Worth trying again (a timeout, a refused connection, a 5xx, a rate limit).
    Temporary(String),
    /// Trying again will not help (an invalid address, a refused template, bad credentials).
    Permanent(String),
}

impl Failure {
    /// The failure of an HTTP answer with `status` and `body`.
    pub(crate) fn of_http(status: reqwest::StatusCode, body: &str) -> Failure {
        let what = format!(
            "HTTP {status}: {}",
            body.chars().take(300).collect::<String>()
        );
        if status.is_server_error()
            || status == reqwest::StatusCode::TOO_MANY_REQUESTS
            || status == reqwest::StatusCode::REQUEST_TIMEOUT
        {
            Failure::Temporary(what)
        } else {
            Failure::Permanent(what)
        }
    }

    /// The failure of a request that got no answer (always temporary: it may not have
    /// arrived).
    pub(crate) fn of_request(err: &reqwest::Error) -> Failure {
        Failure::Temporary(format!("request failed: {err}"))
    }
}

/// A way of sending.
#[async_trait::async_trait]
pub trait Channel: Send + Sync {
    /// Sends one message.
    async fn send(&self, message: &Outgoing<'_>) -> Result<(), Failure>;
}

/// The channels a deployment configured.
pub struct Channels {
    /// E-mail, when `[notify.smtp]` names a host.
    pub email: Option<Email>,
    /// SMS, when `[notify.sms]` names a gateway.
    pub sms: Option<Sms>,
    /// The robots by name.
    pub robots: BTreeMap<String, Robot>,
}

impl Channels {
    /// The channels of `settings`; an SMTP host that cannot be used is an error naming it.
    pub fn from_settings(settings: &NotifySettings) -> Result<Channels, String> {
        let http = reqwest::Client::builder()
            .timeout(settings.send_timeout)
            .connect_timeout(settings.send_timeout.min(Duration::from_secs(5)))
            .build()
            .map_err(|err| format!("notify: the HTTP client: {err}"))?;
        let email = match &settings.smtp {
            Some(smtp) => Some(Email::new(smtp, settings.send_timeout)?),
            None => None,
        };
        let sms = settings
            .sms
            .as_ref()
            .map(|s| Sms::new(s.clone(), http.clone()));
        let robots = settings
            .webhooks
            .iter()
            .map(|(name, w)| (name.clone(), Robot::new(w.clone(), http.clone())))
            .collect();
        Ok(Channels { email, sms, robots })
    }

    /// The channel that sends a delivery of `kind` to `address`; `None` when it is not
    /// configured (any more).
    pub fn get(&self, kind: Kind, address: &str) -> Option<&dyn Channel> {
        match kind {
            Kind::Email => self.email.as_ref().map(|c| c as &dyn Channel),
            Kind::Sms => self.sms.as_ref().map(|c| c as &dyn Channel),
            Kind::Webhook => self.robots.get(address).map(|c| c as &dyn Channel),
            Kind::Console => None,
        }
    }

    /// Whether a message on `topic` can go by `kind` here: the console always; SMS only for a
    /// topic with a template.
    pub fn sends(&self, kind: Kind, topic: &str) -> bool {
        match kind {
            Kind::Sms => self.sms.as_ref().is_some_and(|sms| sms.has_template(topic)),
            other => self.has(other),
        }
    }

    /// Whether this deployment can send by `kind` (the console always).
    pub fn has(&self, kind: Kind) -> bool {
        match kind {
            Kind::Console => true,
            Kind::Email => self.email.is_some(),
            Kind::Sms => self.sms.is_some(),
            Kind::Webhook => !self.robots.is_empty(),
        }
    }
}

/// Sends an HTTP request to a provider and reads its JSON answer: no answer is a temporary
/// failure, a refusing status is classified by [`Failure::of_http`]; an answer that is not
/// JSON reads as null. Answers the JSON and its text.
pub(crate) async fn post(
    request: reqwest::RequestBuilder,
) -> Result<(serde_json::Value, String), Failure> {
    let answer = request
        .send()
        .await
        .map_err(|err| Failure::of_request(&err))?;
    let status = answer.status();
    let text = answer.text().await.unwrap_or_default();
    if !status.is_success() {
        return Err(Failure::of_http(status, &text));
    }
    Ok((serde_json::from_str(&text).unwrap_or_default(), text))
}

/// HMAC-SHA256 of `message` under `key`, in base64: how the SMS gateway and the robots sign.
pub fn sign(key: &[u8], message: &[u8]) -> Result<String, Failure> {
    use base64::Engine as _;
    use hmac::{KeyInit as _, Mac as _};
    let mut mac = hmac::Hmac::<sha2_robots::Sha256>::new_from_slice(key)
        .map_err(|err| Failure::Permanent(format!("signing key: {err}")))?;
    mac.update(message);
    Ok(base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()))
}
