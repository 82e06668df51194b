//! Onboarding from spreadsheets: customers and projects imported (previewed with
//! `validate_only`) and exported in the same shape. A sheet is planned against what is stored
//! (create, update or leave alone, record by record), then the plan is written in one
//! transaction: a re-import finds everything as the sheet says and writes nothing.

use std::collections::HashMap;

use super::projects_api::insert_project_row;
use super::*;
use crate::domain::records::Person;
use crate::sheets::{
    self, CUSTOMER_COLUMNS, PROJECT_COLUMNS, ProjectFacts, ProjectRow, contact_view,
};
use steelcare_sheet::{self as sheet, Plan, Problem, Table};
use steelcare_store::entity::{dossier_items, warranty_terms};

const EXPORTERS: &[Role] = &[Role::Agent, Role::Manager, Role::Admin, Role::Auditor];

/// A customer the sheet creates, or changes (the stored row and the sheet's version).
enum CustomerChange {
    Create(NewCustomer),
    Update(customers::Model, NewCustomer),
}

/// A project the sheet creates, or changes.
enum ProjectChange {
    Create(Box<ProjectRow>),
    Update(Box<ProjectUpdate>),
}

/// A stored project, what it says now, and what the sheet says.
struct ProjectUpdate {
    stored: projects::Model,
    before: ProjectFacts,
    sheet: ProjectRow,
}

fn store_err(err: sea_orm::DbErr) -> ApiError {
    steelcare_store::StoreError::from(err).into()
}

/// Decides customer by customer: created, changed or left alone.
async fn plan_customers(
    conn: &impl sea_orm::ConnectionTrait,
    table: &Table,
) -> Result<Plan<CustomerChange>, ApiError> {
    let mut by_name: HashMap<String, Vec<customers::Model>> = HashMap::new();
    for c in store::all_customers(conn).await? {
        by_name
            .entry(c.organization_name.clone())
            .or_default()
            .push(c);
    }
    let mut plan = Plan::default();
    let (groups, keyless) = sheet::group(&table.rows, "organization_name");
    for row in keyless {
        plan.outcome.refuse(vec![Problem::at(
            row,
            "organization_name",
            msg!("field-required"),
        )]);
    }
    for (name, rows) in groups {
        let new = match sheets::customer_of(&rows) {
            Ok(new) => new,
            Err(problems) => {
                plan.outcome.refuse(problems);
                continue;
            }
        };
        match by_name.get(&name).map(Vec::as_slice) {
            None | Some([]) => {
                plan.outcome.created += 1;
                plan.changes.push(CustomerChange::Create(new));
            }
            Some([stored]) => {
                let contacts: Vec<Person> =
                    crate::domain::records::from_json(&stored.contacts, "customer contacts")?;
                let same = contacts.iter().map(contact_view).collect::<Vec<_>>()
                    == new.contacts.iter().map(contact_view).collect::<Vec<_>>();
                if same {
                    plan.outcome.unchanged += 1;
                } else {
                    plan.outcome.updated += 1;
                    plan.changes
                        .push(CustomerChange::Update(stored.clone(), new));
                }
            }
            Some(_) => plan.outcome.refuse(vec![Problem::at(
                rows[0],
                "organization_name",
                msg!("sheet-customer-ambiguous", name = name.clone()),
            )]),
        }
    }
    Ok(plan)
}

/// What is stored that a project sheet is compared with, read once for the whole sheet.
struct StoredProjects {
    /// Customer ids by organisation name (a name two customers share has two).
    customer_ids: HashMap<String, Vec<String>>,
    by_contract: HashMap<String, projects::Model>,
    terms: HashMap<String, Vec<warranty_terms::Model>>,
    items: HashMap<String, Vec<dossier_items::Model>>,
}

/// What the sheet's record of a project asks: a change, nothing, or its problems.
enum Decision {
    Change(ProjectChange),
    Unchanged,
    Refused(Vec<Problem>),
}

impl StoredProjects {
    async fn load(conn: &impl sea_orm::ConnectionTrait) -> Result<Self, ApiError> {
        let mut customer_ids: HashMap<String, Vec<String>> = HashMap::new();
        for c in store::all_customers(conn).await? {
            customer_ids
                .entry(c.organization_name)
                .or_default()
                .push(c.id);
        }
        let by_contract = store::all_projects(conn)
            .await?
            .into_iter()
            .map(|p| (p.contract_number.clone(), p))
            .collect();
        Ok(StoredProjects {
            customer_ids,
            by_contract,
            terms: store::all_warranty_terms(conn).await?,
            items: store::all_dossier_items(conn).await?,
        })
    }

