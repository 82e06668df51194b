//! Survey and diagnosis reports (MISSION §4.2–§4.4): submit, correct as a new version, read,
//! close without repair, and the cost assessment that rests on the report.

use chrono::{DateTime, Utc};
use steelcare_domain::{CaseState, ProblemCategory, Role, SeverityTier};
use steelcare_i18n::msg;
use steelcare_proto::common::v1 as common;
use steelcare_proto::events::v1 as events;
use steelcare_proto::events::v1::event_envelope::Payload;
use steelcare_proto::repair::v1 as pb;
use steelcare_runtime::convert::to_timestamp;
use steelcare_runtime::handler::not_found;
use steelcare_runtime::measurement::{self, Window};
use steelcare_runtime::record::{actor_of, audit, payload_hash};
use steelcare_runtime::validate::{LONG, Violations};
use steelcare_runtime::{ApiError, RequestContext};

use super::{
    READERS, RepairService, SURVEYORS, allow, attachment_ref, bearing, check_attachments, evidence,
    expect_state, parse_quote, participants, responsibility,
};
use crate::engine::{Begun, case_precondition};
use crate::records::{kind, shares, signatures, slot, time_range};
use crate::store::{self, NewRecord, decode};

/// A report's content, checked: the report without its ids, and the attachments to look up.
struct Parsed {
    report: pb::SurveyReport,
    attachments: Vec<(String, String)>,
    category: Option<ProblemCategory>,
    tier: Option<SeverityTier>,
}

const CLOSED: &[CaseState] = &[CaseState::Archived, CaseState::Closed, CaseState::Cancelled];

/// The ids the report gives its measurements (a measurement refused for its readings is
/// still one of them: evidence naming it is not a second mistake).
fn measurement_ids(given: &[common::Measurement]) -> Vec<String> {
    given
        .iter()
        .enumerate()
        .map(|(i, m)| match m.measurement_id.trim() {
            "" => format!("m{}", i + 1),
            id => id.to_owned(),
        })
        .collect()
}

/// What a report's diagnosis found, with the attachments its evidence cites.
struct Diagnosed {
    diagnosis: Option<pb::Diagnosis>,
    attachments: Vec<(String, String)>,
    category: Option<ProblemCategory>,
    tier: Option<SeverityTier>,
}

/// Checks a report's diagnosis: the root cause, the responsibility shares, the evidence (which
/// may name the report's measurements by `ids`), and the category and tier, together or neither.
fn diagnosed(v: &mut Violations, given: Option<&pb::Diagnosis>, ids: &[String]) -> Diagnosed {
    let (mut category, mut tier) = (None, None);
    let mut attachments = Vec::new();
    let diagnosis = match given {
        None => {
            v.add("content.diagnosis", msg!("field-diagnosis-required"));
            None
        }
        Some(d) => {
            if common::RootCause::try_from(d.root_cause).is_err() {
                v.add(
                    "content.diagnosis.root_cause",
                    msg!("field-unknown-root-cause"),
                );
            }
            let found = shares(
                v,
                "content.diagnosis.responsibility",
                &d.responsibility,
                true,
            );
            let (evidence, more) = evidence(
                v,
                "content.diagnosis.evidence",
                &d.evidence,
                Some(ids),
                false,
            );
            attachments = more;
            category = ProblemCategory::from_proto_value(d.category);
            tier = SeverityTier::from_proto_value(d.tier);
            if d.category != 0 && category.is_none() {
                v.add("content.diagnosis.category", msg!("field-unknown-category"));
            }
            if d.tier != 0 && tier.is_none() {
                v.add("content.diagnosis.tier", msg!("field-unknown-tier"));
            }
            if category.is_some() != tier.is_some() {
                v.add("content.diagnosis", msg!("field-category-tier-together"));
            }
            Some(pb::Diagnosis {
                root_cause: d.root_cause,
                responsibility: crate::records::shares_proto(&found),
                evidence,
                category: d.category,
                tier: d.tier,
                expert_review: v.optional(
                    "content.diagnosis.expert_review",
                    &d.expert_review,
                    LONG,
                ),
            })
        }
    };
    Diagnosed {
        diagnosis,
        attachments,
        category,
        tier,
    }
}

