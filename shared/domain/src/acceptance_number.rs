//! Acceptance numbers (MISSION §3.3): `SC-YYYYMMDD-NNNN`, the date in the configured time
//! zone and a per-day sequence.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;

/// A human-readable, unique acceptance number.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AcceptanceNumber(String);

/// A string that is not an acceptance number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an acceptance number like SC-20261127-0042")]
pub struct BadAcceptanceNumber(pub String);

impl AcceptanceNumber {
    /// The number of the `sequence`-th case of `day` (1-based; four digits, more past 9999).
    pub fn new(day: NaiveDate, sequence: u32) -> Self {
        AcceptanceNumber(format!("SC-{}-{sequence:04}", day.format("%Y%m%d")))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The counter key of a day, e.g. "20261127".
    pub fn day_key(day: NaiveDate) -> String {
        day.format("%Y%m%d").to_string()
    }
}

impl fmt::Display for AcceptanceNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for AcceptanceNumber {
    type Err = BadAcceptanceNumber;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BadAcceptanceNumber(s.to_owned());
        let rest = s.strip_prefix("SC-").ok_or_else(bad)?;
        let (date, seq) = rest.split_once('-').ok_or_else(bad)?;
        NaiveDate::parse_from_str(date, "%Y%m%d").map_err(|_| bad())?;
        if seq.len() < 4 || !seq.chars().all(|c| c.is_ascii_digit()) {
            return Err(bad());
        }
        Ok(AcceptanceNumber(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_format_and_parse() {
        let day = NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
        let n = AcceptanceNumber::new(day, 42);
        assert_eq!(n.as_str(), "SC-20261127-0042");
        assert_eq!("SC-20261127-0042".parse::<AcceptanceNumber>(), Ok(n));
        assert_eq!(
            AcceptanceNumber::new(day, 12345).as_str(),
            "SC-20261127-12345"
        );
        for bad in [
            "SC-2026-0001",
            "XX-20261127-0001",
            "SC-20261327-0001",
            "SC-20261127-12",
        ] {
            assert!(bad.parse::<AcceptanceNumber>().is_err(), "{bad}");
        }
    }
}
