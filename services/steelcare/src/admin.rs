//! `steelcare.admin.v1.AdminService`: who the caller is, and the audit trail.

use chrono::{DateTime, Utc};
use prost_types::Timestamp;
use steelcare_domain::Role;
use steelcare_proto::admin::v1 as pb;
use steelcare_proto::common::v1::Actor;
use steelcare_runtime::{ApiError, Caller, RequestContext};
use steelcare_store::page::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
use steelcare_store::{Database, audit};
use tonic::{Request, Response, Status};

/// The admin service.
#[derive(Clone)]
pub struct AdminService {
    db: Database,
}

impl AdminService {
    /// Reads the audit log in `db`.
    pub fn new(db: Database) -> Self {
        AdminService { db }
    }
}

/// Roles that may read the audit trail.
pub const AUDIT_READERS: [Role; 3] = [Role::Auditor, Role::Manager, Role::Admin];

fn timestamp(at: DateTime<Utc>) -> Timestamp {
    Timestamp {
        seconds: at.timestamp(),
        nanos: i32::try_from(at.timestamp_subsec_nanos()).unwrap_or(0),
    }
}

fn from_timestamp(ts: &Timestamp, field: &str) -> Result<DateTime<Utc>, ApiError> {
    u32::try_from(ts.nanos)
        .ok()
        .and_then(|nanos| DateTime::from_timestamp(ts.seconds, nanos))
        .ok_or_else(|| ApiError::invalid(field, "not a valid timestamp"))
}

fn actor(caller: &Caller) -> Actor {
    Actor {
        subject: caller.subject.clone(),
        roles: caller.role_names(),
        organization_id: caller.organization_id.clone().unwrap_or_default(),
    }
}

fn non_empty(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

/// Parses the paging fields of a List request (AIP-158).
pub fn page_size(requested: i32) -> Result<u64, ApiError> {
    match requested {
        n if n < 0 => Err(ApiError::invalid("page_size", "must not be negative")),
        0 => Ok(DEFAULT_PAGE_SIZE),
        n => Ok((n as u64).min(MAX_PAGE_SIZE)),
    }
}

impl AdminService {
    async fn list_audit_records(
        &self,
        request: pb::ListAuditRecordsRequest,
    ) -> Result<pb::ListAuditRecordsResponse, ApiError> {
        let size = page_size(request.page_size)?;
        let mut filter = audit::AuditFilter {
            entity_type: non_empty(&request.entity_type),
            entity_id: non_empty(&request.entity_id),
            subject: non_empty(&request.subject),
            ..Default::default()
        };
        if let Some(range) = &request.time_range {
            filter.from = range
                .start_time
                .as_ref()
                .map(|t| from_timestamp(t, "time_range.start_time"))
                .transpose()?;
            filter.to = range
                .end_time
                .as_ref()
                .map(|t| from_timestamp(t, "time_range.end_time"))
                .transpose()?;
        }
        let (rows, next_page_token) =
            audit::list(&self.db, &filter, size, &request.page_token).await?;
        let audit_records = rows
            .into_iter()
            .map(|row| pb::AuditRecord {
                audit_record_id: row.id,
                actor: Some(Actor {
                    subject: row.subject,
                    roles: row
                        .roles
                        .split(',')
                        .filter(|r| !r.is_empty())
                        .map(str::to_owned)
                        .collect(),
                    organization_id: row.organization_id.unwrap_or_default(),
                }),
                rpc: row.rpc,
                entity_type: row.entity_type,
                entity_id: row.entity_id,
                before_summary: row.before_summary.unwrap_or_default(),
                after_summary: row.after_summary,
                trace_id: row.trace_id,
                create_time: Some(timestamp(row.created_at)),
            })
            .collect();
        Ok(pb::ListAuditRecordsResponse {
            audit_records,
            next_page_token,
        })
    }
}

#[tonic::async_trait]
impl pb::admin_service_server::AdminService for AdminService {
    async fn who_am_i(
        &self,
        request: Request<pb::WhoAmIRequest>,
    ) -> Result<Response<pb::WhoAmIResponse>, Status> {
        let caller = Caller::from_request(&request)?;
        Ok(Response::new(pb::WhoAmIResponse {
            actor: Some(actor(caller)),
            expire_time: Some(Timestamp {
                seconds: caller.expires_at,
                nanos: 0,
            }),
        }))
    }

    async fn list_audit_records(
        &self,
        request: Request<pb::ListAuditRecordsRequest>,
    ) -> Result<Response<pb::ListAuditRecordsResponse>, Status> {
        let ctx = RequestContext::from_request(&request)?;
        ctx.caller.require_any(&AUDIT_READERS)?;
        self.list_audit_records(request.into_inner())
            .await
            .map(Response::new)
            .map_err(|err| err.into_status(&ctx.trace_id))
    }
}
