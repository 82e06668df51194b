//! The customer and project sheets: their columns, a sheet's rows read into the requests the
//! API already checks (so a sheet is refused exactly where `CreateCustomer` or
//! `RegisterProject` would refuse it), and what is stored written back as rows.

use std::collections::HashMap;

use chrono::NaiveDate;
use steelcare_domain::warranty::{self, WarrantyScope, WarrantyTerm};
use steelcare_i18n::{Locale, msg};
use steelcare_proto::common::v1 as common;
use steelcare_proto::intake::v1 as pb;
use steelcare_runtime::ApiError;
use steelcare_runtime::validate::to_date;
use steelcare_sheet::{self as sheet, Cell, Problem, Row};
use steelcare_store::entity::{customers, dossier_items, projects, warranty_terms};

use crate::domain::records::{Address, Person, from_json};
use crate::domain::requests::{NewCustomer, NewProject};
use crate::view::DOSSIER_KINDS;

/// The customer sheet: one row per contact.
pub const CUSTOMER_COLUMNS: [&str; 5] = [
    "organization_name",
    "contact_name",
    "contact_title",
    "contact_phone",
    "contact_email",
];

const CUSTOMER_FIELDS: [(&str, &str); 5] = [
    ("organization_name", "organization_name"),
    ("contacts[].display_name", "contact_name"),
    ("contacts[].title", "contact_title"),
    ("contacts[].phone", "contact_phone"),
    ("contacts[].email", "contact_email"),
];

/// The project sheet's warranty columns, by scope.
const TERM_COLUMNS: [(WarrantyScope, &str); 5] = [
    (
        WarrantyScope::MainStructure,
        "warranty_months_main_structure",
    ),
    (
        WarrantyScope::Waterproofing,
        "warranty_months_waterproofing",
    ),
    (
        WarrantyScope::HeatingCooling,
        "warranty_months_heating_cooling",
    ),
    (
        WarrantyScope::InstallationDecoration,
        "warranty_months_installation_decoration",
    ),
    (WarrantyScope::Other, "warranty_months_other"),
];

/// The project sheet's dossier columns, in checklist order ([`DOSSIER_KINDS`]).
const DOSSIER_COLUMNS: [&str; 7] = [
    "dossier_as_built_drawings",
    "dossier_design_changes",
    "dossier_material_certificates",
    "dossier_test_reports",
    "dossier_concealed_work_records",
    "dossier_structural_acceptance_records",
    "dossier_om_manual",
];

/// The project sheet: one row per project.
pub const PROJECT_COLUMNS: [&str; 28] = [
    "contract_number",
    "customer",
    "project_name",
    "province",
    "city",
    "district",
    "street",
    "latitude",
    "longitude",
    "structure_type",
    "completion_date",
    "design_service_life_years",
    "technical_lead_name",
    "technical_lead_phone",
    "designer_name",
    "designer_organization",
    TERM_COLUMNS[0].1,
    TERM_COLUMNS[1].1,
    TERM_COLUMNS[2].1,
    TERM_COLUMNS[3].1,
    TERM_COLUMNS[4].1,
    DOSSIER_COLUMNS[0],
    DOSSIER_COLUMNS[1],
    DOSSIER_COLUMNS[2],
    DOSSIER_COLUMNS[3],
    DOSSIER_COLUMNS[4],
    DOSSIER_COLUMNS[5],
    DOSSIER_COLUMNS[6],
];

const PROJECT_FIELDS: [(&str, &str); 16] = [
    ("contract_number", "contract_number"),
    ("customer_id", "customer"),
    ("name", "project_name"),
    ("address.province", "province"),
    ("address.city", "city"),
    ("address.district", "district"),
    ("address.street", "street"),
    ("address.position.latitude", "latitude"),
    ("address.position.longitude", "longitude"),
    ("structure_type", "structure_type"),
    ("completion_acceptance_date", "completion_date"),
    ("design_service_life_years", "design_service_life_years"),
    ("technical_lead.display_name", "technical_lead_name"),
    ("technical_lead.phone", "technical_lead_phone"),
    ("designer.display_name", "designer_name"),
    ("designer.organization", "designer_organization"),
];

