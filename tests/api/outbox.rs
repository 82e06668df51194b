//! The transactional outbox: a change, its audit record and its event commit together or not
//! at all; the relay publishes in commit order; consumers handle each event once.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use sea_orm::{EntityTrait, PaginatorTrait, TransactionTrait};
use steelcare_bus::{ConsumerOptions, EVENTS_STREAM, OutboxRelay, run_consumer};
use steelcare_store::entity::{audit_log, cases as case_rows, outbox as outbox_rows};
use steelcare_store::outbox::NewOutboxEvent;
use steelcare_store::{audit, begin_write, cases, outbox, processed};
use steelcare_tests::{backends, spawn_app};

async fn create_case_with_event(db: &steelcare_store::Database, case_id: &str, commit: bool) {
    let tx = begin_write(db).await.unwrap();
    cases::create(&tx, case_id, Some("org")).await.unwrap();
    audit::record(
        &tx,
        audit::NewAuditRecord {
            subject: "agent-1",
            roles: &["agent".to_owned()],
            organization_id: None,
            display_name: None,
            rpc: "/test/Create",
            entity_type: "case",
            entity_id: case_id,
            before: None,
            after: serde_json::json!({ "state": "RECEIVED" }),
            trace_id: "t",
        },
    )
    .await
    .unwrap();
    outbox::append(
        &tx,
        NewOutboxEvent {
            event_id: format!("evt-{case_id}"),
            stream: EVENTS_STREAM.to_owned(),
            case_id: Some(case_id.to_owned()),
            payload: case_id.as_bytes().to_vec(),
        },
    )
    .await
    .unwrap();
    if commit {
        tx.commit().await.unwrap();
    } else {
        tx.rollback().await.unwrap();
    }
}

#[tokio::test]
async fn a_rolled_back_change_leaves_no_row_no_audit_and_no_event() {
    for backend in backends() {
        let app = spawn_app(&backend).await;
        create_case_with_event(&app.db, "kept", true).await;
        create_case_with_event(&app.db, "dropped", false).await;
        assert_eq!(case_rows::Entity::find().count(&app.db).await.unwrap(), 1);
        assert_eq!(audit_log::Entity::find().count(&app.db).await.unwrap(), 1);
        let events = outbox_rows::Entity::find().all(&app.db).await.unwrap();
        assert_eq!(events.len(), 1, "{}", backend.name());
        assert_eq!(events[0].event_id, "evt-kept");
        app.stop().await.unwrap();
    }
}

