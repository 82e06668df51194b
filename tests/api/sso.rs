//! Single sign-on (issue 23): SteelCare trusts the access tokens of the company's OpenID
//! Providers. Each test runs `oidc-provider` (a certified provider, from npm) with its own keys
//! in a node process, on both backends: tokens it signs are let in with the roles, organisation
//! and name their claims or the directory give; tokens of an untrusted issuer, for another
//! audience, expired, not yet valid or signed with a key it does not publish are refused; a key
//! rotated mid-test is fetched once and works; a flood of unknown key ids fetches the key set at
//! most once per floor; two providers are trusted at once. In a browser, the console signs in
//! at the provider (code flow with PKCE), renews across a key rotation and signs out there too.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};
use steelcare_domain::Role;
use steelcare_proto::admin::v1 as admin;
use steelcare_proto::admin::v1::admin_service_client::AdminServiceClient;
use steelcare_proto::identity::v1 as pb;
use steelcare_proto::identity::v1::people_service_client::PeopleServiceClient;
use steelcare_proto::identity::v1::session_service_client::SessionServiceClient;
use steelcare_proto::intake::v1 as intake;
use steelcare_proto::intake::v1::intake_service_client::IntakeServiceClient;
use steelcare_tests::fixtures::project_request;
use steelcare_tests::{Backend, TestApp, authed, backends, spawn_app_with};
use tonic::Code;

const AUDIENCE: &str = "urn:steelcare";

/// An `oidc-provider` in a node process, ended when dropped.
pub(crate) struct TestProvider {
    child: Child,
    pub issuer: String,
    http: reqwest::Client,
}

impl TestProvider {
    /// Starts a provider whose accounts are `accounts` ({login: {name, groups, org?}}), or
    /// `None` when node or the web packages are missing.
    pub(crate) fn start(accounts: Value, access_token_ttl: u64) -> Result<TestProvider, String> {
        let web = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../web");
        if !web.join("node_modules/oidc-provider").exists() {
            return Err("web/node_modules is missing (npm ci in web/)".into());
        }
        let options = json!({
            "audience": AUDIENCE,
            "accounts": accounts,
            "accessTokenTtl": access_token_ttl,
        });
        let mut child = Command::new("node")
            .arg("e2e/oidc-provider.mjs")
            .current_dir(&web)
            .env("STEELCARE_OIDC", options.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|err| format!("node: {err}"))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut first = String::new();
        BufReader::new(stdout)
            .read_line(&mut first)
            .map_err(|err| err.to_string())?;
        let issuer = first
            .trim()
            .strip_prefix("issuer ")
            .ok_or_else(|| format!("the provider said {first:?}"))?
            .to_owned();
        Ok(TestProvider {
            child,
            issuer,
            http: reqwest::Client::new(),
        })
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.http
            .post(format!("{}{path}", self.issuer))
            .json(&body)
            .send()
            .await
            .expect("the provider answers")
            .json()
            .await
            .expect("JSON")
    }

    /// Lets the console at `url` sign in (its redirect and sign-out address).
    pub(crate) async fn register_console(&self, url: &str) {
        self.post("/test/client", json!({ "redirectUri": url }))
            .await;
    }

    /// A new signing key, first in the key set; answers its key id.
    pub(crate) async fn rotate(&self) -> String {
        let answer = self.post("/test/rotate", json!({})).await;
        answer["kid"].as_str().unwrap_or_default().to_owned()
    }

    /// `claims` signed with the provider's current key.
    async fn sign(&self, claims: Value) -> String {
        let answer = self.post("/test/sign", json!({ "claims": claims })).await;
        answer["token"].as_str().unwrap_or_default().to_owned()
    }

    /// `claims` signed with a key the provider does not publish.
    async fn sign_with_stranger(&self, claims: Value) -> String {
        let answer = self
            .post("/test/sign", json!({ "claims": claims, "key": "stranger" }))
            .await;
        answer["token"].as_str().unwrap_or_default().to_owned()
    }

