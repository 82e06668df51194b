//! The event backbone and dispatch under faults, with several replicas on one database and
//! Redis: supervised workers that come back after a panic, health that tells the truth, one
//! relay across replicas, Redis losing everything mid-flow, technicians never offered past
//! capacity, reclassifications and newly available technicians reaching waiting work.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use steelcare::Faults;
use steelcare_domain::Role;
use steelcare_domain::dispatch::Skill;
use steelcare_proto::common::v1 as common;
use steelcare_proto::dispatch::v1 as pb;
use steelcare_proto::intake::v1 as intake;
use steelcare_store::entity::{
    assignment_offers, assignments, bus_stream_entries, outbox, technicians,
};
use steelcare_tests::{Backend, TestApp, authed, backends, spawn_app_with, spawn_app_with_faults};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use steelcare_dispatch::engine::JobOutcome;

use crate::dispatch::{Office, date, dispatcher_of, lose_the_queue, roofer, surveyor};

const DISPATCH: &str = "steelcare.dispatch.v1.DispatchService";
const INTAKE: &str = "steelcare.intake.v1.IntakeService";

async fn health_of(app: &TestApp, service: &str) -> i32 {
    let mut health = HealthClient::new(app.channel().await);
    health
        .check(HealthCheckRequest {
            service: service.to_owned(),
        })
        .await
        .map(|r| r.into_inner().status)
        .unwrap_or_else(|err| panic!("health of {service:?}: {err}"))
}

