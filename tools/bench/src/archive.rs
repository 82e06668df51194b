//! `steelcare bench archive`: archiving, verifying and exporting a case of `--documents`
//! documents holding `--megabytes` of attachments, against an in-process server on the
//! configured database. Each round prepares its own case over gRPC (a consultation answered
//! remotely, with communications and photos to reach the sizes), then times ArchiveCase,
//! VerifyArchive and ExportArchive; the figures are the median round's.

use std::time::{Duration, Instant};

use steelcare_domain::Role;
use steelcare_proto::acceptance::v1 as apb;
use steelcare_proto::acceptance::v1::acceptance_service_client::AcceptanceServiceClient;
use steelcare_proto::intake::v1 as ipb;
use steelcare_proto::intake::v1::intake_service_client::IntakeServiceClient;
use steelcare_proto::repair::v1 as rpb;
use steelcare_proto::repair::v1::repair_service_client::RepairServiceClient;
use steelcare_runtime::Settings;
use tokio_stream::StreamExt;
use tonic::transport::Channel;

use crate::dispatch::start;
use crate::intake::{authed, percentile, prepare, ticket};

/// What to run.
#[derive(Debug, Clone)]
pub struct ArchiveBenchOptions {
    /// Documents per archive (at least 10: the case's own records come first).
    pub documents: usize,
    /// Megabytes of attachments per archive.
    pub megabytes: usize,
    /// Rounds (one case each).
    pub rounds: usize,
    /// Label printed with the figures.
    pub label: String,
}

/// The case's own records an answered consultation archives (intake record, classification,
/// SLA, remote resolution).
const OWN_DOCUMENTS: usize = 4;

async fn prepared_case(
    channel: &Channel,
    token: &str,
    project_id: &str,
    round: usize,
    options: &ArchiveBenchOptions,
) -> Result<String, String> {
    let mut intake = IntakeServiceClient::new(channel.clone());
    let mut repair = RepairServiceClient::new(channel.clone());
    let fail = |what: &'static str| move |s: tonic::Status| format!("{what}: {}", s.message());
    let mut request = ticket(project_id, round);
    if let Some(d) = request.description.as_mut() {
        d.phenomenon = "请问屋面多久需要维护一次？".into();
    }
    let ticket_id = intake
        .create_ticket(authed(request, token)?)
        .await
        .map_err(fail("create ticket"))?
        .into_inner()
        .ticket
        .ok_or("no ticket")?
        .ticket_id;
    let photos = options.documents.saturating_sub(OWN_DOCUMENTS).clamp(1, 40);
    let communications = options.documents.saturating_sub(OWN_DOCUMENTS + photos);
    let photo_bytes = options.megabytes * 1024 * 1024 / photos;
    for p in 0..photos {
        let mut bytes: Vec<u8> = b"\xff\xd8\xff\xe0\0\x10JFIF\0".to_vec();
        bytes.extend((0..photo_bytes.saturating_sub(11)).map(|i| ((i * 31 + p) % 251) as u8));
        let mut messages = vec![ipb::UploadAttachmentRequest {
            part: Some(ipb::upload_attachment_request::Part::Metadata(
                ipb::AttachmentMetadata {
                    ticket_id: ticket_id.clone(),
                    file_name: format!("photo-{p:02}.jpg"),
                    content_type: "image/jpeg".into(),
                    caption: format!("roof, photo {p}"),
                    request_id: String::new(),
                },
            )),
        }];
        messages.extend(bytes.chunks(1 << 20).map(|c| ipb::UploadAttachmentRequest {
            part: Some(ipb::upload_attachment_request::Part::Chunk(c.to_vec())),
        }));
        intake
            .upload_attachment(authed(tokio_stream::iter(messages), token)?)
            .await
            .map_err(fail("upload"))?;
    }
    intake
        .resolve_remotely(authed(
            ipb::ResolveRemotelyRequest {
                ticket_id: ticket_id.clone(),
                answer: "Inspect the roof twice a year and after typhoons".into(),
            },
            token,
        )?)
        .await
        .map_err(fail("resolve remotely"))?;
    for c in 0..communications {
        repair
            .record_communication(authed(
                rpb::RecordCommunicationRequest {
                    request_id: format!("bench-comm-{round}-{c}"),
                    ticket_id: ticket_id.clone(),
                    channel: rpb::CommunicationChannel::Phone as i32,
                    occur_time: Some(steelcare_runtime::convert::to_timestamp(
                        chrono::Utc::now() - chrono::TimeDelta::minutes(5),
                    )),
                    participants: vec![steelcare_proto::common::v1::PersonRef {
                        display_name: "Li Wei".into(),
                        ..Default::default()
                    }],
                    summary: format!("Follow-up call {c} about the maintenance schedule"),
                    attachment_ids: vec![],
                },
                token,
            )?)
            .await
            .map_err(fail("communication"))?;
    }
    Ok(ticket_id)
}

