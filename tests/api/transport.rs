//! Transport behaviour: W3C trace context in and out, gRPC-Web over HTTP/1.1, CORS, message
//! size limits and graceful shutdown.

use std::time::Duration;

use steelcare_domain::Role;
use steelcare_proto::admin::v1::admin_service_client::AdminServiceClient;
use steelcare_proto::admin::v1::{ListAuditRecordsRequest, WhoAmIRequest};
use steelcare_tests::{Backend, TestApp, authed, spawn_app};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic::Code;

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

#[tokio::test]
async fn the_callers_trace_continues_and_comes_back_in_traceparent() {
    let app = spawn_app(&Backend::Embedded).await;
    let mut client = AdminServiceClient::new(app.channel().await);
    let token = app.token("u", &[Role::Agent], None);
    let mut request = authed(WhoAmIRequest {}, &token);
    request.metadata_mut().insert(
        "traceparent",
        format!("00-{TRACE_ID}-00f067aa0ba902b7-01")
            .parse()
            .unwrap(),
    );
    let response = client.who_am_i(request).await.unwrap();
    let traceparent = response
        .metadata()
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        traceparent.starts_with(&format!("00-{TRACE_ID}-")),
        "traceparent {traceparent:?}"
    );
    assert!(
        !traceparent.contains("00f067aa0ba902b7"),
        "the server span is a new child span"
    );

    // Without one, the server starts a trace of its own.
    let fresh = client
        .who_am_i(authed(WhoAmIRequest {}, &token))
        .await
        .unwrap();
    let own = fresh
        .metadata()
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert_eq!(own.split('-').nth(1).map(str::len), Some(32), "{own:?}");
    assert!(!own.contains(TRACE_ID));
    app.stop().await.unwrap();
}

async fn http1(app: &TestApp, request: String, body: &[u8]) -> String {
    let mut stream = tokio::net::TcpStream::connect(app.local_addr)
        .await
        .unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut response))
        .await
        .expect("http/1.1 response in time")
        .unwrap();
    String::from_utf8_lossy(&response).into_owned()
}

#[tokio::test]
async fn grpc_web_over_http1_reaches_the_same_service() {
    let app = spawn_app(&Backend::Embedded).await;
    let token = app.token("browser-user", &[Role::Agent], None);
    // An empty WhoAmIRequest in one gRPC frame: flag 0, length 0.
    let frame = [0u8, 0, 0, 0, 0];
    let request = format!(
        "POST /steelcare.admin.v1.AdminService/WhoAmI HTTP/1.1\r\n\
         Host: {}\r\nContent-Type: application/grpc-web+proto\r\nX-Grpc-Web: 1\r\n\
         Origin: https://console.example\r\nAuthorization: Bearer {token}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        app.local_addr,
        frame.len()
    );
    let response = http1(&app, request, &frame).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(
        response
            .to_lowercase()
            .contains("content-type: application/grpc-web"),
        "{response}"
    );
    assert!(response.contains("browser-user"), "{response}");
    assert!(response.contains("grpc-status:0"), "{response}");
    assert!(
        response
            .to_lowercase()
            .contains("access-control-allow-origin: https://console.example"),
        "{response}"
    );
    app.stop().await.unwrap();
}

#[tokio::test]
async fn cors_preflight_allows_only_the_configured_origins() {
    let app = spawn_app(&Backend::Embedded).await;
    let preflight = |origin: &str| {
        format!(
            "OPTIONS /steelcare.admin.v1.AdminService/WhoAmI HTTP/1.1\r\nHost: x\r\n\
             Origin: {origin}\r\nAccess-Control-Request-Method: POST\r\n\
             Access-Control-Request-Headers: authorization,content-type,x-grpc-web\r\n\
             Content-Length: 0\r\nConnection: close\r\n\r\n"
        )
    };
    let allowed = http1(&app, preflight("https://console.example"), b"")
        .await
        .to_lowercase();
    assert!(
        allowed.contains("access-control-allow-origin: https://console.example"),
        "{allowed}"
    );
    assert!(allowed.contains("authorization"), "{allowed}");
    let refused = http1(&app, preflight("https://evil.example"), b"")
        .await
        .to_lowercase();
    assert!(
        !refused.contains("access-control-allow-origin"),
        "{refused}"
    );
    app.stop().await.unwrap();
}

#[tokio::test]
async fn messages_over_the_size_limit_are_refused() {
    let app = spawn_app(&Backend::Embedded).await;
    let mut client = AdminServiceClient::new(app.channel().await);
    let token = app.token("u", &[Role::Auditor], None);
    let huge = ListAuditRecordsRequest {
        entity_type: "x".repeat(5 << 20),
        ..Default::default()
    };
    let err = client
        .list_audit_records(authed(huge, &token))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::OutOfRange, "{err}");
    app.stop().await.unwrap();
}

