//! `steelcare.feedback.v1.FeedbackService`: the `rpcs!` table over the engine (visits and
//! surveys in `visits.rs`, corrective actions in `actions.rs`, the quality loop around them in
//! `quality.rs`), and the figures with their
//! CSV export here.

use std::pin::Pin;
use steelcare_i18n::msg;

use steelcare_proto::feedback::v1 as pb;
use steelcare_proto::feedback::v1::feedback_service_server::FeedbackService as FeedbackApi;
use steelcare_runtime::{ApiError, RequestContext};
use tokio_stream::Stream;
use tonic::Status;

use crate::analytics::{self, Scope, clock_name, require_reader, tier_name};
use crate::engine::Feedback;

/// The service is the engine: every RPC is a method of [`Feedback`].
pub type FeedbackService = Feedback;

/// Bytes per CSV chunk.
const CHUNK: usize = 32 * 1024;

impl Feedback {
    /// ProblemBreakdown.
    pub async fn problem_breakdown(
        &self,
        ctx: &RequestContext,
        request: pb::ProblemBreakdownRequest,
    ) -> Result<pb::ProblemBreakdownResponse, ApiError> {
        require_reader(&ctx.caller, false)?;
        let scope = Scope::parse(
            &ctx.caller,
            request.period.as_ref(),
            request.filter.as_ref(),
        )?;
        analytics::breakdown(&self.db, &scope, request.dimension, request.top).await
    }

    /// SlaCompliance.
    pub async fn sla_compliance(
        &self,
        ctx: &RequestContext,
        request: pb::SlaComplianceRequest,
    ) -> Result<pb::SlaComplianceResponse, ApiError> {
        require_reader(&ctx.caller, false)?;
        let scope = Scope::parse(
            &ctx.caller,
            request.period.as_ref(),
            request.filter.as_ref(),
        )?;
        analytics::sla_compliance(&self.db, &scope).await
    }

    /// CaseOutcomes.
    pub async fn case_outcomes(
        &self,
        ctx: &RequestContext,
        request: pb::CaseOutcomesRequest,
    ) -> Result<pb::CaseOutcomesResponse, ApiError> {
        require_reader(&ctx.caller, false)?;
        let scope = Scope::parse(
            &ctx.caller,
            request.period.as_ref(),
            request.filter.as_ref(),
        )?;
        analytics::outcomes(&self.db, &scope, request.monthly).await
    }

    /// StaffKpis.
    pub async fn staff_kpis(
        &self,
        ctx: &RequestContext,
        request: pb::StaffKpisRequest,
    ) -> Result<pb::StaffKpisResponse, ApiError> {
        require_reader(&ctx.caller, true)?;
        let scope = Scope::parse(&ctx.caller, request.period.as_ref(), None)?;
        analytics::staff_kpis(&self.db, &scope, request.subject, ctx.locale).await
    }

    /// The CSV text of a report.
    pub async fn csv(
        &self,
        ctx: &RequestContext,
        request: &pb::ExportCsvRequest,
    ) -> Result<String, ApiError> {
        let report = pb::Report::try_from(request.report)
            .ok()
            .filter(|r| *r != pb::Report::Unspecified)
            .ok_or_else(|| ApiError::invalid("report", msg!("field-report-required")))?;
        require_reader(&ctx.caller, report == pb::Report::StaffKpis)?;
        let filter = (report != pb::Report::StaffKpis)
            .then_some(request.filter.as_ref())
            .flatten();
        let scope = Scope::parse(&ctx.caller, request.period.as_ref(), filter)?;
        let mut out = Csv::default();
        match report {
            pb::Report::ProblemBreakdown => breakdown_csv(
                &mut out,
                analytics::breakdown(&self.db, &scope, request.dimension, 0).await?,
            ),
            pb::Report::SlaCompliance => {
                sla_csv(&mut out, analytics::sla_compliance(&self.db, &scope).await?)
            }
            pb::Report::CaseOutcomes => {
                outcomes_csv(&mut out, analytics::outcomes(&self.db, &scope, true).await?)
            }
            pb::Report::StaffKpis | pb::Report::Unspecified => kpis_csv(
                &mut out,
                analytics::staff_kpis(&self.db, &scope, request.subject, ctx.locale).await?,
            ),
        }
        Ok(out.0)
    }