/// Polls `check` every 50 ms until it holds; panics naming `what` after `within`.
async fn eventually<F, Fut>(within: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + within;
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Whether the relay has published every outbox event.
async fn all_published(db: &steelcare_store::Database) -> bool {
    outbox::Entity::find()
        .filter(outbox::Column::PublishedAt.is_null())
        .count(db)
        .await
        .unwrap()
        == 0
}

async fn office_on(app: TestApp) -> Office {
    Office::attach(app).await
}

#[tokio::test]
async fn a_panicking_queue_worker_is_restarted_health_tells_and_the_work_is_done() {
    for backend in backends() {
        let panics = Arc::new(AtomicU32::new(2));
        let app = spawn_app_with_faults(
            &backend,
            &[
                ("STEELCARE__DISPATCH__WORKERS", "1"),
                ("STEELCARE__DISPATCH__LEASE_MS", "200"),
            ],
            Faults {
                panic_dispatch_jobs: panics.clone(),
                ..Faults::default()
            },
        )
        .await;
        let mut office = office_on(app).await;
        office.hire(surveyor("t-a", 1.0)).await;
        let ticket = office.ticket("钢梁裂缝 after two panics").await;
        // The only worker panics twice on this job; the supervisor starts it again, the
        // lease brings the job back, and the third try offers it.
        let offered = office
            .wait_for(&ticket, "an offer despite two panics", |a| {
                a.state == pb::AssignmentState::Offered as i32
            })
            .await;
        assert_eq!(offered.technician_id, "t-a", "{}", backend.name());
        assert_eq!(panics.load(Ordering::SeqCst), 0, "{}", backend.name());
        assert_eq!(
            health_of(&office.app, DISPATCH).await,
            ServingStatus::Serving as i32
        );

        // A worker that keeps failing: after a few quick restarts it counts as down and
        // dispatch reports NOT_SERVING, while intake, whose tasks are fine, still serves.
        panics.store(1_000, Ordering::SeqCst);
        let second = office
            .ticket("钢梁裂缝 while the worker keeps failing")
            .await;
        let app = &office.app;
        eventually(Duration::from_secs(15), "dispatch NOT_SERVING", || async {
            health_of(app, DISPATCH).await == ServingStatus::NotServing as i32
        })
        .await;
        assert_eq!(health_of(app, INTAKE).await, ServingStatus::Serving as i32);
        assert_eq!(health_of(app, "").await, ServingStatus::NotServing as i32);

        // Once the fault is gone the worker runs again, health recovers, the job is offered.
        panics.store(0, Ordering::SeqCst);
        eventually(
            Duration::from_secs(40),
            "dispatch SERVING again",
            || async { health_of(app, DISPATCH).await == ServingStatus::Serving as i32 },
        )
        .await;
        let offered = office
            .wait_for(&second, "an offer after recovery", |a| {
                a.state == pb::AssignmentState::Offered as i32
            })
            .await;
        assert_eq!(offered.technician_id, "t-a");
        office.app.stop().await.unwrap();
    }
}

#[tokio::test]
async fn health_is_not_serving_without_the_schema_and_serves_once_migrated() {
    for backend in backends() {
        let app = spawn_app_with(
            &backend,
            &[("STEELCARE__DATABASE__MIGRATE_ON_START", "false")],
        )
        .await;
        for service in ["", INTAKE, DISPATCH] {
            assert_eq!(
                health_of(&app, service).await,
                ServingStatus::NotServing as i32,
                "{}: {service:?} on an empty database",
                backend.name()
            );
        }
        let applied = steelcare_store::migrate(&app.db).await.unwrap();
        assert!(applied > 0);
        eventually(Duration::from_secs(10), "SERVING after migrate", || async {
            health_of(&app, "").await == ServingStatus::Serving as i32
        })
        .await;
        app.stop().await.unwrap();
    }
}

/// Offered assignments per technician, and the technicians whose counted load passes
/// their capacity.
async fn over_capacity(app: &TestApp) -> (usize, Vec<String>) {
    let open = assignments::Entity::find()
        .filter(assignments::Column::State.eq("offered"))
        .all(&app.db)
        .await
        .unwrap();
    let mut per_technician = std::collections::HashMap::<String, i32>::new();
    for a in &open {
        *per_technician
            .entry(a.technician_id.clone().unwrap_or_default())
            .or_default() += 1;
    }
    let mut over = Vec::new();
    for t in technicians::Entity::find().all(&app.db).await.unwrap() {
        let offers = per_technician.get(&t.id).copied().unwrap_or(0);
        if offers + t.booked > t.capacity || t.offered + t.booked > t.capacity {
            over.push(format!(
                "{}: {offers} offers, counted {} + {} booked, capacity {}",
                t.id, t.offered, t.booked, t.capacity
            ));
        }
    }
    (open.len(), over)
}

#[tokio::test]
async fn two_replicas_racing_never_offer_a_technician_past_capacity() {
    for backend in backends() {
        // The reconciler runs only at start: a job that loses a race must go back to the
        // queue by itself, not wait for the safety net.
        let busy = [
            ("STEELCARE__DISPATCH__WORKERS", "3"),
            ("STEELCARE__DISPATCH__RETRY_BASE", "1m"),
            ("STEELCARE__DISPATCH__RECONCILE_INTERVAL_MS", "3600000"),
        ];
        let app = spawn_app_with(&backend, &busy).await;
        let replica = app.replica(&busy).await;
        let mut office = office_on(app).await;
        for i in 0..10 {
            office
                .hire(surveyor(&format!("t-{i:02}"), 1.0 + i as f64))
                .await;
        }
        // 30 visits for 20 places (10 technicians of capacity 2), matched by six workers in
        // two processes at once.
        let mut tickets = Vec::new();
        for i in 0..30 {
            tickets.push(office.ticket(&format!("钢梁裂缝 burst {i}")).await);
        }
        for t in &tickets {
            office
                .wait_for(t, "an offer or an escalation", |a| {
                    a.state == pb::AssignmentState::Offered as i32 || a.escalations >= 1
                })
                .await;
        }
        let (offered, over) = over_capacity(&office.app).await;
        assert!(
            over.is_empty(),
            "{}: over capacity: {over:?}",
            backend.name()
        );
        assert_eq!(offered, 20, "{}: every place offered once", backend.name());
        replica.stop().await.unwrap();
        office.app.stop().await.unwrap();
    }
}

async fn stream_length(app: &TestApp) -> u64 {
    match &app.backend {
        Backend::Embedded => bus_stream_entries::Entity::find()
            .count(&app.db)
            .await
            .unwrap(),
        Backend::PostgresRedis { redis_url, .. } => {
            let client = redis::Client::open(redis_url.as_str()).unwrap();
            let mut conn = client.get_multiplexed_async_connection().await.unwrap();
            redis::cmd("XLEN")
                .arg(format!("{}stream:events", app.settings.redis.key_prefix))
                .query_async(&mut conn)
                .await
                .unwrap()
        }
    }
}

#[tokio::test]
async fn one_relay_publishes_each_event_once_across_replicas() {
    for backend in backends() {
        let app = spawn_app_with(&backend, &[]).await;
        let replicas = [app.replica(&[]).await, app.replica(&[]).await];
        let mut office = office_on(app).await;
        for i in 0..20 {
            office.ticket(&format!("钢梁裂缝 relay {i}")).await;
        }
        let db = office.app.db.clone();
        eventually(Duration::from_secs(15), "outbox published", || {
            all_published(&db)
        })
        .await;
        // Each event on the stream once: the counts agree once the work the tickets set off
        // (offers) has settled; a duplicate would keep the stream ahead for good.
        let app = &office.app;
        eventually(
            Duration::from_secs(15),
            "three relays, each event on the stream once",
            || {
                let db = db.clone();
                async move {
                    let rows = outbox::Entity::find().count(&db).await.unwrap();
                    stream_length(app).await == rows && all_published(&db).await
                }
            },
        )
        .await;
        for r in replicas {
            r.stop().await.unwrap();
        }
        office.app.stop().await.unwrap();
    }
}

#[tokio::test]
async fn redis_losing_everything_mid_flow_loses_no_ticket() {
    for backend in backends() {
        if backend == Backend::Embedded {
            continue;
        }
        let fast = [("STEELCARE__DISPATCH__RECONCILE_INTERVAL_MS", "500")];
        let app = spawn_app_with(&backend, &fast).await;
        let replica = app.replica(&fast).await;
        let mut office = office_on(app).await;
        for i in 0..8 {
            let mut t = surveyor(&format!("t-{i}"), 1.0 + i as f64);
            t.capacity = 5;
            office.hire(t).await;
        }
        let mut tickets = Vec::new();
        for round in 0..3 {
            for i in 0..10 {
                tickets.push(office.ticket(&format!("钢梁裂缝 {round}-{i}")).await);
            }
            // Everything under the prefix goes: streams, groups, pending deliveries, the
            // queue, the epoch mark.
            lose_the_queue(&office.app).await;
        }
        for t in &tickets {
            office
                .wait_for(t, "an offer after Redis lost everything", |a| {
                    a.state == pb::AssignmentState::Offered as i32
                })
                .await;
        }
        // Replays were dropped by the processed-event keys: one assignment and one offer each.
        let db = &office.app.db;
        assert_eq!(
            assignments::Entity::find().count(db).await.unwrap(),
            tickets.len() as u64
        );
        assert_eq!(
            assignment_offers::Entity::find().count(db).await.unwrap(),
            tickets.len() as u64
        );
        let (_, over) = over_capacity(&office.app).await;
        assert!(over.is_empty(), "{over:?}");
        replica.stop().await.unwrap();
        office.app.stop().await.unwrap();
    }
}

#[tokio::test]
async fn a_reclassification_reaches_a_confirmed_assignment_at_once() {
    for backend in backends() {
        let mut office = Office::open(&backend, &[]).await;
        // A bolting hand who is also a structural surveyor, so either category fits.
        let mut both = roofer("t-a", date(2030, 1, 1));
        both.skills = [
            Skill::StructuralSurvey,
            Skill::SurveyingInstruments,
            Skill::HighStrengthBolting,
        ]
        .map(Skill::proto_value)
        .to_vec();
        office.hire(both).await;
        // Loose bolts: a major (P2) problem by the rules.
        let ticket = office.ticket("高强螺栓松动").await;
        let offered = office
            .wait_for(&ticket, "an offer", |a| {
                a.state == pb::AssignmentState::Offered as i32
            })
            .await;
        assert_eq!(offered.tier, common::SeverityTier::P2Major as i32);
        office.accept(&offered.assignment_id, "t-a").await.unwrap();
        let engineer = office.app.token("eng-1", &[Role::Engineer], None);
        office
            .intake
            .classify_ticket(authed(
                intake::ClassifyTicketRequest {
                    ticket_id: ticket.clone(),
                    category: common::ProblemCategory::StructuralSafety as i32,
                    tier: common::SeverityTier::P1Urgent as i32,
                    reason: "joint creaks in the wind: connection failing".into(),
                },
                &engineer,
            ))
            .await
            .unwrap();
        let revised = office
            .wait_for(&ticket, "the new tier on the confirmed assignment", |a| {
                a.tier == common::SeverityTier::P1Urgent as i32
            })
            .await;
        assert_eq!(revised.state, pb::AssignmentState::Confirmed as i32);
        assert_eq!(revised.technician_id, "t-a");
        assert_ne!(revised.arrival_deadline_time, offered.arrival_deadline_time);
        office.app.stop().await.unwrap();
    }
}

#[tokio::test]
async fn a_technician_who_becomes_available_wakes_the_waiting_work_of_their_region() {
    for backend in backends() {
        // The retry after "nobody available" is far away: only the wake can offer in time.
        let mut office = Office::open(
            &backend,
            &[
                ("STEELCARE__DISPATCH__RETRY_BASE", "10m"),
                ("STEELCARE__DISPATCH__RETRY_MAX", "10m"),
            ],
        )
        .await;
        let ticket = office.ticket("钢梁裂缝 before anyone is on the team").await;
        office
            .wait_for(&ticket, "an escalation", |a| a.escalations >= 1)
            .await;
        office.hire(surveyor("t-late", 1.0)).await;
        let offered = office
            .wait_for(&ticket, "an offer to the new technician", |a| {
                a.state == pb::AssignmentState::Offered as i32
            })
            .await;
        assert_eq!(offered.technician_id, "t-late", "{}", backend.name());

        // Off duty and back: the same wake.
        let ticket = office
            .ticket("钢梁裂缝 while the only one is off duty")
            .await;
        office
            .dispatch
            .set_availability(authed(
                pb::SetAvailabilityRequest {
                    technician_id: "t-late".into(),
                    status: pb::TechnicianStatus::OffDuty as i32,
                    leave_periods: vec![],
                },
                &office.dispatcher,
            ))
            .await
            .unwrap();
        office
            .wait_for(&ticket, "an escalation", |a| a.escalations >= 1)
            .await;
        office
            .dispatch
            .set_availability(authed(
                pb::SetAvailabilityRequest {
                    technician_id: "t-late".into(),
                    status: pb::TechnicianStatus::OnDuty as i32,
                    leave_periods: vec![],
                },
                &office.dispatcher,
            ))
            .await
            .unwrap();
        let offered = office
            .wait_for(&ticket, "an offer once back on duty", |a| {
                a.state == pb::AssignmentState::Offered as i32
            })
            .await;
        assert_eq!(offered.technician_id, "t-late");
        office.app.stop().await.unwrap();
    }
}

#[tokio::test]
async fn matchers_racing_for_the_last_places_offer_each_place_once() {
    for backend in backends() {
        // No workers of the server's own: the test's matchers, of two "processes", race.
        let mut office = Office::open(&backend, &[("STEELCARE__DISPATCH__WORKERS", "0")]).await;
        office.hire(surveyor("t-only", 1.0)).await;
        let mut ids = Vec::new();
        for i in 0..12 {
            let ticket = office.ticket(&format!("钢梁裂缝 race {i}")).await;
            ids.push(
                office
                    .wait_for(&ticket, "a waiting job", |a| {
                        a.state == pb::AssignmentState::Waiting as i32
                    })
                    .await
                    .assignment_id,
            );
        }
        let matchers = [dispatcher_of(&office.app), dispatcher_of(&office.app)];
        let start = Arc::new(tokio::sync::Barrier::new(ids.len()));
        let mut racing = Vec::new();
        for (i, id) in ids.iter().enumerate() {
            let matcher = matchers[i % 2].clone();
            let id = id.clone();
            let start = start.clone();
            racing.push(tokio::spawn(async move {
                start.wait().await;
                matcher.handle_job(&id).await
            }));
        }
        let mut offered = 0;
        for r in racing {
            if let Ok(JobOutcome::Offered(_)) = r.await.unwrap() {
                offered += 1;
            }
        }
        let (open, over) = over_capacity(&office.app).await;
        assert!(over.is_empty(), "{}: {over:?}", backend.name());
        assert!(
            offered <= 2 && open <= 2,
            "{}: {offered} offers for 2 places",
            backend.name()
        );
        office.app.stop().await.unwrap();
    }
}

#[tokio::test]
async fn a_stream_kept_across_an_upgrade_is_not_published_again() {
    for backend in backends() {
        let Backend::PostgresRedis { redis_url, .. } = &backend else {
            continue;
        };
        let mut office = Office::open(&backend, &[]).await;
        for i in 0..5 {
            office
                .ticket(&format!("钢梁裂缝 before the upgrade {i}"))
                .await;
        }
        let db = office.app.db.clone();
        eventually(Duration::from_secs(10), "outbox published", || {
            all_published(&db)
        })
        .await;
        let before = stream_length(&office.app).await;
        let client = redis::Client::open(redis_url.as_str()).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let stream = format!("{}stream:events", office.app.settings.redis.key_prefix);
        let first_entry = |mut conn: redis::aio::MultiplexedConnection| {
            let stream = stream.clone();
            async move {
                let reply: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
                    .arg(&stream)
                    .arg("-")
                    .arg("+")
                    .arg("COUNT")
                    .arg(1)
                    .query_async(&mut conn)
                    .await
                    .unwrap();
                reply.ids.first().map(|e| e.id.clone())
            }
        };
        let oldest = first_entry(conn.clone()).await;
        assert!(oldest.is_some());
        // A build before the epoch mark existed left the stream without one.
        let _: () = redis::cmd("DEL")
            .arg(format!("{}epoch", office.app.settings.redis.key_prefix))
            .query_async(&mut conn)
            .await
            .unwrap();
        office.ticket("钢梁裂缝 after the upgrade").await;
        eventually(Duration::from_secs(10), "the new event published", || {
            all_published(&db)
        })
        .await;
        // Only the new events were added; the stream was neither dropped nor refilled. The
        // work the new ticket sets off (the offer) may still be emitting events: compare once
        // everything is published, both counts read together.
        let app = &office.app;
        eventually(
            Duration::from_secs(10),
            "stream and outbox to agree",
            || {
                let db = db.clone();
                async move {
                    let rows = outbox::Entity::find().count(&db).await.unwrap();
                    stream_length(app).await == rows && all_published(&db).await
                }
            },
        )
        .await;
        assert!(stream_length(app).await > before, "{before} before");
        assert_eq!(first_entry(conn).await, oldest);
        office.app.stop().await.unwrap();
    }
}
