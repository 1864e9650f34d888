//! Migrations up and down on both backends, and the wall between the stores read from the
//! schema itself.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests stop at the first surprise")]

use migrations::Migrator;
use migrations::sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use migrations::test_db::{BACKENDS, Backend, TestDb};
use sea_orm_migration::MigratorTrait;

async fn tables(conn: &DatabaseConnection, backend: Backend) -> Vec<String> {
    let sql = match backend {
        Backend::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        }
        Backend::Postgres => {
            "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name"
        }
    };
    let db = if backend == Backend::Sqlite { DbBackend::Sqlite } else { DbBackend::Postgres };
    let rows = conn.query_all_raw(Statement::from_string(db, sql)).await.unwrap();
    rows.iter().map(|r| r.try_get::<String>("", "name").unwrap()).collect()
}

async fn columns(conn: &DatabaseConnection, backend: Backend, table: &str) -> Vec<String> {
    let (db, sql) = match backend {
        Backend::Sqlite => (DbBackend::Sqlite, format!("SELECT name FROM pragma_table_info('{table}') ORDER BY name")),
        Backend::Postgres => (
            DbBackend::Postgres,
            format!(
                "SELECT column_name AS name FROM information_schema.columns WHERE table_name = '{table}' ORDER BY column_name"
            ),
        ),
    };
    let rows = conn.query_all_raw(Statement::from_string(db, sql)).await.unwrap();
    rows.iter().map(|r| r.try_get::<String>("", "name").unwrap()).collect()
}

async fn indexes(conn: &DatabaseConnection, backend: Backend, table: &str) -> Vec<String> {
    let (db, sql) = match backend {
        Backend::Sqlite => (
            DbBackend::Sqlite,
            format!("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = '{table}' ORDER BY name"),
        ),
        Backend::Postgres => (
            DbBackend::Postgres,
            format!(
                "SELECT indexname AS name FROM pg_indexes WHERE tablename = '{table}' AND schemaname = current_schema() ORDER BY indexname"
            ),
        ),
    };
    let rows = conn.query_all_raw(Statement::from_string(db, sql)).await.unwrap();
    rows.iter().map(|r| r.try_get::<String>("", "name").unwrap()).collect()
}