impl RepairService {
    /// Checks and judges measurements taken within `window` (before `now`); ids kept when
    /// given (unique), else `m1`, `m2`…
    pub(super) fn measurements(
        &self,
        v: &mut Violations,
        field: &str,
        given: &[common::Measurement],
        (now, window): (DateTime<Utc>, Window),
    ) -> Vec<common::Measurement> {
        let r = &self.repairer;
        measurement::check_all(v, field, r.table, given, (now, window), |at| r.day_of(at))
    }

    /// Judges measurements as typed; stores nothing.
    pub(super) async fn judge_measurements(
        &self,
        ctx: &RequestContext,
        request: pb::JudgeMeasurementsRequest,
    ) -> Result<pb::JudgeMeasurementsResponse, ApiError> {
        allow(ctx, SURVEYORS)?;
        let now = steelcare_store::now();
        let mut v = Violations::default();
        let window = match request.survey_time {
            None => Window::inspection(now),
            Some(given) => time_range(&mut v, "survey_time", Some(&given), Some(now))
                .map_or(Window::inspection(now), |(start, end)| {
                    Window::survey(start, end)
                }),
        };
        let measurements =
            self.measurements(&mut v, "measurements", &request.measurements, (now, window));
        v.finish(pb::JudgeMeasurementsResponse { measurements })
    }

    fn parse_report(
        &self,
        v: &mut Violations,
        content: Option<&pb::SurveyReportContent>,
        now: DateTime<Utc>,
    ) -> Parsed {
        let Some(c) = content else {
            v.add("content", msg!("field-required"));
            return Parsed {
                report: pb::SurveyReport::default(),
                attachments: Vec::new(),
                category: None,
                tier: None,
            };
        };
        let survey_time = time_range(v, "content.survey_time", c.survey_time.as_ref(), Some(now));
        let participants = participants(
            v,
            "content.participants",
            &c.participants,
            msg!("field-participants-both-sides"),
        );
        let findings = v.required("content.findings", &c.findings, LONG);
        // Readings lie within the survey time; where it is unusable, within the hours before.
        let window = survey_time.map_or(Window::inspection(now), |(start, end)| {
            Window::survey(start, end)
        });
        let measurements =
            self.measurements(v, "content.measurements", &c.measurements, (now, window));
        let ids = measurement_ids(&c.measurements);
        let mut attachments: Vec<(String, String)> =
            crate::records::ids(v, "content.image_attachment_ids", &c.image_attachment_ids)
                .into_iter()
                .enumerate()
                .map(|(i, id)| (format!("content.image_attachment_ids[{i}]"), id))
                .collect();
        let Diagnosed {
            diagnosis,
            attachments: cited,
            category,
            tier,
        } = diagnosed(v, c.diagnosis.as_ref(), &ids);
        attachments.extend(cited);
        let recommendation = v.optional("content.recommendation", &c.recommendation, LONG);
        let signatures = signatures(
            v,
            "content.signatures",
            &c.signatures,
            &[
                common::SignatureRole::CustomerRepresentative,
                common::SignatureRole::Surveyor,
            ],
            now,
        );
        let all_passed = measurements
            .iter()
            .all(|m| m.judgement.as_ref().is_some_and(|j| j.passed));
        Parsed {
            report: pb::SurveyReport {
                survey_time: survey_time.map(|(s, e)| common::TimeRange {
                    start_time: Some(to_timestamp(s)),
                    end_time: Some(to_timestamp(e)),
                }),
                participants,
                findings,
                measurements,
                diagnosis,
                recommendation,
                signatures,
                all_measurements_passed: all_passed,
                ..Default::default()
            },
            attachments,
            category,
            tier,
        }
    }

    async fn report_of_record(&self, id: &str) -> Result<pb::SurveyReport, ApiError> {
        let row = self.stored(id).await?;
        Ok(decode(&row)?)
    }

