//! Authentication and authorization (DESIGN.md decision 8). Every RPC except health and
//! reflection carries `authorization: Bearer <JWT>`; the interceptor verifies it and puts the
//! [`Caller`] in the request; handlers check roles with [`Caller::require_any`].

use std::path::Path;
use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};
use steelcare_domain::Role;
use steelcare_i18n::{Arg, Locale, Msg, msg};
use tonic::{Request, Status};

use crate::error::ApiError;
use crate::oidc::{Directory, Oidc, OidcOutcome};
use crate::settings::{AuthSettings, Secret};

/// The claims of a SteelCare token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: String,
    /// Role names.
    pub roles: Vec<String>,
    /// The customer organisation (required for the customer role).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
    /// Issuer.
    pub iss: String,
    /// Issued at (seconds since the epoch); a time in the future is refused.
    pub iat: i64,
    /// Not before (seconds since the epoch), if set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// Expiry (seconds since the epoch); at most `auth.max_token_lifetime` after `iat`.
    pub exp: i64,
    /// The person's preferred language (a BCP 47 tag), used when a call sends no
    /// `accept-language` the server ships.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// The person's display name, for a person of the directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// Clock skew tolerated between the issuer and this server, in seconds.
pub(crate) const LEEWAY_SECS: u64 = 5;

/// The longest lifetime of a token unless `auth.max_token_lifetime` says otherwise: 30 days.
pub const DEFAULT_MAX_LIFETIME: Duration = Duration::from_secs(30 * 24 * 3600);

/// Who is calling, as verified from the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The JWT subject.
    pub subject: String,
    /// Roles held.
    pub roles: Vec<Role>,
    /// Organisation of a customer user.
    pub organization_id: Option<String>,
    /// Token expiry, seconds since the epoch.
    pub expires_at: i64,
    /// The person's stored preference, when their token carries one we ship.
    pub locale: Option<Locale>,
    /// The person's display name, when their token carries one (people of the directory).
    pub display_name: Option<String>,
}

impl Caller {
    /// Whether the caller holds any of `roles`.
    pub fn has_any(&self, roles: &[Role]) -> bool {
        self.roles.iter().any(|r| roles.contains(r))
    }

    /// `PERMISSION_DENIED` unless the caller holds one of `roles`.
    pub fn require_any(&self, roles: &[Role]) -> Result<(), ApiError> {
        if self.has_any(roles) {
            Ok(())
        } else {
            let wanted = roles.iter().map(|r| role_label(*r)).collect();
            Err(ApiError::PermissionDenied(msg!(
                "error-roles-needed",
                roles = Arg::List(wanted)
            )))
        }
    }

    /// True when the caller is only a customer: it sees its own organisation's data only.
    pub fn is_customer_only(&self) -> bool {
        self.roles.iter().all(|r| *r == Role::Customer)
    }

    /// Role names, for audit records.
    pub fn role_names(&self) -> Vec<String> {
        self.roles.iter().map(|r| r.as_str().to_owned()).collect()
    }

    /// The caller from a request the interceptor let through.
    pub fn from_request<T>(request: &Request<T>) -> Result<&Caller, Status> {
        request
            .extensions()
            .get::<Caller>()
            .ok_or_else(|| Status::unauthenticated("missing bearer token"))
    }
}

/// The method and trace of a call, put in the request by the server's tracing layer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RpcInfo {
    /// Full method path, e.g. `/steelcare.admin.v1.AdminService/WhoAmI`.
    pub method: String,
    /// Trace id (32 hex digits).
    pub trace_id: String,
    /// The shipped locale the caller's `accept-language` asks for, if any.
    pub accepted: Option<Locale>,
    /// The deployment's default locale.
    pub default_locale: Option<Locale>,
}

impl RpcInfo {
    /// The locale a caller reads: what their `accept-language` asks for, else their stored
    /// preference, else the deployment's default (English where none is known, e.g. a call
    /// that reached no server layer).
    pub fn locale(&self, preferred: Option<Locale>) -> Locale {
        self.accepted
            .or(preferred)
            .or(self.default_locale)
            .unwrap_or_else(Locale::english)
    }
}

/// Everything a handler needs to authorize and audit a call.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// Who.
    pub caller: Caller,
    /// Which RPC.
    pub rpc: String,
    /// Under which trace.
    pub trace_id: String,
    /// The caller's `authorization` header, passed on when a service calls another for them.
    pub authorization: Option<String>,
    /// The locale the caller reads ([`RpcInfo::locale`]).
    pub locale: Locale,
}

