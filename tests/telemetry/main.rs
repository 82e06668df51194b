//! Telemetry end to end: an OTLP receiver runs in this process, the server exports to it, and
//! one trace is followed from CreateTicket through the event consumer and the dispatch queue
//! to the offer, with the database and Redis calls made on the way as client spans; the
//! metrics (calls by method and code, offers made and timed out, SLA alerts by clock and
//! tier, outbox backlog, queue depth, consumer lag) arrive too.
//!
//! Its own test binary: telemetry is installed once per process, before any server starts.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{metric, number_data_point};
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use steelcare_domain::Role;
use steelcare_proto::common::v1 as common;
use steelcare_proto::dispatch::v1 as dpb;
use steelcare_proto::dispatch::v1::dispatch_service_client::DispatchServiceClient;
use steelcare_proto::intake::v1 as intake;
use steelcare_proto::intake::v1::intake_service_client::IntakeServiceClient;
use steelcare_runtime::settings::{LogFormat, TelemetrySettings};
use steelcare_tests::fixtures::{customer_request, person, project_request, surveyor};
use steelcare_tests::{Backend, authed, backends, spawn_app_with};

const TRACE_ID: &str = "5bf92f3577b34da6a3ce929d0e0e4736";

/// One exported span, flattened.
#[derive(Debug, Clone)]
struct Span {
    trace_id: String,
    name: String,
    kind: i32,
    has_parent: bool,
    attributes: Vec<(String, String)>,
}

impl Span {
    fn attr(&self, key: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// One exported data point: metric name, attributes, value (a histogram gives its count).
#[derive(Debug, Clone)]
struct Point {
    metric: String,
    attributes: Vec<(String, String)>,
    value: f64,
}

impl Point {
    fn has(&self, key: &str, value: &str) -> bool {
        self.attributes.iter().any(|(k, v)| k == key && v == value)
    }
}

#[derive(Default)]
struct Received {
    spans: Vec<Span>,
    points: Vec<Point>,
}

#[derive(Clone, Default)]
struct Receiver(Arc<Mutex<Received>>);

fn text(value: &Option<AnyValue>) -> String {
    match value.as_ref().and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(any_value::Value::IntValue(i)) => i.to_string(),
        Some(any_value::Value::BoolValue(b)) => b.to_string(),
        Some(any_value::Value::DoubleValue(d)) => d.to_string(),
        _ => String::new(),
    }
}

fn attributes(kvs: &[KeyValue]) -> Vec<(String, String)> {
    kvs.iter()
        .map(|kv| (kv.key.clone(), text(&kv.value)))
        .collect()
}

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut received = self.0.lock().unwrap();
        for resource in request.into_inner().resource_spans {
            for scope in resource.scope_spans {
                for span in scope.spans {
                    received.spans.push(Span {
                        trace_id: hex::encode(&span.trace_id),
                        name: span.name,
                        kind: span.kind,
                        has_parent: !span.parent_span_id.is_empty(),
                        attributes: attributes(&span.attributes),
                    });
                }
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

#[tonic::async_trait]
impl MetricsService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportMetricsServiceRequest>,
    ) -> Result<tonic::Response<ExportMetricsServiceResponse>, tonic::Status> {
        let mut received = self.0.lock().unwrap();
        for resource in request.into_inner().resource_metrics {
            for scope in resource.scope_metrics {
                for m in scope.metrics {
                    let mut points = Vec::new();
                    match &m.data {
                        Some(metric::Data::Sum(sum)) => {
                            for p in &sum.data_points {
                                points.push((attributes(&p.attributes), number(&p.value)));
                            }
                        }
                        Some(metric::Data::Gauge(gauge)) => {
                            for p in &gauge.data_points {
                                points.push((attributes(&p.attributes), number(&p.value)));
                            }
                        }
                        Some(metric::Data::Histogram(h)) => {
                            for p in &h.data_points {
                                points.push((attributes(&p.attributes), p.count as f64));
                            }
                        }
                        _ => {}
                    }
                    for (attributes, value) in points {
                        received.points.push(Point {
                            metric: m.name.clone(),
                            attributes,
                            value,
                        });
                    }
                }
            }
        }
        Ok(tonic::Response::new(ExportMetricsServiceResponse::default()))
    }
}

fn number(value: &Option<number_data_point::Value>) -> f64 {
    match value {
        Some(number_data_point::Value::AsInt(i)) => *i as f64,
        Some(number_data_point::Value::AsDouble(d)) => *d,
        None => 0.0,
    }
}

async fn start_receiver() -> (SocketAddr, Receiver) {
    let receiver = Receiver::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tonic::transport::Server::builder()
        .add_service(TraceServiceServer::new(receiver.clone()))
        .add_service(MetricsServiceServer::new(receiver.clone()))
        .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener));
    tokio::spawn(server);
    (addr, receiver)
}

