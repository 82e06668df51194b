//! The bus conformance suite: one set of scenarios, run against every backend — embedded on
//! SQLite, embedded on PostgreSQL and Redis when enabled.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use sea_orm_migration::MigratorTrait;
use steelcare_bus::{Bus, ClaimedJob, DispatchQueue, QueueJob};
use steelcare_store::Migrator;
use steelcare_tests::{
    FreshDatabase, fresh_postgres, fresh_sqlite, postgres_url, redis_url, unique_prefix,
};

/// Every bus backend enabled here, each on fresh storage.
async fn buses() -> Vec<(&'static str, Bus, Option<FreshDatabase>)> {
    let mut all = Vec::new();
    let sqlite = fresh_sqlite();
    let db = steelcare_store::connect(&sqlite.url, 5)
        .await
        .expect("sqlite");
    Migrator::up(&db, None).await.expect("migrate");
    all.push(("embedded-sqlite", Bus::embedded(db), Some(sqlite)));
    if let Some(url) = postgres_url() {
        let pg = fresh_postgres(&url).await;
        let db = steelcare_store::connect(&pg.url, 10)
            .await
            .expect("postgres");
        Migrator::up(&db, None).await.expect("migrate");
        all.push(("embedded-postgres", Bus::embedded(db), Some(pg)));
    }
    if let Some(url) = redis_url() {
        let bus = Bus::redis(&url, &unique_prefix()).await.expect("redis");
        all.push(("redis", bus, None));
    }
    all
}

#[tokio::test]
async fn a_group_receives_every_message_once_in_order_until_acked() {
    for (name, bus, _keep) in buses().await {
        let events = bus.events.clone();
        for i in 0..3 {
            events
                .publish("s1", &format!("e{i}"), format!("payload-{i}").as_bytes())
                .await
                .unwrap();
        }
        // Created after the publishes: still sees them all.
        events.ensure_group("s1", "g").await.unwrap();
        events.ensure_group("s1", "g").await.unwrap();
        let got = events.read_new("s1", "g", "c1", 10).await.unwrap();
        let ids: Vec<_> = got.iter().map(|d| d.event_id.as_str()).collect();
        assert_eq!(ids, ["e0", "e1", "e2"], "{name}");
        assert_eq!(got[1].payload, b"payload-1", "{name}");
        assert!(got.iter().all(|d| !d.redelivered), "{name}");
        assert!(
            events
                .read_new("s1", "g", "c1", 10)
                .await
                .unwrap()
                .is_empty(),
            "{name}"
        );
        assert_eq!(events.pending_count("s1", "g").await.unwrap(), 3, "{name}");
        let acked = events
            .ack(
                "s1",
                "g",
                &[got[0].entry_id.clone(), got[1].entry_id.clone()],
            )
            .await
            .unwrap();
        assert_eq!(acked, 2, "{name}");
        assert_eq!(events.pending_count("s1", "g").await.unwrap(), 1, "{name}");
        // A second group reads the stream independently.
        events.ensure_group("s1", "other").await.unwrap();
        assert_eq!(
            events.read_new("s1", "other", "x", 10).await.unwrap().len(),
            3,
            "{name}"
        );
    }
}

#[tokio::test]
async fn consumers_of_one_group_share_the_messages_without_overlap() {
    for (name, bus, _keep) in buses().await {
        let events = bus.events.clone();
        events.ensure_group("s2", "g").await.unwrap();
        for i in 0..10 {
            events.publish("s2", &format!("e{i}"), b"x").await.unwrap();
        }
        let mut seen = Vec::new();
        loop {
            let a = events.read_new("s2", "g", "a", 3).await.unwrap();
            let b = events.read_new("s2", "g", "b", 3).await.unwrap();
            if a.is_empty() && b.is_empty() {
                break;
            }
            seen.extend(a.into_iter().chain(b).map(|d| d.event_id));
        }
        let unique: HashSet<_> = seen.iter().cloned().collect();
        assert_eq!(seen.len(), 10, "{name}: {seen:?}");
        assert_eq!(unique.len(), 10, "{name}");
    }
}

