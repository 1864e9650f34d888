//! PersistenceService and BenchmarkService over the real server (port 0), each test on SQLite and
//! on PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests stop at the first surprise")]

mod assessments;
mod auth;
mod benchmark;
mod engine;
mod percentiles;
mod years;

use configuration::layers::AuthMode;
use migrations::test_db::{Backend, TestDb};
use services_api::v1 as pb;
use test_support::Options;
pub use test_support::{TestApp, as_tenant};

/// How these tests start a server: the tenant header identifies callers, and nothing is
/// published until a test calls `TestApp::publish`.
fn options(backend: Backend, auth: AuthMode) -> Options {
    Options { auth, background_jobs: false, ..Options::new(backend) }
}

/// A server over a fresh database of one backend.
pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, AuthMode::TenantHeader).await
}

/// A server over a fresh database, identifying callers as `auth` says.
pub async fn spawn_app_with(backend: Backend, auth: AuthMode) -> TestApp {
    TestApp::start(options(backend, auth)).await
}

/// A second server over the database of `first` (as a second process would be).
pub async fn spawn_second(first: &TestApp) -> TestApp {
    first.second(options(first.backend, AuthMode::TenantHeader)).await
}

/// A server over a database the test prepared.
pub async fn spawn_on(db: TestDb) -> TestApp {
    let backend = db.backend;
    TestApp::start_on(db, options(backend, AuthMode::TenantHeader)).await
}

/// A QueryBenchmark of 2024 for `group` (section, size, province; "" for any), in `locale`.
pub fn query_in(group: (&str, &str, &str), locale: &str) -> pb::QueryBenchmarkRequest {
    pb::QueryBenchmarkRequest {
        group: Some(pb::PeerGroup {
            sbi_section: group.0.into(),
            size_class: group.1.into(),
            province: group.2.into(),
        }),
        year: 2024,
        model: None,
        locale: locale.into(),
    }
}

/// A submission of a firm with `external_ref`, in `section`/`size`/`province`, in 2024.
pub fn submission(
    request_id: &str,
    external_ref: &str,
    firm: (&str, &str, &str),
    level: f64,
) -> pb::SubmitAssessmentRequest {
    let name = format!("Testbedrijf {external_ref}");
    let answers = test_support::answers_at(&default_model(), level);
    // 2024-07-01T00:00:00Z.
    test_support::submission_of(request_id, external_ref, &name, 1_719_792_000, firm, answers)
}

fn default_model() -> std::sync::Arc<domain_model::Model> {
    domain_model::ModelRegistry::builtin().unwrap().resolve("", 0).unwrap()
}
