//! Signing in as yourself (issue 23): the first administrator from the command line, people
//! added through PeopleService, passwords under a policy, sign-in with throttling, refresh
//! tokens that rotate and revoke their sign-in when reused, sign-out, disabling, password
//! changes; on both backends.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use steelcare_domain::Role;
use steelcare_proto::admin::v1 as admin;
use steelcare_proto::admin::v1::admin_service_client::AdminServiceClient;
use steelcare_proto::identity::v1 as pb;
use steelcare_proto::identity::v1::people_service_client::PeopleServiceClient;
use steelcare_proto::identity::v1::session_service_client::SessionServiceClient;
use steelcare_store::entity::{audit_log, login_failures};
use steelcare_tests::{TestApp, authed, backends, in_language, spawn_app};
use tonic::Code;
use tonic::transport::Channel;
use tonic_types::StatusExt;

use crate::repair::fields;

const ADMIN_PASSWORD: &str = "steel and glass 2026";

struct Desk {
    app: TestApp,
    sessions: SessionServiceClient<Channel>,
    people: PeopleServiceClient<Channel>,
}

impl Desk {
    async fn open(backend: &steelcare_tests::Backend) -> Desk {
        let app = spawn_app(backend).await;
        let channel = app.channel().await;
        Desk {
            sessions: SessionServiceClient::new(channel.clone()),
            people: PeopleServiceClient::new(channel),
            app,
        }
    }

    async fn login(&mut self, login: &str, password: &str) -> Result<pb::Session, tonic::Status> {
        self.sessions
            .login(pb::LoginRequest {
                login: login.into(),
                password: password.into(),
            })
            .await
            .map(|r| r.into_inner().session.unwrap_or_default())
    }

    async fn refresh(&mut self, token: &str) -> Result<pb::Session, tonic::Status> {
        self.sessions
            .refresh(pb::RefreshRequest {
                refresh_token: token.into(),
            })
            .await
            .map(|r| r.into_inner().session.unwrap_or_default())
    }

    async fn who(&self, access_token: &str) -> Result<admin::WhoAmIResponse, tonic::Status> {
        AdminServiceClient::new(self.app.channel().await)
            .who_am_i(authed(admin::WhoAmIRequest {}, access_token))
            .await
            .map(tonic::Response::into_inner)
    }

    async fn add(
        &mut self,
        admin: &str,
        person: pb::Person,
        password: &str,
    ) -> Result<pb::Person, tonic::Status> {
        self.people
            .create_person(authed(
                pb::CreatePersonRequest {
                    person: Some(person),
                    password: password.into(),
                },
                admin,
            ))
            .await
            .map(|r| r.into_inner().person.unwrap_or_default())
    }
}

fn person(login: &str, roles: &[&str]) -> pb::Person {
    pb::Person {
        login: login.into(),
        display_name: format!("{login} display"),
        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        ..Default::default()
    }
}

/// The first administrator, as `steelcare user add` makes them, signed in.
async fn first_admin(desk: &mut Desk) -> pb::Session {
    let added = steelcare::identity::add_from_command_line(
        desk.app.db.clone(),
        person("Admin", &["admin"]),
        ADMIN_PASSWORD.into(),
    )
    .await
    .unwrap();
    assert_eq!(added.login, "admin", "logins are kept in lower case");
    desk.login("ADMIN ", ADMIN_PASSWORD).await.unwrap()
}

