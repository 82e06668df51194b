//! Onboarding the service team from a spreadsheet: ImportTechnicians (previewed with
//! `validate_only`) and ExportTechnicians in the same shape. Planned against what is stored,
//! then written in one transaction, as intake imports customers and projects.

use std::collections::{HashMap, HashSet};

use super::*;
use crate::sheets::{TECHNICIAN_COLUMNS, technician_of, technician_rows};
use steelcare_sheet::{self as sheet, Plan, Problem, Table};

const EXPORTERS: &[Role] = &[
    Role::Dispatcher,
    Role::Engineer,
    Role::Manager,
    Role::Admin,
    Role::Auditor,
];

/// A technician the sheet creates, or changes.
enum TechnicianChange {
    Create(Box<TechnicianRecord>),
    Update(Box<TechnicianUpdate>),
}

/// A stored technician, as read and as the sheet has them.
struct TechnicianUpdate {
    row: technicians::Model,
    before: TechnicianRecord,
    after: TechnicianRecord,
}

impl TechnicianChange {
    fn record(&self) -> &TechnicianRecord {
        match self {
            TechnicianChange::Create(r) => r,
            TechnicianChange::Update(u) => &u.after,
        }
    }
}

/// The stored technician with the sheet's fields in place of theirs: duty status, leave and
/// what the sheet does not carry of the person (title, organisation, user id) stay.
fn merged(stored: &TechnicianRecord, sheet: pb::Technician) -> pb::Technician {
    let mut base = stored.to_proto();
    let person = sheet.person.unwrap_or_default();
    if let Some(p) = base.person.as_mut() {
        p.display_name = person.display_name;
        p.phone = person.phone;
        p.email = person.email;
    }
    base.team = sheet.team;
    base.regions = sheet.regions;
    base.base_location = sheet.base_location;
    base.skills = sheet.skills;
    base.certificates = sheet.certificates;
    base.calendar = sheet.calendar;
    base.capacity = sheet.capacity;
    base.instruments = sheet.instruments;
    base
}

/// Decides technician by technician: created, changed or left alone.
async fn plan_technicians(
    conn: &impl sea_orm::ConnectionTrait,
    table: &Table,
) -> Result<Plan<TechnicianChange>, ApiError> {
    let stored: HashMap<String, technicians::Model> = technicians::Entity::find()
        .all(conn)
        .await
        .map_err(db_err)?
        .into_iter()
        .map(|t| (t.id.clone(), t))
        .collect();
    let mut plan = Plan::default();
    let (groups, keyless) = sheet::group(&table.rows, "technician_id");
    for row in keyless {
        plan.outcome.refuse(vec![Problem::at(
            row,
            "technician_id",
            msg!("field-required"),
        )]);
    }
    for (id, rows) in groups {
        let given = match technician_of(&rows) {
            Ok(given) => given,
            Err(problems) => {
                plan.outcome.refuse(problems);
                continue;
            }
        };
        let Some(row) = stored.get(&id) else {
            // Parsed once already by technician_of: a refusal here would be a bug.
            plan.changes
                .push(TechnicianChange::Create(Box::new(TechnicianRecord::parse(
                    &given,
                )?)));
            plan.outcome.created += 1;
            continue;
        };
        let before = TechnicianRecord::from_row(row)?;
        let after = TechnicianRecord::parse(&merged(&before, given))?;
        if after == before {
            plan.outcome.unchanged += 1;
        } else if after.capacity < row.booked {
            plan.outcome.refuse(vec![Problem::at(
                rows[0],
                "capacity",
                msg!(
                    "error-capacity-below-booked",
                    capacity = after.capacity,
                    booked = row.booked,
                    id = id.as_str()
                ),
            )]);
        } else {
            plan.outcome.updated += 1;
            plan.changes
                .push(TechnicianChange::Update(Box::new(TechnicianUpdate {
                    row: row.clone(),
                    before,
                    after,
                })));
        }
    }
    Ok(plan)
}

impl DispatchService {
    pub(super) async fn import_technicians(
        &self,
        ctx: &RequestContext,
        request: pb::ImportTechniciansRequest,
    ) -> Result<pb::ImportTechniciansResponse, ApiError> {
        require(&ctx.caller, TEAM_ADMINS)?;
        let upload = request.sheet.unwrap_or_default();
        let table = sheet::read_upload(
            &upload.content,
            &TECHNICIAN_COLUMNS,
            &["technician_id", "technician_name", "regions", "skills"],
        )?;
        let db = &self.dispatcher.db;
        let outcome = if request.validate_only {
            plan_technicians(db, &table).await?.outcome
        } else {
            let now = steelcare_store::now();
            let tx = steelcare_store::begin_write_alone(db, sheet::locks::TECHNICIANS)
                .await
                .map_err(db_err)?;
            let plan = plan_technicians(&tx, &table).await?;
            for change in &plan.changes {
                self.write_imported(&tx, ctx, change, &upload.file_name, now)
                    .await?;
            }
            tx.commit().await.map_err(db_err)?;
            self.dispatcher.committed();
            // Work waiting for someone in these regions is queued again now.
            let regions: HashSet<String> = plan
                .changes
                .iter()
                .map(TechnicianChange::record)
                .filter(|r| r.status == DutyStatus::OnDuty)
                .flat_map(|r| r.regions.iter().cloned())
                .collect();
            if let Err(err) = self.dispatcher.wake_regions(&regions).await {
                tracing::warn!(error = %err, "cannot wake waiting work after an import");
            }
            plan.outcome
        };
        Ok(pb::ImportTechniciansResponse {
            report: Some(outcome.report(&table, ctx.locale, request.validate_only)),
        })
    }

    async fn write_imported(
        &self,
        tx: &DatabaseTransaction,
        ctx: &RequestContext,
        change: &TechnicianChange,
        file_name: &str,
        now: DateTime<Utc>,
    ) -> Result<(), ApiError> {
        let record = change.record();
        let (existing, before) = match change {
            TechnicianChange::Create(_) => (None, None),
            TechnicianChange::Update(u) => (Some(&u.row), Some(summary(&u.before))),
        };
        write_technician(tx, &record.id, record, existing, now).await?;
        store::set_regions(tx, &record.id, &record.regions).await?;
        let mut after = summary(record);
        after["imported_from"] = file_name.into();
        audit(tx, ctx, "technician", &record.id, before, after).await
    }

    pub(super) async fn export_technicians(
        &self,
        ctx: &RequestContext,
        request: pb::ExportTechniciansRequest,
    ) -> Result<pb::ExportTechniciansResponse, ApiError> {
        require(&ctx.caller, EXPORTERS)?;
        let stored = technicians::Entity::find()
            .order_by_asc(technicians::Column::Id)
            .all(&self.dispatcher.db)
            .await
            .map_err(db_err)?;
        let mut rows = Vec::new();
        for row in &stored {
            rows.extend(technician_rows(
                &TechnicianRecord::from_row(row)?,
                ctx.locale,
            ));
        }
        let file = sheet::export(
            sheet::export_format(request.format),
            "technicians",
            self.today(),
            &TECHNICIAN_COLUMNS,
            ctx.locale,
            &rows,
        )?;
        Ok(pb::ExportTechniciansResponse { file: Some(file) })
    }
}