/// A customer as its rows describe it.
pub fn customer_of(rows: &[&Row]) -> Result<NewCustomer, Vec<Problem>> {
    let request = pb::CreateCustomerRequest {
        request_id: String::new(),
        organization_name: rows
            .first()
            .map_or("", |r| r.get("organization_name"))
            .to_owned(),
        contacts: rows
            .iter()
            .map(|r| common::PersonRef {
                display_name: r.get("contact_name").to_owned(),
                title: r.get("contact_title").to_owned(),
                phone: r.get("contact_phone").to_owned(),
                email: r.get("contact_email").to_owned(),
                ..Default::default()
            })
            .collect(),
    };
    NewCustomer::try_from(&request).map_err(|err| {
        problems(err, |field| {
            sheet::locate(rows, "contacts", &CUSTOMER_FIELDS, field)
        })
    })
}

/// The rows of a stored customer: one per contact.
pub fn customer_rows(row: &customers::Model) -> Result<Vec<Vec<Cell>>, ApiError> {
    let contacts: Vec<Person> = from_json(&row.contacts, "customer contacts")?;
    Ok(contacts
        .iter()
        .map(|c| {
            vec![
                Cell::from(row.organization_name.as_str()),
                Cell::from(c.display_name.as_str()),
                Cell::from(c.title.as_str()),
                Cell::from(c.phone.as_str()),
                Cell::from(c.email.as_str()),
            ]
        })
        .collect())
}

/// The API's field violations as the sheet's problems (the parsers refuse with nothing else;
/// anything else is placed on the record's first row as "invalid").
fn problems(err: ApiError, locate: impl Fn(&str) -> (usize, Option<&'static str>)) -> Vec<Problem> {
    match err {
        ApiError::InvalidArgument(violations) => Problem::from_violations(violations, locate),
        _ => vec![Problem {
            row: locate("").0,
            column: None,
            field: None,
            message: msg!("field-invalid"),
        }],
    }
}

/// What the customer sheet carries of a contact.
pub fn contact_view(p: &Person) -> Person {
    Person {
        display_name: p.display_name.clone(),
        title: p.title.clone(),
        phone: p.phone.clone(),
        email: p.email.clone(),
        ..Person::default()
    }
}

/// What the project sheet carries of the technical lead.
fn lead_view(p: &Person) -> Person {
    Person {
        display_name: p.display_name.clone(),
        phone: p.phone.clone(),
        ..Person::default()
    }
}

/// What the project sheet carries of the designer.
fn designer_view(p: &Person) -> Person {
    Person {
        display_name: p.display_name.clone(),
        organization: p.organization.clone(),
        ..Person::default()
    }
}

/// A stored person with what a sheet carries of them replaced (the rest kept).
pub fn merge_lead(stored: &Person, sheet: &Person) -> Person {
    Person {
        display_name: sheet.display_name.clone(),
        phone: sheet.phone.clone(),
        ..stored.clone()
    }
}

/// A stored designer with what a sheet carries of them replaced (the rest kept).
pub fn merge_designer(stored: &Person, sheet: &Person) -> Person {
    Person {
        display_name: sheet.display_name.clone(),
        organization: sheet.organization.clone(),
        ..stored.clone()
    }
}

/// What a project sheet says of a project, in the form stored projects are compared in.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectFacts {
    pub customer_id: String,
    pub name: String,
    pub address: Address,
    pub structure_type: String,
    pub completion_date: NaiveDate,
    pub design_life_years: u32,
    pub technical_lead: Person,
    pub designer: Person,
    /// (scope, months), by scope.
    pub terms: Vec<(String, u32)>,
    /// (kind, reference) of the documents handed over, in checklist order.
    pub dossier: Vec<(String, String)>,
}

/// A project row read: the project to register (or to match) and its dossier.
pub struct ProjectRow {
    pub new: NewProject,
    pub dossier: Vec<(pb::DossierItemKind, String)>,
}

impl ProjectRow {
    /// The terms to store: those the sheet gives, and the statutory default of every scope
    /// that has one and is not given.
    pub fn terms(&self) -> Vec<WarrantyTerm> {
        let new = &self.new;
        let mut terms = new.terms.clone();
        for default in warranty::default_terms(new.completion_date, new.design_life_years) {
            if !terms.iter().any(|t| t.scope == default.scope) {
                terms.push(default);
            }
        }
        terms.sort_by_key(|t| t.scope.proto_value());
        terms
    }

