//! Customers and projects: registration, warranty terms, the handover dossier and trainings.

use super::*;
use steelcare_i18n::msg;

/// A new project's row, for an existing customer and a contract number not taken yet.
async fn insert_project(
    tx: &sea_orm::DatabaseTransaction,
    new: &NewProject,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<projects::Model, ApiError> {
    if store::customer(tx, &new.customer_id).await?.is_none() {
        return Err(not_found("customer", &new.customer_id));
    }
    if store::project_by_contract(tx, &new.contract_number)
        .await?
        .is_some()
    {
        return Err(ApiError::AlreadyExists(msg!(
            "error-contract-exists",
            contract = new.contract_number.as_str()
        )));
    }
    insert_project_row(tx, new, now).await
}

/// A new project's row, its customer and contract number already checked.
pub(super) async fn insert_project_row(
    tx: &sea_orm::DatabaseTransaction,
    new: &NewProject,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<projects::Model, ApiError> {
    Ok(projects::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        customer_id: Set(new.customer_id.clone()),
        name: Set(new.name.clone()),
        address: Set(to_json(&new.address)),
        contract_number: Set(new.contract_number.clone()),
        structure_type: Set(new.structure_type.as_str_name().to_owned()),
        completion_date: Set(new.completion_date.to_string()),
        design_life_years: Set(i32::try_from(new.design_life_years).unwrap_or(50)),
        technical_lead: Set(to_json(&new.technical_lead)),
        designer: Set(to_json(&new.designer)),
        created_at: Set(now),
    }
    .insert(tx)
    .await
    .map_err(steelcare_store::StoreError::from)?)
}

impl IntakeService {
    pub(super) async fn create_customer(
        &self,
        ctx: &RequestContext,
        request: pb::CreateCustomerRequest,
    ) -> Result<pb::CreateCustomerResponse, ApiError> {
        require(&ctx.caller, STAFF_WRITE)?;
        let new = NewCustomer::try_from(&request)?;
        let hash = payload_hash(&request, |r| r.request_id.clear());
        let tx = begin_write(&self.db)
            .await
            .map_err(steelcare_store::StoreError::from)?;
        if let Some(rid) = &new.request_id
            && let Some(existing) = idempotency::lookup(
                &tx,
                &idempotency_scope("CreateCustomer", &ctx.caller),
                rid,
                &hash,
            )
            .await?
        {
            tx.commit()
                .await
                .map_err(steelcare_store::StoreError::from)?;
            let row = store::customer(&self.db, &existing)
                .await?
                .ok_or_else(|| not_found("customer", &existing))?;
            return Ok(pb::CreateCustomerResponse {
                customer: Some(view::customer(&row)?),
            });
        }
        let id = uuid::Uuid::now_v7().to_string();
        let row = customers::ActiveModel {
            id: Set(id.clone()),
            organization_name: Set(new.organization_name.clone()),
            contacts: Set(to_json(&new.contacts)),
            created_at: Set(steelcare_store::now()),
        }
        .insert(&tx)
        .await
        .map_err(steelcare_store::StoreError::from)?;
        if let Some(rid) = &new.request_id {
            idempotency::save(
                &tx,
                &idempotency_scope("CreateCustomer", &ctx.caller),
                rid,
                &hash,
                &id,
            )
            .await?;
        }
        audit(
            &tx,
            ctx,
            "customer",
            &id,
            None,
            serde_json::json!({ "organization_name": new.organization_name }),
        )
        .await?;
        self.event(
            &tx,
            ctx,
            None,
            Payload::CustomerCreated(events::CustomerCreated {
                customer_id: id.clone(),
                organization_name: new.organization_name.clone(),
            }),
        )
        .await?;
        tx.commit()
            .await
            .map_err(steelcare_store::StoreError::from)?;
        self.committed();
        Ok(pb::CreateCustomerResponse {
            customer: Some(view::customer(&row)?),
        })
    }

    pub(super) async fn register_project(
        &self,
        ctx: &RequestContext,
        request: pb::RegisterProjectRequest,
    ) -> Result<pb::RegisterProjectResponse, ApiError> {
        require(&ctx.caller, STAFF_WRITE)?;
        let now = steelcare_store::now();
        let new = NewProject::parse(&request, self.today(now))?;
        let hash = payload_hash(&request, |r| r.request_id.clear());
        let tx = begin_write(&self.db)
            .await
            .map_err(steelcare_store::StoreError::from)?;
        if let Some(rid) = &new.request_id
            && let Some(existing) = idempotency::lookup(
                &tx,
                &idempotency_scope("RegisterProject", &ctx.caller),
                rid,
                &hash,
            )
            .await?
        {
            tx.commit()
                .await
                .map_err(steelcare_store::StoreError::from)?;
            let row = store::project(&self.db, &existing)
                .await?
                .ok_or_else(|| not_found("project", &existing))?;
            return Ok(pb::RegisterProjectResponse {
                project: Some(view::project(&self.db, &row).await?),
            });
        }
        let row = insert_project(&tx, &new, now).await?;
        let id = row.id.clone();
        let terms = if new.terms.is_empty() {
            warranty::default_terms(new.completion_date, new.design_life_years)
        } else {
            new.terms.clone()
        };
        store::insert_warranty_terms(&tx, &id, &terms).await?;
        if let Some(rid) = &new.request_id {
            idempotency::save(
                &tx,
                &idempotency_scope("RegisterProject", &ctx.caller),
                rid,
                &hash,
                &id,
            )
            .await?;
        }
        let audited = serde_json::json!({
            "name": new.name,
            "customer_id": new.customer_id,
            "contract_number": new.contract_number,
        });
        audit(&tx, ctx, "project", &id, None, audited).await?;
        self.event(
            &tx,
            ctx,
            None,
            Payload::ProjectRegistered(events::ProjectRegistered {
                project_id: id.clone(),
                customer_id: new.customer_id.clone(),
                name: new.name.clone(),
            }),
        )
        .await?;
        tx.commit()
            .await
            .map_err(steelcare_store::StoreError::from)?;
        self.committed();
        Ok(pb::RegisterProjectResponse {
            project: Some(view::project(&self.db, &row).await?),
        })
    }

    pub(super) async fn project_changed(
        &self,
        tx: &DatabaseTransaction,
        ctx: &RequestContext,
        project_id: &str,
        aspect: &str,
        after: serde_json::Value,
    ) -> Result<(), ApiError> {
        audit(
            tx,
            ctx,
            "project",
            project_id,
            None,
            serde_json::json!({ aspect: after }),
        )
        .await?;
        self.event(
            tx,
            ctx,
            None,
            Payload::ProjectUpdated(events::ProjectUpdated {
                project_id: project_id.to_owned(),
                aspect: aspect.to_owned(),
            }),
        )
        .await
    }

    pub(super) async fn set_warranty_terms(
        &self,
        ctx: &RequestContext,
        request: pb::SetWarrantyTermsRequest,
    ) -> Result<pb::SetWarrantyTermsResponse, ApiError> {
        require(&ctx.caller, STAFF_WRITE)?;
        let project = self
            .visible_project(&ctx.caller, &request.project_id)
            .await?;
        let completion = NaiveDate::parse_from_str(&project.completion_date, "%Y-%m-%d")
            .map_err(|err| ApiError::Internal(format!("corrupt completion date: {err}")))?;
        let terms = parse_warranty_terms(
            &request.warranty_terms,
            completion,
            u32::try_from(project.design_life_years).unwrap_or(50),
        )?;
        let tx = begin_write(&self.db)
            .await
            .map_err(steelcare_store::StoreError::from)?;
        let before = terms_of(&store::warranty_terms(&tx, &project.id).await?);
        store::replace_warranty_terms(&tx, &project.id, &terms).await?;
        audit(
            &tx,
            ctx,
            "project",
            &project.id,
            Some(serde_json::json!({ "warranty_terms": before })),
            serde_json::json!({ "warranty_terms": terms }),
        )
        .await?;
        self.event(
            &tx,
            ctx,
            None,
            Payload::ProjectUpdated(events::ProjectUpdated {
                project_id: project.id.clone(),
                aspect: "warranty_terms".to_owned(),
            }),
        )
        .await?;
        tx.commit()
            .await
            .map_err(steelcare_store::StoreError::from)?;
        self.committed();
        Ok(pb::SetWarrantyTermsResponse {
            project: Some(view::project(&self.db, &project).await?),
        })
    }

    pub(super) async fn update_handover_dossier(
        &self,
        ctx: &RequestContext,
        request: pb::UpdateHandoverDossierRequest,
    ) -> Result<pb::UpdateHandoverDossierResponse, ApiError> {
        require(&ctx.caller, STAFF_ENGINEERING)?;
        let project = self
            .visible_project(&ctx.caller, &request.project_id)
            .await?;
        let mut v = Violations::default();
        if request.dossier_items.is_empty() {
            v.add("dossier_items", msg!("field-item-required"));
        }
        let mut items = Vec::new();
        for (i, item) in request.dossier_items.iter().enumerate() {
            let field = format!("dossier_items[{i}]");
            let kind = v.enum_value(&format!("{field}.kind"), item.kind, |n| {
                pb::DossierItemKind::try_from(n).ok()
            });
            let reference = v.optional(
                &format!("{field}.document_reference"),
                &item.document_reference,
                SHORT,
            );
            if item.present && reference.is_empty() {
                v.add(
                    format!("{field}.document_reference"),
                    msg!("field-required-when-present"),
                );
            }
            if let Some(kind) = kind {
                items.push((kind, item.present, reference));
            }
        }
        let items = v.finish(items)?;
        let tx = begin_write(&self.db)
            .await
            .map_err(steelcare_store::StoreError::from)?;
        for (kind, present, reference) in &items {
            store::upsert_dossier_item(&tx, &project.id, kind.as_str_name(), *present, reference)
                .await?;
        }
        let summary: Vec<_> = items
            .iter()
            .map(|(k, p, r)| serde_json::json!({ "kind": k.as_str_name(), "present": p, "reference": r }))
            .collect();
        self.project_changed(
            &tx,
            ctx,
            &project.id,
            "handover_dossier",
            serde_json::json!(summary),
        )
        .await?;
        tx.commit()
            .await
            .map_err(steelcare_store::StoreError::from)?;
        self.committed();
        let project = view::project(&self.db, &project).await?;
        let missing_kinds = project
            .dossier_items
            .iter()
            .filter(|i| !i.present)
            .map(|i| i.kind)
            .collect();
        Ok(pb::UpdateHandoverDossierResponse {
            project: Some(project),
            missing_kinds,
        })
    }

    pub(super) async fn record_training(
        &self,
        ctx: &RequestContext,
        request: pb::RecordTrainingRequest,
    ) -> Result<pb::RecordTrainingResponse, ApiError> {
        require(&ctx.caller, STAFF_ENGINEERING)?;
        let project = self
            .visible_project(&ctx.caller, &request.project_id)
            .await?;
        let now = steelcare_store::now();
        let new = NewTraining::parse(request.training.as_ref(), now)?;
        let id = uuid::Uuid::now_v7().to_string();
        let tx = begin_write(&self.db)
            .await
            .map_err(steelcare_store::StoreError::from)?;
        let row = trainings::ActiveModel {
            id: Set(id.clone()),
            project_id: Set(project.id.clone()),
            held_at: Set(new.held_at),
            trainer: Set(to_json(&new.trainer)),
            attendees: Set(to_json(&new.attendees)),
            topics: Set(to_json(&new.topics)),
            created_at: Set(now),
        }
        .insert(&tx)
        .await
        .map_err(steelcare_store::StoreError::from)?;
        self.project_changed(
            &tx,
            ctx,
            &project.id,
            "training",
            serde_json::json!({ "training_id": id, "topics": new.topics }),
        )
        .await?;
        tx.commit()
            .await
            .map_err(steelcare_store::StoreError::from)?;
        self.committed();
        Ok(pb::RecordTrainingResponse {
            training: Some(pb::Training {
                training_id: row.id,
                held_time: Some(to_timestamp(row.held_at)),
                trainer: Some(new.trainer.to_proto()),
                attendees: new.attendees.iter().map(|a| a.to_proto()).collect(),
                topics: new.topics,
            }),
        })
    }

    pub(super) async fn list_projects(
        &self,
        ctx: &RequestContext,
        request: pb::ListProjectsRequest,
    ) -> Result<pb::ListProjectsResponse, ApiError> {
        let size = page_size(request.page_size)?;
        let mut customer_id = non_empty(&request.customer_id);
        if ctx.caller.is_customer_only() {
            let own = ctx.caller.organization_id.clone();
            if customer_id.is_some() && customer_id != own {
                return Err(ApiError::PermissionDenied(msg!("error-own-projects")));
            }
            customer_id = own;
        }
        let (rows, next_page_token) =
            store::list_projects(&self.db, customer_id.as_deref(), size, &request.page_token)
                .await?;
        let mut projects = Vec::with_capacity(rows.len());
        for row in &rows {
            projects.push(view::project(&self.db, row).await?);
        }
        Ok(pb::ListProjectsResponse {
            projects,
            next_page_token,
        })
    }

    pub(super) async fn list_customers(
        &self,
        ctx: &RequestContext,
        request: pb::ListCustomersRequest,
    ) -> Result<pb::ListCustomersResponse, ApiError> {
        let size = page_size(request.page_size)?;
        let only = if ctx.caller.is_customer_only() {
            // A customer without an organisation reads nothing.
            Some(ctx.caller.organization_id.clone().unwrap_or_default())
        } else {
            None
        };
        let (rows, next_page_token) =
            store::list_customers(&self.db, only.as_deref(), size, &request.page_token).await?;
        Ok(pb::ListCustomersResponse {
            customers: rows.iter().map(view::customer).collect::<Result<_, _>>()?,
            next_page_token,
        })
    }

    pub(super) async fn get_project(
        &self,
        ctx: &RequestContext,
        request: pb::GetProjectRequest,
    ) -> Result<pb::GetProjectResponse, ApiError> {
        let row = self
            .visible_project(&ctx.caller, &request.project_id)
            .await?;
        Ok(pb::GetProjectResponse {
            project: Some(view::project(&self.db, &row).await?),
        })
    }
}
