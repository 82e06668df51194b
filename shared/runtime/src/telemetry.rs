//! Telemetry, set up once per process (DESIGN.md decision 9): `tracing` logs (pretty or JSON)
//! where every line inside an RPC carries its trace id, OpenTelemetry spans exported over OTLP
//! when an endpoint is configured, and the W3C trace-context propagator used to read and write
//! `traceparent` in gRPC metadata and bus messages.

use std::sync::OnceLock;

use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::settings::{LogFormat, TelemetrySettings};

/// Keeps the tracer and meter providers alive; [`TelemetryGuard::shutdown`] flushes pending
/// spans and metrics.
pub struct TelemetryGuard {
    provider: SdkTracerProvider,
    meters: Option<SdkMeterProvider>,
}

impl TelemetryGuard {
    /// Flushes and stops exporting.
    pub fn shutdown(self) {
        if let Err(err) = self.provider.shutdown() {
            eprintln!("telemetry shutdown: {err}");
        }
        if let Some(meters) = self.meters
            && let Err(err) = meters.shutdown()
        {
            eprintln!("telemetry shutdown (metrics): {err}");
        }
    }
}

/// The meter provider: metrics exported over OTLP every `metrics_interval` when an endpoint
/// is configured; none otherwise (instruments then record nothing).
fn meter_provider(
    settings: &TelemetrySettings,
) -> Result<Option<SdkMeterProvider>, TelemetryError> {
    let Some(endpoint) = &settings.otlp_endpoint else {
        return Ok(None);
    };
    use opentelemetry_otlp::WithExportConfig;
    let exporter = opentelemetry_otlp::MetricExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint.clone())
        .build()
        .map_err(|err| TelemetryError(format!("otlp metric exporter for {endpoint}: {err}")))?;
    let reader = opentelemetry_sdk::metrics::PeriodicReader::builder(exporter)
        .with_interval(settings.metrics_interval)
        .build();
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name(settings.service_name.clone())
        .build();
    Ok(Some(
        SdkMeterProvider::builder()
            .with_resource(resource)
            .with_reader(reader)
            .build(),
    ))
}

/// Database and Redis client spans are exported only inside a call or a job: the polling of
/// idle workers would otherwise flood the collector with root spans.
fn client_span_filter<S>() -> impl tracing_subscriber::layer::Filter<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    tracing_subscriber::filter::DynFilterFn::new(|meta, cx| {
        let client = meta.is_span()
            && (meta.target().starts_with("sea_orm") || meta.target().ends_with("redis_client"));
        !client || cx.lookup_current().is_some()
    })
}

/// Why telemetry could not start.
#[derive(Debug, thiserror::Error)]
#[error("telemetry: {0}")]
pub struct TelemetryError(String);

fn provider(settings: &TelemetrySettings) -> Result<SdkTracerProvider, TelemetryError> {
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name(settings.service_name.clone())
        .build();
    let mut builder = SdkTracerProvider::builder().with_resource(resource);
    if let Some(endpoint) = &settings.otlp_endpoint {
        use opentelemetry_otlp::WithExportConfig;
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint.clone())
            .build()
            .map_err(|err| TelemetryError(format!("otlp exporter for {endpoint}: {err}")))?;
        builder = builder.with_batch_exporter(exporter);
    }
    Ok(builder.build())
}

/// Installs the global subscriber and propagator. Call once, from `main`.
pub fn init(settings: &TelemetrySettings) -> Result<TelemetryGuard, TelemetryError> {
    let provider = provider(settings)?;
    let meters = meter_provider(settings)?;
    if let Some(meters) = &meters {
        opentelemetry::global::set_meter_provider(meters.clone());
    }
    let tracer = provider.tracer("steelcare");
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let mut filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&settings.log_filter))
        .map_err(|err| TelemetryError(format!("telemetry.log_filter: {err}")))?;
    if settings.otlp_endpoint.is_none() && std::env::var_os("RUST_LOG").is_none() {
        // Nothing exports the client spans: do not make them (one per statement and command).
        for directive in ["sea_orm=warn", "steelcare_bus::redis_client=warn"] {
            if let Ok(directive) = directive.parse() {
                filter = filter.add_directive(directive);
            }
        }
    }
    let fmt = match settings.log_format {
        LogFormat::Pretty => tracing_subscriber::fmt::layer().with_target(false).boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .boxed(),
    };
    tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .with(
            tracing_opentelemetry::layer()
                .with_tracer(tracer)
                // No code.*, thread.* or busy_ns/idle_ns on every span: noise to a collector.
                .with_location(false)
                .with_threads(false)
                .with_tracked_inactivity(false)
                .with_filter(client_span_filter()),
        )
        .try_init()
        .map_err(|err| TelemetryError(err.to_string()))?;
    Ok(TelemetryGuard { provider, meters })
}