    async fn export(
        &self,
        ctx: &RequestContext,
        request: pb::ExportCsvRequest,
    ) -> Result<ExportStream, ApiError> {
        let text = self.csv(ctx, &request).await?.into_bytes();
        let chunks: Vec<Result<pb::ExportCsvResponse, Status>> = text
            .chunks(CHUNK)
            .map(|c| Ok(pb::ExportCsvResponse { chunk: c.to_vec() }))
            .collect();
        Ok(Box::pin(tokio_stream::iter(chunks)))
    }
}

/// A number as CSV shows it (up to 4 decimals, no trailing zeros).
fn number(x: f64) -> String {
    let s = format!("{x:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() || s == "-0" {
        "0".to_owned()
    } else {
        s.to_owned()
    }
}

/// CSV text (RFC 4180: fields with a comma, quote or line break are quoted).
#[derive(Default)]
struct Csv(String);

impl Csv {
    fn row<S: AsRef<str>>(&mut self, fields: impl IntoIterator<Item = S>) {
        for (i, field) in fields.into_iter().enumerate() {
            if i > 0 {
                self.0.push(',');
            }
            let f = field.as_ref();
            if f.contains([',', '"', '\n', '\r']) {
                self.0.push('"');
                self.0.push_str(&f.replace('"', "\"\""));
                self.0.push('"');
            } else {
                self.0.push_str(f);
            }
        }
        self.0.push_str("\r\n");
    }
}

type ExportStream = Pin<Box<dyn Stream<Item = Result<pb::ExportCsvResponse, Status>> + Send>>;

steelcare_runtime::rpcs! {
    impl FeedbackApi for Feedback {
        (set_visit_policy, pb::SetVisitPolicyRequest, pb::SetVisitPolicyResponse),
        (get_visit_policy, pb::GetVisitPolicyRequest, pb::GetVisitPolicyResponse),
        (add_visit, pb::AddVisitRequest, pb::AddVisitResponse),
        (reschedule_visit, pb::RescheduleVisitRequest, pb::RescheduleVisitResponse),
        (
            record_visit_attempt,
            pb::RecordVisitAttemptRequest,
            pb::RecordVisitAttemptResponse
        ),
        (decline_visits, pb::DeclineVisitsRequest, pb::DeclineVisitsResponse),
        (get_visit, pb::GetVisitRequest, pb::GetVisitResponse),
        (list_visits, pb::ListVisitsRequest, pb::ListVisitsResponse),
        (list_due_visits, pb::ListDueVisitsRequest, pb::ListDueVisitsResponse),
        (
            submit_satisfaction,
            pb::SubmitSatisfactionRequest,
            pb::SubmitSatisfactionResponse
        ),
        (get_satisfaction, pb::GetSatisfactionRequest, pb::GetSatisfactionResponse),
        (list_satisfaction, pb::ListSatisfactionRequest, pb::ListSatisfactionResponse),
        (problem_breakdown, pb::ProblemBreakdownRequest, pb::ProblemBreakdownResponse),
        (sla_compliance, pb::SlaComplianceRequest, pb::SlaComplianceResponse),
        (case_outcomes, pb::CaseOutcomesRequest, pb::CaseOutcomesResponse),
        (staff_kpis, pb::StaffKpisRequest, pb::StaffKpisResponse),
        (
            raise_corrective_action,
            pb::RaiseCorrectiveActionRequest,
            pb::RaiseCorrectiveActionResponse
        ),
        (
            update_corrective_action,
            pb::UpdateCorrectiveActionRequest,
            pb::UpdateCorrectiveActionResponse
        ),
        (
            verify_corrective_action,
            pb::VerifyCorrectiveActionRequest,
            pb::VerifyCorrectiveActionResponse
        ),
        (
            get_corrective_action,
            pb::GetCorrectiveActionRequest,
            pb::GetCorrectiveActionResponse
        ),
        (
            list_corrective_actions,
            pb::ListCorrectiveActionsRequest,
            pb::ListCorrectiveActionsResponse
        ),
        (problem_pareto, pb::ProblemParetoRequest, pb::ProblemParetoResponse),
        (
            set_department_members,
            pb::SetDepartmentMembersRequest,
            pb::SetDepartmentMembersResponse
        ),
        (
            list_department_members,
            pb::ListDepartmentMembersRequest,
            pb::ListDepartmentMembersResponse
        ),
        (search_cases, pb::SearchCasesRequest, pb::SearchCasesResponse),
        (similar_cases, pb::SimilarCasesRequest, pb::SimilarCasesResponse),
        (
            mark_standard_repair,
            pb::MarkStandardRepairRequest,
            pb::MarkStandardRepairResponse
        ),
        (decide_recurrence, pb::DecideRecurrenceRequest, pb::DecideRecurrenceResponse),
        (
            list_recurrence_flags,
            pb::ListRecurrenceFlagsRequest,
            pb::ListRecurrenceFlagsResponse
        ),
    }

    type ExportCsvStream = ExportStream;

    async fn export_csv(
        &self,
        request: tonic::Request<pb::ExportCsvRequest>,
    ) -> Result<tonic::Response<Self::ExportCsvStream>, Status> {
        let ctx = steelcare_runtime::handler::context(&request)?;
        steelcare_runtime::handler::respond(&ctx, self.export(&ctx, request.into_inner()).await)
    }
}

