//! `grpc.health.v1`: no token needed, a status per mounted service.

use steelcare_tests::{backends, spawn_app};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

#[tokio::test]
async fn health_reports_serving_for_the_server_and_each_mounted_service() {
    for backend in backends() {
        let app = spawn_app(&backend).await;
        let mut health = HealthClient::new(app.channel().await);
        for service in [
            "",
            "steelcare.admin.v1.AdminService",
            "steelcare.intake.v1.IntakeService",
        ] {
            let status = health
                .check(HealthCheckRequest {
                    service: service.to_owned(),
                })
                .await
                .unwrap_or_else(|err| panic!("{}: {service:?}: {err}", backend.name()))
                .into_inner()
                .status;
            assert_eq!(
                status,
                ServingStatus::Serving as i32,
                "{}: {service:?}",
                backend.name()
            );
        }
        let unknown = health
            .check(HealthCheckRequest {
                service: "steelcare.billing.v1.BillingService".to_owned(),
            })
            .await
            .unwrap_err();
        assert_eq!(unknown.code(), tonic::Code::NotFound, "{}", backend.name());
        app.stop().await.unwrap();
    }
}

/// At shutdown health turns NOT_SERVING at once, while the listener still accepts for
/// `server.drain_delay_ms`: a balancer that checks health moves away before it closes.
#[tokio::test]
async fn shutdown_turns_health_not_serving_before_the_listener_closes() {
    let app = steelcare_tests::spawn_app_with(
        &steelcare_tests::Backend::Embedded,
        &[("STEELCARE__SERVER__DRAIN_DELAY_MS", "1500")],
    )
    .await;
    let addr = app.local_addr;
    let check = |channel: tonic::transport::Channel| async move {
        HealthClient::new(channel)
            .check(HealthCheckRequest {
                service: String::new(),
            })
            .await
            .map(|r| r.into_inner().status())
    };
    assert_eq!(
        check(app.channel().await).await.unwrap(),
        ServingStatus::Serving
    );
    let stopping = tokio::spawn(app.stop());
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    // A new connection is still accepted, and told not to send work here.
    let channel = tonic::transport::Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .expect("the listener still accepts during the drain delay");
    assert_eq!(check(channel).await.unwrap(), ServingStatus::NotServing);
    tokio::time::timeout(std::time::Duration::from_secs(10), stopping)
        .await
        .expect("stopped after the delay")
        .unwrap()
        .expect("clean stop");
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "the listener closed after the delay"
    );
}