    /// The facts to compare with a stored project.
    pub fn facts(&self) -> ProjectFacts {
        let new = &self.new;
        ProjectFacts {
            customer_id: new.customer_id.clone(),
            name: new.name.clone(),
            address: new.address.clone(),
            structure_type: new.structure_type.as_str_name().to_owned(),
            completion_date: new.completion_date,
            design_life_years: new.design_life_years,
            technical_lead: lead_view(&new.technical_lead),
            designer: designer_view(&new.designer),
            terms: term_facts(self.terms().iter().map(|t| (t.scope.as_str(), t.months))),
            dossier: self
                .dossier
                .iter()
                .map(|(k, r)| (k.as_str_name().to_owned(), r.clone()))
                .collect(),
        }
    }
}

fn term_facts<'a>(terms: impl Iterator<Item = (&'a str, u32)>) -> Vec<(String, u32)> {
    let mut out: Vec<(String, u32)> = terms.map(|(s, m)| (s.to_owned(), m)).collect();
    out.sort();
    out
}

/// The facts of a stored project.
pub fn stored_facts(
    row: &projects::Model,
    terms: &[warranty_terms::Model],
    items: &[dossier_items::Model],
) -> Result<ProjectFacts, ApiError> {
    let completion_date = NaiveDate::parse_from_str(&row.completion_date, "%Y-%m-%d")
        .map_err(|err| ApiError::Internal(format!("corrupt completion date: {err}")))?;
    Ok(ProjectFacts {
        customer_id: row.customer_id.clone(),
        name: row.name.clone(),
        address: from_json(&row.address, "project address")?,
        structure_type: row.structure_type.clone(),
        completion_date,
        design_life_years: u32::try_from(row.design_life_years).unwrap_or(50),
        technical_lead: lead_view(&from_json(&row.technical_lead, "technical lead")?),
        designer: designer_view(&from_json(&row.designer, "designer")?),
        terms: term_facts(
            terms
                .iter()
                .map(|t| (t.scope.as_str(), u32::try_from(t.months).unwrap_or(0))),
        ),
        dossier: DOSSIER_KINDS
            .iter()
            .filter_map(|kind| {
                items
                    .iter()
                    .find(|i| i.present && i.kind == kind.as_str_name())
                    .map(|i| (i.kind.clone(), i.document_reference.clone()))
            })
            .collect(),
    })
}

/// A structure type cell (its name or label); 0 when empty (the API says it is required), and
/// an impossible value with a problem when unknown.
fn structure_type(row: &Row, out: &mut Vec<Problem>) -> i32 {
    match row.get("structure_type") {
        "" => 0,
        text => sheet::enum_value(text, "StructureType", |n| {
            pb::StructureType::try_from(n).ok().map(|s| s.as_str_name())
        })
        .unwrap_or_else(|| {
            out.push(Problem::at(
                row,
                "structure_type",
                msg!("sheet-unknown-value", value = text.to_owned()),
            ));
            -1
        }),
    }
}

/// The warranty terms a row gives, and the column of each (in the terms' order).
fn warranty_terms(row: &Row, out: &mut Vec<Problem>) -> (Vec<pb::WarrantyTerm>, Vec<&'static str>) {
    TERM_COLUMNS
        .iter()
        .filter(|(_, column)| !row.get(column).is_empty())
        .map(|(scope, column)| {
            let term = pb::WarrantyTerm {
                scope: scope.proto_value(),
                months: sheet::number(row, column, out),
                ..Default::default()
            };
            (term, *column)
        })
        .unzip()
}

