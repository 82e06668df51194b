//! Request parsing shared by every service: field checks that collect violations instead of
//! stopping at the first, and the people and addresses records carry (stored as JSON).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use steelcare_proto::common::v1 as common;

use steelcare_i18n::{Msg, msg};

use crate::error::{ApiError, FieldViolation};

/// Longest short text (names, numbers).
pub const SHORT: usize = 200;
/// Longest long text (descriptions, notes).
pub const LONG: usize = 4000;

/// Violations found so far.
#[derive(Debug, Default)]
pub struct Violations(Vec<FieldViolation>);

impl Violations {
    /// Adds one.
    pub fn add(&mut self, field: impl Into<String>, description: Msg) {
        self.0.push(FieldViolation::new(field, description));
    }

    /// A required text of at most `max` characters; returns it trimmed.
    pub fn required(&mut self, field: &str, value: &str, max: usize) -> String {
        let v = value.trim();
        if v.is_empty() {
            self.add(field, msg!("field-required"));
        } else if v.chars().count() > max {
            self.add(field, msg!("field-too-long", max = max));
        } else {
            self.text(field, v);
        }
        v.to_owned()
    }

    /// An optional text of at most `max` characters; returns it trimmed.
    pub fn optional(&mut self, field: &str, value: &str, max: usize) -> String {
        let v = value.trim();
        if v.chars().count() > max {
            self.add(field, msg!("field-too-long", max = max));
        } else {
            self.text(field, v);
        }
        v.to_owned()
    }

    /// Text a database can hold the same everywhere: no NUL characters (PostgreSQL text
    /// cannot store them, SQLite would, and the backends would then disagree).
    pub fn text(&mut self, field: &str, value: &str) {
        if value.contains('\0') {
            self.add(field, msg!("field-nul"));
        }
    }

    /// A phone number: digits with optional +, spaces, dashes and parentheses, 5..32 long.
    pub fn phone(&mut self, field: &str, value: &str, required: bool) -> String {
        let v = value.trim();
        if v.is_empty() {
            if required {
                self.add(field, msg!("field-required"));
            }
        } else if v.len() > 32
            || v.chars().filter(|c| c.is_ascii_digit()).count() < 5
            || !v.chars().all(|c| c.is_ascii_digit() || " +-()".contains(c))
        {
            self.add(field, msg!("field-not-phone"));
        }
        v.to_owned()
    }

    /// An e-mail address (something@domain), optional.
    pub fn email(&mut self, field: &str, value: &str) -> String {
        let v = value.trim();
        if !v.is_empty() {
            let valid = v.len() <= SHORT
                && v.split_once('@')
                    .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'));
            if !valid {
                self.add(field, msg!("field-not-email"));
            }
        }
        v.to_owned()
    }

    /// A protobuf enum number that must be known and not UNSPECIFIED.
    pub fn enum_value<T>(
        &mut self,
        field: &str,
        value: i32,
        parse: impl Fn(i32) -> Option<T>,
    ) -> Option<T> {
        if value == 0 {
            self.add(field, msg!("field-required"));
            return None;
        }
        let parsed = parse(value);
        if parsed.is_none() {
            self.add(field, msg!("field-unknown-value", value = value));
        }
        parsed
    }

    /// A calendar date.
    pub fn date(
        &mut self,
        field: &str,
        value: Option<&common::Date>,
        required: bool,
    ) -> Option<NaiveDate> {
        match value {
            None => {
                if required {
                    self.add(field, msg!("field-required"));
                }
                None
            }
            Some(d) => {
                if !(1..=9999).contains(&d.year) {
                    self.add(field, msg!("field-year-range"));
                    return None;
                }
                let parsed = u32::try_from(d.month)
                    .ok()
                    .zip(u32::try_from(d.day).ok())
                    .and_then(|(m, day)| NaiveDate::from_ymd_opt(d.year, m, day));
                if parsed.is_none() {
                    self.add(field, msg!("field-not-date"));
                }
                parsed
            }
        }
    }

    /// Whether nothing was found.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(value)` when nothing was found, else every violation.
    pub fn finish<T>(self, value: T) -> Result<T, ApiError> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(ApiError::InvalidArgument(self.0))
        }
    }
}

/// An id the caller names: trimmed, required, at most [`SHORT`] characters (ids are UUIDs or
/// short codes; a megabyte of id is refused before any lookup).
pub fn id<'a>(field: &str, value: &'a str) -> Result<&'a str, ApiError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(ApiError::invalid(field, msg!("field-required")));
    }
    if v.chars().count() > SHORT {
        return Err(ApiError::invalid(
            field,
            msg!("field-too-long", max = SHORT),
        ));
    }
    Ok(v)
}

/// A date as the protobuf message.
pub fn to_date(d: NaiveDate) -> common::Date {
    use chrono::Datelike;
    common::Date {
        year: d.year(),
        month: d.month() as i32,
        day: d.day() as i32,
    }
}

/// A person on a record.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Person {
    pub user_id: String,
    pub display_name: String,
    pub organization: String,
    pub title: String,
    pub phone: String,
    pub email: String,
}