    /// The customer a row names by organisation name ("" when it names none: the API's check
    /// then says it is required).
    fn customer_of(&self, row: &sheet::Row) -> Result<String, Problem> {
        let name = row.get("customer");
        match self.customer_ids.get(name).map(Vec::as_slice) {
            Some([id]) => Ok(id.clone()),
            Some([_, _, ..]) => Err(Problem::at(
                row,
                "customer",
                msg!("sheet-customer-ambiguous", name = name.to_owned()),
            )),
            _ if name.is_empty() => Ok(String::new()),
            _ => Err(Problem::at(
                row,
                "customer",
                msg!("sheet-no-customer", name = name.to_owned()),
            )),
        }
    }

    /// Decides the project of `contract` from its rows (more than one is refused).
    fn decide(
        &self,
        contract: &str,
        rows: &[&sheet::Row],
        today: NaiveDate,
    ) -> Result<Decision, ApiError> {
        let row = rows[0];
        if rows.len() > 1 {
            let repeats = rows[1..].iter().map(|r| {
                Problem::at(
                    r,
                    "contract_number",
                    msg!("sheet-repeats-row", row = row.number),
                )
            });
            return Ok(Decision::Refused(repeats.collect()));
        }
        let customer_id = match self.customer_of(row) {
            Ok(id) => id,
            Err(problem) => return Ok(Decision::Refused(vec![problem])),
        };
        let parsed = match sheets::project_of(row, &customer_id, today) {
            Ok(parsed) => parsed,
            Err(problems) => return Ok(Decision::Refused(problems)),
        };
        let Some(existing) = self.by_contract.get(contract) else {
            return Ok(Decision::Change(ProjectChange::Create(Box::new(parsed))));
        };
        if existing.customer_id != customer_id {
            let contract = contract.to_owned();
            return Ok(Decision::Refused(vec![Problem::at(
                row,
                "customer",
                msg!("sheet-contract-of-other-customer", contract = contract),
            )]));
        }
        let before = sheets::stored_facts(
            existing,
            self.terms.get(&existing.id).map_or(&[], Vec::as_slice),
            self.items.get(&existing.id).map_or(&[], Vec::as_slice),
        )?;
        if before == parsed.facts() {
            return Ok(Decision::Unchanged);
        }
        Ok(Decision::Change(ProjectChange::Update(Box::new(
            ProjectUpdate {
                stored: existing.clone(),
                before,
                sheet: parsed,
            },
        ))))
    }
}

/// Decides project by project: created, changed or left alone.
async fn plan_projects(
    conn: &impl sea_orm::ConnectionTrait,
    table: &Table,
    today: NaiveDate,
) -> Result<Plan<ProjectChange>, ApiError> {
    let stored = StoredProjects::load(conn).await?;
    let mut plan = Plan::default();
    let (groups, keyless) = sheet::group(&table.rows, "contract_number");
    for row in keyless {
        plan.outcome.refuse(vec![Problem::at(
            row,
            "contract_number",
            msg!("field-required"),
        )]);
    }
    for (contract, rows) in groups {
        match stored.decide(&contract, &rows, today)? {
            Decision::Change(change) => {
                match change {
                    ProjectChange::Create(_) => plan.outcome.created += 1,
                    ProjectChange::Update(_) => plan.outcome.updated += 1,
                }
                plan.changes.push(change);
            }
            Decision::Unchanged => plan.outcome.unchanged += 1,
            Decision::Refused(problems) => plan.outcome.refuse(problems),
        }
    }
    Ok(plan)
}

fn facts_json(facts: &ProjectFacts) -> serde_json::Value {
    serde_json::json!({
        "name": facts.name,
        "address": facts.address,
        "structure_type": facts.structure_type,
        "completion_date": facts.completion_date.to_string(),
        "design_life_years": facts.design_life_years,
        "technical_lead": facts.technical_lead,
        "designer": facts.designer,
        "warranty_terms": facts.terms,
        "dossier": facts.dossier,
    })
}

