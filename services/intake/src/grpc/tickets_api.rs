//! Tickets: taking a call, classification, acknowledgement and read-back, SLA pauses,
//! remote resolution, cancellation, reading, listing and watching.

use super::*;
use steelcare_i18n::msg;

/// A new ticket's row as the caller described it and the rules classified it, with its
/// warranty and reply (JSON); the batch gives it its acceptance number.
fn new_ticket_row(
    id: &str,
    new: &NewTicket,
    project: &steelcare_store::entity::projects::Model,
    suggestion: &classify::Suggestion,
    warranty: String,
    reply: String,
    now: chrono::DateTime<chrono::Utc>,
) -> tickets::Model {
    tickets::Model {
        id: id.to_owned(),
        acceptance_number: String::new(),
        channel: new.channel.as_str_name().to_owned(),
        customer_id: project.customer_id.clone(),
        project_id: project.id.clone(),
        reporter: to_json(&new.reporter),
        location: to_json(&new.location),
        description: to_json(&new.description),
        customer_request: new.customer_request.clone(),
        category: suggestion.category.as_str().to_owned(),
        tier: suggestion.tier.as_str().to_owned(),
        suggestion: to_json(&SuggestionRecord {
            category: suggestion.category.as_str().to_owned(),
            tier: suggestion.tier.as_str().to_owned(),
            matched_terms: suggestion.matched_terms.clone(),
        }),
        warranty,
        reply,
        readback_text: None,
        readback_confirmed_at: None,
        first_response_text: None,
        closing_text: None,
        sla_status: clocks::status::ON_TRACK.to_owned(),
        related_case_id: new.related_case_id.clone(),
        created_at: now,
        updated_at: now,
        version: 1,
    }
}

/// What taking a ticket in announces: `TicketCreated` and its first `TicketClassified`.
fn created_events(
    actor: steelcare_proto::common::v1::Actor,
    id: &str,
    project: &steelcare_store::entity::projects::Model,
    new: &NewTicket,
    suggestion: &classify::Suggestion,
    arrival_deadline: Option<chrono::DateTime<chrono::Utc>>,
) -> Vec<steelcare_proto::events::v1::EventEnvelope> {
    vec![
        envelope(
            actor.clone(),
            Some(id),
            Payload::TicketCreated(events::TicketCreated {
                acceptance_number: String::new(),
                project_id: project.id.clone(),
                customer_id: project.customer_id.clone(),
                related_case_id: new.related_case_id.clone().unwrap_or_default(),
            }),
        ),
        envelope(
            actor,
            Some(id),
            Payload::TicketClassified(events::TicketClassified {
                category: suggestion.category.proto_value(),
                tier: suggestion.tier.proto_value(),
                overridden: false,
                needs_site_visit: suggestion.category.needs_site_visit(),
                arrival_deadline_time: arrival_deadline.map(to_timestamp),
            }),
        ),
    ]
}

impl IntakeService {
    pub(super) async fn create_ticket(
        &self,
        ctx: &RequestContext,
        request: pb::CreateTicketRequest,
    ) -> Result<pb::CreateTicketResponse, ApiError> {
        let request_id = request.request_id.trim().to_owned();
        let hash = payload_hash(&request, |r| r.request_id.clear());
        match self.create_ticket_once(ctx, request, &hash).await {
            // A concurrent retry with the same request id committed first: answer with its
            // ticket, as a sequential retry would get.
            Err(ApiError::AlreadyExists(message)) if !request_id.is_empty() => {
                let scope = idempotency_scope("CreateTicket", &ctx.caller);
                match idempotency::lookup(&self.db, &scope, &request_id, &hash).await? {
                    Some(existing) => Ok(pb::CreateTicketResponse {
                        ticket: Some(self.ticket_response(&existing, ctx.locale).await?),
                    }),
                    None => Err(ApiError::AlreadyExists(message)),
                }
            }
            other => other,
        }
    }

    /// The project a new ticket is taken on: it exists, the caller may see it, and a related
    /// case named is the same customer's.
    async fn project_for(
        &self,
        ctx: &RequestContext,
        new: &NewTicket,
        found: Option<crate::batch::ProjectWithTerms>,
    ) -> Result<crate::batch::ProjectWithTerms, ApiError> {
        let (project, terms) = found.ok_or_else(|| not_found("project", &new.project_id))?;
        if !visible(&ctx.caller, &project.customer_id) {
            return Err(ApiError::invalid(
                "project_id",
                msg!("field-other-customer"),
            ));
        }
        if let Some(related) = &new.related_case_id {
            match store::ticket(&self.db, related).await? {
                None => {
                    return Err(ApiError::invalid(
                        "related_case_id",
                        msg!("error-no-such-case"),
                    ));
                }
                Some(earlier) if earlier.customer_id != project.customer_id => {
                    return Err(ApiError::invalid(
                        "related_case_id",
                        msg!("field-other-customers-case"),
                    ));
                }
                Some(_) => {}
            }
        }
        Ok((project, terms))
    }

