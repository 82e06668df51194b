//! Disputes on responsibility or cost (MISSION §9.2): opened at any point from the survey to
//! the acceptance, with an appraisal deadline of their own; the case's SLA clocks pause
//! (intake, on `DisputeOpened`); resolving records the responsibility found, amends the
//! agreement's cost bearing, and returns the case to the state it left.

use steelcare_domain::cost::{Party, Quote, Share};
use steelcare_domain::{CaseState, Role};
use steelcare_i18n::msg;
use steelcare_proto::common::v1 as common;
use steelcare_proto::events::v1 as events;
use steelcare_proto::events::v1::event_envelope::Payload;
use steelcare_proto::repair::v1 as pb;
use steelcare_runtime::convert::{from_timestamp, to_timestamp};
use steelcare_runtime::handler::not_found;
use steelcare_runtime::record::{actor_of, audit, payload_hash};
use steelcare_runtime::validate::{LONG, SHORT, Violations};
use steelcare_runtime::{ApiError, RequestContext};

use super::agreement::BOTH_SIDES;
use super::{READERS, RepairService, allow, bearing, check_attachments, evidence, parse_quote};
use crate::engine::{Begun, RepairConfig, case_precondition};
use crate::records::{kind, shares, shares_proto, signatures, slot, status};
use crate::store::{self, NewRecord, decode};
use crate::view;

/// The states a dispute may open from.
const DISPUTABLE: &[CaseState] = &[
    CaseState::Surveyed,
    CaseState::PlanProposed,
    CaseState::PlanApproved,
    CaseState::Agreed,
    CaseState::InRepair,
    CaseState::SelfInspected,
    CaseState::Accepted,
];

/// A resolution's request, checked.
struct Settlement {
    resolution: i32,
    outcome: String,
    found: Vec<Share>,
    quote: Option<Quote>,
    signed: Option<Vec<common::Signature>>,
}

