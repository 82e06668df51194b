//! The message catalogue: every text the server writes to a person, in each shipped locale.
//!
//! Texts live in Fluent files, `locales/<tag>/*.ftl` (zh-CN and en to start; a third locale is
//! a new folder, embedded at build time, not code). Code never builds a sentence: it names a
//! message and its facts ([`Msg`], usually through [`msg!`]), records keep those structured
//! facts, and the text is rendered when read, in the reader's [`Locale`]. Enum labels are
//! messages too, `enum-<EnumName>-<VALUE>` for the protobuf enums ([`enum_label`]), so clients
//! never keep their own copies.

mod catalogue;
mod locale;
mod message;

pub use catalogue::{Catalogue, Problem, catalogue};
pub use locale::{Locale, UnknownLocale};
pub use message::{Arg, Msg, Said};

static TIME_ZONE: std::sync::OnceLock<chrono_tz::Tz> = std::sync::OnceLock::new();

/// Sets the deployment's time zone, in which times are written ([`Arg::at`]); the first call
/// wins (one deployment, one zone). Unset, it is `Asia/Shanghai`.
pub fn set_time_zone(zone: chrono_tz::Tz) {
    let _ = TIME_ZONE.set(zone);
}

/// The deployment's time zone.
pub fn time_zone() -> chrono_tz::Tz {
    TIME_ZONE
        .get()
        .copied()
        .unwrap_or(chrono_tz::Asia::Shanghai)
}

/// The catalogue id of a protobuf enum value's label: `enum-CaseState-RECEIVED` for
/// `CaseState` value `CASE_STATE_RECEIVED` (the enum's prefix is dropped, as the console and
/// the archive show values).
pub fn enum_label(enum_name: &str, value_name: &str) -> Msg {
    Msg::owned(enum_label_id(enum_name, value_name))
}

/// The id [`enum_label`] names.
pub fn enum_label_id(enum_name: &str, value_name: &str) -> String {
    let prefix = screaming_snake(enum_name);
    let short = value_name
        .strip_prefix(prefix.as_str())
        .and_then(|v| v.strip_prefix('_'))
        .unwrap_or(value_name);
    format!("enum-{enum_name}-{short}")
}

/// `SeverityTier` → `SEVERITY_TIER` (protobuf's enum value prefix).
fn screaming_snake(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

/// A message of the catalogue with named facts:
/// `msg!("field-too-long", max = 200)`. The key must be a literal; the facts are anything
/// [`Arg`] converts from (text, numbers, a nested [`Msg`], a time).
#[macro_export]
macro_rules! msg {
    ($key:literal $(, $name:ident = $value:expr)* $(,)?) => {
        $crate::Msg::new($key)$(.with(stringify!($name), $value))*
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_labels_drop_the_enum_prefix() {
        assert_eq!(
            enum_label_id("SeverityTier", "SEVERITY_TIER_P1"),
            "enum-SeverityTier-P1"
        );
        assert_eq!(
            enum_label_id("CaseState", "CASE_STATE_SURVEY_SCHEDULED"),
            "enum-CaseState-SURVEY_SCHEDULED"
        );
        assert_eq!(enum_label_id("Odd", "OTHER"), "enum-Odd-OTHER");
    }
}
