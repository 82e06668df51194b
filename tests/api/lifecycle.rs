//! Case lifecycle in the store: legal paths apply, illegal ones are refused with the current
//! state, disputes return where they left, concurrent changes never both apply.

use steelcare_domain::CaseState::{self, *};
use steelcare_runtime::ApiError;
use steelcare_store::{StoreError, cases};
use steelcare_tests::{backends, migrated_database};

#[tokio::test]
async fn a_case_walks_the_main_path_and_refuses_shortcuts() {
    for backend in backends() {
        let (db, _keep) = migrated_database(&backend).await;
        let case = cases::create(&db, "case-1", Some("org-1")).await.unwrap();
        assert_eq!(case.state, Received);

        let err = cases::transition(&db, "case-1", Archived)
            .await
            .unwrap_err();
        let status = ApiError::from(err).into_status("t", steelcare_i18n::Locale::english());
        assert_eq!(status.code(), tonic::Code::FailedPrecondition);
        assert!(
            status.message().contains("Received"),
            "{}",
            status.message()
        );
        assert_eq!(
            cases::get(&db, "case-1").await.unwrap().state,
            Received,
            "nothing changed"
        );

        let path = [
            Acknowledged,
            SurveyScheduled,
            Surveyed,
            PlanProposed,
            PlanApproved,
            Agreed,
            InRepair,
            SelfInspected,
            InRepair,
            SelfInspected,
            Accepted,
            Archived,
            Closed,
        ];
        for (step, to) in path.into_iter().enumerate() {
            let record = cases::transition(&db, "case-1", to).await.unwrap();
            assert_eq!(record.state, to);
            assert_eq!(record.version, step as i64 + 2);
        }
        let err = cases::transition(&db, "case-1", Cancelled)
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::IllegalTransition(t) if t.from == Closed));

        let missing = cases::transition(&db, "nope", Acknowledged)
            .await
            .unwrap_err();
        assert_eq!(
            ApiError::from(missing)
                .into_status("t", steelcare_i18n::Locale::english())
                .code(),
            tonic::Code::NotFound
        );
    }
}

#[tokio::test]
async fn a_dispute_returns_only_to_the_state_it_left() {
    for backend in backends() {
        let (db, _keep) = migrated_database(&backend).await;
        cases::create(&db, "c", None).await.unwrap();
        for to in [
            Acknowledged,
            SurveyScheduled,
            Surveyed,
            PlanProposed,
            PlanApproved,
            Agreed,
        ] {
            cases::transition(&db, "c", to).await.unwrap();
        }
        let disputed = cases::transition(&db, "c", Disputed).await.unwrap();
        assert_eq!(disputed.state_before_dispute, Some(Agreed));
        assert!(
            cases::transition(&db, "c", InRepair).await.is_err(),
            "{}",
            backend.name()
        );
        assert!(cases::transition(&db, "c", Surveyed).await.is_err());
        let back = cases::transition(&db, "c", Agreed).await.unwrap();
        assert_eq!((back.state, back.state_before_dispute), (Agreed, None));
        assert_eq!(cases::get(&db, "c").await.unwrap().state, Agreed);
    }
}

#[tokio::test]
async fn concurrent_transitions_of_one_case_never_both_apply() {
    for backend in backends() {
        let (db, _keep) = migrated_database(&backend).await;
        for round in 0..5 {
            let id = format!("race-{round}");
            cases::create(&db, &id, None).await.unwrap();
            let tasks: Vec<_> = [Acknowledged, Cancelled, Acknowledged, Cancelled]
                .into_iter()
                .map(|to: CaseState| {
                    let db = db.clone();
                    let id = id.clone();
                    tokio::spawn(async move { cases::transition(&db, &id, to).await })
                })
                .collect();
            let mut applied = Vec::new();
            for task in tasks {
                match task.await.unwrap() {
                    Ok(record) => applied.push((record.version, record.state)),
                    Err(StoreError::Conflict { .. } | StoreError::IllegalTransition(_)) => {}
                    Err(other) => panic!("{}: {other}", backend.name()),
                }
            }
            applied.sort();
            let final_state = cases::get(&db, &id).await.unwrap();
            // Received → Acknowledged → Cancelled is legal, so up to two may apply; each
            // applied change has its own version, and the last one is the stored state.
            assert_eq!(
                final_state.version,
                1 + applied.len() as i64,
                "{}",
                backend.name()
            );
            let versions: Vec<i64> = applied.iter().map(|(v, _)| *v).collect();
            let expected: Vec<i64> = (2..2 + applied.len() as i64).collect();
            assert_eq!(versions, expected, "{}", backend.name());
            assert_eq!(applied.last().map(|(_, s)| *s), Some(final_state.state));
        }
    }
}
