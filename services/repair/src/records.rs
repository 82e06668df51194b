//! Stored shapes and request parsing: the kinds and statuses of `case_records` rows, and the
//! parts several requests share (signatures, responsibility shares, evidence, money, time
//! ranges), each returning every field violation found.

use chrono::{DateTime, TimeDelta, Utc};
use steelcare_domain::cost::{Party, Share};
use steelcare_domain::money::{Amount, Currency, MoneyError};
use steelcare_proto::common::v1 as common;
use steelcare_proto::repair::v1 as pb;
use steelcare_runtime::convert::from_timestamp;
use steelcare_runtime::validate::{LONG, SHORT, Violations};

/// Kinds of repair records.
pub mod kind {
    /// A survey report version.
    pub const REPORT: &str = "report";
    /// A plan version.
    pub const PLAN: &str = "plan";
    /// An internal review of a plan version.
    pub const REVIEW: &str = "review";
    /// A communication with the customer.
    pub const COMMUNICATION: &str = "communication";
    /// The customer's decision on a plan version.
    pub const DECISION: &str = "decision";
    /// The handling agreement.
    pub const AGREEMENT: &str = "agreement";
    /// An amendment of the agreement.
    pub const AMENDMENT: &str = "amendment";
    /// A work-log entry.
    pub const WORK: &str = "work";
    /// A key-step inspection.
    pub const INSPECTION: &str = "inspection";
    /// The declaration that the repair is finished.
    pub const COMPLETION: &str = "completion";
    /// The end of a case without repair.
    pub const NO_REPAIR: &str = "no_repair";
    /// A dispute.
    pub const DISPUTE: &str = "dispute";
}

/// Statuses of repair records (plans and disputes change; the others are `recorded`).
pub mod status {
    /// Written once, never changed.
    pub const RECORDED: &str = steelcare_store::case_records::RECORDED;
    /// An inspection that passed.
    pub const PASSED: &str = "passed";
    /// An inspection that failed.
    pub const FAILED: &str = "failed";
    /// A completion a failed acceptance cleared.
    pub const CLEARED: &str = "cleared";
    /// An open dispute.
    pub const OPEN: &str = "open";
    /// A resolved dispute.
    pub const RESOLVED: &str = "resolved";
}

/// The stored name of a plan status.
pub fn plan_status_name(s: pb::PlanStatus) -> &'static str {
    match s {
        pb::PlanStatus::Unspecified => "unspecified",
        pb::PlanStatus::Proposed => "proposed",
        pb::PlanStatus::Approved => "approved",
        pb::PlanStatus::Rejected => "rejected",
        pb::PlanStatus::ChangesRequested => "changes_requested",
        pb::PlanStatus::Agreed => "agreed",
        pb::PlanStatus::Superseded => "superseded",
    }
}

/// The plan status of a stored name.
pub fn plan_status(name: &str) -> pb::PlanStatus {
    [
        pb::PlanStatus::Proposed,
        pb::PlanStatus::Approved,
        pb::PlanStatus::Rejected,
        pb::PlanStatus::ChangesRequested,
        pb::PlanStatus::Agreed,
        pb::PlanStatus::Superseded,
    ]
    .into_iter()
    .find(|s| plan_status_name(*s) == name)
    .unwrap_or(pb::PlanStatus::Unspecified)
}

/// The unique slot of a record that must be the only one of its kind.
pub fn slot(kind: &str, ticket_id: &str, version: i32) -> String {
    format!("{kind}/{ticket_id}/{version}")
}

/// The party of a protobuf value.
pub fn party(value: i32) -> Option<Party> {
    use common::ResponsibleParty as P;
    Some(match P::try_from(value).ok()? {
        P::Unspecified => return None,
        P::Contractor => Party::Contractor,
        P::Designer => Party::Designer,
        P::MaterialSupplier => Party::MaterialSupplier,
        P::CustomerUse => Party::CustomerUse,
        P::ThirdParty => Party::ThirdParty,
        P::ForceMajeure => Party::ForceMajeure,
        P::Undetermined => Party::Undetermined,
        P::Environment => Party::Environment,
    })
}

/// The protobuf value of a party.
pub fn party_value(party: Party) -> i32 {
    use common::ResponsibleParty as P;
    let p = match party {
        Party::Contractor => P::Contractor,
        Party::Designer => P::Designer,
        Party::MaterialSupplier => P::MaterialSupplier,
        Party::CustomerUse => P::CustomerUse,
        Party::ThirdParty => P::ThirdParty,
        Party::ForceMajeure => P::ForceMajeure,
        Party::Undetermined => P::Undetermined,
        Party::Environment => P::Environment,
    };
    p as i32
}

