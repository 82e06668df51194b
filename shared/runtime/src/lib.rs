//! The SteelCare runtime every service runs on: layered configuration, telemetry (logs with
//! trace ids, OTLP traces, W3C trace context over gRPC metadata), JWT authentication and role
//! checks, the one road from errors to `tonic::Status`, and the pieces of server bootstrap
//! (CORS, per-RPC spans, shutdown signals).

pub mod attachments;
pub mod auth;
pub mod convert;
pub mod error;
pub mod handler;
pub mod idempotent;
pub mod identity;
pub mod labels;
pub mod measurement;
pub mod metrics;
pub mod mount;
pub mod oidc;
pub mod record;
pub mod server;
pub mod settings;
pub mod signatures;
pub mod supervise;
pub mod telemetry;
pub mod validate;

pub use auth::{Authenticator, Caller, RequestContext, RpcInfo};
pub use error::{ApiError, FieldViolation};
pub use settings::{Settings, SettingsError};
