//! HTTP as careful APIs answer it, on both backends: a body that is not JSON is 415, HEAD works
//! wherever GET does, the auth scheme is case-insensitive, a missing required id is 400 (not
//! "0 not found"), length limits count characters, a blank model id is refused rather than read
//! as the default, and an update mask takes proto and JSON field names.

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

/// An update mask names fields by their proto name (`event_types`, the name the API's own errors
/// use) or by their JSON name (`eventTypes`), in the query of the REST route and in the body of the
/// RPC route alike.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_mask_takes_the_proto_and_the_json_field_names() {
    for backend in BACKENDS {
        let app = spawn_app_on(backend).await;
        let (a, _) = keys(&app).await;
        let recv = test_support::webhook_receiver::Receiver::start();
        let auth = format!("Bearer {a}");
        let headers = [("Authorization", auth.as_str())];
        let created = json!({"url": recv.url("/h"), "eventTypes": ["chapter.ready"]}).to_string();
        let reply = send(&app, "POST", "/v1/webhookEndpoints", &headers, created.as_bytes());
        assert_eq!(reply.status, 200, "{backend:?}: {}", String::from_utf8_lossy(&reply.body));
        let ep = reply.json()["endpoint"]["id"].as_str().unwrap().to_string();
        for (mask, kind) in [
            ("event_types", "assessment.scored"),
            ("eventTypes", "batch.finished"),
            ("url,event_types", "chapter.ready"),
        ] {
            let body = json!({"eventTypes": [kind], "url": recv.url("/h")}).to_string();
            let path = format!("/v1/webhookEndpoints/{ep}?updateMask={mask}");
            let reply = send(&app, "PATCH", &path, &headers, body.as_bytes());
            assert_eq!(reply.status, 200, "{backend:?} {mask}: {}", String::from_utf8_lossy(&reply.body));
            assert_eq!(reply.json()["eventTypes"], json!([kind]), "{backend:?} {mask}");
        }
        for (mask, kind) in [("event_types", "batch.finished"), ("eventTypes", "assessment.scored")] {
            let body = json!({"endpoint": {"id": ep, "eventTypes": [kind]}, "updateMask": mask});
            let reply =
                tokio::task::block_in_place(|| post(&app, "WebhookService/UpdateWebhookEndpoint", Some(&a), &body));
            assert_eq!(reply.status, 200, "{backend:?} {mask}: {}", String::from_utf8_lossy(&reply.body));
            assert_eq!(reply.json()["eventTypes"], json!([kind]), "{backend:?} {mask}");
        }
        // A name that is neither is still refused, with the field.
        let path = format!("/v1/webhookEndpoints/{ep}?updateMask=colour");
        let reply = send(&app, "PATCH", &path, &headers, b"{}");
        assert_eq!(reply.status, 400, "{backend:?}: {}", String::from_utf8_lossy(&reply.body));
        assert!(String::from_utf8_lossy(&reply.body).contains("update_mask"), "{backend:?}");
    }
}

/// What a slow client gets on a server whose limits are 400 ms for a request's head and body and
/// 1.5 s for an idle connection: a request whose head stops arriving, a body that stops arriving (by
/// length or chunked) and a body shorter than its `Content-Length` are answered 408 with a problem
/// body and the connection closed; a connection that never begins a request is closed without an
/// answer after the idle limit; a request sent after an idle wait longer than the head's limit is
/// answered as usual; the server serves normally afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_headers_and_slow_or_short_bodies_get_408() {
    use std::io::{Read, Write};
    use std::time::{Duration, Instant};
    let (limit, idle) = (Duration::from_millis(400), Duration::from_millis(1500));
    for backend in BACKENDS {
        let settings = services_server::server::ServerSettings {
            http_header_timeout: limit,
            http_body_timeout: limit,
            http_idle_timeout: idle,
            ..services_server::server::ServerSettings::default()
        };
        let app = test_support::spawn_app_with(backend, settings).await;
        let (a, _) = keys(&app).await;
        let auth = format!("Authorization: Bearer {a}\r\n");
        let json = "Content-Type: application/json\r\n";
        // Sends `data` after `wait`, then reads until the server closes (at most 10 s); what came
        // back, and how long after the send.
        let exchange = |wait: Duration, data: &[u8]| {
            tokio::task::block_in_place(|| {
                let mut stream = std::net::TcpStream::connect(app.http_addr).unwrap();
                stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                std::thread::sleep(wait);
                stream.write_all(data).unwrap();
                let started = Instant::now();
                let mut raw = Vec::new();
                let read = stream.read_to_end(&mut raw).map(|_| ());
                (read, String::from_utf8_lossy(&raw).into_owned(), started.elapsed())
            })
        };
        let post_head = |path: &str, extra: &str| format!("POST {path} HTTP/1.1\r\nHost: t\r\n{auth}{extra}");
        let cases = [
            ("head stops", post_head("/v1/assessments", ""), ""),
            (
                "body stops",
                post_head("/v1/assessments", &format!("{json}Content-Length: 500\r\n\r\n")),
                "{\"requestId\": ",
            ),
            (
                "chunked body stops",
                post_head("/v1/assessments", &format!("{json}Transfer-Encoding: chunked\r\n\r\n")),
                "5\r\n{\"req\r\n",
            ),
            (
                "body short of its length",
                post_head("/v1/assessments:score", &format!("{json}Content-Length: 100\r\n\r\n")),
                "{}",
            ),
        ];
        for (what, head, body) in cases {
            let (read, raw, took) = exchange(Duration::ZERO, format!("{head}{body}").as_bytes());
            assert!(read.is_ok(), "{backend:?} {what}: the connection was not closed: {read:?}");
            assert!(raw.starts_with("HTTP/1.1 408"), "{backend:?} {what}: {raw}");
            let lower = raw.to_ascii_lowercase();
            assert!(lower.contains("content-type: application/problem+json"), "{backend:?} {what}: {raw}");
            assert!(lower.contains("connection: close") && raw.contains("\"status\":408"), "{backend:?} {what}: {raw}");
            assert!(took >= limit / 2 && took < Duration::from_secs(5), "{backend:?} {what}: answered after {took:?}");
        }
        // A connection that never begins a request is closed without an answer, after the idle
        // limit and not before.
        let (read, raw, took) = exchange(Duration::ZERO, b"");
        assert!(read.is_ok() && raw.is_empty(), "{backend:?}: an idle connection got {read:?} {raw}");
        assert!(
            took >= idle / 2 && took < Duration::from_secs(5),
            "{backend:?}: an idle connection closed after {took:?}"
        );
        // Idle for longer than a head may take, then a request sent at once: answered as usual.
        let request = "GET /v1/models HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
        let (_, raw, _) = exchange(limit * 2, request.as_bytes());
        assert!(raw.starts_with("HTTP/1.1 200"), "{backend:?}: a request after an idle wait: {raw}");
        let reply = tokio::task::block_in_place(|| post(&app, "ScoringService/ListModels", None, &json!({})));
        assert_eq!(reply.status, 200, "{backend:?}: the server does not serve after the 408s");
    }
}