    /// Stores a report version (`parsed.report` carries its report id, version and correction
    /// reason) with its images, emits `SurveyReportSubmitted`; returns it.
    async fn store_report(
        &self,
        tx: &sea_orm::DatabaseTransaction,
        ctx: &RequestContext,
        case: &store::Case,
        parsed: Parsed,
    ) -> Result<(String, pb::SurveyReport), ApiError> {
        let (report_id, version, reason) = (
            parsed.report.report_id.clone(),
            parsed.report.version,
            parsed.report.correction_reason.clone(),
        );
        let found = check_attachments(tx, &case.id, &parsed.attachments).await?;
        let now = steelcare_store::now();
        let record_id = uuid::Uuid::now_v7().to_string();
        let image_ids: Vec<&String> = parsed
            .attachments
            .iter()
            .filter(|(f, _)| f.starts_with("content.image_attachment_ids"))
            .map(|(_, id)| id)
            .collect();
        let report = pb::SurveyReport {
            report_id: report_id.clone(),
            ticket_id: case.id.clone(),
            version,
            correction_reason: reason.clone(),
            images: image_ids
                .iter()
                .filter_map(|id| found.iter().find(|a| &&a.id == id).map(attachment_ref))
                .collect(),
            submitted_by: Some(actor_of(&ctx.caller)),
            create_time: Some(to_timestamp(now)),
            ..parsed.report
        };
        store::insert(
            tx,
            NewRecord::new(
                kind::REPORT,
                &record_id,
                &case.id,
                &report,
                &ctx.caller.subject,
                now,
            )
            .version(version)
            .slot(slot(kind::REPORT, &case.id, version)),
        )
        .await?;
        let diagnosis = report.diagnosis.clone().unwrap_or_default();
        audit(
            tx,
            ctx,
            "survey_report",
            &record_id,
            None,
            serde_json::json!({
                "ticket_id": case.id,
                "report_id": report_id,
                "version": version,
                "correction_reason": reason,
                "measurements": report.measurements.len(),
                "all_measurements_passed": report.all_measurements_passed,
                "root_cause": diagnosis.root_cause,
                "category": parsed.category.map(|c| c.as_str()),
                "tier": parsed.tier.map(|t| t.as_str()),
            }),
        )
        .await?;
        self.repairer
            .event(
                tx,
                actor_of(&ctx.caller),
                &case.id,
                Payload::SurveyReportSubmitted(events::SurveyReportSubmitted {
                    report_id,
                    root_cause: diagnosis.root_cause,
                    version,
                    category: diagnosis.category,
                    tier: diagnosis.tier,
                }),
            )
            .await?;
        Ok((record_id, report))
    }

    pub(super) async fn submit_survey_report(
        &self,
        ctx: &RequestContext,
        request: pb::SubmitSurveyReportRequest,
    ) -> Result<pb::SubmitSurveyReportResponse, ApiError> {
        allow(ctx, SURVEYORS)?;
        let now = steelcare_store::now();
        let mut v = Violations::default();
        let parsed = self.parse_report(&mut v, request.content.as_ref(), now);
        v.finish(())?;
        let hash = payload_hash(&request, |r| r.request_id.clear());
        let r = &self.repairer;
        let (tx, key) = match r
            .begin(ctx, "SubmitSurveyReport", &request.request_id, hash)
            .await?
        {
            Begun::Replay(id) => {
                return Ok(pb::SubmitSurveyReportResponse {
                    report: Some(self.report_of_record(&id).await?),
                });
            }
            Begun::Fresh(tx, key) => (tx, key),
        };
        let case = r.case_for(&tx, &ctx.caller, &request.ticket_id).await?;
        let staff = ctx
            .caller
            .has_any(&[Role::Engineer, Role::ChiefEngineer, Role::Admin]);
        if !staff && !store::on_survey_plan(&tx, &case.id, &ctx.caller.subject).await? {
            return Err(ApiError::PermissionDenied(msg!("error-report-submitter")));
        }
        expect_state(
            &case,
            &[CaseState::SurveyScheduled],
            msg!("error-report-needs-schedule"),
        )?;
        if store::arrival_ms(&tx, &case.id).await?.is_none() {
            return Err(case_precondition(&case, msg!("error-no-arrival")));
        }
        let report_id = uuid::Uuid::now_v7().to_string();
        let (record_id, report) = self
            .store_report(
                &tx,
                ctx,
                &case,
                Parsed {
                    report: pb::SurveyReport {
                        report_id,
                        version: 1,
                        ..parsed.report
                    },
                    ..parsed
                },
            )
            .await?;
        r.move_case(
            &tx,
            actor_of(&ctx.caller),
            &case,
            CaseState::Surveyed,
            "survey report submitted",
        )
        .await?;
        r.finish(tx, key, &record_id).await?;
        Ok(pb::SubmitSurveyReportResponse {
            report: Some(report),
        })
    }