#[tokio::test]
async fn an_unacked_message_is_redelivered_to_another_consumer_after_the_idle_timeout() {
    for (name, bus, _keep) in buses().await {
        let events = bus.events.clone();
        events.ensure_group("s3", "g").await.unwrap();
        events.publish("s3", "e-crash", b"job").await.unwrap();
        let first = events.read_new("s3", "g", "crashed", 10).await.unwrap();
        assert_eq!(first.len(), 1, "{name}");
        let idle = Duration::from_millis(300);
        let early = events
            .claim_stale("s3", "g", "rescuer", idle, 10)
            .await
            .unwrap();
        assert!(early.is_empty(), "{name}: claimed before the timeout");
        tokio::time::sleep(Duration::from_millis(450)).await;
        let claimed = events
            .claim_stale("s3", "g", "rescuer", idle, 10)
            .await
            .unwrap();
        assert_eq!(claimed.len(), 1, "{name}");
        assert_eq!(claimed[0].event_id, "e-crash", "{name}");
        assert_eq!(claimed[0].payload, b"job", "{name}");
        assert!(claimed[0].redelivered, "{name}");
        // Claimed again right away by a third consumer: no, it was just delivered.
        assert!(
            events
                .claim_stale("s3", "g", "third", idle, 10)
                .await
                .unwrap()
                .is_empty(),
            "{name}"
        );
        assert_eq!(
            events
                .ack("s3", "g", &[claimed[0].entry_id.clone()])
                .await
                .unwrap(),
            1,
            "{name}"
        );
        assert_eq!(events.pending_count("s3", "g").await.unwrap(), 0, "{name}");
    }
}

#[tokio::test]
async fn reading_a_group_that_does_not_exist_is_an_error() {
    for (name, bus, _keep) in buses().await {
        bus.events.publish("s4", "e", b"x").await.unwrap();
        assert!(
            bus.events.read_new("s4", "nobody", "c", 1).await.is_err(),
            "{name}"
        );
    }
}

#[tokio::test]
async fn jobs_are_claimed_earliest_score_first_and_ids_are_unique() {
    for (name, bus, _keep) in buses().await {
        let q = bus.queue.clone();
        assert!(q.enqueue("q1", "late", b"L", 30).await.unwrap(), "{name}");
        assert!(q.enqueue("q1", "early", b"E", 10).await.unwrap(), "{name}");
        assert!(q.enqueue("q1", "mid", b"M", 20).await.unwrap(), "{name}");
        assert!(
            !q.enqueue("q1", "mid", b"other", 1).await.unwrap(),
            "{name}: duplicate added"
        );
        assert_eq!(q.len("q1").await.unwrap(), 3, "{name}");
        let lease = Duration::from_secs(30);
        let mut order = Vec::new();
        while let Some(job) = q.claim("q1", lease).await.unwrap() {
            assert_eq!(job.attempts, 1, "{name}");
            order.push((job.job_id.clone(), job.payload.clone(), job.score));
            assert!(
                q.ack("q1", &job.job_id, &job.lease_token).await.unwrap(),
                "{name}"
            );
        }
        assert_eq!(
            order,
            vec![
                ("early".to_owned(), b"E".to_vec(), 10),
                ("mid".to_owned(), b"M".to_vec(), 20),
                ("late".to_owned(), b"L".to_vec(), 30)
            ],
            "{name}"
        );
        assert_eq!(q.len("q1").await.unwrap(), 0, "{name}");
        assert!(!q.contains("q1", "early").await.unwrap(), "{name}");
    }
}

#[tokio::test]
async fn an_expired_lease_returns_the_job_and_voids_the_old_token() {
    for (name, bus, _keep) in buses().await {
        let q = bus.queue.clone();
        q.enqueue("q2", "job", b"p", 5).await.unwrap();
        let first = q
            .claim("q2", Duration::from_millis(200))
            .await
            .unwrap()
            .unwrap();
        assert!(
            q.claim("q2", Duration::from_secs(30))
                .await
                .unwrap()
                .is_none(),
            "{name}: double claim"
        );
        assert!(q.contains("q2", "job").await.unwrap(), "{name}");
        tokio::time::sleep(Duration::from_millis(350)).await;
        let second = q
            .claim("q2", Duration::from_secs(30))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(second.job_id, "job", "{name}");
        assert_eq!(second.attempts, 2, "{name}");
        assert_ne!(second.lease_token, first.lease_token, "{name}");
        assert!(
            !q.ack("q2", "job", &first.lease_token).await.unwrap(),
            "{name}: stale ack"
        );
        assert!(
            !q.release("q2", "job", &first.lease_token, 1).await.unwrap(),
            "{name}"
        );
        assert!(
            q.ack("q2", "job", &second.lease_token).await.unwrap(),
            "{name}"
        );
        assert_eq!(q.len("q2").await.unwrap(), 0, "{name}");
    }
}

