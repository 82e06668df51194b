//! Pieces of server bootstrap shared by every deployment: the per-RPC tracing layer, CORS for
//! gRPC-Web, and the shutdown signal.

use std::task::{Context, Poll};

use http::{HeaderValue, Request, Response};
use tower::{Layer, Service};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tracing::Instrument;

use crate::auth::RpcInfo;
use crate::telemetry;

/// Gives every call a span named after its method, continuing the caller's W3C trace
/// context, records the trace id in the span (so every log line carries it), hands
/// [`RpcInfo`] to the handler, and returns `traceparent` in the response headers.
#[derive(Debug, Clone, Copy, Default)]
pub struct RpcTraceLayer;

impl<S> Layer<S> for RpcTraceLayer {
    type Service = RpcTrace<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RpcTrace { inner }
    }
}

/// The service of [`RpcTraceLayer`].
#[derive(Debug, Clone)]
pub struct RpcTrace<S> {
    inner: S,
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
        let method = request.uri().path().to_owned();
        let span = tracing::info_span!(
            "rpc",
            otel.name = %method,
            otel.kind = "server",
            rpc.system = "grpc",
            rpc.method = %method,
            trace_id = tracing::field::Empty,
        );
        telemetry::set_parent_from_headers(&span, request.headers());
        let trace_id = telemetry::trace_id_of(&span);
        span.record("trace_id", trace_id.as_str());
        request
            .extensions_mut()
            .insert(RpcInfo { method, trace_id });
        let future = self.inner.call(request);
        let response_span = span.clone();
        Box::pin(
            async move {
                let mut response = future.await?;
                telemetry::inject_span_context(&response_span, response.headers_mut());
                Ok(response)
            }
            .instrument(span),
        )
    }
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
