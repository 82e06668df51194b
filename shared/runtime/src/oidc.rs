//! Single sign-on (OpenID Connect): access tokens from the company's identity provider(s).
//!
//! Each `[auth.oidc.<name>]` is an issuer SteelCare trusts. Its signing keys come from the
//! `jwks_uri` of its discovery document, fetched on first use and kept for `jwks_max_age`; a
//! token signed with a key id the set does not hold fetches the set again (a provider rotated
//! its key), at most once per `jwks_refetch_floor`, so a stream of forged key ids cannot make
//! SteelCare hammer the provider. A token's `iss`, `aud`, `exp` and `nbf` are checked with the
//! same small leeway as SteelCare's own tokens; roles, organisation, name and language come from
//! the claims the settings name and/or from the directory, matched by login.
//!
//! Verification needs the network (keys) and the database (directory), so it runs in
//! [`OidcLayer`], an async layer in front of the services: it verifies a token whose `iss` is a
//! trusted provider and hands the outcome to the [`AuthInterceptor`](crate::auth::AuthInterceptor),
//! which lets the call in or refuses it in the caller's language like any other token.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use http::{Request, Response};
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;
use steelcare_domain::Role;
use steelcare_i18n::Locale;
use tower::{Layer, Service};

use crate::auth::{AuthError, Caller, LEEWAY_SECS};
use crate::settings::OidcSettings;

/// A person of the directory, as sign-in needs them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryEntry {
    /// The subject their calls carry (the technician they are, else their login).
    pub subject: String,
    /// Their display name.
    pub display_name: String,
    /// Their roles in the directory.
    pub roles: Vec<Role>,
    /// Their customer organisation.
    pub organization_id: Option<String>,
    /// Their preferred language.
    pub locale: Option<Locale>,
    /// False once an administrator disabled them.
    pub enabled: bool,
}

/// Where people are looked up by login (the identity service's directory).
#[async_trait]
pub trait Directory: Send + Sync {
    /// The person with `login`, if any.
    async fn by_login(&self, login: &str) -> Result<Option<DirectoryEntry>, String>;
}

/// The signing keys of one provider, by key id.
#[derive(Default)]
struct KeySet {
    keys: HashMap<String, (DecodingKey, Algorithm)>,
    fetched_at: Option<Instant>,
}

/// One trusted provider and its cached keys.
struct Provider {
    settings: OidcSettings,
    keys: Mutex<Arc<KeySet>>,
    /// One fetch at a time; waiters find the keys the fetch brought.
    fetching: tokio::sync::Mutex<()>,
}

/// The providers SteelCare trusts and the directory their people are matched in.
#[derive(Clone, Default)]
pub struct Oidc {
    providers: Vec<Arc<Provider>>,
    directory: Option<Arc<dyn Directory>>,
    http: Option<reqwest::Client>,
}

impl Oidc {
    /// The providers of `settings` (none: single sign-on is off).
    pub fn new(settings: &[OidcSettings]) -> Result<Oidc, AuthError> {
        if settings.is_empty() {
            return Ok(Oidc::default());
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|err| AuthError::Config(format!("HTTP client for OpenID Connect: {err}")))?;
        Ok(Oidc {
            providers: settings
                .iter()
                .map(|s| {
                    Arc::new(Provider {
                        settings: s.clone(),
                        keys: Mutex::new(Arc::new(KeySet::default())),
                        fetching: tokio::sync::Mutex::new(()),
                    })
                })
                .collect(),
            directory: None,
            http: Some(http),
        })
    }

    /// The same providers, matching people in `directory`.
    pub fn with_directory(mut self, directory: Arc<dyn Directory>) -> Oidc {
        self.directory = Some(directory);
        self
    }

    /// Whether any provider is trusted.
    pub fn is_enabled(&self) -> bool {
        !self.providers.is_empty()
    }

    /// The trusted providers' settings (the console's sign-in buttons).
    pub fn settings(&self) -> impl Iterator<Item = &OidcSettings> {
        self.providers.iter().map(|p| &p.settings)
    }

