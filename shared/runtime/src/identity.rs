//! Passwords and sign-ins for the people of the directory (issue 23): Argon2id hashes, the
//! password policy, refresh tokens (random, stored as their SHA-256, spent by first use, revoked
//! by family) and the throttle on failed sign-ins.

use std::sync::LazyLock;

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use sha2::{Digest, Sha256};
use steelcare_i18n::{Msg, msg};

/// The fewest characters a password may have.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// The most (Argon2 hashes anything, but a request must stay small).
pub const MAX_PASSWORD_CHARS: usize = 128;

/// Why the policy refuses a password, or `None` when it is acceptable: long enough, not only
/// letters or only digits, and not containing the login.
pub fn password_problem(password: &str, login: &str) -> Option<Msg> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Some(msg!("field-password-too-short", min = MIN_PASSWORD_CHARS));
    }
    if chars > MAX_PASSWORD_CHARS {
        return Some(msg!("field-too-long", max = MAX_PASSWORD_CHARS));
    }
    let letters = password.chars().any(char::is_alphabetic);
    let others = password.chars().any(|c| !c.is_alphabetic());
    if !(letters && others) {
        return Some(msg!("field-password-one-kind"));
    }
    let login = login.trim().to_lowercase();
    if !login.is_empty() && password.to_lowercase().contains(&login) {
        return Some(msg!("field-password-contains-login"));
    }
    None
}

/// The Argon2id hash of `password` (PHC string, salted).
pub fn hash_password(password: &str) -> Result<String, String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|err| format!("password hashing failed: {err}"))
}

/// A hash of nothing anyone knows, verified against when the login is unknown so that an
/// unknown login costs the same time as a wrong password.
static DECOY: LazyLock<Option<String>> =
    LazyLock::new(|| hash_password(&hex::encode(rand::random::<[u8; 16]>())).ok());

/// Whether `password` matches `hash` (Argon2's comparison runs in constant time). With no
/// hash (an unknown login, a person without a password), a decoy is checked so the answer
/// takes as long, and is false.
pub fn verify_password(password: &str, hash: Option<&str>) -> bool {
    let (hash, real) = match hash {
        Some(h) => (h.to_owned(), true),
        None => match DECOY.as_ref() {
            Some(d) => (d.clone(), false),
            None => return false,
        },
    };
    let Ok(parsed) = PasswordHash::new(&hash) else {
        return false;
    };
    Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
        && real
}

/// A new refresh token: 32 random bytes, hex.
pub fn new_refresh_token() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

/// How a refresh token is stored and found: its SHA-256, hex.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The throttle on failed sign-ins, per key (an address; a login from an address): failures
/// are counted within a window, and reaching the most locks the key for a while, after which
/// counting starts again. The identity service keeps the counts in `login_failures`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttle {
    /// Failures counted within this window (ms)…
    pub window_ms: i64,
    /// …before the key is locked…
    pub max_failures: i32,
    /// …for this long (ms); then it starts again.
    pub lockout_ms: i64,
}

/// One login from one address: 5 failures in 15 minutes lock that pair out for 15 minutes.
pub const PER_LOGIN_AND_ADDRESS: Throttle = Throttle {
    window_ms: 15 * 60_000,
    max_failures: 5,
    lockout_ms: 15 * 60_000,
};

/// One address, whatever the logins: 20 failures in 15 minutes lock it out for 15 minutes.
pub const PER_ADDRESS: Throttle = Throttle {
    window_ms: 15 * 60_000,
    max_failures: 20,
    lockout_ms: 15 * 60_000,
};

/// A login name as stored: trimmed, lower case.
pub fn normal_login(login: &str) -> String {
    login.trim().to_lowercase()
}

/// Whether a (normal) login name is acceptable: 3 to 64 of a-z, 0-9, `.`, `_`, `-`, `@`.
pub fn valid_login(login: &str) -> bool {
    (3..=64).contains(&login.len())
        && login
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-@".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_names_what_is_wrong() {
        let key = |p: &str, l: &str| password_problem(p, l).map(|m| m.key.to_string());
        assert_eq!(
            key("short1", "li.wei"),
            Some("field-password-too-short".into())
        );
        assert_eq!(
            key("onlyletters", "li.wei"),
            Some("field-password-one-kind".into())
        );
        assert_eq!(
            key("1234567890", "li.wei"),
            Some("field-password-one-kind".into())
        );
        assert_eq!(
            key("Li.Wei-2026!", "li.wei"),
            Some("field-password-contains-login".into())
        );
        assert_eq!(key("steel beams 42", "li.wei"), None);
        assert_eq!(
            key(&"a1".repeat(65), "li.wei"),
            Some("field-too-long".into())
        );
    }

    #[test]
    fn a_hash_verifies_its_password_only() {
        let hash = hash_password("steel beams 42").unwrap_or_default();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify_password("steel beams 42", Some(&hash)));
        assert!(!verify_password("steel beams 43", Some(&hash)));
        assert!(!verify_password("steel beams 42", None));
        assert!(!verify_password("steel beams 42", Some("not a hash")));
    }

    #[test]
    fn refresh_tokens_are_random_and_stored_by_hash() {
        let (a, b) = (new_refresh_token(), new_refresh_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), a);
    }
}
