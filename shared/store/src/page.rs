//! Opaque page tokens for keyset pagination (AIP-158). A token carries the last row's sort key
//! and a fingerprint of the filter it was issued for; any other use is refused.

use serde::{Serialize, de::DeserializeOwned};
use sha2::{Digest, Sha256};

use crate::StoreError;

/// Default page size when the request says 0.
pub const DEFAULT_PAGE_SIZE: u64 = 50;
/// Largest page a request may ask for.
pub const MAX_PAGE_SIZE: u64 = 500;

/// A fingerprint of a filter, so that a token is only valid for the query that issued it.
pub fn fingerprint(filter: &impl Serialize) -> String {
    let bytes = serde_json::to_vec(filter).unwrap_or_default();
    hex::encode(&Sha256::digest(bytes)[..8])
}

/// Encodes a sort key and filter fingerprint as a token.
pub fn encode<K: Serialize>(key: &K, filter_fingerprint: &str) -> String {
    let body = serde_json::json!({ "k": key, "f": filter_fingerprint });
    hex::encode(body.to_string())
}

/// Decodes a token issued by [`encode`] for the same filter; `None` for the empty token.
pub fn decode<K: DeserializeOwned>(
    token: &str,
    filter_fingerprint: &str,
) -> Result<Option<K>, StoreError> {
    if token.is_empty() {
        return Ok(None);
    }
    let bytes = hex::decode(token).map_err(|_| StoreError::InvalidPageToken)?;
    let value: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|_| StoreError::InvalidPageToken)?;
    if value.get("f").and_then(|f| f.as_str()) != Some(filter_fingerprint) {
        return Err(StoreError::InvalidPageToken);
    }
    let key = value
        .get("k")
        .cloned()
        .ok_or(StoreError::InvalidPageToken)?;
    serde_json::from_value(key)
        .map(Some)
        .map_err(|_| StoreError::InvalidPageToken)
}

/// Trims a page fetched with one extra row to `page_size` and returns the token of the next
/// page (empty when this was the last).
pub fn next_token<T, K: Serialize>(
    rows: &mut Vec<T>,
    page_size: u64,
    fingerprint: &str,
    key: impl Fn(&T) -> K,
) -> String {
    if rows.len() as u64 > page_size {
        rows.truncate(page_size as usize);
        rows.last()
            .map(|last| encode(&key(last), fingerprint))
            .unwrap_or_default()
    } else {
        String::new()
    }
}

/// The rows after `key` in the order (`first`, `second`): the keyset condition of a page.
pub fn after<C, A, B>(first: C, second: C, key: (A, B)) -> sea_orm::Condition
where
    C: sea_orm::ColumnTrait,
    A: Into<sea_orm::Value> + Clone,
    B: Into<sea_orm::Value>,
{
    let (a, b) = key;
    sea_orm::Condition::any()
        .add(first.gt(a.clone()))
        .add(sea_orm::Condition::all().add(first.eq(a)).add(second.gt(b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_round_trips_only_for_its_filter() {
        let f = fingerprint(&("ticket", 1));
        let token = encode(&(42_i64, "abc"), &f);
        assert_eq!(
            decode::<(i64, String)>(&token, &f).ok().flatten(),
            Some((42, "abc".to_owned()))
        );
        let other = fingerprint(&("ticket", 2));
        assert!(decode::<(i64, String)>(&token, &other).is_err());
        assert!(decode::<(i64, String)>("zz", &f).is_err());
        assert!(matches!(decode::<(i64, String)>("", &f), Ok(None)));
    }
}