impl RequestContext {
    /// `err` as the status this caller gets (in their locale).
    pub fn status(&self, err: ApiError) -> Status {
        err.into_status(&self.trace_id, self.locale)
    }

    /// Builds the context of an authenticated request.
    pub fn from_request<T>(request: &Request<T>) -> Result<RequestContext, Status> {
        let caller = Caller::from_request(request)?.clone();
        let info = request
            .extensions()
            .get::<RpcInfo>()
            .cloned()
            .unwrap_or_default();
        let authorization = request
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let locale = info.locale(caller.locale);
        Ok(RequestContext {
            caller,
            rpc: info.method,
            trace_id: info.trace_id,
            authorization,
            locale,
        })
    }
}

/// Why a token was refused.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AuthError {
    /// Malformed, badly signed, or claims we refuse.
    #[error("invalid token: {0}")]
    InvalidToken(String),
    /// Past its expiry: the person signs in again.
    #[error("the token has expired")]
    Expired,
    /// This server only verifies tokens (public key configured) and cannot issue them.
    #[error("this configuration verifies tokens with a public key and cannot issue them")]
    CannotIssue,
    /// The key or secret could not be loaded.
    #[error("auth configuration: {0}")]
    Config(String),
    /// What verification needs (an identity provider's keys, the directory) cannot be
    /// reached now: the call may be tried again.
    #[error("cannot verify the token now: {0}")]
    Unavailable(String),
}

/// Verifies (and, with a shared secret, issues) tokens.
#[derive(Clone)]
pub struct Authenticator {
    decoding: DecodingKey,
    encoding: Option<EncodingKey>,
    validation: Validation,
    issuer: String,
    max_lifetime: Duration,
    oidc: Oidc,
}

