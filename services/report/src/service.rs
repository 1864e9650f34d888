//! `ReportService`: a chapter on demand, typeset when asked and streamed back in pieces.

use std::pin::Pin;
use std::sync::Arc;

use domain_model::Locale;
use services_api::v1 as pb;
use services_api::v1::report_service_server::{ReportService, ReportServiceServer};
use services_auth::{Authenticator, not_found, store_status};
use services_common::errors::{Violation, invalid_argument, request_locale};
use sha2::{Digest, Sha256};
use store::DatabaseConnection;
use store::time::{date_of, now_us};
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

use report_gen::assemble::AssembleError;
use report_gen::{Assembler, Format, Renderer};

/// Largest piece of a streamed document.
pub const CHUNK: usize = 64 * 1024;

/// The report service over the assessment store.
#[derive(Clone, Debug)]
pub struct Reports {
    db: DatabaseConnection,
    assembler: Assembler,
    renderer: Arc<Renderer>,
    auth: Authenticator,
}

impl Reports {
    /// A service reading `db`, assembling with `assembler`, rendering with `renderer`, and
    /// identifying callers with `auth` (the persistence service's).
    pub fn new(db: DatabaseConnection, assembler: Assembler, renderer: Arc<Renderer>, auth: Authenticator) -> Reports {
        Reports { db, assembler, renderer, auth }
    }

    /// The assembler chapters are built with.
    pub fn assembler(&self) -> &Assembler {
        &self.assembler
    }

    /// The tonic service.
    pub fn into_service(self) -> ReportServiceServer<Reports> {
        ReportServiceServer::new(self)
    }
}

type ChunkStream = Pin<Box<dyn Stream<Item = Result<pb::RenderChapterResponse, Status>> + Send>>;

#[tonic::async_trait]
impl ReportService for Reports {
    type RenderChapterStream = ChunkStream;

    async fn render_chapter(
        &self,
        request: Request<pb::RenderChapterRequest>,
    ) -> Result<Response<Self::RenderChapterStream>, Status> {
        let tenant = self.auth.caller(&request).await?.tenant;
        let req = request.into_inner();
        let mut violations = Vec::new();
        let locale =
            if req.locale.is_empty() { Locale::Nl } else { request_locale(&req.locale, "locale", &mut violations) };
        if req.assessment_id <= 0 {
            violations.push(Violation {
                field: "assessment_id".into(),
                reason: "MISSING_ID".into(),
                en: "assessment_id must be a positive id returned by SubmitAssessment".into(),
                nl: "assessment_id moet een positief id zijn dat SubmitAssessment teruggaf".into(),
            });
        }
        let format = match pb::ChapterFormat::try_from(req.format) {
            Ok(pb::ChapterFormat::Unspecified | pb::ChapterFormat::Pdf) => Format::Pdf,
            Ok(pb::ChapterFormat::Typst) => Format::Typ,
            Err(_) => {
                violations.push(Violation {
                    field: "format".into(),
                    reason: "UNKNOWN_FORMAT".into(),
                    en: format!("unknown format {}: expected CHAPTER_FORMAT_PDF or CHAPTER_FORMAT_TYPST", req.format),
                    nl: format!("onbekend formaat {}: verwacht CHAPTER_FORMAT_PDF of CHAPTER_FORMAT_TYPST", req.format),
                });
                Format::Pdf
            }
        };
        if !violations.is_empty() {
            return Err(invalid_argument(&violations, locale));
        }
        let id = req.assessment_id;
        let stored =
            store::get_assessment(&self.db, &tenant, id).await.map_err(store_status)?.ok_or_else(|| not_found(id))?;
        let date = date_of(now_us());
        let chapter = self.assembler.chapter(&self.db, &stored, locale, date, 1).await.map_err(|e| match e {
            AssembleError::Store(s) => store_status(s),
            other => {
                tracing::error!(id, error = %other, "cannot assemble a chapter");
                Status::failed_precondition(other.to_string())
            }
        })?;
        let renderer = Arc::clone(&self.renderer);
        let ident = format!("assessment-{id}");
        let bytes = tokio::task::spawn_blocking(move || renderer.chapter(&chapter, locale, format, date, &ident))
            .await
            .map_err(|e| Status::internal(format!("typesetting task failed: {e}")))?
            .map_err(|e| {
                tracing::error!(id, error = %e, "typesetting failed");
                Status::internal(format!("typesetting failed: {e}"))
            })?;
        let metadata = pb::ChapterMetadata {
            content_type: format.content_type().to_string(),
            file_name: format!("chapter-{id}.{}.{}", locale.tag(), format.extension()),
            size: bytes.len() as u64,
            sha256: Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect(),
        };
        let mut messages = vec![Ok(pb::RenderChapterResponse { metadata: Some(metadata), data: Vec::new() })];
        messages
            .extend(bytes.chunks(CHUNK).map(|c| Ok(pb::RenderChapterResponse { metadata: None, data: c.to_vec() })));
        Ok(Response::new(Box::pin(tokio_stream::iter(messages))))
    }
}
