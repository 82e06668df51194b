//! `steelcare-bench notify`: notifications against local receivers, on the configured
//! database. Every ticket taken in tells its caller by SMS (an HTTP gateway answering OK), by
//! e-mail (aiosmtpd, when a Python with it is found) and a WeCom robot (HTTP). Two runs:
//! - **burst**: `--tickets` created by 16 clients as fast as intake takes them; per channel,
//!   deliveries per second from the first send to the last;
//! - **paced**: `--paced` tickets at `--rate` per second; per channel, the delay from the
//!   event's commit to the channel's acceptance, p50 and p99.
//!
//! The figures come from the deliveries table (`event_time_ms`, `sent_at_ms`), so they are
//! what the service itself recorded.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, Statement};
use steelcare_domain::Role;
use steelcare_proto::common::v1 as common;
use steelcare_proto::intake::v1 as pb;
use steelcare_proto::intake::v1::intake_service_client::IntakeServiceClient;
use steelcare_runtime::Settings;
use steelcare_runtime::settings::{
    Secret, SmsSettings, SmtpSecurity, SmtpSettings, WebhookKind, WebhookSettings,
};
use steelcare_tests::receivers::{HttpReceiver, SmtpSink};
use tonic::transport::Channel;

use crate::intake::{authed, bench_token, prepare};

/// What to run.
#[derive(Debug, Clone)]
pub struct NotifyBenchOptions {
    /// Tickets of the burst.
    pub tickets: usize,
    /// Tickets of the paced run.
    pub paced: usize,
    /// Tickets per second of the paced run.
    pub rate: u32,
    /// Label printed with the figures.
    pub label: String,
}

/// The receivers the channels send to, and the settings that point at them.
struct Receivers {
    _sms: HttpReceiver,
    _robot: HttpReceiver,
    smtp: Option<SmtpSink>,
}

async fn receivers(settings: &mut Settings) -> Receivers {
    let ok =
        |_: &steelcare_tests::receivers::Received| (200, r#"{"Code":"OK","errcode":0}"#.to_owned());
    let sms = HttpReceiver::start(ok).await;
    let robot = HttpReceiver::start(ok).await;
    let smtp = SmtpSink::start("bench", "bench-pass").await;
    let notify = &mut settings.notify;
    notify.sms = Some(SmsSettings {
        url: sms.url("/sms"),
        access_key: "bench".into(),
        secret: Secret::new("bench-secret"),
        sign_name: "SteelCare".into(),
        templates: [("ticket-received".to_owned(), "SMS_100".to_owned())].into(),
    });
    notify.webhooks.insert(
        "ops".into(),
        WebhookSettings {
            kind: WebhookKind::WeCom,
            url: robot.url("/cgi-bin/webhook/send?key=bench"),
            secret: Secret::new(""),
            topics: vec!["ticket-received".into()],
        },
    );
    notify.smtp = smtp.as_ref().map(|sink| SmtpSettings {
        host: "127.0.0.1".into(),
        port: sink.port,
        security: SmtpSecurity::None,
        username: "bench".into(),
        password: Secret::new("bench-pass"),
        from: "SteelCare <bench@steelcare.example>".into(),
    });
    Receivers {
        _sms: sms,
        _robot: robot,
        smtp,
    }
}

async fn ticket(
    client: &mut IntakeServiceClient<Channel>,
    token: &str,
    project_id: &str,
    n: usize,
) -> Result<(), String> {
    client
        .create_ticket(authed(
            pb::CreateTicketRequest {
                request_id: uuid::Uuid::new_v4().to_string(),
                channel: pb::Channel::Hotline as i32,
                project_id: project_id.to_owned(),
                reporter: Some(common::PersonRef {
                    display_name: format!("Caller {n}"),
                    phone: format!("139{n:08}"),
                    email: format!("caller{n}@customer.example"),
                    ..Default::default()
                }),
                location: Some(pb::StructureLocation {
                    description: "north gutter".into(),
                    ..Default::default()
                }),
                description: Some(pb::ProblemDescription {
                    phenomenon: "屋面渗漏 roof leakage".into(),
                    ..Default::default()
                }),
                customer_request: "please come".into(),
                ..Default::default()
            },
            token,
        )?)
        .await
        .map_err(|s| format!("create ticket: {}", s.message()))?;
    Ok(())
}

/// Per channel: (count sent, first sent ms, last sent ms, delays ms sorted).
type Figures = BTreeMap<String, (usize, i64, i64, Vec<i64>)>;

async fn figures(db: &steelcare_store::Database, since_ms: i64) -> Result<Figures, String> {
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            format!(
                "SELECT channel, event_time_ms, sent_at_ms FROM notify_deliveries \
                 WHERE state = 'sent' AND channel <> 'console' AND created_at_ms >= {since_ms}"
            ),
        ))
        .await
        .map_err(|err| err.to_string())?;
    let mut out = Figures::new();
    for row in rows {
        let channel: String = row.try_get_by_index(0).map_err(|e| e.to_string())?;
        let event: i64 = row.try_get_by_index(1).map_err(|e| e.to_string())?;
        let sent: Option<i64> = row.try_get_by_index(2).map_err(|e| e.to_string())?;
        let sent = sent.unwrap_or(event);
        let entry = out.entry(channel).or_insert((0, i64::MAX, 0, Vec::new()));
        entry.0 += 1;
        entry.1 = entry.1.min(sent);
        entry.2 = entry.2.max(sent);
        entry.3.push(sent - event);
    }
    for entry in out.values_mut() {
        entry.3.sort_unstable();
    }
    Ok(out)
}

