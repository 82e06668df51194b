//! Server reflection, v1 and v1alpha, so grpcurl and grpcio clients can discover the API.

use prost::Message;
use steelcare_tests::{Backend, spawn_app};
use tokio_stream::StreamExt;
use tonic_reflection::pb::v1;
use tonic_reflection::pb::v1alpha;

#[tokio::test]
async fn v1_lists_services_and_serves_every_contract_without_a_token() {
    let app = spawn_app(&Backend::Embedded).await;
    let mut client = v1::server_reflection_client::ServerReflectionClient::new(app.channel().await);
    let requests = vec![
        v1::ServerReflectionRequest {
            host: String::new(),
            message_request: Some(v1::server_reflection_request::MessageRequest::ListServices(
                String::new(),
            )),
        },
        v1::ServerReflectionRequest {
            host: String::new(),
            message_request: Some(
                v1::server_reflection_request::MessageRequest::FileContainingSymbol(
                    "steelcare.intake.v1.IntakeService".to_owned(),
                ),
            ),
        },
        v1::ServerReflectionRequest {
            host: String::new(),
            message_request: Some(
                v1::server_reflection_request::MessageRequest::FileContainingSymbol(
                    "google.rpc.BadRequest".to_owned(),
                ),
            ),
        },
    ];
    let mut responses = client
        .server_reflection_info(tokio_stream::iter(requests))
        .await
        .unwrap()
        .into_inner();

    let listed = responses.next().await.unwrap().unwrap();
    let Some(v1::server_reflection_response::MessageResponse::ListServicesResponse(list)) =
        listed.message_response
    else {
        panic!("expected a service list, got {listed:?}");
    };
    let names: Vec<_> = list.service.iter().map(|s| s.name.as_str()).collect();
    for expected in [
        "steelcare.admin.v1.AdminService",
        "steelcare.repair.v1.RepairService",
        "steelcare.acceptance.v1.AcceptanceService",
        "steelcare.feedback.v1.FeedbackService",
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }

    let file = responses.next().await.unwrap().unwrap();
    let Some(v1::server_reflection_response::MessageResponse::FileDescriptorResponse(files)) =
        file.message_response
    else {
        panic!("expected file descriptors, got {file:?}");
    };
    let descriptor =
        prost_types::FileDescriptorProto::decode(files.file_descriptor_proto[0].as_slice())
            .unwrap();
    assert_eq!(descriptor.package(), "steelcare.intake.v1");
    let rpcs: Vec<_> = descriptor.service[0]
        .method
        .iter()
        .map(|m| m.name().to_owned())
        .collect();
    assert!(rpcs.contains(&"CreateTicket".to_owned()), "{rpcs:?}");

    // The error details are described, so grpcurl can print a BadRequest.
    let details = responses.next().await.unwrap().unwrap();
    let Some(v1::server_reflection_response::MessageResponse::FileDescriptorResponse(files)) =
        details.message_response
    else {
        panic!("expected the error details' file, got {details:?}");
    };
    let packages: Vec<String> = files
        .file_descriptor_proto
        .iter()
        .map(|f| {
            prost_types::FileDescriptorProto::decode(f.as_slice())
                .unwrap()
                .package()
                .to_owned()
        })
        .collect();
    assert!(packages.contains(&"google.rpc".to_owned()), "{packages:?}");
    app.stop().await.unwrap();
}

#[tokio::test]
async fn v1alpha_lists_services_for_older_clients() {
    let app = spawn_app(&Backend::Embedded).await;
    let mut client =
        v1alpha::server_reflection_client::ServerReflectionClient::new(app.channel().await);
    let request = v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(
            v1alpha::server_reflection_request::MessageRequest::ListServices(String::new()),
        ),
    };
    let mut responses = client
        .server_reflection_info(tokio_stream::iter(vec![request]))
        .await
        .unwrap()
        .into_inner();
    let listed = responses.next().await.unwrap().unwrap();
    let Some(v1alpha::server_reflection_response::MessageResponse::ListServicesResponse(list)) =
        listed.message_response
    else {
        panic!("expected a service list");
    };
    assert!(
        list.service
            .iter()
            .any(|s| s.name == "steelcare.admin.v1.AdminService")
    );
    app.stop().await.unwrap();
}

/// A client that describes every service it is shown (as some grpcio tools do) finds every
/// one, the reflection services of both versions included, through either version.
#[tokio::test]
async fn every_listed_service_can_be_described_through_both_versions() {
    let app = spawn_app(&Backend::Embedded).await;
    let channel = app.channel().await;
    let mut v1_client = v1::server_reflection_client::ServerReflectionClient::new(channel.clone());
    let ask =
        |request: v1::server_reflection_request::MessageRequest| v1::ServerReflectionRequest {
            host: String::new(),
            message_request: Some(request),
        };
    let mut listed = v1_client
        .server_reflection_info(tokio_stream::iter([ask(
            v1::server_reflection_request::MessageRequest::ListServices(String::new()),
        )]))
        .await
        .unwrap()
        .into_inner();
    let Some(v1::server_reflection_response::MessageResponse::ListServicesResponse(list)) =
        listed.next().await.unwrap().unwrap().message_response
    else {
        panic!("expected a service list");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    assert!(
        names
            .iter()
            .any(|n| n == "grpc.reflection.v1alpha.ServerReflection")
    );
    let requests = names.iter().map(|n| {
        ask(v1::server_reflection_request::MessageRequest::FileContainingSymbol(n.clone()))
    });
    let mut described = v1_client
        .server_reflection_info(tokio_stream::iter(requests.collect::<Vec<_>>()))
        .await
        .unwrap()
        .into_inner();
    for name in &names {
        let answer = described.next().await.unwrap().unwrap().message_response;
        assert!(
            matches!(
                answer,
                Some(v1::server_reflection_response::MessageResponse::FileDescriptorResponse(_))
            ),
            "v1 cannot describe {name}: {answer:?}"
        );
    }
    let mut alpha = v1alpha::server_reflection_client::ServerReflectionClient::new(channel);
    let requests: Vec<_> = names
        .iter()
        .map(|n| v1alpha::ServerReflectionRequest {
            host: String::new(),
            message_request: Some(
                v1alpha::server_reflection_request::MessageRequest::FileContainingSymbol(n.clone()),
            ),
        })
        .collect();
    let mut described = alpha
        .server_reflection_info(tokio_stream::iter(requests))
        .await
        .unwrap()
        .into_inner();
    for name in &names {
        let answer = described.next().await.unwrap().unwrap().message_response;
        assert!(
            matches!(
                answer,
                Some(
                    v1alpha::server_reflection_response::MessageResponse::FileDescriptorResponse(_)
                )
            ),
            "v1alpha cannot describe {name}: {answer:?}"
        );
    }
    app.stop().await.unwrap();
}
