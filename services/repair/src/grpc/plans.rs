//! Repair plans (MISSION §5): versions with a computed approval chain, internal reviews, the
//! communications of the negotiation and the customer's decisions.

use steelcare_domain::approval::{self, Approver, PlanFacts};
use steelcare_domain::{CaseState, Role};
use steelcare_i18n::{Locale, Msg, Said, msg};
use steelcare_proto::common::v1 as common;
use steelcare_proto::events::v1 as events;
use steelcare_proto::events::v1::event_envelope::Payload;
use steelcare_proto::repair::v1 as pb;
use steelcare_runtime::convert::{page_size, to_timestamp};
use steelcare_runtime::handler::not_found;
use steelcare_runtime::measurement;
use steelcare_runtime::record::{actor_of, audit, payload_hash};
use steelcare_runtime::validate::{LONG, Person, SHORT, Violations};
use steelcare_runtime::{ApiError, RequestContext};

use super::{
    READERS, RepairService, allow, attachment_ref, check_attachments, expect_state, participants,
};
use crate::engine::{Begun, case_precondition};
use crate::records::{
    ids, kind, money, past_time, plan_status, plan_status_label, plan_status_name, slot, texts,
    time_range,
};
use crate::store::{self, NewRecord, decode};
use crate::view;
use steelcare_store::page;

const PLANNERS: &[Role] = &[Role::Engineer, Role::ChiefEngineer, Role::Admin];
const COMMUNICATORS: &[Role] = &[Role::Agent, Role::Engineer, Role::Manager, Role::Admin];
const DECIDERS: &[Role] = &[Role::Customer, Role::Agent, Role::Engineer, Role::Admin];

fn approval_step(a: Approver) -> pb::ApprovalStep {
    match a {
        Approver::TechnicalLead => pb::ApprovalStep::TechnicalLead,
        Approver::ChiefEngineer => pb::ApprovalStep::ChiefEngineer,
    }
}

fn step_role(step: i32) -> Option<Role> {
    match pb::ApprovalStep::try_from(step).ok()? {
        pb::ApprovalStep::TechnicalLead => Some(Role::Engineer),
        pb::ApprovalStep::ChiefEngineer => Some(Role::ChiefEngineer),
        pb::ApprovalStep::Unspecified => None,
    }
}

fn plan_precondition(plan: &pb::RepairPlan, status: &str, message: Msg) -> ApiError {
    ApiError::FailedPrecondition {
        subject: format!("case/{}/plan/{}", plan.ticket_id, plan.version),
        current_state: status.to_uppercase(),
        message: msg!(
            "error-plan-state",
            what = message,
            version = plan.version,
            status = plan_status_label(status)
        ),
    }
}

/// The case's latest plan, which must be version `version` and in `waiting` (the step it
/// waits for is `why` otherwise): its record and its content.
async fn latest_plan_in(
    tx: &sea_orm::DatabaseTransaction,
    case: &store::Case,
    version: i32,
    waiting: pb::PlanStatus,
    why: Msg,
) -> Result<(steelcare_store::entity::case_records::Model, pb::RepairPlan), ApiError> {
    let row = store::versioned(tx, &case.id, kind::PLAN, 0)
        .await?
        .ok_or_else(|| not_found("repair_plan", &case.id))?;
    let plan: pb::RepairPlan = decode(&row)?;
    if row.version != version {
        return Err(plan_precondition(
            &plan,
            &row.status,
            msg!("error-plan-not-latest", version = version),
        ));
    }
    if plan_status(&row.status) != waiting {
        return Err(plan_precondition(&plan, &row.status, why));
    }
    Ok((row, plan))
}