#[tokio::test]
async fn people_sign_in_with_passwords_and_an_admin_manages_them() {
    for backend in backends() {
        let mut desk = Desk::open(&backend).await;
        let session = first_admin(&mut desk).await;
        let admin = session.access_token.clone();
        let me = desk.who(&admin).await.unwrap().actor.unwrap();
        assert_eq!(
            (me.subject.as_str(), me.roles.as_slice()),
            ("admin", &["admin".to_owned()][..])
        );
        assert_eq!(
            me.display_name, "Admin display",
            "who is who: the person's name"
        );
        // The access token lives minutes, the refresh token hours.
        let lives = |t: &Option<prost_types::Timestamp>| {
            t.as_ref().unwrap().seconds - chrono::Utc::now().timestamp()
        };
        assert!((800..=900).contains(&lives(&session.access_token_expire_time)));
        assert!(lives(&session.refresh_token_expire_time) > 3600 * 11);

        // --- The directory: checks, duplicates, roles that need a link ---------------------
        let mut bad = person("x", &["customer", "wizard"]);
        bad.language_code = "fr".into();
        let err = desk.add(&admin, bad, "password").await.unwrap_err();
        assert_eq!(
            fields(&err),
            [
                "person.login",
                "person.roles[1]",
                "person.organization_id",
                "person.language_code",
                "password"
            ],
            "{backend:?}"
        );
        for (password, why) in [
            ("short 1", "FIELD_PASSWORD_TOO_SHORT"),
            ("onlyletterswithoutanything", "FIELD_PASSWORD_ONE_KIND"),
            ("li.wei and 2026", "FIELD_PASSWORD_CONTAINS_LOGIN"),
        ] {
            let err = desk
                .add(&admin, person("li.wei", &["agent"]), password)
                .await
                .unwrap_err();
            let violations = err.get_details_bad_request().unwrap().field_violations;
            assert_eq!(violations[0].reason, why, "{password}");
        }
        let agent = desk
            .add(&admin, person("li.wei", &["agent"]), "steel beams 42")
            .await
            .unwrap();
        assert!(agent.enabled);
        let err = desk
            .add(&admin, person("LI.WEI", &["agent"]), "steel beams 42")
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::AlreadyExists);
        let mut tech = person("zhang.san", &["technician"]);
        let err = desk
            .add(&admin, tech.clone(), "on the roof 7")
            .await
            .unwrap_err();
        assert_eq!(fields(&err), ["person.technician_id"]);
        tech.technician_id = "t-zhang".into();
        tech.language_code = "en".into();
        desk.add(&admin, tech.clone(), "on the roof 7")
            .await
            .unwrap();
        // One person per technician: their tokens name the technician.
        let mut twin = tech;
        twin.login = "zhang.san2".into();
        let err = desk.add(&admin, twin, "on the roof 7").await.unwrap_err();
        assert_eq!(err.code(), Code::AlreadyExists);
        // Only an administrator manages people.
        let agent_session = desk.login("li.wei", "steel beams 42").await.unwrap();
        let err = desk
            .add(
                &agent_session.access_token,
                person("wang.wu", &["agent"]),
                "steel beams 42",
            )
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied);

        // --- A technician's token names the technician and carries their language ---------
        let tech_session = desk.login("zhang.san", "on the roof 7").await.unwrap();
        let actor = desk
            .who(&tech_session.access_token)
            .await
            .unwrap()
            .actor
            .unwrap();
        assert_eq!(actor.subject, "t-zhang");
        let err = desk
            .people
            .get_person(authed(
                pb::GetPersonRequest {
                    person_id: agent.person_id.clone(),
                },
                &tech_session.access_token,
            ))
            .await
            .unwrap_err();
        let localized = err.get_details_localized_message().unwrap();
        assert_eq!(localized.locale, "en", "the person's stored language");

        // --- Lists, updates and the audit trail, which never holds a password --------------
        let listed = desk
            .people
            .list_people(authed(
                pb::ListPeopleRequest {
                    page_size: 2,
                    ..Default::default()
                },
                &admin,
            ))
            .await
            .unwrap()
            .into_inner();
        let logins: Vec<&str> = listed.people.iter().map(|p| p.login.as_str()).collect();
        assert_eq!(logins, ["admin", "li.wei"]);
        assert!(!listed.next_page_token.is_empty());
        let mut changed = agent.clone();
        changed.display_name = "李伟".into();
        changed.roles = vec!["agent".into(), "dispatcher".into()];
        let updated = desk
            .people
            .update_person(authed(
                pb::UpdatePersonRequest {
                    person: Some(changed),
                },
                &admin,
            ))
            .await
            .unwrap()
            .into_inner()
            .person
            .unwrap();
        assert_eq!(
            (updated.display_name.as_str(), updated.roles.len()),
            ("李伟", 2)
        );
        let trail = audit_log::Entity::find()
            .filter(audit_log::Column::EntityType.eq("person"))
            .all(&desk.app.db)
            .await
            .unwrap();
        assert!(trail.len() >= 4, "{trail:?}");
        // Each change names who made it as they were called then.
        let by_admin: Vec<_> = trail.iter().filter(|r| r.subject == "admin").collect();
        assert!(!by_admin.is_empty());
        assert!(
            by_admin
                .iter()
                .all(|r| r.display_name.as_deref() == Some("Admin display")),
            "{by_admin:?}"
        );
        for record in &trail {
            let text = format!("{record:?}");
            for secret in ["steel beams 42", ADMIN_PASSWORD, "on the roof 7", "$argon2"] {
                assert!(!text.contains(secret), "{secret} in the audit trail");
            }
        }
        desk.app.stop().await.unwrap();
    }
}

