//! The benchmark engine: publication out of the write path, one publisher per database by its
//! lease, and servers that answer from memory and agree after a publication. Both backends.

use migrations::sea_orm::{ConnectionTrait, Statement};
use migrations::test_db::BACKENDS;
use services_api::v1 as pb;

use crate::{TestApp, as_tenant, query_in, spawn_app, spawn_second, submission};

fn query(group: (&str, &str, &str)) -> pb::QueryBenchmarkRequest {
    query_in(group, "nl")
}

const CELLS: [(&str, &str, &str); 4] =
    [("C", "small", "NL-NB"), ("C", "medium", "NL-NB"), ("G", "small", "NL-ZH"), ("J", "micro", "NL-UT")];

async fn submit(app: &TestApp, tag: &str, i: usize) {
    let cell = CELLS[i % CELLS.len()];
    let level = (i % 17) as f64 / 16.0;
    let id = format!("{tag}-{i}");
    app.persistence_client().submit_assessment(as_tenant("acme", submission(&id, &id, cell, level))).await.unwrap();
}

async fn count(app: &TestApp, table: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) AS n FROM {table}");
    let row = app.db.query_one_raw(Statement::from_string(app.db.get_database_backend(), sql)).await.unwrap();
    row.unwrap().try_get::<i64>("", "n").unwrap()
}

async fn groups(app: &TestApp) -> Vec<pb::GroupUsed> {
    match app.benchmark_client().list_peer_groups(pb::ListPeerGroupsRequest { year: 2024, ..Default::default() }).await
    {
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
        let app = spawn_app(backend).await;
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
            let mut client = app.persistence_client().clone();
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
            observed.extend(groups(&app).await);
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
        let last = groups(&app).await;
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
        let first = spawn_app(backend).await;
        let second = spawn_second(&first).await;
        // The first takes the lease; the second may not publish while it holds it.
        assert!(first.publish().await.leader, "{backend:?}");
        for i in 0..24 {
            if i % 2 == 0 {
                submit(&first, "a", i).await;
            } else {
                submit(&second, "b", i).await;
            }
        }
        let refused = second.publish().await;
        assert!(!refused.leader && refused.changes == 0, "{backend:?}: {refused:?}");
        assert_eq!(count(&first, "benchmark_changes").await, 24, "{backend:?}");
        let round = first.publish().await;
        assert_eq!((round.leader, round.changes), (true, 24), "{backend:?}");
        second.engine.refresh().await.unwrap();
        let (a, b) = (groups(&first).await, groups(&second).await);
        assert!(!a.is_empty(), "{backend:?}");
        assert_eq!(a, b, "{backend:?}: the servers disagree after publication");
        let (qa, qb) = (
            first.benchmark_client().query_benchmark(query(("C", "", ""))).await.unwrap().into_inner(),
            second.benchmark_client().query_benchmark(query(("C", "", ""))).await.unwrap().into_inner(),
        );
        assert_eq!(qa, qb, "{backend:?}");

        // The first server dies (its lease runs out unrenewed): more submissions, then the second
        // takes over and publishes them.
        for i in 24..40 {
            submit(&second, "c", i).await;
        }
        let expire = "UPDATE benchmark_publisher SET lease_until_us = 1";
        first.db.execute_unprepared(expire).await.unwrap();
        let took_over = second.publish().await;
        assert_eq!((took_over.leader, took_over.changes), (true, 16), "{backend:?}: {took_over:?}");
        first.engine.refresh().await.unwrap();
        assert_eq!(groups(&first).await, groups(&second).await, "{backend:?}");
        let national = groups(&second).await.into_iter().find(|g| g.level == "all").unwrap();
        assert_eq!(national.n, 40, "{backend:?}");
        // The first comes back: it may not publish, and a write under its old lease is fenced.
        assert!(!first.publish().await.leader, "{backend:?}");
        let now = store::time::now_us();
        let fenced = store::bump_generation(&first.db, Some(first.engine.holder()), now, now + 5_000_000).await;
        assert_eq!(fenced.unwrap(), None, "{backend:?}: a publisher without the lease bumped the generation");
        drop(second);
    }
}