/// The approval the caller may give next: how many are given and the chain's next step,
/// which must be the caller's role; nobody reviews their own plan or one version twice.
fn next_approval(
    ctx: &RequestContext,
    plan: &pb::RepairPlan,
    row: &steelcare_store::entity::case_records::Model,
) -> Result<(usize, i32), ApiError> {
    let given = plan.reviews.iter().filter(|r| r.approved).count();
    let Some(step) = plan.approval_chain.get(given).copied() else {
        return Err(plan_precondition(
            plan,
            &row.status,
            msg!("error-plan-fully-approved"),
        ));
    };
    let role = step_role(step)
        .ok_or_else(|| ApiError::Internal(format!("plan {} has a bad chain", row.id)))?;
    if !ctx.caller.has_any(&[role]) {
        return Err(ApiError::PermissionDenied(msg!(
            "error-next-approval",
            step = steelcare_i18n::enum_label(
                "ApprovalStep",
                pb::ApprovalStep::try_from(step)
                    .unwrap_or_default()
                    .as_str_name()
            ),
            role = steelcare_runtime::auth::role_label(role)
        )));
    }
    let author = plan
        .author
        .as_ref()
        .map(|a| a.subject.as_str())
        .unwrap_or("");
    if !approval::may_approve(author, &ctx.caller.subject) {
        return Err(ApiError::PermissionDenied(msg!("error-review-own-plan")));
    }
    if plan.reviews.iter().any(|r| {
        r.reviewer
            .as_ref()
            .is_some_and(|a| a.subject == ctx.caller.subject)
    }) {
        return Err(ApiError::PermissionDenied(msg!("error-review-twice")));
    }
    Ok((given, step))
}

/// The latest plan a new version revises, if any: a revision says why.
async fn revised(
    tx: &sea_orm::DatabaseTransaction,
    case: &store::Case,
    reason: &str,
) -> Result<Option<steelcare_store::entity::case_records::Model>, ApiError> {
    let previous = store::versioned(tx, &case.id, kind::PLAN, 0).await?;
    if let Some(prev) = &previous
        && reason.is_empty()
    {
        return Err(ApiError::invalid(
            "revision_reason",
            msg!(
                "field-revision-reason",
                version = prev.version + 1,
                previous = prev.version
            ),
        ));
    }
    Ok(previous)
}

/// Moves a plan version from the status it was read in to `next`; `ABORTED` when it changed
/// meanwhile.
async fn move_plan(
    tx: &sea_orm::DatabaseTransaction,
    row: &steelcare_store::entity::case_records::Model,
    next: pb::PlanStatus,
) -> Result<(), ApiError> {
    let (from, to) = (&row.status, plan_status_name(next));
    if !store::set_status::<pb::RepairPlan>(tx, &row.id, from, to, None, None).await? {
        return Err(ApiError::Aborted(msg!("error-plan-changed")));
    }
    Ok(())
}

/// How a communication took place (required).
fn communication_channel(v: &mut Violations, channel: i32) -> i32 {
    match pb::CommunicationChannel::try_from(channel) {
        Ok(pb::CommunicationChannel::Unspecified) | Err(_) => {
            v.add("channel", msg!("field-channel-required"));
            0
        }
        Ok(c) => c as i32,
    }
}

/// Writes a review of plan version `version` of a case (one per step of the chain).
async fn insert_review(
    tx: &sea_orm::DatabaseTransaction,
    ctx: &RequestContext,
    case_id: &str,
    version: i32,
    review: &pb::PlanReview,
) -> Result<(), ApiError> {
    let record = NewRecord::new(
        kind::REVIEW,
        &review.review_id,
        case_id,
        review,
        &ctx.caller.subject,
        steelcare_store::now(),
    )
    .version(version)
    .slot(format!(
        "{}/{}",
        slot(kind::REVIEW, case_id, version),
        review.step
    ));
    store::insert(tx, record).await?;
    Ok(())
}

/// A proposed or approved plan a new version replaces is superseded (ABORTED when it
/// changed meanwhile); a rejected one stays as it is.
async fn supersede(
    tx: &sea_orm::DatabaseTransaction,
    prev: &steelcare_store::entity::case_records::Model,
) -> Result<(), ApiError> {
    if !matches!(
        plan_status(&prev.status),
        pb::PlanStatus::Proposed | pb::PlanStatus::Approved
    ) {
        return Ok(());
    }
    let superseded = plan_status_name(pb::PlanStatus::Superseded);
    if !store::set_status::<pb::RepairPlan>(tx, &prev.id, &prev.status, superseded, None, None)
        .await?
    {
        return Err(ApiError::Aborted(msg!("error-plan-changed")));
    }
    Ok(())
}