    /// How many times the key set was fetched.
    async fn key_fetches(&self) -> u64 {
        let answer: Value = self
            .http
            .get(format!("{}/test/fetches", self.issuer))
            .send()
            .await
            .expect("the provider answers")
            .json()
            .await
            .expect("JSON");
        answer["fetches"].as_u64().unwrap_or_default()
    }

    /// Access-token claims for `login`, valid from now for `ttl` seconds.
    fn claims(&self, login: &str, extra: Value) -> Value {
        let now = chrono::Utc::now().timestamp();
        let mut claims = json!({
            "iss": self.issuer,
            "aud": AUDIENCE,
            "sub": format!("sub-{login}"),
            "preferred_username": login,
            "iat": now,
            "exp": now + 300,
        });
        if let (Some(all), Some(more)) = (claims.as_object_mut(), extra.as_object()) {
            for (key, value) in more {
                all.insert(key.clone(), value.clone());
            }
        }
        claims
    }
}

impl Drop for TestProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The settings trusting `provider` as `[auth.oidc.<name>]`: roles from `groups` mapped,
/// organisation from `org`, people matched in the directory by `preferred_username`.
pub(crate) fn trusting(name: &str, provider: &TestProvider) -> Vec<(String, String)> {
    let key = |field: &str| format!("STEELCARE__AUTH__OIDC__{}__{field}", name.to_uppercase());
    vec![
        (key("ISSUER"), provider.issuer.clone()),
        (key("AUDIENCE"), AUDIENCE.into()),
        (key("ROLES_CLAIM"), "groups".into()),
        (key("ROLE_MAP__SC_AGENTS"), "agent".into()),
        (key("ROLE_MAP__SC_DISPATCHERS"), "dispatcher".into()),
        (key("ROLE_MAP__SC_CUSTOMERS"), "customer".into()),
        (key("ORGANIZATION_CLAIM"), "org".into()),
        (key("LOGIN_CLAIM"), "preferred_username".into()),
        (key("JWKS_REFETCH_FLOOR"), "1s".into()),
        (key("CONSOLE_CLIENT_ID"), "steelcare-console".into()),
        (key("CONSOLE_LABEL"), format!("{name} account")),
    ]
}

async fn start_trusting(backend: &Backend, settings: &[(String, String)]) -> TestApp {
    let extra: Vec<(&str, &str)> = settings
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    spawn_app_with(backend, &extra).await
}

async fn who(
    app: &TestApp,
    token: &str,
) -> Result<steelcare_proto::common::v1::Actor, tonic::Status> {
    AdminServiceClient::new(app.channel().await)
        .who_am_i(authed(admin::WhoAmIRequest {}, token))
        .await
        .map(|r| r.into_inner().actor.unwrap_or_default())
}

/// Why a refused token was refused (the developer's detail), for the assertion's message.
fn refused(result: Result<steelcare_proto::common::v1::Actor, tonic::Status>) -> tonic::Status {
    match result {
        Ok(actor) => panic!("let in as {actor:?}"),
        Err(status) => status,
    }
}

fn provider_or_skip(accounts: Value) -> Option<TestProvider> {
    crate::console::or_skip("the OpenID Provider", TestProvider::start(accounts, 300))
}

