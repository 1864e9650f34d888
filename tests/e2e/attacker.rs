//! An automated attacker against the benchmark API, on both backends. With a valid key of its own
//! tenant it tries to recover one firm's score: by differencing every pair of overlapping
//! published groups (counts and means), by differencing a group against its published parts,
//! and by querying before and after a victim's single submission (every group of the victim's
//! ladder, and a sweep of 201 peer-position queries over the whole scale), and by many small
//! queries: every cell with a few firms against an empty cell of the same shape, answers compared
//! and response times measured; and the open figures (ExportReleases) hold exactly the published
//! groups and do not move after the victim's submission. It reports what it tried; every attempt
//! must come back empty-handed.

use migrations::test_db::BACKENDS;
use services_api::v1 as pb;
use services_api::v1::benchmark_service_client::BenchmarkServiceClient;
use services_api::v1::persistence_service_client::PersistenceServiceClient;
use services_maturity::demo::as_tenant;
use tonic::transport::Channel;

use crate::http::keys;
use test_support::spawn_app_on;

type Key = (String, String, String);

fn key(g: &pb::GroupUsed) -> Key {
    let p = g.group.clone().unwrap_or_default();
    (p.sbi_section, p.size_class, p.province)
}

/// Whether every firm of `child` is in `parent` (and they differ).
fn inside(child: &Key, parent: &Key) -> bool {
    let within = |c: &str, p: &str| p.is_empty() || c == p;
    child != parent && within(&child.0, &parent.0) && within(&child.1, &parent.1) && within(&child.2, &parent.2)
}

fn maturity(r: &pb::QueryBenchmarkResponse) -> pb::Distribution {
    r.distributions.iter().find(|d| d.metric == "maturity_index").cloned().unwrap()
}

async fn query(
    client: &mut BenchmarkServiceClient<Channel>,
    key: &str,
    g: &Key,
    year: u32,
) -> pb::QueryBenchmarkResponse {
    let group = pb::PeerGroup { sbi_section: g.0.clone(), size_class: g.1.clone(), province: g.2.clone() };
    let request = pb::QueryBenchmarkRequest { group: Some(group), year, ..Default::default() };
    client.query_benchmark(as_tenant(request, Some(key), "").unwrap()).await.unwrap().into_inner()
}

/// The open figures of `year` as the attacker downloads them (CSV).
async fn export(client: &mut BenchmarkServiceClient<Channel>, key: &str, year: u32) -> Vec<u8> {
    let request = pb::ExportReleasesRequest { year, format: pb::ExportFormat::Csv.into(), ..Default::default() };
    let mut stream = client.export_releases(as_tenant(request, Some(key), "").unwrap()).await.unwrap().into_inner();
    let mut bytes = Vec::new();
    while let Some(piece) = stream.message().await.unwrap() {
        bytes.extend_from_slice(&piece.data);
    }
    bytes
}

async fn sweep(
    client: &mut BenchmarkServiceClient<Channel>,
    key: &str,
    firm: &pb::FirmAttributes,
    year: u32,
) -> Vec<f64> {
    let mut out = Vec::new();
    for step in 0..=200 {
        let value = f64::from(step) * 0.5;
        let request = pb::GetPeerPositionRequest {
            firm: Some(firm.clone()),
            year,
            maturity_index: value,
            external_index: value,
            internal_index: value,
            ..Default::default()
        };
        let p = client.get_peer_position(as_tenant(request, Some(key), "").unwrap()).await.unwrap().into_inner();
        out.extend(p.positions.iter().map(|m| m.percentile));
    }
    out
}

const PROVINCES: [&str; 12] =
    ["NL-DR", "NL-FL", "NL-FR", "NL-GE", "NL-GR", "NL-LI", "NL-NB", "NL-NH", "NL-OV", "NL-UT", "NL-ZE", "NL-ZH"];