/// Checks a resolution: how it was reached, its outcome, who is responsible (determined),
/// the new quote and the signatures when given.
fn parse_resolution(
    config: &RepairConfig,
    request: &pb::ResolveDisputeRequest,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Settlement, ApiError> {
    let mut v = Violations::default();
    let resolution = match pb::DisputeResolution::try_from(request.resolution) {
        Ok(pb::DisputeResolution::Unspecified) | Err(_) => {
            v.add("resolution", msg!("field-resolution-required"));
            0
        }
        Ok(r) => r as i32,
    };
    let outcome = v.required("outcome", &request.outcome, LONG);
    let found = shares(&mut v, "responsibility", &request.responsibility, true);
    if found.iter().any(|s| s.party == Party::Undetermined) {
        v.add("responsibility", msg!("field-resolution-responsibility"));
    }
    let quote = parse_quote(
        &mut v,
        config,
        request.quoted.as_ref(),
        request.cost_price.as_ref(),
        false,
    );
    let signed = (!request.signatures.is_empty())
        .then(|| signatures(&mut v, "signatures", &request.signatures, BOTH_SIDES, now));
    v.finish(Settlement {
        resolution,
        outcome,
        found,
        quote,
        signed,
    })
}

/// The appraisal's deadline: required, in range, in the future.
fn appraisal_deadline(
    v: &mut Violations,
    given: Option<&prost_types::Timestamp>,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<chrono::DateTime<chrono::Utc>> {
    const FIELD: &str = "appraisal_deadline_time";
    match given.map(|t| from_timestamp(t, FIELD)) {
        None => {
            v.add(FIELD, msg!("field-appraisal-due-required"));
            None
        }
        Some(Err(_)) => {
            v.add(FIELD, msg!("field-timestamp-range"));
            None
        }
        Some(Ok(at)) if at <= now => {
            v.add(FIELD, msg!("field-must-be-future"));
            None
        }
        Some(Ok(at)) => Some(at),
    }
}

/// A dispute opens between the survey and the archive, one at a time.
fn disputable(case: &store::Case) -> Result<(), ApiError> {
    if case.state == CaseState::Disputed {
        return Err(case_precondition(case, msg!("error-dispute-open")));
    }
    if !DISPUTABLE.contains(&case.state) {
        return Err(case_precondition(case, msg!("error-dispute-window")));
    }
    Ok(())
}

/// A dispute as asked for, before its case is read.
struct Asked {
    /// The question, the appraisal institution and its deadline, the evidence.
    dispute: pb::Dispute,
    /// The attachments the evidence cites, to check against the case.
    attachments: Vec<(String, String)>,
    deadline: Option<chrono::DateTime<chrono::Utc>>,
}

fn parse_dispute(
    ctx: &RequestContext,
    request: &pb::OpenDisputeRequest,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Asked, ApiError> {
    let mut v = Violations::default();
    let question = v.required("question", &request.question, LONG);
    let appraisal_institution = v.optional(
        "appraisal_institution",
        &request.appraisal_institution,
        SHORT,
    );
    let (evidence, attachments) = evidence(&mut v, "evidence", &request.evidence, None, true);
    let deadline = appraisal_deadline(&mut v, request.appraisal_deadline_time.as_ref(), now);
    v.finish(())?;
    let dispute = pb::Dispute {
        question,
        appraisal_institution,
        evidence,
        appraisal_deadline_time: deadline.map(to_timestamp),
        status: pb::DisputeStatus::Open as i32,
        opened_by: Some(actor_of(&ctx.caller)),
        open_time: Some(to_timestamp(now)),
        ..Default::default()
    };
    Ok(Asked {
        dispute,
        attachments,
        deadline,
    })
}

impl RepairService {
    pub(super) async fn open_dispute(
        &self,
        ctx: &RequestContext,
        request: pb::OpenDisputeRequest,
    ) -> Result<pb::OpenDisputeResponse, ApiError> {
        allow(
            ctx,
            &[Role::Customer, Role::Engineer, Role::Manager, Role::Admin],
        )?;
        let now = steelcare_store::now();
        let Asked {
            dispute: asked,
            attachments,
            deadline,
        } = parse_dispute(ctx, &request, now)?;
        let hash = payload_hash(&request, |r| r.request_id.clear());
        let r = &self.repairer;
        let (tx, key) = match r
            .begin(ctx, "OpenDispute", &request.request_id, hash)
            .await?
        {
            Begun::Replay(id) => {
                let row = self.stored(&id).await?;
                return Ok(pb::OpenDisputeResponse {
                    dispute: Some(view::dispute(&row, steelcare_store::now())?),
                });
            }
            Begun::Fresh(tx, key) => (tx, key),
        };
        let case = r.case_for(&tx, &ctx.caller, &request.ticket_id).await?;
        disputable(&case)?;
        check_attachments(&tx, &case.id, &attachments).await?;
        let id = uuid::Uuid::now_v7().to_string();
        let question = asked.question.clone();
        let dispute = pb::Dispute {
            dispute_id: id.clone(),
            ticket_id: case.id.clone(),
            opened_in_state: case.state.proto_value(),
            ..asked
        };
        let record = NewRecord::new(
            kind::DISPUTE,
            &id,
            &case.id,
            &dispute,
            &ctx.caller.subject,
            now,
        );
        let record = record
            .status(status::OPEN)
            .slot(slot(kind::DISPUTE, &case.id, 0))
            .due_opt(deadline);
        store::insert(&tx, record).await?;
        let audited = serde_json::json!({
            "ticket_id": case.id,
            "question": question,
            "opened_in_state": case.state.as_str(),
            "appraisal_deadline": deadline,
        });
        audit(&tx, ctx, "dispute", &id, None, audited).await?;
        r.move_case(
            &tx,
            actor_of(&ctx.caller),
            &case,
            CaseState::Disputed,
            "dispute opened",
        )
        .await?;
        let announced = Payload::DisputeOpened(events::DisputeOpened {
            dispute_id: id.clone(),
            subject: question,
            appraisal_deadline_time: deadline.map(to_timestamp),
        });
        r.event(&tx, actor_of(&ctx.caller), &case.id, announced)
            .await?;
        r.finish(tx, key, &id).await?;
        Ok(pb::OpenDisputeResponse {
            dispute: Some(view::dispute_of(dispute, now)),
        })
    }

    pub(super) async fn resolve_dispute(
        &self,
        ctx: &RequestContext,
        request: pb::ResolveDisputeRequest,
    ) -> Result<pb::ResolveDisputeResponse, ApiError> {
        allow(ctx, &[Role::Manager, Role::Admin])?;
        let now = steelcare_store::now();
        let settled = parse_resolution(&self.repairer.config, &request, now)?;
        let hash = payload_hash(&request, |r| r.request_id.clear());
        let r = &self.repairer;
        let (tx, key) = match r
            .begin(ctx, "ResolveDispute", &request.request_id, hash)
            .await?
        {
            Begun::Replay(id) => return self.resolved(&id).await,
            Begun::Fresh(tx, key) => (tx, key),
        };
        let dispute_id = steelcare_runtime::validate::id("dispute_id", &request.dispute_id)?;
        let row = store::record(&tx, dispute_id)
            .await?
            .filter(|row| row.kind == kind::DISPUTE)
            .ok_or_else(|| not_found("dispute", dispute_id))?;
        let case = r.case_for(&tx, &ctx.caller, &row.ticket_id).await?;
        if row.status != status::OPEN {
            return Err(ApiError::FailedPrecondition {
                subject: format!("dispute/{}", row.id),
                current_state: row.status.to_uppercase(),
                message: msg!("error-dispute-resolved"),
            });
        }
        let prior = case
            .state_before_dispute
            .filter(|_| case.state == CaseState::Disputed)
            .ok_or_else(|| case_precondition(&case, msg!("error-not-in-dispute")))?;
        let mut dispute: pb::Dispute = decode(&row)?;
        let amendment = self.amend(ctx, &tx, &case, &row.id, &settled, now).await?;
        dispute.status = pb::DisputeStatus::Resolved as i32;
        dispute.resolution = settled.resolution;
        dispute.outcome = settled.outcome.clone();
        dispute.responsibility = shares_proto(&settled.found);
        dispute.amendment_id = amendment
            .as_ref()
            .map(|a| a.amendment_id.clone())
            .unwrap_or_default();
        dispute.resolve_time = Some(to_timestamp(now));
        // Settled: its appraisal clock stops (announced as breached or not).
        store::stop_clock(&tx, &row.id).await?;
        let (open, resolved) = (status::OPEN, status::RESOLVED);
        if !store::set_status(&tx, &row.id, open, resolved, Some(None), Some(&dispute)).await? {
            return Err(ApiError::Aborted(msg!("error-dispute-changed")));
        }
        let audited = serde_json::json!({
            "status": status::RESOLVED,
            "resolution": settled.resolution,
            "outcome": settled.outcome,
            "responsibility": settled.found.iter().map(|s| (format!("{:?}", s.party), s.percent)).collect::<Vec<_>>(),
            "amendment_id": dispute.amendment_id,
            "returns_to": prior.as_str(),
        });
        let before = serde_json::json!({ "status": status::OPEN });
        audit(&tx, ctx, "dispute", &row.id, Some(before), audited).await?;
        r.move_case(&tx, actor_of(&ctx.caller), &case, prior, "dispute resolved")
            .await?;
        let announced = Payload::DisputeResolved(events::DisputeResolved {
            dispute_id: row.id.clone(),
            responsibility: dispute.responsibility.clone(),
            amendment_id: dispute.amendment_id.clone(),
        });
        r.event(&tx, actor_of(&ctx.caller), &case.id, announced)
            .await?;
        r.finish(tx, key, &row.id).await?;
        Ok(pb::ResolveDisputeResponse {
            dispute: Some(view::dispute_of(dispute, now)),
            amendment,
        })
    }

    /// The answer to a resolution made before (a retried request): the dispute as it is
    /// and its amendment.
    async fn resolved(&self, id: &str) -> Result<pb::ResolveDisputeResponse, ApiError> {
        let row = self.stored(id).await?;
        let dispute = view::dispute(&row, steelcare_store::now())?;
        let amendment = match dispute.amendment_id.as_str() {
            "" => None,
            aid => store::record(&self.repairer.db, aid)
                .await?
                .map(|a| decode(&a))
                .transpose()?,
        };
        Ok(pb::ResolveDisputeResponse {
            dispute: Some(dispute),
            amendment,
        })
    }

    /// Once an agreement is signed, a resolution amends its cost bearing: the new quote and
    /// both sides' signatures are required, and the amendment is recorded. None before.
    async fn amend(
        &self,
        ctx: &RequestContext,
        tx: &sea_orm::DatabaseTransaction,
        case: &store::Case,
        dispute_id: &str,
        settled: &Settlement,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<pb::AgreementAmendment>, ApiError> {
        if store::versioned(tx, &case.id, kind::AGREEMENT, 0)
            .await?
            .is_none()
        {
            return Ok(None);
        }
        let mut v = Violations::default();
        if settled.quote.is_none() {
            v.add("quoted", msg!("field-amended-bearing-required"));
        }
        if settled.signed.is_none() {
            v.add("signatures", msg!("field-amendment-both-sign"));
        }
        v.finish(())?;
        let cost = bearing(&self.repairer.config, case, &settled.found, settled.quote)?;
        let aid = uuid::Uuid::now_v7().to_string();
        let amendment = pb::AgreementAmendment {
            amendment_id: aid.clone(),
            reason: format!("dispute {dispute_id}: {}", settled.outcome),
            dispute_id: dispute_id.to_owned(),
            cost: Some(cost),
            signatures: settled.signed.clone().unwrap_or_default(),
            create_time: Some(to_timestamp(now)),
        };
        let record = NewRecord::new(
            kind::AMENDMENT,
            &aid,
            &case.id,
            &amendment,
            &ctx.caller.subject,
            now,
        );
        store::insert(tx, record).await?;
        Ok(Some(amendment))
    }

    pub(super) async fn get_dispute(
        &self,
        ctx: &RequestContext,
        request: pb::GetDisputeRequest,
    ) -> Result<pb::GetDisputeResponse, ApiError> {
        allow(ctx, READERS)?;
        let r = &self.repairer;
        let id = steelcare_runtime::validate::id("dispute_id", &request.dispute_id)?;
        let row = store::record(&r.db, id)
            .await?
            .filter(|row| row.kind == kind::DISPUTE)
            .ok_or_else(|| not_found("dispute", id))?;
        r.case_for(&r.db, &ctx.caller, &row.ticket_id)
            .await
            .map_err(|_| not_found("dispute", id))?;
        Ok(pb::GetDisputeResponse {
            dispute: Some(view::dispute(&row, steelcare_store::now())?),
        })
    }

    pub(super) async fn list_disputes(
        &self,
        ctx: &RequestContext,
        request: pb::ListDisputesRequest,
    ) -> Result<pb::ListDisputesResponse, ApiError> {
        allow(ctx, READERS)?;
        let r = &self.repairer;
        let case = r.case_for(&r.db, &ctx.caller, &request.ticket_id).await?;
        let now = steelcare_store::now();
        Ok(pb::ListDisputesResponse {
            disputes: store::records(&r.db, &case.id, kind::DISPUTE)
                .await?
                .iter()
                .map(|row| view::dispute(row, now))
                .collect::<Result<_, _>>()?,
        })
    }
}