#[tokio::test]
async fn failed_sign_ins_are_throttled_for_a_while_and_never_for_other_logins() {
    for backend in backends() {
        let mut desk = Desk::open(&backend).await;
        let admin = first_admin(&mut desk).await.access_token;
        desk.add(&admin, person("li.wei", &["agent"]), "steel beams 42")
            .await
            .unwrap();

        // A wrong password and an unknown login read alike.
        let wrong = desk.login("li.wei", "steel beams 43").await.unwrap_err();
        let unknown = desk.login("nobody", "steel beams 42").await.unwrap_err();
        assert_eq!(wrong.code(), Code::Unauthenticated);
        assert_eq!(
            (wrong.code(), wrong.message()),
            (unknown.code(), unknown.message())
        );
        let err = desk.login(" ", "").await.unwrap_err();
        assert_eq!(fields(&err), ["login", "password"]);

        // Five failures for one login from one address lock that pair for a while …
        for _ in 0..4 {
            desk.login("li.wei", "steel beams 43").await.unwrap_err();
        }
        let locked = desk.login("li.wei", "steel beams 42").await.unwrap_err();
        assert_eq!(
            locked.code(),
            Code::ResourceExhausted,
            "{backend:?}: {locked:?}"
        );
        let wait = locked
            .get_details_retry_info()
            .unwrap()
            .retry_delay
            .unwrap();
        assert!(wait.as_secs() > 60 && wait.as_secs() <= 900, "{wait:?}");
        let chinese = desk
            .sessions
            .login(in_language(
                tonic::Request::new(pb::LoginRequest {
                    login: "li.wei".into(),
                    password: "steel beams 42".into(),
                }),
                "zh-CN",
            ))
            .await
            .unwrap_err();
        assert!(
            chinese
                .get_details_localized_message()
                .unwrap()
                .message
                .contains("分钟后再试"),
            "{chinese:?}"
        );
        // Failures at once are each counted, and none is an error of ours.
        desk.add(&admin, person("wang.wu", &["agent"]), "steel beams 42")
            .await
            .unwrap();
        let tries = (0..8).map(|_| {
            let mut sessions = desk.sessions.clone();
            async move {
                sessions
                    .login(pb::LoginRequest {
                        login: "wang.wu".into(),
                        password: "steel beams 43".into(),
                    })
                    .await
                    .unwrap_err()
                    .code()
            }
        });
        let codes = futures::future::join_all(tries).await;
        assert!(
            codes
                .iter()
                .all(|c| matches!(c, Code::Unauthenticated | Code::ResourceExhausted)),
            "{backend:?}: {codes:?}"
        );
        let err = desk.login("wang.wu", "steel beams 42").await.unwrap_err();
        assert_eq!(
            err.code(),
            Code::ResourceExhausted,
            "{backend:?}: {codes:?}"
        );
        // … but not the address for another login, nor forever.
        desk.login("admin", ADMIN_PASSWORD).await.unwrap();
        login_failures::Entity::update_many()
            .col_expr(
                login_failures::Column::LockedUntilMs,
                sea_orm::sea_query::Expr::value(chrono::Utc::now().timestamp_millis() - 1),
            )
            .exec(&desk.app.db)
            .await
            .unwrap();
        desk.login("li.wei", "steel beams 42").await.unwrap();
        desk.app.stop().await.unwrap();
    }
}

