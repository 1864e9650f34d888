//! API keys: every read and write of tenant A against tenant B's resources is refused exactly
//! like a missing resource; calls without a valid key are UNAUTHENTICATED; revoked keys stop
//! working; benchmarks are readable with any tenant's key; writes are in the audit log.

use configuration::layers::AuthMode;
use migrations::test_db::BACKENDS;
use services_api::v1 as pb;
use store::tenants;
use store::time::now_us;
use tonic::Code;

use crate::{spawn_app_with, submission};

/// The key cache's lifetime in these tests.
const KEY_TTL: std::time::Duration = std::time::Duration::from_millis(300);

fn with_key<T>(key: &str, msg: T) -> tonic::Request<T> {
    let mut r = tonic::Request::new(msg);
    r.metadata_mut().insert("authorization", format!("Bearer {key}").parse().unwrap());
    r
}

/// Error text with ids taken out, to compare refusals.
fn shape(s: &tonic::Status, id: i64) -> (Code, String) {
    (s.code(), s.message().replace(&id.to_string(), "N"))
}

#[tokio::test]
async fn tenants_are_isolated_and_keys_are_required() {
    for backend in BACKENDS {
        let app = spawn_app_with(backend, AuthMode::Keys).await;
        // What a server read about a key is trusted this long here (5 s in service), so that the
        // revocation below is seen without waiting out the real lifetime.
        app.persistence.authenticator().set_key_cache_ttl(KEY_TTL);
        let now = now_us();
        tenants::create_tenant(&app.db, "acme", "Acme Advies", now).await.unwrap();
        tenants::create_tenant(&app.db, "globex", "Globex Consulting", now).await.unwrap();
        let a = tenants::issue_key(&app.db, "acme", "crm", now).await.unwrap();
        let b = tenants::issue_key(&app.db, "globex", "crm", now).await.unwrap();
        assert!(tenants::create_tenant(&app.db, "acme", "again", now).await.is_err());
        assert!(tenants::create_tenant(&app.db, "no/slash", "x", now).await.is_err());

        // B's assessment.
        let made = app
            .persistence_client()
            .submit_assessment(with_key(&b, submission("r-1", "crm-1", ("J", "small", "NL-UT"), 0.6)))
            .await
            .unwrap()
            .into_inner();
        let id = made.assessment.unwrap().id;
        let missing = 987_654;

        // A tries to read it, list it, delete it: each answer is the one a missing id gets.
        let get = |id: i64| pb::GetAssessmentRequest { id, locale: "nl".into() };
        let theirs = app.persistence_client().get_assessment(with_key(&a, get(id))).await.unwrap_err();
        let none = app.persistence_client().get_assessment(with_key(&a, get(missing))).await.unwrap_err();
        assert_eq!(shape(&theirs, id), shape(&none, missing), "{backend:?}");
        assert_eq!(theirs.code(), Code::NotFound);
        let listed = app
            .persistence_client()
            .list_assessments(with_key(&a, pb::ListAssessmentsRequest::default()))
            .await
            .unwrap();
        assert!(listed.into_inner().assessments.is_empty(), "{backend:?}: A sees B's assessment");
        let del = |id: i64| pb::DeleteAssessmentRequest { id };
        let theirs = app.persistence_client().delete_assessment(with_key(&a, del(id))).await.unwrap_err();
        let none = app.persistence_client().delete_assessment(with_key(&a, del(missing))).await.unwrap_err();
        assert_eq!(shape(&theirs, id), shape(&none, missing), "{backend:?}");
        // A's retry of B's request id is A's own new request, not B's remembered answer.
        let mine = app
            .persistence_client()
            .submit_assessment(with_key(&a, submission("r-1", "crm-1", ("J", "small", "NL-UT"), 0.6)))
            .await
            .unwrap()
            .into_inner();
        assert_ne!(mine.assessment.unwrap().id, id, "{backend:?}");
        // B still has its assessment.
        assert!(app.persistence_client().get_assessment(with_key(&b, get(id))).await.is_ok());

        // Benchmarks: any tenant's key reads them; no key does not.
        let query = || pb::QueryBenchmarkRequest { locale: "en".into(), ..Default::default() };
        // (Two firms publish nothing, so the answer is NOT_FOUND; what matters is that the key passed.)
        let read = app.benchmark_client().query_benchmark(with_key(&a, query())).await;
        assert!(read.as_ref().map_or_else(|e| e.code() != Code::Unauthenticated, |_| true), "{backend:?}: {read:?}");
        let err = app.benchmark_client().query_benchmark(tonic::Request::new(query())).await.unwrap_err();
        assert_eq!(err.code(), Code::Unauthenticated);

        // No key, a malformed key, a wrong secret, the tenant header alone: all UNAUTHENTICATED,
        // and no message repeats what was sent.
        let wrong = format!("{}{}", &a[..a.len() - 1], if a.ends_with('x') { 'y' } else { 'x' });
        for key in [None, Some("nonsense"), Some(wrong.as_str())] {
            let mut r = tonic::Request::new(get(id));
            if let Some(k) = key {
                r.metadata_mut().insert("authorization", format!("Bearer {k}").parse().unwrap());
            }
            let err = app.persistence_client().get_assessment(r).await.unwrap_err();
            assert_eq!(err.code(), Code::Unauthenticated, "{backend:?}: {key:?}");
            assert!(key.is_none_or(|k| !err.message().contains(k)), "{backend:?}: the key was echoed");
        }
        let err = app.persistence_client().get_assessment(crate::as_tenant("globex", get(id))).await.unwrap_err();
        assert_eq!(err.code(), Code::Unauthenticated, "{backend:?}: the tenant header must not work with keys");

        // Writes are audited with the key's prefix (never the key) and the request id.
        let log = tenants::audit_log(&app.db, "globex").await.unwrap();
        assert_eq!(log.len(), 1, "{backend:?}: {log:?}");
        assert_eq!((log[0].action.as_str(), log[0].request_id.as_str()), ("SubmitAssessment", "r-1"));
        assert!(b.starts_with(&log[0].actor) && log[0].actor.len() < b.len(), "{backend:?}");
        app.persistence_client().delete_assessment(with_key(&b, del(id))).await.unwrap();
        let log = tenants::audit_log(&app.db, "globex").await.unwrap();
        assert_eq!(log.last().unwrap().action, "DeleteAssessment");
        assert_eq!(log.last().unwrap().target, format!("assessment {id}"));

        // A revoked key stops working once servers' caches expire.
        let prefix = &a[..tenants::PREFIX_LEN];
        tenants::revoke_key(&app.db, prefix, now_us()).await.unwrap();
        let listed = tenants::keys(&app.db, Some("acme")).await.unwrap();
        assert!(listed[0].revoked_at_us.is_some() && listed[0].prefix == prefix);
        tokio::time::sleep(KEY_TTL + std::time::Duration::from_millis(100)).await;
        let err = app.benchmark_client().query_benchmark(with_key(&a, query())).await.unwrap_err();
        assert_eq!(err.code(), Code::Unauthenticated, "{backend:?}: a revoked key still works");
        assert!(tenants::revoke_key(&app.db, "mk_nosuchkey0", now_us()).await.is_err());
    }
}

#[tokio::test]
async fn a_tenant_over_its_rate_is_told_when_to_retry_and_others_are_not_affected() {
    use services_auth::RateLimit;
    use tonic_types::StatusExt;
    let app = spawn_app_with(migrations::test_db::Backend::Sqlite, AuthMode::TenantHeader).await;
    app.persistence.authenticator().set_rate_limit(Some(RateLimit { per_second: 2.0, burst: 2.0 }));
    let list = || pb::ListAssessmentsRequest::default();
    for _ in 0..2 {
        app.persistence_client().list_assessments(crate::as_tenant("acme", list())).await.unwrap();
    }
    let err = app.persistence_client().list_assessments(crate::as_tenant("acme", list())).await.unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted);
    let delay = err.get_error_details().retry_info().and_then(|r| r.retry_delay).unwrap();
    assert!(delay > std::time::Duration::ZERO && delay <= std::time::Duration::from_millis(500), "{delay:?}");
    // Another tenant has its own budget.
    app.persistence_client().list_assessments(crate::as_tenant("globex", list())).await.unwrap();
    // After the advised delay the first may call again.
    tokio::time::sleep(delay).await;
    app.persistence_client().list_assessments(crate::as_tenant("acme", list())).await.unwrap();
}
