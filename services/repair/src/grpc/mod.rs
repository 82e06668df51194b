//! `steelcare.repair.v1.RepairService`: each create checks the caller, parses the request
//! (every violation named), begins its idempotent transaction, checks the case's state, writes
//! its record with the audit entry, the lifecycle move and its events, and answers with the
//! stored record. Handlers are split by stage: `survey`, `plans` (plans, reviews,
//! communications, decisions), `agreement` (cost and agreement), `work` (work log,
//! inspections, completion), `disputes`.

mod agreement;
mod disputes;
mod plans;
mod survey;
mod work;

use steelcare_domain::Role;
use steelcare_domain::cost::{self, CostDecision, Share};
use steelcare_i18n::{Msg, msg};
use steelcare_proto::common::v1 as common;
use steelcare_proto::repair::v1 as pb;
use steelcare_proto::repair::v1::repair_service_server::RepairService as RepairApi;
use steelcare_runtime::handler::require;
use steelcare_runtime::validate::{Person, SHORT, Violations};
use steelcare_runtime::{ApiError, RequestContext};
use steelcare_store::entity::case_records;

use crate::engine::{RepairConfig, Repairer, case_precondition};
use crate::records::{kind, money, money_proto, shares_of, shares_proto, status};
use crate::store::{self, Case, decode};

/// The repair service.
#[derive(Clone)]
pub struct RepairService {
    repairer: Repairer,
}

impl RepairService {
    /// The service over an engine.
    pub fn new(repairer: Repairer) -> Self {
        RepairService { repairer }
    }
}

/// Staff who write survey reports.
const SURVEYORS: &[Role] = &[
    Role::Technician,
    Role::Engineer,
    Role::ChiefEngineer,
    Role::Admin,
];
/// Every role reads the records (customers their own cases').
const READERS: &[Role] = crate::engine::READERS;

/// Refuses unless the case is in one of `allowed`.
fn expect_state(
    case: &Case,
    allowed: &[steelcare_domain::CaseState],
    message: Msg,
) -> Result<(), ApiError> {
    if allowed.contains(&case.state) {
        Ok(())
    } else {
        Err(case_precondition(case, message))
    }
}

/// Checks that the listed attachments belong to the case; a missing one is named at its field.
async fn check_attachments(
    conn: &impl sea_orm::ConnectionTrait,
    ticket_id: &str,
    fields: &[(String, String)],
) -> Result<Vec<steelcare_store::entity::attachments::Model>, ApiError> {
    let ids: Vec<String> = fields.iter().map(|(_, id)| id.clone()).collect();
    let found = store::attachments_of(conn, ticket_id, &ids).await?;
    let mut v = Violations::default();
    for (field, id) in fields {
        if !found.iter().any(|a| &a.id == id) {
            v.add(
                field.clone(),
                msg!("field-not-case-attachment", id = id.as_str()),
            );
        }
    }
    v.finish(found)
}

/// An attachment as a record refers to it.
fn attachment_ref(a: &steelcare_store::entity::attachments::Model) -> common::AttachmentRef {
    common::AttachmentRef {
        attachment_id: a.id.clone(),
        file_name: a.file_name.clone(),
        content_type: a.content_type.clone(),
        size_bytes: a.size_bytes,
        sha256: a.sha256.clone(),
        caption: a.caption.clone(),
    }
}

/// The people who took part (at `field`): at least one (`missing` says who is wanted), each
/// named.
fn participants(
    v: &mut Violations,
    field: &str,
    given: &[common::PersonRef],
    missing: Msg,
) -> Vec<common::PersonRef> {
    if given.is_empty() {
        v.add(field, missing);
    }
    given
        .iter()
        .enumerate()
        .map(|(i, p)| Person::parse(v, &format!("{field}[{i}]"), Some(p), true, false).to_proto())
        .collect()
}

