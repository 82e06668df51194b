//! Stored shapes and request parsing: the kinds and statuses of `case_records` rows, and the
//! parts several requests share (signatures, responsibility shares, evidence, money, time
//! ranges), each returning every field violation found.

use chrono::{DateTime, TimeDelta, Utc};
use steelcare_domain::cost::{Party, Share};
use steelcare_domain::money::{Amount, Currency, MoneyError};
use steelcare_i18n::msg;
use steelcare_proto::common::v1 as common;
use steelcare_proto::repair::v1 as pb;
use steelcare_runtime::convert::from_timestamp;
use steelcare_runtime::validate::{SHORT, Violations};

/// Signatures and text lists, as the acceptance service parses them too.
pub use steelcare_runtime::signatures::{past_time, signatures, texts};
/// Kinds and statuses of records, shared with every service that reads a case's records.
pub use steelcare_store::case_records::{kind, status};

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

/// The label of a stored plan status.
pub fn plan_status_label(name: &str) -> steelcare_i18n::Msg {
    steelcare_i18n::enum_label("PlanStatus", plan_status(name).as_str_name())
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
            v.add(field, msg!("field-shares-required"));
        }
        return Vec::new();
    }
    let mut out: Vec<Share> = Vec::new();
    let mut ok = true;
    for (i, s) in given.iter().enumerate() {
        let Some(p) = party(s.party) else {
            v.add(format!("{field}[{i}].party"), msg!("field-required"));
            ok = false;
            continue;
        };
        if !(1..=100).contains(&s.percent) {
            v.add(format!("{field}[{i}].percent"), msg!("field-percent-range"));
            ok = false;
            continue;
        }
        if out.iter().any(|o| o.party == p) {
            v.add(format!("{field}[{i}].party"), msg!("field-named-twice"));
            ok = false;
            continue;
        }
        let name = v.optional(&format!("{field}[{i}].party_name"), &s.party_name, SHORT);
        if p == Party::ThirdParty && name.is_empty() {
            v.add(
                format!("{field}[{i}].party_name"),
                msg!("field-third-party-name"),
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
            v.add(field, msg!("field-shares-total", total = total));
        }
        if out.len() > 1 && out.iter().any(|s| s.party == Party::Undetermined) {
            v.add(field, msg!("field-undetermined-alone"));
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

/// A time range with both ends, the end not before the start; `now` refuses an end in the
/// future.
pub fn time_range(
    v: &mut Violations,
    field: &str,
    r: Option<&common::TimeRange>,
    now: Option<DateTime<Utc>>,
) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let Some(r) = r else {
        v.add(field, msg!("field-required"));
        return None;
    };
    let end_of = |v: &mut Violations, name: &str, t: Option<&prost_types::Timestamp>| {
        let f = format!("{field}.{name}");
        match (t.map(|t| from_timestamp(t, &f)), now) {
            (Some(Ok(at)), Some(now)) if at > now + TimeDelta::minutes(5) => {
                v.add(f, msg!("field-in-future"));
                None
            }
            (Some(Ok(at)), _) => Some(at),
            (Some(Err(_)), _) => {
                v.add(f, msg!("field-timestamp-range"));
                None
            }
            (None, _) => {
                v.add(f, msg!("field-required"));
                None
            }
        }
    };
    let start = end_of(v, "start_time", r.start_time.as_ref());
    let end = end_of(v, "end_time", r.end_time.as_ref());
    let (start, end) = (start?, end?);
    // An instant (end == start) is a range too: a survey submitted in the second of arrival.
    if end < start {
        v.add(format!("{field}.end_time"), msg!("field-not-before-start"));
        return None;
    }
    Some((start, end))
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
            v.add(field, msg!("field-required"));
        }
        return None;
    };
    match Amount::parse(&m.currency_code, m.amount_minor) {
        Ok(a) if a.currency() != currency => {
            v.add(
                format!("{field}.currency_code"),
                msg!(
                    "field-wrong-currency",
                    expected = currency.to_string(),
                    given = a.currency().to_string()
                ),
            );
            None
        }
        Ok(a) => Some(a),
        Err(err @ (MoneyError::NoCurrency | MoneyError::UnknownCurrency(_))) => {
            v.add(format!("{field}.currency_code"), err.message());
            None
        }
        Err(err) => {
            v.add(format!("{field}.amount_minor"), err.message());
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

/// Ids listed by a caller: each bounded, none twice.
pub fn ids(v: &mut Violations, field: &str, given: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (i, id) in given.iter().enumerate() {
        let id = v.required(&format!("{field}[{i}]"), id, SHORT);
        if out.contains(&id) {
            v.add(format!("{field}[{i}]"), msg!("field-listed-twice"));
        } else if !id.is_empty() {
            out.push(id);
        }
    }
    out
}