#[tokio::test]
async fn release_requeues_with_a_new_score_and_extend_keeps_the_lease() {
    for (name, bus, _keep) in buses().await {
        let q = bus.queue.clone();
        q.enqueue("q3", "a", b"a", 10).await.unwrap();
        q.enqueue("q3", "b", b"b", 20).await.unwrap();
        let a = q
            .claim("q3", Duration::from_secs(30))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(a.job_id, "a", "{name}");
        // Back off: a goes behind b.
        assert!(
            q.release("q3", "a", &a.lease_token, 30).await.unwrap(),
            "{name}"
        );
        let b = q
            .claim("q3", Duration::from_millis(200))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(b.job_id, "b", "{name}");
        assert!(
            q.extend_lease("q3", "b", &b.lease_token, Duration::from_secs(30))
                .await
                .unwrap(),
            "{name}"
        );
        assert!(
            !q.extend_lease("q3", "b", "not-the-token", Duration::from_secs(30))
                .await
                .unwrap(),
            "{name}"
        );
        tokio::time::sleep(Duration::from_millis(350)).await;
        let next = q
            .claim("q3", Duration::from_secs(30))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(next.job_id, "a", "{name}: b's extended lease was not kept");
        assert_eq!(next.score, 30, "{name}");
        assert!(
            q.claim("q3", Duration::from_secs(30))
                .await
                .unwrap()
                .is_none(),
            "{name}"
        );
    }
}

#[tokio::test]
async fn jobs_go_in_claimed_and_acked_many_at_a_time_as_one_at_a_time_would() {
    for (name, bus, _keep) in buses().await {
        let q = bus.queue.clone();
        assert!(q.enqueue("q6", "queued", b"Q", 25).await.unwrap(), "{name}");
        let jobs = [
            ("e", 50),
            ("b", 20),
            ("queued", 1),
            ("a", 20),
            ("e", 5),
            ("c", 30),
        ];
        let jobs: Vec<QueueJob> = (jobs.iter())
            .map(|(id, score)| QueueJob {
                job_id: id,
                payload: id.as_bytes(),
                score: *score,
            })
            .collect();
        assert_eq!(
            q.enqueue_all("q6", &jobs).await.unwrap(),
            vec![true, true, false, true, false, true],
            "{name}: a job queued already, or given twice, is added once"
        );
        assert_eq!(q.len("q6").await.unwrap(), 5, "{name}");
        let short = Duration::from_millis(200);
        let first = q.claim_up_to("q6", short, 3).await.unwrap();
        let ids = |jobs: &[ClaimedJob]| -> Vec<(String, i64, u32)> {
            (jobs.iter())
                .map(|j| (j.job_id.clone(), j.score, j.attempts))
                .collect()
        };
        assert_eq!(
            ids(&first),
            vec![
                ("a".to_owned(), 20, 1),
                ("b".to_owned(), 20, 1),
                ("queued".to_owned(), 25, 1)
            ],
            "{name}: earliest score first, ties by id, the first payload kept"
        );
        assert_eq!(first[2].payload, b"Q", "{name}");
        let rest = q
            .claim_up_to("q6", Duration::from_secs(30), 10)
            .await
            .unwrap();
        assert_eq!(
            ids(&rest),
            vec![("c".to_owned(), 30, 1), ("e".to_owned(), 50, 1)],
            "{name}"
        );
        assert!(
            (q.claim_up_to("q6", Duration::from_secs(30), 10).await)
                .unwrap()
                .is_empty(),
            "{name}: a held job claimed again"
        );
        // The first claim's leases run out: its jobs come back to the next claim.
        tokio::time::sleep(Duration::from_millis(350)).await;
        let again = q
            .claim_up_to("q6", Duration::from_secs(30), 10)
            .await
            .unwrap();
        assert_eq!(
            ids(&again),
            vec![
                ("a".to_owned(), 20, 2),
                ("b".to_owned(), 20, 2),
                ("queued".to_owned(), 25, 2)
            ],
            "{name}"
        );
        let acks = [
            ("a", again[0].lease_token.as_str()),
            ("b", first[1].lease_token.as_str()),
            ("c", rest[0].lease_token.as_str()),
            ("nothing", rest[0].lease_token.as_str()),
            ("e", "not-the-token"),
        ];
        assert_eq!(
            q.ack_all("q6", &acks).await.unwrap(),
            vec![true, false, true, false, false],
            "{name}: only a job held under its token is removed"
        );
        assert_eq!(q.len("q6").await.unwrap(), 3, "{name}");
        assert!(!q.contains("q6", "a").await.unwrap(), "{name}");
        assert!(q.contains("q6", "b").await.unwrap(), "{name}");
    }
}