/// Waits up to 30 s for `check` to hold over what was received; returns its last answer.
async fn eventually<T>(
    receiver: &Receiver,
    what: &str,
    check: impl Fn(&Received) -> Option<T>,
) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(found) = check(&receiver.0.lock().unwrap()) {
            return found;
        }
        if tokio::time::Instant::now() > deadline {
            let received = receiver.0.lock().unwrap();
            let names: BTreeSet<String> = received
                .spans
                .iter()
                .filter(|s| s.trace_id.starts_with(&TRACE_ID[..31]))
                .map(|s| s.name.clone())
                .collect();
            let metrics: BTreeSet<String> = received
                .points
                .iter()
                .map(|p| format!("{} {:?}", p.metric, p.attributes))
                .collect();
            panic!(
                "timed out waiting for {what}; spans of the trace: {names:?}; metrics: {metrics:#?}"
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A customer, a project on the site and one structural surveyor near it; returns the project.
async fn office(
    intake_client: &mut IntakeServiceClient<tonic::transport::Channel>,
    dispatch: &mut DispatchServiceClient<tonic::transport::Channel>,
    agent: &str,
    dispatcher: &str,
) -> String {
    let customer_id = intake_client
        .create_customer(authed(customer_request(""), agent))
        .await
        .unwrap()
        .into_inner()
        .customer
        .unwrap()
        .customer_id;
    let project_id = intake_client
        .register_project(authed(project_request("", &customer_id), agent))
        .await
        .unwrap()
        .into_inner()
        .project
        .unwrap()
        .project_id;
    dispatch
        .upsert_technician(authed(
            dpb::UpsertTechnicianRequest {
                // About 1.1 km from the site.
                technician: Some(surveyor("t-near", 1.11)),
                update_mask: None,
            },
            dispatcher,
        ))
        .await
        .unwrap();
    project_id
}

#[tokio::test]
async fn one_trace_from_the_call_to_the_offer_and_the_metrics_reach_the_collector() {
    let (addr, receiver) = start_receiver().await;
    let endpoint = format!("http://{addr}");
    let guard = steelcare_runtime::telemetry::init(&TelemetrySettings {
        otlp_endpoint: Some(endpoint.clone()),
        log_format: LogFormat::Pretty,
        log_filter: "info".to_owned(),
        service_name: "steelcare-telemetry-test".to_owned(),
        metrics_interval: Duration::from_millis(300),
    })
    .expect("telemetry");

    for backend in backends() {
        let app = spawn_app_with(
            &backend,
            &[
                ("STEELCARE__TELEMETRY__OTLP_ENDPOINT", endpoint.as_str()),
                ("STEELCARE__TELEMETRY__METRICS_INTERVAL_MS", "300"),
                ("STEELCARE__INTAKE__SLA__P1__RESPONSE", "2s"),
                ("STEELCARE__INTAKE__WATCHER_INTERVAL_MS", "100"),
                ("STEELCARE__DISPATCH__OFFER_TIMEOUT__P1", "1s"),
            ],
        )
        .await;
        let agent = app.token("agent-1", &[Role::Agent], None);
        let dispatcher = app.token("dispatcher-1", &[Role::Dispatcher], None);
        let mut intake_client = IntakeServiceClient::new(app.channel().await);
        let mut dispatch = DispatchServiceClient::new(app.channel().await);
        let project_id = office(&mut intake_client, &mut dispatch, &agent, &dispatcher).await;

        let mut request = authed(
            intake::CreateTicketRequest {
                channel: intake::Channel::Hotline as i32,
                project_id,
                reporter: Some(person("Wang Wu")),
                location: Some(intake::StructureLocation {
                    description: "bay 3".into(),
                    ..Default::default()
                }),
                description: Some(intake::ProblemDescription {
                    phenomenon: "钢梁下翼缘出现裂缝".into(),
                    ..Default::default()
                }),
                ..Default::default()
            },
            &agent,
        );
        // A trace of our own per backend: the last hex digit tells them apart.
        let trace_id = format!("{}{}", &TRACE_ID[..31], backend_digit(&backend));
        request.metadata_mut().insert(
            "traceparent",
            format!("00-{trace_id}-00f067aa0ba902b7-01")
                .parse()
                .unwrap(),
        );
        let ticket = intake_client
            .create_ticket(request)
            .await
            .unwrap()
            .into_inner()
            .ticket
            .unwrap();
        assert_eq!(
            ticket.tier,
            common::SeverityTier::P1Urgent as i32,
            "a structural crack is P1"
        );

        // One trace: the call, the consumer that queued the visit, the job that offered it.
        let spans = eventually(&receiver, "the offer in the caller's trace", |r| {
            let spans: Vec<Span> = r
                .spans
                .iter()
                .filter(|s| s.trace_id == trace_id)
                .cloned()
                .collect();
            spans
                .iter()
                .any(|s| s.name == "dispatch offer")
                .then_some(spans)
        })
        .await;
        let call = spans
            .iter()
            .find(|s| s.name == "steelcare.intake.v1.IntakeService/CreateTicket")
            .unwrap_or_else(|| panic!("the call's span: {spans:#?}"));
        assert_eq!(call.kind, SpanKind::Server as i32);
        assert_eq!(call.attr("rpc.method"), Some("CreateTicket"));
        assert_eq!(call.attr("rpc.grpc.status_code"), Some("0"));
        assert!(
            spans.iter().any(|s| s.kind == SpanKind::Consumer as i32
                && s.name == "process events"
                && s.attr("messaging.consumer.group.name") == Some("dispatch")
                && s.attr("messaging.operation.type") == Some("process")
                && s.attr("messaging.destination.name") == Some("events")
                && s.attr("steelcare.case_id").is_some_and(|c| !c.is_empty())
                && s.attr("messaging.message.id").is_some()),
            "the dispatch consumer continues the trace, by the messaging conventions: {spans:#?}"
        );
        // None of the per-span noise: no code location, thread or busy/idle time.
        for s in &spans {
            for noisy in [
                "code.filepath",
                "code.lineno",
                "thread.id",
                "busy_ns",
                "idle_ns",
            ] {
                assert!(s.attr(noisy).is_none(), "{noisy} on {}: {s:#?}", s.name);
            }
        }
        let db_system = match backend {
            Backend::Embedded => "sqlite",
            Backend::PostgresRedis { .. } => "postgresql",
        };
        assert!(
            spans.iter().any(
                |s| s.kind == SpanKind::Client as i32 && s.attr("db.system") == Some(db_system)
            ),
            "database client spans in the trace: {spans:#?}"
        );
        if matches!(backend, Backend::PostgresRedis { .. }) {
            assert!(
                spans
                    .iter()
                    .any(|s| s.kind == SpanKind::Client as i32
                        && s.attr("db.system") == Some("redis")),
                "Redis client spans in the trace: {spans:#?}"
            );
        }

        // The metrics: the call by method and code; the offer made, then timed out (1 s);
        // the P1 response clock at risk (2 s); the gauges of outbox, queue and groups.
        eventually(&receiver, "the metrics", |r| {
            let has = |metric: &str, attrs: &[(&str, &str)]| {
                r.points.iter().any(|p| {
                    p.metric == metric && p.value >= 1.0 && attrs.iter().all(|(k, v)| p.has(k, v))
                })
            };
            let present = |metric: &str, attrs: &[(&str, &str)]| {
                r.points
                    .iter()
                    .any(|p| p.metric == metric && attrs.iter().all(|(k, v)| p.has(k, v)))
            };
            (has(
                "rpc.server.call.duration",
                &[
                    ("rpc.service", "steelcare.intake.v1.IntakeService"),
                    ("rpc.method", "CreateTicket"),
                    ("rpc.grpc.status_code", "0"),
                ],
            ) && has("steelcare.dispatch.offers", &[("outcome", "made")])
                && has("steelcare.dispatch.offers", &[("outcome", "timed_out")])
                && has(
                    "steelcare.sla.alerts",
                    &[("alert", "at_risk"), ("clock", "response"), ("tier", "P1")],
                )
                && present("steelcare.outbox.backlog", &[])
                && present("steelcare.queue.depth", &[("queue", "dispatch")])
                && present("steelcare.consumer.lag", &[("group", "dispatch")])
                && present("steelcare.consumer.pending", &[("group", "intake")]))
            .then_some(())
        })
        .await;
        // A refused call is counted under its code.
        let refused = intake_client
            .get_ticket(authed(
                intake::GetTicketRequest {
                    ticket_id: "no-such-ticket".into(),
                },
                &agent,
            ))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), tonic::Code::NotFound);
        eventually(&receiver, "the refused call counted", |r| {
            r.points
                .iter()
                .any(|p| {
                    p.metric == "rpc.server.call.duration"
                        && p.has("rpc.method", "GetTicket")
                        && p.has("rpc.grpc.status_code", "5")
                })
                .then_some(())
        })
        .await;
        // Idle workers poll the database and Redis all the time: none of that is exported
        // as root spans, only what a call or a job does.
        let roots: Vec<Span> = receiver
            .0
            .lock()
            .unwrap()
            .spans
            .iter()
            .filter(|s| s.kind == SpanKind::Client as i32 && !s.has_parent)
            .cloned()
            .collect();
        assert!(
            roots.is_empty(),
            "client spans without a parent: {roots:#?}"
        );
        app.stop().await.unwrap();
    }
    guard.shutdown();
}

fn backend_digit(backend: &Backend) -> char {
    match backend {
        Backend::Embedded => '1',
        Backend::PostgresRedis { .. } => '2',
    }
}
