//! Each bad input gets INVALID_ARGUMENT with the right field violations, all at once, over the
//! real server.

use services_api::v1 as pb;
use tonic_types::StatusExt;

use crate::{firm, full_answers, likert, spawn_app};

/// (field, reason) of every violation, and the ErrorInfo reason.
pub fn violations(status: &tonic::Status) -> Vec<(String, String)> {
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    let details = status.get_error_details();
    let info = details.error_info().expect("ErrorInfo");
    assert_eq!((info.reason.as_str(), info.domain.as_str()), ("INVALID_REQUEST", "maturity.v1"));
    assert!(details.localized_message().is_some());
    let bad = details.bad_request().expect("BadRequest");
    for v in &bad.field_violations {
        assert!(!v.description.is_empty());
        assert!(v.localized_message.as_ref().is_some_and(|m| !m.message.is_empty()));
    }
    bad.field_violations.iter().map(|v| (v.field.clone(), v.reason.clone())).collect()
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected.iter().map(|(f, r)| (f.to_string(), r.to_string())).collect()
}

async fn score(app: &mut crate::TestApp, req: pb::ScoreAssessmentRequest) -> tonic::Status {
    app.client.score_assessment(req).await.unwrap_err()
}

#[tokio::test]
async fn every_bad_answer_and_attribute_at_once() {
    let mut app = spawn_app().await;
    let mut answers = full_answers(&mut app).await;
    let n = answers.len();
    answers[0] = likert(&answers[0].item_id.clone(), 9); // off its scale
    answers.push(likert("x.unknown", 3)); // unknown item
    answers.push(likert(&answers[1].item_id.clone(), 2)); // answered twice
    answers.push(pb::Answer { item_id: answers[2].item_id.clone(), value: Some(pb::answer::Value::DontKnow(false)) });
    let req = pb::ScoreAssessmentRequest { firm: firm("Z", "giant", "NL-XX"), answers, ..Default::default() };
    let status = score(&mut app, req).await;
    assert_eq!(
        violations(&status),
        pairs(&[
            (&format!("answers[{}].dont_know", n + 2), "INVALID_DONT_KNOW"),
            ("firm.sbi_section", "UNKNOWN_SBI_SECTION"),
            ("firm.size_class", "UNKNOWN_SIZE_CLASS"),
            ("firm.province", "UNKNOWN_PROVINCE"),
            ("answers[0].likert", "ANSWER_OFF_SCALE"),
            (&format!("answers[{n}].item_id"), "UNKNOWN_ITEM"),
            (&format!("answers[{}].item_id", n + 1), "DUPLICATE_ANSWER"),
            (&format!("answers[{}].item_id", n + 2), "DUPLICATE_ANSWER"),
        ])
    );
}

#[tokio::test]
async fn wrong_kind_of_answer_is_off_scale() {
    let mut app = spawn_app().await;
    let mut answers = full_answers(&mut app).await;
    let yes_no = answers.iter().position(|a| a.item_id == "e1.owner").unwrap();
    answers[yes_no].value = Some(pb::answer::Value::Likert(3));
    let choice = answers.iter().position(|a| a.item_id == "p.customers_via_social").unwrap();
    answers[choice].value = Some(pb::answer::Value::Choice("everyone".into()));
    let missing = answers.iter().position(|a| a.item_id == "i1.pilot").unwrap();
    answers[missing].value = None;
    let req = pb::ScoreAssessmentRequest { firm: firm("J", "small", "NL-UT"), answers, ..Default::default() };
    let got = violations(&score(&mut app, req).await);
    let mut expected = vec![
        (format!("answers[{yes_no}].likert"), "ANSWER_OFF_SCALE".to_string()),
        (format!("answers[{missing}]"), "MISSING_ANSWER_VALUE".to_string()),
        (format!("answers[{choice}].choice"), "ANSWER_OFF_SCALE".to_string()),
    ];
    expected.sort();
    let mut got_sorted = got.clone();
    got_sorted.sort();
    assert_eq!(got_sorted, expected);
}

#[tokio::test]
async fn unknown_model_or_version() {
    let mut app = spawn_app().await;
    let req = pb::ScoreAssessmentRequest {
        model: Some(pb::ModelRef { id: "us-social".into(), version: 0 }),
        firm: firm("J", "small", "NL-UT"),
        ..Default::default()
    };
    assert_eq!(violations(&score(&mut app, req).await), pairs(&[("model.id", "UNKNOWN_MODEL")]));
    let req = pb::ScoreAssessmentRequest {
        model: Some(pb::ModelRef { id: "nl-social-business".into(), version: 9 }),
        locale: "fr".into(),
        ..Default::default()
    };
    assert_eq!(
        violations(&score(&mut app, req).await),
        pairs(&[("locale", "UNKNOWN_LOCALE"), ("model.version", "UNKNOWN_MODEL_VERSION")])
    );
    let status = app
        .client
        .get_model(pb::GetModelRequest {
            model: Some(pb::ModelRef { id: "nope".into(), version: 0 }),
            locale: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(violations(&status), pairs(&[("model.id", "UNKNOWN_MODEL")]));
}

#[tokio::test]
async fn too_few_answers_to_score() {
    let mut app = spawn_app().await;
    let req = pb::ScoreAssessmentRequest {
        firm: firm("J", "small", "NL-UT"),
        answers: vec![likert("e1.mentions_followed", 4), likert("i1.own_initiative", 5)],
        ..Default::default()
    };
    let status = score(&mut app, req).await;
    assert_eq!(violations(&status), pairs(&[("answers", "TOO_FEW_ANSWERS"); 3]));
    // Dutch by default, English when asked.
    let nl = status.get_details_bad_request().unwrap().field_violations[0].localized_message.clone().unwrap();
    assert_eq!(nl.locale, "nl");
    assert!(nl.message.contains("te weinig antwoorden over de externe as: 1 gegeven"), "{}", nl.message);
}

#[tokio::test]
async fn english_messages_when_asked() {
    let mut app = spawn_app().await;
    let req =
        pb::ScoreAssessmentRequest { firm: firm("J", "small", "NL-UT"), locale: "en".into(), ..Default::default() };
    let status = score(&mut app, req).await;
    let v = &status.get_details_bad_request().unwrap().field_violations[0];
    let m = v.localized_message.as_ref().unwrap();
    assert_eq!(m.locale, "en");
    assert!(m.message.starts_with("too few answers on the external axis"), "{}", m.message);
}