/// For tests: installs the subscriber once per process; logs go to stdout only with
/// `TEST_LOG=1`, otherwise they are dropped (trace ids are still generated).
pub fn init_for_tests() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        let settings = TelemetrySettings {
            otlp_endpoint: None,
            log_format: LogFormat::Pretty,
            log_filter: "info".to_owned(),
            service_name: "steelcare-test".to_owned(),
            metrics_interval: std::time::Duration::from_secs(10),
        };
        let Ok(provider) = provider(&settings) else {
            return;
        };
        let tracer = provider.tracer("steelcare-test");
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
        let show = std::env::var("TEST_LOG").is_ok_and(|v| !v.is_empty() && v != "0");
        let fmt = show.then(|| {
            tracing_subscriber::fmt::layer()
                .with_test_writer()
                .with_filter(EnvFilter::new("info"))
        });
        let _ = tracing_subscriber::registry()
            .with(fmt)
            .with(
                tracing_opentelemetry::layer()
                    .with_tracer(tracer)
                    .with_location(false)
                    .with_threads(false)
                    .with_tracked_inactivity(false),
            )
            .try_init();
        // The provider must outlive every test; leak it deliberately.
        std::mem::forget(provider);
    });
}

/// Reads trace context from HTTP/2 headers (gRPC metadata).
pub struct HeaderExtractor<'a>(pub &'a http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

/// Writes trace context into HTTP/2 headers (gRPC metadata).
pub struct HeaderInjector<'a>(pub &'a mut http::HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(key.as_bytes()),
            http::HeaderValue::from_str(&value),
        ) {
            self.0.insert(name, value);
        }
    }
}

/// The trace id of a span (32 hex digits), or a fresh random one when the span has none.
pub fn trace_id_of(span: &tracing::Span) -> String {
    let context = span.context();
    let span_context = context.span().span_context().clone();
    if span_context.is_valid() {
        span_context.trace_id().to_string()
    } else {
        hex::encode(rand::random::<[u8; 16]>())
    }
}

/// The `traceparent` (and `tracestate`) of the current span, to put in a bus message.
pub fn current_trace_context() -> (String, String) {
    let context = tracing::Span::current().context();
    let mut headers = http::HeaderMap::new();
    TraceContextPropagator::new().inject_context(&context, &mut HeaderInjector(&mut headers));
    let get = |k: &str| {
        headers
            .get(k)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    (get("traceparent"), get("tracestate"))
}

/// Makes `span` a child of the trace context found in `headers`, if any.
pub fn set_parent_from_headers(span: &tracing::Span, headers: &http::HeaderMap) {
    let parent = TraceContextPropagator::new().extract(&HeaderExtractor(headers));
    if parent.span().span_context().is_valid() {
        let _ = span.set_parent(parent);
    }
}

/// Makes `span` continue the trace of a stored W3C `traceparent` (and `tracestate`), as a
/// message or a queued job carries it.
pub fn continue_trace(span: &tracing::Span, traceparent: &str, tracestate: &str) {
    let mut headers = http::HeaderMap::new();
    if let Ok(value) = http::HeaderValue::from_str(traceparent) {
        headers.insert("traceparent", value);
    }
    if let Ok(value) = http::HeaderValue::from_str(tracestate) {
        headers.insert("tracestate", value);
    }
    set_parent_from_headers(span, &headers);
}

/// Writes the trace context of `span` into `headers`.
pub fn inject_span_context(span: &tracing::Span, headers: &mut http::HeaderMap) {
    let context = span.context();
    TraceContextPropagator::new().inject_context(&context, &mut HeaderInjector(headers));
}