#[tokio::test]
async fn concurrent_workers_never_claim_the_same_job() {
    for (name, bus, _keep) in buses().await {
        let q: Arc<dyn DispatchQueue> = bus.queue.clone();
        for i in 0..40 {
            q.enqueue("q4", &format!("job-{i:02}"), b"x", i)
                .await
                .unwrap();
        }
        let mut workers = Vec::new();
        // Half claim one job at a time, half five at once.
        for worker in 0..8 {
            let q = q.clone();
            let batch = if worker % 2 == 0 { 1 } else { 5 };
            workers.push(tokio::spawn(async move {
                let mut mine = Vec::new();
                loop {
                    let jobs = (q.claim_up_to("q4", Duration::from_secs(30), batch).await).unwrap();
                    if jobs.is_empty() {
                        break mine;
                    }
                    mine.extend(jobs.into_iter().map(|job| job.job_id));
                }
            }));
        }
        let mut all = Vec::new();
        for worker in workers {
            all.extend(worker.await.unwrap());
        }
        let unique: HashSet<_> = all.iter().cloned().collect();
        assert_eq!(unique.len(), all.len(), "{name}: a job was claimed twice");
        assert_eq!(all.len(), 40, "{name}: jobs lost");
    }
}

#[tokio::test]
async fn a_batch_publish_keeps_order() {
    // More than one statement's worth on the embedded bus (500 entries each).
    const N: usize = 1_200;
    for (name, bus, _keep) in buses().await {
        let payloads: Vec<Vec<u8>> = (0..N).map(|i| format!("p{i}").into_bytes()).collect();
        let ids: Vec<String> = (0..N).map(|i| format!("b{i}")).collect();
        let messages: Vec<steelcare_bus::OutgoingMessage<'_>> = ids
            .iter()
            .zip(&payloads)
            .map(|(id, p)| steelcare_bus::OutgoingMessage {
                stream: "s5",
                event_id: id,
                payload: p,
            })
            .collect();
        let entry_ids = bus.events.publish_all(&messages).await.unwrap();
        assert_eq!(entry_ids.len(), N, "{name}");
        bus.events.ensure_group("s5", "g").await.unwrap();
        let got = bus.events.read_new("s5", "g", "c", 2 * N).await.unwrap();
        let order: Vec<_> = got.iter().map(|d| d.event_id.clone()).collect();
        assert_eq!(order, ids, "{name}");
        let read_ids: Vec<_> = got.iter().map(|d| d.entry_id.clone()).collect();
        assert_eq!(
            read_ids, entry_ids,
            "{name}: each message's entry id, in order"
        );
        assert_eq!(
            got[N - 1].payload,
            format!("p{}", N - 1).into_bytes(),
            "{name}"
        );
    }
}

#[tokio::test]
async fn a_gone_consumers_deliveries_are_taken_over_without_waiting_for_the_idle_timeout() {
    for (name, bus, _keep) in buses().await {
        if name != "redis" {
            // Only Redis can tell that a consumer went silent; the others rely on claim_stale.
            continue;
        }
        let events = bus.events.clone();
        events.ensure_group("s9", "g").await.unwrap();
        events.publish("s9", "e-dead", b"job").await.unwrap();
        assert_eq!(
            events.read_new("s9", "g", "dead", 10).await.unwrap().len(),
            1
        );
        // A live consumer polls; the dead one has been silent for longer than gone_after.
        events.read_new("s9", "g", "alive", 10).await.unwrap();
        let gone_after = Duration::from_millis(300);
        assert!(
            events
                .claim_from_gone("s9", "g", "alive", gone_after, 10)
                .await
                .unwrap()
                .is_empty(),
            "taken before the consumer went silent"
        );
        tokio::time::sleep(Duration::from_millis(450)).await;
        let taken = events
            .claim_from_gone("s9", "g", "alive", gone_after, 10)
            .await
            .unwrap();
        assert_eq!(taken.len(), 1);
        assert_eq!(taken[0].event_id, "e-dead");
        assert!(taken[0].redelivered);
    }
}

