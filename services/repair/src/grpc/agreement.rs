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
use steelcare_runtime::validate::{LONG, SHORT, Violations};
use steelcare_runtime::{ApiError, RequestContext};

use super::plans::schedule_of;
use super::{
    READERS, RepairService, allow, bearer, bearing, expect_state, parse_quote, responsibility,
};
use crate::engine::{Begun, RepairConfig, case_precondition};
use crate::records::plan_status_label;
use crate::records::{kind, money, money_proto, plan_status, signatures, slot, status, texts};
use crate::store::{self, NewRecord, decode};
use crate::view;
use steelcare_domain::cost::Quote;
use steelcare_store::entity::case_records;

/// The two sides of an agreement.
pub(super) const BOTH_SIDES: &[common::SignatureRole] = &[
    common::SignatureRole::CustomerRepresentative,
    common::SignatureRole::ContractorRepresentative,
];

/// The contractor's side alone, who signs an agreement prepared for the customer.
const CONTRACTOR_SIDE: &[common::SignatureRole] =
    &[common::SignatureRole::ContractorRepresentative];

/// The customer's side, who countersigns a prepared agreement.
const CUSTOMER_SIDE: &[common::SignatureRole] = &[common::SignatureRole::CustomerRepresentative];

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
    /// Whether the customer's representative countersigns later.
    awaiting_customer: bool,
}

