//! Refusals speak the caller's language (issue 22): the status message stays a stable English
//! developer message; a `google.rpc.LocalizedMessage` carries the text in the locale the caller
//! asked for (`accept-language`), else their stored preference, else the deployment's default
//! (zh-CN); `ErrorInfo` carries a machine reason; field violations carry their own.

use steelcare_domain::Role;
use steelcare_proto::intake::v1 as intake;
use steelcare_proto::intake::v1::intake_service_client::IntakeServiceClient;
use steelcare_runtime::auth::Claims;
use steelcare_tests::fixtures::customer_request;
use steelcare_tests::{authed, backends, in_language, spawn_app, test_authenticator};
use tonic::Code;
use tonic_types::StatusExt;

/// The localized text and its locale, and the machine reason.
fn localized(status: &tonic::Status) -> (String, String, String) {
    let details = status.get_error_details();
    let text = details.localized_message().cloned().unwrap_or_default();
    let reason = details
        .error_info()
        .map(|i| i.reason.clone())
        .unwrap_or_default();
    (text.locale, text.message, reason)
}

#[tokio::test]
async fn a_refusal_reads_in_the_callers_language_and_its_developer_message_stays_english() {
    for backend in backends() {
        let app = spawn_app(&backend).await;
        let agent = app.token("agent-1", &[Role::Agent], None);
        let mut client = IntakeServiceClient::new(app.channel().await);
        let missing = || intake::GetTicketRequest {
            ticket_id: "no-such-ticket".into(),
        };

        // No accept-language and no preference: the deployment's default, Chinese.
        let err = client
            .get_ticket(authed(missing(), &agent))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::NotFound, "{backend:?}");
        assert_eq!(err.message(), "ticket no-such-ticket not found");
        assert_eq!(
            localized(&err),
            (
                "zh-CN".into(),
                "未找到工单 no-such-ticket".into(),
                "NOT_FOUND".into()
            )
        );

        // A browser's header: the first locale we ship, by weight.
        let err = client
            .get_ticket(in_language(
                authed(missing(), &agent),
                "fr-FR,en-US;q=0.8,zh;q=0.5",
            ))
            .await
            .unwrap_err();
        assert_eq!(
            localized(&err).1,
            "ticket no-such-ticket not found",
            "{backend:?}"
        );

        // The person's stored preference (their token's) when the call asks for nothing.
        let now = chrono::Utc::now().timestamp();
        let english_agent = test_authenticator()
            .issue_claims(&Claims {
                sub: "agent-2".into(),
                roles: vec!["agent".into()],
                org: None,
                iss: "steelcare".into(),
                iat: now,
                nbf: None,
                exp: now + 600,
                locale: Some("en".into()),
                name: None,
            })
            .unwrap_or_default();
        let err = client
            .get_ticket(authed(missing(), &english_agent))
            .await
            .unwrap_err();
        assert_eq!(localized(&err).0, "en");
        // ...and the header still wins over it.
        let err = client
            .get_ticket(in_language(authed(missing(), &english_agent), "zh-CN"))
            .await
            .unwrap_err();
        assert_eq!(localized(&err).0, "zh-CN");

        // Field violations: an English description, a reason, and the caller's text.
        let mut bad = customer_request("lang-1");
        bad.organization_name = String::new();
        let err = client
            .create_customer(in_language(authed(bad, &agent), "zh-CN"))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);
        let violations = err
            .get_details_bad_request()
            .map(|b| b.field_violations)
            .unwrap_or_default();
        let organization = violations.iter().find(|v| v.field == "organization_name");
        let Some(name) = organization else {
            panic!("no violation of organization_name: {violations:?}");
        };
        assert_eq!(name.description, "required");
        assert_eq!(name.reason, "FIELD_REQUIRED");
        assert_eq!(
            name.localized_message.as_ref().map(|l| l.message.as_str()),
            Some("必填")
        );
        assert!(
            err.message().contains("organization_name: required"),
            "{}",
            err.message()
        );

        // A role refusal names the roles in the caller's words.
        let customer = app.token("c-1", &[Role::Customer], Some("org-1"));
        let err = client
            .create_customer(in_language(
                authed(customer_request("lang-2"), &customer),
                "zh-CN",
            ))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied);
        let (_, text, reason) = localized(&err);
        assert_eq!(reason, "ERROR_ROLES_NEEDED");
        assert!(text.starts_with("此操作需要以下角色之一："), "{text}");
        assert!(!text.contains("agent"), "{text}");

        // Not signed in: refused before any handler, still in the caller's language.
        let err = client
            .get_ticket(in_language(tonic::Request::new(missing()), "zh-CN"))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::Unauthenticated);
        assert_eq!(localized(&err).1, "未登录：请求未携带访问令牌");
        app.stop().await.unwrap();
    }
}

