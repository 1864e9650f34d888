//! The report adapter end to end on both backends: the `report-gen` binary's nightly batch (one
//! complete chapter per assessment, surviving SIGKILL at random points, shared by several workers
//! through leases), `render`, and `ReportService.RenderChapter` over a real server. PDFs are read
//! back with a text extractor.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests stop at the first surprise")]

mod actions;
mod cli;
mod export;
mod fit_first;
mod how_sure;
mod migrated;
mod nightly;
mod pay;
mod samples;
mod service;
mod trajectory;
mod verdicts;
mod volume;
mod years;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use configuration::layers::AuthMode;
use domain_model::ModelRegistry;
use migrations::test_db::Backend;
use services_api::v1 as pb;
use services_api::v1::persistence_service_server::PersistenceService;
use services_persistence::Persistence;
use test_support::{Options, TestApp};
pub use test_support::{answers_varied as answers, as_tenant, submission_of};

/// 2025-07-01T00:00:00Z (the demo peers' latest year), in seconds since the epoch.
pub const JULY_2025: i64 = 1_751_328_000;

/// The night every test uses: after every assessment's completion.
pub const NIGHT: &str = "2026-11-28";

/// A server (the shared `TestApp`, publishing only when told) over a database with published
/// demo peers and `per_tenant` assessments for each of `tenants`.
#[derive(Debug)]
pub struct World {
    pub app: TestApp,
    pub conn: store::DatabaseConnection,
    pub persistence: Persistence,
    pub registry: Arc<ModelRegistry>,
    /// (tenant, id, firm name) of every assessment.
    pub assessments: Vec<(String, i64, String)>,
}

const FIRMS: [(&str, &str, &str); 4] =
    [("F", "small", "NL-GE"), ("G", "micro", "NL-ZH"), ("J", "medium", "NL-UT"), ("C", "large", "NL-NB")];

impl World {
    pub async fn new(backend: Backend, tenants: &[&str], per_tenant: usize) -> World {
        let options = Options { auth: AuthMode::TenantHeader, background_jobs: false, ..Options::new(backend) };
        let app = TestApp::start(options).await;
        let (conn, persistence, registry) = (app.db.clone(), app.persistence.clone(), Arc::clone(&app.registry));
        let model = app.model();
        services_persistence::seed::seed_demo(&persistence, &model, 3000, 7).await.unwrap();
        let mut assessments = Vec::new();
        for tenant in tenants {
            for i in 0..per_tenant {
                let firm = FIRMS[i % FIRMS.len()];
                let name = format!("Firma {tenant} {i}");
                let (id, crm) = (format!("{tenant}-{i}"), format!("crm-{i}"));
                let req = submission_of(&id, &crm, &name, JULY_2025, firm, answers(&model, i));
                let made = persistence.submit_assessment(as_tenant(tenant, req)).await.unwrap().into_inner();
                assessments.push((tenant.to_string(), made.assessment.unwrap().id, name));
            }
        }
        World { app, conn, persistence, registry, assessments }
    }
}

/// The `report-gen` binary.
pub fn report_gen() -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_report-gen"));
    cmd.env_remove("DATABASE_URL").env_remove("MATURITY_CONFIG").env("RUST_LOG", "info");
    cmd
}

/// A fresh output folder.
pub fn scratch(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    let dir = std::env::temp_dir().join(format!("report-it-{name}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Every file under `dir`, relative to it, sorted.
pub fn files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    out.sort();
    out
}

/// The text of a PDF, words joined by single spaces (hyphenation at line ends undone).
/// Submits one assessment as tenant `acme`, completed on 2025-07-01 (the demo peers' latest year),
/// of a firm `(section, size, province)` with `answers`, and reads it back as the report generator
/// does.
pub async fn submit_firm(
    world: &World,
    request_id: &str,
    name: &str,
    firm: (&str, &str, &str),
    answers: Vec<pb::Answer>,
) -> store::StoredAssessment {
    let mut req = submission_of(request_id, request_id, name, JULY_2025, firm, answers);
    if let Some(a) = req.assessment.as_mut() {
        a.locale = "nl".into();
    }
    let made = world.persistence.submit_assessment(as_tenant("acme", req)).await.unwrap().into_inner();
    store::reports::by_id(&world.conn, made.assessment.unwrap().id).await.unwrap().unwrap()
}

pub fn text_of(pdf: &[u8]) -> String {
    let text = pdf_extract::extract_text_from_mem(pdf).unwrap();
    text.replace("-\n", "").split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether `pdf` is a complete document: it parses, and has pages.
pub fn complete(pdf: &[u8]) -> bool {
    pdf.starts_with(b"%PDF-")
        && pdf.trim_ascii_end().ends_with(b"%%EOF")
        && lopdf::Document::load_mem(pdf).is_ok_and(|d| !d.get_pages().is_empty())
}
