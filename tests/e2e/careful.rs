//! HTTP as careful APIs answer it, on both backends: a body that is not JSON is 415, HEAD works
//! wherever GET does, the auth scheme is case-insensitive, a missing required id is 400 (not
//! "0 not found"), length limits count characters, and a blank model id is refused rather than
//! read as the default.

use migrations::test_db::BACKENDS;
use serde_json::{Value, json};
use test_support::{TestApp, spawn_app_on};

use crate::http::{Reply, assessment, keys, post, request};

fn submission(model: &Value, tag: &str) -> Value {
    json!({"requestId": format!("careful-{tag}"), "externalRef": format!("crm-{tag}"),
        "firmName": format!("Zorgvuldig {tag} B.V."), "assessment": assessment(model)})
}

fn send(app: &TestApp, verb: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
    tokio::task::block_in_place(|| request(app, verb, path, headers, body))
}

fn listed(app: &TestApp, key: &str) -> usize {
    let reply = tokio::task::block_in_place(|| post(app, "PersistenceService/ListAssessments", Some(key), &json!({})));
    reply.json()["assessments"].as_array().map_or(0, Vec::len)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_is_not_json_or_is_encoded_is_refused_with_415() {
    for backend in BACKENDS {
        let app = spawn_app_on(backend).await;
        let (a, _) = keys(&app).await;
        let model = tokio::task::block_in_place(|| post(&app, "ScoringService/GetModel", None, &json!({}))).json();
        let auth = format!("Bearer {a}");
        let body = submission(&model, "x").to_string();
        for (name, value) in [
            ("Content-Type", "text/plain"),
            ("Content-Type", "application/xml"),
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Content-Type", "multipart/form-data; boundary=x"),
            ("Content-Encoding", "gzip"),
            ("Content-Encoding", "br"),
        ] {
            // A Content-Type given replaces the JSON one `request` sends with a body.
            let headers = [("Authorization", auth.as_str()), (name, value)];
            let reply = send(&app, "POST", "/v1/assessments", &headers, body.as_bytes());
            assert_eq!(reply.status, 415, "{backend:?} {name}: {value}: {}", String::from_utf8_lossy(&reply.body));
            assert!(reply.content_type.starts_with("application/problem+json"), "{}", reply.content_type);
        }
        // A second header does not slip past the first.
        for second in [("Content-Type", "text/plain"), ("Content-Encoding", "gzip")] {
            let headers = [("Authorization", auth.as_str()), ("Content-Type", "application/json"), second];
            let headers: Vec<(&str, &str)> = if second.0 == "Content-Encoding" {
                vec![headers[0], headers[1], ("Content-Encoding", "identity"), second]
            } else {
                headers.to_vec()
            };
            let reply = send(&app, "POST", "/v1/assessments", &headers, body.as_bytes());
            assert_eq!(
                reply.status,
                415,
                "{backend:?} a second {}: {}",
                second.0,
                String::from_utf8_lossy(&reply.body)
            );
        }
        assert_eq!(listed(&app, &a), 0, "{backend:?}: a refused body was stored");
        // JSON, also with a charset or as a +json type, is read.
        for (i, ct) in ["application/json; charset=utf-8", "application/vnd.maturity+json"].into_iter().enumerate() {
            let body = submission(&model, &format!("ok{i}")).to_string();
            let headers = [("Authorization", auth.as_str()), ("Content-Type", ct)];
            let reply = send(&app, "POST", "/v1/assessments", &headers, body.as_bytes());
            assert_eq!(reply.status, 200, "{backend:?} {ct}: {}", String::from_utf8_lossy(&reply.body));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_works_wherever_get_does() {
    for backend in BACKENDS {
        let app = spawn_app_on(backend).await;
        let (a, _) = keys(&app).await;
        let auth = format!("Bearer {a}");
        for path in ["/v1/models", "/v1/models/nl-social-business", "/v1/assessments"] {
            let get = send(&app, "GET", path, &[("Authorization", auth.as_str())], b"");
            let head = send(&app, "HEAD", path, &[("Authorization", auth.as_str())], b"");
            assert_eq!((get.status, head.status), (200, 200), "{backend:?} {path}: {}", head.headers);
            assert!(head.body.is_empty(), "{backend:?} {path}: HEAD sent a body");
            assert_eq!(head.content_type, get.content_type, "{path}");
        }
        // A path that takes POST only says so, and lists HEAD beside GET where GET is allowed.
        let wrong = send(&app, "PUT", "/v1/models", &[], b"");
        assert_eq!(wrong.status, 405);
        assert!(wrong.headers.to_ascii_lowercase().contains("allow: get, head"), "{}", wrong.headers);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_auth_scheme_is_case_insensitive() {
    for backend in BACKENDS {
        let app = spawn_app_on(backend).await;
        let (a, _) = keys(&app).await;
        for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
            let auth = format!("{scheme} {a}");
            let reply = send(&app, "GET", "/v1/assessments", &[("Authorization", auth.as_str())], b"");
            assert_eq!(reply.status, 200, "{backend:?} {scheme}: {}", String::from_utf8_lossy(&reply.body));
        }
        for wrong in [format!("Basic {a}"), format!("Bearer{a}"), a.clone()] {
            let reply = send(&app, "GET", "/v1/assessments", &[("Authorization", wrong.as_str())], b"");
            assert_eq!(reply.status, 401, "{backend:?} {wrong}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_required_id_is_400_not_404() {
    for backend in BACKENDS {
        let app = spawn_app_on(backend).await;
        let (a, _) = keys(&app).await;
        for (op, field) in [
            ("PersistenceService/GetAssessment", "id"),
            ("PersistenceService/DeleteAssessment", "id"),
            ("WebhookService/GetWebhookEndpoint", "id"),
            ("WebhookService/DeleteWebhookEndpoint", "id"),
            ("WebhookService/RotateWebhookSecret", "id"),
            ("WebhookService/ReplayWebhookEvent", "event_id"),
            ("WebhookService/UpdateWebhookEndpoint", "endpoint.id"),
        ] {
            let body = if op.ends_with("UpdateWebhookEndpoint") { json!({"updateMask": "enabled"}) } else { json!({}) };
            let reply = tokio::task::block_in_place(|| post(&app, op, Some(&a), &body));
            assert_eq!(reply.status, 400, "{backend:?} {op}: {}", String::from_utf8_lossy(&reply.body));
            let v = &reply.json()["violations"][0];
            assert_eq!((v["field"].as_str(), v["reason"].as_str()), (Some(field), Some("REQUIRED_FIELD")), "{op}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn length_limits_count_characters_and_a_blank_model_id_is_refused() {
    for backend in BACKENDS {
        let app = spawn_app_on(backend).await;
        let (a, _) = keys(&app).await;
        let model = tokio::task::block_in_place(|| post(&app, "ScoringService/GetModel", None, &json!({}))).json();
        // 200 characters of two bytes each: 400 bytes, within the limit of 200 characters.
        let mut body = submission(&model, "len");
        body["externalRef"] = json!("é".repeat(200));
        let reply = tokio::task::block_in_place(|| post(&app, "PersistenceService/SubmitAssessment", Some(&a), &body));
        assert_eq!(reply.status, 200, "{backend:?}: {}", String::from_utf8_lossy(&reply.body));
        body["externalRef"] = json!("é".repeat(201));
        body["requestId"] = json!("careful-len-2");
        let reply = tokio::task::block_in_place(|| post(&app, "PersistenceService/SubmitAssessment", Some(&a), &body));
        assert_eq!(reply.status, 400, "{backend:?}");
        assert_eq!(reply.json()["violations"][0]["field"], "external_ref");

        // A blank model id is not the default model.
        let blank = send(&app, "GET", "/v1/models/%20", &[], b"");
        assert_eq!(blank.status, 400, "{backend:?}: {}", String::from_utf8_lossy(&blank.body));
        assert_eq!(blank.json()["violations"][0]["reason"], "UNKNOWN_MODEL");
        let none = tokio::task::block_in_place(|| post(&app, "ScoringService/GetModel", None, &json!({})));
        assert_eq!(none.status, 200, "no model named is still the default");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_json_key_given_twice_is_refused() {
    for backend in BACKENDS {
        let app = spawn_app_on(backend).await;
        let (a, _) = keys(&app).await;
        let model = tokio::task::block_in_place(|| post(&app, "ScoringService/GetModel", None, &json!({}))).json();
        let body = submission(&model, "twice").to_string();
        // The same submission with its reference given twice (serde_json would keep the last).
        let twice = body.replacen("{", r#"{"externalRef": "crm-first", "#, 1);
        let auth = format!("Bearer {a}");
        for path in ["/v1/assessments", "/v1/PersistenceService/SubmitAssessment"] {
            let reply = send(&app, "POST", path, &[("Authorization", auth.as_str())], twice.as_bytes());
            assert_eq!(reply.status, 400, "{backend:?} {path}: {}", String::from_utf8_lossy(&reply.body));
            let v = &reply.json()["violations"][0];
            assert_eq!((v["field"].as_str(), v["reason"].as_str()), (Some("externalRef"), Some("DUPLICATE_JSON_KEY")));
        }
        assert_eq!(listed(&app, &a), 0, "{backend:?}: a refused body was stored");
    }
}