/// A breakdown as CSV: a row per key, with its labels in both languages.
fn breakdown_csv(out: &mut Csv, found: pb::ProblemBreakdownResponse) {
    out.row([
        "key",
        "label_zh",
        "label_en",
        "cases",
        "share",
        "recurrences",
        "inherited",
    ]);
    for r in found.rows {
        out.row([
            r.key,
            r.label_zh,
            r.label_en,
            number(r.cases),
            number(r.share),
            number(r.recurrences),
            number(r.inherited),
        ]);
    }
}

/// SLA compliance as CSV: a row per clock and tier.
fn sla_csv(out: &mut Csv, found: pb::SlaComplianceResponse) {
    out.row([
        "clock",
        "tier",
        "clocks",
        "met",
        "breached",
        "running",
        "compliance",
    ]);
    for r in found.rows {
        out.row([
            clock_name(r.clock),
            tier_name(r.tier),
            r.clocks.to_string(),
            r.met.to_string(),
            r.breached.to_string(),
            r.running.to_string(),
            number(r.compliance),
        ]);
    }
}

/// Case outcomes as CSV: a row per month, then the total.
fn outcomes_csv(out: &mut Csv, found: pb::CaseOutcomesResponse) {
    out.row([
        "month",
        "cases",
        "recurrence_rate",
        "rework_rate",
        "mean_hours_to_resolve",
        "on_time_share",
        "surveys",
        "response_speed",
        "service_attitude",
        "professional_competence",
        "fix_effect",
        "communication",
        "communication_surveys",
        "overall",
        "overall_surveys",
    ]);
    for o in found.months.into_iter().chain(found.total.map(|mut t| {
        t.month = "total".to_owned();
        t
    })) {
        let s = o.satisfaction.unwrap_or_default();
        out.row([
            o.month,
            o.cases.to_string(),
            number(o.recurrence_rate),
            number(o.rework_rate),
            number(o.mean_hours_to_resolve),
            number(o.on_time_share),
            s.surveys.to_string(),
            number(s.response_speed),
            number(s.service_attitude),
            number(s.professional_competence),
            number(s.fix_effect),
            number(s.communication),
            s.communication_surveys.to_string(),
            number(s.overall),
            s.overall_surveys.to_string(),
        ]);
    }
}

/// Staff KPIs as CSV: a row per subject.
fn kpis_csv(out: &mut Csv, found: pb::StaffKpisResponse) {
    out.row([
        "subject",
        "cases",
        "on_time_share",
        "satisfaction",
        "first_time_acceptance",
        "rectification_rounds",
        "archive_completeness",
        "recurrences_found_at_visits",
    ]);
    for r in found.rows {
        out.row([
            r.subject,
            r.cases.to_string(),
            number(r.on_time_share),
            number(r.satisfaction),
            number(r.first_time_acceptance),
            number(r.rectification_rounds),
            number(r.archive_completeness),
            r.recurrences_found_at_visits.to_string(),
        ]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_what_needs_quoting() {
        let mut csv = Csv::default();
        csv.row(["plain", "a,b", "say \"hi\"", "two\nlines"]);
        assert_eq!(csv.0, "plain,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\"\r\n");
    }

    #[test]
    fn numbers_drop_trailing_zeros() {
        assert_eq!(number(0.5), "0.5");
        assert_eq!(number(2.0), "2");
        assert_eq!(number(0.0), "0");
        assert_eq!(number(1.0 / 3.0), "0.3333");
    }
}
