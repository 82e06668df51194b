//! `steelcare.identity.v1`: the directory of people (`PeopleService`) and signing in with a
//! password (`SessionService`). Mounted in every deployment: the tables are shared, and a
//! token any deployment issues verifies everywhere.

use std::time::Duration;

use chrono::{TimeZone, Utc};
use sea_orm::sea_query::{Expr, OnConflict, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use steelcare_domain::Role;
use steelcare_i18n::{Locale, msg};
use steelcare_proto::identity::v1 as pb;
use steelcare_proto::identity::v1::people_service_server::PeopleService;
use steelcare_runtime::ApiError;
use steelcare_runtime::auth::{Authenticator, RequestContext, RpcInfo};
use steelcare_runtime::convert::{page_size, to_timestamp};
use steelcare_runtime::handler::{not_found, require};
use steelcare_runtime::identity::{
    self, PER_ADDRESS, PER_LOGIN_AND_ADDRESS, Throttle, password_problem,
};
use steelcare_runtime::oidc::{Directory, DirectoryEntry};
use steelcare_runtime::record::audit;
use steelcare_runtime::validate::{SHORT, Violations};
use steelcare_store::entity::{login_failures, people, refresh_tokens};
use steelcare_store::{Database, StoreError, begin_write, page};
use tonic::{Request, Response, Status};

fn db_err(err: sea_orm::DbErr) -> ApiError {
    StoreError::from(err).into()
}

fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

/// The identity services: the directory and sign-in.
#[derive(Clone)]
pub struct IdentityService {
    db: Database,
    authenticator: Authenticator,
    access_ttl: Duration,
    refresh_ttl: Duration,
}

impl IdentityService {
    /// Keeps the directory in `db`; issues access tokens valid `access_ttl` with
    /// `authenticator` and refresh tokens valid `refresh_ttl`.
    pub fn new(
        db: Database,
        authenticator: Authenticator,
        access_ttl: Duration,
        refresh_ttl: Duration,
    ) -> Self {
        IdentityService {
            db,
            authenticator,
            access_ttl,
            refresh_ttl,
        }
    }
}

/// The subject a person's tokens carry: the technician they are (dispatch knows technicians by
/// that id), else their login.
fn subject_of(row: &people::Model) -> String {
    row.technician_id
        .clone()
        .unwrap_or_else(|| row.login.clone())
}

fn roles_of(row: &people::Model) -> Vec<Role> {
    row.roles
        .split(',')
        .filter_map(|r| r.parse::<Role>().ok())
        .collect()
}

/// A stored person as the API shows them (never their password hash).
fn person_view(row: &people::Model) -> pb::Person {
    pb::Person {
        person_id: row.id.clone(),
        login: row.login.clone(),
        display_name: row.display_name.clone(),
        phone: row.phone.clone(),
        email: row.email.clone(),
        roles: roles_of(row)
            .iter()
            .map(|r| r.as_str().to_owned())
            .collect(),
        organization_id: row.organization_id.clone().unwrap_or_default(),
        technician_id: row.technician_id.clone().unwrap_or_default(),
        language_code: row.locale.clone().unwrap_or_default(),
        enabled: row.enabled,
        create_time: Some(to_timestamp(row.created_at)),
        update_time: Some(to_timestamp(row.updated_at)),
    }
}

/// What an audit record keeps of a person: their details, never a password.
fn audited(row: &people::Model) -> serde_json::Value {
    serde_json::json!({
        "login": row.login,
        "display_name": row.display_name,
        "roles": row.roles,
        "organization_id": row.organization_id,
        "technician_id": row.technician_id,
        "locale": row.locale,
        "enabled": row.enabled,
        "password_changed_at_ms": row.password_changed_at_ms,
    })
}

/// A person's details as a request gives them, checked.
struct Details {
    display_name: String,
    phone: String,
    email: String,
    roles: Vec<Role>,
    organization_id: Option<String>,
    technician_id: Option<String>,
    locale: Option<String>,
}

fn details(v: &mut Violations, person: &pb::Person) -> Details {
    let display_name = v.required("person.display_name", &person.display_name, SHORT);
    let phone = v.optional("person.phone", &person.phone, SHORT);
    let email = v.optional("person.email", &person.email, SHORT);
    let mut roles = Vec::new();
    for (i, name) in person.roles.iter().enumerate() {
        match name.trim().parse::<Role>() {
            Ok(role) if !roles.contains(&role) => roles.push(role),
            Ok(_) => {}
            Err(_) => v.add(format!("person.roles[{i}]"), msg!("field-role-unknown")),
        }
    }
    if person.roles.is_empty() {
        v.add("person.roles", msg!("field-required"));
    }
    let organization_id = v.optional("person.organization_id", &person.organization_id, SHORT);
    let technician_id = v.optional("person.technician_id", &person.technician_id, SHORT);
    if roles.contains(&Role::Customer) && organization_id.is_empty() {
        v.add(
            "person.organization_id",
            msg!("field-role-needs-organization"),
        );
    }
    if roles.contains(&Role::Technician) && technician_id.is_empty() {
        v.add("person.technician_id", msg!("field-role-needs-technician"));
    }
    let locale = match person.language_code.trim() {
        "" => None,
        tag => match Locale::parse(tag) {
            Some(l) => Some(l.tag().to_owned()),
            None => {
                v.add("person.language_code", msg!("field-language-not-shipped"));
                None
            }
        },
    };
    Details {
        display_name,
        phone,
        email,
        roles,
        organization_id: Some(organization_id).filter(|o| !o.is_empty()),
        technician_id: Some(technician_id).filter(|t| !t.is_empty()),
        locale,
    }
}

fn role_names(roles: &[Role]) -> String {
    roles
        .iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// `password`'s hash, computed on a blocking thread (tens of milliseconds of CPU the async
/// workers should not spend).
async fn hash_off_the_runtime(password: &str) -> Result<String, ApiError> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || identity::hash_password(&password))
        .await
        .map_err(|err| ApiError::Internal(format!("password hashing stopped: {err}")))?
        .map_err(ApiError::Internal)
}

