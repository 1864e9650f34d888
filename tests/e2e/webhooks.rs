//! Signed webhooks as a CRM receives them, on both backends: endpoints registered over HTTP and
//! gRPC, every delivery verified by a receiver written from the Standard Webhooks specification,
//! 429 with Retry-After honoured, failures retried with the same webhook-id, 410 disabling the
//! endpoint, secret rotation with two signatures, replay, bad input, and tenant isolation.

use std::collections::BTreeSet;
use std::time::Duration;

use migrations::test_db::BACKENDS;
use serde_json::{Value, json};
use services_api::v1 as pb;
use services_api::v1::webhook_service_client::WebhookServiceClient;
use services_maturity::demo::as_tenant;

use crate::http::{Reply, assessment, keys, post};
use test_support::webhook_receiver::{Receiver, Reply as Answer};
use test_support::{TestApp, spawn_app_on};

fn call(app: &TestApp, op: &str, key: &str, body: Value) -> Reply {
    tokio::task::block_in_place(|| post(app, &format!("WebhookService/{op}"), Some(key), &body))
}

fn submit(app: &TestApp, key: &str, model: &Value, n: u32) -> String {
    let body = json!({
        "requestId": format!("wh-{n}"),
        "externalRef": format!("crm-{n}"),
        "firmName": format!("Webhook {n} B.V."),
        "assessment": assessment(model),
    });
    let reply = tokio::task::block_in_place(|| post(app, "PersistenceService/SubmitAssessment", Some(key), &body));
    assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
    reply.json()["assessment"]["id"].as_str().unwrap().to_string()
}

