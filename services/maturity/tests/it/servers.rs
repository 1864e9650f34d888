//! More than one server on one database, as processes, on both backends: both take submissions,
//! one publishes, both answer with the same figures after the publication; the publishing one is
//! SIGKILLed and the other takes the publication over within seconds.

use std::time::{Duration, Instant};

use migrations::sea_orm::{ConnectionTrait, DbBackend, Statement};
use migrations::test_db::{BACKENDS, Backend, TestDb};
use services_api::v1 as pb;
use services_api::v1::benchmark_service_client::BenchmarkServiceClient;
use services_api::v1::persistence_service_client::PersistenceServiceClient;
use services_maturity::demo::as_tenant;
use tonic::transport::Channel;

use crate::scratch;
use crate::webhooks::{Server, admin, serve};

async fn submit(channel: &Channel, key: &str, sample: &pb::ScoreAssessmentRequest, tag: &str, n: usize) {
    let mut client = PersistenceServiceClient::new(channel.clone());
    for i in 0..n {
        let request = pb::SubmitAssessmentRequest {
            request_id: format!("{tag}-{i}"),
            external_ref: format!("{tag}-{i}"),
            firm_name: format!("Server test {tag}-{i} B.V."),
            completed_at: None,
            assessment: Some(sample.clone()),
        };
        client.submit_assessment(as_tenant(request, Some(key), "").unwrap()).await.unwrap();
    }
}

/// The national group as `channel`'s server publishes it now (None before any publication).
async fn national(channel: &Channel, key: &str) -> Option<pb::QueryBenchmarkResponse> {
    let mut client = BenchmarkServiceClient::new(channel.clone());
    let request = pb::QueryBenchmarkRequest::default();
    client.query_benchmark(as_tenant(request, Some(key), "").unwrap()).await.ok().map(tonic::Response::into_inner)
}

/// Waits until `channel`'s server publishes a national n of `n`; how long that took.
async fn until_published(channel: &Channel, key: &str, n: u32, limit: Duration) -> Duration {
    let start = Instant::now();
    loop {
        let got = national(channel, key).await.and_then(|r| r.group_used).map_or(0, |g| g.n);
        if got == n {
            return start.elapsed();
        }
        assert!(start.elapsed() < limit, "national n is {got}, not {n}, after {limit:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn publisher_pid(db: &TestDb) -> u32 {
    let conn = db.connect().await;
    let backend = if db.backend == Backend::Sqlite { DbBackend::Sqlite } else { DbBackend::Postgres };
    let sql = "SELECT holder FROM benchmark_publisher WHERE id = 1".to_string();
    let row = conn.query_one_raw(Statement::from_string(backend, sql)).await.unwrap().unwrap();
    let holder: String = row.try_get("", "holder").unwrap();
    holder.split('-').next().unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_publish_once_agree_and_survive_the_publishers_death() {
    for backend in BACKENDS {
        let db = TestDb::empty(backend).await;
        let dir = scratch(&format!("servers-{backend:?}"));
        admin(&db.url, &dir, &["create-tenant", "acme", "--name", "Acme"]);
        let key = admin(&db.url, &dir, &["issue-key", "acme"]).lines().last().unwrap().trim().to_string();
        let sample = services_maturity::sample::parse("sample", services_maturity::sample::BUILTIN).unwrap().request;
        let mut servers: Vec<(Server, Channel)> = Vec::new();
        for _ in 0..2 {
            let (server, addr) = serve(&db.url, &dir);
            let channel = services_maturity::demo::connect(&addr, Duration::from_secs(10)).await.unwrap();
            servers.push((server, channel));
        }
        // Both take submissions; the figures appear on both, and both answer alike.
        submit(&servers[0].1, &key, &sample, "a", 12).await;
        submit(&servers[1].1, &key, &sample, "b", 12).await;
        for (_, channel) in &servers {
            until_published(channel, &key, 24, Duration::from_secs(10)).await;
        }
        let (first, second) = (national(&servers[0].1, &key).await, national(&servers[1].1, &key).await);
        assert_eq!(first, second, "{backend:?}: the servers disagree after publication");
        // The publisher dies; the survivor takes over and publishes what it is sent next.
        let pid = publisher_pid(&db).await;
        let at = servers.iter().position(|(s, _)| s.0.id() == pid).expect("the publisher is one of the two servers");
        let (mut dead, _) = servers.remove(at);
        dead.0.kill().unwrap();
        dead.0.wait().unwrap();
        let (survivor, channel) = &servers[0];
        submit(channel, &key, &sample, "c", 12).await;
        let took = until_published(channel, &key, 36, Duration::from_secs(20)).await;
        assert_eq!(publisher_pid(&db).await, survivor.0.id(), "{backend:?}");
        println!("{backend:?}: the survivor published {took:?} after the publisher's death");
        drop(servers);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
