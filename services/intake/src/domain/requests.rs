//! Requests parsed into what intake stores. Each parse returns every field violation found.

use chrono::{DateTime, NaiveDate, Utc};
use steelcare_domain::warranty::{WarrantyScope, WarrantyTerm};
use steelcare_domain::{ProblemCategory, SeverityTier};
use steelcare_i18n::msg;
use steelcare_proto::intake::v1 as pb;
use steelcare_runtime::ApiError;
use steelcare_runtime::convert::from_timestamp;

use super::records::{Address, Description, Location, Person};
use super::validate::{LONG, SHORT, Violations};

/// The idempotency hash of a create request: its encoding without the request id.
pub use steelcare_runtime::record::payload_hash;

fn request_id(v: &mut Violations, id: &str) -> Option<String> {
    let id = v.optional("request_id", id, 128);
    (!id.is_empty()).then_some(id)
}

/// A customer to create.
#[derive(Debug, Clone)]
pub struct NewCustomer {
    pub request_id: Option<String>,
    pub organization_name: String,
    pub contacts: Vec<Person>,
}

impl TryFrom<&pb::CreateCustomerRequest> for NewCustomer {
    type Error = ApiError;

    fn try_from(r: &pb::CreateCustomerRequest) -> Result<Self, ApiError> {
        let mut v = Violations::default();
        let request_id = request_id(&mut v, &r.request_id);
        let organization_name = v.required("organization_name", &r.organization_name, SHORT);
        if r.contacts.is_empty() {
            v.add("contacts", msg!("field-contact-required"));
        }
        if r.contacts.len() > 50 {
            v.add("contacts", msg!("field-too-many-contacts"));
        }
        let contacts: Vec<Person> = r
            .contacts
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let field = format!("contacts[{i}]");
                let person = Person::parse(&mut v, &field, Some(c), true, false);
                if person.phone.is_empty() && person.email.is_empty() {
                    v.add(format!("{field}.phone"), msg!("field-phone-or-email"));
                }
                person
            })
            .collect();
        v.finish(NewCustomer {
            request_id,
            organization_name,
            contacts,
        })
    }
}

/// A warranty term as asked, before defaults.
fn parse_terms(
    v: &mut Violations,
    terms: &[pb::WarrantyTerm],
    completion: Option<NaiveDate>,
    design_life_years: u32,
) -> Vec<WarrantyTerm> {
    let mut out = Vec::new();
    for (i, t) in terms.iter().enumerate() {
        let field = format!("warranty_terms[{i}]");
        let scope = v.enum_value(
            &format!("{field}.scope"),
            t.scope,
            WarrantyScope::from_proto_value,
        );
        let start = v
            .date(&format!("{field}.start_date"), t.start_date.as_ref(), false)
            .or(completion);
        if t.months <= 0 || t.months > 1200 {
            v.add(format!("{field}.months"), msg!("field-months-range"));
            continue;
        }
        let note = v.optional(&format!("{field}.note"), &t.note, LONG);
        if let Some(start) = start {
            let end = start.checked_add_months(chrono::Months::new(t.months as u32));
            if end.is_none_or(|end| chrono::Datelike::year(&end) > 9999) {
                v.add(format!("{field}.months"), msg!("field-warranty-too-long"));
                continue;
            }
        }
        if let (Some(scope), Some(start)) = (scope, start) {
            let term = WarrantyTerm {
                scope,
                start,
                months: t.months as u32,
                note,
            };
            if let Err(err) = term.check_minimum(design_life_years) {
                v.add(format!("{field}.months"), err.message());
            }
            if scope != WarrantyScope::Other && out.iter().any(|o: &WarrantyTerm| o.scope == scope)
            {
                v.add(
                    format!("{field}.scope"),
                    msg!("field-scope-twice", scope = scope.label()),
                );
            }
            out.push(term);
        }
    }
    out
}

/// Parses the warranty terms of SetWarrantyTerms.
pub fn parse_warranty_terms(
    terms: &[pb::WarrantyTerm],
    completion: NaiveDate,
    design_life_years: u32,
) -> Result<Vec<WarrantyTerm>, ApiError> {
    let mut v = Violations::default();
    if terms.is_empty() {
        v.add("warranty_terms", msg!("field-term-required"));
    }
    let parsed = parse_terms(&mut v, terms, Some(completion), design_life_years);
    v.finish(parsed)
}

/// A project to register.
#[derive(Debug, Clone)]
pub struct NewProject {
    pub request_id: Option<String>,
    pub customer_id: String,
    pub name: String,
    pub address: Address,
    pub contract_number: String,
    pub structure_type: pb::StructureType,
    pub completion_date: NaiveDate,
    pub design_life_years: u32,
    pub technical_lead: Person,
    pub designer: Person,
    /// Empty = the statutory defaults.
    pub terms: Vec<WarrantyTerm>,
}

