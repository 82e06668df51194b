//! Conversions every handler needs between protobuf fields and domain values.

use chrono::{DateTime, Utc};
use prost_types::Timestamp;
use steelcare_store::page::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};

use crate::error::ApiError;

/// A UTC time as a protobuf timestamp.
pub fn to_timestamp(at: DateTime<Utc>) -> Timestamp {
    Timestamp {
        seconds: at.timestamp(),
        nanos: i32::try_from(at.timestamp_subsec_nanos()).unwrap_or(0),
    }
}

/// A protobuf timestamp as a UTC time; `INVALID_ARGUMENT` on `field` when out of range.
pub fn from_timestamp(ts: &Timestamp, field: &str) -> Result<DateTime<Utc>, ApiError> {
    u32::try_from(ts.nanos)
        .ok()
        .and_then(|nanos| DateTime::from_timestamp(ts.seconds, nanos))
        .ok_or_else(|| ApiError::invalid(field, "not a valid timestamp"))
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
        n if n < 0 => Err(ApiError::invalid("page_size", "must not be negative")),
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
        assert_eq!(page_size(0).unwrap(), DEFAULT_PAGE_SIZE);
        assert_eq!(page_size(10_000).unwrap(), MAX_PAGE_SIZE);
        assert!(page_size(-5).is_err());
    }
}