#[tokio::test]
async fn tokens_of_a_trusted_provider_are_let_in_and_every_other_token_is_refused() {
    let Some(provider) = provider_or_skip(json!({})) else {
        return;
    };
    for backend in backends() {
        let app = start_trusting(&backend, &trusting("staff", &provider)).await;

        // An agent of the company's provider: roles from the mapped groups, name from `name`.
        let agent = provider
            .sign(provider.claims(
                "lin.sso",
                json!({ "groups": ["sc_agents", "everyone"], "name": "林晓" }),
            ))
            .await;
        let actor = who(&app, &agent)
            .await
            .expect("the provider's agent is let in");
        assert_eq!(actor.subject, "sub-lin.sso", "{}", backend.name());
        assert_eq!(actor.roles, vec!["agent".to_owned()]);
        assert_eq!(actor.display_name, "林晓");

        // Refused: another audience, expired, not yet valid, an issuer not trusted, a key the
        // provider does not publish, no role at all, a customer without organisation.
        let now = chrono::Utc::now().timestamp();
        let groups = json!(["sc_agents"]);
        let cases = [
            (
                "another audience",
                json!({ "groups": groups, "aud": "urn:someone-else" }),
            ),
            (
                "expired",
                json!({ "groups": groups, "iat": now - 600, "exp": now - 60 }),
            ),
            (
                "not yet valid",
                json!({ "groups": groups, "nbf": now + 120 }),
            ),
            (
                "untrusted issuer",
                json!({ "groups": groups, "iss": "http://127.0.0.1:9/other" }),
            ),
            ("no role", json!({ "groups": ["everyone"] })),
            (
                "customer without organisation",
                json!({ "groups": ["sc_customers"] }),
            ),
        ];
        for (case, extra) in cases {
            let token = provider.sign(provider.claims("lin.sso", extra)).await;
            let status = refused(who(&app, &token).await);
            assert_eq!(status.code(), Code::Unauthenticated, "{case}: {status:?}");
        }
        let forged = provider
            .sign_with_stranger(provider.claims("lin.sso", json!({ "groups": groups })))
            .await;
        assert_eq!(
            refused(who(&app, &forged).await).code(),
            Code::Unauthenticated
        );
        // A token that says HS256 with the provider's issuer is never checked with a secret.
        let own = app.auth.issue_claims(&steelcare_runtime::auth::Claims {
            sub: "mallory".into(),
            roles: vec!["admin".into()],
            org: None,
            iss: provider.issuer.clone(),
            iat: now,
            nbf: None,
            exp: now + 60,
            locale: None,
            name: None,
        });
        assert_eq!(
            refused(who(&app, &own.unwrap()).await).code(),
            Code::Unauthenticated
        );

        // A flood of unknown key ids fetches the key set at most once per floor (1 s here).
        let before = provider.key_fetches().await;
        for _ in 0..20 {
            assert!(who(&app, &forged).await.is_err());
        }
        let fetched = provider.key_fetches().await - before;
        assert!(fetched <= 1, "{fetched} fetches for 20 unknown key ids");

        // The provider rotates its key: the new key is fetched (after the floor) and works,
        // and a token of the old key, still published, still works.
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        let rotated = provider.rotate().await;
        let after_rotation = provider
            .sign(provider.claims("lin.sso", json!({ "groups": groups, "name": "林晓" })))
            .await;
        let header = jsonwebtoken::decode_header(&after_rotation).unwrap();
        assert_eq!(header.kid.as_deref(), Some(rotated.as_str()));
        assert_eq!(
            who(&app, &after_rotation)
                .await
                .expect("the rotated key")
                .subject,
            "sub-lin.sso"
        );
        assert!(
            who(&app, &agent).await.is_ok(),
            "the old key is still published"
        );
        app.stop().await.unwrap();
    }
}

