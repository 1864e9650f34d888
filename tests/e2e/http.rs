//! JSON over HTTP as a CRM sees it, on both backends: the OpenAPI document validates and every
//! operation it documents answers as documented (a contract test over the running server),
//! problem documents carry the same violations as gRPC, Idempotency-Key, body limits, the PDF
//! download, and tenant isolation.

use std::collections::BTreeSet;
use std::io::{Read, Write};

use migrations::test_db::BACKENDS;
use serde_json::{Value, json};
use store::tenants;
use store::time::now_us;

use test_support::{TestApp, spawn_app_on};

/// A response: status, content type, body.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) content_type: String,
    pub(crate) headers: String,
    pub(crate) body: Vec<u8>,
}

impl Reply {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }
}

/// One HTTP/1.1 exchange with the JSON port, by hand (no client library: what is on the wire is
/// what is tested).
pub(crate) fn request(app: &TestApp, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
    exchange(app.http_addr, method, path, headers, body)
}

/// A GET of `path` on the operators' port.
pub(crate) fn admin(app: &TestApp, path: &str) -> Reply {
    exchange(app.admin_addr, "GET", path, &[], b"")
}

pub(crate) fn exchange(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    let mut head =
        format!("{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    if !body.is_empty() && !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("content-type")) {
        head.push_str("Content-Type: application/json\r\n");
    }
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    let _ = stream.write_all(body);
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut body = raw[split + 4..].to_vec();
    let status: u16 = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let header = |name: &str| {
        head.lines()
            .find(|l| l.to_ascii_lowercase().starts_with(&format!("{name}:")))
            .map(|l| l.split_once(':').unwrap().1.trim().to_string())
    };
    if header("transfer-encoding").is_some_and(|t| t.contains("chunked")) {
        body = dechunk(&body);
    }
    Reply { status, content_type: header("content-type").unwrap_or_default(), headers: head, body }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n").unwrap();
        let size = usize::from_str_radix(String::from_utf8_lossy(&data[..line_end]).trim(), 16).unwrap();
        data = &data[line_end + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

/// The value of header `name` in a reply.
pub(crate) fn header_value(reply: &Reply, name: &str) -> Option<String> {
    reply
        .headers
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with(&format!("{name}:")))
        .map(|l| l.split_once(':').unwrap().1.trim().to_string())
}

/// One request of the contract test: the operation, its path variables, query string, body and
/// expected status.
struct Call {
    op: &'static str,
    vars: Vec<(&'static str, String)>,
    query: String,
    body: Option<Value>,
    status: u16,
}

pub(crate) fn post(app: &TestApp, op: &str, key: Option<&str>, body: &Value) -> Reply {
    let auth = key.map(|k| format!("Bearer {k}"));
    let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", a.as_str())).collect();
    request(app, "POST", &format!("/v1/{op}"), &headers, body.to_string().as_bytes())
}

/// Checks `value` against `schema` (the subset of JSON Schema the generated document uses).
pub(crate) fn check(doc: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.trim_start_matches("#/components/schemas/");
        let target = doc["components"]["schemas"].get(name).ok_or(format!("{at}: dangling $ref {r}"))?;
        return check(doc, target, value, at);
    }
    for part in schema.get("allOf").and_then(Value::as_array).into_iter().flatten() {
        check(doc, part, value, at)?;
    }
    if let Some(choices) = schema.get("oneOf").and_then(Value::as_array) {
        let matching = choices.iter().filter(|c| check(doc, c, value, at).is_ok()).count();
        if matching != 1 {
            return Err(format!("{at}: {value} matches {matching} of the oneOf choices, not exactly one"));
        }
    }
    if let Some(t) = schema.get("type") {
        let types: Vec<&str> = match t {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let ok = types.iter().any(|t| match *t {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            _ => false,
        });
        if !ok {
            return Err(format!("{at}: {value} is not of type {t}"));
        }
    }
    if let Some(c) = schema.get("const")
        && c != value
    {
        return Err(format!("{at}: {value} is not {c}"));
    }
    if let (Some(e), Some(v)) = (schema.get("enum").and_then(Value::as_array), value.as_str())
        && !e.iter().any(|x| x.as_str() == Some(v))
    {
        return Err(format!("{at}: `{v}` is not one of {e:?}"));
    }
    if let Some(obj) = value.as_object() {
        let props = schema.get("properties").and_then(Value::as_object);
        for req in schema.get("required").and_then(Value::as_array).into_iter().flatten() {
            let name = req.as_str().unwrap_or("");
            if !obj.contains_key(name) {
                return Err(format!("{at}: required `{name}` missing"));
            }
        }
        for (k, v) in obj {
            match props.and_then(|p| p.get(k)) {
                Some(s) => check(doc, s, v, &format!("{at}.{k}"))?,
                // The document's objects are open (for clients), but what we serve must be documented.
                None => match schema.get("additionalProperties").filter(|s| s.is_object()) {
                    Some(s) => check(doc, s, v, &format!("{at}.{k}"))?,
                    None if props.is_some() => return Err(format!("{at}: undocumented property `{k}`")),
                    None => {}
                },
            }
        }
    }
    if let (Some(items), Some(arr)) = (schema.get("items"), value.as_array()) {
        for (i, v) in arr.iter().enumerate() {
            check(doc, items, v, &format!("{at}[{i}]"))?;
        }
    }
    Ok(())
}

/// A complete assessment in JSON: every item answered at its scale's middle point.
pub(crate) fn assessment(doc_model: &Value) -> Value {
    let answers: Vec<Value> = doc_model["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            let scale = &item["scale"];
            let points = scale["points"].as_array().unwrap();
            let p = &points[points.len() / 2];
            match scale["kind"].as_str().unwrap() {
                "SCALE_KIND_LIKERT" => {
                    json!({"itemId": item["id"], "likert": p["value"].as_str().unwrap().parse::<u32>().unwrap()})
                }
                "SCALE_KIND_YES_NO" => json!({"itemId": item["id"], "yes": p["value"] == "yes"}),
                _ => json!({"itemId": item["id"], "choice": p["value"]}),
            }
        })
        .collect();
    json!({"firm": {"sbiSection": "F", "sizeClass": "small", "province": "NL-GE"}, "answers": answers, "locale": "nl"})
}

pub(crate) async fn keys(app: &TestApp) -> (String, String) {
    let now = now_us();
    tenants::create_tenant(&app.db, "acme", "Acme", now).await.unwrap();
    tenants::create_tenant(&app.db, "globex", "Globex", now).await.unwrap();
    (
        tenants::issue_key(&app.db, "acme", "crm", now).await.unwrap(),
        tenants::issue_key(&app.db, "globex", "crm", now).await.unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_matches_what_is_served() {
    for backend in BACKENDS {
        let app = spawn_app_on(backend).await;
        let (a, _) = keys(&app).await;
        // Published peers, so that the benchmark operations have something to answer.
        let model = domain_model::ModelRegistry::builtin().unwrap().resolve("", 0).unwrap();
        services_persistence::seed::seed_demo(&app.persistence, &model, 2000, 7).await.unwrap();
        let doc = tokio::task::block_in_place(|| request(&app, "GET", "/openapi.json", &[], b"")).json();
        assert_eq!(doc["openapi"], "3.1.0");
        assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
        // Every $ref resolves.
        let text = doc.to_string();
        for r in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
            let name = r.split('"').next().unwrap();
            assert!(doc["components"]["schemas"].get(name).is_some(), "dangling $ref {name}");
        }
        let model = tokio::task::block_in_place(|| post(&app, "ScoringService/GetModel", None, &json!({}))).json();
        let submit = json!({"requestId": "c-1", "externalRef": "crm-1", "firmName": "Contract B.V.", "assessment": assessment(&model)});
        let submitted =
            tokio::task::block_in_place(|| post(&app, "PersistenceService/SubmitAssessment", Some(&a), &submit));
        assert_eq!(submitted.status, 200, "{}", String::from_utf8_lossy(&submitted.body));
        let id = submitted.json()["assessment"]["id"].as_str().unwrap().to_string();
        // Two endpoints (one to delete) and the submission's event, for the webhook operations.
        let recv = test_support::webhook_receiver::Receiver::start();
        let endpoint = |description: &str| {
            let body = json!({"url": recv.url("/h"), "description": description});
            let reply =
                tokio::task::block_in_place(|| post(&app, "WebhookService/CreateWebhookEndpoint", Some(&a), &body));
            assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
            reply.json()["endpoint"]["id"].as_str().unwrap().to_string()
        };
        let (ep, doomed, doomed_too) = (endpoint("kept"), endpoint("deleted"), endpoint("deleted too"));
        let events =
            tokio::task::block_in_place(|| post(&app, "WebhookService/ListWebhookEvents", Some(&a), &json!({})));
        let event = events.json()["events"][0]["id"].as_str().unwrap().to_string();
        let model_id = model["model"]["id"].as_str().unwrap().to_string();
        // An invitation, for the invitation operations.
        let invite = json!({"externalRef": "crm-inv", "firmName": "Uitnodiging B.V.", "firm": {"sbiSection": "F", "sizeClass": "small", "province": "NL-GE"}});
        let invited =
            tokio::task::block_in_place(|| post(&app, "InvitationService/CreateInvitation", Some(&a), &invite));
        assert_eq!(invited.status, 200, "{}", String::from_utf8_lossy(&invited.body));
        let inv = invited.json()["invitation"]["id"].as_str().unwrap().to_string();
        // One request per documented operation (a new operation without one here fails the test):
        // its path variables, query string, body and expected status.
        let call =
            |op: &'static str, vars: &[(&'static str, &str)], query: &str, body: Option<Value>, status: u16| Call {
                op,
                vars: vars.iter().map(|(k, v)| (*k, v.to_string())).collect(),
                query: query.to_string(),
                body,
                status,
            };
        let rpc = |op: &'static str, body: Value, status: u16| call(op, &[], "", Some(body), status);
        let firm = "firm.sbiSection=F&firm.sizeClass=small&firm.province=NL-GE";
        let what_if = json!({"assessment": assessment(&model), "changes": [{"itemId": "e2.house_style", "yes": true}]});
        let what_if_rpc = what_if.clone();
        let calls: Vec<Call> = vec![
            // The resource routes of the google.api.http annotations.
            call("listModels", &[], "locale=en", None, 200),
            call("getModel", &[("model_id", &model_id)], "locale=en&model.version=0", None, 200),
            call("scoreAssessment", &[], "", Some(assessment(&model)), 200),
            call("whatIf", &[], "", Some(what_if), 200),
            call("submitAssessment", &[], "", Some(submit.clone()), 200),
            call("getAssessment", &[("id", &id)], "locale=en", None, 200),
            call("listAssessments", &[], "pageSize=1&reportStatus=pending", None, 200),
            call("deleteAssessment", &[("id", "999999")], "", None, 404),
            call("queryBenchmark", &[], "group.sbiSection=F&locale=en", None, 200),
            call(
                "getPeerPosition",
                &[],
                &format!("{firm}&maturityIndex=40&externalIndex=40&internalIndex=40"),
                None,
                200,
            ),
            call("listPeerGroups", &[], "", None, 200),
            call("trend", &[], "group.sizeClass=small", None, 200),
            call("exportReleases", &[], "format=parquet", None, 200),
            call("renderChapter", &[("assessment_id", &id)], "format=pdf&locale=nl", None, 200),
            call("renderSectorVolume", &[("sbi_section", "F")], "locale=en&sizeClass=small", None, 200),
            call("echo", &[], "", Some(json!({"payload": "aGFsbG8="})), 200),
            call(
                "createWebhookEndpoint",
                &[],
                "",
                Some(json!({"url": recv.url("/h"), "eventTypes": ["chapter.ready"]})),
                200,
            ),
            call("listWebhookEndpoints", &[], "pageSize=1", None, 200),
            call("getWebhookEndpoint", &[("id", &ep)], "", None, 200),
            call(
                "updateWebhookEndpoint",
                &[("endpoint_id", &ep)],
                "updateMask=eventTypes",
                Some(json!({"eventTypes": ["chapter.ready", "batch.finished"]})),
                200,
            ),
            call("deleteWebhookEndpoint", &[("id", &doomed_too)], "", None, 200),
            call("rotateWebhookSecret", &[("id", &ep)], "", Some(json!({"previousValidSeconds": 60})), 200),
            call("listWebhookEvents", &[], "type=assessment.scored", None, 200),
            call("listWebhookDeliveries", &[], &format!("eventId={event}"), None, 200),
            call("replayWebhookEvent", &[("event_id", &event)], "", Some(json!({"endpointId": ep})), 200),
            call("createInvitation", &[], "", Some(invite.clone()), 200),
            call("getInvitation", &[("id", &inv)], "", None, 200),
            call("listInvitations", &[], "pageSize=1&externalRef=crm-inv", None, 200),
            call("revokeInvitation", &[("id", &inv)], "", Some(json!({})), 200),
            // The compatibility routes, POST /v1/{Service}/{Method}.
            rpc("ScoringService_ListModels", json!({}), 200),
            rpc("ScoringService_GetModel", json!({"locale": "en"}), 200),
            rpc("ScoringService_ScoreAssessment", assessment(&model), 200),
            rpc("ScoringService_WhatIf", what_if_rpc, 200),
            rpc("PersistenceService_SubmitAssessment", submit.clone(), 200),
            rpc("PersistenceService_GetAssessment", json!({"id": id, "locale": "en"}), 200),
            rpc("PersistenceService_ListAssessments", json!({"pageSize": 1}), 200),
            rpc("PersistenceService_DeleteAssessment", json!({"id": "999999"}), 404),
            rpc("BenchmarkService_QueryBenchmark", json!({"group": {"sbiSection": "F"}, "locale": "en"}), 200),
            rpc(
                "BenchmarkService_GetPeerPosition",
                json!({"firm": {"sbiSection": "F", "sizeClass": "small", "province": "NL-GE"}, "maturityIndex": 40.0, "externalIndex": 40.0, "internalIndex": 40.0}),
                200,
            ),
            rpc("BenchmarkService_ListPeerGroups", json!({}), 200),
            rpc("BenchmarkService_Trend", json!({"group": {}}), 200),
            rpc("BenchmarkService_ExportReleases", json!({"format": "EXPORT_FORMAT_CSV"}), 200),
            rpc("ReportService_RenderChapter", json!({"assessmentId": id}), 200),
            rpc("ReportService_RenderSectorVolume", json!({"sbiSection": "G"}), 200),
            rpc("DiagnosticsService_Echo", json!({"payload": "aGFsbG8="}), 200),
            rpc("InvitationService_CreateInvitation", invite.clone(), 200),
            rpc("InvitationService_GetInvitation", json!({"id": inv}), 200),
            rpc("InvitationService_ListInvitations", json!({"pageSize": 1}), 200),
            rpc("InvitationService_RevokeInvitation", json!({"id": inv}), 200),
            rpc(
                "WebhookService_CreateWebhookEndpoint",
                json!({"url": recv.url("/h"), "eventTypes": ["chapter.ready"]}),
                200,
            ),
            rpc("WebhookService_DeleteWebhookEndpoint", json!({"id": doomed}), 200),
            rpc("WebhookService_GetWebhookEndpoint", json!({"id": ep}), 200),
            rpc("WebhookService_ListWebhookDeliveries", json!({"eventId": event}), 200),
            rpc("WebhookService_ListWebhookEndpoints", json!({"pageSize": 1}), 200),
            rpc("WebhookService_ListWebhookEvents", json!({"type": "assessment.scored"}), 200),
            rpc("WebhookService_ReplayWebhookEvent", json!({"eventId": event, "endpointId": ep}), 200),
            rpc("WebhookService_RotateWebhookSecret", json!({"id": ep}), 200),
            rpc(
                "WebhookService_UpdateWebhookEndpoint",
                json!({"endpoint": {"id": ep, "eventTypes": ["chapter.ready", "batch.finished"]}, "updateMask": "eventTypes"}),
                200,
            ),
        ];
        let mut covered = BTreeSet::new();
        let mut examples = 0;
        for (template, item) in doc["paths"].as_object().unwrap() {
            for (verb, op) in item.as_object().unwrap() {
                let id_ = op["operationId"].as_str().unwrap();
                let c = calls.iter().find(|c| c.op == id_).unwrap_or_else(|| panic!("no request for {id_}"));
                covered.insert(id_.to_string());
                // What the call uses is what the document says the operation takes.
                let documented: BTreeSet<(String, String)> = op["parameters"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| (p["in"].as_str().unwrap().to_string(), p["name"].as_str().unwrap().to_string()))
                    .collect();
                let mut path = template.clone();
                for (name, value) in &c.vars {
                    assert!(
                        documented.contains(&("path".into(), name.to_string())),
                        "{id_}: path `{name}` undocumented"
                    );
                    path = path.replace(&format!("{{{name}}}"), value);
                }
                assert!(!path.contains('{'), "{id_}: {path} has an unfilled variable");
                for (name, _) in c.query.split('&').filter(|q| !q.is_empty()).filter_map(|q| q.split_once('=')) {
                    assert!(
                        documented.contains(&("query".into(), name.to_string())),
                        "{id_}: query `{name}` undocumented"
                    );
                }
                assert_eq!(
                    c.body.is_some(),
                    op.get("requestBody").is_some(),
                    "{id_}: a body where none is documented, or none where one is"
                );
                // A documented example is what the schema describes.
                let media = &op["requestBody"]["content"]["application/json"];
                if let Some(example) = media.get("example") {
                    check(&doc, &media["schema"], example, &format!("{id_} example")).unwrap();
                    examples += 1;
                }
                if !c.query.is_empty() {
                    path = format!("{path}?{}", c.query);
                }
                let auth = format!("Bearer {a}");
                let reply = tokio::task::block_in_place(|| {
                    let headers = [("Authorization", auth.as_str())];
                    let raw = c.body.as_ref().map(|b| b.to_string().into_bytes()).unwrap_or_default();
                    request(&app, &verb.to_uppercase(), &path, &headers, &raw)
                });
                assert_eq!(reply.status, c.status, "{backend:?} {id_}: {}", String::from_utf8_lossy(&reply.body));
                let status_key = if reply.status == 200 { "200" } else { "default" };
                let content = &op["responses"][status_key]["content"];
                let media = reply.content_type.split(';').next().unwrap().trim();
                let documented = content.get(media).unwrap_or_else(|| panic!("{id_}: {media} not documented"));
                if media.ends_with("json") {
                    check(&doc, &documented["schema"], &reply.json(), id_).unwrap();
                } else {
                    let whole = match media {
                        "application/pdf" => reply.body.starts_with(b"%PDF-"),
                        "text/csv" => reply.body.starts_with(b"model_id,model_version,year,k,"),
                        "application/vnd.apache.parquet" => {
                            reply.body.starts_with(b"PAR1") && reply.body.ends_with(b"PAR1")
                        }
                        _ => false,
                    };
                    assert!(whole, "{id_}: not a whole {media} document");
                }
                // A documented ETag comes, and sent back it answers 304 without a body.
                if reply.status == 200 && op["responses"]["304"].is_object() {
                    let etag = header_value(&reply, "etag").unwrap_or_else(|| panic!("{id_}: no ETag"));
                    let again = tokio::task::block_in_place(|| {
                        let headers = [("Authorization", auth.as_str()), ("If-None-Match", etag.as_str())];
                        request(&app, "GET", &path, &headers, b"")
                    });
                    assert_eq!((again.status, again.body.len()), (304, 0), "{backend:?} {id_}");
                }
            }
        }
        assert_eq!(covered.len(), calls.len(), "{backend:?}: documented {covered:?}");
        assert_eq!(examples, 8, "{backend:?}: every resource route with a body shows an example");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_keys_idempotency_limits_and_isolation_over_http() {
    for backend in BACKENDS {
        let app = spawn_app_on(backend).await;
        let (a, b) = keys(&app).await;
        let model = tokio::task::block_in_place(|| post(&app, "ScoringService/GetModel", None, &json!({}))).json();

        // The same field violations and reasons as gRPC, as a problem document.
        let mut bad = assessment(&model);
        bad["firm"]["sbiSection"] = json!("Z");
        bad["answers"][0]["likert"] = json!(9);
        let reply = tokio::task::block_in_place(|| post(&app, "ScoringService/ScoreAssessment", None, &bad));
        assert_eq!((reply.status, reply.content_type.as_str()), (400, "application/problem+json"));
        let problem = reply.json();
        assert_eq!(problem["code"], "INVALID_ARGUMENT");
        assert_eq!(
            (problem["reason"].as_str(), problem["domain"].as_str()),
            (Some("INVALID_REQUEST"), Some("maturity.v1"))
        );
        let reasons: BTreeSet<&str> =
            problem["violations"].as_array().unwrap().iter().map(|v| v["reason"].as_str().unwrap()).collect();
        assert!(reasons.contains("UNKNOWN_SBI_SECTION") && reasons.contains("ANSWER_OFF_SCALE"), "{problem}");
        let reply = tokio::task::block_in_place(|| {
            request(&app, "POST", "/v1/ScoringService/ScoreAssessment", &[], b"{\"answers\": [")
        });
        assert_eq!(reply.status, 400);
        assert_eq!(reply.json()["violations"][0]["reason"], "MALFORMED_JSON");
        assert_eq!(reply.json()["reason"], "INVALID_REQUEST");
        let reply = tokio::task::block_in_place(|| post(&app, "NoSuchService/Nothing", None, &json!({})));
        assert_eq!((reply.status, reply.content_type.as_str()), (404, "application/problem+json"));
        let big = vec![b' '; 2 * 1024 * 1024];
        let reply = tokio::task::block_in_place(|| request(&app, "POST", "/v1/ScoringService/ListModels", &[], &big));
        assert_eq!(reply.status, 413, "{backend:?}: a 2 MiB body must be refused");
        let reply = tokio::task::block_in_place(|| request(&app, "POST", "/v1/assessments", &[], &big));
        assert_eq!(reply.status, 413, "{backend:?}: a 2 MiB body must be refused on a resource route too");
        // A resource path with the wrong method is 405 and says which methods it takes.
        let reply = tokio::task::block_in_place(|| request(&app, "PUT", "/v1/assessments", &[], b"{}"));
        assert_eq!((reply.status, reply.content_type.as_str()), (405, "application/problem+json"));
        assert_eq!(header_value(&reply, "allow").as_deref(), Some("POST, GET, HEAD"), "{}", reply.headers);
        // A query parameter the route does not take is refused, naming it.
        let reply = tokio::task::block_in_place(|| request(&app, "GET", "/v1/models?colour=red", &[], b""));
        assert_eq!(reply.status, 400);
        assert_eq!(reply.json()["violations"][0]["field"], "colour");
        assert_eq!(reply.json()["violations"][0]["reason"], "UNKNOWN_PARAMETER");
        let reply = tokio::task::block_in_place(|| request(&app, "GET", "/v1/nothing/here", &[], b""));
        assert_eq!((reply.status, reply.content_type.as_str()), (404, "application/problem+json"));

        // Keys: none or a wrong one is 401; the tenant header alone does not work.
        let list = json!({});
        let reply = tokio::task::block_in_place(|| post(&app, "PersistenceService/ListAssessments", None, &list));
        assert_eq!((reply.status, reply.json()["code"].as_str()), (401, Some("UNAUTHENTICATED")));
        assert_eq!(
            (reply.json()["reason"].as_str(), reply.json()["domain"].as_str()),
            (Some("UNAUTHENTICATED"), Some("maturity.v1"))
        );
        let reply = tokio::task::block_in_place(|| {
            request(&app, "POST", "/v1/PersistenceService/ListAssessments", &[("x-tenant-id", "acme")], b"{}")
        });
        assert_eq!(reply.status, 401);

        // Idempotency-Key: the same key and body give the same answer and one assessment.
        let submit = json!({"externalRef": "crm-9", "firmName": "Idem B.V.", "assessment": assessment(&model)});
        let send = |key: &str, body: &Value| {
            let auth = format!("Bearer {b}");
            let headers = [("Authorization", auth.as_str()), ("Idempotency-Key", key)];
            request(&app, "POST", "/v1/PersistenceService/SubmitAssessment", &headers, body.to_string().as_bytes())
        };
        let first = tokio::task::block_in_place(|| send("idem-1", &submit));
        let again = tokio::task::block_in_place(|| send("idem-1", &submit));
        assert_eq!(first.status, 200, "{}", String::from_utf8_lossy(&first.body));
        assert_eq!(first.json(), again.json());
        let mut other = submit.clone();
        other["requestId"] = json!("something-else");
        let reply = tokio::task::block_in_place(|| send("idem-1", &other));
        assert_eq!(reply.status, 400);
        assert_eq!(reply.json()["violations"][0]["reason"], "IDEMPOTENCY_KEY_MISMATCH");
        let listed =
            tokio::task::block_in_place(|| post(&app, "PersistenceService/ListAssessments", Some(&b), &list)).json();
        assert_eq!(listed["assessments"].as_array().unwrap().len(), 1, "{backend:?}: stored twice");
        let id = first.json()["assessment"]["id"].as_str().unwrap().to_string();

        // Isolation: A's every read and write of B's assessment answers like a missing one.
        let missing = "987654";
        for (op, body) in [
            ("PersistenceService/GetAssessment", json!({"id": id})),
            ("PersistenceService/DeleteAssessment", json!({"id": id})),
            ("ReportService/RenderChapter", json!({"assessmentId": id})),
        ] {
            let theirs = tokio::task::block_in_place(|| post(&app, op, Some(&a), &body));
            let body_missing = serde_json::from_str::<Value>(&body.to_string().replace(&id, missing)).unwrap();
            let none = tokio::task::block_in_place(|| post(&app, op, Some(&a), &body_missing));
            assert_eq!(theirs.status, 404, "{backend:?} {op}");
            let strip = |r: &Reply, n: &str| {
                let mut problem = r.json();
                problem["detail"] = json!(problem["detail"].as_str().unwrap_or_default().replace(n, "N"));
                problem
            };
            assert_eq!(strip(&theirs, &id), strip(&none, missing), "{backend:?} {op}: the refusal differs");
        }
        let path = format!("/v1/assessments/{id}/chapter");
        let auth_a = format!("Bearer {a}");
        let reply =
            tokio::task::block_in_place(|| request(&app, "GET", &path, &[("Authorization", auth_a.as_str())], b""));
        assert_eq!(reply.status, 404);
        let listed =
            tokio::task::block_in_place(|| post(&app, "PersistenceService/ListAssessments", Some(&a), &list)).json();
        assert!(listed.get("assessments").is_none_or(|v| v.as_array().is_none_or(Vec::is_empty)), "{listed}");

        // Over its rate a tenant gets 429 with Retry-After (and RetryInfo over gRPC).
        app.persistence.authenticator().set_rate_limit(Some(services_auth::RateLimit { per_second: 1.0, burst: 1.0 }));
        let mut statuses = Vec::new();
        let mut retry_after = None;
        for _ in 0..3 {
            let reply =
                tokio::task::block_in_place(|| post(&app, "PersistenceService/ListAssessments", Some(&a), &list));
            if reply.status == 429 {
                retry_after = reply
                    .headers
                    .lines()
                    .find(|l| l.to_ascii_lowercase().starts_with("retry-after:"))
                    .map(|l| l.split_once(':').unwrap().1.trim().to_string());
                assert_eq!(reply.json()["code"], "RESOURCE_EXHAUSTED");
                assert_eq!(reply.json()["reason"], "RATE_LIMIT_EXCEEDED");
            }
            statuses.push(reply.status);
        }
        assert!(statuses.contains(&429), "{backend:?}: {statuses:?}");
        assert_eq!(retry_after.as_deref(), Some("1"), "{backend:?}");
        app.persistence.authenticator().set_rate_limit(None);

        // B downloads its chapter.
        let auth_b = format!("Bearer {b}");
        let reply = tokio::task::block_in_place(|| {
            request(&app, "GET", &format!("{path}?locale=en"), &[("Authorization", auth_b.as_str())], b"")
        });
        assert_eq!((reply.status, reply.content_type.as_str()), (200, "application/pdf"));
        assert!(reply.body.starts_with(b"%PDF-"));
        assert!(reply.headers.to_ascii_lowercase().contains(&format!("filename=\"chapter-{id}.en.pdf\"")));
    }
}

/// The API description a CRM team diffs between releases is committed (`docs/openapi.json`) and is
/// exactly what the server serves. After a deliberate change of the API, write the served one
/// over it with `MATURITY_WRITE_OPENAPI=1 cargo test -p e2e-tests --test e2e committed_openapi`
/// and review the diff.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_committed_openapi_document_is_the_one_served() {
    let app = test_support::spawn_app().await;
    let served = tokio::task::block_in_place(|| request(&app, "GET", "/openapi.json", &[], b""));
    assert_eq!(served.status, 200);
    let served: Value = serde_json::from_slice(&served.body).unwrap();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/openapi.json");
    let text = format!("{}\n", serde_json::to_string_pretty(&served).unwrap());
    if std::env::var_os("MATURITY_WRITE_OPENAPI").is_some() {
        std::fs::write(&path, &text).unwrap();
    }
    // Every field of every message is described.
    let mut fields = 0;
    let mut bare = Vec::new();
    for (name, schema) in served["components"]["schemas"].as_object().unwrap() {
        for (field, property) in schema["properties"].as_object().into_iter().flatten() {
            fields += 1;
            if property["description"].as_str().is_none_or(str::is_empty) {
                bare.push(format!("{name}.{field}"));
            }
        }
    }
    println!("{} of {fields} fields described", fields - bare.len());
    assert!(fields > 300 && bare.is_empty(), "{} of {fields} fields have no description: {bare:?}", bare.len());
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == text,
        "docs/openapi.json differs from the served document; if the API change is intended, run \
         MATURITY_WRITE_OPENAPI=1 cargo test -p e2e-tests --test e2e committed_openapi and commit the diff"
    );
}