/// A publication that dies before its commit leaves the previous release in force and its
/// changes pending; the next round publishes them.
#[tokio::test]
async fn an_interrupted_publication_leaves_the_previous_release_and_the_next_completes_it() {
    for backend in BACKENDS {
        let app = spawn_app(backend).await;
        for i in 0..20 {
            submit(&app, "a", i).await;
        }
        app.publish().await;
        let before = app.benchmark_client().query_benchmark(query(("", "", ""))).await.unwrap().into_inner();
        assert_eq!(before.group_used.as_ref().unwrap().n, 20);
        for i in 20..32 {
            submit(&app, "b", i).await;
        }
        // A publication's transaction, cut off before its commit (as a SIGKILL would): the plan
        // is written, then rolled back.
        {
            use migrations::sea_orm::TransactionTrait;
            let universe = store::Universe { model_id: "nl-social-business".into(), model_version: 3, year: 2024 };
            let plan = store::publish::plan_universe(&app.db, Default::default(), &universe).await.unwrap();
            assert!(!plan.puts.is_empty());
            let tx = app.db.begin().await.unwrap();
            store::publish::apply(&tx, &universe, &plan, 99, 0).await.unwrap();
            tx.rollback().await.unwrap();
        }
        app.engine.refresh().await.unwrap();
        let during = app.benchmark_client().query_benchmark(query(("", "", ""))).await.unwrap().into_inner();
        assert_eq!(during, before, "{backend:?}: a half-done publication became visible");
        assert_eq!(count(&app, "benchmark_changes").await, 12, "{backend:?}");
        let round = app.publish().await;
        assert_eq!(round.changes, 12, "{backend:?}");
        let after = app.benchmark_client().query_benchmark(query(("", "", ""))).await.unwrap().into_inner();
        assert_eq!(after.group_used.unwrap().n, 32, "{backend:?}");
    }
}