fn wait(what: &str, ok: impl Fn() -> bool) {
    let end = std::time::Instant::now() + Duration::from_secs(30);
    while !ok() {
        assert!(std::time::Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_are_signed_retried_disabled_rotated_and_replayed() {
    for backend in BACKENDS {
        let app = spawn_app_on(backend).await;
        let (a, b) = keys(&app).await;
        let model = tokio::task::block_in_place(|| post(&app, "ScoringService/GetModel", None, &json!({}))).json();
        let recv = Receiver::start();

        // Bad input: every problem named, with stable reasons.
        let reply = call(
            &app,
            "CreateWebhookEndpoint",
            &a,
            json!({"url": "http://crm.example.nl/hook", "eventTypes": ["assessment.deleted"]}),
        );
        assert_eq!(reply.status, 400);
        let reasons: BTreeSet<String> = reply.json()["violations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["reason"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(reasons, BTreeSet::from(["INVALID_WEBHOOK_URL".into(), "UNKNOWN_EVENT_TYPE".into()]));

        // Registered over HTTP; the secret is shown once.
        let created = call(
            &app,
            "CreateWebhookEndpoint",
            &a,
            json!({"url": recv.url("/hooks/maturity"), "eventTypes": ["assessment.scored"], "description": "CRM"}),
        );
        assert_eq!(created.status, 200, "{}", String::from_utf8_lossy(&created.body));
        let created = created.json();
        let secret = created["secret"].as_str().unwrap().to_string();
        let ep = created["endpoint"]["id"].as_str().unwrap().to_string();
        assert!(secret.starts_with("whsec_") && ep.starts_with("ep_"), "{created}");
        let fetched = call(&app, "GetWebhookEndpoint", &a, json!({"id": ep})).json();
        assert!(fetched.get("secret").is_none() && !fetched.to_string().contains(&secret), "{fetched}");
        recv.set_secrets(&[&secret]);

        // 429 with Retry-After: 7 is honoured (the schedule alone would retry after 4-6 s).
        recv.script(&[Answer::RetryAfter(429, 7)]);
        let id1 = submit(&app, &a, &model, 1);
        assert!(recv.wait_accepted(1, Duration::from_secs(30)), "{backend:?}: {:?}", recv.received());
        let got = recv.received();
        assert_eq!(got.len(), 2, "{backend:?}");
        assert_eq!(got[0].id, got[1].id, "a retry keeps its webhook-id");
        assert_eq!(got[0].body, got[1].body);
        assert!(got[1].at - got[0].at >= Duration::from_secs(7), "{backend:?}: {:?}", got[1].at - got[0].at);
        assert!(got.iter().all(|r| r.verified_by == [0] && r.fresh && r.path == "/hooks/maturity"));
        let event = got[1].json();
        assert_eq!(event["type"], "assessment.scored");
        assert_eq!(event["data"]["assessmentId"], id1);
        assert_eq!(event["data"]["externalRef"], "crm-1");
        assert!(event["timestamp"].as_str().unwrap().ends_with('Z'));
        assert!(!String::from_utf8_lossy(&got[1].body).contains("Webhook 1 B.V."), "no firm name in events");
        // The delivery is what the OpenAPI document's `webhooks` section says, headers included.
        let doc = tokio::task::block_in_place(|| crate::http::request(&app, "GET", "/openapi.json", &[], b"")).json();
        let post = &doc["webhooks"]["assessment.scored"]["post"];
        crate::http::check(&doc, &post["requestBody"]["content"]["application/json"]["schema"], &event, "scored")
            .unwrap();
        let headers: Vec<&str> =
            post["parameters"].as_array().unwrap().iter().filter_map(|p| p["name"].as_str()).collect();
        assert_eq!(headers, ["webhook-id", "webhook-timestamp", "webhook-signature"]);

        // The event and its delivery, as the API lists them.
        let events = call(&app, "ListWebhookEvents", &a, json!({"type": "assessment.scored"})).json();
        let listed = &events["events"][0];
        assert_eq!(listed["id"], got[0].id.as_str());
        assert_eq!(listed["payload"].as_str().unwrap().as_bytes(), got[0].body.as_slice());
        // The receiver has its 200 a moment before the dispatcher records it.
        let listed_deliveries = || call(&app, "ListWebhookDeliveries", &a, json!({"eventId": got[0].id})).json();
        wait("the delivery to be recorded", || {
            listed_deliveries()["deliveries"][0]["state"] != "WEBHOOK_DELIVERY_STATE_PENDING"
        });
        let deliveries = listed_deliveries();
        let d = &deliveries["deliveries"][0];
        assert_eq!(d["state"], "WEBHOOK_DELIVERY_STATE_DELIVERED", "{deliveries}");
        let codes: Vec<i64> =
            d["attempts"].as_array().unwrap().iter().map(|t| t["statusCode"].as_i64().unwrap()).collect();
        assert_eq!(codes, [429, 200]);

        // A 500 is retried after the schedule's first wait (5 s, ±20 %).
        recv.script(&[Answer::Status(500)]);
        submit(&app, &a, &model, 2);
        assert!(recv.wait_accepted(2, Duration::from_secs(30)), "{backend:?}");
        let got = recv.received();
        assert_eq!(got.len(), 4);
        let gap = got[3].at - got[2].at;
        assert!(gap >= Duration::from_secs(4) && gap < Duration::from_secs(9), "{backend:?}: {gap:?}");
        assert_eq!(got[2].id, got[3].id);
        assert_ne!(got[0].id, got[2].id);

        // Rotation: both secrets sign until the old one expires; the receiver accepts either.
        let rotated = call(&app, "RotateWebhookSecret", &a, json!({"id": ep, "previousValidSeconds": 3600})).json();
        let new_secret = rotated["secret"].as_str().unwrap().to_string();
        assert_ne!(new_secret, secret);
        assert!(rotated["endpoint"]["previousSecretExpiresAt"].is_string(), "{rotated}");
        recv.set_secrets(&[&secret, &new_secret]);
        // Replay of the first event: the same webhook-id and body, now under two signatures.
        let replayed = call(&app, "ReplayWebhookEvent", &a, json!({"eventId": got[0].id})).json();
        assert_eq!(replayed["deliveries"].as_array().unwrap().len(), 1, "{replayed}");
        assert_eq!(replayed["deliveries"][0]["replay"], true);
        assert!(recv.wait_accepted(3, Duration::from_secs(30)));
        let again = recv.received().pop().unwrap();
        assert_eq!((again.id.as_str(), &again.body), (got[0].id.as_str(), &got[0].body));
        assert_eq!(again.signatures.len(), 2, "{:?}", again.signatures);
        assert_eq!(again.verified_by, [0, 1]);

        // 410: the endpoint is disabled, its deliveries stop, replay to it is refused.
        recv.script(&[Answer::Status(410)]);
        submit(&app, &a, &model, 3);
        wait("the 410", || recv.received().len() == 6);
        wait("the endpoint to be disabled", || {
            call(&app, "GetWebhookEndpoint", &a, json!({"id": ep})).json()["enabled"] != json!(true)
        });
        let fetched = call(&app, "GetWebhookEndpoint", &a, json!({"id": ep})).json();
        assert!(fetched["disabledReason"].as_str().unwrap().contains("410"), "{fetched}");
        submit(&app, &a, &model, 4);
        std::thread::sleep(Duration::from_millis(1500));
        assert_eq!(recv.received().len(), 6, "{backend:?}: a disabled endpoint got a delivery");
        let reply = call(&app, "ReplayWebhookEvent", &a, json!({"eventId": got[0].id, "endpointId": ep}));
        assert_eq!((reply.status, reply.json()["code"].as_str()), (400, Some("FAILED_PRECONDITION")));
        // Re-enabled by the tenant, it receives again (events from then on, and replays).
        let enabled = call(
            &app,
            "UpdateWebhookEndpoint",
            &a,
            json!({"endpoint": {"id": ep, "enabled": true}, "updateMask": "enabled"}),
        );
        assert_eq!(enabled.json()["enabled"], true, "{}", String::from_utf8_lossy(&enabled.body));
        submit(&app, &a, &model, 5);
        assert!(recv.wait_accepted(4, Duration::from_secs(30)), "{backend:?}");
        // Every POST the receiver got verified (a forged or stale one would have been refused).
        assert!(recv.received().iter().all(|r| !r.verified_by.is_empty() && r.fresh));

        // Isolation: B reaches none of A's endpoints, events or deliveries, over HTTP and gRPC,
        // and each refusal reads exactly like the one for a missing id.
        let event_id = got[0].id.clone();
        for (op, body) in [
            ("GetWebhookEndpoint", json!({"id": ep})),
            ("UpdateWebhookEndpoint", json!({"endpoint": {"id": ep, "description": "x"}, "updateMask": "description"})),
            ("RotateWebhookSecret", json!({"id": ep})),
            ("DeleteWebhookEndpoint", json!({"id": ep})),
            ("ReplayWebhookEvent", json!({"eventId": event_id})),
            ("ReplayWebhookEvent", json!({"eventId": event_id, "endpointId": ep})),
        ] {
            let theirs = call(&app, op, &b, body.clone());
            let missing: Value = serde_json::from_str(
                &body
                    .to_string()
                    .replace(&ep, "ep_0000000000000000")
                    .replace(&event_id, "msg_000000000000000000000000"),
            )
            .unwrap();
            let none = call(&app, op, &b, missing);
            assert_eq!(theirs.status, 404, "{backend:?} {op}: {}", String::from_utf8_lossy(&theirs.body));
            let strip = |r: &Reply| {
                r.json()
                    .to_string()
                    .replace(&ep, "X")
                    .replace("ep_0000000000000000", "X")
                    .replace(&event_id, "X")
                    .replace("msg_000000000000000000000000", "X")
            };
            assert_eq!(strip(&theirs), strip(&none), "{backend:?} {op}: the refusal differs");
        }
        for (op, body, field) in [
            ("ListWebhookEndpoints", json!({}), "endpoints"),
            ("ListWebhookEvents", json!({}), "events"),
            ("ListWebhookDeliveries", json!({"eventId": event_id}), "deliveries"),
            ("ListWebhookDeliveries", json!({"endpointId": ep}), "deliveries"),
        ] {
            let listed = call(&app, op, &b, body);
            assert_eq!(listed.status, 200);
            let listed = listed.json();
            assert!(
                listed.get(field).is_none_or(|v| v.as_array().is_some_and(Vec::is_empty)),
                "{backend:?} {op}: {listed}"
            );
        }
        let mut grpc = WebhookServiceClient::new(app.channel.clone());
        let refused = grpc
            .get_webhook_endpoint(as_tenant(pb::GetWebhookEndpointRequest { id: ep.clone() }, Some(&b), "").unwrap())
            .await
            .unwrap_err();
        assert_eq!(refused.code(), tonic::Code::NotFound);
        let refused = grpc
            .delete_webhook_endpoint(
                as_tenant(pb::DeleteWebhookEndpointRequest { id: ep.clone() }, Some(&b), "").unwrap(),
            )
            .await
            .unwrap_err();
        assert_eq!(refused.code(), tonic::Code::NotFound);
        let refused = grpc.list_webhook_endpoints(pb::ListWebhookEndpointsRequest::default()).await.unwrap_err();
        assert_eq!(refused.code(), tonic::Code::Unauthenticated);
        // A's endpoint is untouched by all that.
        let mine = grpc
            .get_webhook_endpoint(as_tenant(pb::GetWebhookEndpointRequest { id: ep.clone() }, Some(&a), "").unwrap())
            .await
            .unwrap()
            .into_inner();
        assert_eq!((mine.description.as_str(), mine.enabled), ("CRM", true));

        // Registered over gRPC too; deleted, it gets nothing more.
        let second = Receiver::start();
        let made = grpc
            .create_webhook_endpoint(
                as_tenant(
                    pb::CreateWebhookEndpointRequest {
                        url: second.url("/h"),
                        description: String::new(),
                        event_types: vec![],
                    },
                    Some(&a),
                    "",
                )
                .unwrap(),
            )
            .await
            .unwrap()
            .into_inner();
        second.set_secrets(&[&made.secret]);
        submit(&app, &a, &model, 6);
        assert!(second.wait_accepted(1, Duration::from_secs(30)), "{backend:?}");
        let ep2 = made.endpoint.unwrap().id;
        grpc.delete_webhook_endpoint(as_tenant(pb::DeleteWebhookEndpointRequest { id: ep2 }, Some(&a), "").unwrap())
            .await
            .unwrap();
        submit(&app, &a, &model, 7);
        assert!(recv.wait_accepted(6, Duration::from_secs(30)), "{backend:?}");
        std::thread::sleep(Duration::from_millis(500));
        assert_eq!(second.received().len(), 1, "{backend:?}: a deleted endpoint got a delivery");
    }
}

/// The reasons of the field violations in a gRPC status.
fn grpc_reasons(status: &tonic::Status) -> Vec<(String, String)> {
    use tonic_types::StatusExt;
    status
        .get_details_bad_request()
        .map(|b| b.field_violations.iter().map(|v| (v.field.clone(), v.reason.clone())).collect())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_cannot_make_the_server_call_its_own_network() {
    for backend in BACKENDS {
        // As in production: endpoints on the operator's own network are not allowed.
        let options = test_support::Options { allow_private_networks: false, ..test_support::Options::new(backend) };
        let app = TestApp::start(options).await;
        let (a, _) = keys(&app).await;
        let model = tokio::task::block_in_place(|| post(&app, "ScoringService/GetModel", None, &json!({}))).json();
        let recv = Receiver::start();
        let port = recv.url("").rsplit(':').next().unwrap().to_string();
        let internal = [
            recv.url("/h"),
            format!("http://localhost:{port}/h"),
            "https://10.0.0.1/h".to_string(),
            "https://169.254.169.254/latest/meta-data/".to_string(),
            "https://[::ffff:127.0.0.1]/h".to_string(),
        ];
        let mut grpc = WebhookServiceClient::new(app.channel.clone());
        for url in &internal {
            // Over HTTP: 400 with the field and a stable reason.
            let reply = call(&app, "CreateWebhookEndpoint", &a, json!({"url": url}));
            assert_eq!(reply.status, 400, "{backend:?} {url}: {}", String::from_utf8_lossy(&reply.body));
            let body = reply.json();
            assert_eq!(body["violations"][0]["field"], "url", "{body}");
            assert_eq!(body["violations"][0]["reason"], "FORBIDDEN_WEBHOOK_DESTINATION", "{body}");
            // Over gRPC: INVALID_ARGUMENT with the same field violation.
            let request = pb::CreateWebhookEndpointRequest { url: url.clone(), ..Default::default() };
            let refused = grpc.create_webhook_endpoint(as_tenant(request, Some(&a), "").unwrap()).await.unwrap_err();
            assert_eq!(refused.code(), tonic::Code::InvalidArgument, "{url}");
            assert_eq!(grpc_reasons(&refused), [("url".to_string(), "FORBIDDEN_WEBHOOK_DESTINATION".to_string())]);
        }
        // Nor by changing a registered endpoint's URL.
        let public = call(&app, "CreateWebhookEndpoint", &a, json!({"url": "https://crm.example.nl/hook"}));
        assert_eq!(public.status, 200, "a public name that does not resolve here is accepted");
        let ep = public.json()["endpoint"]["id"].as_str().unwrap().to_string();
        let changed = call(
            &app,
            "UpdateWebhookEndpoint",
            &a,
            json!({"endpoint": {"id": ep, "url": "https://169.254.169.254/"}, "updateMask": "url"}),
        );
        assert_eq!(changed.status, 400, "{}", String::from_utf8_lossy(&changed.body));
        assert_eq!(changed.json()["violations"][0]["reason"], "FORBIDDEN_WEBHOOK_DESTINATION");
        let _ = call(&app, "DeleteWebhookEndpoint", &a, json!({"id": ep}));

        // At delivery: an endpoint whose name pointed elsewhere when it was registered and now
        // resolves to loopback (DNS rebinding; written to the store directly, as registration
        // would have accepted it then) is never connected to, and the attempt says why.
        let types = ["assessment.scored".to_string()];
        let url = format!("http://localhost:{port}/rebound");
        let (endpoint, secret) =
            store::webhooks::create_endpoint(&app.db, "acme", &url, "", &types, store::time::now_us()).await.unwrap();
        recv.set_secrets(&[&secret]);
        submit(&app, &a, &model, 1);
        let deliveries = || call(&app, "ListWebhookDeliveries", &a, json!({"endpointId": endpoint.id})).json();
        wait("the refused attempt to be recorded", || {
            deliveries()["deliveries"][0]["attempts"].as_array().is_some_and(|a| !a.is_empty())
        });
        let listed = deliveries();
        let error = listed["deliveries"][0]["attempts"][0]["error"].as_str().unwrap_or_default().to_string();
        assert_eq!(error, REFUSED, "{backend:?}: {listed}");
        assert!(recv.received().is_empty(), "{backend:?}: the receiver on loopback was called");
    }
}

/// What a tenant's delivery record says of a refused destination: no address, no port state.
const REFUSED: &str = "refused: the endpoint's address is not allowed";

/// Every form in which a URL names an internal address other than the plain one: a trailing dot,
/// short, hexadecimal, decimal and octal IPv4, upper case, and IPv6 forms that embed IPv4
/// (mapped, compatible, NAT64, 6to4, Teredo). `{port}` is a listener's on loopback.
const BYPASS_FORMS: [&str; 21] = [
    "https://127.0.0.1.:{port}/",
    "http://127.0.0.1.:{port}/",
    "https://localhost.:{port}/",
    "https://LOCALHOST:{port}/",
    "https://10.0.0.1./",
    "https://169.254.169.254./latest/meta-data/",
    "https://127.1.:{port}/",
    "https://127.1:{port}/",
    "https://0x7f000001.:{port}/",
    "https://0x7f.0.0.1:{port}/",
    "https://2130706433.:{port}/",
    "https://0177.0.0.1.:{port}/",
    "https://192.168.0.1.:8443/",
    "https://[::ffff:7f00:1]:{port}/",
    "https://[::127.0.0.1]:{port}/",
    "https://[64:ff9b::7f00:1]:{port}/",
    "https://[2002:a9fe:a9fe::]/",
    "https://[2002:7f00:1::]:{port}/",
    "https://[2001:0:a9fe:a9fe::1]/",
    "https://[2001:0:4136:e378:8000:63bf:80ff:fffe]:{port}/",
    "https://127.0.0.1.:{port}/h?x=1#f",
];

/// URLs that are not endpoints at all: an IPv6 zone id (an interface of the server), impossible
/// ports, a percent-encoded host.
const INVALID_FORMS: [&str; 7] = [
    "https://%31%32%37.0.0.1:{port}/",
    "https://[::1%25lo]/",
    "https://[fe80::1%25eth0]:8443/",
    "https://crm.example.nl:0/h",
    "https://crm.example.nl:99999/h",
    "https://crm.example.nl:65536/h",
    "https://[::1]:{port}:1/",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bypass_form_is_refused_at_registration_update_and_delivery() {
    for backend in BACKENDS {
        let options = test_support::Options { allow_private_networks: false, ..test_support::Options::new(backend) };
        let app = TestApp::start(options).await;
        let (a, _) = keys(&app).await;
        let model = tokio::task::block_in_place(|| post(&app, "ScoringService/GetModel", None, &json!({}))).json();
        // A listener on loopback that never accepts: a connection anyone made to it waits in its
        // backlog, so an empty backlog at the end proves that none was made.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port().to_string();
        let forms: Vec<String> = BYPASS_FORMS.iter().map(|u| u.replace("{port}", &port)).collect();
        let invalid: Vec<String> = INVALID_FORMS.iter().map(|u| u.replace("{port}", &port)).collect();
        let mut grpc = WebhookServiceClient::new(app.channel.clone());
        let public = call(&app, "CreateWebhookEndpoint", &a, json!({"url": "https://crm.example.nl/hook"}));
        assert_eq!(public.status, 200, "{}", String::from_utf8_lossy(&public.body));
        let ep = public.json()["endpoint"]["id"].as_str().unwrap().to_string();
        for (url, reason) in forms
            .iter()
            .map(|u| (u, "FORBIDDEN_WEBHOOK_DESTINATION"))
            .chain(invalid.iter().map(|u| (u, "INVALID_WEBHOOK_URL")))
        {
            // Registration, over HTTP and gRPC.
            let reply = call(&app, "CreateWebhookEndpoint", &a, json!({"url": url}));
            assert_eq!(reply.status, 400, "{backend:?} {url}: {}", String::from_utf8_lossy(&reply.body));
            assert_eq!(reply.json()["violations"][0]["reason"], reason, "{backend:?} {url}: {}", reply.json());
            let request = pb::CreateWebhookEndpointRequest { url: url.clone(), ..Default::default() };
            let refused = grpc.create_webhook_endpoint(as_tenant(request, Some(&a), "").unwrap()).await.unwrap_err();
            assert_eq!(grpc_reasons(&refused), [("url".to_string(), reason.to_string())], "{url}");
            // Update.
            let changed = call(
                &app,
                "UpdateWebhookEndpoint",
                &a,
                json!({"endpoint": {"id": ep, "url": url}, "updateMask": "url"}),
            );
            assert_eq!(changed.status, 400, "{backend:?} {url}: {}", String::from_utf8_lossy(&changed.body));
            assert_eq!(changed.json()["violations"][0]["field"], "endpoint.url", "{url}");
            assert_eq!(changed.json()["violations"][0]["reason"], reason, "{url}");
        }
        let _ = call(&app, "DeleteWebhookEndpoint", &a, json!({"id": ep}));

        // Delivery: each form written to the store directly (as an endpoint registered before
        // this guard would be), then one event for all of them.
        let types = ["assessment.scored".to_string()];
        let mut endpoints = Vec::new();
        for url in &forms {
            let (endpoint, _) =
                store::webhooks::create_endpoint(&app.db, "acme", url, "", &types, store::time::now_us())
                    .await
                    .unwrap();
            endpoints.push((url.clone(), endpoint.id));
        }
        submit(&app, &a, &model, 1);
        for (url, id) in &endpoints {
            let deliveries = || call(&app, "ListWebhookDeliveries", &a, json!({"endpointId": id})).json();
            wait("the refused attempt to be recorded", || {
                deliveries()["deliveries"][0]["attempts"].as_array().is_some_and(|a| !a.is_empty())
            });
            let listed = deliveries();
            assert_eq!(listed["deliveries"][0]["attempts"][0]["error"], REFUSED, "{backend:?} {url}: {listed}");
            assert_eq!(listed["deliveries"][0]["attempts"][0]["statusCode"].as_i64().unwrap_or(0), 0, "{url}");
        }
        listener.set_nonblocking(true).unwrap();
        let connected = listener.accept();
        assert!(
            connected.as_ref().is_err_and(|e| e.kind() == std::io::ErrorKind::WouldBlock),
            "{backend:?}: a connection reached the loopback listener: {connected:?}"
        );
    }
}
