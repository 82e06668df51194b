//! Pieces of server bootstrap shared by every deployment: the per-RPC tracing layer, CORS for
//! gRPC-Web, and the shutdown signal.

use std::task::{Context, Poll};

use http::{HeaderValue, Request, Response};
use steelcare_i18n::Locale;
use tower::{Layer, Service};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tracing::Instrument;

use crate::auth::RpcInfo;
use crate::telemetry;

/// Gives every call a server span named `service/method` with the gRPC conventions
/// (`rpc.system`, `rpc.service`, `rpc.method`, `rpc.grpc.status_code`), continuing the
/// caller's W3C trace context; records the trace id in the span (so every log line carries
/// it), hands [`RpcInfo`] to the handler, and returns `traceparent` in the response headers.
/// A call that fails with a server-side code (UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED,
/// INTERNAL, UNAVAILABLE, DATA_LOSS) marks the span as an error, as the OpenTelemetry gRPC
/// conventions have it for servers; a client's mistake (INVALID_ARGUMENT, NOT_FOUND…) keeps
/// its code but not the error status. Health checks and reflection get no span: probes every
/// few seconds are not traces anyone reads.
///
/// It also resolves the caller's language: the shipped locale their `accept-language` asks
/// for (gRPC metadata; gRPC-Web sends the browser's) and the deployment's default, both
/// handed to the handler in [`RpcInfo`].
#[derive(Debug, Clone, Copy, Default)]
pub struct RpcTraceLayer {
    default_locale: Option<Locale>,
}

impl RpcTraceLayer {
    /// The layer of a deployment whose callers read `default_locale` unless they ask otherwise.
    pub fn new(default_locale: Locale) -> Self {
        RpcTraceLayer {
            default_locale: Some(default_locale),
        }
    }
}

impl<S> Layer<S> for RpcTraceLayer {
    type Service = RpcTrace<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RpcTrace {
            inner,
            default_locale: self.default_locale,
        }
    }
}

/// The service of [`RpcTraceLayer`].
#[derive(Debug, Clone)]
pub struct RpcTrace<S> {
    inner: S,
    default_locale: Option<Locale>,
}

/// gRPC codes that are the server's fault (the span's status is ERROR).
const SERVER_ERRORS: [i64; 6] = [2, 4, 12, 13, 14, 15];

/// Whether a method path belongs to the health or reflection services.
fn is_infrastructure(path: &str) -> bool {
    path.starts_with("/grpc.health.") || path.starts_with("/grpc.reflection.")
}

impl<S, B, R> Service<Request<B>> for RpcTrace<S>
where
    S: Service<Request<B>, Response = Response<R>> + Send,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Self::Response, Self::Error>> + Send>,
    >;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        let path = request.uri().path().to_owned();
        if is_infrastructure(&path) {
            return Box::pin(self.inner.call(request));
        }
        let (service, method) = path
            .trim_start_matches('/')
            .split_once('/')
            .map(|(s, m)| (s.to_owned(), m.to_owned()))
            .unwrap_or_else(|| (path.clone(), String::new()));
        let span = tracing::info_span!(
            "rpc",
            otel.name = %path.trim_start_matches('/'),
            otel.kind = "server",
            otel.status_code = tracing::field::Empty,
            otel.status_description = tracing::field::Empty,
            rpc.system = "grpc",
            rpc.service = %service,
            rpc.method = %method,
            rpc.grpc.status_code = tracing::field::Empty,
            trace_id = tracing::field::Empty,
        );
        telemetry::set_parent_from_headers(&span, request.headers());
        let trace_id = telemetry::trace_id_of(&span);
        span.record("trace_id", trace_id.as_str());
        let accepted = request
            .headers()
            .get(http::header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .and_then(Locale::negotiate);
        request.extensions_mut().insert(RpcInfo {
            method: path,
            trace_id,
            accepted,
            default_locale: self.default_locale,
        });
        let started = std::time::Instant::now();
        let future = self.inner.call(request);
        let response_span = span.clone();
        Box::pin(
            async move {
                let mut response = future.await?;
                let code = record_status(&response_span, response.headers());
                crate::metrics::record_rpc(&service, &method, code, started.elapsed());
                telemetry::inject_span_context(&response_span, response.headers_mut());
                Ok(response)
            }
            .instrument(span),
        )
    }
}

/// Records the call's gRPC status on its span. A failed unary call answers with its status
/// in the headers (trailers-only); a call that answers with a body succeeded so far.
fn record_status(span: &tracing::Span, headers: &http::HeaderMap) -> i64 {
    let code = headers
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i64>().ok())
        .unwrap_or(0);
    span.record("rpc.grpc.status_code", code);
    if SERVER_ERRORS.contains(&code) {
        span.record("otel.status_code", "ERROR");
        if let Some(message) = headers.get("grpc-message").and_then(|v| v.to_str().ok()) {
            let message = percent_decode(message);
            span.record("otel.status_description", message.as_str());
        }
    }
    code
}