    /// The provider whose `iss` the token claims, before anything is verified.
    fn provider_of(&self, token: &str) -> Option<&Arc<Provider>> {
        if self.providers.is_empty() {
            return None;
        }
        let claims = jsonwebtoken::dangerous::insecure_decode::<Value>(token).ok()?;
        let iss = claims.claims.get("iss")?.as_str()?.trim_end_matches('/');
        self.providers.iter().find(|p| p.settings.issuer == iss)
    }

    /// Verifies a token of a trusted provider: `None` when its `iss` is no provider's.
    pub async fn verify(&self, token: &str) -> Option<Result<Caller, AuthError>> {
        let provider = self.provider_of(token)?;
        Some(self.verify_with(provider, token).await)
    }

    async fn verify_with(&self, provider: &Provider, token: &str) -> Result<Caller, AuthError> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|err| AuthError::InvalidToken(err.to_string()))?;
        if !provider.settings.algorithms.contains(&header.alg) {
            return Err(AuthError::InvalidToken(format!(
                "{:?} is not an algorithm accepted from {}",
                header.alg, provider.settings.issuer
            )));
        }
        let (key, alg) = self.key(provider, header.kid.as_deref()).await?;
        if alg != header.alg {
            return Err(AuthError::InvalidToken(format!(
                "the key is for {alg:?}, the token says {:?}",
                header.alg
            )));
        }
        let claims = decode(&provider.settings, token, &key, alg)?;
        self.caller(&provider.settings, &claims).await
    }

    /// The key `kid` of `provider`, fetching the key set when it is unknown or stale.
    async fn key(
        &self,
        provider: &Provider,
        kid: Option<&str>,
    ) -> Result<(DecodingKey, Algorithm), AuthError> {
        let settings = &provider.settings;
        let cached = provider.current();
        if let Some(key) = cached.find(kid)
            && cached.is_fresh(settings.jwks_max_age)
        {
            return Ok(key);
        }
        let _one_fetch = provider.fetching.lock().await;
        // Another call may have fetched while this one waited.
        let cached = provider.current();
        if let Some(key) = cached.find(kid)
            && cached.is_fresh(settings.jwks_max_age)
        {
            return Ok(key);
        }
        let recently = cached
            .fetched_at
            .is_some_and(|at| at.elapsed() < settings.jwks_refetch_floor);
        if recently {
            return Err(AuthError::InvalidToken(format!(
                "key id {kid:?} is not in the key set of {} (fetched less than {} s ago)",
                settings.issuer,
                settings.jwks_refetch_floor.as_secs()
            )));
        }
        let fetched = match self.fetch_keys(settings).await {
            Ok(keys) => keys,
            // The provider cannot be reached: keys still valid by age are used while it is away.
            Err(err) => return cached.find(kid).ok_or(err),
        };
        tracing::info!(
            issuer = %settings.issuer,
            keys = fetched.keys.len(),
            "fetched the provider's signing keys"
        );
        let fetched = Arc::new(fetched);
        provider.replace(fetched.clone());
        fetched.find(kid).ok_or_else(|| {
            AuthError::InvalidToken(format!(
                "key id {kid:?} is not in the key set of {}",
                settings.issuer
            ))
        })
    }

    /// The discovery document's `jwks_uri`, then the key set it points to.
    async fn fetch_keys(&self, settings: &OidcSettings) -> Result<KeySet, AuthError> {
        let unreachable = |what: &str, err: reqwest::Error| {
            AuthError::Unavailable(format!("{what} of {}: {err}", settings.issuer))
        };
        let http = self
            .http
            .as_ref()
            .ok_or_else(|| AuthError::Config("no HTTP client".to_owned()))?;
        let discovery_url = format!("{}/.well-known/openid-configuration", settings.issuer);
        let discovery: Value = http
            .get(&discovery_url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|err| unreachable("discovery document", err))?
            .json()
            .await
            .map_err(|err| unreachable("discovery document", err))?;
        let announced = discovery.get("issuer").and_then(Value::as_str);
        if announced.map(|i| i.trim_end_matches('/')) != Some(settings.issuer.as_str()) {
            return Err(AuthError::Config(format!(
                "the discovery document of {} announces issuer {announced:?}",
                settings.issuer
            )));
        }
        let jwks_uri = discovery
            .get("jwks_uri")
            .and_then(Value::as_str)
            .ok_or_else(|| AuthError::Config(format!("{discovery_url} has no jwks_uri")))?;
        let jwks: Value = http
            .get(jwks_uri)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|err| unreachable("key set", err))?
            .json()
            .await
            .map_err(|err| unreachable("key set", err))?;
        Ok(KeySet {
            keys: signing_keys(&jwks),
            fetched_at: Some(Instant::now()),
        })
    }

    /// Who calls, from the verified claims and the directory.
    async fn caller(&self, settings: &OidcSettings, claims: &Value) -> Result<Caller, AuthError> {
        let subject = claim_str(claims, "sub")
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| AuthError::InvalidToken("no subject".to_owned()))?;
        let mut caller = Caller {
            subject,
            roles: claimed_roles(settings, claims),
            organization_id: path(claims, &settings.organization_claim)
                .and_then(Value::as_str)
                .filter(|o| !o.is_empty())
                .map(str::to_owned),
            expires_at: claims.get("exp").and_then(Value::as_i64).unwrap_or(0),
            locale: claim_str(claims, &settings.locale_claim)
                .as_deref()
                .and_then(Locale::parse),
            display_name: claim_str(claims, &settings.name_claim).filter(|n| !n.trim().is_empty()),
        };
        if let Some(entry) = self.directory_entry(settings, claims).await? {
            if !entry.enabled {
                return Err(AuthError::InvalidToken(
                    "this person is disabled in the directory".to_owned(),
                ));
            }
            caller.subject = entry.subject;
            caller.display_name = Some(entry.display_name);
            for role in entry.roles {
                if !caller.roles.contains(&role) {
                    caller.roles.push(role);
                }
            }
            caller.organization_id = caller.organization_id.or(entry.organization_id);
            caller.locale = caller.locale.or(entry.locale);
        }
        if caller.roles.is_empty() {
            return Err(AuthError::InvalidToken(format!(
                "no SteelCare role for this person at {}",
                settings.issuer
            )));
        }
        if caller.roles.contains(&Role::Customer) && caller.organization_id.is_none() {
            return Err(AuthError::InvalidToken(
                "a customer needs an organisation".to_owned(),
            ));
        }
        Ok(caller)
    }

    /// The person of the directory the token names, when the provider matches people there.
    async fn directory_entry(
        &self,
        settings: &OidcSettings,
        claims: &Value,
    ) -> Result<Option<DirectoryEntry>, AuthError> {
        if settings.login_claim.is_empty() {
            return Ok(None);
        }
        let login = claim_str(claims, &settings.login_claim).filter(|l| !l.is_empty());
        let entry = match (login, &self.directory) {
            (Some(login), Some(directory)) => directory
                .by_login(&login)
                .await
                .map_err(AuthError::Unavailable)?,
            _ => None,
        };
        if entry.is_none() && settings.require_directory {
            return Err(AuthError::InvalidToken(format!(
                "no person of the directory has the {} of this token",
                settings.login_claim
            )));
        }
        Ok(entry)
    }
}

