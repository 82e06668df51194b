//! Field checks that collect violations instead of stopping at the first.

use chrono::NaiveDate;
use steelcare_proto::common::v1 as common;
use steelcare_runtime::{ApiError, FieldViolation};

/// Longest short text (names, numbers).
pub const SHORT: usize = 200;
/// Longest long text (descriptions, notes).
pub const LONG: usize = 4000;

/// Violations found so far.
#[derive(Debug, Default)]
pub struct Violations(Vec<FieldViolation>);

impl Violations {
    /// Adds one.
    pub fn add(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.0.push(FieldViolation::new(field, description));
    }

    /// A required text of at most `max` characters; returns it trimmed.
    pub fn required(&mut self, field: &str, value: &str, max: usize) -> String {
        let v = value.trim();
        if v.is_empty() {
            self.add(field, "required");
        } else if v.chars().count() > max {
            self.add(field, format!("at most {max} characters"));
        }
        v.to_owned()
    }

    /// An optional text of at most `max` characters; returns it trimmed.
    pub fn optional(&mut self, field: &str, value: &str, max: usize) -> String {
        let v = value.trim();
        if v.chars().count() > max {
            self.add(field, format!("at most {max} characters"));
        }
        v.to_owned()
    }

    /// A phone number: digits with optional +, spaces, dashes and parentheses, 5..32 long.
    pub fn phone(&mut self, field: &str, value: &str, required: bool) -> String {
        let v = value.trim();
        if v.is_empty() {
            if required {
                self.add(field, "required");
            }
        } else if v.len() > 32
            || v.chars().filter(|c| c.is_ascii_digit()).count() < 5
            || !v.chars().all(|c| c.is_ascii_digit() || " +-()".contains(c))
        {
            self.add(field, "not a phone number");
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
                self.add(field, "not an e-mail address");
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
            self.add(field, "required");
            return None;
        }
        let parsed = parse(value);
        if parsed.is_none() {
            self.add(field, format!("unknown value {value}"));
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
                    self.add(field, "required");
                }
                None
            }
            Some(d) => {
                let parsed = u32::try_from(d.month)
                    .ok()
                    .zip(u32::try_from(d.day).ok())
                    .and_then(|(m, day)| NaiveDate::from_ymd_opt(d.year, m, day));
                if parsed.is_none() {
                    self.add(field, "not a valid date");
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

/// A date as the protobuf message.
pub fn to_date(d: NaiveDate) -> common::Date {
    use chrono::Datelike;
    common::Date {
        year: d.year(),
        month: d.month() as i32,
        day: d.day() as i32,
    }
}
