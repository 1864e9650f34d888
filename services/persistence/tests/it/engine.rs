//! The benchmark engine: publication out of the write path, one publisher per database by its
//! lease, and servers that answer from memory and agree after a publication. Both backends.

use migrations::sea_orm::{ConnectionTrait, Statement};
use migrations::test_db::BACKENDS;
use services_api::v1 as pb;
use services_persistence::store;

use crate::{TestApp, as_tenant, spawn_app, spawn_second, submission};

fn query(group: (&str, &str, &str)) -> pb::QueryBenchmarkRequest {
    pb::QueryBenchmarkRequest {
        group: Some(pb::PeerGroup {
            sbi_section: group.0.into(),
            size_class: group.1.into(),
            province: group.2.into(),
        }),
        year: 2024,
        model: None,
        locale: "nl".into(),
    }
}

const CELLS: [(&str, &str, &str); 4] =
    [("C", "small", "NL-NB"), ("C", "medium", "NL-NB"), ("G", "small", "NL-ZH"), ("J", "micro", "NL-UT")];

async fn submit(app: &mut TestApp, tag: &str, i: usize) {
    let cell = CELLS[i % CELLS.len()];
    let level = (i % 17) as f64 / 16.0;
    let id = format!("{tag}-{i}");
    app.persistence.submit_assessment(as_tenant("acme", submission(&id, &id, cell, level))).await.unwrap();
}

async fn count(app: &TestApp, table: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) AS n FROM {table}");
    let row = app.conn.query_one_raw(Statement::from_string(app.conn.get_database_backend(), sql)).await.unwrap();
    row.unwrap().try_get::<i64>("", "n").unwrap()
}

async fn groups(app: &mut TestApp) -> Vec<pb::GroupUsed> {
    match app.benchmark.list_peer_groups(pb::ListPeerGroupsRequest { year: 2024, ..Default::default() }).await {
        Ok(r) => r.into_inner().groups,
        Err(s) if s.code() == tonic::Code::NotFound => Vec::new(),
        Err(s) => panic!("{s:?}"),
    }
}

/// Submissions keep arriving while the publisher runs rounds: every one is stored, every change is
/// published in the end, and no round ever publishes a group below k.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submissions_during_publication_lose_nothing_and_publish_nothing_below_k() {
    for backend in BACKENDS {
        let mut app = spawn_app(backend).await;
        let engine = std::sync::Arc::clone(&app.engine);
        let (done_tx, mut done_rx) = tokio::sync::watch::channel(false);
        let publisher = tokio::spawn(async move {
            let mut rounds = Vec::new();
            while !*done_rx.borrow_and_update() {
                rounds.push(engine.sync().await.unwrap());
                let _ = tokio::time::timeout(std::time::Duration::from_millis(20), done_rx.changed()).await;
            }
            rounds
        });
        let mut writers = Vec::new();
        for w in 0..4 {
            let mut client = app.persistence.clone();
            writers.push(tokio::spawn(async move {
                for i in 0..30 {
                    let id = format!("w{w}-{i}");
                    let cell = CELLS[(w + i) % CELLS.len()];
                    let req = submission(&id, &id, cell, (i % 11) as f64 / 10.0);
                    client.submit_assessment(as_tenant("acme", req)).await.unwrap();
                }
            }));
        }
        let mut observed = Vec::new();
        for _ in 0..20 {
            observed.extend(groups(&mut app).await);
            tokio::time::sleep(std::time::Duration::from_millis(15)).await;
        }
        for w in writers {
            w.await.unwrap();
        }
        let _ = done_tx.send(true);
        let rounds = publisher.await.unwrap();
        app.publish().await;
        assert_eq!(count(&app, "assessments").await, 120, "{backend:?}");
        assert_eq!(count(&app, "benchmark_contributions").await, 120, "{backend:?}");
        assert_eq!(count(&app, "benchmark_changes").await, 0, "{backend:?}: changes left unpublished");
        let published: usize = rounds.iter().map(|r| r.changes).sum();
        assert!(published <= 120 && rounds.iter().all(|r| r.leader), "{backend:?}: {rounds:?}");
        let last = groups(&mut app).await;
        observed.extend(last.iter().cloned());
        assert!(observed.iter().all(|g| g.n >= g.k), "{backend:?}: a group below k was published");
        let national = last.iter().find(|g| g.level == "all").expect("national group");
        // Published figures lag by fewer than k changes (the republication rule).
        assert!(national.n + national.k > 120 && national.n <= 120, "{backend:?}: national n = {}", national.n);
    }
}