#[tokio::test]
async fn shutdown_stops_serving_cleanly() {
    let app = spawn_app(&Backend::Embedded).await;
    let addr = app.local_addr;
    let mut client = AdminServiceClient::new(app.channel().await);
    let token = app.token("u", &[Role::Agent], None);
    client
        .who_am_i(authed(WhoAmIRequest {}, &token))
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(10), app.stop())
        .await
        .expect("stopped within the grace period")
        .expect("clean stop");
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "still accepting"
    );
}

/// Calls already sent on open connections when the server is told to stop complete, even
/// with no drain delay: none is answered UNAVAILABLE.
#[tokio::test]
async fn calls_in_flight_at_shutdown_complete_without_a_drain_delay() {
    let app = spawn_app(&Backend::Embedded).await;
    let token = app.token("u", &[Role::Auditor], None);
    let mut clients = Vec::new();
    for _ in 0..8 {
        let mut client = AdminServiceClient::new(app.channel().await);
        client
            .who_am_i(authed(WhoAmIRequest {}, &token))
            .await
            .unwrap();
        clients.push(client);
    }
    let mut calls = Vec::new();
    for client in &clients {
        for _ in 0..4 {
            let (mut client, token) = (client.clone(), token.clone());
            calls.push(tokio::spawn(async move {
                client
                    .list_audit_records(authed(
                        steelcare_proto::admin::v1::ListAuditRecordsRequest {
                            page_size: 500,
                            ..Default::default()
                        },
                        &token,
                    ))
                    .await
            }));
        }
    }
    tokio::task::yield_now().await;
    let stopped = tokio::spawn(app.stop());
    let mut refused = Vec::new();
    for call in calls {
        if let Err(status) = call.await.unwrap() {
            refused.push(format!("{:?}: {}", status.code(), status.message()));
        }
    }
    stopped.await.unwrap().unwrap();
    assert!(
        refused.is_empty(),
        "{} of 32 refused: {refused:?}",
        refused.len()
    );
}

/// The built binary under SIGTERM with no drain delay: every call a client sent before the
/// signal, on a connection the client had just opened (the server may not have read its first
/// bytes yet) as well as on one it had used before, completes; none is answered UNAVAILABLE.
#[tokio::test]
async fn sigterm_without_a_drain_delay_completes_the_calls_that_reached_the_binary() {
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let mut child = Command::new(crate::walk::binary())
        .args(["serve"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("STEELCARE__SERVER__LISTEN", format!("127.0.0.1:{port}"))
        .env("STEELCARE__SERVER__DRAIN_DELAY_MS", "0")
        .env("STEELCARE__DATA_DIR", dir.path())
        .env("STEELCARE__AUTH__JWT_SECRET", steelcare_tests::TEST_SECRET)
        // The default database (./data/steelcare.db) lands in the temporary directory too.
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let address = format!("http://127.0.0.1:{port}");
    let token = steelcare_tests::test_authenticator()
        .issue("u", &[Role::Auditor], None, Duration::from_secs(600))
        .unwrap();
    let used = loop {
        let channel = tonic::transport::Endpoint::from_shared(address.clone())
            .unwrap()
            .connect()
            .await;
        if let Ok(channel) = channel {
            let mut client = AdminServiceClient::new(channel);
            if client
                .who_am_i(authed(WhoAmIRequest {}, &token))
                .await
                .is_ok()
            {
                break client;
            }
        }
        assert!(child.try_wait().unwrap().is_none(), "the binary exited");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let mut calls = Vec::new();
    for i in 0..24 {
        let mut client = if i % 2 == 0 {
            used.clone()
        } else {
            // A connection of its own, opened with the call.
            let channel = tonic::transport::Endpoint::from_shared(address.clone())
                .unwrap()
                .connect_lazy();
            AdminServiceClient::new(channel)
        };
        let token = token.clone();
        calls.push(tokio::spawn(async move {
            client
                .list_audit_records(authed(
                    ListAuditRecordsRequest {
                        page_size: 100,
                        ..Default::default()
                    },
                    &token,
                ))
                .await
        }));
    }
    // The requests are on the wire (loopback) before the signal.
    tokio::time::sleep(Duration::from_millis(15)).await;
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let mut refused = Vec::new();
    for call in calls {
        if let Err(status) = call.await.unwrap() {
            refused.push(format!("{:?}: {}", status.code(), status.message()));
        }
    }
    let exited = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap();
    assert!(exited.unwrap().success(), "a clean exit after SIGTERM");
    assert!(
        refused.is_empty(),
        "{} of 24 refused: {refused:?}",
        refused.len()
    );
}