impl Provider {
    fn current(&self) -> Arc<KeySet> {
        match self.keys.lock() {
            Ok(keys) => keys.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn replace(&self, keys: Arc<KeySet>) {
        match self.keys.lock() {
            Ok(mut current) => *current = keys,
            Err(poisoned) => *poisoned.into_inner() = keys,
        }
    }
}

impl KeySet {
    /// The key `kid`; a token without a `kid` is accepted only from a set of one key.
    fn find(&self, kid: Option<&str>) -> Option<(DecodingKey, Algorithm)> {
        match kid {
            Some(kid) => self.keys.get(kid).cloned(),
            None if self.keys.len() == 1 => self.keys.values().next().cloned(),
            None => None,
        }
    }

    fn is_fresh(&self, max_age: Duration) -> bool {
        self.fetched_at.is_some_and(|at| at.elapsed() < max_age)
    }
}

/// The signing keys of a JWKS document we can use, by key id. Encryption keys, keys of other
/// types and keys we cannot read are left out (a provider may publish those too).
fn signing_keys(jwks: &Value) -> HashMap<String, (DecodingKey, Algorithm)> {
    let keys = jwks.get("keys").and_then(Value::as_array);
    keys.into_iter()
        .flatten()
        .filter_map(|key| serde_json::from_value::<Jwk>(key.clone()).ok())
        .filter(|jwk| !matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption)))
        .filter_map(|jwk| {
            let alg = algorithm_of(&jwk)?;
            let key = DecodingKey::from_jwk(&jwk).ok()?;
            let kid = jwk.common.key_id.clone().unwrap_or_default();
            Some((kid, (key, alg)))
        })
        .collect()
}