#[tokio::test]
async fn up_down_up_on_both_backends() {
    for backend in BACKENDS {
        let db = TestDb::empty(backend).await;
        let conn = db.connect().await;
        Migrator::up(&conn, None).await.unwrap();
        let mut after_up = tables(&conn, backend).await;
        for t in
            ["assessments", "benchmark_contributions", "benchmark_releases", "idempotency_keys", "seaql_migrations"]
                .into_iter()
                .chain(["tenants", "api_keys", "audit_log"])
                .chain(["webhook_endpoints", "webhook_events", "webhook_deliveries", "webhook_attempts"])
        {
            assert!(after_up.iter().any(|x| x == t), "{backend:?}: {t} missing from {after_up:?}");
        }
        let report = columns(&conn, backend, "assessments").await;
        for c in ["report_worker", "report_lease_until_us", "report_attempts", "report_path", "reported_at_us"] {
            assert!(report.iter().any(|x| x == c), "{backend:?}: assessments.{c} missing from {report:?}");
        }
        for t in ["benchmark_changes", "benchmark_publisher", "benchmark_universes"] {
            assert!(after_up.iter().any(|x| x == t), "{backend:?}: {t} missing from {after_up:?}");
        }
        assert!(columns(&conn, backend, "benchmark_contributions").await.iter().any(|c| c == "fit_verdict"));
        assert!(columns(&conn, backend, "benchmark_changes").await.iter().any(|c| c == "contribution_id"));
        // The first step down drops the invitations, nothing else.
        let every_table = after_up.clone();
        assert!(after_up.iter().any(|t| t == "invitations"), "{backend:?}: {after_up:?}");
        Migrator::down(&conn, Some(1)).await.unwrap();
        after_up.retain(|t| t != "invitations");
        assert_eq!(tables(&conn, backend).await, after_up, "{backend:?}");
        // The next drops the chapter archive, nothing else.
        assert!(after_up.iter().any(|t| t == "chapter_archive"), "{backend:?}: {after_up:?}");
        Migrator::down(&conn, Some(1)).await.unwrap();
        let without_archive: Vec<String> = after_up.iter().filter(|t| *t != "chapter_archive").cloned().collect();
        assert_eq!(tables(&conn, backend).await, without_archive, "{backend:?}");
        after_up = without_archive;
        // The next drops the contributions' answers on returns, nothing else.
        let contributions = columns(&conn, backend, "benchmark_contributions").await;
        assert!(
            contributions.iter().any(|c| c == "returns_cover_costs")
                && contributions.iter().any(|c| c == "returns_measured")
        );
        Migrator::down(&conn, Some(1)).await.unwrap();
        assert_eq!(tables(&conn, backend).await, after_up, "{backend:?}");
        let without = columns(&conn, backend, "benchmark_contributions").await;
        assert_eq!(without.len(), contributions.len() - 2, "{backend:?}: {without:?}");
        // The next drops what erasure needs of the remembered responses, nothing else.
        let erasure = columns(&conn, backend, "idempotency_keys").await;
        assert!(erasure.iter().any(|c| c == "assessment_id") && erasure.iter().any(|c| c == "erased_at_us"));
        assert!(indexes(&conn, backend, "idempotency_keys").await.iter().any(|i| i == "idempotency_by_assessment"));
        Migrator::down(&conn, Some(1)).await.unwrap();
        assert_eq!(tables(&conn, backend).await, after_up, "{backend:?}");
        let without = columns(&conn, backend, "idempotency_keys").await;
        assert_eq!(without.len(), erasure.len() - 2, "{backend:?}: {without:?}");
        assert!(!indexes(&conn, backend, "idempotency_keys").await.iter().any(|i| i == "idempotency_by_assessment"));
        // The next puts the universe's index without the id back, and nothing else.
        let by_id = indexes(&conn, backend, "benchmark_contributions").await;
        assert!(by_id.iter().any(|i| i == "benchmark_universe_id"), "{backend:?}: {by_id:?}");
        assert!(!by_id.iter().any(|i| i == "benchmark_universe"), "{backend:?}: {by_id:?}");
        Migrator::down(&conn, Some(1)).await.unwrap();
        assert_eq!(tables(&conn, backend).await, after_up, "{backend:?}");
        let without = indexes(&conn, backend, "benchmark_contributions").await;
        assert!(without.iter().any(|i| i == "benchmark_universe"), "{backend:?}: {without:?}");
        assert!(!without.iter().any(|i| i == "benchmark_universe_id"), "{backend:?}: {without:?}");
        assert_eq!(without.len(), by_id.len(), "{backend:?}: {without:?} against {by_id:?}");
        // The next drops the changes' contribution and nothing else.
        Migrator::down(&conn, Some(1)).await.unwrap();
        assert_eq!(tables(&conn, backend).await, after_up, "{backend:?}");
        let change_cols = columns(&conn, backend, "benchmark_changes").await;
        assert!(!change_cols.iter().any(|c| c == "contribution_id"), "{backend:?}: {change_cols:?}");
        assert!(change_cols.iter().any(|c| c == "year"), "{backend:?}: {change_cols:?}");
        // The next drops the contributions' fit verdict and nothing else.
        Migrator::down(&conn, Some(1)).await.unwrap();
        assert_eq!(tables(&conn, backend).await, after_up, "{backend:?}");
        let contribution_cols = columns(&conn, backend, "benchmark_contributions").await;
        assert!(!contribution_cols.iter().any(|c| c == "fit_verdict"), "{backend:?}: {contribution_cols:?}");
        assert!(contribution_cols.iter().any(|c| c == "proposition"), "{backend:?}: {contribution_cols:?}");
        // Three steps down drop the by-firm index, re-encode assessments, then published figures
        // (no table changes); the next removes the publication tables and nothing else.
        Migrator::down(&conn, Some(1)).await.unwrap();
        assert_eq!(tables(&conn, backend).await, after_up, "{backend:?}");
        Migrator::down(&conn, Some(1)).await.unwrap();
        assert_eq!(tables(&conn, backend).await, after_up, "{backend:?}");
        Migrator::down(&conn, Some(1)).await.unwrap();
        assert_eq!(tables(&conn, backend).await, after_up, "{backend:?}");
        Migrator::down(&conn, Some(1)).await.unwrap();
        let left = tables(&conn, backend).await;
        assert!(!left.iter().any(|t| t == "benchmark_changes" || t == "benchmark_publisher"), "{backend:?}: {left:?}");
        assert!(left.iter().any(|t| t == "webhook_events"), "{backend:?}: {left:?}");
        // One more removes the webhook tables and nothing else.
        Migrator::down(&conn, Some(1)).await.unwrap();
        let left = tables(&conn, backend).await;
        assert!(!left.iter().any(|t| t.starts_with("webhook_")), "{backend:?}: {left:?}");
        assert!(left.iter().any(|t| t == "audit_log"), "{backend:?}: {left:?}");
        // Two more remove the tenants' tables, then the batch's columns, and nothing else.
        Migrator::down(&conn, Some(2)).await.unwrap();
        let left = tables(&conn, backend).await;
        assert!(!left.iter().any(|t| t == "api_keys" || t == "tenants" || t == "audit_log"), "{backend:?}: {left:?}");
        let report = columns(&conn, backend, "assessments").await;
        assert!(!report.iter().any(|x| x.starts_with("report_") && x != "report_status"), "{backend:?}: {report:?}");
        assert!(report.iter().any(|x| x == "report_status"), "{backend:?}: {report:?}");
        Migrator::down(&conn, None).await.unwrap();
        let after_down = tables(&conn, backend).await;
        assert_eq!(after_down, ["seaql_migrations"], "{backend:?}");
        // And up again: down left nothing behind that breaks it.
        Migrator::up(&conn, None).await.unwrap();
        assert_eq!(tables(&conn, backend).await, every_table, "{backend:?}");
        assert!(Migrator::get_pending_migrations(&conn).await.unwrap().is_empty());
    }
}

