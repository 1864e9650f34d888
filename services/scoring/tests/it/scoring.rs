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
    // Version 1 stays listed (its results keep their scoring); version 2 is the default's latest.
    let versions: Vec<u32> = listed.models.iter().map(|m| m.model.as_ref().unwrap().version).collect();
    assert_eq!(versions, [1, 2]);
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
    assert_eq!((m.id.as_str(), m.version), ("nl-social-business", 2));
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
