//! Two servers on one database behind one load balancer, on both backends: webhook events
//! submitted to either are each delivered once, and a tenant's rate limit divided between the
//! servers (`tenant_rate_limit` set to the limit over the number of servers, docs/deployment.md)
//! holds a tenant sending twice its rate, spread over both, to what one server allows.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use migrations::test_db::BACKENDS;
use serde_json::{Value, json};
use services_auth::RateLimit;
use test_support::webhook_receiver::Receiver;
use test_support::{Options, TestApp, spawn_app_on};

use crate::http::{assessment, keys, post};

fn submit(app: &TestApp, key: &str, model: &Value, n: usize) {
    let body = json!({
        "requestId": format!("replica-{n}"),
        "externalRef": format!("crm-{n}"),
        "firmName": format!("Replica {n} B.V."),
        "assessment": assessment(model),
    });
    let reply = tokio::task::block_in_place(|| post(app, "PersistenceService/SubmitAssessment", Some(key), &body));
    assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_events_submitted_to_two_servers_are_each_delivered_once() {
    for backend in BACKENDS {
        let one = spawn_app_on(backend).await;
        let two = one.second(Options::new(backend)).await;
        let (key, _) = keys(&one).await;
        let recv = Receiver::start();
        let created = tokio::task::block_in_place(|| {
            let body = json!({"url": recv.url("/hooks"), "eventTypes": ["assessment.scored"]});
            post(&one, "WebhookService/CreateWebhookEndpoint", Some(&key), &body)
        });
        assert_eq!(created.status, 200, "{}", String::from_utf8_lossy(&created.body));
        recv.set_secrets(&[created.json()["secret"].as_str().unwrap()]);
        let model = tokio::task::block_in_place(|| post(&one, "ScoringService/GetModel", None, &json!({}))).json();
        // Two hundred submissions, every other one to each server: each records its event, and
        // both servers' dispatchers deliver from the one outbox.
        for n in 0..200 {
            submit(if n % 2 == 0 { &one } else { &two }, &key, &model, n);
        }
        assert!(recv.wait_accepted(200, Duration::from_secs(60)), "{backend:?}: {} delivered", recv.accepted().len());
        // Time for a second delivery of anything, were one coming.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let got = recv.received();
        let ids: BTreeSet<String> = got.iter().map(|r| r.id.clone()).collect();
        let refs: BTreeSet<String> =
            got.iter().map(|r| r.json()["data"]["externalRef"].as_str().unwrap_or_default().to_string()).collect();
        assert_eq!((got.len(), ids.len(), refs.len()), (200, 200, 200), "{backend:?}");
        assert!(
            got.iter().all(|r| !r.verified_by.is_empty()),
            "{backend:?}: a delivery was not signed with the secret"
        );
    }
}

/// Sends `total` ListAssessments calls as `key` at `per_second` (or as fast as they are answered,
/// when that is slower), spread in turn over `servers`; how many each server accepted, and how
/// long the calls took in all.
fn offer(servers: &[&TestApp], key: &str, total: usize, per_second: f64) -> (Vec<usize>, f64) {
    let mut accepted = vec![0; servers.len()];
    let start = Instant::now();
    for n in 0..total {
        let due = start + Duration::from_secs_f64(n as f64 / per_second);
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
        let app = servers[n % servers.len()];
        let reply = post(app, "PersistenceService/ListAssessments", Some(key), &json!({"pageSize": 1}));
        match reply.status {
            200 => accepted[n % servers.len()] += 1,
            429 => {}
            other => panic!("unexpected {other}: {}", String::from_utf8_lossy(&reply.body)),
        }
    }
    (accepted, start.elapsed().as_secs_f64())
}

/// A tenant limited to 10 calls a second (bursts of twice that) sends 20 a second for 6 s, first
/// to one server holding the whole limit, then spread over two servers holding half of it each.
/// What gets through is, both times, what the limit allows over the time the calls took (the
/// burst, then the rate): with the limit divided, two servers let through what one does, where
/// two servers each holding the whole limit would let every call through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limit_divided_over_two_servers_holds_a_tenant_to_what_one_server_allows() {
    const LIMIT: f64 = 10.0;
    const CALLS: usize = 120;
    for backend in BACKENDS {
        let one = spawn_app_on(backend).await;
        let two = one.second(Options::new(backend)).await;
        let (key, _) = keys(&one).await;
        one.persistence.authenticator().set_rate_limit(Some(RateLimit { per_second: LIMIT, burst: 2.0 * LIMIT }));
        let (alone, alone_secs) = tokio::task::block_in_place(|| offer(&[&one], &key, CALLS, 2.0 * LIMIT));
        for app in [&one, &two] {
            let half = LIMIT / 2.0;
            app.persistence.authenticator().set_rate_limit(Some(RateLimit { per_second: half, burst: 2.0 * half }));
        }
        // The buckets fill again, as a tenant's after a pause.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let (split, split_secs) = tokio::task::block_in_place(|| offer(&[&one, &two], &key, CALLS, 2.0 * LIMIT));
        eprintln!(
            "{backend:?}: one server let {} of {CALLS} through in {alone_secs:.1} s; two servers with half the \
             limit each {split:?} in {split_secs:.1} s",
            alone[0]
        );
        for (name, got, secs) in [("one server", alone[0], alone_secs), ("two servers", split.iter().sum(), split_secs)]
        {
            // The calls must have come faster than the limit, or nothing was tested.
            assert!(CALLS as f64 / secs > 1.3 * LIMIT, "{backend:?}: {name}: {CALLS} calls took {secs:.1} s");
            let allowed = 2.0 * LIMIT + LIMIT * secs;
            assert!(
                (got as f64 - allowed).abs() <= 0.1 * allowed + 3.0,
                "{backend:?}: {name} let {got} calls through in {secs:.1} s; the limit allows about {allowed:.0}"
            );
        }
    }
}
