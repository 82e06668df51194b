//! `steelcare.admin.v1.AdminService`: who the caller is, and the audit trail.

use std::sync::Arc;
use steelcare_i18n::msg;

use chrono::{DateTime, TimeDelta, Utc};
use prost_types::Timestamp;
use steelcare_domain::Role;
use steelcare_domain::calendar::BusinessCalendar;
use steelcare_proto::admin::v1 as pb;
use steelcare_proto::common::v1::{Actor, TimeRange};
use steelcare_runtime::convert::{
    MAX_TIMESTAMP_SECONDS, from_timestamp, non_empty, page_size, to_timestamp,
};
use steelcare_runtime::record::actor_of;
use steelcare_runtime::{ApiError, Caller};
use steelcare_store::{Database, audit};
use tonic::{Request, Response, Status};

/// The admin service.
#[derive(Clone)]
pub struct AdminService {
    db: Database,
    calendar: Arc<BusinessCalendar>,
    timezone: chrono_tz::Tz,
}

impl AdminService {
    /// Reads the audit log in `db`; reports `calendar`'s working time and dates in `timezone`.
    pub fn new(db: Database, calendar: BusinessCalendar, timezone: chrono_tz::Tz) -> Self {
        AdminService {
            db,
            calendar: Arc::new(calendar),
            timezone,
        }
    }
}

/// The longest range GetBusinessCalendar answers.
const MAX_CALENDAR_RANGE_DAYS: i64 = 400;
/// The range GetBusinessCalendar answers when no end is given.
const DEFAULT_CALENDAR_RANGE_DAYS: i64 = 62;

/// Roles that may read the audit trail.
pub const AUDIT_READERS: [Role; 3] = [Role::Auditor, Role::Manager, Role::Admin];

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
                    display_name: row.display_name.unwrap_or_default(),
                }),
                rpc: row.rpc,
                entity_type: row.entity_type,
                entity_id: row.entity_id,
                before_summary: row.before_summary.unwrap_or_default(),
                after_summary: row.after_summary,
                trace_id: row.trace_id,
                create_time: Some(to_timestamp(row.created_at)),
            })
            .collect();
        Ok(pb::ListAuditRecordsResponse {
            audit_records,
            next_page_token,
        })
    }

    fn get_business_calendar(
        &self,
        request: pb::GetBusinessCalendarRequest,
    ) -> Result<pb::GetBusinessCalendarResponse, ApiError> {
        let range = request.range.unwrap_or_default();
        let start = match &range.start_time {
            Some(t) => from_timestamp(t, "range.start_time")?,
            None => Utc::now(),
        };
        let end = match &range.end_time {
            Some(t) => from_timestamp(t, "range.end_time")?,
            // Not past the last instant a timestamp can carry (9999-12-31).
            None => start
                .checked_add_signed(TimeDelta::days(DEFAULT_CALENDAR_RANGE_DAYS))
                .filter(|end| end.timestamp() <= MAX_TIMESTAMP_SECONDS)
                .or_else(|| DateTime::from_timestamp(MAX_TIMESTAMP_SECONDS, 0))
                .unwrap_or(start),
        };
        if end < start {
            return Err(ApiError::invalid(
                "range.end_time",
                msg!("field-not-before-range-start"),
            ));
        }
        if end - start > TimeDelta::days(MAX_CALENDAR_RANGE_DAYS) {
            return Err(ApiError::invalid(
                "range",
                msg!("field-range-too-long", days = MAX_CALENDAR_RANGE_DAYS),
            ));
        }
        let working_intervals = self
            .calendar
            .working_intervals(start)
            .take_while(|(from, _)| *from < end)
            .map(|(from, to)| TimeRange {
                start_time: Some(to_timestamp(from)),
                end_time: Some(to_timestamp(to.min(end))),
            })
            .collect();
        Ok(pb::GetBusinessCalendarResponse {
            time_zone: self.timezone.name().to_owned(),
            calendar_name: self.calendar.name().to_owned(),
            calendar_time_zone: self.calendar.timezone().name().to_owned(),
            working_intervals,
        })
    }
}

/// Every label a front-end shows, in `locale`.
fn labels(locale: steelcare_i18n::Locale) -> pb::GetLabelsResponse {
    pb::GetLabelsResponse {
        language_code: locale.tag().to_owned(),
        available_language_codes: steelcare_i18n::Locale::all()
            .map(|l| l.tag().to_owned())
            .collect(),
        enums: steelcare_runtime::labels::enum_labels(locale)
            .into_iter()
            .map(|(enum_name, labels)| pb::EnumLabels {
                enum_name,
                labels: labels.into_iter().collect(),
            })
            .collect(),
        roles: Role::ALL
            .iter()
            .map(|r| {
                let label = steelcare_runtime::auth::role_label(*r).render(locale);
                (r.as_str().to_owned(), label)
            })
            .collect(),
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
            actor: Some(actor_of(caller)),
            expire_time: Some(Timestamp {
                seconds: caller.expires_at,
                nanos: 0,
            }),
        }))
    }

    async fn get_business_calendar(
        &self,
        request: Request<pb::GetBusinessCalendarRequest>,
    ) -> Result<Response<pb::GetBusinessCalendarResponse>, Status> {
        let ctx = steelcare_runtime::handler::context(&request)?;
        self.get_business_calendar(request.into_inner())
            .map(Response::new)
            .map_err(|err| ctx.status(err))
    }

    async fn get_labels(
        &self,
        request: Request<pb::GetLabelsRequest>,
    ) -> Result<Response<pb::GetLabelsResponse>, Status> {
        let ctx = steelcare_runtime::handler::context(&request)?;
        Ok(Response::new(labels(ctx.locale)))
    }

    async fn list_audit_records(
        &self,
        request: Request<pb::ListAuditRecordsRequest>,
    ) -> Result<Response<pb::ListAuditRecordsResponse>, Status> {
        let ctx = steelcare_runtime::handler::context(&request)?;
        ctx.caller
            .require_any(&AUDIT_READERS)
            .map_err(|err| ctx.status(err))?;
        self.list_audit_records(request.into_inner())
            .await
            .map(Response::new)
            .map_err(|err| ctx.status(err))
    }
}