#[tokio::test]
async fn refresh_tokens_rotate_and_a_reused_one_ends_the_sign_in() {
    for backend in backends() {
        let mut desk = Desk::open(&backend).await;
        let admin = first_admin(&mut desk).await.access_token;
        let agent = desk
            .add(&admin, person("li.wei", &["agent"]), "steel beams 42")
            .await
            .unwrap();

        // Each use gives a new pair; the one used is spent.
        let first = desk.login("li.wei", "steel beams 42").await.unwrap();
        let second = desk.refresh(&first.refresh_token).await.unwrap();
        assert_ne!(second.refresh_token, first.refresh_token);
        assert_eq!(
            desk.who(&second.access_token)
                .await
                .unwrap()
                .actor
                .unwrap()
                .subject,
            "li.wei"
        );
        // The spent one used again (a stolen copy): refused, and the whole sign-in ends.
        let err = desk.refresh(&first.refresh_token).await.unwrap_err();
        assert_eq!(err.code(), Code::Unauthenticated);
        let err = desk.refresh(&second.refresh_token).await.unwrap_err();
        assert_eq!(err.code(), Code::Unauthenticated, "the family is revoked");
        assert_eq!(
            desk.refresh("").await.unwrap_err().code(),
            Code::InvalidArgument
        );
        assert_eq!(
            desk.refresh("not-a-token").await.unwrap_err().code(),
            Code::Unauthenticated
        );

        // Signing out ends the sign-in; twice is harmless.
        let third = desk.login("li.wei", "steel beams 42").await.unwrap();
        for _ in 0..2 {
            desk.sessions
                .logout(pb::LogoutRequest {
                    refresh_token: third.refresh_token.clone(),
                })
                .await
                .unwrap();
        }
        assert_eq!(
            desk.refresh(&third.refresh_token).await.unwrap_err().code(),
            Code::Unauthenticated
        );

        // A password change ends the other sign-ins; the old password no longer works.
        let elsewhere = desk.login("li.wei", "steel beams 42").await.unwrap();
        let here = desk.login("li.wei", "steel beams 42").await.unwrap();
        let change = |current: &str, new: &str| {
            authed(
                pb::ChangePasswordRequest {
                    current_password: current.into(),
                    new_password: new.into(),
                },
                &here.access_token,
            )
        };
        let err = desk
            .people
            .change_password(change("wrong one 1", "girders 2027"))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::Unauthenticated);
        let err = desk
            .people
            .change_password(change("steel beams 42", "short"))
            .await
            .unwrap_err();
        assert_eq!(fields(&err), ["new_password"]);
        desk.people
            .change_password(change("steel beams 42", "girders 2027"))
            .await
            .unwrap();
        assert_eq!(
            desk.refresh(&elsewhere.refresh_token)
                .await
                .unwrap_err()
                .code(),
            Code::Unauthenticated
        );
        desk.login("li.wei", "steel beams 42").await.unwrap_err();
        let fresh = desk.login("li.wei", "girders 2027").await.unwrap();

        // Disabled: no new sign-in, no refresh; the access token held runs out within minutes.
        let err = desk
            .people
            .set_person_enabled(authed(
                pb::SetPersonEnabledRequest {
                    person_id: first_admin_id(&desk).await,
                    enabled: false,
                },
                &admin,
            ))
            .await
            .unwrap_err();
        assert_eq!(
            err.code(),
            Code::FailedPrecondition,
            "an admin cannot disable themselves"
        );
        desk.people
            .set_person_enabled(authed(
                pb::SetPersonEnabledRequest {
                    person_id: agent.person_id.clone(),
                    enabled: false,
                },
                &admin,
            ))
            .await
            .unwrap();
        assert_eq!(
            desk.refresh(&fresh.refresh_token).await.unwrap_err().code(),
            Code::Unauthenticated
        );
        assert_eq!(
            desk.login("li.wei", "girders 2027")
                .await
                .unwrap_err()
                .code(),
            Code::Unauthenticated
        );
        // An administrator resets the password of someone who forgot it, and enables them.
        desk.people
            .reset_password(authed(
                pb::ResetPasswordRequest {
                    person_id: agent.person_id.clone(),
                    password: "new start 1".into(),
                },
                &admin,
            ))
            .await
            .unwrap();
        desk.people
            .set_person_enabled(authed(
                pb::SetPersonEnabledRequest {
                    person_id: agent.person_id.clone(),
                    enabled: true,
                },
                &admin,
            ))
            .await
            .unwrap();
        desk.login("li.wei", "new start 1").await.unwrap();
        // A token made by hand is not a person of the directory.
        let by_hand = desk.app.token("ops-1", &[Role::Agent], None);
        let err = desk
            .people
            .change_password(authed(
                pb::ChangePasswordRequest {
                    current_password: "x".into(),
                    new_password: "girders 2028".into(),
                },
                &by_hand,
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition);
        desk.app.stop().await.unwrap();
    }
}

async fn first_admin_id(desk: &Desk) -> String {
    use steelcare_store::entity::people;
    people::Entity::find()
        .filter(people::Column::Login.eq("admin"))
        .one(&desk.app.db)
        .await
        .unwrap()
        .unwrap()
        .id
}
