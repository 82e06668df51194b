//! The technician sheet: its columns, rows read into the `Technician` message the API already
//! checks (so a sheet is refused exactly where `UpsertTechnician` would refuse it), and stored
//! technicians written back as rows.
//!
//! One row per technician, or several rows with the same id: the technician's own columns
//! agree (or are left empty below the first row), and each row may add one certificate and
//! one instrument.

use steelcare_domain::dispatch::Skill;
use steelcare_i18n::{Locale, msg};
use steelcare_proto::common::v1 as common;
use steelcare_proto::dispatch::v1 as pb;
use steelcare_runtime::ApiError;
use steelcare_runtime::validate::to_date;
use steelcare_sheet::{self as sheet, Cell, Problem, Row};

use crate::records::TechnicianRecord;

/// The technician sheet's columns.
pub const TECHNICIAN_COLUMNS: [&str; 18] = [
    "technician_id",
    "technician_name",
    "technician_phone",
    "technician_email",
    "team",
    "regions",
    "skills",
    "calendar",
    "capacity",
    "base_latitude",
    "base_longitude",
    "certificate_kind",
    "certificate_number",
    "certificate_issuer",
    "certificate_valid_until",
    "instrument_kind",
    "instrument_serial",
    "instrument_calibrated_until",
];

/// The technician's own columns: every row of one technician says the same (or nothing).
const OWN_COLUMNS: [&str; 10] = [
    "technician_name",
    "technician_phone",
    "technician_email",
    "team",
    "regions",
    "skills",
    "calendar",
    "capacity",
    "base_latitude",
    "base_longitude",
];

const CERTIFICATE_COLUMNS: [&str; 4] = [
    "certificate_kind",
    "certificate_number",
    "certificate_issuer",
    "certificate_valid_until",
];

const INSTRUMENT_COLUMNS: [&str; 3] = [
    "instrument_kind",
    "instrument_serial",
    "instrument_calibrated_until",
];

const FIELDS: [(&str, &str); 20] = [
    ("technician.technician_id", "technician_id"),
    ("technician.person.display_name", "technician_name"),
    ("technician.person.phone", "technician_phone"),
    ("technician.person.email", "technician_email"),
    ("technician.team", "team"),
    ("technician.regions", "regions"),
    ("technician.regions[]", "regions"),
    ("technician.skills", "skills"),
    ("technician.skills[]", "skills"),
    ("technician.calendar", "calendar"),
    ("technician.capacity", "capacity"),
    ("technician.base_location.latitude", "base_latitude"),
    ("technician.base_location.longitude", "base_longitude"),
    ("technician.certificates[].kind", "certificate_kind"),
    ("technician.certificates[].number", "certificate_number"),
    ("technician.certificates[].issuer", "certificate_issuer"),
    (
        "technician.certificates[].valid_until",
        "certificate_valid_until",
    ),
    ("technician.instruments[].kind", "instrument_kind"),
    (
        "technician.instruments[].serial_number",
        "instrument_serial",
    ),
    (
        "technician.instruments[].calibration_valid_until",
        "instrument_calibrated_until",
    ),
];

/// Where a field of the technician's message is in the sheet.
fn locate(
    rows: &[&Row],
    certificate_rows: &[&Row],
    instrument_rows: &[&Row],
    field: &str,
) -> (usize, Option<&'static str>) {
    if field.starts_with("technician.certificates") {
        return sheet::locate(certificate_rows, "technician.certificates", &FIELDS, field);
    }
    if field.starts_with("technician.instruments") {
        return sheet::locate(instrument_rows, "technician.instruments", &FIELDS, field);
    }
    sheet::locate(rows, "", &FIELDS, field)
}

/// The skills of a cell, each by its name or label; unknown ones are problems.
fn skills(row: &Row, out: &mut Vec<Problem>) -> Vec<i32> {
    sheet::split_list(row.get("skills"))
        .iter()
        .filter_map(|text| {
            let found = sheet::enum_value(text, "Skill", |n| {
                pb::Skill::try_from(n).ok().map(|s| s.as_str_name())
            });
            if found.is_none() {
                out.push(Problem::at(
                    row,
                    "skills",
                    msg!("sheet-unknown-value", value = text.clone()),
                ));
            }
            found
        })
        .collect()
}

fn certificate(row: &Row, out: &mut Vec<Problem>) -> Option<pb::Certificate> {
    CERTIFICATE_COLUMNS
        .iter()
        .any(|c| !row.get(c).is_empty())
        .then(|| pb::Certificate {
            kind: row.get("certificate_kind").to_owned(),
            number: row.get("certificate_number").to_owned(),
            issuer: row.get("certificate_issuer").to_owned(),
            valid_until: sheet::date(row, "certificate_valid_until", out).map(to_date),
        })
}