impl Person {
    /// Parses a person; `name_required` and `phone_required` per use.
    pub fn parse(
        v: &mut Violations,
        field: &str,
        p: Option<&common::PersonRef>,
        name_required: bool,
        phone_required: bool,
    ) -> Person {
        let Some(p) = p else {
            if name_required {
                v.add(format!("{field}.display_name"), msg!("field-required"));
            }
            if phone_required {
                v.add(format!("{field}.phone"), msg!("field-required"));
            }
            return Person::default();
        };
        let name_field = format!("{field}.display_name");
        Person {
            user_id: v.optional(&format!("{field}.user_id"), &p.user_id, SHORT),
            display_name: if name_required {
                v.required(&name_field, &p.display_name, SHORT)
            } else {
                v.optional(&name_field, &p.display_name, SHORT)
            },
            organization: v.optional(&format!("{field}.organization"), &p.organization, SHORT),
            title: v.optional(&format!("{field}.title"), &p.title, SHORT),
            phone: v.phone(&format!("{field}.phone"), &p.phone, phone_required),
            email: v.email(&format!("{field}.email"), &p.email),
        }
    }

    /// The protobuf form.
    pub fn to_proto(&self) -> common::PersonRef {
        common::PersonRef {
            user_id: self.user_id.clone(),
            display_name: self.display_name.clone(),
            organization: self.organization.clone(),
            title: self.title.clone(),
            phone: self.phone.clone(),
            email: self.email.clone(),
        }
    }
}

/// A site address.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Address {
    pub province: String,
    pub city: String,
    pub district: String,
    pub street: String,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
}

impl Address {
    /// Parses an address; the city is required.
    pub fn parse(v: &mut Violations, field: &str, a: Option<&common::Address>) -> Address {
        let Some(a) = a else {
            v.add(format!("{field}.city"), msg!("field-required"));
            return Address::default();
        };
        let (latitude, longitude) = match &a.position {
            Some(p) => {
                if !(-90.0..=90.0).contains(&p.latitude) {
                    v.add(
                        format!("{field}.position.latitude"),
                        msg!("field-latitude-range"),
                    );
                }
                if !(-180.0..=180.0).contains(&p.longitude) {
                    v.add(
                        format!("{field}.position.longitude"),
                        msg!("field-longitude-range"),
                    );
                }
                (Some(p.latitude), Some(p.longitude))
            }
            None => (None, None),
        };
        Address {
            province: v.optional(&format!("{field}.province"), &a.province, SHORT),
            city: v.required(&format!("{field}.city"), &a.city, SHORT),
            district: v.optional(&format!("{field}.district"), &a.district, SHORT),
            street: v.optional(&format!("{field}.street"), &a.street, SHORT),
            latitude,
            longitude,
        }
    }

    /// The protobuf form.
    pub fn to_proto(&self) -> common::Address {
        common::Address {
            province: self.province.clone(),
            city: self.city.clone(),
            district: self.district.clone(),
            street: self.street.clone(),
            position: self
                .latitude
                .zip(self.longitude)
                .map(|(latitude, longitude)| common::GeoPoint {
                    latitude,
                    longitude,
                }),
        }
    }
}

/// The contracts' descriptors, decoded once.
pub(crate) fn descriptor_pool() -> Option<&'static prost_reflect::DescriptorPool> {
    static POOL: std::sync::OnceLock<Option<prost_reflect::DescriptorPool>> =
        std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        prost_reflect::DescriptorPool::decode(steelcare_proto::FILE_DESCRIPTOR_SET).ok()
    })
    .as_ref()
}

/// Every id a request carries, checked in one place for every RPC (the `rpcs!` table calls it
/// before the handler; streaming handlers call it themselves): a field named `request_id` (at
/// most 128 characters) or ending in `_id` or `_ids` (at most [`SHORT`] characters each), at any
/// depth, holds no control character. NUL in particular: PostgreSQL text cannot hold it and
/// SQLite would, so the two backends would disagree about the same request.
pub fn ids_in<M: prost::Message + prost::Name>(message: &M) -> Result<(), ApiError> {
    ids_at("", message)
}

/// [`ids_in`] for a message found at `prefix` of a request (a stream's first message).
pub fn ids_at<M: prost::Message + prost::Name>(prefix: &str, message: &M) -> Result<(), ApiError> {
    let Some(descriptor) = descriptor_pool().and_then(|p| p.get_message_by_name(&M::full_name()))
    else {
        return Ok(());
    };
    let Ok(dynamic) =
        prost_reflect::DynamicMessage::decode(descriptor, message.encode_to_vec().as_slice())
    else {
        return Ok(());
    };
    let mut v = Violations::default();
    ids_of(&mut v, prefix, &dynamic, 0);
    v.finish(())
}

fn ids_of(v: &mut Violations, prefix: &str, message: &prost_reflect::DynamicMessage, depth: u8) {
    use prost_reflect::Value;
    if depth > 16 {
        return;
    }
    for (field, value) in message.fields() {
        let name = field.name();
        let path = if prefix.is_empty() {
            name.to_owned()
        } else {
            format!("{prefix}.{name}")
        };
        let max = match name {
            "request_id" => Some(128),
            n if n.ends_with("_id") || n.ends_with("_ids") => Some(SHORT),
            _ => None,
        };
        let items: Vec<(String, &Value)> = match value {
            Value::List(items) => items
                .iter()
                .enumerate()
                .map(|(i, item)| (format!("{path}[{i}]"), item))
                .collect(),
            other => vec![(path, other)],
        };
        for (path, item) in items {
            match (item, max) {
                (Value::String(s), Some(max)) => check_id(v, &path, s, max),
                (Value::Message(m), _) => ids_of(v, &path, m, depth + 1),
                _ => {}
            }
        }
    }
}

fn check_id(v: &mut Violations, field: &str, value: &str, max: usize) {
    if value.chars().any(char::is_control) {
        v.add(field, msg!("field-control-characters"));
    } else if value.trim().chars().count() > max {
        v.add(field, msg!("field-too-long", max = max));
    }
}