#[tokio::test]
async fn looking_for_gone_consumers_on_a_stream_that_is_not_there_says_the_group_is_missing() {
    for (name, bus, _keep) in buses().await {
        if name != "redis" {
            continue;
        }
        // A first start, or a stream dropped to be published again: the consumer must see
        // a missing group (and create it at once), not a failed round it waits a second on.
        let err = bus
            .events
            .claim_from_gone("s-none", "g", "c", Duration::from_millis(300), 10)
            .await
            .unwrap_err();
        assert!(err.is_missing_group(), "{err}");
    }
}

#[tokio::test]
async fn redis_reports_a_lost_epoch_once_and_what_every_group_has_handled() {
    for (name, bus, _keep) in buses().await {
        let events = bus.events.clone();
        if name != "redis" {
            assert!(
                !events.begin_epoch().await.unwrap(),
                "{name} never loses data"
            );
            assert_eq!(events.handled_by_all("s10").await.unwrap(), None);
            continue;
        }
        // Nothing is published into a Redis without the mark.
        let message = [steelcare_bus::OutgoingMessage {
            stream: "s10",
            event_id: "e-early",
            payload: b"x",
        }];
        assert_eq!(events.publish_in_epoch(&message).await.unwrap(), None);
        assert_eq!(events.stream_len("s10").await.unwrap(), 0);
        // First start (or a flushed Redis): reported once, to one caller.
        assert!(events.begin_epoch().await.unwrap());
        assert!(!events.begin_epoch().await.unwrap());
        assert_eq!(
            events
                .publish_in_epoch(&message)
                .await
                .unwrap()
                .map(|ids| ids.len()),
            Some(1)
        );
        events.drop_stream("s10").await.unwrap();
        for group in ["a", "b"] {
            events.ensure_group("s10", group).await.unwrap();
        }
        for i in 0..4 {
            events.publish("s10", &format!("e{i}"), b"x").await.unwrap();
        }
        // Group a handled all four; group b read three and acknowledged the first two.
        let read = events.read_new("s10", "a", "c", 10).await.unwrap();
        let ids: Vec<String> = read.iter().map(|d| d.entry_id.clone()).collect();
        events.ack("s10", "a", &ids).await.unwrap();
        let read = events.read_new("s10", "b", "c", 3).await.unwrap();
        events
            .ack(
                "s10",
                "b",
                &[read[0].entry_id.clone(), read[1].entry_id.clone()],
            )
            .await
            .unwrap();
        let mark = events.handled_by_all("s10").await.unwrap().unwrap();
        let mut groups = mark.groups.clone();
        groups.sort();
        assert_eq!(groups, ["a", "b"]);
        assert_eq!(mark.last_event_id.as_deref(), Some("e1"));
    }
}

/// What the consumer-lag gauges report: per group, delivered and unacknowledged (pending), and
/// not yet delivered (lag).
#[tokio::test]
async fn each_group_reports_its_pending_and_undelivered_messages() {
    for (name, bus, _keep) in buses().await {
        let events = bus.events.clone();
        events.ensure_group("lagging", "fast").await.unwrap();
        events.ensure_group("lagging", "slow").await.unwrap();
        for i in 0..5 {
            events
                .publish("lagging", &format!("e{i}"), b"x")
                .await
                .unwrap();
        }
        let got = events.read_new("lagging", "fast", "c1", 3).await.unwrap();
        events
            .ack("lagging", "fast", &[got[0].entry_id.clone()])
            .await
            .unwrap();
        let mut lags = events.group_lags("lagging").await.unwrap();
        lags.sort_by(|a, b| a.group.cmp(&b.group));
        let seen: Vec<(String, u64, u64)> = lags
            .into_iter()
            .map(|g| (g.group, g.pending, g.lag))
            .collect();
        assert_eq!(
            seen,
            [("fast".to_owned(), 2, 2), ("slow".to_owned(), 0, 5)],
            "{name}"
        );
        assert!(
            events
                .group_lags("no-such-stream")
                .await
                .unwrap()
                .is_empty(),
            "{name}"
        );
    }
}