    pub(super) async fn correct_survey_report(
        &self,
        ctx: &RequestContext,
        request: pb::CorrectSurveyReportRequest,
    ) -> Result<pb::CorrectSurveyReportResponse, ApiError> {
        allow(ctx, &[Role::Engineer, Role::ChiefEngineer, Role::Admin])?;
        let now = steelcare_store::now();
        let mut v = Violations::default();
        let reason = v.required("reason", &request.reason, LONG);
        if request.base_version < 1 {
            v.add("base_version", msg!("field-version-corrected"));
        }
        let parsed = self.parse_report(&mut v, request.content.as_ref(), now);
        v.finish(())?;
        let hash = payload_hash(&request, |r| r.request_id.clear());
        let r = &self.repairer;
        let (tx, key) = match r
            .begin(ctx, "CorrectSurveyReport", &request.request_id, hash)
            .await?
        {
            Begun::Replay(id) => {
                return Ok(pb::CorrectSurveyReportResponse {
                    report: Some(self.report_of_record(&id).await?),
                });
            }
            Begun::Fresh(tx, key) => (tx, key),
        };
        let case = r.case_for(&tx, &ctx.caller, &request.ticket_id).await?;
        if CLOSED.contains(&case.state) {
            return Err(case_precondition(
                &case,
                msg!("error-archived-report-final"),
            ));
        }
        let latest = store::versioned(&tx, &case.id, kind::REPORT, 0)
            .await?
            .ok_or_else(|| case_precondition(&case, msg!("error-no-survey-report")))?;
        if latest.version != request.base_version {
            return Err(ApiError::FailedPrecondition {
                subject: format!("case/{}/survey_report", case.id),
                current_state: format!("VERSION_{}", latest.version),
                message: msg!(
                    "error-report-not-latest",
                    version = request.base_version,
                    latest = latest.version
                ),
            });
        }
        let previous: pb::SurveyReport = decode(&latest)?;
        let (record_id, report) = self
            .store_report(
                &tx,
                ctx,
                &case,
                Parsed {
                    report: pb::SurveyReport {
                        report_id: previous.report_id,
                        version: latest.version + 1,
                        correction_reason: reason,
                        ..parsed.report
                    },
                    ..parsed
                },
            )
            .await?;
        r.finish(tx, key, &record_id).await?;
        Ok(pb::CorrectSurveyReportResponse {
            report: Some(report),
        })
    }

    pub(super) async fn get_survey_report(
        &self,
        ctx: &RequestContext,
        request: pb::GetSurveyReportRequest,
    ) -> Result<pb::GetSurveyReportResponse, ApiError> {
        allow(ctx, READERS)?;
        if request.version < 0 {
            return Err(ApiError::invalid(
                "version",
                msg!("field-version-or-latest"),
            ));
        }
        let r = &self.repairer;
        let case = r.case_for(&r.db, &ctx.caller, &request.ticket_id).await?;
        let row = store::versioned(&r.db, &case.id, kind::REPORT, request.version)
            .await?
            .ok_or_else(|| not_found("survey_report", &case.id))?;
        Ok(pb::GetSurveyReportResponse {
            report: Some(decode(&row)?),
        })
    }