impl IntakeService {
    pub(super) async fn import_customers(
        &self,
        ctx: &RequestContext,
        request: pb::ImportCustomersRequest,
    ) -> Result<pb::ImportCustomersResponse, ApiError> {
        require(&ctx.caller, STAFF_WRITE)?;
        let upload = request.sheet.unwrap_or_default();
        let table = sheet::read_upload(&upload.content, &CUSTOMER_COLUMNS, &["organization_name"])?;
        let outcome = if request.validate_only {
            plan_customers(&self.db, &table).await?.outcome
        } else {
            let tx = steelcare_store::begin_write_alone(&self.db, sheet::locks::CUSTOMERS)
                .await
                .map_err(store_err)?;
            let plan = plan_customers(&tx, &table).await?;
            for change in &plan.changes {
                self.write_customer(&tx, ctx, change, &upload.file_name)
                    .await?;
            }
            tx.commit().await.map_err(store_err)?;
            if !plan.changes.is_empty() {
                self.committed();
            }
            plan.outcome
        };
        Ok(pb::ImportCustomersResponse {
            report: Some(outcome.report(&table, ctx.locale, request.validate_only)),
        })
    }

    async fn write_customer(
        &self,
        tx: &DatabaseTransaction,
        ctx: &RequestContext,
        change: &CustomerChange,
        file_name: &str,
    ) -> Result<(), ApiError> {
        match change {
            CustomerChange::Create(new) => {
                let id = uuid::Uuid::now_v7().to_string();
                customers::ActiveModel {
                    id: Set(id.clone()),
                    organization_name: Set(new.organization_name.clone()),
                    contacts: Set(to_json(&new.contacts)),
                    created_at: Set(steelcare_store::now()),
                }
                .insert(tx)
                .await
                .map_err(store_err)?;
                let after = serde_json::json!({
                    "organization_name": new.organization_name,
                    "imported_from": file_name,
                });
                audit(tx, ctx, "customer", &id, None, after).await?;
                let created = events::CustomerCreated {
                    customer_id: id,
                    organization_name: new.organization_name.clone(),
                };
                self.event(tx, ctx, None, Payload::CustomerCreated(created))
                    .await
            }
            CustomerChange::Update(stored, new) => {
                let before = serde_json::json!({ "contacts": stored.contacts });
                let mut row: customers::ActiveModel = stored.clone().into();
                row.contacts = Set(to_json(&new.contacts));
                row.update(tx).await.map_err(store_err)?;
                let after = serde_json::json!({
                    "contacts": new.contacts,
                    "imported_from": file_name,
                });
                audit(tx, ctx, "customer", &stored.id, Some(before), after).await?;
                let updated = events::CustomerUpdated {
                    customer_id: stored.id.clone(),
                    aspect: "contacts".to_owned(),
                };
                self.event(tx, ctx, None, Payload::CustomerUpdated(updated))
                    .await
            }
        }
    }

    pub(super) async fn export_customers(
        &self,
        ctx: &RequestContext,
        request: pb::ExportCustomersRequest,
    ) -> Result<pb::ExportCustomersResponse, ApiError> {
        require(&ctx.caller, EXPORTERS)?;
        let mut rows = Vec::new();
        for customer in store::all_customers(&self.db).await? {
            rows.extend(sheets::customer_rows(&customer)?);
        }
        let today = self.today(steelcare_store::now());
        let file = sheet::export(
            sheet::export_format(request.format),
            "customers",
            today,
            &CUSTOMER_COLUMNS,
            ctx.locale,
            &rows,
        )?;
        Ok(pb::ExportCustomersResponse { file: Some(file) })
    }

    pub(super) async fn import_projects(
        &self,
        ctx: &RequestContext,
        request: pb::ImportProjectsRequest,
    ) -> Result<pb::ImportProjectsResponse, ApiError> {
        require(&ctx.caller, STAFF_WRITE)?;
        let upload = request.sheet.unwrap_or_default();
        let table = sheet::read_upload(
            &upload.content,
            &PROJECT_COLUMNS,
            &[
                "contract_number",
                "customer",
                "project_name",
                "city",
                "structure_type",
                "completion_date",
            ],
        )?;
        let now = steelcare_store::now();
        let today = self.today(now);
        let outcome = if request.validate_only {
            plan_projects(&self.db, &table, today).await?.outcome
        } else {
            let tx = steelcare_store::begin_write_alone(&self.db, sheet::locks::PROJECTS)
                .await
                .map_err(store_err)?;
            let plan = plan_projects(&tx, &table, today).await?;
            for change in &plan.changes {
                self.write_project(&tx, ctx, change, &upload.file_name, now)
                    .await?;
            }
            tx.commit().await.map_err(store_err)?;
            if !plan.changes.is_empty() {
                self.committed();
            }
            plan.outcome
        };
        Ok(pb::ImportProjectsResponse {
            report: Some(outcome.report(&table, ctx.locale, request.validate_only)),
        })
    }