/// Checks a customer's decision: the plan version, the reasons (required for a refusal), the
/// customer (named when recorded on their behalf; the caller when it is them).
fn parse_decision(
    ctx: &RequestContext,
    request: &pb::RecordCustomerDecisionRequest,
    on_behalf: bool,
) -> Result<(String, steelcare_proto::common::v1::PersonRef), ApiError> {
    let mut v = Violations::default();
    if request.plan_version < 1 {
        v.add("plan_version", msg!("field-version-decided"));
    }
    let reasons = if request.agreed {
        v.optional("reasons", &request.reasons, LONG)
    } else {
        v.required("reasons", &request.reasons, LONG)
    };
    let mut customer = Person::parse(
        &mut v,
        "customer",
        request.customer.as_ref(),
        on_behalf,
        false,
    )
    .to_proto();
    if !on_behalf && customer.user_id.is_empty() {
        customer.user_id = ctx.caller.subject.clone();
    }
    v.finish((reasons, customer))
}

/// What a review does to the plan: a refusal rejects it, the last approval of the chain
/// approves it, any other approval leaves it proposed. Returns the new status, if any.
async fn settle_review(
    tx: &sea_orm::DatabaseTransaction,
    row: &steelcare_store::entity::case_records::Model,
    approved: bool,
    last: bool,
) -> Result<Option<pb::PlanStatus>, ApiError> {
    let next = match (approved, last) {
        (false, _) => Some(pb::PlanStatus::Rejected),
        (true, true) => Some(pb::PlanStatus::Approved),
        (true, false) => None,
    };
    if let Some(next) = next {
        move_plan(tx, row, next).await?;
    }
    Ok(next)
}

/// Checks a review: the version reviewed, and comments (required when changes are asked).
fn review_comments(request: &pb::ReviewPlanRequest) -> Result<String, ApiError> {
    let mut v = Violations::default();
    if request.version < 1 {
        v.add("version", msg!("field-version-reviewed"));
    }
    let comments = if request.approved {
        v.optional("comments", &request.comments, LONG)
    } else {
        v.required("comments", &request.comments, LONG)
    };
    v.finish(comments)
}

/// A plan's materials, each with its quality certificate.
fn plan_materials(v: &mut Violations, given: &[pb::PlanMaterial]) -> Vec<pb::PlanMaterial> {
    given
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let mf = format!("content.materials[{i}]");
            let refs = texts(
                v,
                &format!("{mf}.certificate_refs"),
                &m.certificate_refs,
                20,
            );
            if refs.is_empty() {
                v.add(
                    format!("{mf}.certificate_refs"),
                    msg!("field-material-certificate"),
                );
            }
            pb::PlanMaterial {
                name: v.required(&format!("{mf}.name"), &m.name, SHORT),
                quantity: v.required(&format!("{mf}.quantity"), &m.quantity, SHORT),
                certificate_refs: refs,
            }
        })
        .collect()
}

impl RepairService {
    /// Checks a plan's content; the crew is checked against the case later.
    /// A plan's steps, in order: each id once, a key step with measurable quality criteria
    /// (checked against the tolerance table), at least one key step.
    fn plan_steps(&self, v: &mut Violations, given: &[pb::PlanStep]) -> Vec<pb::PlanStep> {
        if given.is_empty() {
            v.add("content.steps", msg!("field-steps-required"));
        }
        let mut steps: Vec<pb::PlanStep> = Vec::new();
        for (i, s) in given.iter().enumerate() {
            let sf = format!("content.steps[{i}]");
            let step_id = v.required(&format!("{sf}.step_id"), &s.step_id, 64);
            if steps.iter().any(|o| o.step_id == step_id) {
                v.add(format!("{sf}.step_id"), msg!("field-used-twice-in-plan"));
            }
            let quality_criteria: Vec<common::Measurement> = s
                .quality_criteria
                .iter()
                .enumerate()
                .filter_map(|(j, m)| {
                    measurement::criterion(
                        v,
                        &format!("{sf}.quality_criteria[{j}]"),
                        self.repairer.table,
                        m,
                    )
                })
                .collect();
            if s.key_step && s.quality_criteria.is_empty() {
                v.add(
                    format!("{sf}.quality_criteria"),
                    msg!("field-key-step-criteria"),
                );
            }
            steps.push(pb::PlanStep {
                step_id,
                description: v.required(&format!("{sf}.description"), &s.description, LONG),
                key_step: s.key_step,
                quality_criteria,
            });
        }
        if !given.is_empty() && !given.iter().any(|s| s.key_step) {
            v.add("content.steps", msg!("field-key-step-required"));
        }
        steps
    }

