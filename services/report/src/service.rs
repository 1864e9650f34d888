//! `ReportService`: a chapter on demand, typeset when asked and streamed back in pieces.

use std::pin::Pin;
use std::sync::Arc;

use domain_model::{Locale, SbiSection, SizeClass};
use domain_scoring::Problem;
use services_api::convert::firm_code;
use services_api::errors::{Violation, invalid_argument, request_locale};
use services_api::v1 as pb;
use services_api::v1::report_service_server::{ReportService, ReportServiceServer};
use services_auth::{Authenticator, not_found, store_status};
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

    /// The renderer (shared with the nightly batch run in the same process).
    pub fn renderer(&self) -> &Arc<Renderer> {
        &self.renderer
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

/// The document format a request asks for; an unknown one is a violation of `format`.
fn chapter_format(format: i32, violations: &mut Vec<Violation>) -> Format {
    match pb::ChapterFormat::try_from(format) {
        Ok(pb::ChapterFormat::Unspecified | pb::ChapterFormat::Pdf) => Format::Pdf,
        Ok(pb::ChapterFormat::Typst) => Format::Typ,
        Err(_) => {
            violations.push(Violation {
                field: "format".into(),
                reason: "UNKNOWN_FORMAT".into(),
                en: format!("unknown format {format}: expected CHAPTER_FORMAT_PDF or CHAPTER_FORMAT_TYPST"),
                nl: format!("onbekend formaat {format}: verwacht CHAPTER_FORMAT_PDF of CHAPTER_FORMAT_TYPST"),
            });
            Format::Pdf
        }
    }
}

/// A document typeset for this call as the stream of a render call: the metadata first, then
/// pieces of `CHUNK` bytes. `draft`: a chapter no night archived (a sector volume is not one).
fn document_stream(bytes: Vec<u8>, format: Format, file_name: String, draft: bool) -> ChunkStream {
    let metadata = pb::ChapterMetadata {
        content_type: format.content_type().to_string(),
        file_name,
        size: bytes.len() as u64,
        sha256: store::archive::sha256_hex(&bytes),
        draft,
        ..Default::default()
    };
    metadata_and_pieces(metadata, &bytes)
}

/// The metadata, then `bytes` in pieces of `CHUNK`.
fn metadata_and_pieces(metadata: pb::ChapterMetadata, bytes: &[u8]) -> ChunkStream {
    let mut messages = vec![Ok(pb::RenderChapterResponse { metadata: Some(metadata), data: Vec::new() })];
    messages.extend(bytes.chunks(CHUNK).map(|c| Ok(pb::RenderChapterResponse { metadata: None, data: c.to_vec() })));
    Box::pin(tokio_stream::iter(messages))
}

/// An unexpected failure, logged, as INTERNAL.
fn internal(e: &anyhow::Error) -> Status {
    tracing::error!(error = format!("{e:#}"), "a sector volume could not be assembled");
    Status::internal(format!("{e:#}"))
}

#[tonic::async_trait]
impl ReportService for Reports {
    type RenderChapterStream = ChunkStream;
    type RenderSectorVolumeStream = ChunkStream;

    async fn render_sector_volume(
        &self,
        request: Request<pb::RenderSectorVolumeRequest>,
    ) -> Result<Response<Self::RenderSectorVolumeStream>, Status> {
        self.auth.reader(&request).await?;
        let req = request.into_inner();
        let mut violations = Vec::new();
        let locale =
            if req.locale.is_empty() { Locale::Nl } else { request_locale(&req.locale, "locale", &mut violations) };
        if req.sbi_section.is_empty() {
            violations.push(Violation::new(
                "sbi_section",
                "REQUIRED",
                "the SBI section is required: a letter A to U",
                "de SBI-sectie is verplicht: een letter A tot en met U",
            ));
        }
        let section =
            firm_code(&req.sbi_section, "sbi_section", SbiSection::parse, Problem::UnknownSbiSection, &mut violations);
        let size =
            firm_code(&req.size_class, "size_class", SizeClass::parse, Problem::UnknownSizeClass, &mut violations);
        let format = chapter_format(req.format, &mut violations);
        let model = services_api::convert::resolve(self.assembler.registry(), req.model.as_ref(), "model")
            .map_err(|v| violations.push(v))
            .ok();
        let (Some(section), Some(model)) = (section, model.filter(|_| violations.is_empty())) else {
            return Err(invalid_argument(&violations, locale));
        };
        let years = report_gen::export::published_years(&self.db, &model).await.map_err(|e| internal(&e))?;
        let year = if req.year == 0 {
            domain_anonymity::years::default_year(&years, store::time::year_of(store::time::now_us()))
        } else {
            i32::try_from(req.year).ok().filter(|y| years.contains(y))
        };
        let Some(year) = year else {
            return Err(Status::not_found(format!("no benchmark figures are published for {}", req.year)));
        };
        let subject = report_gen::volume::Subject { section, size, year };
        let date = date_of(now_us());
        let written = format!("{}-{:02}-{:02}", date.0, date.1, date.2);
        let context = self.assembler.context(section, locale);
        let k = self.assembler.policy().k();
        let volume = report_gen::volume::assemble(&self.db, &model, k, subject, locale, written, context)
            .await
            .map_err(|e| internal(&e))?;
        let renderer = Arc::clone(&self.renderer);
        let ident = format!("sector-{}-{year}", section.code());
        let bytes = tokio::task::spawn_blocking(move || renderer.volume(&volume, locale, format, date, &ident))
            .await
            .map_err(|e| Status::internal(format!("typesetting task failed: {e}")))?
            .map_err(|e| {
                tracing::error!(section = section.code(), error = %e, "typesetting a sector volume failed");
                Status::internal(format!("typesetting failed: {e}"))
            })?;
        let size_part = size.map_or(String::new(), |s| format!("-{}", s.code()));
        let name = format!("sector-{}{size_part}-{year}.{}.{}", section.code(), locale.tag(), format.extension());
        Ok(Response::new(document_stream(bytes, format, name, false)))
    }

    async fn render_chapter(
        &self,
        request: Request<pb::RenderChapterRequest>,
    ) -> Result<Response<Self::RenderChapterStream>, Status> {
        let tenant = self.auth.caller(&request).await?.tenant;
        let if_none_match = request.metadata().get("if-none-match").and_then(|v| v.to_str().ok()).map(str::to_string);
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
        let format = chapter_format(req.format, &mut violations);
        if !violations.is_empty() {
            return Err(invalid_argument(&violations, locale));
        }
        let id = req.assessment_id;
        let name = format!("chapter-{id}.{}.{}", locale.tag(), format.extension());
        if format == Format::Pdf
            && let Some(archived) = self.archived(&tenant, id, locale, if_none_match.as_deref(), &name).await?
        {
            return Ok(Response::new(archived));
        }
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
        Ok(Response::new(document_stream(bytes, format, name, true)))
    }
}

/// Whether an `If-None-Match` value names the document whose SHA-256 is `sha256`: its tag is the
/// first 32 hex digits, quoted (weak or strong), or `*`.
fn names_tag(if_none_match: &str, sha256: &str) -> bool {
    let tag = &sha256[..sha256.len().min(32)];
    if_none_match.split(',').map(str::trim).any(|t| t == "*" || t.trim_start_matches("W/").trim_matches('"') == tag)
}

impl Reports {
    /// The archived chapter of `tenant`'s assessment `id` in `locale` as a render call's stream
    /// (only its metadata when `if_none_match` names it: nothing read but its stamp), or `None`
    /// when no night has archived one.
    async fn archived(
        &self,
        tenant: &str,
        id: i64,
        locale: Locale,
        if_none_match: Option<&str>,
        name: &str,
    ) -> Result<Option<ChunkStream>, Status> {
        let metadata = |stamp: store::archive::Stamp, not_modified: bool| pb::ChapterMetadata {
            content_type: Format::Pdf.content_type().to_string(),
            file_name: name.to_string(),
            size: stamp.size,
            sha256: stamp.sha256,
            draft: false,
            night: stamp.night,
            not_modified,
        };
        if let Some(condition) = if_none_match {
            let stamp = store::archive::stamp(&self.db, tenant, id, locale.tag()).await.map_err(store_status)?;
            match stamp {
                Some(stamp) if names_tag(condition, &stamp.sha256) => {
                    return Ok(Some(metadata_and_pieces(metadata(stamp, true), &[])));
                }
                Some(_) => {}
                None => return Ok(None),
            }
        }
        let document = store::archive::document(&self.db, tenant, id, locale.tag()).await.map_err(store_status)?;
        Ok(document.map(|(stamp, bytes)| metadata_and_pieces(metadata(stamp, false), &bytes)))
    }
}
