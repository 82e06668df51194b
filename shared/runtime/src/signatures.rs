//! Parts of the records several services write (repair's reports, plans and agreements,
//! acceptance's forms): signatures with their roles, times in the past, lists of texts. Each
//! returns every field violation it finds.

use chrono::{DateTime, TimeDelta, Utc};
use steelcare_proto::common::v1 as common;

use crate::convert::from_timestamp;
use crate::validate::{LONG, Person, Violations};

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
        let signer = Person::parse(v, &format!("{f}.signer"), s.signer.as_ref(), true, false);
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
            signed_time: signed.map(crate::convert::to_timestamp),
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
