//! E-mail over SMTP (lettre): STARTTLS, TLS or plain, with authentication when a user is
//! configured. The delivery's id is the message's `Message-ID`, so a mail sent twice after a
//! crash is one message to a client that threads or de-duplicates by it.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use steelcare_runtime::settings::{SmtpSecurity, SmtpSettings};

use super::{Channel, Failure, Outgoing};

/// The e-mail channel.
pub struct Email {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: lettre::message::Mailbox,
}

impl Email {
    /// The channel of `[notify.smtp]`.
    pub fn new(settings: &SmtpSettings, timeout: Duration) -> Result<Email, String> {
        let host = settings.host.as_str();
        let builder = match settings.security {
            SmtpSecurity::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host),
            SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host),
            SmtpSecurity::None => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(
                host,
            )),
        }
        .map_err(|err| format!("notify.smtp.host {host}: {err}"))?;
        let mut builder = builder.port(settings.port).timeout(Some(timeout));
        if !settings.username.is_empty() {
            builder = builder.credentials(Credentials::new(
                settings.username.clone(),
                settings.password.expose().to_owned(),
            ));
        }
        let from = settings
            .from
            .parse()
            .map_err(|err| format!("notify.smtp.from {}: {err}", settings.from))?;
        Ok(Email {
            transport: builder.build(),
            from,
        })
    }
}

#[async_trait::async_trait]
impl Channel for Email {
    async fn send(&self, message: &Outgoing<'_>) -> Result<(), Failure> {
        let to = message
            .address
            .parse()
            .map_err(|err| Failure::Permanent(format!("not an e-mail address: {err}")))?;
        let mail = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(message.title)
            .message_id(Some(format!("<{}@steelcare>", message.id)))
            .header(ContentType::TEXT_PLAIN)
            .body(message.body.to_owned())
            .map_err(|err| Failure::Permanent(format!("the message: {err}")))?;
        match self.transport.send(mail).await {
            Ok(_) => Ok(()),
            Err(err) if err.is_permanent() => Err(Failure::Permanent(format!("SMTP: {err}"))),
            Err(err) => Err(Failure::Temporary(format!("SMTP: {err}"))),
        }
    }
}
