//! An assessment written before migration m0009 (answers and result as the API's protobuf
//! messages, version 1) is read, scored and rendered after it, on both backends; and `down`
//! restores its version 1 bytes exactly.

use std::sync::Arc;

use configuration::layers::{AuthMode, Secret};
use domain_anonymity::Policy;
use domain_model::{Locale, ModelRegistry};
use migrations::MigratorTrait;
use migrations::m0001_assessments::Assessments as A;
use migrations::sea_orm::ConnectionTrait;
use migrations::sea_query::{Expr, ExprTrait, Query};
use migrations::test_db::{BACKENDS, TestDb};
use prost::Message;
use report_gen::render::Format;
use report_gen::{Assembler, Renderer};
use services_api::v1 as pb;
use services_api::v1::persistence_service_server::PersistenceService;
use services_persistence::Persistence;

use crate::{answers, as_tenant, text_of};

const NAME: &str = "Brouwerij De Oude Sluis (synthetisch)";

async fn columns(conn: &impl ConnectionTrait, id: i64) -> (Vec<u8>, Vec<u8>) {
    let q =
        Query::select().columns([A::Answers, A::Result]).from(A::Table).and_where(Expr::col(A::Id).eq(id)).to_owned();
    let row = conn.query_one(&q).await.unwrap().unwrap();
    (row.try_get("", "answers").unwrap(), row.try_get("", "result").unwrap())
}

#[tokio::test]
async fn an_assessment_stored_before_the_migration_is_read_scored_and_rendered_after_it() {
    let registry = Arc::new(ModelRegistry::builtin().unwrap());
    let model = registry.resolve("", 0).unwrap();
    for backend in BACKENDS {
        let db = TestDb::empty(backend).await;
        let conn = db.connect().await;
        migrations::Migrator::up(&conn, Some(8)).await.unwrap();
        // Version 1, as SubmitAssessment wrote it: the pinned request (no locale) and the Dutch
        // result, both protobuf.
        let request = pb::ScoreAssessmentRequest {
            model: Some(pb::ModelRef { id: model.id.clone(), version: model.version }),
            firm: Some(pb::FirmAttributes {
                sbi_section: "C".into(),
                size_class: "small".into(),
                province: "NL-GE".into(),
            }),
            answers: answers(&model, 3),
            locale: String::new(),
        };
        let scored = services_api::convert::score(&registry, &request).unwrap();
        let result = services_api::convert::result_to_pb(&scored.model, &scored.assessment, Locale::Nl);
        let (old_answers, old_result) = (request.encode_to_vec(), result.encode_to_vec());
        // The frozen version 1 messages of the migration read the same bytes.
        assert_eq!(
            migrations::m0009_assessment_encoding::RequestV1::decode(old_answers.as_slice()).unwrap().answers.len(),
            request.answers.len()
        );
        let insert = Query::insert()
            .into_table(A::Table)
            .columns([
                A::Tenant,
                A::ExternalRef,
                A::FirmName,
                A::SbiSection,
                A::SizeClass,
                A::Province,
                A::Year,
                A::ModelId,
                A::ModelVersion,
                A::MaturityIndex,
                A::Answers,
                A::Result,
                A::ReportStatus,
                A::CompletedAtUs,
                A::CreatedAtUs,
                A::UpdatedAtUs,
            ])
            .values_panic([
                "acme".into(),
                "crm-old".into(),
                NAME.into(),
                "C".into(),
                "small".into(),
                "NL-GE".into(),
                2025.into(),
                model.id.clone().into(),
                i32::try_from(model.version).unwrap().into(),
                scored.assessment.maturity_index.into(),
                old_answers.clone().into(),
                old_result.clone().into(),
                "pending".into(),
                1_751_328_000_000_000i64.into(),
                1_751_328_000_000_000i64.into(),
                1_751_328_000_000_000i64.into(),
            ])
            .to_owned();
        conn.execute(&insert).await.unwrap();
        let id: i64 = conn
            .query_one(&Query::select().expr(Expr::col(A::Id).max()).from(A::Table).to_owned())
            .await
            .unwrap()
            .unwrap()
            .try_get_by_index(0)
            .unwrap();
        drop(conn);

        // The store opens the database: m0009 re-encodes the row into the store's own JSON.
        let conn = store::open(&db.url).await.unwrap();
        migrations::up(&conn).await.unwrap();
        let (answers_now, result_now) = columns(&conn, id).await;
        assert!(answers_now.starts_with(br#"{"v":2,"#) && result_now.starts_with(br#"{"v":2,"#), "{backend:?}");

        // Read and scored again through the API, in English and Dutch.
        let persistence = Persistence::new(
            conn.clone(),
            Arc::clone(&registry),
            Policy::default(),
            Secret::new(b"migration test key".to_vec()),
            AuthMode::TenantHeader,
        );
        for (locale, same_as_stored) in [("en", false), ("nl", true)] {
            let got = persistence
                .get_assessment(as_tenant("acme", pb::GetAssessmentRequest { id, locale: locale.into() }))
                .await
                .unwrap()
                .into_inner();
            let got_result = got.result.unwrap();
            assert_eq!(got.answers, request.answers, "{backend:?}");
            assert_eq!(got_result.maturity_index, result.maturity_index, "{backend:?}");
            assert_eq!(got_result == result, same_as_stored, "{backend:?} {locale}");
        }

        // Rendered: the chapter names the firm and its index.
        let stored = store::reports::by_id(&conn, id).await.unwrap().unwrap();
        let assembler = Assembler::new(Arc::clone(&registry), Policy::default()).unwrap();
        let chapter = assembler.chapter(&conn, &stored, Locale::Nl, (2025, 7, 2), 1).await.unwrap();
        let renderer = Renderer::new(report_gen::Templates::builtin().unwrap());
        let pdf = renderer.chapter(&chapter, Locale::Nl, Format::Pdf, (2025, 7, 2), "migrated").unwrap();
        let text = text_of(&pdf);
        assert!(text.contains("Brouwerij De Oude Sluis"), "{backend:?}: {text:.300}");

        // Down past m0009 (and m0010 to m0017 after it) restores version 1 byte for byte;
        // up again gives the same JSON.
        migrations::Migrator::down(&conn, Some(9)).await.unwrap();
        assert_eq!(columns(&conn, id).await, (old_answers, old_result), "{backend:?}");
        migrations::Migrator::up(&conn, None).await.unwrap();
        assert_eq!(columns(&conn, id).await, (answers_now, result_now), "{backend:?}");
    }
}