/// Evidence references: each an attachment of the case or a measurement of `measurement_ids`,
/// or (where `note_alone`, a dispute's: an appraisal letter still to come) a note by itself.
/// Returns the attachment ids to check, with their fields.
fn evidence(
    v: &mut Violations,
    field: &str,
    given: &[pb::EvidenceRef],
    measurement_ids: Option<&[String]>,
    note_alone: bool,
) -> (Vec<pb::EvidenceRef>, Vec<(String, String)>) {
    let mut out = Vec::new();
    let mut attachments = Vec::new();
    for (i, e) in given.iter().enumerate() {
        let f = format!("{field}[{i}]");
        let attachment = v.optional(&format!("{f}.attachment_id"), &e.attachment_id, SHORT);
        let measurement = v.optional(&format!("{f}.measurement_id"), &e.measurement_id, SHORT);
        let note = v.optional(&format!("{f}.note"), &e.note, SHORT);
        match (attachment.is_empty(), measurement.is_empty()) {
            (true, true) if note_alone && !note.is_empty() => {}
            (true, true) if note_alone => v.add(f.clone(), msg!("field-evidence-or-note")),
            (true, true) => v.add(f.clone(), msg!("field-evidence-required")),
            (false, false) => v.add(f.clone(), msg!("field-evidence-not-both")),
            (false, true) => attachments.push((format!("{f}.attachment_id"), attachment.clone())),
            (true, false) => {
                if let Some(ids) = measurement_ids
                    && !ids.contains(&measurement)
                {
                    v.add(
                        format!("{f}.measurement_id"),
                        msg!("field-not-report-measurement", id = measurement.as_str()),
                    );
                }
            }
        }
        out.push(pb::EvidenceRef {
            attachment_id: attachment,
            measurement_id: measurement,
            note,
        });
    }
    (out, attachments)
}

/// The responsibility the case's cost rests on: the latest resolved dispute's finding, else
/// the latest survey report's. `None` before any report.
async fn responsibility(
    conn: &impl sea_orm::ConnectionTrait,
    ticket_id: &str,
) -> Result<Option<Vec<Share>>, ApiError> {
    let disputes = store::records(conn, ticket_id, kind::DISPUTE).await?;
    if let Some(row) = disputes.iter().rev().find(|d| d.status == status::RESOLVED) {
        let dispute: pb::Dispute = decode(row)?;
        return Ok(Some(shares_of(&dispute.responsibility)));
    }
    match store::versioned(conn, ticket_id, kind::REPORT, 0).await? {
        None => Ok(None),
        Some(row) => {
            let report: pb::SurveyReport = decode(&row)?;
            Ok(Some(shares_of(
                &report.diagnosis.unwrap_or_default().responsibility,
            )))
        }
    }
}

/// The quote a request gives: `quoted` (required when `required`) and, optionally, its cost
/// price, in the quote's currency and not above it.
fn parse_quote(
    v: &mut Violations,
    config: &RepairConfig,
    quoted: Option<&common::Money>,
    cost_price: Option<&common::Money>,
    required: bool,
) -> Option<cost::Quote> {
    let price = money(v, "quoted", quoted, required, config.currency);
    let cost = money(v, "cost_price", cost_price, false, config.currency);
    if quoted.is_none() && cost_price.is_some() {
        v.add("cost_price", msg!("field-without-quoted-price"));
    }
    if let (Some(p), Some(c)) = (price, cost)
        && c.minor() > p.minor()
    {
        v.add(
            "cost_price",
            msg!(
                "field-cost-above-price",
                cost = c.to_string(),
                price = p.to_string()
            ),
        );
        return None;
    }
    price.map(|price| cost::Quote { price, cost })
}