#[tokio::test]
async fn directory_people_and_customers_of_a_second_provider_keep_their_roles_and_organisations() {
    let (Some(staff), Some(customers)) = (provider_or_skip(json!({})), provider_or_skip(json!({})))
    else {
        return;
    };
    for backend in backends() {
        let mut settings = trusting("staff", &staff);
        settings.extend(trusting("customers", &customers));
        let app = start_trusting(&backend, &settings).await;
        let agent = app.token("agent-1", &[Role::Agent], None);
        let admin_token = app.token("admin-1", &[Role::Admin], None);

        // Two organisations, a project each.
        let mut intake_client = IntakeServiceClient::new(app.channel().await);
        let mut orgs = Vec::new();
        for (name, contract) in [("Acme Logistics", "HT-1"), ("Other Steel Works", "HT-2")] {
            let org = crate::intake::create_customer(&mut intake_client, &agent, name).await;
            let project = intake::RegisterProjectRequest {
                contract_number: contract.into(),
                ..project_request("", &org)
            };
            intake_client
                .register_project(authed(project, &agent))
                .await
                .unwrap();
            orgs.push(org);
        }

        // A customer of the customers' provider sees their own organisation's project only.
        let customer = customers
            .sign(customers.claims(
                "li.wei",
                json!({ "groups": ["sc_customers"], "org": orgs[0] }),
            ))
            .await;
        let projects = intake_client
            .list_projects(authed(intake::ListProjectsRequest::default(), &customer))
            .await
            .expect("the customer lists projects")
            .into_inner()
            .projects;
        assert_eq!(projects.len(), 1, "{}", backend.name());
        assert_eq!(projects[0].customer_id, orgs[0]);
        let other = intake_client
            .list_projects(authed(
                intake::ListProjectsRequest {
                    customer_id: orgs[1].clone(),
                    ..Default::default()
                },
                &customer,
            ))
            .await;
        assert!(
            other.is_err() || other.unwrap().into_inner().projects.is_empty(),
            "another organisation's projects"
        );
        // The staff provider's token is not the customers' provider's: its issuer decides.
        let customer_at_staff = staff
            .sign(
                json!({ "iss": customers.issuer, "aud": AUDIENCE, "sub": "x",
                          "exp": chrono::Utc::now().timestamp() + 60, "groups": ["sc_agents"] }),
            )
            .await;
        assert!(who(&app, &customer_at_staff).await.is_err());

        // A dispatcher of the directory signs in at the staff provider with no groups: their
        // roles and name come from the directory; disabled there, they are refused.
        let mut people = PeopleServiceClient::new(app.channel().await);
        let person = people
            .create_person(authed(
                pb::CreatePersonRequest {
                    person: Some(pb::Person {
                        login: "wang.sso".into(),
                        display_name: "王调度".into(),
                        roles: vec!["dispatcher".into()],
                        ..Default::default()
                    }),
                    password: "a long enough password 1".into(),
                },
                &admin_token,
            ))
            .await
            .unwrap()
            .into_inner()
            .person
            .unwrap();
        let dispatcher = staff
            .sign(staff.claims("wang.sso", json!({ "name": "Wang at the IdP" })))
            .await;
        let actor = who(&app, &dispatcher)
            .await
            .expect("the directory's dispatcher");
        assert_eq!(actor.subject, "wang.sso");
        assert_eq!(actor.roles, vec!["dispatcher".to_owned()]);
        assert_eq!(actor.display_name, "王调度", "the directory's name");
        people
            .set_person_enabled(authed(
                pb::SetPersonEnabledRequest {
                    person_id: person.person_id,
                    enabled: false,
                },
                &admin_token,
            ))
            .await
            .unwrap();
        assert_eq!(
            refused(who(&app, &dispatcher).await).code(),
            Code::Unauthenticated,
            "disabled in the directory"
        );

        // The console is told which providers it may offer.
        let options = SessionServiceClient::new(app.channel().await)
            .get_sign_in_options(pb::GetSignInOptionsRequest {})
            .await
            .unwrap()
            .into_inner()
            .identity_providers;
        let names: Vec<_> = options.iter().map(|p| p.label.as_str()).collect();
        assert_eq!(names, ["customers account", "staff account"]);
        assert_eq!(options[1].issuer, staff.issuer);
        assert_eq!(options[1].client_id, "steelcare-console");
        app.stop().await.unwrap();
    }
}

#[tokio::test]
async fn the_console_signs_in_at_the_provider_renews_across_a_key_rotation_and_signs_out_there() {
    let Some(chromium) = crate::console::chromium_or_skip() else {
        return;
    };
    // Access tokens of 65 s: the console renews them 5 s after signing in.
    let accounts = json!({ "lin.sso": { "name": "林晓", "groups": ["sc_agents"] } });
    let provider = TestProvider::start(accounts, 65).expect("the OpenID Provider");
    for backend in backends() {
        let app = start_trusting(&backend, &trusting("staff", &provider)).await;
        provider
            .register_console(&format!("{}/", app.address))
            .await;
        let config = json!({
            "url": app.address,
            "issuer": provider.issuer,
            "provider": "staff",
            "login": "lin.sso",
            "name": "林晓",
        });
        crate::console::run_script("sso.mjs", config, &backend, &chromium, 3).await;
        app.stop().await.unwrap();
    }
}