/// Waits until every channel has sent `expected` deliveries since `since_ms` (120 s at most).
async fn settle(
    db: &steelcare_store::Database,
    since_ms: i64,
    channels: usize,
    expected: usize,
) -> Result<Figures, String> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let got = figures(db, since_ms).await?;
        let done = got.len() == channels && got.values().all(|f| f.0 >= expected);
        if done || Instant::now() > deadline {
            return Ok(got);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn percentile(sorted: &[i64], p: f64) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((sorted.len() as f64) * p).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Runs both measurements and prints a table.
pub async fn notify(mut settings: Settings, options: NotifyBenchOptions) -> Result<(), String> {
    let receivers = receivers(&mut settings).await;
    let channels = if receivers.smtp.is_some() { 3 } else { 2 };
    if receivers.smtp.is_none() {
        eprintln!("no Python with aiosmtpd (STEELCARE_SMTP_PYTHON): e-mail left out");
    }
    let running = crate::dispatch::start(&settings, 0).await?;
    let (_, token) = bench_token(&settings, &[Role::Agent])?;
    let mut client = IntakeServiceClient::new(running.channel().await?);
    let project_id = prepare(&mut client, &token).await?;

    // The burst: 16 clients as fast as intake takes them.
    let since = steelcare_store::now().timestamp_millis();
    let started = Instant::now();
    let per_client = options.tickets.div_ceil(16);
    let mut clients = Vec::new();
    for c in 0..16 {
        let (mut client, token, project_id) = (client.clone(), token.clone(), project_id.clone());
        clients.push(tokio::spawn(async move {
            for i in 0..per_client {
                ticket(&mut client, &token, &project_id, c * per_client + i).await?;
            }
            Ok::<(), String>(())
        }));
    }
    for c in clients {
        c.await.map_err(|err| err.to_string())??;
    }
    let created = started.elapsed();
    let burst = settle(&running.db, since, channels, per_client * 16).await?;

    // Paced: the delay from commit to the channel's acceptance.
    let since = steelcare_store::now().timestamp_millis();
    let every = Duration::from_secs_f64(1.0 / f64::from(options.rate.max(1)));
    let mut tick = tokio::time::interval(every);
    for i in 0..options.paced {
        tick.tick().await;
        ticket(&mut client, &token, &project_id, 1_000_000 + i).await?;
    }
    let paced = settle(&running.db, since, channels, options.paced).await?;
    running.stop().await;

    println!(
        "\n## notify, {} ({} tickets created in {:.1} s by 16 clients; {} paced at {}/s)\n",
        options.label,
        per_client * 16,
        created.as_secs_f64(),
        options.paced,
        options.rate
    );
    println!(
        "| channel | burst: sent | burst: deliveries/s | paced: delay p50 | paced: delay p99 |"
    );
    println!("|---|---|---|---|---|");
    for (channel, (count, first, last, _)) in &burst {
        let span = ((last - first).max(1)) as f64 / 1000.0;
        let delays = paced.get(channel).map(|f| f.3.as_slice()).unwrap_or(&[]);
        println!(
            "| {channel} | {count} | {:.0} | {} ms | {} ms |",
            *count as f64 / span,
            percentile(delays, 0.50),
            percentile(delays, 0.99)
        );
    }
    Ok(())
}
