//! A message as code names it and records keep it: a catalogue id and its facts, rendered to
//! text only when someone reads it.

use std::borrow::Cow;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::catalogue::catalogue;
use crate::locale::Locale;

/// A catalogue message and the facts its text needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Msg {
    /// The catalogue id, e.g. `field-required`.
    pub key: Cow<'static, str>,
    /// Named facts, in the order given.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<(Cow<'static, str>, Arg)>,
}

/// One fact of a message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Arg {
    /// Text shown as given (a name, a number the code formatted, a code).
    Text(String),
    /// A whole number (Fluent selects plural forms on it).
    Int(i64),
    /// A decimal number.
    Number(f64),
    /// Another message, rendered in the same locale (an enum's label, a clause's title).
    Msg(Box<Msg>),
    /// An instant, written in `tz` as the reader's locale writes a date and time.
    Time {
        /// The instant.
        at: DateTime<Utc>,
        /// IANA zone name (e.g. `Asia/Shanghai`); empty for the deployment's zone
        /// ([`crate::set_time_zone`]).
        #[serde(default, skip_serializing_if = "String::is_empty")]
        tz: String,
    },
    /// A calendar date, as the reader's locale writes one.
    Date(NaiveDate),
    /// Several messages (labels), joined as the reader's locale joins a list.
    List(Vec<Msg>),
    /// Several clauses of one sentence, joined as the reader's locale joins them (`；`).
    Clauses(Vec<Msg>),
    /// A text a record keeps written out in several languages (locale tag, text): the
    /// reader's, else the first.
    Written(Vec<(String, String)>),
}

impl Arg {
    /// `at` as written in the deployment's time zone.
    pub fn at(at: DateTime<Utc>) -> Arg {
        Arg::Time {
            at,
            tz: String::new(),
        }
    }

    /// `at` as written in `tz`.
    pub fn time(at: DateTime<Utc>, tz: chrono_tz::Tz) -> Arg {
        Arg::Time {
            at,
            tz: tz.name().to_owned(),
        }
    }
}

impl Msg {
    /// The message `key` with no facts yet.
    pub const fn new(key: &'static str) -> Msg {
        Msg {
            key: Cow::Borrowed(key),
            args: Vec::new(),
        }
    }

    /// A message whose id was computed (an enum label).
    pub fn owned(key: String) -> Msg {
        Msg {
            key: Cow::Owned(key),
            args: Vec::new(),
        }
    }

    /// Adds the fact `name`.
    #[must_use]
    pub fn with(mut self, name: &'static str, value: impl Into<Arg>) -> Msg {
        self.args.push((Cow::Borrowed(name), value.into()));
        self
    }

    /// The fact `name`, if given.
    pub fn arg(&self, name: &str) -> Option<&Arg> {
        self.args.iter().find(|(n, _)| n == name).map(|(_, a)| a)
    }

    /// Its text in `locale`.
    pub fn render(&self, locale: Locale) -> String {
        catalogue().render(locale, self)
    }

    /// Its text in English (a developer message, a log line).
    pub fn english(&self) -> String {
        self.render(Locale::english())
    }
}

/// A text a record keeps for a person: a catalogue message with its facts (rendered in the
/// reader's locale when read), or, on records written before the catalogue, the text as it
/// was written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Said {
    /// A message of the catalogue.
    Msg(Msg),
    /// Text as an older record holds it.
    Text(String),
}

impl Said {
    /// Its text in `locale`.
    pub fn render(&self, locale: Locale) -> String {
        match self {
            Said::Msg(m) => m.render(locale),
            Said::Text(t) => t.clone(),
        }
    }
}

impl Said {
    /// A person's own words (a decline reason typed in a form): kept as typed, read as typed.
    pub fn words(text: impl Into<String>) -> Said {
        Said::Text(text.into())
    }

    /// How a text column keeps it: a message as its JSON object; a person's own words as
    /// typed, unless they would read back as JSON, which are then kept as a JSON string.
    pub fn to_column(&self) -> String {
        match self {
            Said::Msg(m) => serde_json::to_string(m).unwrap_or_else(|_| m.english()),
            Said::Text(t) if serde_json::from_str::<Said>(t).is_ok() => {
                serde_json::to_string(t).unwrap_or_else(|_| t.clone())
            }
            Said::Text(t) => t.clone(),
        }
    }

    /// What a text column holds, as [`Said::to_column`] wrote it; plain text (a row written
    /// before the catalogue) reads as it is.
    pub fn from_column(column: &str) -> Said {
        serde_json::from_str(column).unwrap_or_else(|_| Said::Text(column.to_owned()))
    }

    /// A text column's content in `locale`.
    pub fn read(column: &str, locale: Locale) -> String {
        Said::from_column(column).render(locale)
    }
}

impl From<Msg> for Said {
    fn from(m: Msg) -> Self {
        Said::Msg(m)
    }
}

/// English, for logs and developer messages.
impl std::fmt::Display for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.english())
    }
}

impl From<String> for Arg {
    fn from(v: String) -> Self {
        Arg::Text(v)
    }
}

impl From<&str> for Arg {
    fn from(v: &str) -> Self {
        Arg::Text(v.to_owned())
    }
}

impl From<&String> for Arg {
    fn from(v: &String) -> Self {
        Arg::Text(v.clone())
    }
}

impl From<Msg> for Arg {
    fn from(v: Msg) -> Self {
        Arg::Msg(Box::new(v))
    }
}

impl From<f64> for Arg {
    fn from(v: f64) -> Self {
        Arg::Number(v)
    }
}

impl From<NaiveDate> for Arg {
    fn from(v: NaiveDate) -> Self {
        Arg::Date(v)
    }
}

macro_rules! int_args {
    ($($t:ty),*) => {$(
        impl From<$t> for Arg {
            fn from(v: $t) -> Self {
                Arg::Int(i64::try_from(v).unwrap_or(i64::MAX))
            }
        }
    )*};
}
int_args!(i32, i64, u8, u16, u32, u64, usize);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_keeps_its_facts_through_json() {
        let at = DateTime::parse_from_rfc3339("2026-12-05T06:30:00Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default();
        let m = crate::msg!(
            "field-too-long",
            max = 200u32,
            when = Arg::time(at, chrono_tz::Asia::Shanghai),
            what = crate::msg!("field-required"),
        );
        let json = serde_json::to_string(&m).unwrap_or_default();
        let back: Msg = serde_json::from_str(&json).unwrap_or_else(|_| Msg::new("x"));
        assert_eq!(back, m);
        assert_eq!(back.arg("max"), Some(&Arg::Int(200)));
    }

    #[test]
    fn a_text_column_keeps_messages_and_words_apart() {
        let message = Said::from(Msg::new("field-required"));
        assert_eq!(Said::from_column(&message.to_column()), message);
        for typed in [
            "no time today",
            "{\"key\": \"field-required\"}",
            "\"quoted\"",
            "42",
        ] {
            let words = Said::words(typed);
            assert_eq!(Said::from_column(&words.to_column()), words, "{typed}");
        }
        assert_eq!(
            Said::from_column("no time today").to_column(),
            "no time today"
        );
    }

    #[test]
    fn a_record_written_before_the_catalogue_still_reads() {
        let said: Vec<Said> =
            serde_json::from_str(r#"["We will respond by 5 Dec", {"key": "field-required"}]"#)
                .unwrap_or_default();
        assert_eq!(said[0], Said::Text("We will respond by 5 Dec".into()));
        assert_eq!(said[1], Said::Msg(Msg::new("field-required")));
    }
}