    pub(super) async fn list_survey_reports(
        &self,
        ctx: &RequestContext,
        request: pb::ListSurveyReportsRequest,
    ) -> Result<pb::ListSurveyReportsResponse, ApiError> {
        Ok(pb::ListSurveyReportsResponse {
            reports: self.list_of(ctx, &request.ticket_id, kind::REPORT).await?,
        })
    }

    pub(super) async fn close_without_repair(
        &self,
        ctx: &RequestContext,
        request: pb::CloseWithoutRepairRequest,
    ) -> Result<pb::CloseWithoutRepairResponse, ApiError> {
        allow(ctx, &[Role::Engineer, Role::Manager, Role::Admin])?;
        let mut v = Violations::default();
        let reason = match pb::NoRepairReason::try_from(request.reason) {
            Ok(pb::NoRepairReason::Unspecified) | Err(_) => {
                v.add("reason", msg!("field-no-repair-reason-required"));
                pb::NoRepairReason::Unspecified
            }
            Ok(reason) => reason,
        };
        let note = if reason == pb::NoRepairReason::Other {
            v.required("note", &request.note, LONG)
        } else {
            v.optional("note", &request.note, LONG)
        };
        v.finish(())?;
        let hash = payload_hash(&request, |r| r.request_id.clear());
        let r = &self.repairer;
        let (tx, key) = match r
            .begin(ctx, "CloseWithoutRepair", &request.request_id, hash)
            .await?
        {
            Begun::Replay(_) => {
                return Ok(pb::CloseWithoutRepairResponse {
                    state: common::CaseState::NoRepair as i32,
                });
            }
            Begun::Fresh(tx, key) => (tx, key),
        };
        let case = r.case_for(&tx, &ctx.caller, &request.ticket_id).await?;
        expect_state(
            &case,
            &[
                CaseState::Surveyed,
                CaseState::PlanProposed,
                CaseState::PlanApproved,
            ],
            msg!("error-no-repair-window"),
        )?;
        let id = uuid::Uuid::now_v7().to_string();
        let body = pb::CloseWithoutRepairRequest {
            request_id: String::new(),
            ticket_id: case.id.clone(),
            reason: reason as i32,
            note: note.clone(),
        };
        store::insert(
            &tx,
            NewRecord::new(
                kind::NO_REPAIR,
                &id,
                &case.id,
                &body,
                &ctx.caller.subject,
                steelcare_store::now(),
            )
            .slot(slot(kind::NO_REPAIR, &case.id, 0)),
        )
        .await?;
        let before = serde_json::json!({ "state": case.state.as_str() });
        let audited = serde_json::json!({
            "state": CaseState::NoRepair.as_str(),
            "reason": reason.as_str_name(),
            "note": note,
        });
        audit(&tx, ctx, "case", &case.id, Some(before), audited).await?;
        r.move_case(
            &tx,
            actor_of(&ctx.caller),
            &case,
            CaseState::NoRepair,
            &format!("no repair: {}", reason.as_str_name()),
        )
        .await?;
        r.finish(tx, key, &id).await?;
        Ok(pb::CloseWithoutRepairResponse {
            state: common::CaseState::NoRepair as i32,
        })
    }

    pub(super) async fn assess_cost(
        &self,
        ctx: &RequestContext,
        request: pb::AssessCostRequest,
    ) -> Result<pb::AssessCostResponse, ApiError> {
        allow(ctx, READERS)?;
        let r = &self.repairer;
        let mut v = Violations::default();
        let quote = parse_quote(
            &mut v,
            &r.config,
            request.quoted.as_ref(),
            request.cost_price.as_ref(),
            false,
        );
        v.finish(())?;
        let case = r.case_for(&r.db, &ctx.caller, &request.ticket_id).await?;
        let shares = responsibility(&r.db, &case.id)
            .await?
            .ok_or_else(|| case_precondition(&case, msg!("error-no-survey-report")))?;
        Ok(pb::AssessCostResponse {
            cost: Some(bearing(&r.config, &case, &shares, quote)?),
        })
    }
}