/// docs/method.md, "Disclosure control": the benchmark store holds no names, no free text, no
/// tenant and no contact data.
/// The allowed columns are listed; anything else (and anything that looks identifying) fails.
#[tokio::test]
async fn the_benchmark_store_has_no_identifying_column() {
    const ALLOWED: [&str; 24] = [
        "co_creation",
        "external_index",
        "external_stage",
        "fit_verdict",
        "id",
        "information_sharing",
        "internal_index",
        "internal_stage",
        "maturity_index",
        "model_id",
        "model_version",
        "network_mobilisation",
        "province",
        "proposition",
        "pseudonym",
        "returns_cover_costs",
        "returns_measured",
        "revision",
        "sbi_section",
        "size_class",
        "synthetic",
        "trust_building",
        "year",
        // Placeholder so the array length documents the count; never a real column name.
        "",
    ];
    const IDENTIFYING: [&str; 12] = [
        "name",
        "firm",
        "tenant",
        "external_ref",
        "reference",
        "email",
        "phone",
        "address",
        "kvk",
        "text",
        "note",
        "comment",
    ];
    for backend in BACKENDS {
        let (_db, conn) = TestDb::migrated(backend).await;
        let cols = columns(&conn, backend, "benchmark_contributions").await;
        assert_eq!(cols.len(), ALLOWED.len() - 1, "{backend:?}: {cols:?}");
        for c in &cols {
            assert!(ALLOWED.contains(&c.as_str()), "{backend:?}: unexpected column {c} in the benchmark store");
            assert!(!IDENTIFYING.iter().any(|bad| c.contains(bad)), "{backend:?}: identifying column {c}");
        }
        // The assessment store does name firms: the wall is a separate table, not a view.
        let assessment_cols = columns(&conn, backend, "assessments").await;
        assert!(assessment_cols.iter().any(|c| c == "firm_name"));
    }
}

/// Responses remembered before m0014 are linked to the assessment they stored through the audit
/// log's entry of the same request; other methods' responses are not.
#[tokio::test]
async fn remembered_submissions_are_linked_to_their_assessments_from_the_audit_log() {
    use migrations::sea_orm::ConnectionTrait;
    for backend in BACKENDS {
        let db = TestDb::empty(backend).await;
        let conn = db.connect().await;
        // Up to m0013, the last migration before m0014 links remembered responses.
        let before = Migrator::migrations().iter().position(|m| m.name().contains("m0014")).unwrap();
        Migrator::up(&conn, Some(u32::try_from(before).unwrap())).await.unwrap();
        for sql in [
            "INSERT INTO idempotency_keys (tenant, request_id, method, request_hash, response, created_at_us) VALUES \
             ('acme', 'r-1', 'SubmitAssessment', 'h', X'00', 1), ('acme', 'r-2', 'SubmitAssessment', 'h', X'00', 1), \
             ('globex', 'r-1', 'SubmitAssessment', 'h', X'00', 1), ('acme', 'r-3', 'SomethingElse', 'h', X'00', 1)",
            "INSERT INTO audit_log (tenant, actor, action, target, request_id, at_us) VALUES \
             ('acme', 'k', 'SubmitAssessment', 'assessment 41', 'r-1', 1), \
             ('globex', 'k', 'SubmitAssessment', 'assessment 1042', 'r-1', 1), \
             ('acme', 'k', 'SomethingElse', 'assessment 7', 'r-3', 1)",
        ] {
            let sql = if backend == migrations::test_db::Backend::Postgres {
                sql.replace("X'00'", "'\\x00'::bytea")
            } else {
                sql.to_string()
            };
            conn.execute_unprepared(&sql).await.unwrap();
        }
        Migrator::up(&conn, None).await.unwrap();
        let rows = conn
            .query_all_raw(migrations::sea_orm::Statement::from_string(
                conn.get_database_backend(),
                "SELECT tenant, request_id, assessment_id FROM idempotency_keys ORDER BY tenant, request_id",
            ))
            .await
            .unwrap();
        let linked: Vec<(String, String, Option<i64>)> = rows
            .iter()
            .map(|r| {
                (
                    r.try_get("", "tenant").unwrap(),
                    r.try_get("", "request_id").unwrap(),
                    r.try_get("", "assessment_id").unwrap(),
                )
            })
            .collect();
        let expected =
            [("acme", "r-1", Some(41)), ("acme", "r-2", None), ("acme", "r-3", None), ("globex", "r-1", Some(1042))]
                .map(|(t, r, id)| (t.to_string(), r.to_string(), id));
        assert_eq!(linked, expected, "{backend:?}");
    }
}
