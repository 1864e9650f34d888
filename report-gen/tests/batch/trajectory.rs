//! The firm's own progress: a tenant's assessments of one firm (the same `external_ref`) a year
//! apart give a chapter with the firm's trajectory, marked where model versions differ;
//! `ListAssessments` lists one firm's assessments; another tenant's firm with the same reference
//! never appears.

use std::sync::Arc;

use domain_model::Locale;
use migrations::test_db::BACKENDS;
use report_gen::render::Format;
use report_gen::{Assembler, Renderer};
use services_api::v1 as pb;
use services_api::v1::persistence_service_server::PersistenceService;
use test_support::answers_at;

use crate::{World, as_tenant, text_of};

/// 1 July of `year` (2023-2026), 00:00 UTC.
fn july(year: i32) -> prost_types::Timestamp {
    let seconds = match year {
        2023 => 1_688_169_600,
        2024 => 1_719_792_000,
        2025 => 1_751_328_000,
        _ => 1_782_864_000,
    };
    prost_types::Timestamp { seconds, nanos: 0 }
}

async fn submit(world: &World, tenant: &'static str, reference: &str, year: i32, version: u32, level: f64) -> i64 {
    let model = world.registry.resolve("nl-social-business", version).unwrap();
    let req = pb::SubmitAssessmentRequest {
        request_id: format!("{reference}-{year}"),
        external_ref: reference.into(),
        firm_name: "Voortgang BV".into(),
        completed_at: Some(july(year)),
        assessment: Some(pb::ScoreAssessmentRequest {
            model: Some(pb::ModelRef { id: "nl-social-business".into(), version }),
            firm: Some(pb::FirmAttributes {
                sbi_section: "F".into(),
                size_class: "small".into(),
                province: "NL-GE".into(),
            }),
            answers: answers_at(&model, level),
            locale: "nl".into(),
        }),
    };
    world.persistence.submit_assessment(as_tenant(tenant, req)).await.unwrap().into_inner().assessment.unwrap().id
}

#[tokio::test]
async fn two_assessments_of_one_firm_a_year_apart_give_a_chapter_with_its_trajectory() {
    for backend in BACKENDS {
        let world = World::new(backend, &[], 0).await;
        // The firm in 2024 on model v1, in 2025 on v2 further along; another firm of the tenant,
        // and another tenant's firm under the same reference.
        let first = submit(&world, "acme", "crm-42", 2024, 1, 0.25).await;
        let second = submit(&world, "acme", "crm-42", 2025, 2, 0.6).await;
        submit(&world, "acme", "crm-7", 2025, 2, 0.9).await;
        submit(&world, "other", "crm-42", 2023, 2, 1.0).await;

        let listed = world
            .persistence
            .list_assessments(as_tenant(
                "acme",
                pb::ListAssessmentsRequest { external_ref: "crm-42".into(), ..Default::default() },
            ))
            .await
            .unwrap()
            .into_inner();
        let ids: Vec<i64> = listed.assessments.iter().map(|a| a.id).collect();
        assert_eq!(ids, [second, first], "{backend:?}: one firm's assessments, newest first");
        let long = pb::ListAssessmentsRequest { external_ref: "x".repeat(201), ..Default::default() };
        let refused = world.persistence.list_assessments(as_tenant("acme", long)).await.unwrap_err();
        assert_eq!(refused.code(), tonic::Code::InvalidArgument, "{backend:?}");

        let assembler = Assembler::new(Arc::clone(&world.registry), domain_anonymity::Policy::default()).unwrap();
        let renderer = Renderer::new(report_gen::Templates::builtin().unwrap());
        let stored = store::reports::by_id(&world.conn, second).await.unwrap().unwrap();
        for (locale, heading, since) in [
            (Locale::Nl, "De eigen ontwikkeling", "Sinds de vorige meting"),
            (Locale::En, "own progress", "Since the previous assessment"),
        ] {
            let chapter = assembler.chapter(&world.conn, &stored, locale, (2025, 7, 2), 1).await.unwrap();
            let t = chapter.trajectory.as_ref().expect("a trajectory");
            let years: Vec<(i32, u32, bool)> = t.points.iter().map(|p| (p.year, p.model_version, p.current)).collect();
            assert_eq!(years, [(2024, 1, false), (2025, 2, true)], "{backend:?}: only this tenant's firm");
            assert!(t.versions_differ, "{backend:?}");
            let delta = t.points[1].maturity - t.points[0].maturity;
            assert!((t.maturity_delta - delta).abs() < 1e-9 && delta > 0.0, "{backend:?}: {delta}");
            let text = text_of(&renderer.chapter(&chapter, locale, Format::Pdf, (2025, 7, 2), "traj").unwrap());
            assert!(text.contains(heading) && text.contains(since), "{backend:?} {locale:?}");
        }

        // The first assessment has no earlier one: no trajectory.
        let stored = store::reports::by_id(&world.conn, first).await.unwrap().unwrap();
        let chapter = assembler.chapter(&world.conn, &stored, Locale::Nl, (2024, 7, 2), 1).await.unwrap();
        assert!(chapter.trajectory.is_none(), "{backend:?}");

        // A third, on the same version as the second: three points, versions no longer differ.
        let third = submit(&world, "acme", "crm-42", 2026, 2, 0.6).await;
        let stored = store::reports::by_id(&world.conn, third).await.unwrap().unwrap();
        let chapter = assembler.chapter(&world.conn, &stored, Locale::En, (2026, 7, 2), 1).await.unwrap();
        let t = chapter.trajectory.unwrap();
        assert_eq!(t.points.len(), 3, "{backend:?}");
        assert!(!t.versions_differ && !t.external_changed && !t.internal_changed, "{backend:?}");
        assert!(t.maturity_delta.abs() < 1e-9, "{backend:?}");
    }
}
