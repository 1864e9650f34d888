//! Faults as operators meet them, on both backends: the server SIGKILLed while clients submit.
//! Every acknowledged submission is stored after the restart, nothing is stored that no client
//! sent, nothing twice, and retrying the calls that got no answer (same request ids) completes
//! them exactly once. And SIGTERM: calls in flight finish, new ones are refused as UNAVAILABLE,
//! the process exits 0.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use migrations::test_db::{BACKENDS, TestDb};
use services_api::v1 as pb;
use services_api::v1::persistence_service_client::PersistenceServiceClient;
use services_maturity::demo::as_tenant;
use tonic::transport::Channel;

use crate::scratch;
use crate::webhooks::{Server, admin, serve};

fn submission(client: usize, n: usize, sample: &pb::ScoreAssessmentRequest) -> pb::SubmitAssessmentRequest {
    pb::SubmitAssessmentRequest {
        request_id: format!("k{client}-{n}"),
        external_ref: format!("crm-{client}-{n}"),
        firm_name: format!("Fault {client}-{n} B.V."),
        completed_at: None,
        assessment: Some(sample.clone()),
    }
}

/// What one submitting client saw: the calls answered OK, and the calls that failed (code, call,
/// message), each as (client, n).
type Seen = (Vec<(usize, usize)>, Vec<(tonic::Code, (usize, usize), String)>);

/// `CLIENTS` clients submitting one call after another until `stop`; a failed call is not retried
/// (its request id is not reused) and the client backs off 250 ms before its next call.
fn submitting_clients(
    channel: &Channel,
    key: &str,
    sample: &pb::ScoreAssessmentRequest,
    clients: usize,
    stop: &Arc<AtomicBool>,
) -> tokio::task::JoinSet<Seen> {
    let mut set = tokio::task::JoinSet::new();
    for c in 0..clients {
        let (channel, key, stop, sample) = (channel.clone(), key.to_string(), Arc::clone(stop), sample.clone());
        set.spawn(async move {
            let mut client = PersistenceServiceClient::new(channel);
            let (mut ok, mut failed) = (Vec::new(), Vec::new());
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                match client.submit_assessment(as_tenant(submission(c, n, &sample), Some(&key), "").unwrap()).await {
                    Ok(_) => ok.push((c, n)),
                    Err(status) => {
                        failed.push((status.code(), (c, n), status.message().to_string()));
                        tokio::time::sleep(Duration::from_millis(250)).await;
                    }
                }
                n += 1;
            }
            (ok, failed)
        });
    }
    set
}

/// Waits for the clients and merges what they saw.
async fn seen(mut clients: tokio::task::JoinSet<Seen>) -> (BTreeSet<(usize, usize)>, Seen) {
    let (mut acknowledged, mut all) = (BTreeSet::new(), (Vec::new(), Vec::new()));
    while let Some(done) = clients.join_next().await {
        let (ok, failed) = done.unwrap();
        acknowledged.extend(ok.iter().copied());
        all.0.extend(ok);
        all.1.extend(failed);
    }
    (acknowledged, all)
}

/// A tenant with an API key in the database at `url`, `maturity serve` on that database reached
/// through `served` (the same URL, or one through a relay), a channel to it, and the sample.
async fn tenant_and_server(
    url: &str,
    served: &str,
    dir: &std::path::Path,
) -> (Server, Channel, String, pb::ScoreAssessmentRequest) {
    admin(url, dir, &["create-tenant", "acme", "--name", "Acme"]);
    let key = admin(url, dir, &["issue-key", "acme"]).lines().last().unwrap().trim().to_string();
    let (child, addr) = serve(served, dir);
    let channel = services_maturity::demo::connect(&addr, Duration::from_secs(10)).await.unwrap();
    let sample = services_maturity::sample::parse("sample", services_maturity::sample::BUILTIN).unwrap().request;
    (child, channel, key, sample)
}

