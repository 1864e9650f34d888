//! What operators rely on: load shedding (a full server refuses at once, over gRPC and HTTP, never
//! health checks, and recovers by itself), the Prometheus metrics, request ids, and readiness that
//! follows the database while liveness does not.

use std::time::Duration;

use migrations::sea_orm::{ConnectionTrait, Database};
use migrations::test_db::{BACKENDS, Backend};
use serde_json::json;
use services_api::v1 as pb;
use services_api::v1::report_service_client::ReportServiceClient;
use services_maturity::demo::as_tenant;
use services_server::guard::Guard;
use services_server::server::ServerSettings;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

use crate::http::{admin, assessment, keys, post, request};
use test_support::{TestApp, spawn_app_on, spawn_app_with};

fn submit(app: &TestApp, key: &str, n: u32) -> String {
    let model = post(app, "ScoringService/GetModel", None, &json!({})).json();
    let body = json!({"requestId": format!("ops-{n}"), "externalRef": format!("crm-{n}"), "firmName": "Ops B.V.", "assessment": assessment(&model)});
    let reply = post(app, "PersistenceService/SubmitAssessment", Some(key), &body);
    assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
    reply.json()["assessment"]["id"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_server_refuses_at_once_and_recovers() {
    for backend in BACKENDS {
        let settings = ServerSettings { guard: Guard::new(2, 1), ..ServerSettings::default() };
        let app = spawn_app_with(backend, settings).await;
        let (a, _) = keys(&app).await;
        let id: i64 = tokio::task::block_in_place(|| submit(&app, &a, 1)).parse().unwrap();

        // 40 chapters at once against room for 2: some are served, the rest refused, none waits.
        let mut calls = tokio::task::JoinSet::new();
        for _ in 0..40 {
            let (channel, key) = (app.channel.clone(), a.clone());
            calls.spawn(async move {
                let mut client = ReportServiceClient::new(channel);
                let request = pb::RenderChapterRequest { assessment_id: id, locale: "nl".into(), format: 0 };
                match client.render_chapter(as_tenant(request, Some(&key), "").unwrap()).await {
                    Ok(stream) => {
                        let mut stream = stream.into_inner();
                        let mut bytes = 0;
                        while let Some(piece) = stream.message().await.unwrap() {
                            bytes += piece.data.len();
                        }
                        Ok(bytes)
                    }
                    Err(status) => Err(status),
                }
            });
        }
        // Health is never refused, however full the server is.
        let mut health = HealthClient::new(app.channel.clone());
        let serving = health.check(HealthCheckRequest { service: String::new() }).await.unwrap().into_inner().status;
        assert_eq!(serving, 1);
        let (mut served, mut refused) = (0, 0);
        while let Some(done) = calls.join_next().await {
            match done.unwrap() {
                Ok(bytes) => {
                    assert!(bytes > 10_000, "{backend:?}: a served chapter is whole");
                    served += 1;
                }
                Err(status) => {
                    assert_eq!(status.code(), tonic::Code::ResourceExhausted, "{backend:?}: {status:?}");
                    assert!(status.metadata().get("x-overloaded").is_some());
                    let info = tonic_types::StatusExt::get_details_error_info(&status).expect("ErrorInfo");
                    assert_eq!((info.reason.as_str(), info.domain.as_str()), ("SERVER_OVERLOADED", "maturity.v1"));
                    refused += 1;
                }
            }
        }
        assert_eq!(served + refused, 40);
        assert!(served >= 2 && refused >= 1, "{backend:?}: served {served}, refused {refused}");

        // Over HTTP a refusal is 503 with Retry-After (not 429: no tenant is over its rate).
        let replies: Vec<u16> = tokio::task::block_in_place(|| {
            std::thread::scope(|scope| {
                let threads: Vec<_> = (0..12)
                    .map(|_| {
                        scope.spawn(|| {
                            let auth = format!("Bearer {a}");
                            let path = format!("/v1/assessments/{id}/chapter");
                            let reply = request(&app, "GET", &path, &[("Authorization", auth.as_str())], b"");
                            if reply.status == 503 {
                                assert!(
                                    reply.headers.to_ascii_lowercase().contains("retry-after: 1"),
                                    "{}",
                                    reply.headers
                                );
                                assert_eq!(reply.json()["code"], "RESOURCE_EXHAUSTED");
                                assert_eq!(reply.json()["reason"], "SERVER_OVERLOADED");
                            }
                            reply.status
                        })
                    })
                    .collect();
                threads.into_iter().map(|t| t.join().unwrap()).collect()
            })
        });
        assert!(replies.iter().all(|s| *s == 200 || *s == 503), "{backend:?}: {replies:?}");
        assert!(replies.contains(&503) && replies.contains(&200), "{backend:?}: {replies:?}");

        // Submissions have a smaller room of their own (1 here); the server recovers by itself.
        tokio::task::block_in_place(|| {
            for n in 2..5 {
                submit(&app, &a, n);
            }
        });
        let metrics = tokio::task::block_in_place(|| admin(&app, "/metrics"));
        let text = String::from_utf8_lossy(&metrics.body).to_string();
        let shed: u64 = text
            .lines()
            .find_map(|l| l.strip_prefix("maturity_calls_shed_total "))
            .and_then(|v| v.parse().ok())
            .unwrap();
        let http_refused = replies.iter().filter(|s| **s == 503).count() as u64;
        assert_eq!(shed, refused + http_refused, "{backend:?}: {text}");
        assert!(text.contains("maturity_calls_in_flight 0"), "{backend:?}: {text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_request_ids_and_health_endpoints() {
    for backend in BACKENDS {
        let app = spawn_app_on(backend).await;
        let (a, _) = keys(&app).await;
        tokio::task::block_in_place(|| submit(&app, &a, 1));
        let _ = tokio::task::block_in_place(|| {
            post(&app, "PersistenceService/GetAssessment", Some(&a), &json!({"id": "424242"}))
        });
        // The same through the resource route: counted under its template, never the path.
        let auth = format!("Bearer {a}");
        let reply = tokio::task::block_in_place(|| {
            request(&app, "GET", "/v1/assessments/424243", &[("Authorization", &auth)], b"")
        });
        assert_eq!(reply.status, 404, "{backend:?}");

        // A caller's request id comes back; without one the server makes one.
        let reply = tokio::task::block_in_place(|| {
            request(&app, "POST", "/v1/ScoringService/ListModels", &[("x-request-id", "crm-trace-77")], b"{}")
        });
        assert!(reply.headers.to_ascii_lowercase().contains("x-request-id: crm-trace-77"), "{}", reply.headers);
        let reply = tokio::task::block_in_place(|| request(&app, "POST", "/v1/ScoringService/ListModels", &[], b"{}"));
        assert!(reply.headers.to_ascii_lowercase().contains("x-request-id: req_"), "{}", reply.headers);

        let metrics = tokio::task::block_in_place(|| admin(&app, "/metrics"));
        assert_eq!(metrics.status, 200);
        assert!(metrics.content_type.starts_with("text/plain; version=0.0.4"), "{}", metrics.content_type);
        let text = String::from_utf8_lossy(&metrics.body).to_string();
        for expected in [
            "grpc_server_started_total{grpc_type=\"unary\",grpc_service=\"maturity.v1.PersistenceService\",grpc_method=\"SubmitAssessment\"} 1",
            "grpc_server_handled_total{grpc_type=\"unary\",grpc_service=\"maturity.v1.PersistenceService\",grpc_method=\"SubmitAssessment\",grpc_code=\"OK\"} 1",
            "grpc_server_handled_total{grpc_type=\"unary\",grpc_service=\"maturity.v1.PersistenceService\",grpc_method=\"GetAssessment\",grpc_code=\"NOT_FOUND\"} 2",
            "http_server_request_duration_seconds_count{http_request_method=\"GET\",http_route=\"/v1/assessments/{id}\",http_response_status_code=\"404\"} 1",
            "grpc_server_handling_seconds_count{grpc_type=\"unary\",grpc_service=\"maturity.v1.PersistenceService\",grpc_method=\"SubmitAssessment\"} 1",
            "http_server_request_duration_seconds_count{http_request_method=\"POST\",http_route=\"/v1/{service}/{method}\",http_response_status_code=\"404\"} 1",
            "maturity_webhook_backlog 0",
            "maturity_chapters_pending 1",
            "maturity_chapters_failed 0",
        ] {
            assert!(text.contains(expected), "{backend:?}: {expected} missing from\n{text}");
        }
        for path in ["/livez", "/readyz"] {
            let reply = tokio::task::block_in_place(|| admin(&app, path));
            assert_eq!(reply.status, 200, "{backend:?} {path}");
        }
        // The operators' endpoints are on their own port only, never on the public one.
        for path in ["/metrics", "/livez", "/readyz"] {
            let reply = tokio::task::block_in_place(|| request(&app, "GET", path, &[], b""));
            assert_eq!(reply.status, 404, "{backend:?}: {path} answered on the public port");
        }
        // Every metric the shipped Grafana dashboard queries is one the server exports.
        for name in dashboard_metrics() {
            assert!(
                text.contains(&format!("# TYPE {name} ")),
                "{backend:?}: the dashboard queries {name}, not exported"
            );
        }
        let mut health = HealthClient::new(app.channel.clone());
        let live = health.check(HealthCheckRequest { service: "liveness".into() }).await.unwrap().into_inner();
        assert_eq!(live.status, 1);
    }
}

/// Every error status carries an ErrorInfo with a stable reason and the product's domain (AIP-193),
/// over gRPC and in the HTTP problem document, whichever service answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_error_status_carries_error_info() {
    use services_api::v1::persistence_service_client::PersistenceServiceClient;
    use tonic_types::StatusExt;
    for backend in BACKENDS {
        let app = spawn_app_on(backend).await;
        let (a, _) = keys(&app).await;
        let info = |status: &tonic::Status| {
            let info =
                status.get_details_error_info().unwrap_or_else(|| panic!("{backend:?}: no ErrorInfo in {status:?}"));
            assert_eq!(info.domain, "maturity.v1", "{status:?}");
            info.reason
        };
        let mut client = PersistenceServiceClient::new(app.channel.clone());
        let missing = pb::GetAssessmentRequest { id: 424_242, ..Default::default() };
        let status = client.get_assessment(as_tenant(missing.clone(), Some(&a), "").unwrap()).await.unwrap_err();
        assert_eq!((status.code(), info(&status).as_str()), (tonic::Code::NotFound, "NOT_FOUND"));
        let status = client.get_assessment(tonic::Request::new(missing.clone())).await.unwrap_err();
        assert_eq!((status.code(), info(&status).as_str()), (tonic::Code::Unauthenticated, "UNAUTHENTICATED"));
        let status = client.get_assessment(as_tenant(missing, Some("mk_wrong"), "").unwrap()).await.unwrap_err();
        assert_eq!((status.code(), info(&status).as_str()), (tonic::Code::Unauthenticated, "UNAUTHENTICATED"));
        // A service's own reason is kept: invalid requests say INVALID_REQUEST with their violations.
        let bad = pb::ScoreAssessmentRequest::default();
        let status = services_api::v1::scoring_service_client::ScoringServiceClient::new(app.channel.clone())
            .score_assessment(bad)
            .await
            .unwrap_err();
        assert_eq!((status.code(), info(&status).as_str()), (tonic::Code::InvalidArgument, "INVALID_REQUEST"));
        assert!(status.get_details_bad_request().is_some(), "{status:?}");
        // Over HTTP the problem document names them too.
        let reply = tokio::task::block_in_place(|| {
            post(&app, "PersistenceService/GetAssessment", Some(&a), &json!({"id": "424242"}))
        });
        let problem = reply.json();
        assert_eq!(
            (reply.status, problem["reason"].as_str(), problem["domain"].as_str()),
            (404, Some("NOT_FOUND"), Some("maturity.v1"))
        );
    }
}

/// The metric names in the queries of `docs/grafana-dashboard.json` (histogram series named by
/// their family).
fn dashboard_metrics() -> std::collections::BTreeSet<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/grafana-dashboard.json");
    let dashboard: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut exprs = Vec::new();
    fn walk(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => {
                if let Some(serde_json::Value::String(e)) = m.get("expr") {
                    out.push(e.clone());
                }
                m.values().for_each(|v| walk(v, out));
            }
            serde_json::Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    walk(&dashboard, &mut exprs);
    assert!(exprs.len() >= 8, "the dashboard has only {} queries", exprs.len());
    let mut names = std::collections::BTreeSet::new();
    for expr in exprs {
        let mut word = String::new();
        for c in expr.chars().chain(std::iter::once(' ')) {
            if c.is_ascii_alphanumeric() || c == '_' {
                word.push(c);
                continue;
            }
            let metric = ["grpc_server_", "http_server_", "maturity_"].iter().any(|p| word.starts_with(p));
            if metric && c != '=' && c != '"' {
                let family = ["_bucket", "_sum", "_count"].iter().find_map(|s| word.strip_suffix(s)).unwrap_or(&word);
                names.insert(family.to_string());
            }
            word.clear();
        }
    }
    names
}

async fn wait_for(what: &str, mut ok: impl AsyncFnMut() -> bool) {
    let end = std::time::Instant::now() + Duration::from_secs(20);
    while !ok().await {
        assert!(std::time::Instant::now() < end, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_follows_the_database_and_liveness_does_not() {
    // Only PostgreSQL can be taken away from under a running server (SQLite is a file it holds).
    let app = spawn_app_on(Backend::Postgres).await;
    let name = app.db_url.rsplit('/').next().unwrap().split('?').next().unwrap().to_string();
    let pg = Database::connect(migrations::test_db::postgres_server()).await.unwrap();
    let mut health = HealthClient::new(app.channel.clone());
    let status = |service: &str| {
        let mut h = health.clone();
        let service = service.to_string();
        async move { h.check(HealthCheckRequest { service }).await.unwrap().into_inner().status }
    };
    assert_eq!(status("").await, 1);

    pg.execute_unprepared(&format!("DROP DATABASE \"{name}\" WITH (FORCE)")).await.unwrap();
    wait_for("NOT_SERVING", async || status("").await == 2).await;
    assert_eq!(status("maturity.v1.PersistenceService").await, 2);
    assert_eq!(status("liveness").await, 1, "the process is alive");
    let reply = tokio::task::block_in_place(|| admin(&app, "/readyz"));
    assert_eq!(reply.status, 503);
    let reply = tokio::task::block_in_place(|| admin(&app, "/livez"));
    assert_eq!(reply.status, 200);

    // The database is back: ready again, without a restart.
    pg.execute_unprepared(&format!("CREATE DATABASE \"{name}\"")).await.unwrap();
    wait_for("SERVING", async || status("").await == 1).await;
    let reply = tokio::task::block_in_place(|| admin(&app, "/readyz"));
    assert_eq!(reply.status, 200);
    health.check(HealthCheckRequest { service: String::new() }).await.unwrap();
}

/// Tenants and API keys over the operators' port, with the operator token, on both backends:
/// without the token or with another every call is refused; a tenant is created (twice is a
/// conflict, a bad id a clear refusal), a key issued is shown once and works on the public API,
/// listings show prefixes only, a revoked key stops working within seconds, an unknown prefix is
/// not found. Without a configured token the routes are not there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_manage_tenants_and_keys_on_the_operators_port_with_their_token() {
    use crate::http::exchange;
    use test_support::{Options, TestApp};
    let token = "op-3f9c1e7a5b2d48c6a0e4f1b7d9c2a8e5";
    for backend in BACKENDS {
        let app = TestApp::start(Options { operator_token: Some(token.to_string()), ..Options::new(backend) }).await;
        let bearer = format!("Bearer {token}");
        let call = |method: &str, path: &str, auth: Option<&str>, body: &str| {
            let headers: Vec<(&str, &str)> = auth.map(|a| ("Authorization", a)).into_iter().collect();
            tokio::task::block_in_place(|| exchange(app.admin_addr, method, path, &headers, body.as_bytes()))
        };
        let json = |r: &crate::http::Reply| serde_json::from_slice::<serde_json::Value>(&r.body).unwrap();

        for auth in [None, Some("Bearer op-not-the-token-at-all-0000000000"), Some(token)] {
            let refused = call("GET", "/admin/v1/tenants", auth, "");
            assert_eq!(refused.status, 401, "{backend:?}: {auth:?}");
            assert_eq!(refused.content_type, "application/problem+json");
        }
        let created = call("POST", "/admin/v1/tenants", Some(&bearer), r#"{"id": "acme", "name": "Acme Advies"}"#);
        assert_eq!(created.status, 201, "{backend:?}: {}", String::from_utf8_lossy(&created.body));
        let again = call("POST", "/admin/v1/tenants", Some(&bearer), r#"{"id": "acme", "name": "Acme"}"#);
        assert_eq!((again.status, json(&again)["reason"].as_str()), (409, Some("TENANT_EXISTS")), "{backend:?}");
        let bad = call("POST", "/admin/v1/tenants", Some(&bearer), r#"{"id": "acme/../x", "name": "X"}"#);
        assert_eq!((bad.status, json(&bad)["reason"].as_str()), (400, Some("INVALID_TENANT_ID")), "{backend:?}");
        let unknown = call("POST", "/admin/v1/tenants", Some(&bearer), r#"{"id": "x", "name": "X", "plan": "gold"}"#);
        assert_eq!((unknown.status, json(&unknown)["reason"].as_str()), (400, Some("UNKNOWN_FIELD")), "{backend:?}");
        let listed = json(&call("GET", "/admin/v1/tenants", Some(&bearer), ""));
        assert_eq!(listed["tenants"][0]["id"], "acme", "{backend:?}: {listed}");
        // The CLI's view is the same database.
        assert_eq!(store::tenants::tenants(&app.db).await.unwrap().len(), 1);

        let issued = call("POST", "/admin/v1/tenants/acme/keys", Some(&bearer), r#"{"label": "CRM production"}"#);
        assert_eq!(issued.status, 201, "{backend:?}: {}", String::from_utf8_lossy(&issued.body));
        let issued = json(&issued);
        let (key, prefix) =
            (issued["key"].as_str().unwrap().to_string(), issued["prefix"].as_str().unwrap().to_string());
        assert!(key.starts_with(&format!("{prefix}.")), "{issued}");
        let no_tenant = call("POST", "/admin/v1/tenants/globex/keys", Some(&bearer), "{}");
        assert_eq!(no_tenant.status, 404, "{backend:?}");
        let keys = call("GET", "/admin/v1/keys?tenant=acme", Some(&bearer), "");
        let text = String::from_utf8_lossy(&keys.body).to_string();
        assert!(text.contains(&prefix) && !text.contains(&key) && text.contains("CRM production"), "{text}");

        // The key works on the public API, until it is revoked.
        let list = json!({"pageSize": 1});
        let works = || {
            tokio::task::block_in_place(|| post(&app, "PersistenceService/ListAssessments", Some(&key), &list)).status
        };
        assert_eq!(works(), 200, "{backend:?}");
        let revoked = call("DELETE", &format!("/admin/v1/keys/{prefix}"), Some(&bearer), "");
        assert_eq!(revoked.status, 200, "{backend:?}");
        let end = std::time::Instant::now() + Duration::from_secs(10);
        while works() != 401 {
            assert!(std::time::Instant::now() < end, "{backend:?}: the revoked key still works");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let missing = call("DELETE", "/admin/v1/keys/mk_nosuchkey0", Some(&bearer), "");
        assert_eq!(missing.status, 404, "{backend:?}");
    }
    // Without an operator token the routes are not there at all.
    let app = spawn_app_on(Backend::Sqlite).await;
    let reply = tokio::task::block_in_place(|| crate::http::admin(&app, "/admin/v1/tenants"));
    assert_eq!(reply.status, 404);
}