/// Checks a signing request: the plan version, obligations and terms, the quote, an
/// override with its reason (and only with one), both sides' signatures (the contractor's
/// alone when the agreement awaits the customer's).
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
    let sides = if request.await_customer_signature {
        CONTRACTOR_SIDE
    } else {
        BOTH_SIDES
    };
    let signatures = signatures(&mut v, "signatures", &request.signatures, sides, now);
    let customer = common::SignatureRole::CustomerRepresentative as i32;
    if request.await_customer_signature && request.signatures.iter().any(|s| s.role == customer) {
        v.add("signatures", msg!("field-customer-countersigns"));
    }
    v.finish(Terms {
        contractor_obligations,
        customer_obligations,
        acceptance_terms,
        quote,
        override_reason,
        overridden,
        signatures,
        awaiting_customer: request.await_customer_signature,
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
        awaiting_customer_signature: terms.awaiting_customer,
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

/// The agreement prepared for the customer's signature and still waiting for it, if any.
async fn prepared(
    conn: &impl sea_orm::ConnectionTrait,
    case_id: &str,
) -> Result<Option<case_records::Model>, ApiError> {
    Ok(store::records(conn, case_id, kind::PREPARED_AGREEMENT)
        .await?
        .into_iter()
        .find(|row| row.status == status::AWAITING))
}

/// Moves a prepared agreement from awaiting to `to` (replaced or countersigned), freeing its
/// slot; one conditional update, so that two calls at once cannot both take it.
async fn retire(
    tx: &sea_orm::DatabaseTransaction,
    row: &case_records::Model,
    to: &str,
) -> Result<(), ApiError> {
    let moved = store::set_status(
        tx,
        &row.id,
        status::AWAITING,
        to,
        Some(None),
        None::<&pb::Agreement>,
    )
    .await?;
    if moved {
        return Ok(());
    }
    Err(ApiError::FailedPrecondition {
        subject: format!("case/{}/prepared-agreement", row.ticket_id),
        current_state: "TAKEN".to_owned(),
        message: msg!("error-agreement-replaced"),
    })
}

/// Checks a countersignature: the customer representative's, signed by now.
fn parse_countersignature(
    request: &pb::CountersignAgreementRequest,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<common::Signature, ApiError> {
    let mut v = Violations::default();
    v.required("ticket_id", &request.ticket_id, SHORT);
    v.required("agreement_id", &request.agreement_id, SHORT);
    let given: Vec<common::Signature> = request.signature.iter().cloned().collect();
    let mut parsed = signatures(&mut v, "signature", &given, CUSTOMER_SIDE, now);
    if let Some(s) = &request.signature {
        if s.role != common::SignatureRole::CustomerRepresentative as i32 {
            v.add("signature.role", msg!("field-countersign-customer-only"));
        }
        if s.dissent {
            v.add("signature.dissent", msg!("field-countersign-no-dissent"));
        }
    }
    v.finish(())?;
    parsed
        .pop()
        .ok_or_else(|| ApiError::invalid("signature", msg!("field-required")))
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
        let row_id = if agreement.awaiting_customer_signature {
            self.prepare(ctx, &tx, &case, &agreement, &content, audited)
                .await?
        } else {
            self.conclude(ctx, &tx, &case, &agreement, &content, audited)
                .await?;
            id
        };
        r.finish(tx, key, &row_id).await?;
        Ok(pb::SignAgreementResponse {
            agreement: Some(agreement),
        })
    }

    /// Keeps an agreement the contractor signed for the customer to countersign, in place of
    /// one prepared before; returns the id of its record.
    async fn prepare(
        &self,
        ctx: &RequestContext,
        tx: &sea_orm::DatabaseTransaction,
        case: &store::Case,
        agreement: &pb::Agreement,
        content: &pb::PlanContent,
        audited: serde_json::Value,
    ) -> Result<String, ApiError> {
        self.check_schedule(tx, case, content).await?;
        if let Some(before) = prepared(tx, &case.id).await? {
            retire(tx, &before, status::REPLACED).await?;
        }
        // The record has an id of its own: the agreement's id becomes the concluded record's.
        let row_id = uuid::Uuid::now_v7().to_string();
        let record = NewRecord::new(
            kind::PREPARED_AGREEMENT,
            &row_id,
            &case.id,
            agreement,
            &ctx.caller.subject,
            steelcare_store::now(),
        );
        let record = record
            .version(agreement.plan_version)
            .status(status::AWAITING)
            .slot(slot(kind::PREPARED_AGREEMENT, &case.id, 0));
        store::insert(tx, record).await?;
        audit(tx, ctx, "agreement", &agreement.agreement_id, None, audited).await?;
        self.repairer
            .event(
                tx,
                actor_of(&ctx.caller),
                &case.id,
                Payload::AgreementPrepared(events::AgreementPrepared {
                    agreement_id: agreement.agreement_id.clone(),
                    plan_version: agreement.plan_version,
                }),
            )
            .await?;
        Ok(row_id)
    }

    /// Concludes a signed agreement: stored once per case, the crew booked for the plan's
    /// schedule, the case AGREED.
    async fn conclude(
        &self,
        ctx: &RequestContext,
        tx: &sea_orm::DatabaseTransaction,
        case: &store::Case,
        agreement: &pb::Agreement,
        content: &pb::PlanContent,
        audited: serde_json::Value,
    ) -> Result<(), ApiError> {
        let (start, end) = self.check_schedule(tx, case, content).await?;
        let id = &agreement.agreement_id;
        let record = NewRecord::new(
            kind::AGREEMENT,
            id,
            &case.id,
            agreement,
            &ctx.caller.subject,
            steelcare_store::now(),
        );
        let record =
            record
                .version(agreement.plan_version)
                .slot(slot(kind::AGREEMENT, &case.id, 0));
        store::insert(tx, record).await?;
        let (from, to) = (start.timestamp_millis(), end.timestamp_millis());
        store::book(tx, &case.id, id, &content.crew_technician_ids, from, to).await?;
        audit(tx, ctx, "agreement", id, None, audited).await?;
        let cost = agreement.cost.clone().unwrap_or_default();
        self.agreed(ctx, tx, case, id, &cost).await
    }

    /// The plan's schedule, once its crew is found free and qualified for it.
    async fn check_schedule(
        &self,
        tx: &sea_orm::DatabaseTransaction,
        case: &store::Case,
        content: &pb::PlanContent,
    ) -> Result<(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>), ApiError> {
        let (start, end) = schedule_of(content)?;
        self.repairer
            .check_crew(
                tx,
                case,
                "plan.crew_technician_ids",
                &content.crew_technician_ids,
                start,
                end,
            )
            .await?;
        Ok((start, end))
    }

    pub(super) async fn countersign_agreement(
        &self,
        ctx: &RequestContext,
        request: pb::CountersignAgreementRequest,
    ) -> Result<pb::CountersignAgreementResponse, ApiError> {
        let staff = [Role::Customer, Role::Engineer, Role::Manager, Role::Admin];
        allow(ctx, &staff)?;
        let now = steelcare_store::now();
        let signature = parse_countersignature(&request, now)?;
        let hash = payload_hash(&request, |r| r.request_id.clear());
        let r = &self.repairer;
        let (tx, key) = match r
            .begin(ctx, "CountersignAgreement", &request.request_id, hash)
            .await?
        {
            Begun::Replay(id) => {
                let row = self.stored(&id).await?;
                return Ok(pb::CountersignAgreementResponse {
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
        let row = prepared(&tx, &case.id)
            .await?
            .ok_or_else(|| not_found("prepared agreement", &case.id))?;
        let mut agreement: pb::Agreement = decode(&row)?;
        if agreement.agreement_id != request.agreement_id {
            return Err(ApiError::FailedPrecondition {
                subject: format!("agreement/{}", request.agreement_id),
                current_state: "REPLACED".to_owned(),
                message: msg!("error-agreement-replaced"),
            });
        }
        let (_, content) = agreed_version(&tx, &case, agreement.plan_version).await?;
        retire(&tx, &row, status::COUNTERSIGNED).await?;
        agreement.signatures.push(signature);
        agreement.awaiting_customer_signature = false;
        agreement.sign_time = Some(to_timestamp(now));
        let audited = serde_json::json!({
            "ticket_id": case.id,
            "countersigned": agreement.agreement_id,
        });
        self.conclude(ctx, &tx, &case, &agreement, &content, audited)
            .await?;
        r.finish(tx, key, &agreement.agreement_id).await?;
        Ok(pb::CountersignAgreementResponse {
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
        let row = match store::versioned(&r.db, &case.id, kind::AGREEMENT, 0).await? {
            Some(row) => row,
            None => prepared(&r.db, &case.id)
                .await?
                .ok_or_else(|| not_found("agreement", &case.id))?,
        };
        Ok(pb::GetAgreementResponse {
            agreement: Some(view::agreement(&r.db, &row).await?),
        })
    }
}
