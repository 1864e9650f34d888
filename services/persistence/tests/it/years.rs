//! Dates a tenant sends, and years every tenant sees: `completed_at` within bounds, the default
//! benchmark year the latest published one not after the current year, and years that may not be
//! published (ahead of now) withdrawn. Both backends.

use migrations::sea_orm::ConnectionTrait;
use migrations::test_db::BACKENDS;
use services_api::v1 as pb;

use crate::{TestApp, as_tenant, spawn_app, submission};

fn at(seconds: i64) -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp { seconds, nanos: 0 })
}

fn now_seconds() -> i64 {
    store::time::now_us() / 1_000_000
}

#[tokio::test]
async fn completed_at_ahead_of_now_or_before_the_first_year_is_refused_with_a_field_violation() {
    for backend in BACKENDS {
        let app = spawn_app(backend).await;
        for (i, (seconds, what)) in [
            (253_402_214_400, "9999-12-31"),
            (-62_135_596_800, "0001-01-01"),
            (4_102_444_800, "2100-01-01"),
            (1_356_998_399, "2012-12-31T23:59:59"),
            (now_seconds() + 2 * 3600, "two hours ahead (the skew allows one)"),
        ]
        .into_iter()
        .enumerate()
        {
            let mut req = submission(&format!("d{i}"), &format!("d{i}"), ("J", "small", "NL-UT"), 0.5);
            req.completed_at = at(seconds);
            let err = app.persistence_client().submit_assessment(as_tenant("acme", req)).await.unwrap_err();
            assert_eq!(err.code(), tonic::Code::InvalidArgument, "{backend:?} {what}");
            let details = tonic_types::StatusExt::get_details_bad_request(&err).unwrap();
            let reasons: Vec<(&str, &str)> =
                details.field_violations.iter().map(|v| (v.field.as_str(), v.reason.as_str())).collect();
            assert_eq!(reasons, [("completed_at", "COMPLETED_AT_OUT_OF_RANGE")], "{backend:?} {what}");
        }
        // The first moment of the first year, and a little ahead of the server's clock: accepted.
        for (i, seconds) in [1_356_998_400, now_seconds() + 600].into_iter().enumerate() {
            let mut req = submission(&format!("ok{i}"), &format!("ok{i}"), ("J", "small", "NL-UT"), 0.5);
            req.completed_at = at(seconds);
            app.persistence_client().submit_assessment(as_tenant("acme", req)).await.unwrap();
        }
    }
}

/// The year of the national group a QueryBenchmark without a year answers.
async fn default_year(app: &TestApp) -> u32 {
    let asked = pb::QueryBenchmarkRequest { year: 0, ..Default::default() };
    let answer = app.benchmark_client().query_benchmark(asked).await.unwrap().into_inner();
    answer.group_used.unwrap().year
}

#[tokio::test]
async fn one_tenants_rows_dated_ahead_change_nothing_another_tenant_sees_by_default() {
    for backend in BACKENDS {
        let app = spawn_app(backend).await;
        for i in 0..12 {
            let req = submission(&format!("a{i}"), &format!("a{i}"), ("J", "small", "NL-UT"), f64::from(i) / 11.0);
            app.persistence_client().submit_assessment(as_tenant("acme", req)).await.unwrap();
        }
        // Another tenant's twelve firms, stored as of 2023 and then moved to 2100 behind the API's
        // back (as rows stored before the bounds were), and 2100 published as it was then.
        for i in 0..12 {
            let mut req = submission(&format!("g{i}"), &format!("g{i}"), ("C", "small", "NL-NB"), 0.5);
            req.completed_at = at(1_688_169_600); // 2023-07-01
            app.persistence_client().submit_assessment(as_tenant("globex", req)).await.unwrap();
        }
        app.publish().await;
        assert_eq!(default_year(&app).await, 2024, "{backend:?}");
        app.db.execute_unprepared("UPDATE benchmark_contributions SET year = 2100 WHERE year = 2023").await.unwrap();
        app.db.execute_unprepared("UPDATE assessments SET year = 2100 WHERE year = 2023").await.unwrap();
        let ahead = store::Universe { model_id: "nl-social-business".into(), model_version: 3, year: 2100 };
        let tx = store::begin_write(&app.db).await.unwrap();
        store::publish::publish_universe(&tx, Default::default(), &ahead, store::time::now_us()).await.unwrap();
        store::commit(tx).await.unwrap();
        app.engine.refresh().await.unwrap();
        assert!(app.engine.published_years(&app.model()).contains(&2100), "{backend:?}: the poisoned state");
        // Even while 2100 is held, nobody is shown it by default.
        assert_eq!(default_year(&app).await, 2024, "{backend:?}");

        // The next round withdraws it, with no change recorded for it.
        app.publish().await;
        app.engine.refresh().await.unwrap();
        assert!(!app.engine.published_years(&app.model()).contains(&2100), "{backend:?}: 2100 still published");
        let releases = store::releases(&app.db, &ahead.model_id, ahead.model_version, Some(2100), None).await.unwrap();
        assert!(releases.is_empty(), "{backend:?}: {} releases of 2100 left", releases.len());
        assert_eq!(default_year(&app).await, 2024, "{backend:?}");
        let asked = pb::QueryBenchmarkRequest { year: 2100, ..Default::default() };
        let err = app.benchmark_client().query_benchmark(asked).await.unwrap_err();
        assert_eq!(err.code(), tonic::Code::NotFound, "{backend:?}");
        // A change in 2100 publishes nothing of it.
        let changed = store::Universe { year: 2100, ..ahead };
        store::record_change(&app.db, &changed, None).await.unwrap();
        app.publish().await;
        app.engine.refresh().await.unwrap();
        assert!(!app.engine.published_years(&app.model()).contains(&2100), "{backend:?}");
    }
}