impl Authenticator {
    /// HS256 with a shared secret: verifies and issues. An empty secret is refused.
    pub fn with_secret(secret: &Secret, issuer: &str) -> Result<Authenticator, AuthError> {
        let bytes = secret.expose().as_bytes();
        let refused = |err: jsonwebtoken::errors::Error| AuthError::Config(err.to_string());
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[issuer]);
        validation.leeway = LEEWAY_SECS;
        validation.validate_nbf = true;
        Ok(Authenticator {
            decoding: DecodingKey::from_secret(bytes).map_err(refused)?,
            encoding: Some(EncodingKey::from_secret(bytes).map_err(refused)?),
            validation,
            issuer: issuer.to_owned(),
            max_lifetime: DEFAULT_MAX_LIFETIME,
            oidc: Oidc::default(),
        })
    }

    /// The same authenticator refusing tokens valid for longer than `max` (and issuing none).
    pub fn with_max_lifetime(mut self, max: Duration) -> Authenticator {
        self.max_lifetime = max;
        self
    }

    /// The same authenticator also trusting the tokens of these OpenID Providers.
    pub fn with_oidc(mut self, oidc: Oidc) -> Authenticator {
        self.oidc = oidc;
        self
    }

    /// The OpenID Providers trusted (none unless `[auth.oidc.*]` is set).
    pub fn oidc(&self) -> &Oidc {
        &self.oidc
    }

    /// The same authenticator, matching single sign-on people in `directory`.
    pub fn with_directory(mut self, directory: std::sync::Arc<dyn Directory>) -> Authenticator {
        self.oidc = self.oidc.with_directory(directory);
        self
    }

    /// RS256 or ES256 with a PEM public key: verifies only.
    pub fn with_public_key(pem_file: &Path, issuer: &str) -> Result<Authenticator, AuthError> {
        let pem = std::fs::read(pem_file)
            .map_err(|err| AuthError::Config(format!("{}: {err}", pem_file.display())))?;
        let (decoding, alg) = match DecodingKey::from_rsa_pem(&pem) {
            Ok(key) => (key, Algorithm::RS256),
            Err(_) => (
                DecodingKey::from_ec_pem(&pem).map_err(|err| {
                    AuthError::Config(format!(
                        "{} is neither an RSA nor an EC public key: {err}",
                        pem_file.display()
                    ))
                })?,
                Algorithm::ES256,
            ),
        };
        let mut validation = Validation::new(alg);
        validation.set_issuer(&[issuer]);
        validation.leeway = LEEWAY_SECS;
        validation.validate_nbf = true;
        Ok(Authenticator {
            decoding,
            encoding: None,
            validation,
            issuer: issuer.to_owned(),
            max_lifetime: DEFAULT_MAX_LIFETIME,
            oidc: Oidc::default(),
        })
    }

    /// From settings: the public key when configured, else the secret, else (embedded default
    /// only) a secret generated once into `data_dir/jwt_secret`. Returns the authenticator and,
    /// when a secret was generated or loaded from `data_dir`, its path.
    pub fn from_settings(
        auth: &AuthSettings,
        embedded: bool,
        data_dir: &Path,
    ) -> Result<(Authenticator, Option<std::path::PathBuf>), AuthError> {
        let (authenticator, generated) = Self::own_tokens(auth, embedded, data_dir)?;
        let oidc = Oidc::new(&auth.oidc)?;
        Ok((authenticator.with_oidc(oidc), generated))
    }

    /// SteelCare's own tokens, as [`Authenticator::from_settings`] says.
    fn own_tokens(
        auth: &AuthSettings,
        embedded: bool,
        data_dir: &Path,
    ) -> Result<(Authenticator, Option<std::path::PathBuf>), AuthError> {
        let max = auth.max_token_lifetime;
        if let Some(file) = &auth.jwt_public_key_file {
            return Ok((
                Self::with_public_key(file, &auth.issuer)?.with_max_lifetime(max),
                None,
            ));
        }
        if let Some(secret) = &auth.jwt_secret {
            return Ok((
                Self::with_secret(secret, &auth.issuer)?.with_max_lifetime(max),
                None,
            ));
        }
        if !embedded {
            return Err(AuthError::Config(
                "auth.jwt_secret or auth.jwt_public_key_file must be set outside the embedded default"
                    .to_owned(),
            ));
        }
        let path = data_dir.join("jwt_secret");
        let secret = load_or_generate_secret(&path)?;
        Ok((
            Self::with_secret(&secret, &auth.issuer)?.with_max_lifetime(max),
            Some(path),
        ))
    }

    /// Issues a token.
    pub fn issue(
        &self,
        subject: &str,
        roles: &[Role],
        organization_id: Option<&str>,
        ttl: Duration,
    ) -> Result<String, AuthError> {
        self.issue_in(subject, roles, organization_id, ttl, None)
    }

    /// Issues a token for a person who reads `locale` unless a call asks otherwise.
    pub fn issue_in(
        &self,
        subject: &str,
        roles: &[Role],
        organization_id: Option<&str>,
        ttl: Duration,
        locale: Option<Locale>,
    ) -> Result<String, AuthError> {
        self.issue_named(subject, None, roles, organization_id, ttl, locale)
    }

    /// Issues a token for a person of the directory, named `name` in what they do.
    pub fn issue_named(
        &self,
        subject: &str,
        name: Option<&str>,
        roles: &[Role],
        organization_id: Option<&str>,
        ttl: Duration,
        locale: Option<Locale>,
    ) -> Result<String, AuthError> {
        let key = self.encoding.as_ref().ok_or(AuthError::CannotIssue)?;
        if ttl > self.max_lifetime {
            return Err(AuthError::InvalidToken(format!(
                "a token may be valid for at most {} s (auth.max_token_lifetime)",
                self.max_lifetime.as_secs()
            )));
        }
        if roles.contains(&Role::Customer) && organization_id.is_none() {
            return Err(AuthError::InvalidToken(
                "a customer token needs an organisation".to_owned(),
            ));
        }
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: subject.to_owned(),
            roles: roles.iter().map(|r| r.as_str().to_owned()).collect(),
            org: organization_id.map(str::to_owned),
            iss: self.issuer.clone(),
            iat: now,
            nbf: None,
            exp: now + i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX / 2),
            locale: locale.map(|l| l.tag().to_owned()),
            name: name.map(str::to_owned),
        };
        encode(&Header::new(Algorithm::HS256), &claims, key)
            .map_err(|err| AuthError::InvalidToken(err.to_string()))
    }

    /// Issues a token from raw claims (tests use it for expired or odd tokens).
    pub fn issue_claims(&self, claims: &Claims) -> Result<String, AuthError> {
        let key = self.encoding.as_ref().ok_or(AuthError::CannotIssue)?;
        encode(&Header::new(Algorithm::HS256), claims, key)
            .map_err(|err| AuthError::InvalidToken(err.to_string()))
    }

    /// Verifies a token and returns the caller.
    pub fn verify(&self, token: &str) -> Result<Caller, AuthError> {
        let data = decode::<Claims>(token, &self.decoding, &self.validation).map_err(|err| {
            match err.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => AuthError::Expired,
                _ => AuthError::InvalidToken(err.to_string()),
            }
        })?;
        let claims = data.claims;
        let now = chrono::Utc::now().timestamp();
        let leeway = i64::try_from(LEEWAY_SECS).unwrap_or(0);
        if claims.iat > now + leeway {
            return Err(AuthError::InvalidToken(
                "issued in the future (iat)".to_owned(),
            ));
        }
        let lifetime = claims.exp.saturating_sub(claims.iat);
        let max = i64::try_from(self.max_lifetime.as_secs()).unwrap_or(i64::MAX);
        if lifetime > max {
            return Err(AuthError::InvalidToken(format!(
                "valid for {lifetime} s, more than the {max} s allowed (auth.max_token_lifetime)"
            )));
        }
        if claims.sub.trim().is_empty() {
            return Err(AuthError::InvalidToken("empty subject".to_owned()));
        }
        let roles = claims
            .roles
            .iter()
            .map(|r| r.parse::<Role>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|err| AuthError::InvalidToken(err.to_string()))?;
        if roles.is_empty() {
            return Err(AuthError::InvalidToken("no roles".to_owned()));
        }
        if roles.contains(&Role::Customer) && claims.org.as_deref().is_none_or(str::is_empty) {
            return Err(AuthError::InvalidToken(
                "a customer token needs an org claim".to_owned(),
            ));
        }
        Ok(Caller {
            subject: claims.sub,
            roles,
            organization_id: claims.org.filter(|o| !o.is_empty()),
            expires_at: claims.exp,
            locale: claims.locale.as_deref().and_then(Locale::parse),
            display_name: claims.name.filter(|n| !n.trim().is_empty()),
        })
    }

    /// The tonic interceptor for authenticated services.
    pub fn interceptor(&self) -> AuthInterceptor {
        AuthInterceptor {
            authenticator: self.clone(),
        }
    }
}

