//! Peers of the right year: an assessment of a year without published peers (demo peers end in
//! 2025) is compared with the latest earlier published year, at most `peer_years_back` before,
//! and the answer and the chapter say so; further back, it has no peers.

use std::sync::Arc;

use domain_model::Locale;
use migrations::test_db::BACKENDS;
use report_gen::render::Format;
use report_gen::{Assembler, Renderer};
use services_api::v1 as pb;
use services_api::v1::persistence_service_server::PersistenceService;

use crate::{World, answers, as_tenant, text_of};

/// 1 July of `year`, 00:00 UTC, as a timestamp.
fn july(year: i32) -> prost_types::Timestamp {
    let days = (1970..year).map(|y| if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 { 366 } else { 365 }).sum::<i64>();
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let before_july = 181 + i64::from(leap);
    prost_types::Timestamp { seconds: (days + before_july) * 86_400, nanos: 0 }
}

async fn submit(world: &World, year: i32) -> pb::SubmitAssessmentResponse {
    let model = world.registry.resolve("", 0).unwrap();
    let req = pb::SubmitAssessmentRequest {
        request_id: format!("years-{year}"),
        external_ref: format!("crm-years-{year}"),
        firm_name: format!("Jaartal {year} BV"),
        completed_at: Some(july(year)),
        assessment: Some(pb::ScoreAssessmentRequest {
            model: None,
            firm: Some(pb::FirmAttributes {
                sbi_section: "F".into(),
                size_class: "small".into(),
                province: "NL-GE".into(),
            }),
            answers: answers(&model, 5),
            locale: "en".into(),
        }),
    };
    world.persistence.submit_assessment(as_tenant("acme", req)).await.unwrap().into_inner()
}

#[tokio::test]
async fn an_assessment_of_a_year_without_peers_is_compared_with_the_latest_earlier_year_and_says_so() {
    for backend in BACKENDS {
        let world = World::new(backend, &[], 0).await;
        assert_eq!(july(2025).seconds, 1_751_328_000, "the helper agrees with the fixture's date");

        // The assessment's own year wins when it is published.
        let made = submit(&world, 2025).await;
        let own = made.position.unwrap().group_used.unwrap();
        assert_eq!((own.year, own.requested_year, own.year_reason.as_str()), (2025, 2025, ""), "{backend:?}");

        // 2026: nothing of 2026 is published; the same group of 2025 is used, and the answer says
        // so.
        let made = submit(&world, 2026).await;
        let used = made.position.as_ref().unwrap().group_used.clone().unwrap();
        assert_eq!((used.year, used.requested_year), (2025, 2026), "{backend:?}");
        assert_eq!((&used.group, &used.level, used.n), (&own.group, &own.level, own.n), "{backend:?}");
        assert!(
            used.year_reason.contains("2026") && used.year_reason.contains("2025"),
            "{backend:?}: {}",
            used.year_reason
        );

        // The chapter compares with 2025 and says why, in both languages.
        let id = made.assessment.unwrap().id;
        let stored = store::reports::by_id(&world.conn, id).await.unwrap().unwrap();
        let assembler = Assembler::new(Arc::clone(&world.registry), domain_anonymity::Policy::default()).unwrap();
        let renderer = Renderer::new(report_gen::Templates::builtin().unwrap());
        for (locale, says) in [
            (Locale::Nl, "Voor 2026 zijn nog geen cijfers van vergelijkbare bedrijven gepubliceerd"),
            (Locale::En, "No figures of comparable firms have been published for 2026 yet"),
        ] {
            let chapter = assembler.chapter(&world.conn, &stored, locale, (2026, 7, 2), 1).await.unwrap();
            let peers = chapter.peers.as_ref().unwrap();
            assert_eq!(peers.year, 2025, "{backend:?}");
            assert!(peers.earlier_year.is_some(), "{backend:?}");
            let pdf = renderer.chapter(&chapter, locale, Format::Pdf, (2026, 7, 2), "years").unwrap();
            let text = text_of(&pdf);
            assert!(text.contains(says), "{backend:?} {locale:?}: {text:.400}");
        }

        // 2028 is three years after the last published year: no peers at the default of two back,
        // peers of 2025 when three are allowed. (2028 lies ahead of the clock until 2028: the
        // server is told to accept completion times that far ahead, as no deployment would be.)
        world.persistence.set_completed_at_skew_seconds(4 * 366 * 86_400);
        let made = submit(&world, 2028).await;
        assert!(made.position.is_none(), "{backend:?}");
        let stored = store::reports::by_id(&world.conn, made.assessment.unwrap().id).await.unwrap().unwrap();
        let chapter = assembler.chapter(&world.conn, &stored, Locale::Nl, (2028, 7, 2), 1).await.unwrap();
        assert!(chapter.peers.is_none(), "{backend:?}");
        assembler.set_peer_years_back(3);
        let chapter = assembler.chapter(&world.conn, &stored, Locale::Nl, (2028, 7, 2), 1).await.unwrap();
        assert_eq!(chapter.peers.as_ref().map(|p| p.year), Some(2025), "{backend:?}");
    }
}