#[tokio::test]
async fn the_relay_publishes_in_commit_order_and_consumers_handle_each_event_once() {
    for backend in backends() {
        let app = spawn_app(&backend).await;
        // The running server's relay and a second one race on the same outbox: duplicates
        // may reach the stream, never the handler.
        let extra_relay = OutboxRelay::new(app.db.clone(), app.bus.events.clone());
        for i in 0..20 {
            create_case_with_event(&app.db, &format!("c{i:02}"), true).await;
        }
        extra_relay.relay_once().await.unwrap();

        let handled = Arc::new(Mutex::new(Vec::<String>::new()));
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let consumer = {
            let db = app.db.clone();
            let handled = handled.clone();
            tokio::spawn(run_consumer(
                app.bus.events.clone(),
                ConsumerOptions::new(EVENTS_STREAM, "test-group", "test-consumer"),
                move |delivery| {
                    let db = db.clone();
                    let handled = handled.clone();
                    async move {
                        let tx = db.begin().await.map_err(|e| e.to_string())?;
                        if processed::mark_processed(&tx, "test-group", &delivery.event_id)
                            .await
                            .map_err(|e| e.to_string())?
                        {
                            handled
                                .lock()
                                .map_err(|e| e.to_string())?
                                .push(String::from_utf8_lossy(&delivery.payload).into_owned());
                        }
                        tx.commit().await.map_err(|e| e.to_string())
                    }
                },
                stopped,
            ))
        };
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        while handled.lock().unwrap().len() < 20 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // Publish everything again, as a relay that crashed before marking would.
        let rows = outbox::unpublished(&app.db, 100).await.unwrap();
        assert!(
            rows.is_empty(),
            "{}: relay left {} rows",
            backend.name(),
            rows.len()
        );
        for row in outbox_rows::Entity::find().all(&app.db).await.unwrap() {
            app.bus
                .events
                .publish(&row.stream, &row.event_id, &row.payload)
                .await
                .unwrap();
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let _ = stop.send(true);
        consumer.await.unwrap();

        let handled = handled.lock().unwrap().clone();
        let expected: Vec<String> = (0..20).map(|i| format!("c{i:02}")).collect();
        assert_eq!(handled, expected, "{}", backend.name());
        assert_eq!(
            app.bus
                .events
                .pending_count(EVENTS_STREAM, "test-group")
                .await
                .unwrap(),
            0
        );
        app.stop().await.unwrap();
    }
}

#[tokio::test]
async fn a_failed_handling_is_redelivered_until_it_succeeds() {
    for backend in backends() {
        let app = spawn_app(&backend).await;
        app.bus
            .events
            .publish("retry-stream", "e1", b"flaky")
            .await
            .unwrap();
        let attempts = Arc::new(Mutex::new(0u32));
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let mut options = ConsumerOptions::new("retry-stream", "g", "c");
        options.min_idle = Duration::from_millis(200);
        let consumer = {
            let attempts = attempts.clone();
            tokio::spawn(run_consumer(
                app.bus.events.clone(),
                options,
                move |_delivery| {
                    let attempts = attempts.clone();
                    async move {
                        let mut n = attempts.lock().map_err(|e| e.to_string())?;
                        *n += 1;
                        if *n < 3 {
                            Err(format!("attempt {n} fails"))
                        } else {
                            Ok(())
                        }
                    }
                },
                stopped,
            ))
        };
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        while *attempts.lock().unwrap() < 3 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        let _ = stop.send(true);
        consumer.await.unwrap();
        assert_eq!(*attempts.lock().unwrap(), 3, "{}", backend.name());
        assert_eq!(
            app.bus
                .events
                .pending_count("retry-stream", "g")
                .await
                .unwrap(),
            0
        );
        app.stop().await.unwrap();
    }
}

#[tokio::test]
async fn the_checkpoint_moves_only_forward_and_follows_what_every_group_acknowledged() {
    for backend in backends() {
        let app = spawn_app(&backend).await;
        let groups = |names: &[&str]| names.iter().map(|g| (*g).to_owned()).collect::<Vec<_>>();
        outbox::advance_checkpoint(&app.db, "probe", 7, &groups(&["a", "b"]))
            .await
            .unwrap();
        assert_eq!(
            outbox::checkpoint(&app.db, "probe").await.unwrap(),
            (7, groups(&["a", "b"])),
            "{}",
            backend.name()
        );
        outbox::advance_checkpoint(&app.db, "probe", 3, &groups(&["a"]))
            .await
            .unwrap();
        assert_eq!(
            outbox::checkpoint(&app.db, "probe").await.unwrap(),
            (7, groups(&["a"]))
        );
        // On Redis the relay reads what every consumer group acknowledged and moves the
        // checkpoint past a handled event (the embedded streams live in the database).
        if matches!(backend, steelcare_tests::Backend::PostgresRedis { .. }) {
            let tx = begin_write(&app.db).await.unwrap();
            let event_id = steelcare_runtime::record::emit(
                &tx,
                EVENTS_STREAM,
                steelcare_runtime::record::envelope(
                    Default::default(),
                    Some("no-such-case"),
                    steelcare_proto::events::v1::event_envelope::Payload::SlaPaused(
                        steelcare_proto::events::v1::SlaPaused {
                            reason: "probe".into(),
                        },
                    ),
                ),
            )
            .await
            .unwrap();
            tx.commit().await.unwrap();
            let id = outbox::id_of_event(&app.db, &event_id)
                .await
                .unwrap()
                .unwrap();
            let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
            loop {
                let (at, known) = outbox::checkpoint(&app.db, EVENTS_STREAM).await.unwrap();
                if at >= id {
                    assert!(known.contains(&"intake".to_owned()), "{known:?}");
                    break;
                }
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "the checkpoint stayed at {at}, before event {id}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        app.stop().await.unwrap();
    }
}

/// An event that commits after a later one was published (its id is lower) gets a place after
/// it: a subscriber's cursor never skips it. An event published again keeps its place.
#[tokio::test]
async fn a_late_commit_is_placed_after_what_was_published_and_a_republish_keeps_its_place() {
    use steelcare_store::outbox::{PublishedFilter, last_published, published_after};
    for backend in backends() {
        // No server: no relay takes these rows first.
        let fresh = steelcare_tests::fresh_database(&backend).await;
        let db = steelcare_store::connect(&fresh.url, 2).await.unwrap();
        <steelcare_store::Migrator as sea_orm_migration::MigratorTrait>::up(&db, None)
            .await
            .unwrap();
        let before = last_published(&db).await.unwrap();
        for name in ["early", "late"] {
            create_case_with_event(&db, name, true).await;
        }
        let id = |event: &'static str| {
            let db = db.clone();
            async move { outbox::id_of_event(&db, event).await.unwrap().unwrap() }
        };
        let (early, late) = (id("evt-early").await, id("evt-late").await);
        assert!(early < late);
        // "late" reaches the relay first, as when "early"'s transaction commits last.
        outbox::mark_published(&db, &[late]).await.unwrap();
        let cursor = last_published(&db).await.unwrap();
        assert!(cursor > before);
        outbox::mark_published(&db, &[early]).await.unwrap();
        let after = published_after(&db, EVENTS_STREAM, cursor, &PublishedFilter::default(), 10)
            .await
            .unwrap();
        assert_eq!(
            after.iter().map(|e| e.payload.clone()).collect::<Vec<_>>(),
            [b"early".to_vec()],
            "{}: the cursor taken after \"late\" still finds \"early\"",
            backend.name()
        );
        let place = after[0].seq;

        let again = outbox::republish_after(&db, EVENTS_STREAM, 0)
            .await
            .unwrap();
        assert!(again >= 2);
        outbox::mark_published(&db, &[early, late]).await.unwrap();
        assert_eq!(last_published(&db).await.unwrap(), place, "no new places");
        let all = published_after(&db, EVENTS_STREAM, before, &PublishedFilter::default(), 10)
            .await
            .unwrap();
        assert_eq!(
            all.iter().map(|e| e.payload.clone()).collect::<Vec<_>>(),
            [b"late".to_vec(), b"early".to_vec()]
        );
    }
}

/// The relay wakes this process's consumers as soon as a batch is on the stream, before it
/// writes the mark; what reads the outbox by the places the mark gives (the event feed) is
/// woken only once they are written. PostgreSQL and Redis: the mark is held back by a lock on
/// the event's row while the stream takes the batch (on SQLite one writer holds both).
#[tokio::test]
async fn consumers_are_woken_once_a_batch_is_on_the_stream_and_the_feed_once_it_has_its_places() {
    use sea_orm::{ConnectionTrait, Statement};
    use steelcare_bus::EventStream;
    for backend in backends() {
        let steelcare_tests::Backend::PostgresRedis { redis_url, .. } = &backend else {
            continue;
        };
        let (db, _fresh) = steelcare_tests::migrated_database(&backend).await;
        let events: Arc<dyn EventStream> = Arc::new(
            steelcare_bus::RedisBus::connect(redis_url, &steelcare_tests::unique_prefix())
                .await
                .unwrap(),
        );
        assert!(
            events.begin_epoch().await.unwrap(),
            "a fresh prefix has no epoch mark"
        );
        let relay = OutboxRelay::new(db.clone(), events.clone());
        let (mut published, mut sequenced) = (relay.published(), relay.sequenced());
        create_case_with_event(&db, "c1", true).await;

        let blocker = db.begin().await.unwrap();
        blocker
            .execute_raw(Statement::from_string(
                db.get_database_backend(),
                "SELECT id FROM outbox FOR UPDATE",
            ))
            .await
            .unwrap();
        let relaying = tokio::spawn(async move { relay.relay_once().await });
        tokio::time::timeout(Duration::from_secs(10), published.changed())
            .await
            .expect("consumers are woken while the mark waits")
            .unwrap();
        assert_eq!(events.stream_len(EVENTS_STREAM).await.unwrap(), 1);
        assert!(
            !sequenced.has_changed().unwrap(),
            "the feed is not woken before the mark"
        );
        let row = outbox_rows::Entity::find().one(&db).await.unwrap().unwrap();
        assert_eq!((row.published_at.is_none(), row.seq), (true, None));

        blocker.rollback().await.unwrap();
        tokio::time::timeout(Duration::from_secs(10), sequenced.changed())
            .await
            .expect("the feed is woken once the mark is written")
            .unwrap();
        let row = outbox_rows::Entity::find().one(&db).await.unwrap().unwrap();
        assert_eq!((row.published_at.is_some(), row.seq), (true, Some(1)));
        assert_eq!(relaying.await.unwrap().unwrap(), 1);
    }
}
