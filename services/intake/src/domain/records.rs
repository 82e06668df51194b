//! Structured values intake stores as JSON text, with their protobuf forms.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use steelcare_i18n::Said;
use steelcare_i18n::msg;
use steelcare_proto::intake::v1 as pb;
use steelcare_runtime::convert::{from_timestamp, to_timestamp};

pub use steelcare_runtime::validate::{Address, Person};

use super::validate::{LONG, SHORT, Violations};

/// Where on the structure.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Location {
    pub description: String,
    pub grid_axes: String,
    pub member_id: String,
}

impl Location {
    /// Parses a location; its description is required.
    pub fn parse(v: &mut Violations, field: &str, l: Option<&pb::StructureLocation>) -> Location {
        let Some(l) = l else {
            v.add(format!("{field}.description"), msg!("field-required"));
            return Location::default();
        };
        Location {
            description: v.required(&format!("{field}.description"), &l.description, LONG),
            grid_axes: v.optional(&format!("{field}.grid_axes"), &l.grid_axes, SHORT),
            member_id: v.optional(&format!("{field}.member_id"), &l.member_id, SHORT),
        }
    }

    /// The protobuf form.
    pub fn to_proto(&self) -> pb::StructureLocation {
        pb::StructureLocation {
            description: self.description.clone(),
            grid_axes: self.grid_axes.clone(),
            member_id: self.member_id.clone(),
        }
    }
}

/// What the customer describes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Description {
    pub phenomenon: String,
    pub extent: String,
    pub started_at: Option<DateTime<Utc>>,
    pub accompanying_signs: String,
}

impl Description {
    /// Parses a description; the phenomenon is required and it cannot start in the future.
    pub fn parse(
        v: &mut Violations,
        field: &str,
        d: Option<&pb::ProblemDescription>,
        now: DateTime<Utc>,
    ) -> Description {
        let Some(d) = d else {
            v.add(format!("{field}.phenomenon"), msg!("field-required"));
            return Description::default();
        };
        let started_field = format!("{field}.started_time");
        let started_at =
            d.started_time
                .as_ref()
                .and_then(|t| match from_timestamp(t, &started_field) {
                    Ok(at) if at > now + chrono::TimeDelta::minutes(5) => {
                        v.add(&started_field, msg!("field-in-future"));
                        None
                    }
                    Ok(at) => Some(at),
                    Err(_) => {
                        v.add(&started_field, msg!("field-not-timestamp"));
                        None
                    }
                });
        Description {
            phenomenon: v.required(&format!("{field}.phenomenon"), &d.phenomenon, LONG),
            extent: v.optional(&format!("{field}.extent"), &d.extent, LONG),
            started_at,
            accompanying_signs: v.optional(
                &format!("{field}.accompanying_signs"),
                &d.accompanying_signs,
                LONG,
            ),
        }
    }

    /// The protobuf form.
    pub fn to_proto(&self) -> pb::ProblemDescription {
        pb::ProblemDescription {
            phenomenon: self.phenomenon.clone(),
            extent: self.extent.clone(),
            started_time: self.started_at.map(to_timestamp),
            accompanying_signs: self.accompanying_signs.clone(),
        }
    }

    /// The words the classification rules read.
    pub fn text_for_rules(&self) -> String {
        format!(
            "{} {} {}",
            self.phenomenon, self.extent, self.accompanying_signs
        )
    }
}

/// The rules' suggestion.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SuggestionRecord {
    pub category: String,
    pub tier: String,
    pub matched_terms: Vec<String>,
}

/// Warranty status at intake.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WarrantyRecord {
    pub in_warranty: bool,
    pub scope: Option<String>,
    /// First day covered (absent on tickets taken before it was kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<NaiveDate>,
    pub expiry: Option<NaiveDate>,
}

/// The reply given to the customer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReplyRecord {
    /// What happens next, as messages rendered in the reader's language.
    pub next_steps: Vec<Said>,
    pub response_deadline: Option<DateTime<Utc>>,
    /// What the customer is asked to do.
    pub customer_actions: Vec<Said>,
    pub media_requested: bool,
}

/// Serialises a record for a text column.
pub fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}

/// Reads a record from a text column; a corrupt value is an internal error.
pub fn from_json<T: for<'de> Deserialize<'de>>(
    text: &str,
    what: &str,
) -> Result<T, steelcare_runtime::ApiError> {
    serde_json::from_str(text)
        .map_err(|err| steelcare_runtime::ApiError::Internal(format!("corrupt {what}: {err}")))
}