/// Two servers on one database: both take submissions, one publishes, both answer with the same
/// figures after the publication; when the publishing one stops renewing its lease the other
/// takes over, and a publisher that lost its lease writes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_agree_and_the_second_takes_over_the_publication() {
    for backend in BACKENDS {
        let mut first = spawn_app(backend).await;
        let mut second = spawn_second(&first).await;
        // The first takes the lease; the second may not publish while it holds it.
        assert!(first.publish().await.leader, "{backend:?}");
        for i in 0..24 {
            if i % 2 == 0 {
                submit(&mut first, "a", i).await;
            } else {
                submit(&mut second, "b", i).await;
            }
        }
        let refused = second.publish().await;
        assert!(!refused.leader && refused.changes == 0, "{backend:?}: {refused:?}");
        assert_eq!(count(&first, "benchmark_changes").await, 24, "{backend:?}");
        let round = first.publish().await;
        assert_eq!((round.leader, round.changes), (true, 24), "{backend:?}");
        second.engine.refresh().await.unwrap();
        let (a, b) = (groups(&mut first).await, groups(&mut second).await);
        assert!(!a.is_empty(), "{backend:?}");
        assert_eq!(a, b, "{backend:?}: the servers disagree after publication");
        let (qa, qb) = (
            first.benchmark.query_benchmark(query(("C", "", ""))).await.unwrap().into_inner(),
            second.benchmark.query_benchmark(query(("C", "", ""))).await.unwrap().into_inner(),
        );
        assert_eq!(qa, qb, "{backend:?}");

        // The first server dies (its lease runs out unrenewed): more submissions, then the second
        // takes over and publishes them.
        for i in 24..40 {
            submit(&mut second, "c", i).await;
        }
        let expire = "UPDATE benchmark_publisher SET lease_until_us = 1";
        first.conn.execute_unprepared(expire).await.unwrap();
        let took_over = second.publish().await;
        assert_eq!((took_over.leader, took_over.changes), (true, 16), "{backend:?}: {took_over:?}");
        first.engine.refresh().await.unwrap();
        assert_eq!(groups(&mut first).await, groups(&mut second).await, "{backend:?}");
        let national = groups(&mut second).await.into_iter().find(|g| g.level == "all").unwrap();
        assert_eq!(national.n, 40, "{backend:?}");
        // The first comes back: it may not publish, and a write under its old lease is fenced.
        assert!(!first.publish().await.leader, "{backend:?}");
        let now = services_persistence::time::now_us();
        let fenced = store::bump_generation(&first.conn, Some(first.engine.holder()), now, now + 5_000_000).await;
        assert_eq!(fenced.unwrap(), None, "{backend:?}: a publisher without the lease bumped the generation");
        drop(second);
    }
}

/// A publication that dies before its commit leaves the previous release in force and its
/// changes pending; the next round publishes them.
#[tokio::test]
async fn an_interrupted_publication_leaves_the_previous_release_and_the_next_completes_it() {
    for backend in BACKENDS {
        let mut app = spawn_app(backend).await;
        for i in 0..20 {
            submit(&mut app, "a", i).await;
        }
        app.publish().await;
        let before = app.benchmark.query_benchmark(query(("", "", ""))).await.unwrap().into_inner();
        assert_eq!(before.group_used.as_ref().unwrap().n, 20);
        for i in 20..32 {
            submit(&mut app, "b", i).await;
        }
        // A publication's transaction, cut off before its commit (as a SIGKILL would): the plan
        // is written, then rolled back.
        {
            use migrations::sea_orm::TransactionTrait;
            let universe = store::Universe { model_id: "nl-social-business".into(), model_version: 1, year: 2024 };
            let plan =
                services_persistence::publish::plan_universe(&app.conn, Default::default(), &universe).await.unwrap();
            assert!(!plan.puts.is_empty());
            let tx = app.conn.begin().await.unwrap();
            services_persistence::publish::apply(&tx, &universe, &plan, 99, 0).await.unwrap();
            tx.rollback().await.unwrap();
        }
        app.engine.refresh().await.unwrap();
        let during = app.benchmark.query_benchmark(query(("", "", ""))).await.unwrap().into_inner();
        assert_eq!(during, before, "{backend:?}: a half-done publication became visible");
        assert_eq!(count(&app, "benchmark_changes").await, 12, "{backend:?}");
        let round = app.publish().await;
        assert_eq!(round.changes, 12, "{backend:?}");
        let after = app.benchmark.query_benchmark(query(("", "", ""))).await.unwrap().into_inner();
        assert_eq!(after.group_used.unwrap().n, 32, "{backend:?}");
    }
}