    /// A create refused after its project was read: a retry of one that succeeded before
    /// (its project since changed) is answered with that ticket, as any retry is; any other
    /// gets `refused`.
    async fn earlier_or(
        &self,
        ctx: &RequestContext,
        new: &NewTicket,
        hash: &str,
        refused: ApiError,
    ) -> Result<pb::CreateTicketResponse, ApiError> {
        let Some(request_id) = &new.request_id else {
            return Err(refused);
        };
        let scope = idempotency_scope("CreateTicket", &ctx.caller);
        match idempotency::lookup(&self.db, &scope, request_id, hash).await? {
            Some(existing) => Ok(pb::CreateTicketResponse {
                ticket: Some(self.ticket_response(&existing, ctx.locale).await?),
            }),
            None => Err(refused),
        }
    }

    pub(super) async fn create_ticket_once(
        &self,
        ctx: &RequestContext,
        request: pb::CreateTicketRequest,
        hash: &str,
    ) -> Result<pb::CreateTicketResponse, ApiError> {
        if request.related_case_id.trim().is_empty() {
            require(&ctx.caller, TICKET_CREATORS)?;
        } else {
            // The engineer on a return visit opens the recurrence's ticket as the desk would.
            require(&ctx.caller, RECURRENCE_OPENERS)?;
        }
        let now = steelcare_store::now();
        let new = NewTicket::parse(&request, now)?;
        // The request id is not looked up first: a retry's key collides with the stored one
        // when written (AlreadyExists, answered by `create_ticket`), and a retry refused here
        // looks it up below. A first create, the common case, saves the round trip.
        let found = self.projects.read(&new.project_id).await?;
        let (project, terms) = match self.project_for(ctx, &new, found).await {
            Ok(found) => found,
            Err(refused) => return self.earlier_or(ctx, &new, hash, refused).await,
        };
        let draft = self.ticket_draft(ctx, &new, &project, &terms, now, hash);
        self.ensure_sequence(&AcceptanceNumber::day_key(draft.day))
            .await?;
        let planned = draft.clocks.clone();
        let row = self.batcher.submit(draft).await?;
        self.committed();
        Ok(pb::CreateTicketResponse {
            ticket: Some(view::ticket_from(
                &row,
                CaseState::Received,
                &planned,
                false,
                &[],
                ctx.locale,
            )?),
        })
    }

    /// The ticket as it will be written: classified, its warranty judged, its clocks planned and
    /// the reply the customer hears, with its events and idempotency key.
    fn ticket_draft(
        &self,
        ctx: &RequestContext,
        new: &NewTicket,
        project: &steelcare_store::entity::projects::Model,
        terms: &[steelcare_store::entity::warranty_terms::Model],
        now: chrono::DateTime<chrono::Utc>,
        hash: &str,
    ) -> batch::Draft {
        let suggestion = classify::suggest(&new.description.text_for_rules());
        let terms = terms_of(terms);
        let day = self.today(now);
        let warranty_status = warranty::status(&terms, suggestion.category, day);
        let id = uuid::Uuid::now_v7().to_string();
        let planned = clocks::plan(
            &self.sla,
            &CaseClocks {
                ticket_id: &id,
                tier: suggestion.tier,
                customer_id: &project.customer_id,
                contract_number: &project.contract_number,
                started: now,
            },
        );
        let arrival_deadline = deadline_of(&planned, ClockKind::Arrival);
        let reply = customer_reply(
            suggestion.category,
            suggestion.tier,
            deadline_of(&planned, ClockKind::Response),
            arrival_deadline,
            self.timezone,
        );

        let actor = actor_of(&ctx.caller);
        batch::Draft {
            ticket: new_ticket_row(
                &id,
                new,
                project,
                &suggestion,
                to_json(&warranty_record(warranty_status)),
                to_json(&reply),
                now,
            ),
            clocks: planned,
            day,
            ctx: ctx.clone(),
            audit_after: serde_json::json!({
                "project_id": project.id,
                "category": suggestion.category.as_str(),
                "tier": suggestion.tier.as_str(),
            }),
            events: created_events(actor, &id, project, new, &suggestion, arrival_deadline),
            idempotency: new.request_id.as_ref().map(|rid| IdempotencyKey {
                scope: idempotency_scope("CreateTicket", &ctx.caller),
                request_id: rid.clone(),
                hash: hash.to_owned(),
                resource_id: id.clone(),
            }),
        }
    }