    fn parse_plan(&self, v: &mut Violations, c: Option<&pb::PlanContent>) -> pb::PlanContent {
        let Some(c) = c else {
            v.add("content", msg!("field-required"));
            return pb::PlanContent::default();
        };
        let f = |name: &str| format!("content.{name}");
        let materials = plan_materials(v, &c.materials);
        let steps = self.plan_steps(v, &c.steps);
        let safety = texts(v, &f("safety_measures"), &c.safety_measures, 50);
        if safety.is_empty() {
            v.add(f("safety_measures"), msg!("field-required"));
        }
        let schedule = time_range(v, &f("schedule"), c.schedule.as_ref(), None);
        let crew = ids(v, &f("crew_technician_ids"), &c.crew_technician_ids);
        if crew.is_empty() {
            v.add(f("crew_technician_ids"), msg!("field-repair-crew-required"));
        }
        let estimate = money(
            v,
            &f("cost_estimate"),
            c.cost_estimate.as_ref(),
            true,
            self.repairer.config.currency,
        );
        if matches!(
            common::CostBearer::try_from(c.expected_bearer),
            Err(_) | Ok(common::CostBearer::Unspecified)
        ) {
            v.add(f("expected_bearer"), msg!("field-required"));
        }
        pb::PlanContent {
            objective: v.required(&f("objective"), &c.objective, LONG),
            scope: v.required(&f("scope"), &c.scope, LONG),
            structural_scope: c.structural_scope,
            methods: v.required(&f("methods"), &c.methods, LONG),
            materials,
            steps,
            safety_measures: safety,
            schedule: schedule.map(|(s, e)| common::TimeRange {
                start_time: Some(to_timestamp(s)),
                end_time: Some(to_timestamp(e)),
            }),
            crew_technician_ids: crew,
            equipment: texts(v, &f("equipment"), &c.equipment, 50),
            cost_estimate: estimate.map(crate::records::money_proto),
            expected_bearer: c.expected_bearer,
            expected_effect: v.required(&f("expected_effect"), &c.expected_effect, LONG),
            disruption: v.optional(&f("disruption"), &c.disruption, LONG),
        }
    }