#[tokio::test]
async fn every_enum_value_and_role_has_a_label_in_the_callers_language() {
    use steelcare_proto::admin::v1 as admin;
    use steelcare_proto::admin::v1::admin_service_client::AdminServiceClient;
    let backend = &backends()[0];
    let app = spawn_app(backend).await;
    let customer = app.token("c-1", &[Role::Customer], Some("org-1"));
    let mut client = AdminServiceClient::new(app.channel().await);
    let labels = |tag: &str| {
        let mut client = client.clone();
        let request = in_language(authed(admin::GetLabelsRequest {}, &customer), tag);
        async move { client.get_labels(request).await.map(|r| r.into_inner()) }
    };
    let zh = labels("zh-CN").await.unwrap_or_default();
    let en = labels("en").await.unwrap_or_default();
    assert_eq!(
        (zh.language_code.as_str(), en.language_code.as_str()),
        ("zh-CN", "en")
    );
    assert_eq!(zh.available_language_codes, ["en", "zh-CN"]);
    let label = |r: &admin::GetLabelsResponse, e: &str, v: &str| {
        r.enums
            .iter()
            .find(|x| x.enum_name == e)
            .and_then(|x| x.labels.get(v).cloned())
            .unwrap_or_default()
    };
    assert_eq!(
        label(&zh, "steelcare.common.v1.CaseState", "CASE_STATE_IN_REPAIR"),
        "维修中"
    );
    assert_eq!(
        label(&en, "steelcare.common.v1.CaseState", "CASE_STATE_IN_REPAIR"),
        "In repair"
    );
    assert_eq!(
        label(
            &zh,
            "steelcare.acceptance.v1.CaseEnding",
            "CASE_ENDING_RESOLVED_REMOTELY"
        ),
        "远程解决"
    );
    // Every value but UNSPECIFIED, in both languages, and no label left as its id.
    assert!(zh.enums.len() >= 40, "{}", zh.enums.len());
    for (z, e) in zh.enums.iter().zip(&en.enums) {
        assert_eq!(z.labels.len(), e.labels.len(), "{}", z.enum_name);
        assert!(z.labels.keys().all(|k| !k.ends_with("_UNSPECIFIED")));
        assert!(z.labels.values().all(|l| !l.starts_with("enum-")), "{z:?}");
    }
    assert_eq!(
        zh.roles.get("chief_engineer").map(String::as_str),
        Some("总工程师")
    );
    // Not signed in: refused.
    let err = client
        .get_labels(admin::GetLabelsRequest {})
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    app.stop().await.unwrap();
}

/// Fields that hold one language by contract: one of a pair kept in both languages, or an
/// English developer text.
const ONE_LANGUAGE_BY_CONTRACT: [(&str, &str); 8] = [
    ("en", "steelcare.common.v1.MeasurementJudgement.reason"),
    ("en", "steelcare.common.v1.MeasurementJudgement.source"),
    ("en", "steelcare.repair.v1.CostBearing.reasoning_en"),
    ("en", "steelcare.feedback.v1.BreakdownRow.label_en"),
    (
        "zh-CN",
        "steelcare.common.v1.MeasurementJudgement.reason_zh",
    ),
    (
        "zh-CN",
        "steelcare.common.v1.MeasurementJudgement.source_zh",
    ),
    ("zh-CN", "steelcare.repair.v1.CostBearing.reasoning_zh"),
    ("zh-CN", "steelcare.feedback.v1.BreakdownRow.label_zh"),
];