impl NewProject {
    /// Parses a RegisterProject request; `today` is in the configured time zone.
    pub fn parse(r: &pb::RegisterProjectRequest, today: NaiveDate) -> Result<Self, ApiError> {
        let mut v = Violations::default();
        let request_id = request_id(&mut v, &r.request_id);
        let customer_id = v.required("customer_id", &r.customer_id, SHORT);
        let name = v.required("name", &r.name, SHORT);
        let address = Address::parse(&mut v, "address", r.address.as_ref());
        let contract_number = v.required("contract_number", &r.contract_number, SHORT);
        let structure_type = v.enum_value("structure_type", r.structure_type, |n| {
            pb::StructureType::try_from(n).ok()
        });
        let completion_date = v.date(
            "completion_acceptance_date",
            r.completion_acceptance_date.as_ref(),
            true,
        );
        if completion_date.is_some_and(|d| d > today) {
            v.add("completion_acceptance_date", msg!("field-in-future"));
        }
        let design_life_years = match r.design_service_life_years {
            0 => 50,
            n if (1..=200).contains(&n) => n as u32,
            _ => {
                v.add("design_service_life_years", msg!("field-count-range-200"));
                50
            }
        };
        let technical_lead = Person::parse(
            &mut v,
            "technical_lead",
            r.technical_lead.as_ref(),
            false,
            false,
        );
        let designer = Person::parse(&mut v, "designer", r.designer.as_ref(), false, false);
        let terms = parse_terms(
            &mut v,
            &r.warranty_terms,
            completion_date,
            design_life_years,
        );
        let (Some(structure_type), Some(completion_date)) = (structure_type, completion_date)
        else {
            return Err(v
                .finish(())
                .err()
                .unwrap_or_else(|| ApiError::invalid("request", msg!("field-invalid"))));
        };
        v.finish(NewProject {
            request_id,
            customer_id,
            name,
            address,
            contract_number,
            structure_type,
            completion_date,
            design_life_years,
            technical_lead,
            designer,
            terms,
        })
    }
}

/// A training to record.
#[derive(Debug, Clone)]
pub struct NewTraining {
    pub held_at: DateTime<Utc>,
    pub trainer: Person,
    pub attendees: Vec<Person>,
    pub topics: Vec<String>,
}

impl NewTraining {
    /// Parses the training of a RecordTraining request.
    pub fn parse(t: Option<&pb::Training>, now: DateTime<Utc>) -> Result<Self, ApiError> {
        let mut v = Violations::default();
        let Some(t) = t else {
            return Err(ApiError::invalid("training", msg!("field-required")));
        };
        let held_at = match t
            .held_time
            .as_ref()
            .map(|ts| from_timestamp(ts, "training.held_time"))
        {
            None => {
                v.add("training.held_time", msg!("field-required"));
                now
            }
            Some(Err(_)) => {
                v.add("training.held_time", msg!("field-not-timestamp"));
                now
            }
            Some(Ok(at)) => {
                if at > now + chrono::TimeDelta::minutes(5) {
                    v.add("training.held_time", msg!("field-in-future"));
                }
                at
            }
        };
        let trainer = Person::parse(&mut v, "training.trainer", t.trainer.as_ref(), true, false);
        if t.attendees.is_empty() {
            v.add("training.attendees", msg!("field-attendee-required"));
        }
        let attendees = t
            .attendees
            .iter()
            .enumerate()
            .map(|(i, a)| {
                Person::parse(
                    &mut v,
                    &format!("training.attendees[{i}]"),
                    Some(a),
                    true,
                    false,
                )
            })
            .collect();
        if t.topics.is_empty() {
            v.add("training.topics", msg!("field-topic-required"));
        }
        let topics = t
            .topics
            .iter()
            .enumerate()
            .map(|(i, topic)| v.required(&format!("training.topics[{i}]"), topic, SHORT))
            .collect();
        v.finish(NewTraining {
            held_at,
            trainer,
            attendees,
            topics,
        })
    }
}

/// A ticket to take in.
#[derive(Debug, Clone)]
pub struct NewTicket {
    pub request_id: Option<String>,
    pub channel: pb::Channel,
    pub project_id: String,
    pub reporter: Person,
    pub location: Location,
    pub description: Description,
    pub customer_request: String,
    pub related_case_id: Option<String>,
}