/// The algorithm a key signs with: its `alg`, else what its type implies.
fn algorithm_of(jwk: &Jwk) -> Option<Algorithm> {
    match (&jwk.common.key_algorithm, &jwk.algorithm) {
        (Some(KeyAlgorithm::RS256), AlgorithmParameters::RSA(_)) => Some(Algorithm::RS256),
        (Some(KeyAlgorithm::ES256), AlgorithmParameters::EllipticCurve(_)) => {
            Some(Algorithm::ES256)
        }
        (Some(KeyAlgorithm::EdDSA), AlgorithmParameters::OctetKeyPair(_)) => Some(Algorithm::EdDSA),
        (None, AlgorithmParameters::RSA(_)) => Some(Algorithm::RS256),
        (None, AlgorithmParameters::EllipticCurve(p)) if p.curve == EllipticCurve::P256 => {
            Some(Algorithm::ES256)
        }
        (None, AlgorithmParameters::OctetKeyPair(p)) if p.curve == EllipticCurve::Ed25519 => {
            Some(Algorithm::EdDSA)
        }
        _ => None,
    }
}

/// The claims of a token signed by `key`, for SteelCare's audience, within its validity.
fn decode(
    settings: &OidcSettings,
    token: &str,
    key: &DecodingKey,
    alg: Algorithm,
) -> Result<Value, AuthError> {
    let mut validation = Validation::new(alg);
    validation.set_issuer(&[&settings.issuer, &format!("{}/", settings.issuer)]);
    validation.set_audience(&[&settings.audience]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.leeway = LEEWAY_SECS;
    validation.validate_nbf = true;
    jsonwebtoken::decode::<Value>(token, key, &validation)
        .map(|data| data.claims)
        .map_err(|err| match err.kind() {
            jsonwebtoken::errors::ErrorKind::ExpiredSignature => AuthError::Expired,
            _ => AuthError::InvalidToken(err.to_string()),
        })
}

/// The roles the provider's claims grant.
fn claimed_roles(settings: &OidcSettings, claims: &Value) -> Vec<Role> {
    let values: Vec<String> = match path(claims, &settings.roles_claim) {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        Some(Value::String(spaced)) => spaced.split_whitespace().map(str::to_owned).collect(),
        _ => Vec::new(),
    };
    let mut roles = Vec::new();
    for value in values {
        let granted = if settings.role_map.is_empty() {
            value.parse::<Role>().ok()
        } else {
            settings
                .role_map
                .iter()
                .find(|(claimed, _)| *claimed == value)
                .map(|(_, role)| *role)
        };
        if let Some(role) = granted
            && !roles.contains(&role)
        {
            roles.push(role);
        }
    }
    roles
}

/// The value at a dotted path (`realm_access.roles`); an empty path is no claim.
fn path<'a>(claims: &'a Value, dotted: &str) -> Option<&'a Value> {
    if dotted.is_empty() {
        return None;
    }
    dotted
        .split('.')
        .try_fold(claims, |value, part| value.get(part))
}

