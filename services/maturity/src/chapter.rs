//! The sample firm's chapter, fetched the way a CRM fetches one: `ReportService.RenderChapter`
//! over gRPC, its pieces checked against the announced size and digest, and written atomically
//! to `dir/chapter-ID.LANG.pdf`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use domain_model::Locale;
use services_api::v1 as pb;
use services_api::v1::report_service_client::ReportServiceClient;
use sha2::{Digest, Sha256};
use tonic::transport::Channel;

/// Asks the server for assessment `id`'s chapter in `locale` as the demo tenant (with `api_key`
/// when given), and writes it under `dir`.
pub async fn fetch(
    channel: Channel,
    api_key: Option<&str>,
    id: i64,
    locale: Locale,
    dir: &Path,
) -> anyhow::Result<PathBuf> {
    let request = pb::RenderChapterRequest {
        assessment_id: id,
        locale: locale.tag().to_string(),
        format: pb::ChapterFormat::Pdf as i32,
    };
    let call = crate::demo::as_tenant(request, api_key, crate::demo::DEMO_TENANT)?;
    let mut stream = ReportServiceClient::new(channel)
        .max_decoding_message_size(1 << 20)
        .render_chapter(call)
        .await
        .context("RenderChapter failed")?
        .into_inner();
    let first = stream.message().await?.context("RenderChapter sent nothing")?;
    let meta = first.metadata.context("RenderChapter's first message holds no metadata")?;
    let mut pdf = Vec::with_capacity(usize::try_from(meta.size).unwrap_or(0));
    while let Some(piece) = stream.message().await? {
        pdf.extend_from_slice(&piece.data);
    }
    let digest = hex::encode(Sha256::digest(&pdf));
    anyhow::ensure!(pdf.len() as u64 == meta.size, "received {} bytes of the announced {}", pdf.len(), meta.size);
    anyhow::ensure!(digest == meta.sha256, "the chapter's digest does not match the announced one");
    let path = dir.join(&meta.file_name);
    report_gen::render::write_atomic(&path, &pdf).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}
