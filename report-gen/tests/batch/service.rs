//! `ReportService.RenderChapter` over a real server, on both backends.

use std::sync::Arc;

use migrations::test_db::BACKENDS;
use report_gen::{Assembler, Renderer};
use services_api::v1 as pb;
use services_api::v1::report_service_client::ReportServiceClient;
use services_report::Reports;
use services_server::server::{ServerSettings, Services, serve};
use sha2::{Digest, Sha256};
use tonic::transport::Channel;

use crate::{World, as_tenant, complete, text_of};

async fn client(world: &World) -> (ReportServiceClient<Channel>, tokio::sync::oneshot::Sender<()>) {
    let assembler = Assembler::new(Arc::clone(&world.registry), domain_anonymity::Policy::default()).unwrap();
    let renderer = Arc::new(Renderer::new(report_gen::Templates::builtin().unwrap()));
    let reports = Reports::new(world.conn.clone(), assembler, renderer, world.persistence.authenticator().clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let mut services = Services::new();
    services.add(reports.into_service());
    tokio::spawn(serve(listener, services, ServerSettings::default(), async {
        let _ = stopped.await;
    }));
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}")).unwrap().connect().await.unwrap();
    (ReportServiceClient::new(channel), stop)
}

async fn fetch(
    c: &mut ReportServiceClient<Channel>,
    tenant: &str,
    req: pb::RenderChapterRequest,
) -> Result<(pb::ChapterMetadata, Vec<Vec<u8>>), tonic::Status> {
    let mut stream = c.render_chapter(as_tenant(tenant, req)).await?.into_inner();
    let meta = stream.message().await?.unwrap().metadata.unwrap();
    let mut pieces = Vec::new();
    while let Some(m) = stream.message().await? {
        assert!(m.metadata.is_none());
        pieces.push(m.data);
    }
    Ok((meta, pieces))
}

#[tokio::test]
async fn render_chapter_streams_the_pdf_in_both_languages() {
    for backend in BACKENDS {
        let world = World::new(backend, &["acme", "globex"], 1).await;
        let (mut c, _stop) = client(&world).await;
        let (tenant, id, name) = world.assessments[0].clone();
        for (lang, heading) in [("nl", "Positie ten opzichte van branchegenoten"), ("en", "Position among peers")] {
            let req = pb::RenderChapterRequest { assessment_id: id, locale: lang.into(), format: 0 };
            let (meta, pieces) = fetch(&mut c, &tenant, req).await.unwrap();
            assert_eq!(meta.content_type, "application/pdf");
            assert_eq!(meta.file_name, format!("chapter-{id}.{lang}.pdf"));
            assert!(pieces.iter().all(|p| !p.is_empty() && p.len() <= services_report::service::CHUNK));
            assert!(pieces.len() >= 2, "{backend:?}: a chapter spans several pieces");
            let pdf: Vec<u8> = pieces.concat();
            assert_eq!(pdf.len() as u64, meta.size);
            assert_eq!(Sha256::digest(&pdf).iter().map(|b| format!("{b:02x}")).collect::<String>(), meta.sha256);
            assert!(complete(&pdf));
            let pages = lopdf::Document::load_mem(&pdf).unwrap().get_pages().len();
            assert!((8..=12).contains(&pages), "{backend:?} {lang}: {pages} pages");
            let text = text_of(&pdf);
            assert!(text.contains(&name) && text.contains(heading), "{backend:?} {lang}: {text}");
        }
        // The Typst source, for template work.
        let req = pb::RenderChapterRequest {
            assessment_id: id,
            locale: "en".into(),
            format: pb::ChapterFormat::Typst as i32,
        };
        let (meta, pieces) = fetch(&mut c, &tenant, req).await.unwrap();
        assert!(meta.content_type.starts_with("text/vnd.typst"));
        let source = String::from_utf8(pieces.concat()).unwrap();
        assert!(source.contains("#set document(") && source.contains(&format!("{name:?}")), "{source}");

        // Another tenant's assessment is NOT_FOUND, exactly like a missing one.
        let other = pb::RenderChapterRequest { assessment_id: id, locale: "nl".into(), format: 0 };
        let err = fetch(&mut c, "globex", other).await.unwrap_err();
        let missing =
            fetch(&mut c, &tenant, pb::RenderChapterRequest { assessment_id: 999_999, locale: "nl".into(), format: 0 })
                .await
                .unwrap_err();
        assert_eq!(err.code(), tonic::Code::NotFound);
        assert_eq!(err.message().replace(&id.to_string(), "N"), missing.message().replace("999999", "N"));
        // Bad input: every problem as a field violation.
        let bad = pb::RenderChapterRequest { assessment_id: 0, locale: "fr".into(), format: 9 };
        let err = fetch(&mut c, &tenant, bad).await.unwrap_err();
        assert_eq!(err.code(), tonic::Code::InvalidArgument);
        let details = tonic_types::StatusExt::get_error_details(&err);
        let fields: Vec<String> =
            details.bad_request().unwrap().field_violations.iter().map(|v| v.field.clone()).collect();
        assert_eq!(fields, ["locale", "assessment_id", "format"], "{backend:?}");
    }
}
