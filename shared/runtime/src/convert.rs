//! Conversions every handler needs between protobuf fields and domain values.

use chrono::{DateTime, Utc};
use prost_types::Timestamp;
use steelcare_i18n::msg;
use steelcare_store::page::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};

use crate::error::ApiError;

/// A UTC time as a protobuf timestamp.
pub fn to_timestamp(at: DateTime<Utc>) -> Timestamp {
    Timestamp {
        seconds: at.timestamp(),
        nanos: i32::try_from(at.timestamp_subsec_nanos()).unwrap_or(0),
    }
}

/// The first instant a protobuf timestamp may hold: 0001-01-01T00:00:00Z.
pub const MIN_TIMESTAMP_SECONDS: i64 = -62_135_596_800;
/// The last second a protobuf timestamp may hold: 9999-12-31T23:59:59Z.
pub const MAX_TIMESTAMP_SECONDS: i64 = 253_402_300_799;

/// A protobuf timestamp as a UTC time; `INVALID_ARGUMENT` on `field` when it is not one
/// protobuf allows (years 1 to 9999, nanos 0..1e9): anything else could be stored but never
/// rendered as JSON again, and every list containing it would break.
pub fn from_timestamp(ts: &Timestamp, field: &str) -> Result<DateTime<Utc>, ApiError> {
    if !(MIN_TIMESTAMP_SECONDS..=MAX_TIMESTAMP_SECONDS).contains(&ts.seconds) {
        return Err(ApiError::invalid(field, msg!("field-timestamp-range")));
    }
    u32::try_from(ts.nanos)
        .ok()
        .filter(|nanos| *nanos < 1_000_000_000)
        .and_then(|nanos| DateTime::from_timestamp(ts.seconds, nanos))
        .ok_or_else(|| ApiError::invalid(field, msg!("field-not-timestamp")))
}

/// A trimmed string, `None` when empty.
pub fn non_empty(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

/// The page size of a List request (AIP-158): 0 means the default, the maximum caps it,
/// negative is `INVALID_ARGUMENT`.
pub fn page_size(requested: i32) -> Result<u64, ApiError> {
    match requested {
        n if n < 0 => Err(ApiError::invalid("page_size", msg!("field-negative"))),
        0 => Ok(DEFAULT_PAGE_SIZE),
        n => Ok((n as u64).min(MAX_PAGE_SIZE)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip_and_nonsense_is_refused() {
        let now = Utc::now();
        assert_eq!(from_timestamp(&to_timestamp(now), "t").unwrap(), now);
        let bad = Timestamp {
            seconds: 0,
            nanos: -1,
        };
        assert!(from_timestamp(&bad, "t").is_err());
        for seconds in [
            MIN_TIMESTAMP_SECONDS - 1,
            MAX_TIMESTAMP_SECONDS + 1,
            i64::MAX,
        ] {
            let err = from_timestamp(&Timestamp { seconds, nanos: 0 }, "t");
            assert!(err.is_err(), "{seconds}");
        }
        for seconds in [MIN_TIMESTAMP_SECONDS, MAX_TIMESTAMP_SECONDS] {
            let at = from_timestamp(
                &Timestamp {
                    seconds,
                    nanos: 999_999_999,
                },
                "t",
            )
            .unwrap();
            assert_eq!(to_timestamp(at).seconds, seconds);
        }
        let too_many_nanos = Timestamp {
            seconds: 0,
            nanos: 1_000_000_000,
        };
        assert!(from_timestamp(&too_many_nanos, "t").is_err());
        assert_eq!(page_size(0).unwrap(), DEFAULT_PAGE_SIZE);
        assert_eq!(page_size(10_000).unwrap(), MAX_PAGE_SIZE);
        assert!(page_size(-5).is_err());
    }
}
