//! The SMS gateway, shaped like the common Chinese cloud SMS APIs: a POST of the phone number,
//! the registered signature name, the provider's template code for the topic and its
//! parameters (the provider renders the text it approved), with the delivery's id as `OutId`
//! (a gateway that honours it sends a repeated request once). The request is signed:
//! `X-Sms-Signature` = base64(HMAC-SHA256(secret, timestamp + "\n" + body)), with the
//! timestamp (seconds) in `X-Sms-Timestamp` and the access key in `X-Sms-Access-Key`.
//!
//! The answer's `Code` is `OK` when sent; a rate limit or a provider fault is temporary, any
//! other code (an invalid number, a template not approved) permanent.

use steelcare_runtime::settings::SmsSettings;

use super::{Channel, Failure, Outgoing, post, sign};

/// The SMS channel.
pub struct Sms {
    settings: SmsSettings,
    http: reqwest::Client,
}

impl Sms {
    /// The channel of `[notify.sms]`.
    pub fn new(settings: SmsSettings, http: reqwest::Client) -> Sms {
        Sms { settings, http }
    }

    /// Whether the provider has a template for `topic` (a topic without one is not texted).
    pub fn has_template(&self, topic: &str) -> bool {
        self.settings.templates.contains_key(topic)
    }
}

/// Whether a gateway's code means "later" rather than "never".
fn temporary_code(code: &str) -> bool {
    let code = code.to_ascii_uppercase();
    code.contains("LIMIT")
        || code.contains("THROTTL")
        || code.contains("SYSTEM")
        || code.contains("BUSY")
}

#[async_trait::async_trait]
impl Channel for Sms {
    async fn send(&self, message: &Outgoing<'_>) -> Result<(), Failure> {
        let Some(template) = self.settings.templates.get(message.topic) else {
            return Err(Failure::Permanent(format!(
                "no SMS template for topic {}",
                message.topic
            )));
        };
        let body = serde_json::json!({
            "PhoneNumbers": message.address,
            "SignName": self.settings.sign_name,
            "TemplateCode": template,
            "TemplateParam": message.params.to_string(),
            "OutId": message.id,
        })
        .to_string();
        let timestamp = chrono::Utc::now().timestamp().to_string();
        let signature = sign(
            self.settings.secret.expose().as_bytes(),
            format!("{timestamp}\n{body}").as_bytes(),
        )?;
        let request = self
            .http
            .post(&self.settings.url)
            .header("content-type", "application/json")
            .header("x-sms-access-key", &self.settings.access_key)
            .header("x-sms-timestamp", timestamp)
            .header("x-sms-signature", signature)
            .body(body);
        let (answer, text) = post(request).await?;
        let code = answer
            .get("Code")
            .and_then(|c| c.as_str())
            .unwrap_or_default()
            .to_owned();
        match code.as_str() {
            "OK" => Ok(()),
            c if temporary_code(c) => Err(Failure::Temporary(format!("gateway: {text}"))),
            _ => Err(Failure::Permanent(format!("gateway: {text}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::temporary_code;

    #[test]
    fn rate_limits_and_faults_are_tried_again_and_a_bad_number_is_not() {
        assert!(temporary_code("isv.BUSINESS_LIMIT_CONTROL"));
        assert!(temporary_code("Throttling.User"));
        assert!(temporary_code("isp.SYSTEM_ERROR"));
        assert!(!temporary_code("isv.MOBILE_NUMBER_ILLEGAL"));
        assert!(!temporary_code("isv.SMS_TEMPLATE_ILLEGAL"));
    }
}