/// Pairs of cells (section, size, province) of the year, read from the contribution store behind
/// the API's back: one with 1 to k-1 firms, one of the same section and size with none.
async fn small_and_empty_cells(app: &test_support::TestApp, year: u32, k: u32) -> (Vec<Key>, Vec<Key>) {
    use migrations::sea_orm::{ConnectionTrait, Statement};
    let db = app.persistence.db();
    let sql = format!(
        "SELECT sbi_section, size_class, province, COUNT(*) AS n FROM benchmark_contributions \
         WHERE year = {year} GROUP BY sbi_section, size_class, province"
    );
    let rows = db.query_all_raw(Statement::from_string(db.get_database_backend(), sql)).await.unwrap();
    let mut counts = std::collections::BTreeMap::new();
    for r in rows {
        let cell: Key = (
            r.try_get("", "sbi_section").unwrap(),
            r.try_get("", "size_class").unwrap(),
            r.try_get("", "province").unwrap(),
        );
        counts.insert(cell, r.try_get::<i64>("", "n").unwrap());
    }
    let (mut small, mut empty) = (Vec::new(), Vec::new());
    for (cell, n) in &counts {
        if *n >= i64::from(k) {
            continue;
        }
        let none = PROVINCES.iter().find(|p| !counts.contains_key(&(cell.0.clone(), cell.1.clone(), (*p).to_string())));
        if let Some(p) = none {
            small.push(cell.clone());
            empty.push((cell.0.clone(), cell.1.clone(), (*p).to_string()));
        }
    }
    assert!(!small.is_empty(), "the demo data has no small cell beside an empty one");
    (small, empty)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attacker_recovers_no_single_firms_score() {
    for backend in BACKENDS {
        let app = spawn_app_on(backend).await;
        let (attacker, victim) = keys(&app).await;
        let model = domain_model::ModelRegistry::builtin().unwrap().resolve("", 0).unwrap();
        services_persistence::seed::seed_demo(&app.persistence, &model, 4000, 23).await.unwrap();
        let mut bench = BenchmarkServiceClient::new(app.channel.clone());
        let listed = bench
            .list_peer_groups(as_tenant(pb::ListPeerGroupsRequest::default(), Some(&attacker), "").unwrap())
            .await
            .unwrap()
            .into_inner();
        let year = listed.year;
        let groups = listed.groups;
        assert!(groups.len() > 20, "{backend:?}: too few published groups to attack");
        let k = groups[0].k;

        // 0. The open figures hold exactly the published groups, with their n: whatever the
        // differencing below cannot derive from the answers, it cannot derive from the export.
        let exported_before = export(&mut bench, &attacker, year).await;
        let text = String::from_utf8(exported_before.clone()).unwrap();
        let exported: std::collections::BTreeSet<(Key, u32)> = text
            .lines()
            .skip(1)
            .map(|l| {
                let c: Vec<&str> = l.split(',').collect();
                ((c[5].to_string(), c[6].to_string(), c[7].to_string()), c[8].parse().unwrap())
            })
            .collect();
        let published: std::collections::BTreeSet<(Key, u32)> = groups.iter().map(|g| (key(g), g.n)).collect();
        assert_eq!(exported, published, "{backend:?}: the export and the published groups differ");

        // 1. Two overlapping published groups: their difference is 0 or at least k firms.
        let mut pairs = 0;
        for parent in &groups {
            for child in &groups {
                if inside(&key(child), &key(parent)) {
                    pairs += 1;
                    let rest = parent.n - child.n;
                    assert!(
                        rest == 0 || rest >= k,
                        "{backend:?}: {:?} minus {:?} leaves {rest} firms",
                        key(parent),
                        key(child)
                    );
                }
            }
        }
        // 2. A group against all of its published parts along one attribute: what is left over is
        // 0 or at least k firms.
        let mut splits = 0;
        for parent in &groups {
            let p = key(parent);
            for attribute in 0..3 {
                let parts: Vec<&pb::GroupUsed> = groups
                    .iter()
                    .filter(|c| {
                        let c = key(c);
                        let fields = [(&c.0, &p.0), (&c.1, &p.1), (&c.2, &p.2)];
                        fields.iter().enumerate().all(|(i, (cv, pv))| {
                            if i == attribute { pv.is_empty() && !cv.is_empty() } else { cv == pv }
                        })
                    })
                    .collect();
                if parts.is_empty() {
                    continue;
                }
                splits += 1;
                let covered: u32 = parts.iter().map(|c| c.n).sum();
                let rest = parent.n - covered;
                assert!(
                    rest == 0 || rest >= k,
                    "{backend:?}: {p:?} minus its parts by attribute {attribute} leaves {rest}"
                );
            }
        }

        // 2b. The pay figures ("does it pay?"), cell by cell: a group's cell against a published
        // group inside it, and against all of its published parts along one attribute, leaves 0
        // or at least k answering firms; a breakdown adds up to the group's cell "all".
        let mut pay: std::collections::BTreeMap<Key, Vec<(String, u32)>> = std::collections::BTreeMap::new();
        for g in &groups {
            let answer = query(&mut bench, &attacker, &key(g), year).await;
            assert!(!answer.group_used.as_ref().unwrap().fallback, "{backend:?}: a listed group falls back");
            let Some(p) = answer.pay else { continue };
            let mut cells = vec![("all".to_string(), p.all.unwrap())];
            cells.extend(p.by_verdict.iter().map(|c| (format!("verdict {}", c.verdict), c.cell.unwrap())));
            cells.extend(p.by_external_band.iter().map(|c| (format!("external {}", c.band), c.cell.unwrap())));
            cells.extend(p.by_internal_band.iter().map(|c| (format!("internal {}", c.band), c.cell.unwrap())));
            let all = cells[0].1.answered;
            for kind in ["verdict", "external", "internal"] {
                let part: Vec<&pb::PayCell> =
                    cells.iter().filter(|(n, _)| n.starts_with(kind)).map(|(_, c)| c).collect();
                assert!(
                    part.iter().all(|c| c.withheld) || part.iter().all(|c| !c.withheld),
                    "{backend:?}: a breakdown in part"
                );
                if !part[0].withheld {
                    assert_eq!(part.iter().map(|c| c.answered).sum::<u32>(), all, "{backend:?} {:?} {kind}", key(g));
                }
            }
            for (_, c) in &cells {
                assert!(c.withheld || c.answered == 0 || c.answered >= k, "{backend:?} {:?}: a cell below k", key(g));
            }
            pay.insert(key(g), cells.into_iter().filter(|(_, c)| !c.withheld).map(|(n, c)| (n, c.answered)).collect());
        }
        assert!(pay.len() > 5, "{backend:?}: too few groups publish pay figures to attack ({})", pay.len());
        let cell_of =
            |g: &Key, name: &str| pay.get(g).and_then(|cells| cells.iter().find(|(n, _)| n == name).map(|(_, a)| *a));
        let mut pay_differences = 0;
        for (parent, cells) in &pay {
            for (name, answered) in cells {
                for child in pay.keys().filter(|c| inside(c, parent)) {
                    if let Some(a) = cell_of(child, name) {
                        pay_differences += 1;
                        let rest = answered - a;
                        assert!(
                            rest == 0 || rest >= k,
                            "{backend:?}: {parent:?} minus {child:?} in {name} leaves {rest}"
                        );
                    }
                }
                for attribute in 0..3 {
                    let parts: Vec<u32> = pay
                        .keys()
                        .filter(|c| {
                            let fields = [(&c.0, &parent.0), (&c.1, &parent.1), (&c.2, &parent.2)];
                            fields.iter().enumerate().all(|(i, (cv, pv))| {
                                if i == attribute { pv.is_empty() && !cv.is_empty() } else { cv == pv }
                            })
                        })
                        .filter_map(|c| cell_of(c, name))
                        .collect();
                    if !parts.is_empty() {
                        pay_differences += 1;
                        let rest = answered - parts.iter().sum::<u32>();
                        assert!(
                            rest == 0 || rest >= k,
                            "{backend:?}: {parent:?} minus its parts by {attribute} in {name} leaves {rest}"
                        );
                    }
                }
            }
        }

        // 3. Before and after the victim's one submission: every answer about its groups is the
        // same, so nothing about the victim can be derived from the change.
        let firm = pb::FirmAttributes { sbi_section: "F".into(), size_class: "small".into(), province: "NL-GE".into() };
        let ladder: Vec<Key> = vec![
            ("F".into(), "small".into(), "NL-GE".into()),
            ("F".into(), "small".into(), String::new()),
            ("F".into(), String::new(), String::new()),
            (String::new(), "small".into(), String::new()),
            (String::new(), String::new(), String::new()),
        ];
        let mut before = Vec::new();
        for g in &ladder {
            before.push(query(&mut bench, &attacker, g, year).await);
        }
        let swept_before = sweep(&mut bench, &attacker, &firm, year).await;
        let sample = services_maturity::sample::parse("sample", services_maturity::sample::BUILTIN).unwrap();
        let mut request = sample.request.clone();
        request.firm = Some(firm.clone());
        let submit = pb::SubmitAssessmentRequest {
            request_id: "victim-1".into(),
            external_ref: "victim".into(),
            firm_name: "Slachtoffer B.V.".into(),
            completed_at: Some(prost_types::Timestamp {
                seconds: services_maturity::sample::mid_year_seconds(i32::try_from(year).unwrap()),
                nanos: 0,
            }),
            assessment: Some(request),
        };
        let mut store = PersistenceServiceClient::new(app.channel.clone());
        store.submit_assessment(as_tenant(submit, Some(&victim), "").unwrap()).await.unwrap();
        // The publisher's round over the victim's change has run before the attacker looks again.
        app.persistence.benchmarks().sync().await.unwrap();
        let pending = store::pending_changes(app.persistence.db(), 10).await.unwrap();
        assert!(pending.is_empty(), "{backend:?}: the victim's change is still unpublished: {pending:?}");
        for (g, earlier) in ladder.iter().zip(&before) {
            let later = query(&mut bench, &attacker, g, year).await;
            assert_eq!(
                later.group_used.as_ref().map(|u| u.n),
                earlier.group_used.as_ref().map(|u| u.n),
                "{backend:?} {g:?}"
            );
            assert_eq!(maturity(&later), maturity(earlier), "{backend:?} {g:?}: the published figures moved");
            assert_eq!(later.stage_shares, earlier.stage_shares, "{backend:?} {g:?}");
            // The victim's fit verdict neither: the groups' verdict shares stay as they were.
            assert_eq!(later.fit_verdicts, earlier.fit_verdicts, "{backend:?} {g:?}");
            // Nor its answers on returns.
            assert_eq!(later.pay, earlier.pay, "{backend:?} {g:?}");
        }
        assert!(!before.last().unwrap().fit_verdicts.is_empty(), "{backend:?}: no verdict shares to compare");
        assert!(before.last().unwrap().pay.is_some(), "{backend:?}: no pay figures to compare");
        let swept_after = sweep(&mut bench, &attacker, &firm, year).await;
        assert_eq!(swept_before, swept_after, "{backend:?}: peer positions moved after one submission");
        let exported_after = export(&mut bench, &attacker, year).await;
        assert!(exported_after == exported_before, "{backend:?}: the open figures moved after one submission");

        // 4. Many small queries, and their timing: a cell holding a few firms (1 to k-1) answers
        // exactly as a cell of the same shape holding none, so neither the answer nor anything
        // computed from it tells them apart. Answers come from the published figures alone, which
        // hold no trace of unpublished cells; the response times are printed as a measurement.
        let (small, empty) = small_and_empty_cells(&app, year, k).await;
        let mut cells = 0;
        let (mut t_small, mut t_empty) = (Vec::new(), Vec::new());
        for (s, e) in small.iter().zip(&empty) {
            cells += 1;
            let (mut a, mut b) =
                (query(&mut bench, &attacker, s, year).await, query(&mut bench, &attacker, e, year).await);
            // The fallback reason names the group asked for (the caller's own input); the rest
            // must be identical.
            for r in [&mut a, &mut b] {
                let used = r.group_used.as_mut().unwrap();
                assert!(used.fallback, "{backend:?}: a cell below k was answered as itself");
                used.fallback_reason.clear();
            }
            assert_eq!(a, b, "{backend:?}: a cell with a few firms {s:?} answers unlike an empty one {e:?}");
        }
        let (s, e) = (&small[0], &empty[0]);
        for _ in 0..200 {
            let t = std::time::Instant::now();
            query(&mut bench, &attacker, s, year).await;
            t_small.push(t.elapsed().as_micros());
            let t = std::time::Instant::now();
            query(&mut bench, &attacker, e, year).await;
            t_empty.push(t.elapsed().as_micros());
        }
        let median = |v: &mut Vec<u128>| {
            v.sort_unstable();
            v[v.len() / 2]
        };

        eprintln!(
            "{backend:?}: {} published groups (k = {k}); {pairs} overlapping pairs and {splits} splits differenced, \
             {pay_differences} differences of pay cells in {} groups with pay figures, {} groups compared and {} position queries before and after one submission, {cells} small cells \
             answered exactly as empty ones: nothing derived; median time of 200 queries each: a cell with \
             a few firms {} µs, an empty cell {} µs",
            groups.len(),
            pay.len(),
            ladder.len(),
            2 * 201,
            median(&mut t_small),
            median(&mut t_empty)
        );
    }
}