/// Every stored external reference of the tenant (all pages), with how often it is stored.
async fn stored(channel: Channel, key: &str) -> BTreeMap<String, usize> {
    let mut client = PersistenceServiceClient::new(channel);
    let mut out = BTreeMap::new();
    let mut token = String::new();
    loop {
        let request = pb::ListAssessmentsRequest { page_size: 500, page_token: token.clone(), ..Default::default() };
        let page = client.list_assessments(as_tenant(request, Some(key), "").unwrap()).await.unwrap().into_inner();
        for a in page.assessments {
            *out.entry(a.external_ref).or_default() += 1;
        }
        if page.next_page_token.is_empty() {
            return out;
        }
        token = page.next_page_token;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_while_clients_submit_loses_no_acknowledged_write() {
    const CLIENTS: usize = 8;
    for backend in BACKENDS {
        let db = TestDb::empty(backend).await;
        let dir = scratch(&format!("fault-kill-{backend:?}"));
        let (mut child, channel, key, sample) = tenant_and_server(&db.url, &db.url, &dir).await;

        let stop = Arc::new(AtomicBool::new(false));
        let clients = submitting_clients(&channel, &key, &sample, CLIENTS, &stop);
        tokio::time::sleep(Duration::from_millis(1500)).await;
        child.0.kill().unwrap();
        child.0.wait().unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        stop.store(true, Ordering::Relaxed);
        // A call without an answer (the server died) may or may not have been stored.
        let (acknowledged, (_, failed)) = seen(clients).await;
        let unanswered: BTreeSet<(usize, usize)> = failed.into_iter().map(|(_, call, _)| call).collect();
        assert!(acknowledged.len() >= CLIENTS, "{backend:?}: the clients got little done before the kill");
        assert!(!unanswered.is_empty(), "{backend:?}: the kill came after the clients stopped");

        let (mut child, addr) = serve(&db.url, &dir);
        let channel = services_maturity::demo::connect(&addr, Duration::from_secs(10)).await.unwrap();
        let after = stored(channel.clone(), &key).await;
        let name = |(c, n): &(usize, usize)| format!("crm-{c}-{n}");
        for a in &acknowledged {
            assert_eq!(after.get(&name(a)), Some(&1), "{backend:?}: acknowledged {a:?} not stored once");
        }
        for (r, count) in &after {
            assert_eq!(*count, 1, "{backend:?}: {r} stored {count} times");
            let sent = acknowledged.iter().chain(&unanswered).any(|a| &name(a) == r);
            assert!(sent, "{backend:?}: {r} stored but never sent");
        }
        // The calls that got no answer, retried with their request ids: each stored exactly once.
        let mut client = PersistenceServiceClient::new(channel.clone());
        for &(c, n) in &unanswered {
            let request = submission(c, n, &sample);
            client.submit_assessment(as_tenant(request, Some(&key), "").unwrap()).await.unwrap();
        }
        let retried = stored(channel, &key).await;
        assert_eq!(retried.len(), acknowledged.len() + unanswered.len(), "{backend:?}");
        assert!(retried.values().all(|n| *n == 1), "{backend:?}");
        eprintln!(
            "{backend:?}: {} acknowledged, {} unanswered ({} of them stored before the kill), all stored once after retry",
            acknowledged.len(),
            unanswered.len(),
            after.len() - acknowledged.len()
        );

        std::process::Command::new("kill").args(["-TERM", &child.0.id().to_string()]).status().unwrap();
        assert_eq!(child.0.wait().unwrap().code(), Some(0), "{backend:?}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}

/// SIGTERM while clients submit: exit 0, every acknowledged call stored once, every other call
/// refused and not stored. (Whether calls in flight were drained is not told apart from calls
/// answered before the server acted on the signal: see RELIABILITY.md.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_exits_0_and_stores_exactly_the_calls_it_answered() {
    const CLIENTS: usize = 8;
    let db = TestDb::empty(migrations::test_db::Backend::Sqlite).await;
    let dir = scratch("fault-term");
    let (mut child, channel, key, sample) = tenant_and_server(&db.url, &db.url, &dir).await;
    let stop = Arc::new(AtomicBool::new(false));
    let clients = submitting_clients(&channel, &key, &sample, CLIENTS, &stop);
    tokio::time::sleep(Duration::from_millis(800)).await;
    let asked = std::time::Instant::now();
    std::process::Command::new("kill").args(["-TERM", &child.0.id().to_string()]).status().unwrap();
    let code = tokio::task::block_in_place(|| child.0.wait().unwrap().code());
    let took = asked.elapsed();
    stop.store(true, Ordering::Relaxed);
    let (acknowledged, (_, codes)) = seen(clients).await;
    assert_eq!(code, Some(0), "SIGTERM exits 0");
    assert!(!codes.is_empty(), "the clients never saw the server go");
    let (_child, addr) = serve(&db.url, &dir);
    let channel = services_maturity::demo::connect(&addr, Duration::from_secs(10)).await.unwrap();
    let stored = stored(channel, &key).await;
    let cut: Vec<_> = codes.iter().filter(|(_, (c, n), _)| stored.contains_key(&format!("crm-{c}-{n}"))).collect();
    assert!(cut.is_empty(), "calls stored but not answered (cut off during the drain): {cut:?}; took {took:?}");
    // What was not answered was refused: UNAVAILABLE (connection refused, retryable), or, for a
    // call racing the server's GOAWAY, cancelled before the server took it (checked above: not
    // stored). A stream the client opened past the last one the server's final GOAWAY admits is
    // failed by the HTTP/2 client with the GOAWAY's NO_ERROR, which tonic reports as INTERNAL
    // "h2 protocol error" (the client library's mapping, as grpc-java once mapped it too, issue
    // 1355 there); it was not processed (also checked above: not stored). Nothing else.
    let refused = |c: &tonic::Code, message: &str| {
        matches!(c, tonic::Code::Unavailable | tonic::Code::Cancelled)
            || (*c == tonic::Code::Internal && message.starts_with("h2 protocol error"))
    };
    assert!(codes.iter().all(|(c, _, m)| refused(c, m)), "{codes:?}");
    // Everything acknowledged, up to the last call answered during the drain, is stored.
    for (c, n) in &acknowledged {
        assert_eq!(stored.get(&format!("crm-{c}-{n}")), Some(&1), "acknowledged ({c}, {n}) not stored once");
    }
    eprintln!(
        "SIGTERM: exit 0 after {} ms; {} acknowledged and stored, {} refused and not stored",
        took.as_millis(),
        acknowledged.len(),
        codes.len()
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// A TCP relay between the server and PostgreSQL that can go down like a restarting database:
/// every open connection is cut and new ones are refused until it comes back on the same port.
struct Relay {
    addr: std::net::SocketAddr,
    upstream: String,
    running: Option<tokio::task::JoinHandle<()>>,
}

impl Relay {
    /// A relay to the server that `url` names, and `url` changed to go through it.
    async fn start(url: &str) -> (Relay, String) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (relayed, upstream) = through(url, addr);
        let running = Some(tokio::spawn(relay(listener, upstream.clone())));
        (Relay { addr, upstream, running }, relayed)
    }

    /// Cuts every connection and stops listening (connections are then refused).
    fn down(&mut self) {
        if let Some(task) = self.running.take() {
            task.abort();
        }
    }

    async fn up(&mut self) {
        let listener = tokio::net::TcpListener::bind(self.addr).await.unwrap();
        self.running = Some(tokio::spawn(relay(listener, self.upstream.clone())));
    }
}

async fn relay(listener: tokio::net::TcpListener, upstream: String) {
    // Dropped with this task: aborting it closes every relayed connection.
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let Ok((mut inbound, _)) = listener.accept().await else { continue };
        let upstream = upstream.clone();
        connections.spawn(async move {
            if let Ok(mut outbound) = tokio::net::TcpStream::connect(&upstream).await {
                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
            }
        });
        while connections.try_join_next().is_some() {}
    }
}

/// `url` with its host and port replaced by `addr`, and the host and port it named.
fn through(url: &str, addr: std::net::SocketAddr) -> (String, String) {
    let start = url.find("://").unwrap() + 3;
    let end = url[start..].find('/').map_or(url.len(), |i| start + i);
    let host_start = url[start..end].rfind('@').map_or(start, |i| start + i + 1);
    (format!("{}{addr}{}", &url[..host_start], &url[end..]), url[host_start..end].to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_restart_under_load_is_unavailable_meanwhile_and_loses_nothing() {
    const CLIENTS: usize = 8;
    let db = TestDb::empty(migrations::test_db::Backend::Postgres).await;
    let dir = scratch("fault-pg-restart");
    let (mut relay, url) = Relay::start(&db.url).await;
    let (mut child, channel, key, sample) = tenant_and_server(&db.url, &url, &dir).await;

    let stop = Arc::new(AtomicBool::new(false));
    let clients = submitting_clients(&channel, &key, &sample, CLIENTS, &stop);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // Down for longer than the pool's 5-second wait, so that waiting calls are refused too.
    relay.down();
    tokio::time::sleep(Duration::from_secs(7)).await;
    relay.up().await;
    let back = std::time::Instant::now();
    // The server reconnects by itself: a new submission succeeds without any help.
    let mut probe = PersistenceServiceClient::new(channel.clone());
    let mut n = 0;
    let recovered = loop {
        let request = submission(99, n, &sample);
        match probe.submit_assessment(as_tenant(request, Some(&key), "").unwrap()).await {
            Ok(_) => break back.elapsed(),
            Err(status) => assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}"),
        }
        assert!(back.elapsed() < Duration::from_secs(20), "no recovery 20 s after the database came back");
        tokio::time::sleep(Duration::from_millis(100)).await;
        n += 1;
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, Ordering::Relaxed);
    let (acknowledged, (ok, failed)) = seen(clients).await;

    assert!(!failed.is_empty(), "the outage went unnoticed");
    // Meanwhile every refusal was UNAVAILABLE (retryable) with a clear message, none INTERNAL.
    for (code, call, message) in &failed {
        assert_eq!(*code, tonic::Code::Unavailable, "{call:?}: {message}");
        assert!(message.contains("database is unavailable"), "{call:?}: {message}");
    }
    // Every client was answered again after the outage: its last call succeeded.
    for c in 0..CLIENTS {
        let last_ok = ok.iter().filter(|(k, _)| *k == c).map(|(_, n)| *n).max();
        let last_failed = failed.iter().filter(|(_, (k, _), _)| *k == c).map(|(_, (_, n), _)| *n).max();
        assert!(last_ok > last_failed, "client {c} was not served again: {last_ok:?} vs {last_failed:?}");
    }
    let stored_now = stored(channel.clone(), &key).await;
    let name = |(c, n): &(usize, usize)| format!("crm-{c}-{n}");
    for a in &acknowledged {
        assert_eq!(stored_now.get(&name(a)), Some(&1), "acknowledged {a:?} not stored once");
    }
    // The refused calls, retried with their request ids: each stored exactly once.
    let mut client = PersistenceServiceClient::new(channel.clone());
    for (_, (c, n), _) in &failed {
        client.submit_assessment(as_tenant(submission(*c, *n, &sample), Some(&key), "").unwrap()).await.unwrap();
    }
    let retried = stored(channel, &key).await;
    let probes = retried.keys().filter(|r| r.starts_with("crm-99-")).count();
    assert_eq!(retried.len() - probes, acknowledged.len() + failed.len());
    assert!(retried.values().all(|n| *n == 1));
    eprintln!(
        "PostgreSQL down 7 s under {CLIENTS} clients: {} acknowledged (all stored once), {} refused UNAVAILABLE \
         ({} of them stored anyway, the cut came after the commit), all stored once after retry; \
         a new submission succeeded {} ms after the database came back",
        acknowledged.len(),
        failed.len(),
        failed.iter().filter(|(_, call, _)| stored_now.contains_key(&name(call))).count(),
        recovered.as_millis()
    );
    std::process::Command::new("kill").args(["-TERM", &child.0.id().to_string()]).status().unwrap();
    assert_eq!(tokio::task::block_in_place(|| child.0.wait().unwrap().code()), Some(0));
    std::fs::remove_dir_all(dir).unwrap();
}
