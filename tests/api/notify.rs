//! Notifications end to end, on both backends, against real local endpoints: an SMTP server
//! (aiosmtpd, with authentication) and HTTP receivers for the SMS gateway and the WeCom,
//! DingTalk and Feishu robots that check each provider's signature. A P1 at night reaches the
//! duty manager despite quiet hours; a gateway that fails twice gets the message on the third
//! try, once; a customer's message waits for their quiet hours to end; an unreachable robot
//! fills the dead-letter list and a retry from it delivers.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use base64::Engine as _;
use chrono::{Datelike, Duration as Span, Timelike, Utc};
use hmac::{KeyInit as _, Mac as _};
use steelcare_domain::Role;
use steelcare_proto::identity::v1 as people;
use steelcare_proto::identity::v1::people_service_client::PeopleServiceClient;
use steelcare_proto::notify::v1 as pb;
use steelcare_proto::notify::v1::notify_service_client::NotifyServiceClient;
use steelcare_tests::receivers::{HttpReceiver, Received, SmtpSink, free_port};
use steelcare_tests::{authed, backends, spawn_app_with};
use tonic::Code;
use tonic::transport::Channel;

use crate::dispatch::Office;
use crate::repair::fields;

const SMS_KEY: &str = "sms-key";
const SMS_SECRET: &str = "sms-secret-0123";
const DING_SECRET: &str = "SECding-0123456789";
const FEISHU_SECRET: &str = "feishu-secret-0123";