/// Responsibility shares: each party named once, 1–100 percent each, adding up to 100;
/// UNDETERMINED only alone; a third party by name (a claim names whom it is against).
/// `required` refuses an empty list.
pub fn shares(
    v: &mut Violations,
    field: &str,
    given: &[common::ResponsibilityShare],
    required: bool,
) -> Vec<Share> {
    if given.is_empty() {
        if required {
            v.add(
                field,
                "required: who is responsible, in percent adding up to 100",
            );
        }
        return Vec::new();
    }
    let mut out: Vec<Share> = Vec::new();
    let mut ok = true;
    for (i, s) in given.iter().enumerate() {
        let Some(p) = party(s.party) else {
            v.add(format!("{field}[{i}].party"), "required");
            ok = false;
            continue;
        };
        if !(1..=100).contains(&s.percent) {
            v.add(format!("{field}[{i}].percent"), "between 1 and 100");
            ok = false;
            continue;
        }
        if out.iter().any(|o| o.party == p) {
            v.add(format!("{field}[{i}].party"), "named twice");
            ok = false;
            continue;
        }
        let name = v.optional(&format!("{field}[{i}].party_name"), &s.party_name, SHORT);
        if p == Party::ThirdParty && name.is_empty() {
            v.add(
                format!("{field}[{i}].party_name"),
                "required for a third party: who caused it (a claim is made against them)",
            );
        }
        out.push(Share {
            party: p,
            percent: s.percent.unsigned_abs(),
            name,
        });
    }
    if ok {
        let total: u32 = out.iter().map(|s| s.percent).sum();
        if total != 100 {
            v.add(field, format!("shares add up to {total}, not 100"));
        }
        if out.len() > 1 && out.iter().any(|s| s.party == Party::Undetermined) {
            v.add(field, "UNDETERMINED stands alone at 100 percent");
        }
    }
    out
}

/// The protobuf form of shares.
pub fn shares_proto(shares: &[Share]) -> Vec<common::ResponsibilityShare> {
    shares
        .iter()
        .map(|s| common::ResponsibilityShare {
            party: party_value(s.party),
            percent: i32::try_from(s.percent).unwrap_or(100),
            party_name: s.name.clone(),
        })
        .collect()
}

/// Shares read back from a stored record (already checked when written).
pub fn shares_of(given: &[common::ResponsibilityShare]) -> Vec<Share> {
    given
        .iter()
        .filter_map(|s| {
            Some(Share {
                party: party(s.party)?,
                percent: s.percent.unsigned_abs(),
                name: s.party_name.clone(),
            })
        })
        .collect()
}

/// A timestamp that must be given, valid and not in the future.
pub fn past_time(
    v: &mut Violations,
    field: &str,
    t: Option<&prost_types::Timestamp>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    match t.map(|t| from_timestamp(t, field)) {
        None => {
            v.add(field, "required");
            None
        }
        Some(Err(_)) => {
            v.add(
                field,
                "out of range: timestamps must fall in years 1 to 9999",
            );
            None
        }
        Some(Ok(at)) if at > now + TimeDelta::minutes(5) => {
            v.add(field, "in the future");
            None
        }
        Some(Ok(at)) => Some(at),
    }
}

/// A time range with both ends, the end not before the start; `now` refuses an end in the
/// future.
pub fn time_range(
    v: &mut Violations,
    field: &str,
    r: Option<&common::TimeRange>,
    now: Option<DateTime<Utc>>,
) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let Some(r) = r else {
        v.add(field, "required");
        return None;
    };
    let end_of = |v: &mut Violations, name: &str, t: Option<&prost_types::Timestamp>| {
        let f = format!("{field}.{name}");
        match (t.map(|t| from_timestamp(t, &f)), now) {
            (Some(Ok(at)), Some(now)) if at > now + TimeDelta::minutes(5) => {
                v.add(f, "in the future");
                None
            }
            (Some(Ok(at)), _) => Some(at),
            (Some(Err(_)), _) => {
                v.add(f, "out of range: timestamps must fall in years 1 to 9999");
                None
            }
            (None, _) => {
                v.add(f, "required");
                None
            }
        }
    };
    let start = end_of(v, "start_time", r.start_time.as_ref());
    let end = end_of(v, "end_time", r.end_time.as_ref());
    let (start, end) = (start?, end?);
    // An instant (end == start) is a range too: a survey submitted in the second of arrival.
    if end < start {
        v.add(format!("{field}.end_time"), "must not be before start_time");
        return None;
    }
    Some((start, end))
}