    pub(super) async fn classify_ticket(
        &self,
        ctx: &RequestContext,
        request: pb::ClassifyTicketRequest,
    ) -> Result<pb::ClassifyTicketResponse, ApiError> {
        require(&ctx.caller, STAFF_ENGINEERING)?;
        let classification = Classification::try_from(&request)?;
        let ticket = self.visible_ticket(&ctx.caller, &request.ticket_id).await?;
        let project = store::project(&self.db, &ticket.project_id)
            .await?
            .ok_or_else(|| not_found("project", &ticket.project_id))?;
        let now = steelcare_store::now();
        let tx = begin_write(&self.db)
            .await
            .map_err(steelcare_store::StoreError::from)?;
        let case = cases::get(&tx, &ticket.id).await?;
        if !matches!(case.state, CaseState::Received | CaseState::Acknowledged) {
            return Err(precondition(
                &ticket.id,
                case.state,
                msg!("error-past-classification"),
            ));
        }
        let arrival_deadline = self
            .apply_classification(
                &tx,
                &ticket,
                &project,
                classification.category,
                classification.tier,
                now,
            )
            .await?;
        let before = serde_json::json!({ "category": ticket.category, "tier": ticket.tier });
        let audited = serde_json::json!({
            "category": classification.category.as_str(),
            "tier": classification.tier.as_str(),
            "reason": classification.reason,
        });
        audit(&tx, ctx, "ticket", &ticket.id, Some(before), audited).await?;
        self.event(
            &tx,
            ctx,
            Some(&ticket.id),
            Payload::TicketClassified(events::TicketClassified {
                category: classification.category.proto_value(),
                tier: classification.tier.proto_value(),
                overridden: true,
                needs_site_visit: classification.category.needs_site_visit(),
                arrival_deadline_time: arrival_deadline.map(to_timestamp),
            }),
        )
        .await?;
        tx.commit()
            .await
            .map_err(steelcare_store::StoreError::from)?;
        self.committed();
        Ok(pb::ClassifyTicketResponse {
            ticket: Some(self.ticket_response(&ticket.id, ctx.locale).await?),
        })
    }