/// Who bears the cost given the shares (and the quote, when there is one), with the reasoning.
fn bearing(
    config: &RepairConfig,
    case: &Case,
    shares: &[Share],
    quote: Option<cost::Quote>,
) -> Result<pb::CostBearing, ApiError> {
    let warranty = cost::WarrantyFacts {
        in_warranty: case.in_warranty,
        scope: case.warranty_scope.parse().ok(),
        start: case.warranty_start,
        expiry: case.warranty_expiry,
    };
    let decision = cost::decide(&cost::CostCase {
        warranty: warranty.clone(),
        shares: shares.to_vec(),
        quote,
        policy: &config.cost_policy,
    })
    .map_err(|err| match err {
        cost::CostError::Undetermined => {
            case_precondition(case, msg!("error-responsibility-undetermined"))
        }
        cost::CostError::NeedsCostPrice(_) | cost::CostError::CostPrice => {
            ApiError::invalid("cost_price", err.message())
        }
        cost::CostError::Shares => ApiError::Internal(format!("stored shares: {err}")),
    })?;
    Ok(bearing_proto(case, &warranty, shares, quote, &decision))
}

fn treatment_value(t: cost::Treatment) -> i32 {
    (match t {
        cost::Treatment::Free => pb::CostTreatment::Free,
        cost::Treatment::Claim => pb::CostTreatment::Claim,
        cost::Treatment::AtCost => pb::CostTreatment::AtCost,
        cost::Treatment::PaidService => pb::CostTreatment::PaidService,
    }) as i32
}

fn bearing_proto(
    case: &Case,
    warranty: &cost::WarrantyFacts,
    shares: &[Share],
    quote: Option<cost::Quote>,
    d: &CostDecision,
) -> pb::CostBearing {
    pb::CostBearing {
        in_warranty: case.in_warranty,
        warranty_scope: case.warranty_scope.clone(),
        responsibility: shares_proto(shares),
        quoted: quote.map(|q| money_proto(q.price)),
        cost_price: quote.and_then(|q| q.cost).map(money_proto),
        customer_pays: d.customer.map(money_proto),
        contractor_bears: d.contractor.map(money_proto),
        back_charges: d
            .claims
            .iter()
            .map(|c| pb::BackCharge {
                party: crate::records::party_value(c.party),
                amount: c.amount.map(money_proto),
                party_name: c.name.clone(),
            })
            .collect(),
        free_for_customer: d.free_for_customer,
        reasoning_zh: d.reasoning.render(steelcare_i18n::Locale::chinese()),
        reasoning_en: d.reasoning.english(),
        override_reason: String::new(),
        lines: d
            .lines
            .iter()
            .map(|l| pb::CostLine {
                share: shares_proto(std::slice::from_ref(&l.share)).pop(),
                treatment: treatment_value(l.treatment),
                in_warranty_rule: l.in_warranty,
                price: l.price.map(money_proto),
                customer_pays: l.customer.map(money_proto),
                contractor_bears: l.contractor.map(money_proto),
            })
            .collect(),
        warranty_start: warranty.start.map(steelcare_runtime::validate::to_date),
        warranty_end: warranty
            .last_day()
            .map(steelcare_runtime::validate::to_date),
    }
}

/// The bearer the event names: who pays in the end.
fn bearer(cost: &pb::CostBearing) -> common::CostBearer {
    let customer = cost.customer_pays.as_ref().map_or(0, |m| m.amount_minor);
    let contractor = cost.contractor_bears.as_ref().map_or(0, |m| m.amount_minor);
    match (customer > 0, contractor > 0) {
        (true, true) => common::CostBearer::Shared,
        (true, false) => common::CostBearer::Customer,
        _ => common::CostBearer::Contractor,
    }
}

/// The agreed plan version of the case (the agreement's), with its record.
async fn agreed_plan(
    conn: &impl sea_orm::ConnectionTrait,
    case: &Case,
) -> Result<(pb::Agreement, pb::RepairPlan), ApiError> {
    let Some(row) = store::versioned(conn, &case.id, kind::AGREEMENT, 0).await? else {
        return Err(case_precondition(case, msg!("error-no-agreement")));
    };
    let agreement: pb::Agreement = decode(&row)?;
    let plan_row = store::versioned(conn, &case.id, kind::PLAN, agreement.plan_version)
        .await?
        .ok_or_else(|| ApiError::Internal(format!("agreed plan of {} is missing", case.id)))?;
    Ok((agreement, decode(&plan_row)?))
}