/// Signatures: the signer's name, role, method and time; a dissenting signer states their
/// opinion. `needed` roles must each sign.
pub fn signatures(
    v: &mut Violations,
    field: &str,
    given: &[common::Signature],
    needed: &[common::SignatureRole],
    now: DateTime<Utc>,
) -> Vec<common::Signature> {
    let mut out = Vec::new();
    for (i, s) in given.iter().enumerate() {
        let f = format!("{field}[{i}]");
        let signer = steelcare_runtime::validate::Person::parse(
            v,
            &format!("{f}.signer"),
            s.signer.as_ref(),
            true,
            false,
        );
        if matches!(
            common::SignatureRole::try_from(s.role),
            Err(_) | Ok(common::SignatureRole::Unspecified)
        ) {
            v.add(format!("{f}.role"), "required: whose signature this is");
        }
        if matches!(
            common::SignatureMethod::try_from(s.method),
            Err(_) | Ok(common::SignatureMethod::Unspecified)
        ) {
            v.add(format!("{f}.method"), "required");
        }
        let signed = past_time(v, &format!("{f}.signed_time"), s.signed_time.as_ref(), now);
        let opinion = v.optional(&format!("{f}.opinion"), &s.opinion, LONG);
        // One representative signs for each side; nobody signs twice in the same capacity.
        let once = [
            common::SignatureRole::CustomerRepresentative as i32,
            common::SignatureRole::ContractorRepresentative as i32,
        ];
        let earlier = &given[..i];
        if once.contains(&s.role) && earlier.iter().any(|e| e.role == s.role) {
            v.add(
                format!("{f}.role"),
                format!(
                    "the {} signs once",
                    role_words(common::SignatureRole::try_from(s.role).unwrap_or_default())
                ),
            );
        } else if earlier.iter().any(|e| {
            e.role == s.role
                && e.signer.as_ref().map(|p| p.display_name.trim())
                    == s.signer.as_ref().map(|p| p.display_name.trim())
        }) {
            v.add(f.clone(), "the same person signs once in the same capacity");
        }
        if s.dissent && opinion.is_empty() {
            v.add(
                format!("{f}.opinion"),
                "a dissenting signature states the signer's opinion",
            );
        }
        out.push(common::Signature {
            signer: Some(signer.to_proto()),
            signed_time: signed.map(steelcare_runtime::convert::to_timestamp),
            opinion,
            ..s.clone()
        });
    }
    for role in needed {
        if !given.iter().any(|s| s.role == *role as i32) {
            v.add(
                field,
                format!("a signature of the {} is required", role_words(*role)),
            );
        }
    }
    out
}

fn role_words(role: common::SignatureRole) -> &'static str {
    use common::SignatureRole as R;
    match role {
        R::CustomerRepresentative => "customer's representative",
        R::Surveyor => "surveyor",
        R::Engineer => "engineer",
        R::Approver => "approver",
        R::ContractorRepresentative => "contractor's representative",
        R::CrewLeader => "crew leader",
        R::Appraiser => "appraiser",
        R::Unspecified => "signer",
    }
}

/// An amount: an ISO 4217 currency the product knows, 0 to [`steelcare_domain::money::MAX_MINOR`] minor units, in the
/// contractor's currency. Each problem is named at `field.currency_code` or
/// `field.amount_minor`; `None` when absent (refused when `required`) or refused.
pub fn money(
    v: &mut Violations,
    field: &str,
    m: Option<&common::Money>,
    required: bool,
    currency: Currency,
) -> Option<Amount> {
    let Some(m) = m else {
        if required {
            v.add(field, "required");
        }
        return None;
    };
    match Amount::parse(&m.currency_code, m.amount_minor) {
        Ok(a) if a.currency() != currency => {
            v.add(
                format!("{field}.currency_code"),
                format!(
                    "amounts are in {currency} (repair.currency), not {}",
                    a.currency()
                ),
            );
            None
        }
        Ok(a) => Some(a),
        Err(err @ (MoneyError::NoCurrency | MoneyError::UnknownCurrency(_))) => {
            v.add(format!("{field}.currency_code"), err.to_string());
            None
        }
        Err(err) => {
            v.add(format!("{field}.amount_minor"), err.to_string());
            None
        }
    }
}

/// The wire form of an amount.
pub fn money_proto(a: Amount) -> common::Money {
    common::Money {
        currency_code: a.currency().code().to_owned(),
        amount_minor: a.minor(),
    }
}

/// Text lists: each item non-empty and bounded; at most `max` items.
pub fn texts(v: &mut Violations, field: &str, given: &[String], max: usize) -> Vec<String> {
    if given.len() > max {
        v.add(field, format!("at most {max} items"));
    }
    given
        .iter()
        .enumerate()
        .map(|(i, t)| v.required(&format!("{field}[{i}]"), t, LONG))
        .collect()
}

/// Ids listed by a caller: each bounded, none twice.
pub fn ids(v: &mut Violations, field: &str, given: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (i, id) in given.iter().enumerate() {
        let id = v.required(&format!("{field}[{i}]"), id, SHORT);
        if out.contains(&id) {
            v.add(format!("{field}[{i}]"), "listed twice");
        } else if !id.is_empty() {
            out.push(id);
        }
    }
    out
}
