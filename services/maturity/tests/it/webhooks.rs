//! Webhooks across a crash, on both backends: the server is SIGKILLed while its deliveries are
//! in flight (events committed, no endpoint has answered yet); after a restart every event still
//! arrives, verified, exactly once per webhook-id, and nothing arrives that did not happen.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use migrations::test_db::{BACKENDS, TestDb};
use services_api::v1 as pb;
use services_api::v1::persistence_service_client::PersistenceServiceClient;
use services_api::v1::webhook_service_client::WebhookServiceClient;
use services_maturity::demo::as_tenant;

use crate::{BIN, scratch};
use test_support::webhook_receiver::{Receiver, Reply};

fn database_args(url: &str, dir: &std::path::Path) -> Vec<String> {
    vec!["--database-url".into(), url.into(), "--pseudonym-key-file".into(), dir.join("key").display().to_string()]
}

/// `maturity admin ARGS` on the database at `url`, migrated first (as an operator does before the
/// first tenant).
pub(crate) fn admin(url: &str, dir: &std::path::Path, args: &[&str]) -> String {
    let migrated = Command::new(BIN).arg("migrate").args(database_args(url, dir)).output().unwrap();
    assert!(migrated.status.success(), "migrate: {}", String::from_utf8_lossy(&migrated.stderr));
    let out = Command::new(BIN).arg("admin").args(database_args(url, dir)).args(args).output().unwrap();
    assert!(out.status.success(), "admin {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// A server process, killed when dropped (so that a failing test leaves none behind).
pub(crate) struct Server(pub Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) fn serve(url: &str, dir: &std::path::Path) -> (Server, String) {
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--grpc-addr",
            "127.0.0.1:0",
            "--http-addr",
            "off",
            "--admin-addr",
            "off",
            "--log-level",
            "error",
        ])
        .args(database_args(url, dir))
        // A short timeout, so that the dead server's leases (twice that and 5 s) run out soon.
        .args(["--webhook-timeout-seconds", "1", "--tenant-rate-limit", "0"])
        // The receivers listen on 127.0.0.1.
        .args(["--webhook-allow-private-networks", "true"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    assert!(line.starts_with("maturity: gRPC listening on"), "{line}");
    (Server(child), format!("http://{}", line.trim().rsplit(' ').next().unwrap()))
}

fn wait_until(what: &str, limit: Duration, ok: impl Fn() -> bool) {
    let end = Instant::now() + limit;
    while !ok() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_between_event_and_delivery_loses_and_duplicates_nothing() {
    const SUBMISSIONS: usize = 6;
    for backend in BACKENDS {
        let db = TestDb::empty(backend).await;
        let dir = scratch(&format!("webhook-crash-{backend:?}"));
        admin(&db.url, &dir, &["create-tenant", "acme", "--name", "Acme"]);
        let issued = admin(&db.url, &dir, &["issue-key", "acme"]);
        let key = issued.lines().last().unwrap().trim().to_string();
        let (mut child, addr) = serve(&db.url, &dir);
        let channel = services_maturity::demo::connect(&addr, Duration::from_secs(10)).await.unwrap();

        // The receiver reads every POST but answers none: deliveries stay in flight.
        let recv = Receiver::start();
        recv.otherwise(Reply::Hang);
        let mut hooks = WebhookServiceClient::new(channel.clone());
        let request = pb::CreateWebhookEndpointRequest {
            url: recv.url("/crm"),
            description: "crash test".into(),
            event_types: vec![],
        };
        let made =
            hooks.create_webhook_endpoint(as_tenant(request, Some(&key), "").unwrap()).await.unwrap().into_inner();
        recv.set_secrets(&[&made.secret]);

        let sample = services_maturity::sample::parse("sample", services_maturity::sample::BUILTIN).unwrap();
        let mut store = PersistenceServiceClient::new(channel.clone());
        let mut acknowledged = Vec::new();
        for n in 0..SUBMISSIONS {
            let request = pb::SubmitAssessmentRequest {
                request_id: format!("crash-{n}"),
                external_ref: format!("crm-{n}"),
                firm_name: format!("Crash {n} B.V."),
                completed_at: None,
                assessment: Some(sample.request.clone()),
            };
            let reply = store.submit_assessment(as_tenant(request, Some(&key), "").unwrap()).await.unwrap();
            acknowledged.push(reply.into_inner().assessment.unwrap().id.to_string());
        }
        tokio::task::block_in_place(|| {
            wait_until("a delivery in flight", Duration::from_secs(20), || !recv.received().is_empty())
        });
        child.0.kill().unwrap();
        child.0.wait().unwrap();
        assert!(recv.accepted().is_empty(), "nothing was answered before the crash");

        // From now on the receiver answers 200; the restarted server finds the outbox as it was.
        recv.otherwise(Reply::Status(200));
        let (mut child, addr) = serve(&db.url, &dir);
        tokio::task::block_in_place(|| {
            wait_until("every event", Duration::from_secs(60), || {
                recv.accepted().iter().map(|r| r.id.clone()).collect::<std::collections::BTreeSet<_>>().len()
                    >= SUBMISSIONS
            });
            // Time for a duplicate to show, if there were to be one.
            std::thread::sleep(Duration::from_secs(2));
        });
        let mut per_id: BTreeMap<String, usize> = BTreeMap::new();
        for r in recv.accepted() {
            *per_id.entry(r.id.clone()).or_default() += 1;
            assert!(r.verified_by == [0] && r.fresh, "{backend:?}: unverified delivery {r:?}");
        }
        assert!(per_id.values().all(|n| *n == 1), "{backend:?}: duplicates {per_id:?}");
        // The delivered ids are exactly the recorded events, one per acknowledged submission.
        let channel = services_maturity::demo::connect(&addr, Duration::from_secs(10)).await.unwrap();
        let mut hooks = WebhookServiceClient::new(channel);
        let events = hooks
            .list_webhook_events(as_tenant(pb::ListWebhookEventsRequest::default(), Some(&key), "").unwrap())
            .await
            .unwrap()
            .into_inner()
            .events;
        let recorded: Vec<String> = events.iter().map(|e| e.id.clone()).collect();
        assert_eq!(recorded.len(), SUBMISSIONS, "{backend:?}");
        assert_eq!(
            per_id.keys().cloned().collect::<std::collections::BTreeSet<_>>(),
            recorded.iter().cloned().collect()
        );
        let mut reported: Vec<String> =
            recv.accepted().iter().map(|r| r.json()["data"]["assessmentId"].as_str().unwrap().to_string()).collect();
        reported.sort();
        acknowledged.sort();
        assert_eq!(reported, acknowledged, "{backend:?}");

        Command::new("kill").args(["-TERM", &child.0.id().to_string()]).status().unwrap();
        assert_eq!(child.0.wait().unwrap().code(), Some(0), "{backend:?}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