impl RepairService {
    /// The record a replayed create made.
    async fn stored(&self, id: &str) -> Result<case_records::Model, ApiError> {
        store::record(&self.repairer.db, id).await?.ok_or_else(|| {
            ApiError::Internal(format!("the record {id} of a replayed request is gone"))
        })
    }

    /// Every record of `kind` of a case the caller may see, oldest first.
    async fn list_of<M: prost::Message + Default>(
        &self,
        ctx: &RequestContext,
        ticket_id: &str,
        kind: &str,
    ) -> Result<Vec<M>, ApiError> {
        allow(ctx, READERS)?;
        let r = &self.repairer;
        let case = r.case_for(&r.db, &ctx.caller, ticket_id).await?;
        crate::view::all(&r.db, &case.id, kind).await
    }
}

/// Requires one of `roles`.
fn allow(ctx: &RequestContext, roles: &[Role]) -> Result<(), ApiError> {
    require(&ctx.caller, roles)
}

steelcare_runtime::rpcs! {
    impl RepairApi for RepairService {
        (submit_survey_report, pb::SubmitSurveyReportRequest, pb::SubmitSurveyReportResponse),
        (judge_measurements, pb::JudgeMeasurementsRequest, pb::JudgeMeasurementsResponse),
        (correct_survey_report, pb::CorrectSurveyReportRequest, pb::CorrectSurveyReportResponse),
        (get_survey_report, pb::GetSurveyReportRequest, pb::GetSurveyReportResponse),
        (list_survey_reports, pb::ListSurveyReportsRequest, pb::ListSurveyReportsResponse),
        (close_without_repair, pb::CloseWithoutRepairRequest, pb::CloseWithoutRepairResponse),
        (assess_cost, pb::AssessCostRequest, pb::AssessCostResponse),
        (propose_plan, pb::ProposePlanRequest, pb::ProposePlanResponse),
        (get_plan, pb::GetPlanRequest, pb::GetPlanResponse),
        (list_plans, pb::ListPlansRequest, pb::ListPlansResponse),
        (
            list_plans_to_review,
            pb::ListPlansToReviewRequest,
            pb::ListPlansToReviewResponse
        ),
        (review_plan, pb::ReviewPlanRequest, pb::ReviewPlanResponse),
        (record_communication, pb::RecordCommunicationRequest, pb::RecordCommunicationResponse),
        (list_communications, pb::ListCommunicationsRequest, pb::ListCommunicationsResponse),
        (
            record_customer_decision,
            pb::RecordCustomerDecisionRequest,
            pb::RecordCustomerDecisionResponse
        ),
        (
            list_customer_decisions,
            pb::ListCustomerDecisionsRequest,
            pb::ListCustomerDecisionsResponse
        ),
        (sign_agreement, pb::SignAgreementRequest, pb::SignAgreementResponse),
        (
            countersign_agreement,
            pb::CountersignAgreementRequest,
            pb::CountersignAgreementResponse
        ),
        (get_agreement, pb::GetAgreementRequest, pb::GetAgreementResponse),
        (log_work, pb::LogWorkRequest, pb::LogWorkResponse),
        (list_work_log, pb::ListWorkLogRequest, pb::ListWorkLogResponse),
        (record_inspection, pb::RecordInspectionRequest, pb::RecordInspectionResponse),
        (list_inspections, pb::ListInspectionsRequest, pb::ListInspectionsResponse),
        (complete_repair, pb::CompleteRepairRequest, pb::CompleteRepairResponse),
        (open_dispute, pb::OpenDisputeRequest, pb::OpenDisputeResponse),
        (resolve_dispute, pb::ResolveDisputeRequest, pb::ResolveDisputeResponse),
        (get_dispute, pb::GetDisputeRequest, pb::GetDisputeResponse),
        (list_disputes, pb::ListDisputesRequest, pb::ListDisputesResponse),
    }
}