impl NewTicket {
    /// Parses a CreateTicket request.
    pub fn parse(r: &pb::CreateTicketRequest, now: DateTime<Utc>) -> Result<Self, ApiError> {
        let mut v = Violations::default();
        let request_id = request_id(&mut v, &r.request_id);
        let channel = v.enum_value("channel", r.channel, |n| pb::Channel::try_from(n).ok());
        let project_id = v.required("project_id", &r.project_id, SHORT);
        let reporter = Person::parse(&mut v, "reporter", r.reporter.as_ref(), true, true);
        let location = Location::parse(&mut v, "location", r.location.as_ref());
        let description = Description::parse(&mut v, "description", r.description.as_ref(), now);
        let customer_request = v.optional("customer_request", &r.customer_request, LONG);
        let related_case_id = v.optional("related_case_id", &r.related_case_id, SHORT);
        let Some(channel) = channel else {
            return Err(v
                .finish(())
                .err()
                .unwrap_or_else(|| ApiError::invalid("channel", msg!("field-required"))));
        };
        v.finish(NewTicket {
            request_id,
            channel,
            project_id,
            reporter,
            location,
            description,
            customer_request,
            related_case_id: (!related_case_id.is_empty()).then_some(related_case_id),
        })
    }
}

/// An agent's classification.
#[derive(Debug, Clone)]
pub struct Classification {
    pub category: ProblemCategory,
    pub tier: SeverityTier,
    pub reason: String,
}

impl TryFrom<&pb::ClassifyTicketRequest> for Classification {
    type Error = ApiError;

    fn try_from(r: &pb::ClassifyTicketRequest) -> Result<Self, ApiError> {
        let mut v = Violations::default();
        v.required("ticket_id", &r.ticket_id, SHORT);
        let category = v.enum_value("category", r.category, ProblemCategory::from_proto_value);
        let tier = v.enum_value("tier", r.tier, SeverityTier::from_proto_value);
        let reason = v.required("reason", &r.reason, LONG);
        match (category, tier) {
            (Some(category), Some(tier)) if v.is_empty() => Ok(Classification {
                category,
                tier,
                reason,
            }),
            _ => Err(v
                .finish(())
                .err()
                .unwrap_or_else(|| ApiError::invalid("category", msg!("field-required")))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use steelcare_proto::common::v1 as common;

    fn fields(err: ApiError) -> Vec<String> {
        match err {
            ApiError::InvalidArgument(v) => v.into_iter().map(|f| f.field).collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_empty_ticket_names_every_missing_field() {
        let err = NewTicket::parse(&pb::CreateTicketRequest::default(), Utc::now()).unwrap_err();
        let f = fields(err);
        for expected in [
            "channel",
            "project_id",
            "reporter.display_name",
            "reporter.phone",
            "location.description",
            "description.phenomenon",
        ] {
            assert!(
                f.contains(&expected.to_owned()),
                "{expected} missing from {f:?}"
            );
        }
    }

    #[test]
    fn bad_values_are_named_with_their_field() {
        let r = pb::CreateTicketRequest {
            channel: 99,
            project_id: "p".into(),
            reporter: Some(common::PersonRef {
                display_name: "x".repeat(300),
                phone: "call me".into(),
                email: "nope".into(),
                ..Default::default()
            }),
            location: Some(pb::StructureLocation {
                description: "north gable".into(),
                ..Default::default()
            }),
            description: Some(pb::ProblemDescription {
                phenomenon: "漏水".into(),
                started_time: Some(prost_types::Timestamp {
                    seconds: Utc::now().timestamp() + 86_400,
                    nanos: 0,
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        let f = fields(NewTicket::parse(&r, Utc::now()).unwrap_err());
        assert_eq!(
            f,
            [
                "channel",
                "reporter.display_name",
                "reporter.phone",
                "reporter.email",
                "description.started_time"
            ]
        );
    }

    #[test]
    fn a_short_waterproofing_term_names_the_statutory_minimum() {
        let r = pb::RegisterProjectRequest {
            customer_id: "c".into(),
            name: "Plant 3".into(),
            address: Some(common::Address {
                city: "Suzhou".into(),
                ..Default::default()
            }),
            contract_number: "HT-1".into(),
            structure_type: pb::StructureType::PortalFrame as i32,
            completion_acceptance_date: Some(common::Date {
                year: 2024,
                month: 5,
                day: 10,
            }),
            warranty_terms: vec![pb::WarrantyTerm {
                scope: pb::WarrantyScope::Waterproofing as i32,
                months: 24,
                ..Default::default()
            }],
            ..Default::default()
        };
        let today = NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
        match NewProject::parse(&r, today).unwrap_err() {
            ApiError::InvalidArgument(v) => {
                assert_eq!(v[0].field, "warranty_terms[0].months");
                assert!(
                    v[0].description.english().contains("60 months"),
                    "{}",
                    v[0].description
                );
            }
            other => panic!("{other:?}"),
        }
        let future = pb::RegisterProjectRequest {
            completion_acceptance_date: Some(common::Date {
                year: 2027,
                month: 1,
                day: 1,
            }),
            warranty_terms: vec![],
            ..r
        };
        assert_eq!(
            fields(NewProject::parse(&future, today).unwrap_err()),
            ["completion_acceptance_date"]
        );
    }
}
