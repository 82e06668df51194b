//! Parts of the records several services write (repair's reports, plans and agreements,
//! acceptance's forms): signatures with their roles, times in the past, lists of texts. Each
//! returns every field violation it finds.

use chrono::{DateTime, TimeDelta, Utc};
use steelcare_i18n::{Msg, msg};
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
            v.add(field, msg!("field-required"));
            None
        }
        Some(Err(_)) => {
            v.add(field, msg!("field-timestamp-range"));
            None
        }
        Some(Ok(at)) if at > now + TimeDelta::minutes(5) => {
            v.add(field, msg!("field-in-future"));
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
            v.add(format!("{f}.role"), msg!("field-signature-role-required"));
        }
        if matches!(
            common::SignatureMethod::try_from(s.method),
            Err(_) | Ok(common::SignatureMethod::Unspecified)
        ) {
            v.add(format!("{f}.method"), msg!("field-required"));
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
                msg!(
                    "field-signs-once",
                    role = role_label(common::SignatureRole::try_from(s.role).unwrap_or_default())
                ),
            );
        } else if earlier.iter().any(|e| {
            e.role == s.role
                && e.signer.as_ref().map(|p| p.display_name.trim())
                    == s.signer.as_ref().map(|p| p.display_name.trim())
        }) {
            v.add(f.clone(), msg!("field-same-signer-twice"));
        }
        if s.dissent && opinion.is_empty() {
            v.add(format!("{f}.opinion"), msg!("field-dissent-needs-opinion"));
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
                msg!("field-signature-missing", role = role_label(*role)),
            );
        }
    }
    out
}

fn role_label(role: common::SignatureRole) -> Msg {
    steelcare_i18n::enum_label("SignatureRole", role.as_str_name())
}

/// Text lists: each item non-empty and bounded; at most `max` items.
pub fn texts(v: &mut Violations, field: &str, given: &[String], max: usize) -> Vec<String> {
    if given.len() > max {
        v.add(field, msg!("field-too-many-items", max = max));
    }
    given
        .iter()
        .enumerate()
        .map(|(i, t)| v.required(&format!("{field}[{i}]"), t, LONG))
        .collect()
}