fn load_or_generate_secret(path: &Path) -> Result<Secret, AuthError> {
    if let Ok(existing) = std::fs::read_to_string(path) {
        let existing = existing.trim().to_owned();
        if existing.len() >= 32 {
            return Ok(Secret::new(existing));
        }
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|err| AuthError::Config(format!("{}: {err}", dir.display())))?;
    }
    let bytes: [u8; 32] = rand::random();
    let secret = hex::encode(bytes);
    write_private(path, &secret)
        .map_err(|err| AuthError::Config(format!("{}: {err}", path.display())))?;
    Ok(Secret::new(secret))
}

#[cfg(unix)]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    std::fs::write(path, contents)
}

/// Verifies the bearer token of every call and attaches the [`Caller`].
#[derive(Clone)]
pub struct AuthInterceptor {
    authenticator: Authenticator,
}

impl tonic::service::Interceptor for AuthInterceptor {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        let verified = match request.extensions_mut().remove::<OidcOutcome>() {
            // A single sign-on token, verified by the OidcLayer in front.
            Some(OidcOutcome(outcome)) => outcome.map_err(refusal),
            None => self.caller(&request),
        };
        match verified {
            Ok(caller) => {
                request.extensions_mut().insert(caller);
                Ok(request)
            }
            Err(err) => {
                let info = request.extensions().get::<RpcInfo>();
                let locale = info.map_or_else(Locale::english, |i| i.locale(None));
                let trace_id = info.map(|i| i.trace_id.as_str()).unwrap_or_default();
                Err(err.into_status(trace_id, locale))
            }
        }
    }
}

/// What a person reads when their token is refused, and what a developer needs to know.
fn refusal(err: AuthError) -> ApiError {
    match err {
        AuthError::Expired => ApiError::Unauthenticated {
            message: msg!("error-token-expired"),
            detail: None,
        },
        AuthError::Unavailable(detail) => ApiError::Unavailable(detail),
        other => ApiError::Unauthenticated {
            message: msg!("error-token-invalid"),
            detail: Some(other.to_string()),
        },
    }
}

