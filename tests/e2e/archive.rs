//! What a CRM downloads is what was sent, on both backends: before the night a chapter is a
//! draft typeset on request; after it, `GET .../chapter` serves the night's file byte for byte,
//! tagged with its content hash, and a request naming that tag gets 304 with nothing typeset; a
//! language the night did not write is still a draft; erasure takes the archived chapter with it.

use std::sync::Arc;

use migrations::test_db::BACKENDS;
use serde_json::json;
use services_api::v1 as pb;
use services_api::v1::report_service_client::ReportServiceClient;
use services_maturity::demo::as_tenant;
use store::time::{date_of, now_us};
use test_support::spawn_app_on;

use crate::http::{Reply, assessment, header_value, keys, post, request};

fn get(app: &test_support::TestApp, path: &str, key: &str, extra: &[(&str, &str)]) -> Reply {
    let auth = format!("Bearer {key}");
    let mut headers = vec![("Authorization", auth.as_str())];
    headers.extend_from_slice(extra);
    tokio::task::block_in_place(|| request(app, "GET", path, &headers, b""))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_the_night_the_chapter_served_is_the_nights_file_byte_for_byte_and_a_304_typesets_nothing() {
    for backend in BACKENDS {
        let app = spawn_app_on(backend).await;
        let (a, b) = keys(&app).await;
        let model = tokio::task::block_in_place(|| post(&app, "ScoringService/GetModel", None, &json!({}))).json();
        let body = json!({"requestId": "archive-1", "externalRef": "crm-1", "firmName": "Archief B.V.", "assessment": assessment(&model)});
        let stored = tokio::task::block_in_place(|| post(&app, "PersistenceService/SubmitAssessment", Some(&a), &body));
        assert_eq!(stored.status, 200, "{backend:?}: {}", String::from_utf8_lossy(&stored.body));
        let id: i64 = stored.json()["assessment"]["id"].as_str().unwrap().parse().unwrap();
        let path = format!("/v1/assessments/{id}/chapter");

        // Before the night: typeset on request, and said to be a draft.
        let made = app.renderer.chapters_made();
        let draft = get(&app, &path, &a, &[]);
        assert_eq!(draft.status, 200, "{backend:?}");
        assert_eq!(header_value(&draft, "x-chapter-status").as_deref(), Some("draft"), "{backend:?}");
        assert_eq!(app.renderer.chapters_made(), made + 1, "{backend:?}");

        // The night, as `report-gen nightly` runs it, on the same database.
        let out = std::env::temp_dir().join(format!("e2e-archive-{}-{backend:?}-{}", std::process::id(), now_us()));
        let registry = Arc::clone(&app.registry);
        let assembler = report_gen::Assembler::new(registry, domain_anonymity::Policy::default()).unwrap();
        let renderer = Arc::new(report_gen::Renderer::new(report_gen::Templates::builtin().unwrap()));
        let options = report_gen::nightly::Options {
            out: out.clone(),
            date: date_of(now_us()),
            jobs: 1,
            book: false,
            locale: domain_model::Locale::Nl,
            lease: std::time::Duration::from_secs(10),
            max_attempts: 3,
            worker: "e2e".into(),
            progress: false,
        };
        let night = options.night();
        let summary = report_gen::nightly::run(app.db.clone(), assembler, renderer, options).await.unwrap();
        assert_eq!(summary.rendered.len(), 1, "{backend:?}");
        let file = std::fs::read(out.join(format!("{night}/acme/{id}.pdf"))).unwrap();

        // After it: the night's file, byte for byte, tagged with its content hash; nothing typeset.
        let made = app.renderer.chapters_made();
        let served = get(&app, &path, &a, &[]);
        assert_eq!(served.status, 200, "{backend:?}");
        assert!(served.body == file, "{backend:?}: the served chapter is not the night's file");
        assert_eq!(header_value(&served, "x-chapter-status").as_deref(), Some("archived"), "{backend:?}");
        assert_eq!(header_value(&served, "x-chapter-night").as_deref(), Some(night.as_str()), "{backend:?}");
        let sha256 = store::archive::sha256_hex(&file);
        let etag = format!("\"{}\"", &sha256[..32]);
        assert_eq!(header_value(&served, "etag").as_deref(), Some(etag.as_str()), "{backend:?}");
        assert_eq!(header_value(&served, "x-content-sha256").as_deref(), Some(sha256.as_str()), "{backend:?}");
        // The tag named: 304, no body, still nothing typeset; a stale tag gets the document.
        let unchanged = get(&app, &path, &a, &[("If-None-Match", etag.as_str())]);
        assert_eq!(unchanged.status, 304, "{backend:?}");
        assert!(unchanged.body.is_empty(), "{backend:?}");
        assert_eq!(header_value(&unchanged, "etag").as_deref(), Some(etag.as_str()), "{backend:?}");
        let stale = get(&app, &path, &a, &[("If-None-Match", "\"0123456789abcdef0123456789abcdef\"")]);
        assert!(stale.status == 200 && stale.body == file, "{backend:?}");
        assert_eq!(app.renderer.chapters_made(), made, "{backend:?}: an archived chapter was typeset");
        // The same over gRPC: the archived metadata, and with if-none-match only the metadata.
        let mut client = ReportServiceClient::new(app.channel.clone());
        let request = pb::RenderChapterRequest { assessment_id: id, locale: "nl".into(), format: 0 };
        let mut call = as_tenant(request, Some(&a), "").unwrap();
        call.metadata_mut().insert("if-none-match", etag.parse().unwrap());
        let mut stream = client.render_chapter(call).await.unwrap().into_inner();
        let first = stream.message().await.unwrap().unwrap();
        let meta = first.metadata.unwrap();
        assert!(
            meta.not_modified && !meta.draft && meta.night == night && meta.sha256 == sha256,
            "{backend:?}: {meta:?}"
        );
        assert!(stream.message().await.unwrap().is_none(), "{backend:?}: data after not_modified");
        // Another tenant's id is still not found; a language the night did not write is a draft.
        assert_eq!(get(&app, &path, &b, &[]).status, 404, "{backend:?}");
        let english = get(&app, &format!("{path}?locale=en"), &a, &[]);
        assert_eq!(header_value(&english, "x-chapter-status").as_deref(), Some("draft"), "{backend:?}");
        assert_eq!(app.renderer.chapters_made(), made + 1, "{backend:?}");

        // Erasure takes the archived chapter with it.
        let erased = tokio::task::block_in_place(|| {
            post(&app, "PersistenceService/DeleteAssessment", Some(&a), &json!({"id": id.to_string()}))
        });
        assert_eq!(erased.status, 200, "{backend:?}: {}", String::from_utf8_lossy(&erased.body));
        assert_eq!(store::archive::stamp(&app.db, "acme", id, "nl").await.unwrap(), None, "{backend:?}");
        assert_eq!(get(&app, &path, &a, &[]).status, 404, "{backend:?}");
        std::fs::remove_dir_all(out).unwrap();
    }
}