/// `grpc-message` is percent-encoded (gRPC over HTTP/2).
fn percent_decode(text: &str) -> String {
    let hex = |b: u8| (b as char).to_digit(16);
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match (
            bytes[i],
            bytes.get(i + 1).and_then(|b| hex(*b)),
            bytes.get(i + 2).and_then(|b| hex(*b)),
        ) {
            (b'%', Some(high), Some(low)) => {
                out.push((high * 16 + low) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// CORS for browsers calling through gRPC-Web: `*` allows any origin, otherwise only the
/// listed ones; the gRPC headers are allowed in and exposed out.
pub fn cors_layer(allowed_origins: &[String]) -> CorsLayer {
    use http::header::HeaderName;
    let origin = if allowed_origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(
            allowed_origins
                .iter()
                .filter_map(|o| HeaderValue::from_str(o).ok()),
        )
    };
    let allow = [
        "authorization",
        "content-type",
        "x-grpc-web",
        "x-user-agent",
        "grpc-timeout",
        "traceparent",
        "tracestate",
    ];
    let expose = [
        "grpc-status",
        "grpc-message",
        "grpc-status-details-bin",
        "traceparent",
    ];
    CorsLayer::new()
        .allow_origin(origin)
        .allow_methods([http::Method::POST, http::Method::OPTIONS])
        .allow_headers(allow.map(HeaderName::from_static))
        .expose_headers(expose.map(HeaderName::from_static))
        .max_age(std::time::Duration::from_secs(3600))
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %err, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::warn!(error = %err, "cannot listen for sigterm");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => tracing::info!("sigint received; shutting down"),
        _ = terminate => tracing::info!("sigterm received; shutting down"),
    }
}

#[cfg(test)]
mod trace_tests {
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::layer::SubscriberExt;

    use super::*;

    /// Every field any span got, as (name, value).
    #[derive(Clone, Default)]
    struct Fields(Arc<Mutex<Vec<(String, String)>>>);

    impl Fields {
        fn get(&self, name: &str) -> Option<String> {
            let fields = self.0.lock().ok()?;
            fields
                .iter()
                .rev()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        }
    }

    impl tracing::field::Visit for Fields {
        fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
            if let Ok(mut fields) = self.0.lock() {
                fields.push((field.name().to_owned(), format!("{value:?}")));
            }
        }
    }

    impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Fields {
        fn on_new_span(
            &self,
            attrs: &tracing::span::Attributes<'_>,
            _: &tracing::span::Id,
            _: tracing_subscriber::layer::Context<'_, S>,
        ) {
            attrs.record(&mut self.clone());
        }

        fn on_record(
            &self,
            _: &tracing::span::Id,
            values: &tracing::span::Record<'_>,
            _: tracing_subscriber::layer::Context<'_, S>,
        ) {
            values.record(&mut self.clone());
        }
    }

    /// Calls `path` through the layer on a service answering with `status` in its headers.
    async fn traced(path: &str, status: Option<(&'static str, &'static str)>) -> Fields {
        let fields = Fields::default();
        let _guard =
            tracing::subscriber::set_default(tracing_subscriber::registry().with(fields.clone()));
        let inner = tower::service_fn(move |_: Request<()>| async move {
            let mut response = Response::new(());
            if let Some((code, message)) = status {
                response
                    .headers_mut()
                    .insert("grpc-status", HeaderValue::from_static(code));
                response
                    .headers_mut()
                    .insert("grpc-message", HeaderValue::from_static(message));
            }
            Ok::<_, std::convert::Infallible>(response)
        });
        let request = Request::builder().uri(path).body(()).unwrap_or_default();
        let _ = RpcTraceLayer::default().layer(inner).call(request).await;
        fields
    }

    #[tokio::test]
    async fn a_call_is_named_by_service_and_method_with_its_code() {
        let f = traced("/steelcare.intake.v1.IntakeService/CreateTicket", None).await;
        assert_eq!(
            f.get("rpc.service").as_deref(),
            Some("steelcare.intake.v1.IntakeService")
        );
        assert_eq!(f.get("rpc.method").as_deref(), Some("CreateTicket"));
        assert_eq!(f.get("rpc.grpc.status_code").as_deref(), Some("0"));
        assert_eq!(f.get("otel.status_code"), None);
    }

    #[tokio::test]
    async fn a_server_fault_marks_the_span_as_an_error() {
        let f = traced(
            "/steelcare.intake.v1.IntakeService/GetTicket",
            Some(("13", "internal%20error%20(trace%20id%20abc)")),
        )
        .await;
        assert_eq!(f.get("rpc.grpc.status_code").as_deref(), Some("13"));
        assert_eq!(f.get("otel.status_code").as_deref(), Some("\"ERROR\""));
        assert_eq!(
            f.get("otel.status_description").as_deref(),
            Some("\"internal error (trace id abc)\"")
        );
    }

    #[tokio::test]
    async fn a_clients_mistake_keeps_its_code_but_not_the_error_status() {
        let f = traced(
            "/steelcare.intake.v1.IntakeService/GetTicket",
            Some(("5", "not found")),
        )
        .await;
        assert_eq!(f.get("rpc.grpc.status_code").as_deref(), Some("5"));
        assert_eq!(f.get("otel.status_code"), None);
    }

    #[tokio::test]
    async fn health_checks_and_reflection_make_no_span() {
        for path in [
            "/grpc.health.v1.Health/Check",
            "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        ] {
            let f = traced(path, None).await;
            assert_eq!(f.get("rpc.method"), None, "{path}");
        }
    }
}