/// A release published before m0007 and m0008 (version 1: the API's protobuf message with every
/// member's sorted values) is re-encoded by the migration and answered after it: the same
/// distributions, the same stage shares, and positions equal to the scan over the old values.
#[tokio::test]
async fn a_release_in_the_old_encoding_is_read_after_the_migration() {
    use migrations::MigratorTrait;
    use migrations::m0008_figures_encoding::{DistributionV1, FiguresV1, StageSharesV1};
    use prost::Message;
    for backend in BACKENDS {
        let db = migrations::test_db::TestDb::empty(backend).await;
        let conn = db.connect().await;
        migrations::Migrator::up(&conn, Some(6)).await.unwrap();
        let maturity_values = vec![12.5, 30.0, 30.0, 41.0, 55.5, 55.5, 55.5, 60.0, 72.25, 90.0];
        let old = FiguresV1 {
            distributions: vec![DistributionV1 {
                metric: "maturity_index".into(),
                n: 10,
                mean: 50.225,
                sd: 22.4,
                p10: 28.25,
                p25: 32.75,
                p50: 55.5,
                p75: 58.875,
                p90: 74.025,
            }],
            stage_shares: vec![
                StageSharesV1 { axis: "external".into(), shares: vec![0.1, 0.2, 0.3, 0.4, 0.0] },
                StageSharesV1 { axis: "internal".into(), shares: vec![0.0, 0.5, 0.5, 0.0, 0.0] },
            ],
            maturity_values: maturity_values.clone(),
            external_values: maturity_values.iter().map(|v| v / 2.0).collect(),
            internal_values: maturity_values.iter().map(|v| 100.0 - v).rev().collect(),
            stage_matrix: (0..25).collect(),
        };
        let insert = migrations::sea_query::Query::insert()
            .into_table(migrations::m0003_benchmark_releases::BenchmarkReleases::Table)
            .columns([
                migrations::m0003_benchmark_releases::BenchmarkReleases::ModelId,
                migrations::m0003_benchmark_releases::BenchmarkReleases::ModelVersion,
                migrations::m0003_benchmark_releases::BenchmarkReleases::Year,
                migrations::m0003_benchmark_releases::BenchmarkReleases::GroupKey,
                migrations::m0003_benchmark_releases::BenchmarkReleases::Level,
                migrations::m0003_benchmark_releases::BenchmarkReleases::N,
                migrations::m0003_benchmark_releases::BenchmarkReleases::SyntheticShare,
                migrations::m0003_benchmark_releases::BenchmarkReleases::Watermark,
                migrations::m0003_benchmark_releases::BenchmarkReleases::Figures,
                migrations::m0003_benchmark_releases::BenchmarkReleases::PublishedAtUs,
            ])
            .values_panic([
                "nl-social-business".into(),
                1.into(),
                2024.into(),
                "*/*/*".into(),
                "all".into(),
                10.into(),
                1.0f64.into(),
                7i64.into(),
                old.encode_to_vec().into(),
                0i64.into(),
            ])
            .to_owned();
        conn.execute(&insert).await.unwrap();
        drop(conn);
        // A server opens the database: the rest of the migrations run, the release is loaded.
        let app = crate::spawn_on(db).await;
        // The release was published for model version 1, which a query must name: without a
        // version it asks for the default model's latest (versions are never pooled).
        let v1 = pb::QueryBenchmarkRequest {
            model: Some(pb::ModelRef { id: "nl-social-business".into(), version: 1 }),
            ..query(("", "", ""))
        };
        let answer = app.benchmark_client().query_benchmark(v1).await.unwrap().into_inner();
        let used = answer.group_used.unwrap();
        assert_eq!((used.level.as_str(), used.n), ("all", 10), "{backend:?}");
        let d = &answer.distributions[0];
        assert_eq!((d.metric.as_str(), d.n, d.p50, d.p90), ("maturity_index", 10, 55.5, 74.025), "{backend:?}");
        assert_eq!(answer.stage_shares.len(), 2, "{backend:?}");
        assert_eq!(answer.stage_shares[0].shares, [0.1, 0.2, 0.3, 0.4, 0.0], "{backend:?}");
        for x in [0.0, 30.0, 55.5, 56.0, 90.0, 100.0] {
            let position = app
                .benchmark_client()
                .get_peer_position(pb::GetPeerPositionRequest {
                    firm: Some(pb::FirmAttributes {
                        sbi_section: "C".into(),
                        size_class: "small".into(),
                        province: "NL-UT".into(),
                    }),
                    year: 2024,
                    maturity_index: x,
                    external_index: x / 2.0,
                    internal_index: 100.0 - x,
                    model: Some(pb::ModelRef { id: "nl-social-business".into(), version: 1 }),
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner();
            let scan = [
                domain_statistics::mid_rank_percentile(&old.maturity_values, x),
                domain_statistics::mid_rank_percentile(&old.external_values, x / 2.0),
                domain_statistics::mid_rank_percentile(&old.internal_values, 100.0 - x),
            ];
            let got: Vec<Option<f64>> = position.positions.iter().map(|p| Some(p.percentile)).collect();
            assert_eq!(got, scan, "{backend:?}: x = {x}");
        }
        // And the stored row is now the store's own encoding.
        let row = app
            .db
            .query_one_raw(Statement::from_string(
                app.db.get_database_backend(),
                "SELECT figures FROM benchmark_releases".to_string(),
            ))
            .await
            .unwrap()
            .unwrap();
        let bytes: Vec<u8> = row.try_get("", "figures").unwrap();
        assert!(bytes.starts_with(b"{\"v\":2,"), "{backend:?}");
    }
}

/// The national group's figures as a publication from a read of the whole universe stores them
/// (the pay cells are decided across all the universe's groups, so through the plan).
fn whole_read(members: &[store::Member]) -> Vec<u8> {
    let groups = store::publish::Groups::of(members);
    let plan = store::publish::plan(Default::default(), 2024, &groups, Vec::<(String, i64)>::new());
    plan.puts.into_iter().find(|r| r.group_key == "*/*/*").expect("the national group").figures
}

/// The national group's stored figures and n, read from the store.
async fn national_release(app: &TestApp) -> (i32, Vec<u8>) {
    let model = domain_model::ModelRegistry::builtin().unwrap().resolve("", 0).unwrap();
    let version = i32::try_from(model.version).unwrap();
    let rows = store::releases(&app.db, &model.id, version, Some(2024), Some("*/*/*")).await.unwrap();
    let r = rows.into_iter().next().expect("a national release");
    (r.n, r.figures)
}

/// The publisher keeps the universe it published in memory: a later round reads only the
/// contributions its changes name, and publishes exactly what a publication from a read of the
/// whole universe would. It reads the universe whole again when someone else published it since
/// (another server held the lease) or when a change names no contribution.
#[tokio::test]
async fn a_round_reads_only_the_changed_contributions_and_publishes_what_a_whole_read_would() {
    let universe = store::Universe { model_id: "nl-social-business".into(), model_version: 3, year: 2024 };
    for backend in BACKENDS {
        let first = spawn_app(backend).await;
        let second = spawn_second(&first).await;
        for i in 0..20 {
            submit(&first, "a", i).await;
        }
        let round = first.publish().await;
        assert_eq!((round.changes, round.read), (20, 20), "{backend:?}: the first round reads the universe");
        // Twelve changes: six new firms, six firms that submit again (latest wins).
        for i in 20..26 {
            submit(&first, "b", i).await;
        }
        for i in 3..9 {
            let (request, firm) = (format!("again-{i}"), format!("a-{i}"));
            let req = submission(&request, &firm, CELLS[i % CELLS.len()], 0.95);
            second.persistence_client().submit_assessment(as_tenant("acme", req)).await.unwrap();
        }
        let round = first.publish().await;
        assert_eq!((round.changes, round.read), (12, 12), "{backend:?}: {round:?}");
        // What it published is what a read of the whole universe gives now.
        let members = store::members(&first.db, &universe.model_id, universe.model_version, 2024).await.unwrap();
        assert_eq!(members.len(), 26, "{backend:?}");
        let whole = whole_read(&members);
        assert_eq!(national_release(&first).await, (26, whole), "{backend:?}");
        let again = store::publish::plan_universe(&first.db, Default::default(), &universe).await.unwrap();
        assert_eq!(
            (again.puts.len(), again.withdrawals.len()),
            (0, 0),
            "{backend:?}: a whole read would publish more than the round did"
        );

        // The second server takes the lease over and publishes: it reads the universe whole.
        for i in 26..38 {
            submit(&second, "c", i).await;
        }
        let expire = "UPDATE benchmark_publisher SET lease_until_us = 1";
        first.db.execute_unprepared(expire).await.unwrap();
        let round = second.publish().await;
        assert_eq!((round.leader, round.changes, round.read), (true, 12, 38), "{backend:?}: {round:?}");
        // The first takes it back: its memory is of an older publication, so it reads whole too.
        for i in 38..50 {
            submit(&first, "d", i).await;
        }
        first.db.execute_unprepared(expire).await.unwrap();
        let round = first.publish().await;
        assert_eq!((round.leader, round.changes, round.read), (true, 12, 50), "{backend:?}: {round:?}");
        for i in 50..62 {
            submit(&first, "e", i).await;
        }
        let round = first.publish().await;
        assert_eq!((round.changes, round.read), (12, 12), "{backend:?}: {round:?}");
        // A change that names no contribution (a step that changed many) makes it read whole.
        store::record_change(&first.db, &universe, None).await.unwrap();
        let round = first.publish().await;
        assert_eq!((round.changes, round.read), (1, 62), "{backend:?}: {round:?}");
        let members = store::members(&first.db, &universe.model_id, universe.model_version, 2024).await.unwrap();
        let whole = whole_read(&members);
        assert_eq!(national_release(&first).await, (62, whole), "{backend:?}");
        drop(second);
    }
}

/// A publisher that starts, or takes the lease over, reads ahead the universe that submissions go
/// to (the model's newest year, not an older one) before any change of it arrives, so that its
/// first round with changes reads only those; a publication by anyone else since (here: demo
/// seeding) has it read ahead again.
#[tokio::test]
async fn a_new_publisher_reads_the_newest_universe_ahead_and_then_only_the_changes() {
    let universe = store::Universe { model_id: "nl-social-business".into(), model_version: 3, year: 2024 };
    for backend in BACKENDS {
        let first = spawn_app(backend).await;
        let second = spawn_second(&first).await;
        // Fourteen firms in 2024, three in 2023.
        for i in 0..14 {
            submit(&first, "a", i).await;
        }
        for i in 0..3 {
            let mut req = submission(&format!("old-{i}"), &format!("old-{i}"), CELLS[i % CELLS.len()], 0.5);
            // 2023-07-01T00:00:00Z.
            req.completed_at = Some(prost_types::Timestamp { seconds: 1_688_169_600, nanos: 0 });
            first.persistence_client().submit_assessment(as_tenant("acme", req)).await.unwrap();
        }
        let round = first.publish().await;
        let seen = (round.universes, round.changes, round.read, round.read_ahead);
        assert_eq!(seen, (2, 17, 17, 0), "{backend:?}: both universes read with their changes: {round:?}");

        // The second server takes the lease over with nothing pending: it reads 2024 ahead.
        first.db.execute_unprepared("UPDATE benchmark_publisher SET lease_until_us = 1").await.unwrap();
        let round = second.publish().await;
        let seen = (round.leader, round.universes, round.read, round.read_ahead);
        assert_eq!(seen, (true, 0, 0, 14), "{backend:?}: 2024 read ahead, 2023 not: {round:?}");
        assert_eq!(second.publish().await.read_ahead, 0, "{backend:?}: held, not read again");
        for i in 14..26 {
            submit(&second, "b", i).await;
        }
        let round = second.publish().await;
        let seen = (round.universes, round.changes, round.read, round.read_ahead);
        assert_eq!(seen, (1, 12, 12, 0), "{backend:?}: only the changes read: {round:?}");
        let members = store::members(&second.db, &universe.model_id, universe.model_version, 2024).await.unwrap();
        assert_eq!(members.len(), 26, "{backend:?}");
        let whole = whole_read(&members);
        assert_eq!(national_release(&second).await, (26, whole), "{backend:?}: what a whole read publishes");

        // Published by someone else since: the mirror is stale and read ahead again.
        let tx = store::begin_write(&second.db).await.unwrap();
        store::publish::publish_universe(&tx, Default::default(), &universe, store::time::now_us()).await.unwrap();
        store::commit(tx).await.unwrap();
        assert_eq!(second.publish().await.read_ahead, 26, "{backend:?}");
        assert_eq!(second.publish().await.read_ahead, 0, "{backend:?}");
        drop(first);
    }
}

/// The groups of 2024 as `engine` holds them, comparable.
fn held(app: &TestApp, engine: &store::engine::Benchmarks) -> Vec<(String, i32, store::figures::Figures)> {
    let groups = engine.groups(&app.model(), 2024);
    groups.iter().map(|h| (store::publish::key_text(&h.group), h.n, (*h.figures).clone())).collect()
}

#[tokio::test]
async fn a_refresh_decodes_only_the_groups_published_anew_and_holds_what_a_whole_read_would() {
    for backend in BACKENDS {
        let first = spawn_app(backend).await;
        let second = spawn_second(&first).await;
        for i in 0..40 {
            submit(&first, "a", i).await;
        }
        let round = first.publish().await;
        let released = count(&first, "benchmark_releases").await;
        assert!(round.groups.published > 0 && released > 0, "{backend:?}: {round:?}");
        // The second server has held nothing of the universe: it reads it whole.
        let refreshed = second.engine.refresh().await.unwrap();
        assert_eq!((refreshed.universes, refreshed.decoded as i64), (1, released), "{backend:?}: {refreshed:?}");

        // Twelve more firms in one cell: its ladder is republished, the other groups are kept.
        for i in 0..12 {
            let id = format!("b-{i}");
            let req = submission(&id, &id, CELLS[2], 0.5);
            first.persistence_client().submit_assessment(as_tenant("acme", req)).await.unwrap();
        }
        let round = first.publish().await;
        assert!(round.groups.published > 0 && round.groups.kept > 0, "{backend:?}: {round:?}");
        let refreshed = second.engine.refresh().await.unwrap();
        assert_eq!(refreshed.decoded, round.groups.published, "{backend:?}: {refreshed:?} after {round:?}");
        // Nothing new: nothing read.
        assert_eq!(second.engine.refresh().await.unwrap().decoded, 0, "{backend:?}");

        // What it holds is what a server starting now reads whole, and what the publisher holds.
        let fresh = store::engine::Benchmarks::new(second.db.clone(), Default::default(), Default::default());
        let whole = fresh.refresh().await.unwrap();
        assert_eq!(whole.decoded as i64, count(&first, "benchmark_releases").await, "{backend:?}");
        let held_now = held(&second, &second.engine);
        assert!(held_now.len() > 1, "{backend:?}");
        assert_eq!(held_now, held(&second, &fresh), "{backend:?}: the refreshed cache is not what a whole read gives");
        assert_eq!(held_now, held(&first, &first.engine), "{backend:?}");
        drop(second);
    }
}

/// A round that takes longer than the lease (here: kept waiting for the write gate three leases
/// long after it took the lease, as the first whole read of a national universe takes seconds)
/// keeps the lease all the same: no other server takes it meanwhile, and its publication is
/// written. Once no round runs, an unrenewed lease runs out and another server takes over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_round_longer_than_the_lease_keeps_it_and_publishes() {
    use std::sync::Arc;
    use std::time::Duration;
    use store::engine::Benchmarks;
    for backend in BACKENDS {
        let app = spawn_app(backend).await;
        for i in 0..40 {
            submit(&app, "a", i).await;
        }
        let lease = Duration::from_secs(1);
        let gate = Arc::new(tokio::sync::Mutex::new(()));
        let slow = Arc::new(Benchmarks::new(app.db.clone(), Default::default(), Arc::clone(&gate)).with_lease(lease));
        let other = Benchmarks::new(app.db.clone(), Default::default(), Default::default()).with_lease(lease);
        // On PostgreSQL the round takes its lease at once and then waits for the gate held here.
        // On SQLite its lease waits in the gate too: the gate serves in turn, so the round queues
        // behind `first` for its lease, and `second` behind the round, keeping it from writing.
        let first = Arc::clone(&gate).lock_owned().await;
        let round = tokio::spawn({
            let slow = Arc::clone(&slow);
            async move { slow.publish_pending().await }
        });
        tokio::time::sleep(Duration::from_millis(200)).await;
        let held = if store::is_sqlite(&app.db) {
            let second = tokio::spawn(Arc::clone(&gate).lock_owned());
            tokio::time::sleep(Duration::from_millis(200)).await;
            drop(first);
            second.await.unwrap()
        } else {
            first
        };
        for _ in 0..3 {
            tokio::time::sleep(lease).await;
            let tried = other.publish_pending().await.unwrap();
            assert!(!tried.leader, "{backend:?}: another server took the lease of a running round");
        }
        drop(held);
        let round = round.await.unwrap().unwrap();
        assert!(round.leader && round.universes == 1 && round.groups.published > 0, "{backend:?}: {round:?}");
        assert_eq!(count(&app, "benchmark_changes").await, 0, "{backend:?}: the round's write was refused");
        tokio::time::sleep(lease * 2).await;
        assert!(other.publish_pending().await.unwrap().leader, "{backend:?}: the idle lease did not run out");
    }
}

/// On SQLite a round takes its lease in turn with the submissions, through the write gate they
/// take one batch at a time, instead of meeting the writer in SQLite's busy handler (whose
/// growing sleeps can keep a round waiting long at full speed); on PostgreSQL the
/// lease is a row of its own and waits for no gate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_round_takes_its_lease_in_turn_with_the_submissions_on_sqlite() {
    use std::sync::Arc;
    use std::time::Duration;
    use store::engine::Benchmarks;
    for backend in BACKENDS {
        let app = spawn_app(backend).await;
        let gate = Arc::new(tokio::sync::Mutex::new(()));
        let engine = Arc::new(Benchmarks::new(app.db.clone(), Default::default(), Arc::clone(&gate)));
        let held = gate.lock().await;
        let round = tokio::spawn({
            let engine = Arc::clone(&engine);
            async move { engine.publish_pending().await }
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        let holder: String = {
            let sql = "SELECT holder FROM benchmark_publisher WHERE id = 1";
            let row = app.db.query_one_raw(Statement::from_string(app.db.get_database_backend(), sql)).await.unwrap();
            row.map(|r| r.try_get::<String>("", "holder").unwrap()).unwrap_or_default()
        };
        let sqlite = store::is_sqlite(&app.db);
        assert_eq!(holder == engine.holder(), !sqlite, "{backend:?}: lease holder {holder:?} while the gate was held");
        assert_eq!(round.is_finished(), !sqlite, "{backend:?}: the round with nothing pending");
        drop(held);
        let round = round.await.unwrap().unwrap();
        assert!(round.leader, "{backend:?}: {round:?}");
    }
}

/// Seeding the demo peers leaves the database as a server should find it: on SQLite an empty
/// write-ahead log (not the whole load's, for the first server to copy back while it answers), on
/// PostgreSQL statistics gathered after the load.
#[tokio::test]
async fn seeding_leaves_the_database_settled_for_the_servers() {
    for backend in BACKENDS {
        let app = spawn_app(backend).await;
        let model = crate::default_model();
        let seeded = services_persistence::seed::seed_demo(&app.persistence, &model, 3000, 5).await.unwrap();
        assert_eq!(seeded.contributions, 3000);
        let backend_of = app.db.get_database_backend();
        if store::is_sqlite(&app.db) {
            // A passive checkpoint changes nothing and reports the frames in the log.
            let row = app
                .db
                .query_one_raw(Statement::from_string(backend_of, "PRAGMA wal_checkpoint(PASSIVE)"))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(row.try_get::<i32>("", "log").unwrap(), 0, "the seed's write-ahead log was left behind");
        } else {
            let sql = "SELECT relname, last_analyze IS NOT NULL AS analyzed FROM pg_stat_user_tables \
                       WHERE relname IN ('benchmark_contributions', 'benchmark_releases') ORDER BY relname";
            let rows = app.db.query_all_raw(Statement::from_string(backend_of, sql)).await.unwrap();
            let analyzed: Vec<(String, bool)> = rows
                .iter()
                .map(|r| (r.try_get::<String>("", "relname").unwrap(), r.try_get::<bool>("", "analyzed").unwrap()))
                .collect();
            assert_eq!(
                analyzed,
                [("benchmark_contributions".to_string(), true), ("benchmark_releases".to_string(), true)],
                "the loaded tables were not analysed"
            );
        }
    }
}

/// The server's checkpointer copies SQLite's write-ahead log into the database file while the
/// commits go on, instead of leaving it to the committing connection at `wal_autocheckpoint`
/// (4 000 pages): after commits of about 1.5 MB, fewer pages than that, the database file holds
/// them (without it, they would all still be in the log). On PostgreSQL it has nothing to do and
/// returns at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_checkpointer_copies_the_write_ahead_log_while_commits_go_on() {
    for backend in BACKENDS {
        let test_db = migrations::test_db::TestDb::empty(backend).await;
        let db = store::open(&test_db.url).await.unwrap();
        let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
        let checkpointer =
            tokio::spawn(store::run_checkpointer(db.clone(), std::time::Duration::from_millis(10), async move {
                let _ = stop_rx.wait_for(|stop| *stop).await;
            }));
        if !store::is_sqlite(&db) {
            // Nothing to wait for: it returned without being stopped.
            tokio::time::timeout(std::time::Duration::from_secs(5), checkpointer)
                .await
                .expect("the checkpointer ran on PostgreSQL")
                .unwrap();
            db.close().await.unwrap();
            continue;
        }
        let path = test_db.url.trim_start_matches("sqlite://").split('?').next().unwrap().to_string();
        let backend_of = db.get_database_backend();
        db.execute_unprepared("CREATE TABLE probe (body TEXT NOT NULL)").await.unwrap();
        let before = std::fs::metadata(&path).unwrap().len();
        // 500 commits of a row filling most of a page: about 2 MB of new pages, in 500-1 000
        // frames of log, well below the committing connection's own threshold.
        let body = "x".repeat(3000);
        for _ in 0..500 {
            db.execute_raw(Statement::from_sql_and_values(
                backend_of,
                "INSERT INTO probe (body) VALUES (?)",
                [body.clone().into()],
            ))
            .await
            .unwrap();
        }
        let mut grown = 0;
        for _ in 0..200 {
            grown = std::fs::metadata(&path).unwrap().len().saturating_sub(before);
            if grown >= 1_500_000 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        let _ = stop_tx.send(true);
        checkpointer.await.unwrap();
        assert!(grown >= 1_500_000, "the database file grew by {grown} bytes: the log was not copied into it");
        db.close().await.unwrap();
    }
}