fn instrument(row: &Row, out: &mut Vec<Problem>) -> Option<common::Instrument> {
    if INSTRUMENT_COLUMNS.iter().all(|c| row.get(c).is_empty()) {
        return None;
    }
    let text = row.get("instrument_kind");
    let kind = if text.is_empty() {
        0
    } else {
        sheet::enum_value(text, "InstrumentKind", |n| {
            common::InstrumentKind::try_from(n)
                .ok()
                .map(|k| k.as_str_name())
        })
        .unwrap_or_else(|| {
            out.push(Problem::at(
                row,
                "instrument_kind",
                msg!("sheet-unknown-value", value = text.to_owned()),
            ));
            0
        })
    };
    Some(common::Instrument {
        kind,
        serial_number: row.get("instrument_serial").to_owned(),
        calibration_valid_until: sheet::date(row, "instrument_calibrated_until", out).map(to_date),
    })
}

/// A technician as the rows sharing an id describe them, in the `Technician` message (the
/// duty status and leave are not the sheet's: the caller keeps the stored ones).
pub fn technician_of(rows: &[&Row]) -> Result<pb::Technician, Vec<Problem>> {
    let Some(first) = rows.first() else {
        return Err(Vec::new());
    };
    let mut out = sheet::disagreements(rows, &OWN_COLUMNS);
    let mut certificate_rows = Vec::new();
    let mut certificates = Vec::new();
    let mut instrument_rows = Vec::new();
    let mut instruments = Vec::new();
    for row in rows {
        if let Some(c) = certificate(row, &mut out) {
            certificate_rows.push(*row);
            certificates.push(c);
        }
        if let Some(i) = instrument(row, &mut out) {
            instrument_rows.push(*row);
            instruments.push(i);
        }
    }
    let latitude = !first.get("base_latitude").is_empty();
    let longitude = !first.get("base_longitude").is_empty();
    sheet::both_or_neither(
        first,
        ("base_latitude", latitude),
        ("base_longitude", longitude),
        &mut out,
    );
    let base_location = (latitude && longitude).then(|| common::GeoPoint {
        latitude: sheet::number(first, "base_latitude", &mut out),
        longitude: sheet::number(first, "base_longitude", &mut out),
    });
    let capacity = match first.get("capacity") {
        "" => 1,
        _ => sheet::number(first, "capacity", &mut out),
    };
    let technician = pb::Technician {
        technician_id: first.get("technician_id").to_owned(),
        person: Some(common::PersonRef {
            display_name: first.get("technician_name").to_owned(),
            phone: first.get("technician_phone").to_owned(),
            email: first.get("technician_email").to_owned(),
            ..Default::default()
        }),
        team: first.get("team").to_owned(),
        regions: sheet::split_list(first.get("regions")),
        base_location,
        skills: skills(first, &mut out),
        certificates,
        calendar: first.get("calendar").to_owned(),
        capacity,
        instruments,
        ..Default::default()
    };
    if let Err(err) = TechnicianRecord::parse(&technician) {
        let ApiError::InvalidArgument(violations) = err else {
            out.push(Problem::at(first, "technician_id", msg!("field-invalid")));
            return Err(out);
        };
        let found = Problem::from_violations(violations, |field| {
            locate(rows, &certificate_rows, &instrument_rows, field)
        });
        sheet::add_api_problems(&mut out, found);
    }
    if out.is_empty() {
        Ok(technician)
    } else {
        Err(out)
    }
}

/// The rows of a stored technician, values in `locale`: one per certificate or instrument
/// (at least one).
pub fn technician_rows(t: &TechnicianRecord, locale: Locale) -> Vec<Vec<Cell>> {
    let skills: Vec<String> = t
        .skills
        .iter()
        .map(|s: &Skill| s.label().render(locale))
        .collect();
    let own = vec![
        Cell::from(t.id.as_str()),
        Cell::from(t.person.display_name.as_str()),
        Cell::from(t.person.phone.as_str()),
        Cell::from(t.person.email.as_str()),
        Cell::from(t.team.as_str()),
        Cell::from(t.regions.join(", ")),
        Cell::from(skills.join(", ")),
        Cell::from(t.calendar.as_str()),
        Cell::Number(f64::from(t.capacity)),
        t.base.map_or(Cell::Empty, |p| Cell::Number(p.latitude)),
        t.base.map_or(Cell::Empty, |p| Cell::Number(p.longitude)),
    ];
    let lines = t.certificates.len().max(t.instruments.len()).max(1);
    (0..lines)
        .map(|i| {
            let mut cells = own.clone();
            match t.certificates.get(i) {
                Some(c) => cells.extend([
                    Cell::from(c.kind.as_str()),
                    Cell::from(c.number.as_str()),
                    Cell::from(c.issuer.as_str()),
                    Cell::Date(c.valid_until),
                ]),
                None => cells.extend([Cell::Empty, Cell::Empty, Cell::Empty, Cell::Empty]),
            }
            match t.instruments.get(i) {
                Some(x) => cells.extend([
                    Cell::from(
                        common::InstrumentKind::try_from(x.kind)
                            .map(|k| sheet::enum_text("InstrumentKind", k.as_str_name(), locale))
                            .unwrap_or_default(),
                    ),
                    Cell::from(x.serial.as_str()),
                    Cell::Date(x.calibrated_until),
                ]),
                None => cells.extend([Cell::Empty, Cell::Empty, Cell::Empty]),
            }
            cells
        })
        .collect()
}