impl AuthInterceptor {
    /// The verified caller of `request`, or why there is none.
    fn caller(&self, request: &Request<()>) -> Result<Caller, ApiError> {
        let unauthenticated = |message: Msg| ApiError::Unauthenticated {
            message,
            detail: None,
        };
        let header = request
            .metadata()
            .get("authorization")
            .ok_or_else(|| unauthenticated(msg!("error-token-missing")))?;
        let value = header
            .to_str()
            .map_err(|_| unauthenticated(msg!("error-token-malformed-header")))?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .ok_or_else(|| unauthenticated(msg!("error-token-malformed-header")))?;
        self.authenticator.verify(token.trim()).map_err(refusal)
    }
}

/// The label of a role (`role-chief_engineer`).
pub fn role_label(role: Role) -> Msg {
    Msg::owned(format!("role-{}", role.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth() -> Authenticator {
        Authenticator::with_secret(
            &Secret::new("0123456789abcdef0123456789abcdef"),
            "steelcare",
        )
        .unwrap()
    }

    #[test]
    fn issued_tokens_verify_with_their_roles_and_org() {
        let a = auth();
        let token = a
            .issue(
                "u1",
                &[Role::Customer],
                Some("org-1"),
                Duration::from_secs(60),
            )
            .unwrap();
        let caller = a.verify(&token).unwrap();
        assert_eq!(caller.subject, "u1");
        assert_eq!(caller.roles, vec![Role::Customer]);
        assert_eq!(caller.organization_id.as_deref(), Some("org-1"));
        assert!(caller.is_customer_only());
        assert!(caller.require_any(&[Role::Admin]).is_err());
    }

    #[test]
    fn expired_foreign_and_odd_tokens_are_refused() {
        let a = auth();
        let now = chrono::Utc::now().timestamp();
        let claims = |roles: Vec<&str>, org: Option<&str>, exp: i64, iss: &str| Claims {
            sub: "u".into(),
            roles: roles.into_iter().map(String::from).collect(),
            org: org.map(String::from),
            iss: iss.into(),
            iat: now - 10,
            nbf: None,
            exp,
            locale: None,
            name: None,
        };
        let expired = a
            .issue_claims(&claims(vec!["agent"], None, now - 3600, "steelcare"))
            .unwrap();
        assert!(matches!(a.verify(&expired), Err(AuthError::Expired)));
        let unknown_role = a
            .issue_claims(&claims(vec!["root"], None, now + 60, "steelcare"))
            .unwrap();
        assert!(a.verify(&unknown_role).is_err());
        let customer_without_org = a
            .issue_claims(&claims(vec!["customer"], None, now + 60, "steelcare"))
            .unwrap();
        assert!(a.verify(&customer_without_org).is_err());
        let other_issuer = a
            .issue_claims(&claims(vec!["agent"], None, now + 60, "someone-else"))
            .unwrap();
        assert!(a.verify(&other_issuer).is_err());
        let other_key = Authenticator::with_secret(
            &Secret::new("ffffffffffffffffffffffffffffffff"),
            "steelcare",
        )
        .unwrap();
        let forged = other_key
            .issue("u", &[Role::Admin], None, Duration::from_secs(60))
            .unwrap();
        assert!(a.verify(&forged).is_err());
        assert!(a.verify("not-a-jwt").is_err());
    }

    #[test]
    fn the_embedded_secret_is_generated_once_and_reused() {
        let dir = std::env::temp_dir().join(format!("steelcare-auth-{}", uuid::Uuid::new_v4()));
        let settings = AuthSettings {
            jwt_secret: None,
            jwt_public_key_file: None,
            issuer: "steelcare".into(),
            max_token_lifetime: DEFAULT_MAX_LIFETIME,
            access_token_lifetime: Duration::from_secs(900),
            refresh_token_lifetime: Duration::from_secs(43_200),
            oidc: Vec::new(),
        };
        let (first, path) = Authenticator::from_settings(&settings, true, &dir).unwrap();
        assert!(path.is_some());
        let token = first
            .issue("u", &[Role::Admin], None, Duration::from_secs(60))
            .unwrap();
        let (second, _) = Authenticator::from_settings(&settings, true, &dir).unwrap();
        assert!(second.verify(&token).is_ok());
        assert!(Authenticator::from_settings(&settings, false, &dir).is_err());
        std::fs::remove_dir_all(&dir).ok();
    }
}