/// Whether a run of a catalogue text is long enough to be the catalogue's and not a person's
/// word: three English words, or six Chinese characters.
fn distinctive(run: &str) -> bool {
    let words = run
        .split_whitespace()
        .filter(|w| w.chars().all(char::is_alphabetic) && w.is_ascii())
        .count();
    let han = run
        .chars()
        .filter(|c| ('\u{4e00}'..='\u{9fff}').contains(c))
        .count();
    words >= 3 || han >= 6
}

/// The fixed text of every catalogue message of `language`: the runs between its facts that
/// are [`distinctive`] (enum and role labels are left out: a person's own words may share one).
fn phrases_of(language: &str) -> Vec<String> {
    let dir = crate::walk::workspace()
        .join("shared/i18n/locales")
        .join(language);
    let mut phrases = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("the catalogue") {
        let text = std::fs::read_to_string(entry.expect("a catalogue file").path())
            .expect("a catalogue file reads");
        for line in text.lines() {
            let Some((key, value)) = line.split_once(" = ") else {
                continue;
            };
            let skipped = [
                "enum-",
                "role-",
                "entity-",
                "format-",
                "dossier-",
                "operation-",
            ];
            if skipped.iter().any(|p| key.starts_with(p)) {
                continue;
            }
            let mut rest = value;
            while !rest.is_empty() {
                let (run, after) = match rest.find('{') {
                    Some(open) => (
                        &rest[..open],
                        rest[open..].split_once('}').map_or("", |(_, a)| a),
                    ),
                    None => (rest, ""),
                };
                let run = run
                    .trim()
                    .trim_end_matches([':', ',', '(', '：', '，'])
                    .trim();
                if distinctive(run) {
                    phrases.push(run.to_owned());
                }
                rest = after;
            }
        }
    }
    phrases
}

/// Where `response` (a message named `full_name`) holds a catalogue phrase of `language`, as
/// "field: text", leaving out the fields in that language by contract.
pub(crate) fn catalogue_text_in(
    language: &str,
    full_name: &str,
    response: &impl prost::Message,
) -> Vec<String> {
    use prost_reflect::{DescriptorPool, DynamicMessage, Value};
    struct Search<'a> {
        language: &'a str,
        phrases: Vec<String>,
        found: Vec<String>,
    }
    fn walk(message: &DynamicMessage, search: &mut Search<'_>) {
        for (field, value) in message.fields() {
            let name = field.full_name();
            let by_contract = ONE_LANGUAGE_BY_CONTRACT.contains(&(search.language, name));
            let values: Vec<&Value> = match value {
                Value::List(items) => items.iter().collect(),
                other => vec![other],
            };
            for value in values {
                match value {
                    Value::String(text) if !by_contract => {
                        if let Some(p) = search.phrases.iter().find(|p| text.contains(p.as_str())) {
                            search.found.push(format!("{name}: {text:?} (\"{p}\")"));
                        }
                    }
                    Value::Message(inner) => walk(inner, search),
                    _ => {}
                }
            }
        }
    }
    let pool = DescriptorPool::decode(steelcare_proto::FILE_DESCRIPTOR_SET).expect("descriptors");
    let descriptor = pool.get_message_by_name(full_name).expect(full_name);
    let message = DynamicMessage::decode(descriptor, response.encode_to_vec().as_slice())
        .expect("the response decodes");
    let mut search = Search {
        language,
        phrases: phrases_of(language),
        found: Vec::new(),
    };
    walk(&message, &mut search);
    search.found
}

