//! The handling agreement (MISSION §5.3): signed on the plan version the customer agreed to,
//! with the cost bearing the rule computes (or an audited override), immutable.

use steelcare_domain::{CaseState, Role};
use steelcare_i18n::msg;
use steelcare_proto::common::v1 as common;
use steelcare_proto::events::v1 as events;
use steelcare_proto::events::v1::event_envelope::Payload;
use steelcare_proto::repair::v1 as pb;
use steelcare_runtime::convert::to_timestamp;
use steelcare_runtime::handler::not_found;
use steelcare_runtime::record::{actor_of, audit, payload_hash};
use steelcare_runtime::validate::{LONG, Violations};
use steelcare_runtime::{ApiError, RequestContext};

use super::plans::schedule_of;
use super::{
    READERS, RepairService, allow, bearer, bearing, expect_state, parse_quote, responsibility,
};
use crate::engine::{Begun, RepairConfig, case_precondition};
use crate::records::plan_status_label;
use crate::records::{kind, money, money_proto, plan_status, signatures, slot, texts};
use crate::store::{self, NewRecord, decode};
use crate::view;
use steelcare_domain::cost::Quote;

/// The two sides of an agreement.
pub(super) const BOTH_SIDES: &[common::SignatureRole] = &[
    common::SignatureRole::CustomerRepresentative,
    common::SignatureRole::ContractorRepresentative,
];

/// Checks an overriding cost bearing: amounts in the quote's currency, not negative, and
/// adding up to the quote.
fn parse_override(
    v: &mut Violations,
    config: &RepairConfig,
    given: &pb::CostBearing,
    quote: Option<Quote>,
    reason: &str,
) -> pb::CostBearing {
    let customer = money(
        v,
        "cost_override.customer_pays",
        given.customer_pays.as_ref(),
        true,
        config.currency,
    );
    let contractor = money(
        v,
        "cost_override.contractor_bears",
        given.contractor_bears.as_ref(),
        true,
        config.currency,
    );
    for (i, b) in given.back_charges.iter().enumerate() {
        money(
            v,
            &format!("cost_override.back_charges[{i}].amount"),
            b.amount.as_ref(),
            true,
            config.currency,
        );
    }
    if let (Some(c), Some(k), Some(q)) = (customer, contractor, quote) {
        match c.checked_add(k) {
            Ok(sum) if sum == q.price => {}
            Ok(sum) => v.add(
                "cost_override",
                msg!(
                    "field-override-sum",
                    sum = sum.to_string(),
                    price = q.price.to_string()
                ),
            ),
            Err(err) => v.add("cost_override", err.message()),
        }
    }
    pb::CostBearing {
        quoted: quote.map(|q| money_proto(q.price)),
        cost_price: quote.and_then(|q| q.cost).map(money_proto),
        free_for_customer: customer.is_some_and(|c| c.minor() == 0),
        reasoning_zh: v.optional("cost_override.reasoning_zh", &given.reasoning_zh, LONG),
        reasoning_en: v.optional("cost_override.reasoning_en", &given.reasoning_en, LONG),
        override_reason: reason.to_owned(),
        lines: Vec::new(),
        ..given.clone()
    }
}

/// What a signing request says, checked.
struct Terms {
    contractor_obligations: Vec<String>,
    customer_obligations: Vec<String>,
    acceptance_terms: Vec<String>,
    quote: Option<Quote>,
    override_reason: String,
    overridden: Option<pb::CostBearing>,
    signatures: Vec<common::Signature>,
}

