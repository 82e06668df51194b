//! The group robots of the chats Chinese companies use, each posting a markdown or text
//! message to its group:
//! - WeCom (企业微信): the robot's key is in its URL; answers `errcode` 0.
//! - DingTalk (钉钉): `timestamp` (ms) and `sign` = base64(HMAC-SHA256(secret,
//!   "{timestamp}\n{secret}")) in the query; answers `errcode` 0.
//! - Feishu/Lark (飞书): `timestamp` (s) and `sign` = base64(HMAC-SHA256(key =
//!   "{timestamp}\n{secret}", message = "")) in the body; answers `code` 0.
//!
//! None of them takes an idempotency key: a message sent just before a crash is sent again.
//! A rate limit (WeCom 45009, DingTalk 130101, Feishu 9499) is temporary, any other refusal
//! permanent.

use steelcare_runtime::settings::{WebhookKind, WebhookSettings};

use super::{Channel, Failure, Outgoing, post, sign};

/// A group robot.
pub struct Robot {
    settings: WebhookSettings,
    http: reqwest::Client,
}

impl Robot {
    /// The robot of `[notify.webhooks.<name>]`.
    pub fn new(settings: WebhookSettings, http: reqwest::Client) -> Robot {
        Robot { settings, http }
    }

    /// The address and body of a message.
    fn request(
        &self,
        message: &Outgoing<'_>,
    ) -> Result<(reqwest::Url, serde_json::Value), Failure> {
        let mut url = reqwest::Url::parse(&self.settings.url)
            .map_err(|err| Failure::Permanent(format!("robot address: {err}")))?;
        let secret = self.settings.secret.expose();
        let text = format!("{}\n\n{}", message.title, message.body);
        let body = match self.settings.kind {
            WebhookKind::WeCom => serde_json::json!({
                "msgtype": "markdown",
                "markdown": { "content": format!("**{}**\n{}", message.title, message.body) },
            }),
            WebhookKind::DingTalk => {
                if !secret.is_empty() {
                    let timestamp = chrono::Utc::now().timestamp_millis().to_string();
                    let signature = sign(
                        secret.as_bytes(),
                        format!("{timestamp}\n{secret}").as_bytes(),
                    )?;
                    url.query_pairs_mut()
                        .append_pair("timestamp", &timestamp)
                        .append_pair("sign", &signature);
                }
                serde_json::json!({
                    "msgtype": "markdown",
                    "markdown": { "title": message.title, "text": text },
                })
            }
            WebhookKind::Feishu => {
                let mut body = serde_json::json!({
                    "msg_type": "text",
                    "content": { "text": text },
                });
                if !secret.is_empty() {
                    let timestamp = chrono::Utc::now().timestamp().to_string();
                    let signature = sign(format!("{timestamp}\n{secret}").as_bytes(), b"")?;
                    body["timestamp"] = timestamp.into();
                    body["sign"] = signature.into();
                }
                body
            }
        };
        Ok((url, body))
    }
}

/// Whether a robot's refusal code is a rate limit.
fn rate_limited(kind: WebhookKind, code: i64) -> bool {
    match kind {
        WebhookKind::WeCom => code == 45009,
        WebhookKind::DingTalk => code == 130101,
        WebhookKind::Feishu => code == 9499,
    }
}

#[async_trait::async_trait]
impl Channel for Robot {
    async fn send(&self, message: &Outgoing<'_>) -> Result<(), Failure> {
        let (url, body) = self.request(message)?;
        let (answer, text) = post(self.http.post(url).json(&body)).await?;
        let code = ["errcode", "code", "StatusCode"]
            .iter()
            .find_map(|k| answer.get(*k).and_then(|c| c.as_i64()))
            .unwrap_or(0);
        match code {
            0 => Ok(()),
            c if rate_limited(self.settings.kind, c) => {
                Err(Failure::Temporary(format!("robot: {text}")))
            }
            _ => Err(Failure::Permanent(format!("robot: {text}"))),
        }
    }
}