fn claim_str(claims: &Value, dotted: &str) -> Option<String> {
    path(claims, dotted)
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// What [`OidcLayer`] found for a call's token, for the interceptor.
#[derive(Debug, Clone)]
pub struct OidcOutcome(pub Result<Caller, AuthError>);

/// Verifies tokens of trusted providers before the services' interceptor sees the call.
#[derive(Clone)]
pub struct OidcLayer {
    oidc: Oidc,
}

impl OidcLayer {
    /// The layer of these providers.
    pub fn new(oidc: Oidc) -> OidcLayer {
        OidcLayer { oidc }
    }
}

impl<S> Layer<S> for OidcLayer {
    type Service = OidcService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        OidcService {
            inner,
            oidc: self.oidc.clone(),
        }
    }
}

/// The service of [`OidcLayer`].
#[derive(Clone)]
pub struct OidcService<S> {
    inner: S,
    oidc: Oidc,
}

/// The bearer token of a request, if it has one.
fn bearer<B>(request: &Request<B>) -> Option<String> {
    let value = request.headers().get("authorization")?.to_str().ok()?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))?;
    Some(token.trim().to_owned())
}

impl<S, B, R> Service<Request<B>> for OidcService<S>
where
    S: Service<Request<B>, Response = Response<R>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Self::Response, Self::Error>> + Send>,
    >;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        // The clone that was polled ready serves this call (tower's usual dance).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        if !self.oidc.is_enabled() {
            return Box::pin(inner.call(request));
        }
        let oidc = self.oidc.clone();
        Box::pin(async move {
            if let Some(token) = bearer(&request)
                && let Some(outcome) = oidc.verify(&token).await
            {
                request.extensions_mut().insert(OidcOutcome(outcome));
            }
            inner.call(request).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> OidcSettings {
        OidcSettings {
            name: "staff".into(),
            issuer: "https://id.example.com".into(),
            audience: "steelcare".into(),
            algorithms: vec![Algorithm::RS256],
            roles_claim: "realm_access.roles".into(),
            role_map: vec![
                ("sc-agents".into(), Role::Agent),
                ("sc-managers".into(), Role::Manager),
            ],
            organization_claim: String::new(),
            name_claim: "name".into(),
            locale_claim: "locale".into(),
            login_claim: String::new(),
            require_directory: false,
            jwks_refetch_floor: Duration::from_secs(30),
            jwks_max_age: Duration::from_secs(3600),
            console_client_id: String::new(),
            console_label: "staff".into(),
            console_scope: String::new(),
            console_resource: String::new(),
        }
    }

    #[test]
    fn roles_come_from_the_mapped_claim_values_only() {
        let claims = serde_json::json!({
            "realm_access": { "roles": ["offline_access", "sc-agents", "sc-managers", "sc-agents"] }
        });
        assert_eq!(
            claimed_roles(&settings(), &claims),
            vec![Role::Agent, Role::Manager]
        );
        let mut unmapped = settings();
        unmapped.role_map.clear();
        unmapped.roles_claim = "scp".into();
        let spaced = serde_json::json!({ "scp": "agent admin nobody" });
        assert_eq!(
            claimed_roles(&unmapped, &spaced),
            vec![Role::Agent, Role::Admin]
        );
        assert!(claimed_roles(&unmapped, &serde_json::json!({ "scp": 7 })).is_empty());
    }

    #[test]
    fn encryption_keys_and_unknown_types_are_left_out_of_the_key_set() {
        let jwks = serde_json::json!({ "keys": [
            { "kty": "OKP", "crv": "Ed25519", "kid": "ed",
              "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo" },
            { "kty": "RSA", "use": "enc", "kid": "enc", "n": "sXch", "e": "AQAB" },
            { "kty": "oct", "kid": "secret", "k": "c2VjcmV0" },
            { "kty": "XYZ", "kid": "odd" }
        ]});
        let keys = signing_keys(&jwks);
        assert_eq!(keys.len(), 1, "only the Ed25519 signing key");
        assert_eq!(keys.get("ed").map(|(_, alg)| *alg), Some(Algorithm::EdDSA));
    }
}