/// Revokes the refresh tokens `which` selects: a person's (disabled, a new password) or one
/// sign-in's family (signed out, a spent token reused).
async fn revoke(
    conn: &impl ConnectionTrait,
    which: impl sea_orm::sea_query::IntoCondition,
) -> Result<(), ApiError> {
    refresh_tokens::Entity::update_many()
        .col_expr(refresh_tokens::Column::Revoked, Expr::value(true))
        .filter(which)
        .exec(conn)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// The people administrators manage.
const ADMINS: [Role; 1] = [Role::Admin];

impl IdentityService {
    async fn person_row(
        &self,
        conn: &impl ConnectionTrait,
        id: &str,
    ) -> Result<people::Model, ApiError> {
        people::Entity::find_by_id(id.to_owned())
            .one(conn)
            .await
            .map_err(db_err)?
            .ok_or_else(|| not_found("person", id))
    }

    /// ALREADY_EXISTS when another person is already `technician_id` (their tokens would name
    /// the same technician).
    async fn technician_free(
        &self,
        technician_id: Option<&str>,
        person_id: &str,
    ) -> Result<(), ApiError> {
        let Some(technician_id) = technician_id else {
            return Ok(());
        };
        let taken = people::Entity::find()
            .filter(people::Column::TechnicianId.eq(technician_id))
            .filter(people::Column::Id.ne(person_id))
            .one(&self.db)
            .await
            .map_err(db_err)?;
        match taken {
            Some(other) => Err(ApiError::AlreadyExists(msg!(
                "error-technician-linked",
                technician = technician_id,
                login = other.login
            ))),
            None => Ok(()),
        }
    }

    async fn by_login(&self, login: &str) -> Result<Option<people::Model>, ApiError> {
        people::Entity::find()
            .filter(people::Column::Login.eq(identity::normal_login(login)))
            .one(&self.db)
            .await
            .map_err(db_err)
    }

    /// Changes `row` with `edit` (its `updated_at` and `version` moved on too) and audits the
    /// person before and after, in `tx`.
    async fn save_person(
        &self,
        tx: &sea_orm::DatabaseTransaction,
        ctx: &RequestContext,
        row: &people::Model,
        edit: impl FnOnce(&mut people::ActiveModel),
    ) -> Result<people::Model, ApiError> {
        let mut active: people::ActiveModel = row.clone().into();
        edit(&mut active);
        active.updated_at = Set(Utc::now());
        active.version = Set(row.version + 1);
        let updated = active.update(tx).await.map_err(db_err)?;
        let (before, after) = (audited(row), audited(&updated));
        audit(tx, ctx, "person", &row.id, Some(before), after).await?;
        Ok(updated)
    }

    /// Stores `password`'s hash for `row`, marks the change and revokes their sign-ins.
    async fn set_password(
        &self,
        ctx: &RequestContext,
        row: &people::Model,
        password: &str,
    ) -> Result<(), ApiError> {
        let hash = hash_off_the_runtime(password).await?;
        let tx = begin_write(&self.db).await.map_err(db_err)?;
        self.save_person(&tx, ctx, row, |p| {
            p.password_hash = Set(Some(hash));
            p.password_changed_at_ms = Set(now_ms());
        })
        .await?;
        revoke(&tx, refresh_tokens::Column::PersonId.eq(&row.id)).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn create_person(
        &self,
        ctx: &RequestContext,
        request: pb::CreatePersonRequest,
    ) -> Result<pb::CreatePersonResponse, ApiError> {
        require(&ctx.caller, &ADMINS)?;
        let person = request.person.unwrap_or_default();
        let mut v = Violations::default();
        let login = identity::normal_login(&person.login);
        if !identity::valid_login(&login) {
            v.add("person.login", msg!("field-login-invalid"));
        }
        let d = details(&mut v, &person);
        if let Some(problem) = password_problem(&request.password, &login) {
            v.add("password", problem);
        }
        v.finish(())?;
        if self.by_login(&login).await?.is_some() {
            return Err(ApiError::AlreadyExists(msg!(
                "error-login-taken",
                login = login
            )));
        }
        self.technician_free(d.technician_id.as_deref(), "").await?;
        let hash = hash_off_the_runtime(&request.password).await?;
        let now = Utc::now();
        let row = people::Model {
            id: uuid::Uuid::now_v7().to_string(),
            login: login.clone(),
            display_name: d.display_name,
            phone: d.phone,
            email: d.email,
            roles: role_names(&d.roles),
            organization_id: d.organization_id,
            technician_id: d.technician_id,
            locale: d.locale,
            enabled: true,
            password_hash: Some(hash),
            password_changed_at_ms: now.timestamp_millis(),
            created_at: now,
            updated_at: now,
            version: 1,
        };
        let tx = begin_write(&self.db).await.map_err(db_err)?;
        let inserted = people::ActiveModel::from(row.clone()).insert(&tx).await;
        if inserted.is_err() && self.by_login(&login).await?.is_some() {
            return Err(ApiError::AlreadyExists(msg!(
                "error-login-taken",
                login = login
            )));
        }
        inserted.map_err(db_err)?;
        audit(&tx, ctx, "person", &row.id, None, audited(&row)).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(pb::CreatePersonResponse {
            person: Some(person_view(&row)),
        })
    }

    async fn update_person(
        &self,
        ctx: &RequestContext,
        request: pb::UpdatePersonRequest,
    ) -> Result<pb::UpdatePersonResponse, ApiError> {
        require(&ctx.caller, &ADMINS)?;
        let person = request.person.unwrap_or_default();
        let mut v = Violations::default();
        let id = v.required("person.person_id", &person.person_id, SHORT);
        let d = details(&mut v, &person);
        v.finish(())?;
        self.technician_free(d.technician_id.as_deref(), &id)
            .await?;
        let tx = begin_write(&self.db).await.map_err(db_err)?;
        let row = self.person_row(&tx, &id).await?;
        let updated = self
            .save_person(&tx, ctx, &row, |p| {
                p.display_name = Set(d.display_name);
                p.phone = Set(d.phone);
                p.email = Set(d.email);
                p.roles = Set(role_names(&d.roles));
                p.organization_id = Set(d.organization_id);
                p.technician_id = Set(d.technician_id);
                p.locale = Set(d.locale);
            })
            .await?;
        tx.commit().await.map_err(db_err)?;
        Ok(pb::UpdatePersonResponse {
            person: Some(person_view(&updated)),
        })
    }

    async fn set_person_enabled(
        &self,
        ctx: &RequestContext,
        request: pb::SetPersonEnabledRequest,
    ) -> Result<pb::SetPersonEnabledResponse, ApiError> {
        require(&ctx.caller, &ADMINS)?;
        let tx = begin_write(&self.db).await.map_err(db_err)?;
        let row = self.person_row(&tx, &request.person_id).await?;
        if !request.enabled && subject_of(&row) == ctx.caller.subject {
            return Err(ApiError::FailedPrecondition {
                subject: format!("person/{}", row.id),
                current_state: "ENABLED".to_owned(),
                message: msg!("error-disable-yourself"),
            });
        }
        let updated = self
            .save_person(&tx, ctx, &row, |p| p.enabled = Set(request.enabled))
            .await?;
        if !request.enabled {
            revoke(&tx, refresh_tokens::Column::PersonId.eq(&row.id)).await?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(pb::SetPersonEnabledResponse {
            person: Some(person_view(&updated)),
        })
    }

    async fn get_person(
        &self,
        ctx: &RequestContext,
        request: pb::GetPersonRequest,
    ) -> Result<pb::GetPersonResponse, ApiError> {
        require(&ctx.caller, &ADMINS)?;
        let row = self.person_row(&self.db, &request.person_id).await?;
        Ok(pb::GetPersonResponse {
            person: Some(person_view(&row)),
        })
    }

    async fn list_people(
        &self,
        ctx: &RequestContext,
        request: pb::ListPeopleRequest,
    ) -> Result<pb::ListPeopleResponse, ApiError> {
        require(&ctx.caller, &ADMINS)?;
        let size = page_size(request.page_size)?;
        let after: Option<String> = page::decode(&request.page_token, "people")?;
        let mut query = people::Entity::find().order_by_asc(people::Column::Login);
        if let Some(login) = after {
            query = query.filter(people::Column::Login.gt(login));
        }
        let mut rows = query.limit(size + 1).all(&self.db).await.map_err(db_err)?;
        let next_page_token = page::next_token(&mut rows, size, "people", |r| r.login.clone());
        Ok(pb::ListPeopleResponse {
            people: rows.iter().map(person_view).collect(),
            next_page_token,
        })
    }

    async fn reset_password(
        &self,
        ctx: &RequestContext,
        request: pb::ResetPasswordRequest,
    ) -> Result<pb::ResetPasswordResponse, ApiError> {
        require(&ctx.caller, &ADMINS)?;
        let row = self.person_row(&self.db, &request.person_id).await?;
        if let Some(problem) = password_problem(&request.password, &row.login) {
            return Err(ApiError::invalid("password", problem));
        }
        self.set_password(ctx, &row, &request.password).await?;
        Ok(pb::ResetPasswordResponse {})
    }

    async fn change_password(
        &self,
        ctx: &RequestContext,
        request: pb::ChangePasswordRequest,
    ) -> Result<pb::ChangePasswordResponse, ApiError> {
        let subject = &ctx.caller.subject;
        let row = people::Entity::find()
            .filter(
                sea_orm::Condition::any()
                    .add(people::Column::TechnicianId.eq(subject.as_str()))
                    .add(people::Column::Login.eq(subject.as_str())),
            )
            .one(&self.db)
            .await
            .map_err(db_err)?
            .ok_or_else(|| ApiError::FailedPrecondition {
                subject: format!("person/{subject}"),
                current_state: "NOT_IN_DIRECTORY".to_owned(),
                message: msg!("error-not-in-directory"),
            })?;
        if let Some(problem) = password_problem(&request.new_password, &row.login) {
            return Err(ApiError::invalid("new_password", problem));
        }
        if !identity::verify_password(&request.current_password, row.password_hash.as_deref()) {
            return Err(ApiError::Unauthenticated {
                message: msg!("error-current-password-wrong"),
                detail: None,
            });
        }
        self.set_password(ctx, &row, &request.new_password).await?;
        Ok(pb::ChangePasswordResponse {})
    }
}

steelcare_runtime::rpcs! {
    impl PeopleService for IdentityService {
        (create_person, pb::CreatePersonRequest, pb::CreatePersonResponse),
        (update_person, pb::UpdatePersonRequest, pb::UpdatePersonResponse),
        (set_person_enabled, pb::SetPersonEnabledRequest, pb::SetPersonEnabledResponse),
        (get_person, pb::GetPersonRequest, pb::GetPersonResponse),
        (list_people, pb::ListPeopleRequest, pb::ListPeopleResponse),
        (reset_password, pb::ResetPasswordRequest, pb::ResetPasswordResponse),
        (change_password, pb::ChangePasswordRequest, pb::ChangePasswordResponse),
    }
}

/// A password for a first administrator: 20 random letters and digits (about 119 bits).
pub fn generated_password() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut out: String = (0..19)
        .map(|_| char::from(ALPHABET[rand::random_range(0..ALPHABET.len())]))
        .collect();
    // A digit for sure, so the policy's "letters and something else" always holds.
    out.push(char::from(b'2' + rand::random_range(0..8u8)));
    out
}

/// Adds a person from `steelcare user add`: the checks of CreatePerson, audited as the
/// command line. Errors are one line for the operator, in English.
pub async fn add_from_command_line(
    db: Database,
    person: pb::Person,
    password: String,
) -> Result<pb::Person, String> {
    let ctx = RequestContext {
        caller: steelcare_runtime::Caller {
            subject: "steelcare-cli".to_owned(),
            roles: vec![Role::Admin],
            organization_id: None,
            expires_at: 0,
            locale: None,
            display_name: None,
        },
        rpc: "cli/user-add".to_owned(),
        trace_id: String::new(),
        authorization: None,
        locale: Locale::english(),
    };
    // Only the directory is written: no token is issued, so a throwaway secret does.
    let throwaway: String = (0..4)
        .map(|_| format!("{:016x}", rand::random::<u64>()))
        .collect();
    let authenticator =
        Authenticator::with_secret(&steelcare_runtime::settings::Secret::new(throwaway), "cli")
            .map_err(|err| err.to_string())?;
    let service = IdentityService::new(db, authenticator, Duration::ZERO, Duration::ZERO);
    let request = pb::CreatePersonRequest {
        person: Some(person),
        password,
    };
    match service.create_person(&ctx, request).await {
        Ok(created) => created
            .person
            .ok_or_else(|| "no person was created".to_owned()),
        Err(ApiError::InvalidArgument(violations)) => Err(violations
            .iter()
            .map(|v| format!("{}: {}", v.field, v.description.english()))
            .collect::<Vec<_>>()
            .join("; ")),
        Err(err) => Err(err.to_string()),
    }
}

// --- Sessions -------------------------------------------------------------------------------

/// Where a sign-in attempt comes from, and the locale and trace its answer uses.
struct Attempt {
    address: String,
    info: RpcInfo,
}

impl Attempt {
    fn of<T>(request: &Request<T>) -> Attempt {
        Attempt {
            address: request
                .remote_addr()
                .map_or_else(|| "unknown".to_owned(), |a| a.ip().to_string()),
            info: request
                .extensions()
                .get::<RpcInfo>()
                .cloned()
                .unwrap_or_default(),
        }
    }

    fn status(&self, err: ApiError) -> Status {
        err.into_status(&self.info.trace_id, self.info.locale(None))
    }
}

fn session_ended() -> ApiError {
    ApiError::Unauthenticated {
        message: msg!("error-session-ended"),
        detail: None,
    }
}

impl IdentityService {
    /// Refused while a key of this attempt is locked out.
    async fn check_locks(&self, keys: &[String]) -> Result<(), ApiError> {
        let now = now_ms();
        let rows = login_failures::Entity::find()
            .filter(login_failures::Column::Key.is_in(keys.iter().cloned()))
            .all(&self.db)
            .await
            .map_err(db_err)?;
        let until = rows
            .iter()
            .filter_map(|r| r.locked_until_ms)
            .filter(|u| *u > now)
            .max();
        match until {
            Some(until) => {
                let wait = Duration::from_millis(u64::try_from(until - now).unwrap_or(0));
                Err(ApiError::ResourceExhausted {
                    message: msg!(
                        "error-login-locked",
                        minutes = i64::try_from(wait.as_secs().div_ceil(60)).unwrap_or(1)
                    ),
                    retry_after: wait,
                })
            }
            None => Ok(()),
        }
    }

    /// Counts one failure under each key: an upsert that counts within the key's window (or
    /// starts a new one), then a conditional update that turns a full count into a lock-out.
    /// Each statement is atomic, so failures at once are all counted.
    async fn count_failure(&self, keys: &[(String, Throttle)]) -> Result<(), ApiError> {
        use login_failures::Column as C;
        let now = now_ms();
        let tx = begin_write(&self.db).await.map_err(db_err)?;
        for (key, throttle) in keys {
            // Integers this code computed: no caller text reaches the SQL.
            let open = format!(
                "{now} - login_failures.window_started_ms < {}",
                throttle.window_ms
            );
            let count = Query::insert()
                .into_table(login_failures::Entity)
                .columns([C::Key, C::Failures, C::WindowStartedMs, C::LockedUntilMs])
                .values_panic([
                    key.as_str().into(),
                    1.into(),
                    now.into(),
                    Option::<i64>::None.into(),
                ])
                .on_conflict(
                    OnConflict::column(C::Key)
                        .value(
                            C::Failures,
                            Expr::cust(format!(
                                "CASE WHEN {open} THEN login_failures.failures + 1 ELSE 1 END"
                            )),
                        )
                        .value(
                            C::WindowStartedMs,
                            Expr::cust(format!(
                                "CASE WHEN {open} THEN login_failures.window_started_ms ELSE {now} END"
                            )),
                        )
                        .to_owned(),
                )
                .to_owned();
            tx.execute(&count).await.map_err(db_err)?;
            login_failures::Entity::update_many()
                .col_expr(C::LockedUntilMs, Expr::value(now + throttle.lockout_ms))
                .col_expr(C::Failures, Expr::value(0))
                .col_expr(C::WindowStartedMs, Expr::value(now))
                .filter(C::Key.eq(key.as_str()))
                .filter(C::Failures.gte(throttle.max_failures))
                .exec(&tx)
                .await
                .map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)
    }

    /// A new access token and refresh token for `row`, the refresh token in `family`.
    async fn issue(&self, row: &people::Model, family: &str) -> Result<pb::Session, ApiError> {
        let locale = row.locale.as_deref().and_then(Locale::parse);
        let roles = roles_of(row);
        let access_token = self
            .authenticator
            .issue_named(
                &subject_of(row),
                Some(&row.display_name),
                &roles,
                row.organization_id.as_deref(),
                self.access_ttl,
                locale,
            )
            .map_err(|err| ApiError::Internal(format!("issuing an access token: {err}")))?;
        let refresh_token = identity::new_refresh_token();
        let now = now_ms();
        let refresh_ms = i64::try_from(self.refresh_ttl.as_millis()).unwrap_or(i64::MAX / 2);
        refresh_tokens::ActiveModel {
            token_hash: Set(identity::token_hash(&refresh_token)),
            person_id: Set(row.id.clone()),
            family_id: Set(family.to_owned()),
            expires_at_ms: Set(now + refresh_ms),
            spent_at_ms: Set(None),
            revoked: Set(false),
            created_at_ms: Set(now),
        }
        .insert(&self.db)
        .await
        .map_err(db_err)?;
        let at = |ms: i64| Utc.timestamp_millis_opt(ms).single().map(to_timestamp);
        let access_ms = i64::try_from(self.access_ttl.as_millis()).unwrap_or(i64::MAX / 2);
        Ok(pb::Session {
            access_token,
            access_token_expire_time: at(now + access_ms),
            refresh_token,
            refresh_token_expire_time: at(now + refresh_ms),
            person: Some(person_view(row)),
        })
    }

    async fn login(
        &self,
        attempt: &Attempt,
        request: pb::LoginRequest,
    ) -> Result<pb::LoginResponse, ApiError> {
        let mut v = Violations::default();
        if request.login.trim().is_empty() {
            v.add("login", msg!("field-required"));
        }
        if request.password.is_empty() {
            v.add("password", msg!("field-required"));
        }
        v.finish(())?;
        let login = identity::normal_login(&request.login);
        let address_key = format!("address:{}", attempt.address);
        let pair_key = format!("login:{login}|{}", attempt.address);
        self.check_locks(&[address_key.clone(), pair_key.clone()])
            .await?;
        let row = self.by_login(&login).await?;
        let hash = row.as_ref().and_then(|r| r.password_hash.clone());
        let password = request.password;
        let matches = tokio::task::spawn_blocking(move || {
            identity::verify_password(&password, hash.as_deref())
        })
        .await
        .unwrap_or(false);
        match row.filter(|r| matches && r.enabled) {
            Some(row) => {
                login_failures::Entity::delete_by_id(pair_key)
                    .exec(&self.db)
                    .await
                    .map_err(db_err)?;
                let session = self.issue(&row, &uuid::Uuid::now_v7().to_string()).await?;
                Ok(pb::LoginResponse {
                    session: Some(session),
                })
            }
            None => {
                self.count_failure(&[
                    (address_key, PER_ADDRESS),
                    (pair_key, PER_LOGIN_AND_ADDRESS),
                ])
                .await?;
                Err(ApiError::Unauthenticated {
                    message: msg!("error-login-failed"),
                    detail: None,
                })
            }
        }
    }

    async fn refresh(&self, request: pb::RefreshRequest) -> Result<pb::RefreshResponse, ApiError> {
        if request.refresh_token.trim().is_empty() {
            return Err(ApiError::invalid("refresh_token", msg!("field-required")));
        }
        let hash = identity::token_hash(request.refresh_token.trim());
        let now = now_ms();
        // Spent by this use, in one conditional statement: two uses at once cannot both win.
        let spent = refresh_tokens::Entity::update_many()
            .col_expr(refresh_tokens::Column::SpentAtMs, Expr::value(now))
            .filter(refresh_tokens::Column::TokenHash.eq(&hash))
            .filter(refresh_tokens::Column::SpentAtMs.is_null())
            .filter(refresh_tokens::Column::Revoked.eq(false))
            .filter(refresh_tokens::Column::ExpiresAtMs.gt(now))
            .exec(&self.db)
            .await
            .map_err(db_err)?;
        let token = refresh_tokens::Entity::find_by_id(hash)
            .one(&self.db)
            .await
            .map_err(db_err)?
            .ok_or_else(session_ended)?;
        if spent.rows_affected != 1 {
            if token.spent_at_ms.is_some() && !token.revoked {
                // Used again after it was spent: someone else has a copy. End the sign-in.
                tracing::warn!(person_id = %token.person_id, "a spent refresh token was used again; its sign-in is revoked");
                revoke(
                    &self.db,
                    refresh_tokens::Column::FamilyId.eq(&token.family_id),
                )
                .await?;
            }
            return Err(session_ended());
        }
        let row = self.person_row(&self.db, &token.person_id).await?;
        if !row.enabled || row.password_changed_at_ms > token.created_at_ms {
            revoke(
                &self.db,
                refresh_tokens::Column::FamilyId.eq(&token.family_id),
            )
            .await?;
            return Err(session_ended());
        }
        let session = self.issue(&row, &token.family_id).await?;
        Ok(pb::RefreshResponse {
            session: Some(session),
        })
    }

    async fn logout(&self, request: pb::LogoutRequest) -> Result<pb::LogoutResponse, ApiError> {
        if request.refresh_token.trim().is_empty() {
            return Err(ApiError::invalid("refresh_token", msg!("field-required")));
        }
        let hash = identity::token_hash(request.refresh_token.trim());
        if let Some(token) = refresh_tokens::Entity::find_by_id(hash)
            .one(&self.db)
            .await
            .map_err(db_err)?
        {
            revoke(
                &self.db,
                refresh_tokens::Column::FamilyId.eq(&token.family_id),
            )
            .await?;
        }
        Ok(pb::LogoutResponse {})
    }
}

#[tonic::async_trait]
impl pb::session_service_server::SessionService for IdentityService {
    async fn login(
        &self,
        request: Request<pb::LoginRequest>,
    ) -> Result<Response<pb::LoginResponse>, Status> {
        let attempt = Attempt::of(&request);
        IdentityService::login(self, &attempt, request.into_inner())
            .await
            .map(Response::new)
            .map_err(|err| attempt.status(err))
    }

    async fn refresh(
        &self,
        request: Request<pb::RefreshRequest>,
    ) -> Result<Response<pb::RefreshResponse>, Status> {
        let attempt = Attempt::of(&request);
        IdentityService::refresh(self, request.into_inner())
            .await
            .map(Response::new)
            .map_err(|err| attempt.status(err))
    }

    async fn logout(
        &self,
        request: Request<pb::LogoutRequest>,
    ) -> Result<Response<pb::LogoutResponse>, Status> {
        let attempt = Attempt::of(&request);
        IdentityService::logout(self, request.into_inner())
            .await
            .map(Response::new)
            .map_err(|err| attempt.status(err))
    }

    async fn get_sign_in_options(
        &self,
        _request: Request<pb::GetSignInOptionsRequest>,
    ) -> Result<Response<pb::GetSignInOptionsResponse>, Status> {
        let identity_providers = self
            .authenticator
            .oidc()
            .settings()
            .filter(|provider| !provider.console_client_id.is_empty())
            .map(|provider| pb::IdentityProvider {
                name: provider.name.clone(),
                label: provider.console_label.clone(),
                issuer: provider.issuer.clone(),
                client_id: provider.console_client_id.clone(),
                scope: provider.console_scope.clone(),
                resource: provider.console_resource.clone(),
            })
            .collect();
        Ok(Response::new(pb::GetSignInOptionsResponse {
            identity_providers,
        }))
    }
}

/// The directory as single sign-on matches people in it (by login).
pub struct PeopleDirectory {
    db: Database,
}

impl PeopleDirectory {
    /// The directory kept in `db`.
    pub fn new(db: Database) -> PeopleDirectory {
        PeopleDirectory { db }
    }
}

#[tonic::async_trait]
impl Directory for PeopleDirectory {
    async fn by_login(&self, login: &str) -> Result<Option<DirectoryEntry>, String> {
        let row = people::Entity::find()
            .filter(people::Column::Login.eq(login.trim().to_lowercase()))
            .one(&self.db)
            .await
            .map_err(|err| format!("the directory: {err}"))?;
        Ok(row.map(|row| DirectoryEntry {
            subject: subject_of(&row),
            roles: roles_of(&row),
            organization_id: row.organization_id.clone(),
            locale: row.locale.as_deref().and_then(Locale::parse),
            enabled: row.enabled,
            display_name: row.display_name,
        }))
    }
}