/// Reads a case through every read of every service as a reader of `language` and answers
/// where a catalogue phrase of `other` (a locale tag) reached them.
pub(crate) async fn catalogue_text_read_in(
    language: &str,
    other: &str,
    desk: &crate::repair::Desk,
    ticket: &str,
    reader: &str,
) -> Vec<String> {
    use steelcare_proto::acceptance::v1 as apb;
    use steelcare_proto::acceptance::v1::acceptance_service_client::AcceptanceServiceClient;
    use steelcare_proto::dispatch::v1 as dpb;
    use steelcare_proto::feedback::v1 as fpb;
    use steelcare_proto::feedback::v1::feedback_service_client::FeedbackServiceClient;
    use steelcare_proto::repair::v1 as rpb;
    fn as_reader<T>(request: T, (reader, language): (&str, &str)) -> tonic::Request<T> {
        in_language(authed(request, reader), language)
    }
    let reader = (reader, language);
    let channel = desk.office.app.channel().await;
    let (mut intake, mut dispatch, mut repair) = (
        desk.office.intake.clone(),
        desk.office.dispatch.clone(),
        desk.repair.clone(),
    );
    let mut acceptance = AcceptanceServiceClient::new(channel.clone());
    let mut feedback = FeedbackServiceClient::new(channel);
    let id = || ticket.to_owned();
    let mut found = Vec::new();
    macro_rules! read {
        ($name:literal, $call:expr) => {
            match $call.await {
                Ok(response) => found.extend(catalogue_text_in(other, $name, response.get_ref())),
                Err(status) if status.code() == tonic::Code::NotFound => {}
                Err(status) => panic!("{}: {status:?}", $name),
            }
        };
    }
    read!(
        "steelcare.intake.v1.GetTicketResponse",
        intake.get_ticket(as_reader(
            intake::GetTicketRequest { ticket_id: id() },
            reader
        ))
    );
    read!(
        "steelcare.dispatch.v1.ListAssignmentsResponse",
        dispatch.list_assignments(as_reader(
            dpb::ListAssignmentsRequest {
                ticket_id: id(),
                ..Default::default()
            },
            reader
        ))
    );
    read!(
        "steelcare.repair.v1.ListSurveyReportsResponse",
        repair.list_survey_reports(as_reader(
            rpb::ListSurveyReportsRequest { ticket_id: id() },
            reader
        ))
    );
    read!(
        "steelcare.repair.v1.ListPlansResponse",
        repair.list_plans(as_reader(rpb::ListPlansRequest { ticket_id: id() }, reader))
    );
    read!(
        "steelcare.repair.v1.GetAgreementResponse",
        repair.get_agreement(as_reader(
            rpb::GetAgreementRequest { ticket_id: id() },
            reader
        ))
    );
    read!(
        "steelcare.repair.v1.ListWorkLogResponse",
        repair.list_work_log(as_reader(
            rpb::ListWorkLogRequest {
                ticket_id: id(),
                ..Default::default()
            },
            reader
        ))
    );
    read!(
        "steelcare.repair.v1.ListInspectionsResponse",
        repair.list_inspections(as_reader(
            rpb::ListInspectionsRequest { ticket_id: id() },
            reader
        ))
    );
    read!(
        "steelcare.acceptance.v1.ListSelfInspectionsResponse",
        acceptance.list_self_inspections(as_reader(
            apb::ListSelfInspectionsRequest { ticket_id: id() },
            reader
        ))
    );
    read!(
        "steelcare.acceptance.v1.ListCustomerAcceptancesResponse",
        acceptance.list_customer_acceptances(as_reader(
            apb::ListCustomerAcceptancesRequest { ticket_id: id() },
            reader
        ))
    );
    read!(
        "steelcare.acceptance.v1.ListArchivesResponse",
        acceptance.list_archives(as_reader(apb::ListArchivesRequest::default(), reader))
    );
    read!(
        "steelcare.feedback.v1.ListVisitsResponse",
        feedback.list_visits(as_reader(
            fpb::ListVisitsRequest { ticket_id: id() },
            reader
        ))
    );
    read!(
        "steelcare.feedback.v1.ListCorrectiveActionsResponse",
        feedback.list_corrective_actions(as_reader(
            fpb::ListCorrectiveActionsRequest::default(),
            reader
        ))
    );
    found
}