    /// Gives a ticket a category and tier in `tx`: its warranty status, its running SLA
    /// clocks re-planned for the tier (stopped ones stay as they are), the customer's reply.
    /// Returns the running arrival deadline. Shared by ClassifyTicket and the survey's
    /// diagnosis.
    pub(crate) async fn apply_classification(
        &self,
        tx: &DatabaseTransaction,
        ticket: &tickets::Model,
        project: &projects::Model,
        category: ProblemCategory,
        tier: SeverityTier,
        now: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, ApiError> {
        let terms = terms_of(&store::warranty_terms(tx, &project.id).await?);
        let warranty_status = warranty::status(&terms, category, self.today(ticket.created_at));
        store::set_classification(
            tx,
            &ticket.id,
            category.as_str(),
            tier.as_str(),
            &to_json(&warranty_record(warranty_status)),
        )
        .await?;
        let case_clocks = CaseClocks {
            ticket_id: &ticket.id,
            tier,
            customer_id: &ticket.customer_id,
            contract_number: &project.contract_number,
            started: ticket.created_at,
        };
        clocks::reschedule(tx, &self.sla, &case_clocks, now).await?;
        let clock_rows = store::clocks(tx, &ticket.id).await?;
        let arrival_deadline = clock_rows
            .iter()
            .find(|c| c.kind == "arrival" && c.stopped_at_ms.is_none())
            .and_then(|c| c.deadline_at_ms)
            .map(clocks::instant);
        let reply = customer_reply(
            category,
            tier,
            deadline_of(&clock_rows, ClockKind::Response),
            arrival_deadline,
            self.timezone,
        );
        store::set_reply(tx, &ticket.id, &to_json(&reply)).await?;
        clocks::refresh_ticket(tx, &ticket.id).await?;
        Ok(arrival_deadline)
    }

    /// Pauses the running clocks (with the reason) or resumes paused ones (`None`), and
    /// returns the event that says so; FAILED_PRECONDITION when already paused, nothing
    /// runs, or nothing is paused.
    async fn pause_clocks(
        &self,
        tx: &DatabaseTransaction,
        ticket_id: &str,
        pause_reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Payload, ApiError> {
        match pause_reason {
            Some(reason) => {
                clocks::pause(tx, &self.sla, ticket_id, now, reason).await?;
                Ok(Payload::SlaPaused(events::SlaPaused {
                    reason: reason.to_owned(),
                }))
            }
            None => {
                let open = store::pauses(tx, ticket_id)
                    .await?
                    .into_iter()
                    .find(|p| p.ended_at_ms.is_none());
                clocks::resume(tx, &self.sla, ticket_id, now).await?;
                Ok(Payload::SlaResumed(events::SlaResumed {
                    paused_seconds: open
                        .map(|p| (now.timestamp_millis() - p.started_at_ms) / 1000)
                        .unwrap_or(0),
                }))
            }
        }
    }

    /// What the repair service reports about a case reaches its SLA clocks, once per event: a
    /// dispute opened pauses the running clocks, its resolution resumes them (the paused time
    /// moves every deadline later), and a case closed without repair cancels them. A pause that
    /// finds the clocks already paused (or none running), or a resume that finds them running,
    /// changes nothing.
    pub async fn follow_case(
        &self,
        consumer_group: &str,
        event: &steelcare_proto::events::v1::EventEnvelope,
    ) -> Result<(), ApiError> {
        enum Change {
            Pause(String),
            Resume,
            Cancel,
        }
        let change = match &event.payload {
            Some(Payload::DisputeOpened(d)) => {
                Change::Pause(format!("dispute {}: {}", d.dispute_id, d.subject))
            }
            Some(Payload::DisputeResolved(_)) => Change::Resume,
            Some(Payload::CaseStateChanged(c))
                if c.to_state == CaseState::NoRepair.proto_value() =>
            {
                Change::Cancel
            }
            _ => return Ok(()),
        };
        if store::ticket(&self.db, &event.case_id).await?.is_none() {
            return Ok(());
        }
        let now = steelcare_store::now();
        let tx = begin_write(&self.db)
            .await
            .map_err(steelcare_store::StoreError::from)?;
        if !steelcare_store::processed::mark_processed(&tx, consumer_group, &event.event_id).await?
        {
            return Ok(());
        }
        let ticket_id = event.case_id.as_str();
        let pause = match &change {
            Change::Pause(reason) => Some(Some(reason.as_str())),
            Change::Resume => Some(None),
            Change::Cancel => None,
        };
        let payload = match pause {
            Some(reason) => match self.pause_clocks(&tx, ticket_id, reason, now).await {
                Ok(payload) => Some(payload),
                Err(ApiError::FailedPrecondition { .. }) => None,
                Err(err) => return Err(err),
            },
            None => {
                clocks::cancel_all(&tx, ticket_id, now).await?;
                None
            }
        };
        clocks::refresh_ticket(&tx, ticket_id).await?;
        if let Some(payload) = payload {
            emit(
                &tx,
                steelcare_bus::EVENTS_STREAM,
                envelope(crate::worker::system(), Some(ticket_id), payload),
            )
            .await?;
        }
        tx.commit()
            .await
            .map_err(steelcare_store::StoreError::from)?;
        self.committed();
        Ok(())
    }

    /// The survey's diagnosis (`SurveyReportSubmitted`) reaches the ticket: a category or
    /// tier that differs from the ticket's is taken over, the SLA clocks still running are
    /// re-planned for the tier, and `TicketClassified` tells dispatch. Applied once per event
    /// (processed-event key in the same transaction); a concurrent change of the ticket makes
    /// the consumer apply it again.
    pub async fn apply_diagnosis(
        &self,
        consumer_group: &str,
        event: &steelcare_proto::events::v1::EventEnvelope,
        category: ProblemCategory,
        tier: SeverityTier,
    ) -> Result<(), ApiError> {
        let Some(ticket) = store::ticket(&self.db, &event.case_id).await? else {
            return Ok(());
        };
        if ticket.category == category.as_str() && ticket.tier == tier.as_str() {
            return Ok(());
        }
        let project = store::project(&self.db, &ticket.project_id)
            .await?
            .ok_or_else(|| not_found("project", &ticket.project_id))?;
        let now = steelcare_store::now();
        let tx = begin_write(&self.db)
            .await
            .map_err(steelcare_store::StoreError::from)?;
        if !steelcare_store::processed::mark_processed(&tx, consumer_group, &event.event_id).await?
        {
            return Ok(());
        }
        let arrival_deadline = self
            .apply_classification(&tx, &ticket, &project, category, tier, now)
            .await?;
        let system = crate::worker::system();
        steelcare_store::audit::record(
            &tx,
            steelcare_store::audit::NewAuditRecord {
                subject: &system.subject,
                roles: &[],
                organization_id: None,
                rpc: "event/SurveyReportSubmitted",
                entity_type: "ticket",
                entity_id: &ticket.id,
                before: Some(
                    serde_json::json!({ "category": ticket.category, "tier": ticket.tier }),
                ),
                after: serde_json::json!({
                    "category": category.as_str(),
                    "tier": tier.as_str(),
                    "reason": "survey_diagnosis",
                }),
                trace_id: "",
                display_name: None,
            },
        )
        .await?;
        emit(
            &tx,
            steelcare_bus::EVENTS_STREAM,
            envelope(
                system,
                Some(&ticket.id),
                Payload::TicketClassified(events::TicketClassified {
                    category: category.proto_value(),
                    tier: tier.proto_value(),
                    overridden: true,
                    needs_site_visit: category.needs_site_visit(),
                    arrival_deadline_time: arrival_deadline.map(to_timestamp),
                }),
            ),
        )
        .await?;
        tx.commit()
            .await
            .map_err(steelcare_store::StoreError::from)?;
        self.committed();
        Ok(())
    }

    /// Moves the case, recording the transition's audit entry and event.
    pub(super) async fn transition(
        &self,
        tx: &DatabaseTransaction,
        ctx: &RequestContext,
        ticket_id: &str,
        to: CaseState,
        reason: &str,
    ) -> Result<(), ApiError> {
        let before = cases::get(tx, ticket_id).await?;
        if !before.state.can_transition(to) {
            return Err(precondition(
                ticket_id,
                before.state,
                msg!("error-cannot-move-to", to = to.label()),
            ));
        }
        cases::transition(tx, ticket_id, to).await?;
        audit(
            tx,
            ctx,
            "case",
            ticket_id,
            Some(serde_json::json!({ "state": before.state.as_str() })),
            serde_json::json!({ "state": to.as_str(), "reason": reason }),
        )
        .await?;
        self.event(
            tx,
            ctx,
            Some(ticket_id),
            Payload::CaseStateChanged(events::CaseStateChanged {
                from_state: before.state.proto_value(),
                to_state: to.proto_value(),
                reason: reason.to_owned(),
            }),
        )
        .await
    }

    pub(super) async fn acknowledge(
        &self,
        tx: &DatabaseTransaction,
        ctx: &RequestContext,
        ticket_id: &str,
        text: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, ApiError> {
        self.transition(
            tx,
            ctx,
            ticket_id,
            CaseState::Acknowledged,
            "first response given",
        )
        .await?;
        let met = clocks::stop(tx, ticket_id, ClockKind::Response, now)
            .await?
            .unwrap_or(true);
        store::set_text(tx, ticket_id, store::TicketText::FirstResponse, text).await?;
        self.event(
            tx,
            ctx,
            Some(ticket_id),
            Payload::TicketAcknowledged(events::TicketAcknowledged { response_met: met }),
        )
        .await?;
        Ok(met)
    }

    pub(super) async fn acknowledge_ticket(
        &self,
        ctx: &RequestContext,
        request: pb::AcknowledgeTicketRequest,
    ) -> Result<pb::AcknowledgeTicketResponse, ApiError> {
        require(&ctx.caller, STAFF_ENGINEERING)?;
        let mut v = Violations::default();
        let text = v.optional("response_text", &request.response_text, LONG);
        v.finish(())?;
        let ticket = self.visible_ticket(&ctx.caller, &request.ticket_id).await?;
        let now = steelcare_store::now();
        let tx = begin_write(&self.db)
            .await
            .map_err(steelcare_store::StoreError::from)?;
        self.acknowledge(&tx, ctx, &ticket.id, &text, now).await?;
        clocks::refresh_ticket(&tx, &ticket.id).await?;
        tx.commit()
            .await
            .map_err(steelcare_store::StoreError::from)?;
        self.committed();
        Ok(pb::AcknowledgeTicketResponse {
            ticket: Some(self.ticket_response(&ticket.id, ctx.locale).await?),
        })
    }

    pub(super) async fn confirm_readback(
        &self,
        ctx: &RequestContext,
        request: pb::ConfirmReadbackRequest,
    ) -> Result<pb::ConfirmReadbackResponse, ApiError> {
        require(&ctx.caller, STAFF_WRITE)?;
        let now = steelcare_store::now();
        let mut v = Violations::default();
        let text = v.required("readback_text", &request.readback_text, LONG);
        let confirmed_at = match request.confirm_time.as_ref() {
            None => now,
            Some(ts) => match from_timestamp(ts, "confirm_time") {
                Ok(at) if at > now + chrono::TimeDelta::minutes(5) => {
                    v.add("confirm_time", msg!("field-in-future"));
                    now
                }
                Ok(at) => at,
                Err(_) => {
                    v.add("confirm_time", msg!("field-not-timestamp"));
                    now
                }
            },
        };
        v.finish(())?;
        let ticket = self.visible_ticket(&ctx.caller, &request.ticket_id).await?;
        let tx = begin_write(&self.db)
            .await
            .map_err(steelcare_store::StoreError::from)?;
        let case = cases::get(&tx, &ticket.id).await?;
        if case.state.is_terminal() {
            return Err(precondition(
                &ticket.id,
                case.state,
                msg!("error-case-closed"),
            ));
        }
        if !store::confirm_readback(&tx, &ticket.id, &text, confirmed_at).await? {
            return Err(precondition(
                &ticket.id,
                case.state,
                msg!("error-readback-confirmed"),
            ));
        }
        audit(
            &tx,
            ctx,
            "ticket",
            &ticket.id,
            None,
            serde_json::json!({ "readback_text": text, "confirmed_at": confirmed_at }),
        )
        .await?;
        self.event(
            &tx,
            ctx,
            Some(&ticket.id),
            Payload::ReadbackConfirmed(events::ReadbackConfirmed {
                confirmed_time: Some(to_timestamp(confirmed_at)),
            }),
        )
        .await?;
        tx.commit()
            .await
            .map_err(steelcare_store::StoreError::from)?;
        self.committed();
        Ok(pb::ConfirmReadbackResponse {
            ticket: Some(self.ticket_response(&ticket.id, ctx.locale).await?),
        })
    }

    pub(super) async fn pause_or_resume(
        &self,
        ctx: &RequestContext,
        ticket_id: &str,
        pause_reason: Option<String>,
    ) -> Result<pb::Ticket, ApiError> {
        require(&ctx.caller, SLA_HANDLERS)?;
        let ticket = self.visible_ticket(&ctx.caller, ticket_id).await?;
        let now = steelcare_store::now();
        let tx = begin_write(&self.db)
            .await
            .map_err(steelcare_store::StoreError::from)?;
        let case = cases::get(&tx, &ticket.id).await?;
        if case.state.is_terminal() {
            return Err(precondition(
                &ticket.id,
                case.state,
                msg!("error-case-closed"),
            ));
        }
        let payload = self
            .pause_clocks(&tx, &ticket.id, pause_reason.as_deref(), now)
            .await?;
        clocks::refresh_ticket(&tx, &ticket.id).await?;
        audit(
            &tx,
            ctx,
            "ticket",
            &ticket.id,
            None,
            serde_json::json!({ "sla": if pause_reason.is_some() { "paused" } else { "resumed" }, "reason": pause_reason }),
        )
        .await?;
        self.event(&tx, ctx, Some(&ticket.id), payload).await?;
        tx.commit()
            .await
            .map_err(steelcare_store::StoreError::from)?;
        self.committed();
        self.ticket_response(&ticket.id, ctx.locale).await
    }

    pub(super) async fn resolve_remotely(
        &self,
        ctx: &RequestContext,
        request: pb::ResolveRemotelyRequest,
    ) -> Result<pb::ResolveRemotelyResponse, ApiError> {
        require(&ctx.caller, STAFF_ENGINEERING)?;
        let mut v = Violations::default();
        let answer = v.required("answer", &request.answer, LONG);
        v.finish(())?;
        let ticket = self.visible_ticket(&ctx.caller, &request.ticket_id).await?;
        let now = steelcare_store::now();
        let tx = begin_write(&self.db)
            .await
            .map_err(steelcare_store::StoreError::from)?;
        let case = cases::get(&tx, &ticket.id).await?;
        if ticket.category != ProblemCategory::UsageConsultation.as_str() {
            return Err(precondition(
                &ticket.id,
                case.state,
                msg!(
                    "error-remote-needs-consultation",
                    category = ticket.category.parse::<ProblemCategory>().map_or_else(
                        |_| steelcare_i18n::Msg::owned(ticket.category.clone()),
                        |c| c.label()
                    )
                ),
            ));
        }
        if case.state == CaseState::Received {
            self.acknowledge(&tx, ctx, &ticket.id, &answer, now).await?;
        }
        self.transition(
            &tx,
            ctx,
            &ticket.id,
            CaseState::ResolvedRemotely,
            "answered remotely",
        )
        .await?;
        clocks::stop(&tx, &ticket.id, ClockKind::Solution, now).await?;
        clocks::cancel_all(&tx, &ticket.id, now).await?;
        store::set_text(&tx, &ticket.id, store::TicketText::Closing, &answer).await?;
        clocks::refresh_ticket(&tx, &ticket.id).await?;
        tx.commit()
            .await
            .map_err(steelcare_store::StoreError::from)?;
        self.committed();
        Ok(pb::ResolveRemotelyResponse {
            ticket: Some(self.ticket_response(&ticket.id, ctx.locale).await?),
        })
    }

    pub(super) async fn cancel_ticket(
        &self,
        ctx: &RequestContext,
        request: pb::CancelTicketRequest,
    ) -> Result<pb::CancelTicketResponse, ApiError> {
        require(&ctx.caller, TICKET_CREATORS)?;
        let mut v = Violations::default();
        let reason = v.required("reason", &request.reason, LONG);
        v.finish(())?;
        let ticket = self.visible_ticket(&ctx.caller, &request.ticket_id).await?;
        let now = steelcare_store::now();
        let tx = begin_write(&self.db)
            .await
            .map_err(steelcare_store::StoreError::from)?;
        self.transition(&tx, ctx, &ticket.id, CaseState::Cancelled, &reason)
            .await?;
        clocks::cancel_all(&tx, &ticket.id, now).await?;
        store::set_text(&tx, &ticket.id, store::TicketText::Closing, &reason).await?;
        clocks::refresh_ticket(&tx, &ticket.id).await?;
        tx.commit()
            .await
            .map_err(steelcare_store::StoreError::from)?;
        self.committed();
        Ok(pb::CancelTicketResponse {
            ticket: Some(self.ticket_response(&ticket.id, ctx.locale).await?),
        })
    }

    pub(super) async fn list_tickets(
        &self,
        ctx: &RequestContext,
        request: pb::ListTicketsRequest,
    ) -> Result<pb::ListTicketsResponse, ApiError> {
        let size = page_size(request.page_size)?;
        let filter = ticket_filter(ctx, &request)?;
        let (rows, next_page_token) =
            store::list_tickets(&self.db, &filter, size, &request.page_token).await?;
        let tickets = view::tickets(&self.db, &rows, ctx.locale).await?;
        Ok(pb::ListTicketsResponse {
            tickets,
            next_page_token,
        })
    }

    pub(super) async fn get_ticket(
        &self,
        ctx: &RequestContext,
        request: pb::GetTicketRequest,
    ) -> Result<pb::GetTicketResponse, ApiError> {
        let row = self.visible_ticket(&ctx.caller, &request.ticket_id).await?;
        Ok(pb::GetTicketResponse {
            ticket: Some(view::ticket(&self.db, &row, ctx.locale).await?),
        })
    }

    pub(super) async fn pause_sla(
        &self,
        ctx: &RequestContext,
        request: pb::PauseSlaRequest,
    ) -> Result<pb::PauseSlaResponse, ApiError> {
        let mut v = Violations::default();
        let reason = v.required("reason", &request.reason, LONG);
        v.finish(())?;
        let ticket = self
            .pause_or_resume(ctx, &request.ticket_id, Some(reason))
            .await?;
        Ok(pb::PauseSlaResponse {
            ticket: Some(ticket),
        })
    }

    pub(super) async fn resume_sla(
        &self,
        ctx: &RequestContext,
        request: pb::ResumeSlaRequest,
    ) -> Result<pb::ResumeSlaResponse, ApiError> {
        let ticket = self.pause_or_resume(ctx, &request.ticket_id, None).await?;
        Ok(pb::ResumeSlaResponse {
            ticket: Some(ticket),
        })
    }

    /// The first message is the ticket as it is; then one for each change (narrowed by the
    /// watch mask) until the client goes away or the server stops.
    pub(super) async fn watch(
        &self,
        ctx: &RequestContext,
        request: pb::WatchTicketRequest,
    ) -> Result<BoxStream<pb::WatchTicketResponse>, ApiError> {
        let row = self.visible_ticket(&ctx.caller, &request.ticket_id).await?;
        let first = view::ticket(&self.db, &row, ctx.locale).await?;
        let mask: Vec<String> = request.watch_mask.map(|m| m.paths).unwrap_or_default();
        let (sender, receiver) = mpsc::channel(16);
        tokio::spawn(self.clone().follow(row, first, mask, sender, ctx.locale));
        Ok(Box::pin(ReceiverStream::new(receiver)))
    }

    /// Sends the ticket as it is, then polls for changes until the watcher or the server goes.
    async fn follow(
        self,
        row: tickets::Model,
        first: pb::Ticket,
        mask: Vec<String>,
        sender: mpsc::Sender<Result<pb::WatchTicketResponse, Status>>,
        locale: steelcare_i18n::Locale,
    ) {
        let mut seen = Seen {
            locale,
            last: first.clone(),
            versions: (
                row.version,
                steelcare_store::cases::get(&self.db, &row.id)
                    .await
                    .map(|c| c.version)
                    .unwrap_or(0),
            ),
            last_event: steelcare_store::outbox::last_case_event(&self.db, &row.id)
                .await
                .unwrap_or(0),
        };
        let first = pb::WatchTicketResponse {
            ticket: Some(first),
            changed_fields: Vec::new(),
            case_events: 0,
        };
        if sender.send(Ok(first)).await.is_err() {
            return;
        }
        let mut shutdown = self.shutdown.clone();
        loop {
            if *shutdown.borrow() {
                return;
            }
            tokio::select! {
                _ = sender.closed() => return,
                // A dropped sender means no shutdown will ever be signalled.
                _ = async {
                    if shutdown.changed().await.is_err() {
                        std::future::pending::<()>().await;
                    }
                } => return,
                _ = tokio::time::sleep(self.watch_interval) => {}
            }
            if let Some(message) = self.change_since(&row.id, &mut seen, &mask).await
                && sender.send(Ok(message)).await.is_err()
            {
                return;
            }
        }
    }

    /// What changed in the ticket (fields narrowed by the mask) or its case's events since the
    /// watcher last saw it; `None` when nothing did, or the read failed (the next poll retries).
    async fn change_since(
        &self,
        id: &str,
        seen: &mut Seen,
        mask: &[String],
    ) -> Option<pb::WatchTicketResponse> {
        let events = steelcare_store::outbox::case_events_after(&self.db, id, seen.last_event)
            .await
            .ok()?;
        seen.last_event = events.last().copied().unwrap_or(seen.last_event);
        let row = store::ticket(&self.db, id).await.ok()??;
        let case = steelcare_store::cases::get(&self.db, id).await.ok()?;
        if (row.version, case.version) == seen.versions && events.is_empty() {
            return None;
        }
        seen.versions = (row.version, case.version);
        let next = view::ticket(&self.db, &row, seen.locale).await.ok()?;
        let mut changed = changed_fields(&seen.last, &next);
        if !mask.is_empty() {
            changed.retain(|f| mask.contains(f));
        }
        seen.last = next.clone();
        if changed.is_empty() && events.is_empty() {
            return None;
        }
        Some(pb::WatchTicketResponse {
            ticket: Some(next),
            changed_fields: changed,
            case_events: i32::try_from(events.len()).unwrap_or(i32::MAX),
        })
    }
}

/// What a watcher has been sent: the ticket, the ticket's and case's versions, the last case
/// event.
struct Seen {
    /// The watcher's language.
    locale: steelcare_i18n::Locale,
    last: pb::Ticket,
    versions: (i64, i64),
    last_event: i64,
}

/// The filter a list request asks for; a customer sees only their own organisation.
fn ticket_filter(
    ctx: &RequestContext,
    request: &pb::ListTicketsRequest,
) -> Result<store::TicketFilter, ApiError> {
    let mut v = Violations::default();
    let states = enum_names(&mut v, "states", &request.states, |n| {
        CaseState::from_proto_value(n).map(|s| s.as_str())
    });
    let tiers = enum_names(&mut v, "tiers", &request.tiers, |n| {
        SeverityTier::from_proto_value(n).map(|t| t.as_str())
    });
    let categories = enum_names(&mut v, "categories", &request.categories, |n| {
        ProblemCategory::from_proto_value(n).map(|c| c.as_str())
    });
    let sla_status = match request.sla_status {
        0 => None,
        n => match steelcare_proto::common::v1::SlaStatus::try_from(n)
            .ok()
            .and_then(view::sla_status_name)
        {
            Some(s) => Some(s.to_owned()),
            None => {
                v.add("sla_status", msg!("field-unknown-value", value = n));
                None
            }
        },
    };
    let range = request.create_time_range.as_ref();
    let mut bound = |field: &str, t: Option<&prost_types::Timestamp>| {
        t.and_then(|t| {
            from_timestamp(t, field)
                .map_err(|_| v.add(field, msg!("field-not-timestamp")))
                .ok()
        })
    };
    let created_from = bound(
        "create_time_range.start_time",
        range.and_then(|r| r.start_time.as_ref()),
    );
    let created_to = bound(
        "create_time_range.end_time",
        range.and_then(|r| r.end_time.as_ref()),
    );
    let mut customer_id = non_empty(&request.customer_id);
    if ctx.caller.is_customer_only() {
        let own = ctx.caller.organization_id.clone();
        if customer_id.is_some() && customer_id != own {
            return Err(ApiError::PermissionDenied(msg!("error-own-tickets")));
        }
        customer_id = own;
    }
    v.finish(store::TicketFilter {
        states,
        tiers,
        categories,
        project_id: non_empty(&request.project_id),
        customer_id,
        created_from,
        created_to,
        sla_status,
    })
}

/// A repeated enum filter as the stored names, each once; an unknown value is a violation of
/// `field[i]`.
fn enum_names(
    v: &mut Violations,
    field: &str,
    values: &[i32],
    name: impl Fn(i32) -> Option<&'static str>,
) -> Vec<String> {
    values
        .iter()
        .enumerate()
        .filter_map(|(i, n)| v.enum_value(&format!("{field}[{i}]"), *n, &name))
        .map(str::to_owned)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

fn changed_fields(old: &pb::Ticket, new: &pb::Ticket) -> Vec<String> {
    let mut changed = Vec::new();
    let mut check = |name: &str, differs: bool| {
        if differs {
            changed.push(name.to_owned());
        }
    };
    check("state", old.state != new.state);
    check("category", old.category != new.category);
    check("tier", old.tier != new.tier);
    check("warranty", old.warranty != new.warranty);
    check(
        "sla",
        old.sla != new.sla || old.sla_status != new.sla_status,
    );
    check("reply", old.reply != new.reply);
    check(
        "readback",
        old.readback_confirm_time != new.readback_confirm_time,
    );
    check("attachments", old.attachments != new.attachments);
    check(
        "first_response_text",
        old.first_response_text != new.first_response_text,
    );
    check("closing_text", old.closing_text != new.closing_text);
    changed
}
