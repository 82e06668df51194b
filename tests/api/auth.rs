//! Every RPC but health and reflection needs a valid bearer token; roles gate each call.

use steelcare_domain::Role;
use steelcare_proto::admin::v1::admin_service_client::AdminServiceClient;
use steelcare_proto::admin::v1::{ListAuditRecordsRequest, WhoAmIRequest};
use steelcare_runtime::auth::Claims;
use steelcare_tests::{authed, backends, spawn_app, test_authenticator};
use tonic::Code;
use tonic_types::StatusExt;

#[tokio::test]
async fn calls_without_a_valid_token_are_unauthenticated() {
    for backend in backends() {
        let app = spawn_app(&backend).await;
        let mut client = AdminServiceClient::new(app.channel().await);

        let missing = client.who_am_i(WhoAmIRequest {}).await.unwrap_err();
        assert_eq!(missing.code(), Code::Unauthenticated, "{}", backend.name());

        let garbage = client
            .who_am_i(authed(WhoAmIRequest {}, "not.a.jwt"))
            .await
            .unwrap_err();
        assert_eq!(garbage.code(), Code::Unauthenticated);

        let mut basic = tonic::Request::new(WhoAmIRequest {});
        basic
            .metadata_mut()
            .insert("authorization", "Basic dXNlcjpwdw==".parse().unwrap());
        assert_eq!(
            client.who_am_i(basic).await.unwrap_err().code(),
            Code::Unauthenticated
        );

        let now = chrono::Utc::now().timestamp();
        let expired = test_authenticator()
            .issue_claims(&Claims {
                sub: "late".into(),
                roles: vec!["admin".into()],
                org: None,
                iss: "steelcare".into(),
                iat: now - 7200,
                nbf: None,
                exp: now - 3600,
                locale: None,
                name: None,
            })
            .unwrap();
        let err = client
            .who_am_i(authed(WhoAmIRequest {}, &expired))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::Unauthenticated);
        assert!(err.message().contains("expired"), "{}", err.message());

        let forged = steelcare_runtime::Authenticator::with_secret(
            &steelcare_runtime::settings::Secret::new("some-other-secret-0123456789"),
            "steelcare",
        )
        .unwrap()
        .issue(
            "mallory",
            &[Role::Admin],
            None,
            std::time::Duration::from_secs(60),
        )
        .unwrap();
        let err = client
            .who_am_i(authed(WhoAmIRequest {}, &forged))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::Unauthenticated);

        // Tokens from the future, and one valid for a hundred years, are refused.
        let odd = |iat: i64, nbf: Option<i64>, exp: i64| {
            test_authenticator()
                .issue_claims(&Claims {
                    sub: "odd".into(),
                    roles: vec!["admin".into()],
                    org: None,
                    iss: "steelcare".into(),
                    iat,
                    nbf,
                    exp,
                    locale: None,
                    name: None,
                })
                .unwrap()
        };
        for (token, why) in [
            (odd(now + 3600, None, now + 7200), "issued in the future"),
            (odd(now, Some(now + 3600), now + 7200), "ImmatureSignature"),
            (
                odd(now, None, now + 100 * 365 * 86_400),
                "auth.max_token_lifetime",
            ),
        ] {
            let err = client
                .who_am_i(authed(WhoAmIRequest {}, &token))
                .await
                .unwrap_err();
            assert_eq!(err.code(), Code::Unauthenticated, "{why}");
            // The person reads "sign in again"; a developer finds why in ErrorInfo.
            let detail = err
                .get_details_error_info()
                .and_then(|i| i.metadata.get("detail").cloned())
                .unwrap_or_default();
            assert!(detail.contains(why), "{detail}");
        }
        // Within the leeway and the cap, they pass.
        let fine = odd(now + 2, Some(now), now + 3600);
        client
            .who_am_i(authed(WhoAmIRequest {}, &fine))
            .await
            .unwrap();
        app.stop().await.unwrap();
    }
}

#[tokio::test]
async fn who_am_i_returns_the_verified_identity() {
    for backend in backends() {
        let app = spawn_app(&backend).await;
        let mut client = AdminServiceClient::new(app.channel().await);
        let token = app.token("cust-7", &[Role::Customer], Some("org-acme"));
        let me = client
            .who_am_i(authed(WhoAmIRequest {}, &token))
            .await
            .unwrap()
            .into_inner();
        let actor = me.actor.unwrap();
        assert_eq!(actor.subject, "cust-7");
        assert_eq!(actor.roles, vec!["customer"]);
        assert_eq!(actor.organization_id, "org-acme");
        let expires = me.expire_time.unwrap().seconds - chrono::Utc::now().timestamp();
        assert!((3500..=3600).contains(&expires), "{expires}");
        app.stop().await.unwrap();
    }
}

#[tokio::test]
async fn the_wrong_role_is_permission_denied() {
    for backend in backends() {
        let app = spawn_app(&backend).await;
        let mut client = AdminServiceClient::new(app.channel().await);
        for role in [Role::Customer, Role::Technician, Role::Agent] {
            let token = app.token("u", &[role], Some("org-1"));
            let err = client
                .list_audit_records(authed(ListAuditRecordsRequest::default(), &token))
                .await
                .unwrap_err();
            assert_eq!(err.code(), Code::PermissionDenied, "{role}");
            assert!(err.message().contains("auditor"), "{}", err.message());
        }
        for role in [Role::Auditor, Role::Manager, Role::Admin] {
            let token = app.token("u", &[role], None);
            client
                .list_audit_records(authed(ListAuditRecordsRequest::default(), &token))
                .await
                .unwrap_or_else(|err| panic!("{role}: {err}"));
        }
        app.stop().await.unwrap();
    }
}