/// Checks a signing request: the plan version, obligations and terms, the quote, an
/// override with its reason (and only with one), both sides' signatures.
fn parse_terms(
    config: &RepairConfig,
    request: &pb::SignAgreementRequest,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Terms, ApiError> {
    let mut v = Violations::default();
    if request.plan_version < 1 {
        v.add("plan_version", msg!("field-version-agreed"));
    }
    let contractor_obligations = texts(
        &mut v,
        "contractor_obligations",
        &request.contractor_obligations,
        50,
    );
    if contractor_obligations.is_empty() {
        v.add("contractor_obligations", msg!("field-required"));
    }
    let customer_obligations = texts(
        &mut v,
        "customer_obligations",
        &request.customer_obligations,
        50,
    );
    let acceptance_terms = texts(&mut v, "acceptance_terms", &request.acceptance_terms, 50);
    let quote = parse_quote(
        &mut v,
        config,
        request.quoted.as_ref(),
        request.cost_price.as_ref(),
        true,
    );
    let override_reason = v.optional("override_reason", &request.override_reason, LONG);
    let overridden = request.cost_override.as_ref().map(|o| {
        if override_reason.is_empty() {
            v.add("override_reason", msg!("field-override-reason-required"));
        }
        parse_override(&mut v, config, o, quote, &override_reason)
    });
    if overridden.is_none() && !override_reason.is_empty() {
        v.add("cost_override", msg!("field-required-with-override"));
    }
    let signatures = signatures(&mut v, "signatures", &request.signatures, BOTH_SIDES, now);
    v.finish(Terms {
        contractor_obligations,
        customer_obligations,
        acceptance_terms,
        quote,
        override_reason,
        overridden,
        signatures,
    })
}

/// The agreement as the parties sign it: the agreed plan's scope and quality criteria, both
/// sides' obligations, the acceptance terms and the cost bearing.
fn agreement_of(
    id: &str,
    case_id: &str,
    plan_version: i32,
    content: &pb::PlanContent,
    terms: Terms,
    cost: &pb::CostBearing,
    now: chrono::DateTime<chrono::Utc>,
) -> pb::Agreement {
    pb::Agreement {
        agreement_id: id.to_owned(),
        ticket_id: case_id.to_owned(),
        plan_version,
        contractor_obligations: terms.contractor_obligations,
        customer_obligations: terms.customer_obligations,
        scope: content.scope.clone(),
        acceptance_criteria: content
            .steps
            .iter()
            .flat_map(|s| s.quality_criteria.iter().cloned())
            .collect(),
        acceptance_terms: terms.acceptance_terms,
        cost: Some(cost.clone()),
        signatures: terms.signatures,
        amendments: Vec::new(),
        sign_time: Some(to_timestamp(now)),
    }
}

/// What the audit log keeps of a signing: the amounts each side carries, and what the rule
/// computed when an override replaced it.
fn agreement_audit(
    case_id: &str,
    plan_version: i32,
    terms: &Terms,
    currency: &str,
    cost: &pb::CostBearing,
    computed: Option<&pb::CostBearing>,
) -> serde_json::Value {
    serde_json::json!({
        "ticket_id": case_id,
        "plan_version": plan_version,
        "quoted_minor": terms.quote.as_ref().map(|q| q.price.minor()),
        "currency": currency,
        "customer_minor": cost.customer_pays.as_ref().map(|m| m.amount_minor),
        "contractor_minor": cost.contractor_bears.as_ref().map(|m| m.amount_minor),
        "computed_customer_minor": computed
            .and_then(|c| c.customer_pays.as_ref().map(|m| m.amount_minor)),
        "override_reason": terms.override_reason,
    })
}

/// The plan version the agreement is signed on, which the customer must have agreed to: its
/// version and content.
async fn agreed_version(
    tx: &sea_orm::DatabaseTransaction,
    case: &store::Case,
    version: i32,
) -> Result<(i32, pb::PlanContent), ApiError> {
    let row = store::versioned(tx, &case.id, kind::PLAN, version)
        .await?
        .ok_or_else(|| ApiError::invalid("plan_version", msg!("field-no-such-plan-version")))?;
    if plan_status(&row.status) != pb::PlanStatus::Agreed {
        return Err(ApiError::FailedPrecondition {
            subject: format!("case/{}/plan/{}", case.id, row.version),
            current_state: row.status.to_uppercase(),
            message: msg!(
                "error-plan-not-agreed",
                version = row.version,
                status = plan_status_label(&row.status)
            ),
        });
    }
    let plan: pb::RepairPlan = decode(&row)?;
    Ok((row.version, plan.content.unwrap_or_default()))
}

impl RepairService {
    pub(super) async fn sign_agreement(
        &self,
        ctx: &RequestContext,
        request: pb::SignAgreementRequest,
    ) -> Result<pb::SignAgreementResponse, ApiError> {
        allow(ctx, &[Role::Engineer, Role::Manager, Role::Admin])?;
        let now = steelcare_store::now();
        let terms = parse_terms(&self.repairer.config, &request, now)?;
        let hash = payload_hash(&request, |r| r.request_id.clear());
        let r = &self.repairer;
        let (tx, key) = match r
            .begin(ctx, "SignAgreement", &request.request_id, hash)
            .await?
        {
            Begun::Replay(id) => {
                let row = self.stored(&id).await?;
                return Ok(pb::SignAgreementResponse {
                    agreement: Some(view::agreement(&r.db, &row).await?),
                });
            }
            Begun::Fresh(tx, key) => (tx, key),
        };
        let case = r.case_for(&tx, &ctx.caller, &request.ticket_id).await?;
        expect_state(
            &case,
            &[CaseState::PlanApproved],
            msg!("error-agreement-needs-approved-plan"),
        )?;
        let (plan_version, content) = agreed_version(&tx, &case, request.plan_version).await?;
        let (cost, computed) = self.cost_of(&tx, &case, &terms).await?;
        let (start, end) = schedule_of(&content)?;
        r.check_crew(
            &tx,
            &case,
            "plan.crew_technician_ids",
            &content.crew_technician_ids,
            start,
            end,
        )
        .await?;
        let audited = agreement_audit(
            &case.id,
            plan_version,
            &terms,
            r.config.currency.code(),
            &cost,
            computed.as_ref(),
        );
        let id = uuid::Uuid::now_v7().to_string();
        let agreement = agreement_of(&id, &case.id, plan_version, &content, terms, &cost, now);
        let record = NewRecord::new(
            kind::AGREEMENT,
            &id,
            &case.id,
            &agreement,
            &ctx.caller.subject,
            now,
        );
        let record = record
            .version(plan_version)
            .slot(slot(kind::AGREEMENT, &case.id, 0));
        store::insert(&tx, record).await?;
        let (from, to) = (start.timestamp_millis(), end.timestamp_millis());
        store::book(&tx, &case.id, &id, &content.crew_technician_ids, from, to).await?;
        audit(&tx, ctx, "agreement", &id, None, audited).await?;
        self.agreed(ctx, &tx, &case, &id, &cost).await?;
        r.finish(tx, key, &id).await?;
        Ok(pb::SignAgreementResponse {
            agreement: Some(agreement),
        })
    }

    /// The cost bearing the agreement carries: the override when one is given (completed
    /// with the case's warranty and shares), else the rule's; and the rule's, when it could
    /// be computed, for the audit.
    async fn cost_of(
        &self,
        tx: &sea_orm::DatabaseTransaction,
        case: &store::Case,
        terms: &Terms,
    ) -> Result<(pb::CostBearing, Option<pb::CostBearing>), ApiError> {
        let shares = responsibility(tx, &case.id)
            .await?
            .ok_or_else(|| case_precondition(case, msg!("error-no-survey-report")))?;
        let computed = match bearing(&self.repairer.config, case, &shares, terms.quote) {
            Ok(c) => Some(c),
            Err(_) if terms.overridden.is_some() => None,
            Err(err) => return Err(err),
        };
        let cost = match (&terms.overridden, &computed) {
            (Some(o), computed) => pb::CostBearing {
                in_warranty: case.in_warranty,
                warranty_scope: case.warranty_scope.clone(),
                responsibility: crate::records::shares_proto(&shares),
                warranty_start: computed.as_ref().and_then(|c| c.warranty_start),
                warranty_end: computed.as_ref().and_then(|c| c.warranty_end),
                ..o.clone()
            },
            (None, Some(c)) => c.clone(),
            (None, None) => {
                return Err(case_precondition(case, msg!("error-no-cost-bearing")));
            }
        };
        Ok((cost, computed))
    }

    /// The case is agreed: its state moves and `AgreementSigned` is announced.
    async fn agreed(
        &self,
        ctx: &RequestContext,
        tx: &sea_orm::DatabaseTransaction,
        case: &store::Case,
        agreement_id: &str,
        cost: &pb::CostBearing,
    ) -> Result<(), ApiError> {
        let r = &self.repairer;
        r.move_case(
            tx,
            actor_of(&ctx.caller),
            case,
            CaseState::Agreed,
            "handling agreement signed",
        )
        .await?;
        r.event(
            tx,
            actor_of(&ctx.caller),
            &case.id,
            Payload::AgreementSigned(events::AgreementSigned {
                agreement_id: agreement_id.to_owned(),
                cost_bearer: bearer(cost) as i32,
                customer_price: cost.customer_pays.clone(),
            }),
        )
        .await
    }

    pub(super) async fn get_agreement(
        &self,
        ctx: &RequestContext,
        request: pb::GetAgreementRequest,
    ) -> Result<pb::GetAgreementResponse, ApiError> {
        allow(ctx, READERS)?;
        let r = &self.repairer;
        let case = r.case_for(&r.db, &ctx.caller, &request.ticket_id).await?;
        let row = store::versioned(&r.db, &case.id, kind::AGREEMENT, 0)
            .await?
            .ok_or_else(|| not_found("agreement", &case.id))?;
        Ok(pb::GetAgreementResponse {
            agreement: Some(view::agreement(&r.db, &row).await?),
        })
    }
}