/// A project row as the RegisterProject request for `customer_id`; what the sheet could not
/// read goes to `out`.
fn register_request(
    row: &Row,
    customer_id: &str,
    warranty_terms: Vec<pb::WarrantyTerm>,
    out: &mut Vec<Problem>,
) -> pb::RegisterProjectRequest {
    let coordinate = |column: &'static str, out: &mut Vec<Problem>| -> Option<f64> {
        (!row.get(column).is_empty()).then(|| sheet::number(row, column, out))
    };
    let (latitude, longitude) = (coordinate("latitude", out), coordinate("longitude", out));
    sheet::both_or_neither(
        row,
        ("latitude", latitude.is_some()),
        ("longitude", longitude.is_some()),
        out,
    );
    let position = latitude
        .zip(longitude)
        .map(|(latitude, longitude)| common::GeoPoint {
            latitude,
            longitude,
        });
    pb::RegisterProjectRequest {
        request_id: String::new(),
        customer_id: customer_id.to_owned(),
        name: row.get("project_name").to_owned(),
        address: Some(common::Address {
            province: row.get("province").to_owned(),
            city: row.get("city").to_owned(),
            district: row.get("district").to_owned(),
            street: row.get("street").to_owned(),
            position,
        }),
        contract_number: row.get("contract_number").to_owned(),
        structure_type: structure_type(row, out),
        completion_acceptance_date: sheet::date(row, "completion_date", out).map(to_date),
        technical_lead: Some(common::PersonRef {
            display_name: row.get("technical_lead_name").to_owned(),
            phone: row.get("technical_lead_phone").to_owned(),
            ..Default::default()
        }),
        designer: Some(common::PersonRef {
            display_name: row.get("designer_name").to_owned(),
            organization: row.get("designer_organization").to_owned(),
            ..Default::default()
        }),
        warranty_terms,
        design_service_life_years: sheet::number(row, "design_service_life_years", out),
    }
}

/// A project row read into a RegisterProject request for `customer_id`, checked as
/// RegisterProject checks it; every problem placed at its cell.
pub fn project_of(
    row: &Row,
    customer_id: &str,
    today: NaiveDate,
) -> Result<ProjectRow, Vec<Problem>> {
    let mut out = Vec::new();
    let (terms, term_columns) = warranty_terms(row, &mut out);
    let request = register_request(row, customer_id, terms, &mut out);
    let dossier = DOSSIER_KINDS
        .iter()
        .zip(DOSSIER_COLUMNS)
        .filter(|(_, column)| !row.get(column).is_empty())
        .map(|(kind, column)| (*kind, row.get(column).to_owned()))
        .collect();
    let locate = |field: &str| {
        if let Some(rest) = field.strip_prefix("warranty_terms[")
            && let Some(column) = rest
                .split_once(']')
                .and_then(|(i, _)| i.parse::<usize>().ok())
                .and_then(|i| term_columns.get(i))
        {
            return (row.number, Some(*column));
        }
        sheet::locate(&[row], "", &PROJECT_FIELDS, field)
    };
    match NewProject::parse(&request, today) {
        Ok(new) if out.is_empty() => Ok(ProjectRow { new, dossier }),
        Ok(_) => Err(out),
        Err(err) => {
            sheet::add_api_problems(&mut out, problems(err, locate));
            Err(out)
        }
    }
}

/// The row of a stored project, values in `locale`.
pub fn project_row(
    row: &projects::Model,
    customer_names: &HashMap<String, String>,
    terms: &[warranty_terms::Model],
    items: &[dossier_items::Model],
    locale: Locale,
) -> Result<Vec<Cell>, ApiError> {
    let facts = stored_facts(row, terms, items)?;
    let a = &facts.address;
    let number = |n: Option<f64>| n.map_or(Cell::Empty, Cell::Number);
    let mut cells = vec![
        Cell::from(row.contract_number.as_str()),
        Cell::from(
            customer_names
                .get(&row.customer_id)
                .cloned()
                .unwrap_or_default(),
        ),
        Cell::from(row.name.as_str()),
        Cell::from(a.province.as_str()),
        Cell::from(a.city.as_str()),
        Cell::from(a.district.as_str()),
        Cell::from(a.street.as_str()),
        number(a.latitude),
        number(a.longitude),
        Cell::from(sheet::enum_text(
            "StructureType",
            &row.structure_type,
            locale,
        )),
        Cell::Date(facts.completion_date),
        Cell::Number(f64::from(facts.design_life_years)),
        Cell::from(facts.technical_lead.display_name.as_str()),
        Cell::from(facts.technical_lead.phone.as_str()),
        Cell::from(facts.designer.display_name.as_str()),
        Cell::from(facts.designer.organization.as_str()),
    ];
    for (scope, _) in TERM_COLUMNS {
        cells.push(
            facts
                .terms
                .iter()
                .find(|(s, _)| s == scope.as_str())
                .map_or(Cell::Empty, |(_, m)| Cell::Number(f64::from(*m))),
        );
    }
    for kind in DOSSIER_KINDS {
        cells.push(
            facts
                .dossier
                .iter()
                .find(|(k, _)| k == kind.as_str_name())
                .map_or(Cell::Empty, |(_, r)| Cell::from(r.as_str())),
        );
    }
    Ok(cells)
}