    pub(super) async fn propose_plan(
        &self,
        ctx: &RequestContext,
        request: pb::ProposePlanRequest,
    ) -> Result<pb::ProposePlanResponse, ApiError> {
        allow(ctx, PLANNERS)?;
        let mut v = Violations::default();
        let content = self.parse_plan(&mut v, request.content.as_ref());
        let reason = v.optional("revision_reason", &request.revision_reason, LONG);
        v.finish(())?;
        let hash = payload_hash(&request, |r| r.request_id.clear());
        let r = &self.repairer;
        let (tx, key) = match r
            .begin(ctx, "ProposePlan", &request.request_id, hash)
            .await?
        {
            Begun::Replay(id) => {
                let row = self.stored(&id).await?;
                return Ok(pb::ProposePlanResponse {
                    plan: Some(view::plan(&r.db, &row, ctx.locale).await?),
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
            msg!("error-plan-window"),
        )?;
        let previous = revised(&tx, &case, &reason).await?;
        let (start, end) = schedule_of(&content)?;
        let crew = &content.crew_technician_ids;
        r.check_crew(&tx, &case, "content.crew_technician_ids", crew, start, end)
            .await?;
        let plan = self
            .next_plan(&tx, ctx, &case, content, reason, previous)
            .await?;
        let record_id = uuid::Uuid::now_v7().to_string();
        self.store_plan(&tx, ctx, &case, &plan, &record_id).await?;
        let (plan_id, version) = (plan.plan_id.clone(), plan.version);
        let proposed = Payload::PlanProposed(events::PlanProposed { plan_id, version });
        r.event(&tx, actor_of(&ctx.caller), &case.id, proposed)
            .await?;
        r.finish(tx, key, &record_id).await?;
        let mut plan = plan;
        view::shown_in(&mut plan, ctx.locale);
        Ok(pb::ProposePlanResponse { plan: Some(plan) })
    }

    /// The plan version `content` makes of a case: the version after `previous` (which is
    /// superseded) or the first, with its chain of approvals and the reasons for it.
    async fn next_plan(
        &self,
        tx: &sea_orm::DatabaseTransaction,
        ctx: &RequestContext,
        case: &store::Case,
        content: pb::PlanContent,
        reason: String,
        previous: Option<steelcare_store::entity::case_records::Model>,
    ) -> Result<pb::RepairPlan, ApiError> {
        let facts = PlanFacts {
            tier: case.tier,
            structural_scope: content.structural_scope,
            estimate_cents: content.cost_estimate.as_ref().map_or(0, |m| m.amount_minor),
        };
        let (chain, why) = approval::chain(facts, self.repairer.config.chief_engineer_above_cents);
        let version = previous.as_ref().map_or(1, |p| p.version + 1);
        let plan_id = match &previous {
            Some(prev) => {
                supersede(tx, prev).await?;
                decode::<pb::RepairPlan>(prev)?.plan_id
            }
            None => uuid::Uuid::now_v7().to_string(),
        };
        Ok(pb::RepairPlan {
            plan_id,
            ticket_id: case.id.clone(),
            version,
            revision_reason: reason,
            content: Some(content),
            status: pb::PlanStatus::Proposed as i32,
            approval_chain: chain.iter().map(|a| approval_step(*a) as i32).collect(),
            chain_reasons: why
                .iter()
                .map(|w| Said::from(w.clone()).to_column())
                .collect(),
            reviews: Vec::new(),
            author: Some(actor_of(&ctx.caller)),
            create_time: Some(to_timestamp(steelcare_store::now())),
        })
    }

    /// Writes a proposed plan version as record `record_id`, audited, and moves the case to
    /// PLAN_PROPOSED if it is not there.
    async fn store_plan(
        &self,
        tx: &sea_orm::DatabaseTransaction,
        ctx: &RequestContext,
        case: &store::Case,
        plan: &pb::RepairPlan,
        record_id: &str,
    ) -> Result<(), ApiError> {
        let r = &self.repairer;
        let version = plan.version;
        let record = NewRecord::new(
            kind::PLAN,
            record_id,
            &case.id,
            plan,
            &ctx.caller.subject,
            steelcare_store::now(),
        )
        .version(version)
        .status(plan_status_name(pb::PlanStatus::Proposed))
        .slot(slot(kind::PLAN, &case.id, version));
        store::insert(tx, record).await?;
        let estimate = plan
            .content
            .as_ref()
            .and_then(|c| c.cost_estimate.as_ref())
            .map_or(0, |m| m.amount_minor);
        let audited = serde_json::json!({
            "ticket_id": case.id,
            "plan_id": plan.plan_id,
            "version": version,
            "revision_reason": plan.revision_reason,
            "estimate_cents": estimate,
            "approval_chain": plan.approval_chain,
            "chain_reasons": plan.chain_reasons,
        });
        audit(tx, ctx, "repair_plan", record_id, None, audited).await?;
        if case.state != CaseState::PlanProposed {
            r.move_case(
                tx,
                actor_of(&ctx.caller),
                case,
                CaseState::PlanProposed,
                &format!("plan version {version} proposed"),
            )
            .await?;
        }
        Ok(())
    }

    /// A plan version as the caller may see it: customers only approved versions onwards.
    async fn plan_for(
        &self,
        ctx: &RequestContext,
        row: &steelcare_store::entity::case_records::Model,
    ) -> Result<Option<pb::RepairPlan>, ApiError> {
        let plan = view::plan(&self.repairer.db, row, ctx.locale).await?;
        let shown = !ctx.caller.is_customer_only()
            || matches!(
                plan_status(&row.status),
                pb::PlanStatus::Approved
                    | pb::PlanStatus::Agreed
                    | pb::PlanStatus::ChangesRequested
            );
        Ok(shown.then_some(plan))
    }

    pub(super) async fn get_plan(
        &self,
        ctx: &RequestContext,
        request: pb::GetPlanRequest,
    ) -> Result<pb::GetPlanResponse, ApiError> {
        allow(ctx, READERS)?;
        if request.version < 0 {
            return Err(ApiError::invalid(
                "version",
                msg!("field-version-or-latest"),
            ));
        }
        let r = &self.repairer;
        let case = r.case_for(&r.db, &ctx.caller, &request.ticket_id).await?;
        let missing = || not_found("repair_plan", &case.id);
        let row = store::versioned(&r.db, &case.id, kind::PLAN, request.version)
            .await?
            .ok_or_else(missing)?;
        Ok(pb::GetPlanResponse {
            plan: Some(self.plan_for(ctx, &row).await?.ok_or_else(missing)?),
        })
    }

    pub(super) async fn list_plans(
        &self,
        ctx: &RequestContext,
        request: pb::ListPlansRequest,
    ) -> Result<pb::ListPlansResponse, ApiError> {
        allow(ctx, READERS)?;
        let r = &self.repairer;
        let case = r.case_for(&r.db, &ctx.caller, &request.ticket_id).await?;
        let mut plans = Vec::new();
        for row in store::records(&r.db, &case.id, kind::PLAN).await? {
            if let Some(plan) = self.plan_for(ctx, &row).await? {
                plans.push(plan);
            }
        }
        Ok(pb::ListPlansResponse { plans })
    }

    pub(super) async fn list_plans_to_review(
        &self,
        ctx: &RequestContext,
        request: pb::ListPlansToReviewRequest,
    ) -> Result<pb::ListPlansToReviewResponse, ApiError> {
        allow(ctx, &[Role::Engineer, Role::ChiefEngineer])?;
        let size = page_size(request.page_size)?;
        let fingerprint = page::fingerprint(&ctx.caller.subject);
        let after: Option<String> = page::decode(&request.page_token, &fingerprint)?;
        let db = &self.repairer.db;
        // The plans waiting for any review are few (a department's backlog): each is judged
        // with the same rule ReviewPlan applies, and the page is cut from those the caller may
        // review.
        let mut waiting = Vec::new();
        for row in store::proposed_plans(db).await? {
            if after
                .as_ref()
                .is_some_and(|a| row.id.as_str() <= a.as_str())
            {
                continue;
            }
            let plan = view::plan(db, &row, ctx.locale).await?;
            if let Ok((_, step)) = next_approval(ctx, &plan, &row) {
                waiting.push((
                    row.id.clone(),
                    pb::PlanToReview {
                        plan: Some(plan),
                        step,
                    },
                ));
                if waiting.len() as u64 > size {
                    break;
                }
            }
        }
        let next_page_token =
            page::next_token(&mut waiting, size, &fingerprint, |(id, _)| id.clone());
        Ok(pb::ListPlansToReviewResponse {
            plans: waiting.into_iter().map(|(_, p)| p).collect(),
            next_page_token,
        })
    }

    /// A review's answer: the plan version reviewed, as it is now.
    async fn plan_version(
        &self,
        ticket_id: &str,
        version: i32,
        locale: Locale,
    ) -> Result<pb::ReviewPlanResponse, ApiError> {
        let db = &self.repairer.db;
        let row = store::versioned(db, ticket_id, kind::PLAN, version)
            .await?
            .ok_or_else(|| not_found("repair_plan", ticket_id))?;
        Ok(pb::ReviewPlanResponse {
            plan: Some(view::plan(db, &row, locale).await?),
        })
    }

    pub(super) async fn review_plan(
        &self,
        ctx: &RequestContext,
        request: pb::ReviewPlanRequest,
    ) -> Result<pb::ReviewPlanResponse, ApiError> {
        allow(ctx, &[Role::Engineer, Role::ChiefEngineer])?;
        let comments = review_comments(&request)?;
        let hash = payload_hash(&request, |r| r.request_id.clear());
        let r = &self.repairer;
        let (tx, key) = match r
            .begin(ctx, "ReviewPlan", &request.request_id, hash)
            .await?
        {
            Begun::Replay(id) => {
                let review = self.stored(&id).await?;
                return self
                    .plan_version(&review.ticket_id, review.version, ctx.locale)
                    .await;
            }
            Begun::Fresh(tx, key) => (tx, key),
        };
        let case = r.case_for(&tx, &ctx.caller, &request.ticket_id).await?;
        expect_state(
            &case,
            &[CaseState::PlanProposed],
            msg!("error-review-needs-proposed"),
        )?;
        let waiting = msg!("error-plan-not-waiting-review");
        let (row, _) = latest_plan_in(
            &tx,
            &case,
            request.version,
            pb::PlanStatus::Proposed,
            waiting,
        )
        .await?;
        let plan = view::plan(&tx, &row, Locale::english()).await?;
        let (given, step) = next_approval(ctx, &plan, &row)?;
        let review = pb::PlanReview {
            review_id: uuid::Uuid::now_v7().to_string(),
            step,
            approved: request.approved,
            comments: comments.clone(),
            reviewer: Some(actor_of(&ctx.caller)),
            create_time: Some(to_timestamp(steelcare_store::now())),
        };
        insert_review(&tx, ctx, &case.id, plan.version, &review).await?;
        let review_id = review.review_id;
        let last = given + 1 == plan.approval_chain.len();
        let next = settle_review(&tx, &row, request.approved, last).await?;
        let before = serde_json::json!({ "status": row.status });
        let audited = serde_json::json!({
            "review_id": review_id,
            "step": step,
            "approved": request.approved,
            "comments": comments,
            "status": next.map_or(row.status.clone(), |n| plan_status_name(n).to_owned()),
        });
        audit(&tx, ctx, "repair_plan", &row.id, Some(before), audited).await?;
        if next == Some(pb::PlanStatus::Approved) {
            r.move_case(
                &tx,
                actor_of(&ctx.caller),
                &case,
                CaseState::PlanApproved,
                &format!("plan version {} approved", plan.version),
            )
            .await?;
        }
        let announced = Payload::PlanReviewed(events::PlanReviewed {
            plan_id: plan.plan_id.clone(),
            version: plan.version,
            approved: request.approved,
        });
        r.event(&tx, actor_of(&ctx.caller), &case.id, announced)
            .await?;
        r.finish(tx, key, &review_id).await?;
        self.plan_version(&case.id, plan.version, ctx.locale).await
    }

    pub(super) async fn record_communication(
        &self,
        ctx: &RequestContext,
        request: pb::RecordCommunicationRequest,
    ) -> Result<pb::RecordCommunicationResponse, ApiError> {
        allow(ctx, COMMUNICATORS)?;
        let now = steelcare_store::now();
        let mut v = Violations::default();
        let channel = communication_channel(&mut v, request.channel);
        let occurred = past_time(&mut v, "occur_time", request.occur_time.as_ref(), now);
        let participants = participants(
            &mut v,
            "participants",
            &request.participants,
            msg!("field-participants-required"),
        );
        let summary = v.required("summary", &request.summary, LONG);
        let attachment_ids: Vec<(String, String)> =
            ids(&mut v, "attachment_ids", &request.attachment_ids)
                .into_iter()
                .enumerate()
                .map(|(i, id)| (format!("attachment_ids[{i}]"), id))
                .collect();
        v.finish(())?;
        let hash = payload_hash(&request, |r| r.request_id.clear());
        let r = &self.repairer;
        let (tx, key) = match r
            .begin(ctx, "RecordCommunication", &request.request_id, hash)
            .await?
        {
            Begun::Replay(id) => {
                let row = self.stored(&id).await?;
                return Ok(pb::RecordCommunicationResponse {
                    communication: Some(decode(&row)?),
                });
            }
            Begun::Fresh(tx, key) => (tx, key),
        };
        let case = r.case_for(&tx, &ctx.caller, &request.ticket_id).await?;
        if matches!(
            case.state,
            CaseState::Archived | CaseState::Closed | CaseState::Cancelled
        ) {
            return Err(case_precondition(&case, msg!("error-records-closed")));
        }
        let found = check_attachments(&tx, &case.id, &attachment_ids).await?;
        let id = uuid::Uuid::now_v7().to_string();
        let communication = pb::Communication {
            communication_id: id.clone(),
            ticket_id: case.id.clone(),
            channel,
            occur_time: occurred.map(to_timestamp),
            participants,
            summary: summary.clone(),
            attachments: attachment_ids
                .iter()
                .filter_map(|(_, a)| found.iter().find(|f| &f.id == a).map(attachment_ref))
                .collect(),
            recorded_by: Some(actor_of(&ctx.caller)),
        };
        let record = NewRecord::new(
            kind::COMMUNICATION,
            &id,
            &case.id,
            &communication,
            &ctx.caller.subject,
            steelcare_store::now(),
        );
        store::insert(&tx, record).await?;
        let audited =
            serde_json::json!({ "ticket_id": case.id, "channel": channel, "summary": summary });
        audit(&tx, ctx, "communication", &id, None, audited).await?;
        r.finish(tx, key, &id).await?;
        Ok(pb::RecordCommunicationResponse {
            communication: Some(communication),
        })
    }

    pub(super) async fn list_communications(
        &self,
        ctx: &RequestContext,
        request: pb::ListCommunicationsRequest,
    ) -> Result<pb::ListCommunicationsResponse, ApiError> {
        Ok(pb::ListCommunicationsResponse {
            communications: self
                .list_of(ctx, &request.ticket_id, kind::COMMUNICATION)
                .await?,
        })
    }

    pub(super) async fn record_customer_decision(
        &self,
        ctx: &RequestContext,
        request: pb::RecordCustomerDecisionRequest,
    ) -> Result<pb::RecordCustomerDecisionResponse, ApiError> {
        allow(ctx, DECIDERS)?;
        let on_behalf = !ctx.caller.is_customer_only();
        let (reasons, customer) = parse_decision(ctx, &request, on_behalf)?;
        let hash = payload_hash(&request, |r| r.request_id.clear());
        let r = &self.repairer;
        let (tx, key) = match r
            .begin(ctx, "RecordCustomerDecision", &request.request_id, hash)
            .await?
        {
            Begun::Replay(id) => {
                let row = self.stored(&id).await?;
                return Ok(pb::RecordCustomerDecisionResponse {
                    decision: Some(decode(&row)?),
                });
            }
            Begun::Fresh(tx, key) => (tx, key),
        };
        let case = r.case_for(&tx, &ctx.caller, &request.ticket_id).await?;
        expect_state(
            &case,
            &[CaseState::PlanApproved],
            msg!("error-decision-needs-approved"),
        )?;
        let waiting = msg!("error-plan-not-waiting-customer");
        let (row, plan) = latest_plan_in(
            &tx,
            &case,
            request.plan_version,
            pb::PlanStatus::Approved,
            waiting,
        )
        .await?;
        let next = if request.agreed {
            pb::PlanStatus::Agreed
        } else {
            pb::PlanStatus::ChangesRequested
        };
        move_plan(&tx, &row, next).await?;
        let now = steelcare_store::now();
        let id = uuid::Uuid::now_v7().to_string();
        let decision = pb::CustomerDecision {
            decision_id: id.clone(),
            ticket_id: case.id.clone(),
            plan_version: row.version,
            agreed: request.agreed,
            reasons: reasons.clone(),
            customer: Some(customer),
            recorded_by: Some(actor_of(&ctx.caller)),
            create_time: Some(to_timestamp(now)),
        };
        let subject = &ctx.caller.subject;
        let record = NewRecord::new(kind::DECISION, &id, &case.id, &decision, subject, now);
        store::insert(&tx, record.version(row.version)).await?;
        let before = serde_json::json!({ "status": row.status });
        let audited = serde_json::json!({
            "decision_id": id,
            "agreed": request.agreed,
            "reasons": reasons,
            "on_behalf": on_behalf,
            "status": plan_status_name(next),
        });
        audit(&tx, ctx, "repair_plan", &row.id, Some(before), audited).await?;
        let announced = Payload::CustomerDecisionRecorded(events::CustomerDecisionRecorded {
            plan_id: plan.plan_id,
            agreed: request.agreed,
        });
        r.event(&tx, actor_of(&ctx.caller), &case.id, announced)
            .await?;
        r.finish(tx, key, &id).await?;
        Ok(pb::RecordCustomerDecisionResponse {
            decision: Some(decision),
        })
    }

    pub(super) async fn list_customer_decisions(
        &self,
        ctx: &RequestContext,
        request: pb::ListCustomerDecisionsRequest,
    ) -> Result<pb::ListCustomerDecisionsResponse, ApiError> {
        Ok(pb::ListCustomerDecisionsResponse {
            decisions: self
                .list_of(ctx, &request.ticket_id, kind::DECISION)
                .await?,
        })
    }
}

/// A checked plan's schedule.
pub(super) fn schedule_of(
    content: &pb::PlanContent,
) -> Result<(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>), ApiError> {
    let schedule = content
        .schedule
        .as_ref()
        .ok_or_else(|| ApiError::invalid("content.schedule", msg!("field-required")))?;
    let at = |t: Option<&prost_types::Timestamp>, f: &str| {
        t.ok_or_else(|| ApiError::invalid(f, msg!("field-required")))
            .and_then(|t| steelcare_runtime::convert::from_timestamp(t, f))
    };
    Ok((
        at(schedule.start_time.as_ref(), "content.schedule.start_time")?,
        at(schedule.end_time.as_ref(), "content.schedule.end_time")?,
    ))
}
