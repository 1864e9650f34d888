//! The happy paths: model in both locales, a scored result, health and reflection.

use services_api::v1 as pb;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

use crate::{firm, full_answers, spawn_app};

#[tokio::test]
async fn model_in_both_locales() {
    let mut app = spawn_app().await;
    let nl = app.client.get_model(pb::GetModelRequest::default()).await.unwrap().into_inner();
    let en = app
        .client
        .get_model(pb::GetModelRequest { locale: "en".into(), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(nl.locale, "nl");
    assert_eq!(en.locale, "en");
    assert_eq!(nl.items.len(), en.items.len());
    assert!(nl.items.len() >= 40);
    let (a, b) = (&nl.items[0], &en.items[0]);
    assert_eq!(a.id, b.id);
    assert_ne!(a.text, b.text);
    assert_eq!(a.evidence, b.evidence);
    assert_eq!(nl.scoring.as_ref().unwrap().stage_weights, [0.1, 0.2, 0.3, 0.4]);
    assert_eq!(nl.crosswalks.as_ref().unwrap().forrester.len(), 5);
    assert_eq!(nl.rogers_categories.len(), 5);
    let listed = app.client.list_models(pb::ListModelsRequest::default()).await.unwrap().into_inner();
    // Versions 1 and 2 stay listed (their results keep their scoring); version 3 is the latest.
    let versions: Vec<u32> = listed.models.iter().map(|m| m.model.as_ref().unwrap().version).collect();
    assert_eq!(versions, [1, 2, 3]);
    assert_eq!(listed.default_model.unwrap().id, "nl-social-business");
}

#[tokio::test]
async fn scores_a_full_assessment() {
    let mut app = spawn_app().await;
    let answers = full_answers(&mut app).await;
    let req = pb::ScoreAssessmentRequest {
        firm: firm("g", "medium", "nl-zh"),
        answers,
        locale: "en".into(),
        ..Default::default()
    };
    let r = app.client.score_assessment(req).await.unwrap().into_inner().result.unwrap();
    let m = r.model.unwrap();
    assert_eq!((m.id.as_str(), m.version), ("nl-social-business", 3));
    // Normalised attributes.
    let f = r.firm.unwrap();
    assert_eq!((f.sbi_section.as_str(), f.size_class.as_str(), f.province.as_str()), ("G", "medium", "NL-ZH"));
    assert!((0.0..=100.0).contains(&r.maturity_index));
    assert_eq!(r.external.unwrap().stages.len(), 4);
    assert_eq!(r.value_sources.len(), 4);
    assert_eq!(r.business_value.len(), 4);
    assert!(r.fit.unwrap().verdict != pb::FitVerdict::Unspecified as i32);
    assert!(!r.archetype.unwrap().label.is_empty());
}

#[tokio::test]
async fn health_and_echo_on_the_same_stack() {
    let app = spawn_app().await;
    let mut health = HealthClient::new(app.channel.clone());
    for service in ["", "maturity.v1.ScoringService", "maturity.v1.DiagnosticsService"] {
        let status = health.check(HealthCheckRequest { service: service.into() }).await.unwrap().into_inner().status;
        assert_eq!(status, 1, "{service} is not SERVING");
    }
    let mut echo = services_api::v1::diagnostics_service_client::DiagnosticsServiceClient::new(app.channel.clone());
    let out = echo.echo(pb::EchoRequest { payload: b"hallo".to_vec() }).await.unwrap().into_inner();
    assert_eq!(out.payload, b"hallo");
    let too_big = echo.echo(pb::EchoRequest { payload: vec![0; 64 * 1024 + 1] }).await.unwrap_err();
    assert_eq!(too_big.code(), tonic::Code::InvalidArgument);
}

/// Over gRPC: each action's changes, sent to WhatIf, give its stated result; the same changes on
/// a version 2 assessment score with version 2, which names no actions.
#[tokio::test]
async fn the_what_if_gives_each_actions_stated_result() {
    let mut app = spawn_app().await;
    let model = app.client.get_model(pb::GetModelRequest::default()).await.unwrap().into_inner();
    assert!(model.practices.len() >= 10, "{} practices", model.practices.len());
    // Everything at the bottom of its scale but the proposition: under-invested.
    let answers: Vec<pb::Answer> = model
        .items
        .iter()
        .map(|it| {
            let scale = it.scale.as_ref().unwrap();
            let proposition = it.evidence.iter().any(|e| e.target == "proposition");
            let point = if proposition { scale.points.last().unwrap() } else { &scale.points[0] };
            let value = match pb::ScaleKind::try_from(scale.kind).unwrap() {
                pb::ScaleKind::Likert => pb::answer::Value::Likert(point.value.parse().unwrap()),
                pb::ScaleKind::YesNo => pb::answer::Value::Yes(point.value == "yes"),
                _ => pb::answer::Value::Choice(point.value.clone()),
            };
            pb::Answer { item_id: it.id.clone(), value: Some(value) }
        })
        .collect();
    let assessment = pb::ScoreAssessmentRequest { firm: firm("C", "medium", "NL-NB"), answers, ..Default::default() };
    let scored = app.client.score_assessment(assessment.clone()).await.unwrap().into_inner();
    assert_eq!(scored.result.as_ref().unwrap().fit.as_ref().unwrap().verdict, pb::FitVerdict::UnderInvested as i32);
    assert!(!scored.actions.is_empty());
    for action in &scored.actions {
        assert_eq!(action.kind, pb::ActionKind::Raise as i32);
        let req = pb::WhatIfRequest { assessment: Some(assessment.clone()), changes: action.changes.clone() };
        let reply = app.client.what_if(req).await.unwrap().into_inner();
        assert_eq!(reply.before, scored.result);
        assert_eq!(reply.after, action.after, "{}", action.practice_id);
    }
    let mut v2 = assessment.clone();
    v2.model = Some(pb::ModelRef { id: "nl-social-business".into(), version: 2 });
    let scored = app.client.score_assessment(v2.clone()).await.unwrap().into_inner();
    assert!(scored.actions.is_empty());
    let req = pb::WhatIfRequest { assessment: Some(v2), changes: vec![crate::likert("e1.mentions_followed", 5)] };
    let reply = app.client.what_if(req).await.unwrap().into_inner();
    assert_eq!(reply.after.unwrap().model.unwrap().version, 2);
    // A change to an unknown item is named at its position.
    let req = pb::WhatIfRequest { assessment: Some(assessment), changes: vec![crate::likert("e9.nothing", 3)] };
    let status = app.client.what_if(req).await.unwrap_err();
    let fields = crate::bad_input::violations(&status);
    assert!(fields.iter().any(|(f, r)| f == "changes[0].item_id" && r == "UNKNOWN_ITEM"), "{fields:?}");
}
