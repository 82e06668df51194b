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