/// Runs the archive benchmark and prints its figures.
pub async fn archive(settings: Settings, options: ArchiveBenchOptions) -> Result<(), String> {
    let (_, token) = crate::intake::bench_token(
        &settings,
        &[Role::Agent, Role::Engineer, Role::Manager, Role::Auditor],
    )?;
    let mut settings = settings;
    settings.attachments.max_bytes = settings.attachments.max_bytes.max(64 << 20);
    let running = start(&settings, 0).await?;
    let channel = running.channel().await?;
    let project_id = prepare(&mut IntakeServiceClient::new(channel.clone()), &token).await?;
    let mut client =
        AcceptanceServiceClient::new(channel.clone()).max_decoding_message_size(64 << 20);
    let (mut archived, mut verified, mut exported) = (Vec::new(), Vec::new(), Vec::new());
    let (mut documents, mut zip_bytes) = (0, 0);
    for round in 0..options.rounds {
        let ticket_id = prepared_case(&channel, &token, &project_id, round, &options).await?;
        let t = Instant::now();
        let archive = client
            .archive_case(authed(
                apb::ArchiveCaseRequest {
                    request_id: format!("bench-archive-{round}"),
                    ticket_id,
                },
                &token,
            )?)
            .await
            .map_err(|s| format!("archive: {}", s.message()))?
            .into_inner()
            .archive
            .ok_or("no archive")?;
        archived.push(t.elapsed());
        documents = archive.documents.len();
        let t = Instant::now();
        let report = client
            .verify_archive(authed(
                apb::VerifyArchiveRequest {
                    archive_number: archive.archive_number.clone(),
                },
                &token,
            )?)
            .await
            .map_err(|s| format!("verify: {}", s.message()))?
            .into_inner();
        verified.push(t.elapsed());
        if !report.intact {
            return Err(format!(
                "archive {} is not intact: {report:?}",
                archive.archive_number
            ));
        }
        let t = Instant::now();
        let mut stream = client
            .export_archive(authed(
                apb::ExportArchiveRequest {
                    archive_number: archive.archive_number.clone(),
                },
                &token,
            )?)
            .await
            .map_err(|s| format!("export: {}", s.message()))?
            .into_inner();
        let mut bytes = 0;
        while let Some(chunk) = stream.next().await {
            bytes += chunk
                .map_err(|s| format!("export: {}", s.message()))?
                .chunk
                .len();
        }
        exported.push(t.elapsed());
        zip_bytes = bytes;
    }
    for list in [&mut archived, &mut verified, &mut exported] {
        list.sort();
    }
    let ms = |list: &[Duration]| percentile(list, 0.5).as_secs_f64() * 1000.0;
    println!(
        "archive backend={} documents={documents} attachments_mb={} rounds={} archive_ms={:.0} verify_ms={:.0} export_ms={:.0} zip_mb={:.1}",
        options.label,
        options.megabytes,
        options.rounds,
        ms(&archived),
        ms(&verified),
        ms(&exported),
        zip_bytes as f64 / (1024.0 * 1024.0),
    );
    running.stop().await;
    Ok(())
}