fn hmac_base64(key: &[u8], message: &[u8]) -> String {
    let mut mac = hmac::Hmac::<sha2_robots::Sha256>::new_from_slice(key).unwrap();
    mac.update(message);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// The SMS gateway: checks the signature of the exact body; refuses the first `fail_first`
/// well-signed requests with 503; answers `OK` after that, once per `OutId` (a repeat is
/// answered OK without being sent again, as the cloud gateways do).
fn sms_gateway(fail_first: u32) -> impl Fn(&Received) -> (u16, String) + Send + Sync {
    let failures = Arc::new(AtomicU32::new(0));
    move |r: &Received| {
        let timestamp = r.header("x-sms-timestamp").unwrap_or_default();
        let expected = hmac_base64(
            SMS_SECRET.as_bytes(),
            format!("{timestamp}\n{}", r.body).as_bytes(),
        );
        if r.header("x-sms-access-key") != Some(SMS_KEY)
            || r.header("x-sms-signature") != Some(expected.as_str())
        {
            return (403, r#"{"Code":"SignatureDoesNotMatch"}"#.into());
        }
        if failures.fetch_add(1, Ordering::SeqCst) < fail_first {
            return (503, r#"{"Code":"ServiceUnavailable"}"#.into());
        }
        (200, r#"{"Code":"OK","BizId":"biz-1"}"#.into())
    }
}

/// DingTalk: `timestamp` and `sign` in the query, HMAC-SHA256(secret, "ts\nsecret").
fn dingtalk(r: &Received) -> (u16, String) {
    let timestamp = r.query_param("timestamp").unwrap_or_default();
    let sign = r.query_param("sign").unwrap_or_default();
    let expected = hmac_base64(
        DING_SECRET.as_bytes(),
        format!("{timestamp}\n{DING_SECRET}").as_bytes(),
    );
    if sign != expected {
        return (
            200,
            r#"{"errcode":310000,"errmsg":"sign not match"}"#.into(),
        );
    }
    (200, r#"{"errcode":0,"errmsg":"ok"}"#.into())
}

/// Feishu: `timestamp` and `sign` in the body, HMAC-SHA256(key "ts\nsecret", "").
fn feishu(r: &Received) -> (u16, String) {
    let body = r.json();
    let timestamp = body["timestamp"].as_str().unwrap_or_default();
    let expected = hmac_base64(format!("{timestamp}\n{FEISHU_SECRET}").as_bytes(), b"");
    if body["sign"].as_str() != Some(expected.as_str()) {
        return (200, r#"{"code":19021,"msg":"sign match fail"}"#.into());
    }
    (200, r#"{"code":0,"msg":"success"}"#.into())
}

fn wecom(_: &Received) -> (u16, String) {
    (200, r#"{"errcode":0,"errmsg":"ok"}"#.into())
}

/// Quiet hours around now in Shanghai (an hour either side): "night" whenever the test runs.
fn quiet_now() -> (String, String) {
    let local = Utc::now().with_timezone(&chrono_tz::Asia::Shanghai);
    let at = |t: chrono::DateTime<chrono_tz::Tz>| format!("{:02}:{:02}", t.hour(), t.minute());
    (at(local - Span::hours(1)), at(local + Span::hours(1)))
}

/// Polls until `done` answers something (20 s at most).
async fn until<T, F, Fut>(what: &str, mut done: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(value) = done().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn deliveries(
    client: &mut NotifyServiceClient<Channel>,
    token: &str,
    state: pb::DeliveryState,
) -> Vec<pb::Delivery> {
    client
        .list_deliveries(authed(
            pb::ListDeliveriesRequest {
                state: state as i32,
                page_size: 200,
                ..Default::default()
            },
            token,
        ))
        .await
        .unwrap()
        .into_inner()
        .deliveries
}

fn smtp_required() -> bool {
    std::env::var("STEELCARE_REQUIRE_SMTP").is_ok_and(|v| v == "1")
}

/// `token`'s console notifications on `topic`.
async fn inbox(
    notify: &mut NotifyServiceClient<Channel>,
    token: &str,
    topic: &str,
) -> Vec<pb::Notification> {
    notify
        .list_notifications(authed(pb::ListNotificationsRequest::default(), token))
        .await
        .unwrap()
        .into_inner()
        .notifications
        .into_iter()
        .filter(|n| n.topic == topic)
        .collect()
}

/// Waits until `token` has a notification on `topic`; answers them.
async fn heard(
    notify: &NotifyServiceClient<Channel>,
    token: &str,
    topic: &str,
) -> Vec<pb::Notification> {
    until(topic, || {
        let (mut notify, token) = (notify.clone(), token.to_owned());
        let topic = topic.to_owned();
        async move {
            let found = inbox(&mut notify, &token, &topic).await;
            (!found.is_empty()).then_some(found)
        }
    })
    .await
}

/// A server whose SMS gateway is `sms` with `templates` (topic, code), quick to look and send,
/// with no queue workers (the tests offer by hand), and `extra` settings.
async fn texting_office(
    backend: &steelcare_tests::Backend,
    sms: &HttpReceiver,
    templates: &[(&str, &str)],
    extra: &[(&str, &str)],
) -> Office {
    let url = sms.url("/sms");
    let keys: Vec<(String, &str)> = templates
        .iter()
        .map(|(topic, code)| {
            let key = format!(
                "STEELCARE__NOTIFY__SMS__TEMPLATES__{}",
                topic.to_uppercase()
            );
            (key, *code)
        })
        .collect();
    let mut settings = vec![
        ("STEELCARE__DISPATCH__WORKERS", "0"),
        ("STEELCARE__NOTIFY__POLL_INTERVAL_MS", "100"),
        ("STEELCARE__NOTIFY__SMS__URL", url.as_str()),
        ("STEELCARE__NOTIFY__SMS__ACCESS_KEY", SMS_KEY),
        ("STEELCARE__NOTIFY__SMS__SECRET", SMS_SECRET),
    ];
    settings.extend(keys.iter().map(|(k, v)| (k.as_str(), *v)));
    settings.extend_from_slice(extra);
    Office::open(backend, &settings).await
}

/// A gateway that sends everything.
async fn accepting_gateway() -> HttpReceiver {
    HttpReceiver::start(|_| (200, r#"{"Code":"OK"}"#.to_owned())).await
}

/// The people of the directory the messages are for.
async fn directory(office: &Office, admin: &str) {
    let mut people = PeopleServiceClient::new(office.app.channel().await);
    for (login, roles, email, phone) in [
        (
            "duty-1",
            vec!["manager"],
            "duty@steelcare.example",
            "13900000009",
        ),
        (
            "disp-1",
            vec!["dispatcher"],
            "disp@steelcare.example",
            "13900000008",
        ),
    ] {
        people
            .create_person(authed(
                people::CreatePersonRequest {
                    person: Some(people::Person {
                        login: login.into(),
                        display_name: format!("{login} name"),
                        email: email.into(),
                        phone: phone.into(),
                        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
                        language_code: "en".into(),
                        ..Default::default()
                    }),
                    password: "a-long-password-1".into(),
                },
                admin,
            ))
            .await
            .unwrap();
    }
}

async fn prefer(
    client: &mut NotifyServiceClient<Channel>,
    token: &str,
    preferences: pb::Preferences,
) -> Result<pb::Preferences, tonic::Status> {
    client
        .update_preferences(authed(
            pb::UpdatePreferencesRequest {
                preferences: Some(preferences),
            },
            token,
        ))
        .await
        .map(|r| r.into_inner().preferences.unwrap_or_default())
}

/// A server configured with every channel, the receivers it sends to, and the tokens the
/// test acts with.
struct Rig {
    office: Office,
    notify: NotifyServiceClient<Channel>,
    admin: String,
    manager: String,
    smtp: SmtpSink,
    sms: HttpReceiver,
    robots: [HttpReceiver; 3],
    /// The robot of the night shift, unreachable until the test starts it.
    late_port: u16,
}

impl Rig {
    async fn start(backend: &steelcare_tests::Backend, smtp: SmtpSink) -> Rig {
        let sms = HttpReceiver::start(sms_gateway(2)).await;
        let robots = [
            HttpReceiver::start(wecom).await,
            HttpReceiver::start(dingtalk).await,
            HttpReceiver::start(feishu).await,
        ];
        let late_port = free_port().await;
        let smtp_port = smtp.port.to_string();
        let urls = [
            robots[0].url("/cgi-bin/webhook/send?key=k1"),
            robots[1].url("/robot/send?access_token=t1"),
            robots[2].url("/open-apis/bot/v2/hook/h1"),
            format!("http://127.0.0.1:{late_port}/cgi-bin/webhook/send?key=late"),
            sms.url("/sms"),
        ];
        let topics = ["OPS", "DING", "LARK", "LATE"]
            .map(|robot| format!("STEELCARE__NOTIFY__WEBHOOKS__{robot}__TOPICS"));
        let mut settings = vec![
            ("STEELCARE__NOTIFY__SMTP__HOST", "127.0.0.1"),
            ("STEELCARE__NOTIFY__SMTP__PORT", smtp_port.as_str()),
            ("STEELCARE__NOTIFY__SMTP__SECURITY", "none"),
            ("STEELCARE__NOTIFY__SMTP__USERNAME", "steelcare"),
            ("STEELCARE__NOTIFY__SMTP__PASSWORD", "smtp-pass"),
            (
                "STEELCARE__NOTIFY__SMTP__FROM",
                "SteelCare <service@steelcare.example>",
            ),
            ("STEELCARE__NOTIFY__SMS__URL", &urls[4]),
            ("STEELCARE__NOTIFY__SMS__ACCESS_KEY", SMS_KEY),
            ("STEELCARE__NOTIFY__SMS__SECRET", SMS_SECRET),
            ("STEELCARE__NOTIFY__SMS__SIGN_NAME", "钢构售后"),
            (
                "STEELCARE__NOTIFY__SMS__TEMPLATES__DISPATCH-ESCALATED",
                "SMS_900",
            ),
            (
                "STEELCARE__NOTIFY__SMS__TEMPLATES__TICKET-RECEIVED",
                "SMS_100",
            ),
            ("STEELCARE__NOTIFY__WEBHOOKS__OPS__KIND", "wecom"),
            ("STEELCARE__NOTIFY__WEBHOOKS__OPS__URL", &urls[0]),
            ("STEELCARE__NOTIFY__WEBHOOKS__DING__KIND", "dingtalk"),
            ("STEELCARE__NOTIFY__WEBHOOKS__DING__URL", &urls[1]),
            ("STEELCARE__NOTIFY__WEBHOOKS__DING__SECRET", DING_SECRET),
            ("STEELCARE__NOTIFY__WEBHOOKS__LARK__KIND", "feishu"),
            ("STEELCARE__NOTIFY__WEBHOOKS__LARK__URL", &urls[2]),
            ("STEELCARE__NOTIFY__WEBHOOKS__LARK__SECRET", FEISHU_SECRET),
            ("STEELCARE__NOTIFY__WEBHOOKS__LATE__KIND", "wecom"),
            ("STEELCARE__NOTIFY__WEBHOOKS__LATE__URL", &urls[3]),
            ("STEELCARE__NOTIFY__DUTY_MANAGERS", "duty-1"),
            ("STEELCARE__NOTIFY__RETRY_BASE_MS", "200"),
            ("STEELCARE__NOTIFY__RETRY_MAX_MS", "400"),
            ("STEELCARE__NOTIFY__MAX_ATTEMPTS", "3"),
            ("STEELCARE__NOTIFY__SEND_TIMEOUT_MS", "2000"),
            ("STEELCARE__NOTIFY__POLL_INTERVAL_MS", "100"),
            // One escalation per ticket within the test.
            ("STEELCARE__DISPATCH__RETRY_BASE", "10m"),
        ];
        settings.extend(topics.iter().map(|k| (k.as_str(), "dispatch-escalated")));
        let office = Office::attach(spawn_app_with(backend, &settings).await).await;
        let admin = office.app.token("admin-1", &[Role::Admin], None);
        let manager = office.app.token("duty-1", &[Role::Manager], None);
        let notify = NotifyServiceClient::new(office.app.channel().await);
        directory(&office, &admin).await;
        Rig {
            office,
            notify,
            admin,
            manager,
            smtp,
            sms,
            robots,
            late_port,
        }
    }

    fn name(&self) -> &'static str {
        self.office.app.backend.name()
    }
}

#[tokio::test]
async fn each_person_hears_once_by_their_channels_and_a_dead_letter_is_retried() {
    for backend in backends() {
        let Some(smtp) = SmtpSink::start("steelcare", "smtp-pass").await else {
            assert!(
                !smtp_required(),
                "STEELCARE_REQUIRE_SMTP=1 but no Python with aiosmtpd (pip install aiosmtpd)"
            );
            eprintln!("skipped: no Python with aiosmtpd for the SMTP server");
            return;
        };
        let mut rig = Rig::start(&backend, smtp).await;
        night(&mut rig).await;
        refusals(&mut rig).await;
        // A P1 with nobody to send: the escalation is urgent.
        let ticket = rig.office.ticket("钢柱开裂").await;
        let number = escalation_reaches_everyone(&mut rig).await;
        robots_and_mail(&rig, &number).await;
        console(&mut rig, &ticket).await;
        customer_waits(&mut rig).await;
        dead_letter(&mut rig).await;
        rig.office.app.stop().await.unwrap();
    }
}

/// It is night for everyone: the duty manager and the dispatcher have quiet hours now, and so
/// does the customer's contact (the office records it for them).
async fn night(rig: &mut Rig) {
    let (start, end) = quiet_now();
    let quiet = |recipient: &str, channels: Vec<pb::DeliveryChannel>| pb::Preferences {
        recipient: recipient.into(),
        channels: channels.into_iter().map(|c| c as i32).collect(),
        quiet_start: start.clone(),
        quiet_end: end.clone(),
        ..Default::default()
    };
    let both = vec![pb::DeliveryChannel::Email, pb::DeliveryChannel::Sms];
    let (manager, admin, agent) = (
        rig.manager.clone(),
        rig.admin.clone(),
        rig.office.agent.clone(),
    );
    let mine = prefer(&mut rig.notify, &manager, quiet("", both))
        .await
        .unwrap();
    assert_eq!(mine.recipient, "duty-1", "{}", rig.name());
    assert_eq!(mine.quiet_start, start, "{}", rig.name());
    let email = vec![pb::DeliveryChannel::Email];
    prefer(&mut rig.notify, &admin, quiet("disp-1", email))
        .await
        .unwrap();
    prefer(
        &mut rig.notify,
        &agent,
        quiet("contact:13800000000", vec![]),
    )
    .await
    .unwrap();
}

/// The escalation is sent despite the night: the duty manager by e-mail and SMS, the
/// dispatcher by e-mail, three robots; the gateway that refused twice took it the third time,
/// once. Answers the acceptance number.
async fn escalation_reaches_everyone(rig: &mut Rig) -> String {
    let name = rig.name();
    let sent = until("the escalation's messages", || {
        let (mut notify, admin) = (rig.notify.clone(), rig.admin.clone());
        async move {
            let sent = deliveries(&mut notify, &admin, pb::DeliveryState::Sent).await;
            let console = pb::DeliveryChannel::Console as i32;
            let outside: Vec<_> = sent
                .into_iter()
                .filter(|d| d.topic == "dispatch-escalated" && d.channel != console)
                .collect();
            (outside.len() == 6).then_some(outside)
        }
    })
    .await;
    let sms_delivery = sent
        .iter()
        .find(|d| d.channel == pb::DeliveryChannel::Sms as i32)
        .unwrap();
    assert_eq!(sms_delivery.recipient, "duty-1", "{name}");
    assert_eq!(
        sms_delivery.attempts, 3,
        "{name}: refused twice, sent the third time"
    );
    let texts = rig.sms.requests();
    assert_eq!(texts.len(), 3, "{name}: {texts:?}");
    assert_eq!(
        texts.iter().filter(|r| r.status == 200).count(),
        1,
        "{name}"
    );
    let body = texts[2].json();
    assert_eq!(body["PhoneNumbers"], "13900000009", "{name}");
    assert_eq!(body["TemplateCode"], "SMS_900", "{name}");
    assert_eq!(body["OutId"], sms_delivery.delivery_id.as_str(), "{name}");
    assert!(
        texts.iter().all(|r| r.json()["OutId"] == body["OutId"]),
        "{name}"
    );
    let params: serde_json::Value =
        serde_json::from_str(body["TemplateParam"].as_str().unwrap()).unwrap();
    assert_eq!(
        params["tier"], "P1 urgent",
        "{name}: in the duty manager's English"
    );
    let number = params["number"].as_str().unwrap().to_owned();
    assert!(number.starts_with("SC-"), "{params}");
    number
}

/// Mail: the duty manager and the dispatcher, each once, in English, authenticated; each robot
/// once, signed as its chat expects.
async fn robots_and_mail(rig: &Rig, number: &str) {
    let name = rig.name();
    let mails = until("two mails", || {
        let found: Vec<_> = rig
            .smtp
            .messages()
            .into_iter()
            .filter(|m| m["body"].as_str().unwrap_or("").contains(number))
            .collect();
        async move { (found.len() >= 2).then_some(found) }
    })
    .await;
    let mut to: Vec<&str> = mails.iter().map(|m| m["to"][0].as_str().unwrap()).collect();
    to.sort();
    assert_eq!(
        to,
        ["disp@steelcare.example", "duty@steelcare.example"],
        "{name}"
    );
    for mail in &mails {
        assert!(
            mail["subject"]
                .as_str()
                .unwrap()
                .starts_with("Nobody to send"),
            "{mail}"
        );
        assert_eq!(mail["user"], "steelcare", "{name}: authenticated");
        assert!(
            mail["message_id"]
                .as_str()
                .unwrap()
                .ends_with("@steelcare>"),
            "{mail}"
        );
    }
    for robot in &rig.robots {
        let got = robot.requests();
        assert_eq!(got.len(), 1, "{name}: {got:?}");
        assert_eq!(got[0].status, 200, "{name}");
        assert!(got[0].body.contains(number), "{name}: {}", got[0].body);
    }
    let [_, ding, lark] = &rig.robots;
    assert!(
        ding.requests()[0].query.contains("access_token=t1"),
        "{name}"
    );
    assert_eq!(lark.requests()[0].json()["msg_type"], "text", "{name}");
}

/// The duty manager's console: the urgent notification, unread until marked.
async fn console(rig: &mut Rig, ticket: &str) {
    let name = rig.name();
    let manager = rig.manager.clone();
    let inbox = rig
        .notify
        .list_notifications(authed(pb::ListNotificationsRequest::default(), &manager))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(inbox.unread_count, 1, "{name}");
    let note = &inbox.notifications[0];
    assert!(note.urgent && note.case_id == ticket, "{name}: {note:?}");
    let left = rig
        .notify
        .mark_notifications_read(authed(
            pb::MarkNotificationsReadRequest {
                notification_ids: vec![note.notification_id.clone()],
                all: false,
            },
            &manager,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(left.unread_count, 0, "{name}");
}

/// The customer's acknowledgement is not urgent: it waits for their quiet hours to end.
async fn customer_waits(rig: &mut Rig) {
    let name = rig.name();
    let admin = rig.admin.clone();
    let held = deliveries(&mut rig.notify, &admin, pb::DeliveryState::Pending).await;
    let held: Vec<_> = held
        .iter()
        .filter(|d| d.topic == "ticket-received")
        .collect();
    assert_eq!(held.len(), 1, "{name}: {held:?}");
    assert_eq!(held[0].recipient, "contact:13800000000", "{name}");
    assert_eq!(held[0].channel, pb::DeliveryChannel::Sms as i32, "{name}");
    let due = held[0].next_attempt_time.as_ref().unwrap().seconds;
    assert!(
        due > Utc::now().timestamp() + 30 * 60,
        "{name}: held until the quiet end"
    );
}

/// Preferences refused at their fields; someone else's are the office's to set.
async fn refusals(rig: &mut Rig) {
    let (notify, office, manager) = (&mut rig.notify, &rig.office, rig.manager.as_str());
    let err = prefer(
        notify,
        manager,
        pb::Preferences {
            channels: vec![pb::DeliveryChannel::Console as i32],
            language: "fr".into(),
            quiet_start: "25:00".into(),
            quiet_end: "07:00".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let mut named = fields(&err);
    named.sort();
    assert_eq!(
        named,
        [
            "preferences.channels[0]",
            "preferences.language",
            "preferences.quiet_start"
        ]
    );
    let technician = office.tech_token("t-1");
    let err = prefer(
        notify,
        &technician,
        pb::Preferences {
            recipient: "duty-1".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let err = notify
        .list_deliveries(authed(pb::ListDeliveriesRequest::default(), &technician))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
}

/// The unreachable robot's message is dead after its attempts; once the robot is there, a
/// retry from the dead-letter list delivers it; only a dead delivery can be retried.
async fn dead_letter(rig: &mut Rig) {
    let name = rig.name();
    let (notify, admin, manager) = (&mut rig.notify, rig.admin.as_str(), rig.manager.as_str());
    let late_port = rig.late_port;
    let dead = until("the dead letter", || {
        let mut notify = notify.clone();
        let admin = admin.to_owned();
        async move {
            let dead = deliveries(&mut notify, &admin, pb::DeliveryState::Dead).await;
            (!dead.is_empty()).then_some(dead)
        }
    })
    .await;
    assert_eq!(dead.len(), 1, "{name}: {dead:?}");
    assert_eq!(dead[0].recipient, "webhook:late", "{name}");
    assert_eq!(dead[0].attempts, 3, "{name}");
    assert!(!dead[0].last_error.is_empty(), "{name}");

    let retry = |token: &str, id: &str| {
        authed(
            pb::RetryDeliveryRequest {
                delivery_id: id.into(),
            },
            token,
        )
    };
    let err = notify
        .retry_delivery(retry(manager, &dead[0].delivery_id))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{name}");
    let late = HttpReceiver::start_on(late_port, wecom).await;
    let again = notify
        .retry_delivery(retry(admin, &dead[0].delivery_id))
        .await
        .unwrap()
        .into_inner()
        .delivery
        .unwrap();
    assert_eq!(again.state, pb::DeliveryState::Pending as i32, "{name}");
    until("the retried message", || {
        let n = late.requests().len();
        async move { (n == 1).then_some(()) }
    })
    .await;
    let err = notify
        .retry_delivery(retry(admin, &dead[0].delivery_id))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{name}: {err:?}");
    let err = notify
        .retry_delivery(retry(admin, "no-such-delivery"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound, "{name}");
}

#[tokio::test]
async fn a_technician_hears_of_an_offer_in_the_console_as_it_is_made() {
    for backend in backends() {
        // No channel configured: the console alone, which every deployment has.
        let mut office = Office::open(&backend, &[]).await;
        let name = office.app.backend.name();
        let mut notify = NotifyServiceClient::new(office.app.channel().await);
        let near = office.tech_token("t-near");
        let mut watch = notify
            .watch_notifications(authed(pb::WatchNotificationsRequest {}, &near))
            .await
            .unwrap()
            .into_inner();
        let first = watch.message().await.unwrap().unwrap();
        assert_eq!(
            (first.unread_count, first.notification),
            (0, None),
            "{name}"
        );

        office.hire(crate::dispatch::surveyor("t-near", 2.0)).await;
        let ticket = office.ticket("钢梁下翼缘出现裂缝").await;
        let heard = tokio::time::timeout(Duration::from_secs(20), watch.message())
            .await
            .expect("the offer's notification within 20 s")
            .unwrap()
            .unwrap();
        assert_eq!(heard.unread_count, 1, "{name}");
        let note = heard.notification.unwrap();
        assert_eq!(
            (note.topic.as_str(), note.case_id.as_str()),
            ("offer", ticket.as_str())
        );
        // In the deployment's language (the technician chose none): Chinese.
        assert!(note.title.starts_with("新派工"), "{name}: {}", note.title);
        assert!(
            note.body.contains("Suzhou logistics warehouse"),
            "{}",
            note.body
        );
        assert!(note.urgent, "{name}: a P1's offer");

        only_theirs(&mut notify, &office, &note).await;
        office.app.stop().await.unwrap();
    }
}

/// Nobody else's: another technician's list is empty and marking `note` is NOT_FOUND to them;
/// its own technician marks everything read and has nothing unread left.
async fn only_theirs(
    notify: &mut NotifyServiceClient<Channel>,
    office: &Office,
    note: &pb::Notification,
) {
    let name = office.app.backend.name();
    let near = office.tech_token("t-near");
    // Nobody else's: another technician's list is empty, and marking this one is
    // NOT_FOUND to them.
    let far = office.tech_token("t-far");
    let theirs = notify
        .list_notifications(authed(pb::ListNotificationsRequest::default(), &far))
        .await
        .unwrap()
        .into_inner();
    assert!(
        theirs.notifications.is_empty() && theirs.unread_count == 0,
        "{name}"
    );
    let err = notify
        .mark_notifications_read(authed(
            pb::MarkNotificationsReadRequest {
                notification_ids: vec![note.notification_id.clone()],
                all: false,
            },
            &far,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound, "{name}");
    let err = notify
        .mark_notifications_read(authed(pb::MarkNotificationsReadRequest::default(), &near))
        .await
        .unwrap_err();
    assert_eq!(fields(&err), ["notification_ids"], "{name}");
    let read = notify
        .mark_notifications_read(authed(
            pb::MarkNotificationsReadRequest {
                all: true,
                ..Default::default()
            },
            &near,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(read.unread_count, 0, "{name}");
    let unread = notify
        .list_notifications(authed(
            pb::ListNotificationsRequest {
                unread_only: true,
                ..Default::default()
            },
            &near,
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(unread.notifications.is_empty(), "{name}");
}

#[tokio::test]
async fn an_opted_out_contact_hears_only_what_the_contract_requires() {
    for backend in backends() {
        let sms = accepting_gateway().await;
        let templates = [
            ("ticket-received", "SMS_100"),
            ("survey-planned", "SMS_300"),
            ("agreement-to-sign", "SMS_500"),
        ];
        let office = texting_office(&backend, &sms, &templates, &[]).await;
        let mut desk = crate::repair::Desk::on(office).await;
        let name = desk.office.app.backend.name();
        let mut notify = NotifyServiceClient::new(desk.office.app.channel().await);
        let agent = desk.office.agent.clone();
        let out = prefer(
            &mut notify,
            &agent,
            pb::Preferences {
                recipient: "contact:13800000000".into(),
                opted_out: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert!(out.opted_out, "{name}");
        // Recorded for the contact by the agent, and audited.
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        let audited = steelcare_store::entity::audit_log::Entity::find()
            .filter(steelcare_store::entity::audit_log::Column::EntityType.eq("notify_preferences"))
            .all(&desk.office.app.db)
            .await
            .unwrap();
        assert_eq!(audited.len(), 1, "{name}");
        assert_eq!(
            (audited[0].subject.as_str(), audited[0].entity_id.as_str()),
            ("agent-1", "contact:13800000000"),
            "{name}"
        );
        assert!(audited[0].after_summary.contains("opted_out"), "{name}");
        for id in ["t-lead", "t-crew"] {
            desk.office
                .hire(crate::dispatch::roofer(
                    id,
                    crate::dispatch::date(2030, 12, 31),
                ))
                .await;
        }
        let ticket = crate::acceptance::approved_case(&mut desk).await;
        crate::acceptance::customer_agrees(&mut desk, &ticket).await;
        prepare_agreement(&mut desk, &ticket).await;

        // The acknowledgement and the agreement to sign reach them; the visit's time, which the
        // contract does not require, does not.
        until("the two required texts", || {
            let got: Vec<String> = sms
                .requests()
                .iter()
                .map(|r| r.json()["TemplateCode"].as_str().unwrap_or("").to_owned())
                .collect();
            async move { (got.len() >= 2).then_some(()) }
        })
        .await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let mut templates: Vec<String> = sms
            .requests()
            .iter()
            .map(|r| r.json()["TemplateCode"].as_str().unwrap_or("").to_owned())
            .collect();
        templates.sort();
        assert_eq!(templates, ["SMS_100", "SMS_500"], "{name}: {templates:?}");
        let agreement = sms
            .requests()
            .into_iter()
            .find(|r| r.json()["TemplateCode"] == "SMS_500")
            .unwrap();
        let params: serde_json::Value =
            serde_json::from_str(agreement.json()["TemplateParam"].as_str().unwrap()).unwrap();
        assert_eq!(params["version"], "1", "{name}: {params}");
        desk.office.app.stop().await.unwrap();
    }
}

/// The engineer prepares the agreement on plan version 1 for the customer's countersignature.
async fn prepare_agreement(desk: &mut crate::repair::Desk, ticket: &str) {
    let engineer = desk.engineer.clone();
    desk.repair
        .sign_agreement(authed(
            steelcare_proto::repair::v1::SignAgreementRequest {
                await_customer_signature: true,
                signatures: vec![crate::repair::signature(
                    "eng-1",
                    steelcare_proto::common::v1::SignatureRole::ContractorRepresentative,
                )],
                ..crate::acceptance::agreement("prepared-1", ticket)
            },
            &engineer,
        ))
        .await
        .unwrap();
}

#[tokio::test]
async fn the_owner_of_a_corrective_action_falling_due_is_reminded_once() {
    use steelcare_proto::feedback::v1 as fpb;
    use steelcare_proto::feedback::v1::feedback_service_client::FeedbackServiceClient;
    for backend in backends() {
        let mut office = Office::open(
            &backend,
            &[("STEELCARE__NOTIFY__REMINDER_INTERVAL_MS", "200")],
        )
        .await;
        let name = office.app.backend.name();
        let ticket = office.ticket("屋面天沟漏水").await;
        let mut feedback = FeedbackServiceClient::new(office.app.channel().await);
        let mut notify = NotifyServiceClient::new(office.app.channel().await);
        let manager = office.app.token("mgr-1", &[Role::Manager], None);
        let engineer = office.app.token("eng-1", &[Role::Engineer], None);
        let owner = steelcare_proto::common::v1::PersonRef {
            user_id: "eng-1".into(),
            display_name: "Zhang San".into(),
            ..Default::default()
        };
        feedback
            .set_department_members(authed(
                fpb::SetDepartmentMembersRequest {
                    department: fpb::Department::Construction as i32,
                    members: vec![owner.clone()],
                },
                &manager,
            ))
            .await
            .unwrap();
        let tomorrow =
            (Utc::now().with_timezone(&chrono_tz::Asia::Shanghai) + Span::days(1)).date_naive();
        let raise = |request_id: &str, title: &str, days_ahead: i64| {
            let due = tomorrow + Span::days(days_ahead - 1);
            fpb::RaiseCorrectiveActionRequest {
                request_id: request_id.into(),
                department: fpb::Department::Construction as i32,
                title: title.into(),
                description: "Two leaks at gutter outlets".into(),
                owner: Some(owner.clone()),
                due_date: Some(steelcare_proto::common::v1::Date {
                    year: due.year(),
                    month: due.month() as i32,
                    day: due.day() as i32,
                }),
                case_ids: vec![ticket.clone()],
                ..Default::default()
            }
        };
        for (id, title, days) in [
            ("ca-1", "Seal gutter outlets", 1),
            ("ca-2", "Retrain the crews", 30),
        ] {
            feedback
                .raise_corrective_action(authed(raise(id, title, days), &engineer))
                .await
                .unwrap();
        }
        let due = heard(&notify, &engineer, "action-due").await;
        // Several more looks later, still one reminder, for the action due tomorrow only.
        tokio::time::sleep(Duration::from_millis(800)).await;
        let reminders = inbox(&mut notify, &engineer, "action-due").await;
        assert_eq!(reminders.len(), 1, "{name}: {reminders:?}");
        assert!(
            due[0].title.contains("Seal gutter outlets"),
            "{name}: {}",
            due[0].title
        );
        assert_eq!(due[0].case_id, ticket, "{name}");
        office.app.stop().await.unwrap();
    }
}

#[tokio::test]
async fn the_customer_hears_of_the_plan_the_survey_and_a_visit_falling_due_and_the_agent_once() {
    use steelcare_proto::feedback::v1 as fpb;
    use steelcare_proto::feedback::v1::feedback_service_client::FeedbackServiceClient;
    for backend in backends() {
        let sms = accepting_gateway().await;
        let reminders = [("STEELCARE__NOTIFY__REMINDER_INTERVAL_MS", "200")];
        let templates = [
            ("plan-to-decide", "SMS_600"),
            ("visit-due", "SMS_700"),
            ("satisfaction-survey", "SMS_800"),
        ];
        let office = texting_office(&backend, &sms, &templates, &reminders).await;
        let mut desk = crate::repair::Desk::on(office).await;
        let name = desk.office.app.backend.name();
        for id in ["t-lead", "t-crew"] {
            desk.office
                .hire(crate::dispatch::roofer(
                    id,
                    crate::dispatch::date(2030, 12, 31),
                ))
                .await;
        }
        let ticket = crate::feedback::archived_case(&mut desk).await;
        let agent = desk.office.agent.clone();
        let mut feedback = FeedbackServiceClient::new(desk.office.app.channel().await);
        feedback
            .add_visit(authed(
                fpb::AddVisitRequest {
                    request_id: "visit-soon".into(),
                    ticket_id: ticket.clone(),
                    due_time: Some(steelcare_runtime::convert::to_timestamp(
                        Utc::now() + Span::hours(2),
                    )),
                    agent_id: "agent-1".into(),
                    reason: "the customer asked for an early call".into(),
                },
                &agent,
            ))
            .await
            .unwrap();
        let mut notify = NotifyServiceClient::new(desk.office.app.channel().await);
        let calls = heard(&notify, &agent, "visit-call-due").await;
        assert_eq!(calls[0].case_id, ticket, "{name}");
        let codes = || -> Vec<String> {
            let mut codes: Vec<String> = sms
                .requests()
                .iter()
                .map(|r| r.json()["TemplateCode"].as_str().unwrap_or("").to_owned())
                .collect();
            codes.sort();
            codes
        };
        // The reminder (found by the periodic look) may come before the survey's text (the
        // consumer's, of an earlier event) on a loaded machine: wait for all three.
        until("the plan's, the survey's and the reminder's texts", || {
            let all = ["SMS_600", "SMS_700", "SMS_800"]
                .iter()
                .all(|code| codes().contains(&(*code).to_owned()));
            async move { all.then_some(()) }
        })
        .await;
        // Several looks later: one reminder each (the visits months away are not announced);
        // before it, the approved plan to decide on and, once accepted, the survey.
        tokio::time::sleep(Duration::from_millis(800)).await;
        assert_eq!(codes(), ["SMS_600", "SMS_700", "SMS_800"], "{name}");
        let phones: Vec<_> = sms
            .requests()
            .iter()
            .map(|r| r.json()["PhoneNumbers"].clone())
            .collect();
        assert!(
            phones.iter().all(|p| p == "13800000000"),
            "{name}: {phones:?}"
        );
        let calls = inbox(&mut notify, &agent, "visit-call-due").await.len();
        assert_eq!(calls, 1, "{name}");
        desk.office.app.stop().await.unwrap();
    }
}

#[tokio::test]
async fn a_plan_waits_on_the_technical_lead_and_then_on_the_chief_engineer() {
    use crate::repair::{cny, plan_content, report_content};
    for backend in backends() {
        let office = Office::open(&backend, &[("STEELCARE__DISPATCH__WORKERS", "0")]).await;
        let mut desk = crate::repair::Desk::on(office).await;
        let name = desk.office.app.backend.name();
        let admin = desk.office.app.token("admin-1", &[Role::Admin], None);
        let mut people = PeopleServiceClient::new(desk.office.app.channel().await);
        for (login, role) in [("eng-2", "engineer"), ("zhou.chief", "chief_engineer")] {
            people
                .create_person(authed(
                    people::CreatePersonRequest {
                        person: Some(people::Person {
                            login: login.into(),
                            display_name: format!("{login} name"),
                            roles: vec![role.into()],
                            ..Default::default()
                        }),
                        password: "a-long-password-1".into(),
                    },
                    &admin,
                ))
                .await
                .unwrap();
        }
        for id in ["t-lead", "t-crew"] {
            desk.office
                .hire(crate::dispatch::roofer(
                    id,
                    crate::dispatch::date(2030, 12, 31),
                ))
                .await;
        }
        let ticket = desk
            .surveyed_case("t-lead", chrono::TimeDelta::hours(2), true)
            .await;
        let engineer = desk.engineer.clone();
        desk.submit("r-1", &ticket, report_content(), &engineer)
            .await
            .unwrap();
        // 60,000.00 CNY: above the chief engineer's threshold.
        let mut content = plan_content(&["t-crew"], chrono::TimeDelta::days(1));
        content.cost_estimate = cny(6_000_000);
        desk.propose("p-1", &ticket, content, "").await.unwrap();
        let mut notify = NotifyServiceClient::new(desk.office.app.channel().await);
        let lead = desk.reviewer.clone();
        let chief = desk
            .office
            .app
            .token("zhou.chief", &[Role::ChiefEngineer], None);
        let waiting = heard(&notify, &lead, "plan-to-review").await;
        assert_eq!(waiting[0].case_id, ticket, "{name}");
        assert!(
            inbox(&mut notify, &chief, "plan-to-review")
                .await
                .is_empty(),
            "{name}: the chief engineer's step comes after the lead's"
        );
        desk.review("v-1", &ticket, 1, true, "", &lead)
            .await
            .unwrap();
        let chiefs = heard(&notify, &chief, "plan-to-review").await;
        assert_eq!(chiefs.len(), 1, "{name}");
        assert_eq!(
            inbox(&mut notify, &lead, "plan-to-review").await.len(),
            1,
            "{name}: the lead who approved is not told again"
        );
        desk.office.app.stop().await.unwrap();
    }
}

/// A notifier over `app`'s database and settings, as its process runs the notify consumer.
fn notifier_of(app: &steelcare_tests::TestApp) -> steelcare_notify::Notifier {
    let channels = steelcare_notify::channels::Channels::from_settings(&app.settings.notify)
        .expect("notify channels");
    steelcare_notify::Notifier::new(
        app.db.clone(),
        app.settings.notify.clone(),
        (
            app.settings.intake.timezone,
            app.settings.server.default_locale,
        ),
        channels,
        tokio::sync::watch::channel(false).1,
    )
}

/// What a delivery tells whom, without its id, state and times.
type Told = (String, String, String, String, String, String, String, bool);

/// What notify recorded for `tickets`' events.
async fn told(app: &steelcare_tests::TestApp, tickets: &[String]) -> Vec<Told> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    use steelcare_store::entity::notify_deliveries;
    let rows = notify_deliveries::Entity::find()
        .filter(notify_deliveries::Column::CaseId.is_in(tickets.iter().cloned()))
        .all(&app.db)
        .await
        .unwrap();
    let mut told: Vec<Told> = rows
        .into_iter()
        .map(|r| {
            let case = r.case_id.unwrap_or_default();
            (
                case,
                r.event_id,
                r.recipient,
                r.channel,
                r.topic,
                r.title,
                r.body,
                r.urgent,
            )
        })
        .collect();
    told.sort();
    told
}

/// Forgets what notify recorded of `events`, as if its group had not handled them yet.
async fn untold(
    app: &steelcare_tests::TestApp,
    tickets: &[String],
    events: &[steelcare_bus::Delivery],
) {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    use steelcare_store::entity::notify_deliveries;
    notify_deliveries::Entity::delete_many()
        .filter(notify_deliveries::Column::CaseId.is_in(tickets.iter().cloned()))
        .exec(&app.db)
        .await
        .unwrap();
    crate::dispatch::forget_processed(app, "notify", events).await;
}

#[tokio::test]
async fn a_read_of_many_events_tells_everyone_as_one_by_one_would_and_once() {
    for backend in backends() {
        let sms = accepting_gateway().await;
        let url = sms.url("/sms");
        let settings = [
            ("STEELCARE__NOTIFY__SMS__URL", url.as_str()),
            ("STEELCARE__NOTIFY__SMS__ACCESS_KEY", SMS_KEY),
            ("STEELCARE__NOTIFY__SMS__SECRET", SMS_SECRET),
            (
                "STEELCARE__NOTIFY__SMS__TEMPLATES__TICKET-RECEIVED",
                "SMS_100",
            ),
            (
                "STEELCARE__NOTIFY__SMS__TEMPLATES__DISPATCH-ESCALATED",
                "SMS_900",
            ),
            ("STEELCARE__NOTIFY__DUTY_MANAGERS", "duty-1"),
            ("STEELCARE__NOTIFY__POLL_INTERVAL_MS", "100"),
            // One escalation per ticket within the test.
            ("STEELCARE__DISPATCH__RETRY_BASE", "10m"),
        ];
        let mut office = Office::attach(spawn_app_with(&backend, &settings).await).await;
        let admin = office.app.token("admin-1", &[Role::Admin], None);
        directory(&office, &admin).await;
        // One technician, with two places: two P1s are offered to them (they hear it), the
        // others find nobody (the dispatcher and the duty manager hear); every contact hears
        // their ticket was taken in.
        office.hire(crate::dispatch::surveyor("t-near", 2.0)).await;
        let mut tickets = Vec::new();
        for i in 0..5 {
            tickets.push(office.ticket(&format!("钢柱开裂 {i}")).await);
        }
        let name = backend.name();
        // As the process told them, event by event as they came.
        let first = until("every ticket received, and offered or escalated", || {
            let (app, tickets) = (&office.app, &tickets);
            async move {
                let told = told(app, tickets).await;
                let has = |t: &String, topic: &str| told.iter().any(|d| &d.0 == t && d.4 == topic);
                let done = tickets.iter().all(|t| {
                    has(t, "ticket-received") && (has(t, "offer") || has(t, "dispatch-escalated"))
                });
                done.then_some(told)
            }
        })
        .await;
        let of = |ticket: &String, topic: &str, to: &str| {
            (first.iter())
                .filter(|d| &d.0 == ticket && d.4 == topic && d.2 == to)
                .count()
        };
        let offered = tickets
            .iter()
            .filter(|t| of(t, "offer", "t-near") == 1)
            .count();
        assert_eq!(offered, 2, "{name}: {first:?}");
        for ticket in &tickets {
            assert_eq!(
                of(ticket, "ticket-received", "contact:13800000000"),
                1,
                "{name}: {first:?}"
            );
            if of(ticket, "offer", "t-near") == 0 {
                assert!(
                    of(ticket, "dispatch-escalated", "disp-1") >= 1,
                    "{name}: {first:?}"
                );
                assert!(
                    of(ticket, "dispatch-escalated", "duty-1") >= 1,
                    "{name}: a P1: {first:?}"
                );
            }
        }

        // The same events in one read: acknowledged, every one, and told exactly as before.
        let events = crate::dispatch::outbox_deliveries(&office.app, &tickets).await;
        untold(&office.app, &tickets, &events).await;
        assert!(told(&office.app, &tickets).await.is_empty(), "{name}");
        let notifier = notifier_of(&office.app);
        let mut acked = steelcare_notify::worker::handle_events(&notifier, events.clone()).await;
        acked.sort();
        let mut all: Vec<String> = events.iter().map(|d| d.entry_id.clone()).collect();
        all.sort();
        assert_eq!(acked, all, "{name}");
        assert_eq!(told(&office.app, &tickets).await, first, "{name}");

        // Delivered again, the read is acknowledged and tells nobody twice.
        let again = steelcare_notify::worker::handle_events(&notifier, events.clone()).await;
        assert_eq!(again.len(), events.len(), "{name}");
        assert_eq!(told(&office.app, &tickets).await, first, "{name}");
        office.app.stop().await.unwrap();
    }
}