    async fn write_project(
        &self,
        tx: &DatabaseTransaction,
        ctx: &RequestContext,
        change: &ProjectChange,
        file_name: &str,
        now: DateTime<Utc>,
    ) -> Result<(), ApiError> {
        match change {
            ProjectChange::Create(parsed) => {
                let new = &parsed.new;
                let row = insert_project_row(tx, new, now).await?;
                store::insert_warranty_terms(tx, &row.id, &parsed.terms()).await?;
                for (kind, reference) in &parsed.dossier {
                    store::upsert_dossier_item(tx, &row.id, kind.as_str_name(), true, reference)
                        .await?;
                }
                let mut after = facts_json(&parsed.facts());
                after["contract_number"] = new.contract_number.clone().into();
                after["imported_from"] = file_name.into();
                audit(tx, ctx, "project", &row.id, None, after).await?;
                let registered = events::ProjectRegistered {
                    project_id: row.id.clone(),
                    customer_id: new.customer_id.clone(),
                    name: new.name.clone(),
                };
                self.event(tx, ctx, None, Payload::ProjectRegistered(registered))
                    .await
            }
            ProjectChange::Update(update) => self.update_project(tx, ctx, update, file_name).await,
        }
    }

    async fn update_project(
        &self,
        tx: &DatabaseTransaction,
        ctx: &RequestContext,
        update: &ProjectUpdate,
        file_name: &str,
    ) -> Result<(), ApiError> {
        use crate::domain::records::from_json;
        let ProjectUpdate {
            stored,
            before,
            sheet: parsed,
        } = update;
        let new = &parsed.new;
        let after = parsed.facts();
        let lead: Person = from_json(&stored.technical_lead, "technical lead")?;
        let designer: Person = from_json(&stored.designer, "designer")?;
        let mut row: projects::ActiveModel = stored.clone().into();
        row.name = Set(new.name.clone());
        row.address = Set(to_json(&new.address));
        row.structure_type = Set(new.structure_type.as_str_name().to_owned());
        row.completion_date = Set(new.completion_date.to_string());
        row.design_life_years = Set(i32::try_from(new.design_life_years).unwrap_or(50));
        row.technical_lead = Set(to_json(&sheets::merge_lead(&lead, &new.technical_lead)));
        row.designer = Set(to_json(&sheets::merge_designer(&designer, &new.designer)));
        row.update(tx).await.map_err(store_err)?;
        if before.terms != after.terms {
            store::replace_warranty_terms(tx, &stored.id, &parsed.terms()).await?;
        }
        if before.dossier != after.dossier {
            for kind in crate::view::DOSSIER_KINDS {
                let reference = parsed
                    .dossier
                    .iter()
                    .find(|(k, _)| *k == kind)
                    .map(|(_, r)| r.as_str());
                store::upsert_dossier_item(
                    tx,
                    &stored.id,
                    kind.as_str_name(),
                    reference.is_some(),
                    reference.unwrap_or(""),
                )
                .await?;
            }
        }
        let mut audited = facts_json(&after);
        audited["imported_from"] = file_name.into();
        self.project_changed(tx, ctx, &stored.id, "import", audited)
            .await
    }

    pub(super) async fn export_projects(
        &self,
        ctx: &RequestContext,
        request: pb::ExportProjectsRequest,
    ) -> Result<pb::ExportProjectsResponse, ApiError> {
        require(&ctx.caller, EXPORTERS)?;
        let names: HashMap<String, String> = store::all_customers(&self.db)
            .await?
            .into_iter()
            .map(|c| (c.id, c.organization_name))
            .collect();
        let terms = store::all_warranty_terms(&self.db).await?;
        let items = store::all_dossier_items(&self.db).await?;
        let none_terms: Vec<warranty_terms::Model> = Vec::new();
        let none_items: Vec<dossier_items::Model> = Vec::new();
        let mut rows = Vec::new();
        for project in store::all_projects(&self.db).await? {
            rows.push(sheets::project_row(
                &project,
                &names,
                terms.get(&project.id).unwrap_or(&none_terms),
                items.get(&project.id).unwrap_or(&none_items),
                ctx.locale,
            )?);
        }
        let today = self.today(steelcare_store::now());
        let file = sheet::export(
            sheet::export_format(request.format),
            "projects",
            today,
            &PROJECT_COLUMNS,
            ctx.locale,
            &rows,
        )?;
        Ok(pb::ExportProjectsResponse { file: Some(file) })
    }
}
