//! Disclosure control over the real server: threshold, fallback, and no differencing before and
//! after one submission.

use migrations::test_db::BACKENDS;
use services_api::v1 as pb;

use crate::{as_tenant, query_in, spawn_app, submission};

fn query(group: (&str, &str, &str)) -> pb::QueryBenchmarkRequest {
    query_in(group, "en")
}

#[tokio::test]
async fn nine_firms_fall_back_and_the_tenth_publishes() {
    for backend in BACKENDS {
        let app = spawn_app(backend).await;
        // 15 firms in Utrecht: published on their own only if the rest of F/small is empty or >= k.
        for i in 0..15 {
            let level = 0.3 + 0.03 * f64::from(i);
            app.persistence_client()
                .submit_assessment(as_tenant(
                    "acme",
                    submission(&format!("u{i}"), &format!("u{i}"), ("F", "small", "NL-UT"), level),
                ))
                .await
                .unwrap();
        }
        for i in 0..9 {
            let level = 0.2 + 0.05 * f64::from(i);
            app.persistence_client()
                .submit_assessment(as_tenant(
                    "acme",
                    submission(&format!("g{i}"), &format!("g{i}"), ("F", "small", "NL-GE"), level),
                ))
                .await
                .unwrap();
        }
        let round = app.publish().await;
        assert!(round.leader && round.universes == 1 && round.changes == 24, "{backend:?}: {round:?}");
        let answer = app.benchmark_client().query_benchmark(query(("F", "small", "NL-GE"))).await.unwrap().into_inner();
        let used = answer.group_used.unwrap();
        assert!(used.fallback, "{backend:?}: 9 firms were published");
        // Published figures lag by fewer than k changes, so n is at least k and at most 24.
        assert_eq!(used.level, "section_size", "{backend:?}");
        assert!((10..=24).contains(&used.n), "{backend:?}: n = {}", used.n);
        assert!(used.fallback_reason.contains("not published"), "{}", used.fallback_reason);
        // Utrecht (15) is withheld too: with Gelderland's 9 left over, F/small minus Utrecht
        // would expose those 9.
        let utrecht =
            app.benchmark_client().query_benchmark(query(("F", "small", "NL-UT"))).await.unwrap().into_inner();
        assert!(utrecht.group_used.unwrap().fallback, "{backend:?}");

        app.persistence_client()
            .submit_assessment(as_tenant("acme", submission("g9", "g9", ("F", "small", "NL-GE"), 0.7)))
            .await
            .unwrap();
        // Nothing is published before the publisher's round.
        let unpublished =
            app.benchmark_client().query_benchmark(query(("F", "small", "NL-GE"))).await.unwrap().into_inner();
        assert!(unpublished.group_used.unwrap().fallback, "{backend:?}: published inside the write path");
        app.publish().await;
        let answer = app.benchmark_client().query_benchmark(query(("F", "small", "NL-GE"))).await.unwrap().into_inner();
        let used = answer.group_used.unwrap();
        assert!(!used.fallback, "{backend:?}: the 10th firm did not publish the group");
        assert_eq!((used.level.as_str(), used.n, used.k), ("section_size_province", 10, 10));
        assert_eq!(used.synthetic_share, 0.0);
        assert_eq!(answer.distributions.len(), 8);
        assert_eq!(answer.stage_shares.len(), 2);
    }
}

#[tokio::test]
async fn one_submission_does_not_move_published_figures() {
    for backend in BACKENDS {
        let app = spawn_app(backend).await;
        for i in 0..12 {
            let level = 0.1 + 0.07 * f64::from(i);
            app.persistence_client()
                .submit_assessment(as_tenant(
                    "acme",
                    submission(&format!("a{i}"), &format!("a{i}"), ("K", "large", "NL-NH"), level),
                ))
                .await
                .unwrap();
        }
        app.publish().await;
        let before = app.benchmark_client().query_benchmark(query(("K", "large", "NL-NH"))).await.unwrap().into_inner();
        app.persistence_client()
            .submit_assessment(as_tenant("acme", submission("b", "b", ("K", "large", "NL-NH"), 1.0)))
            .await
            .unwrap();
        app.publish().await;
        let after = app.benchmark_client().query_benchmark(query(("K", "large", "NL-NH"))).await.unwrap().into_inner();
        assert_eq!(before, after, "{backend:?}: one submission changed published figures");
        // After k changes the figures move.
        for i in 0..10 {
            app.persistence_client()
                .submit_assessment(as_tenant(
                    "acme",
                    submission(&format!("c{i}"), &format!("c{i}"), ("K", "large", "NL-NH"), 0.9),
                ))
                .await
                .unwrap();
        }
        app.publish().await;
        let later = app.benchmark_client().query_benchmark(query(("K", "large", "NL-NH"))).await.unwrap().into_inner();
        let (n_before, n_later) = (before.group_used.unwrap().n, later.group_used.unwrap().n);
        assert!(n_later >= n_before + 10, "{backend:?}: {n_before} -> {n_later}");
        // Positions of a firm at the bottom and above everyone, with their Rogers categories.
        let position = async |v: f64| {
            app.benchmark_client()
                .get_peer_position(pb::GetPeerPositionRequest {
                    firm: Some(pb::FirmAttributes {
                        sbi_section: "K".into(),
                        size_class: "large".into(),
                        province: "NL-NH".into(),
                    }),
                    year: 2024,
                    maturity_index: v,
                    external_index: v,
                    internal_index: v,
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner()
        };
        let (low, high) = (position(0.0).await, position(100.0).await);
        assert!(low.positions[0].percentile < 10.0, "{:?}", low.positions);
        assert!(high.positions[0].percentile > low.positions[0].percentile);
        assert_eq!(low.rogers_category, "laggards");
        // Each position carries the 90% interval of its group's n (docs/method.md).
        let n = low.group_used.as_ref().unwrap().n;
        for p in low.positions.iter().chain(&high.positions) {
            let (lo, hi) =
                domain_statistics::wilson_interval(p.percentile / 100.0, n, domain_statistics::Z_90).unwrap();
            assert!(p.percentile_low <= p.percentile && p.percentile <= p.percentile_high, "{p:?}");
            assert!((p.percentile_low - 100.0 * lo).abs() < 1e-9, "{backend:?}: {p:?} vs {lo}");
            assert!((p.percentile_high - 100.0 * hi).abs() < 1e-9, "{backend:?}: {p:?} vs {hi}");
        }
        let groups = app
            .benchmark_client()
            .list_peer_groups(pb::ListPeerGroupsRequest { year: 2024, ..Default::default() })
            .await
            .unwrap()
            .into_inner();
        assert!(groups.groups.iter().all(|g| g.n >= 10), "{backend:?}");
        let trend = app
            .benchmark_client()
            .trend(pb::TrendRequest { group: query(("K", "large", "NL-NH")).group, ..Default::default() })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(trend.points.len(), 1);
    }
}

#[tokio::test]
async fn no_published_group_is_not_found() {
    for backend in BACKENDS {
        let app = spawn_app(backend).await;
        app.persistence_client()
            .submit_assessment(as_tenant("acme", submission("one", "one", ("A", "micro", "NL-DR"), 0.5)))
            .await
            .unwrap();
        app.publish().await;
        let err = app.benchmark_client().query_benchmark(query(("A", "micro", "NL-DR"))).await.unwrap_err();
        assert_eq!(err.code(), tonic::Code::NotFound, "{backend:?}");
        let bad = app.benchmark_client().query_benchmark(query(("Z", "", ""))).await.unwrap_err();
        assert_eq!(bad.code(), tonic::Code::InvalidArgument);
    }
}

/// The verdicts of a group's firms, tallied from what their submissions were told, in
/// `FitVerdict::ALL` order.
fn tally(verdicts: &[i32]) -> [u32; 4] {
    let mut counts = [0u32; 4];
    for v in verdicts {
        let i = match pb::FitVerdict::try_from(*v).unwrap() {
            pb::FitVerdict::Balanced => 0,
            pb::FitVerdict::UnderInvested => 1,
            pb::FitVerdict::OverInvested => 2,
            pb::FitVerdict::Restrained => 3,
            pb::FitVerdict::Unspecified => panic!("a result without a verdict"),
        };
        counts[i] += 1;
    }
    counts
}

/// The published shares as counts of `n` firms, in `FitVerdict::ALL` order (a verdict the model
/// does not give counts 0).
fn counts_of(answer: &pb::QueryBenchmarkResponse) -> [u32; 4] {
    let n = f64::from(answer.group_used.as_ref().unwrap().n);
    let mut counts = [0u32; 4];
    for s in &answer.fit_verdicts {
        assert!(!s.label.is_empty(), "{s:?}");
        let one = tally(&[s.verdict]);
        let i = one.iter().position(|c| *c == 1).unwrap();
        counts[i] = (s.share * n).round() as u32;
        assert!((s.share * n - f64::from(counts[i])).abs() < 1e-9, "{s:?} of {n}");
    }
    counts
}

async fn submit_verdict(app: &test_support::TestApp, id: &str, firm: (&str, &str, &str), level: f64) -> i32 {
    let response =
        app.persistence_client().submit_assessment(as_tenant("acme", submission(id, id, firm, level))).await.unwrap();
    response.into_inner().assessment.unwrap().result.unwrap().fit.unwrap().verdict
}

/// A group's fit verdict shares are exactly the verdicts its firms were given; a contribution from
/// before verdicts were kept (NULL) withholds the group's shares until the start-up backfill fills it
/// in with the verdict the model's rule gives its stored numbers, after which the group is
/// republished with them. A second backfill finds nothing.
#[tokio::test]
async fn fit_verdict_shares_are_the_firms_verdicts_and_older_contributions_are_filled_in() {
    use migrations::sea_orm::ConnectionTrait;
    for backend in BACKENDS {
        let app = spawn_app(backend).await;
        let mut utrecht = Vec::new();
        for i in 0..12 {
            utrecht.push(
                submit_verdict(&app, &format!("u{i}"), ("F", "small", "NL-UT"), 0.05 + 0.08 * f64::from(i)).await,
            );
        }
        app.publish().await;
        let answer = app.benchmark_client().query_benchmark(query(("F", "small", "NL-UT"))).await.unwrap().into_inner();
        assert!(!answer.group_used.as_ref().unwrap().fallback, "{backend:?}");
        let expected = tally(&utrecht);
        assert!(expected.iter().filter(|c| **c > 0).count() >= 2, "{backend:?}: one verdict only, {expected:?}");
        assert_eq!(counts_of(&answer), expected, "{backend:?}");
        assert_eq!(answer.fit_verdicts.len(), app.model().fit.verdicts.len(), "{backend:?}");

        // As if Utrecht's firms had contributed before verdicts were kept.
        app.db.execute_unprepared("UPDATE benchmark_contributions SET fit_verdict = NULL").await.unwrap();
        // An edit behind the store's back leaves no change record; such rows exist before a server
        // starts, when its publisher has no copy of the universe yet. A change naming no
        // contribution makes this running publisher read the universe again, as at a start.
        let universe = store::Universe { model_id: "nl-social-business".into(), model_version: 3, year: 2024 };
        store::record_change(&app.db, &universe, None).await.unwrap();
        let mut gelderland = Vec::new();
        for i in 0..12 {
            gelderland.push(
                submit_verdict(&app, &format!("g{i}"), ("F", "small", "NL-GE"), 0.1 + 0.075 * f64::from(i)).await,
            );
        }
        app.publish().await;
        let answer = app.benchmark_client().query_benchmark(query(("F", "small", "NL-GE"))).await.unwrap().into_inner();
        assert_eq!(counts_of(&answer), tally(&gelderland), "{backend:?}");
        let wider = app.benchmark_client().query_benchmark(query(("F", "small", ""))).await.unwrap().into_inner();
        assert_eq!(wider.group_used.as_ref().unwrap().n, 24, "{backend:?}");
        assert!(wider.fit_verdicts.is_empty(), "{backend:?}: shares of part of a group: {:?}", wider.fit_verdicts);

        let filled = app.persistence.backfill_fit_verdicts().await.unwrap();
        assert_eq!((filled.contributions, filled.universes), (12, 1), "{backend:?}");
        app.publish().await;
        let wider = app.benchmark_client().query_benchmark(query(("F", "small", ""))).await.unwrap().into_inner();
        let all: Vec<i32> = utrecht.iter().chain(&gelderland).copied().collect();
        assert_eq!(counts_of(&wider), tally(&all), "{backend:?}");
        let again = app.persistence.backfill_fit_verdicts().await.unwrap();
        assert_eq!(again, store::Backfilled::default(), "{backend:?}");
    }
}

/// A submission of `id` whose two answers on returns are `cover` (`higher`, `about_equal`,
/// `lower`) and `measured` (`money`, `leads`, ...), `None` for "don't know".
fn with_returns(
    id: &str,
    firm: (&str, &str, &str),
    level: f64,
    cover: Option<&str>,
    measured: Option<&str>,
) -> pb::SubmitAssessmentRequest {
    let mut req = submission(id, id, firm, level);
    for answer in &mut req.assessment.as_mut().unwrap().answers {
        let choice = match answer.item_id.as_str() {
            "bv.return_against_cost" => cover,
            "bv.return_measured" => measured,
            _ => continue,
        };
        answer.value = Some(match choice {
            Some(c) => pb::answer::Value::Choice(c.into()),
            None => pb::answer::Value::DontKnow(true),
        });
    }
    req
}

/// The pay figures of a seeded cell equal a count by hand: fourteen firms of F/small/Utrecht (the
/// only firms, so every group of their ladder holds them), eleven of which answered both items on
/// returns. Under k = 10 the cell "all" (11) is published and every breakdown with a cell of 1 to 9
/// answering firms is withheld whole.
#[tokio::test]
async fn pay_figures_are_the_answers_counted_by_hand_and_withheld_below_k() {
    let firm = ("F", "small", "NL-UT");
    // (cover, measured) per firm; level 0.5 gives every firm the same verdict and stages.
    let answers: [(Option<&str>, Option<&str>); 14] = [
        (Some("higher"), Some("money")),
        (Some("higher"), Some("leads")),
        (Some("about_equal"), Some("money")),
        (Some("about_equal"), Some("reach")),
        (Some("lower"), Some("money")),
        (Some("lower"), Some("nothing")),
        (Some("lower"), Some("nothing")),
        (Some("lower"), Some("reach")),
        (Some("lower"), Some("leads")),
        (Some("higher"), Some("nothing")),
        (Some("lower"), Some("nothing")),
        (None, Some("money")),  // "don't know" on costs: not counted
        (Some("higher"), None), // "don't know" on measurement: not counted
        (None, None),
    ];
    // By hand: 11 answered both; at least equal to the costs: higher or about_equal = 5; measured
    // in money: 3.
    for backend in BACKENDS {
        let app = spawn_app(backend).await;
        for (i, (cover, measured)) in answers.iter().enumerate() {
            let req = with_returns(&format!("p{i}"), firm, 0.5, *cover, *measured);
            app.persistence_client().submit_assessment(as_tenant("acme", req)).await.unwrap();
        }
        app.publish().await;
        for group in [firm, ("F", "small", ""), ("", "", "")] {
            let answer = app.benchmark_client().query_benchmark(query(group)).await.unwrap().into_inner();
            assert_eq!(answer.group_used.as_ref().unwrap().n, 14, "{backend:?} {group:?}");
            let pay = answer.pay.expect("11 answering firms, k = 10");
            let all = pay.all.unwrap();
            assert!(!all.withheld, "{backend:?}");
            assert_eq!(all.answered, 11, "{backend:?}");
            assert_eq!(all.cover_costs_share, Some(5.0 / 11.0), "{backend:?}");
            assert_eq!(all.measured_share, Some(3.0 / 11.0), "{backend:?}");
            // One verdict and one band hold all 11: the others have none, so each breakdown is
            // published whole (a cell of 0 firms is no disclosure).
            let verdicts: Vec<u32> = pay.by_verdict.iter().map(|c| c.cell.unwrap().answered).collect();
            assert_eq!(verdicts.iter().sum::<u32>(), 11, "{backend:?}: {verdicts:?}");
            assert!(verdicts.iter().all(|n| *n == 0 || *n == 11), "{backend:?}: {verdicts:?}");
            assert_eq!(pay.by_verdict.len(), app.model().fit.verdicts.len());
            assert_eq!(pay.by_external_band.iter().map(|c| c.band.as_str()).collect::<Vec<_>>(), ["0-1", "2", "3-4"]);
            for cell in pay
                .by_verdict
                .iter()
                .map(|c| c.cell.unwrap())
                .chain(pay.by_external_band.iter().map(|c| c.cell.unwrap()))
            {
                assert!(!cell.withheld, "{backend:?}");
                if cell.answered == 0 {
                    assert_eq!((cell.cover_costs_share, cell.measured_share), (None, None), "no share without firms");
                }
            }
        }
        // Ten more firms (a group is republished only after k changes): five at another level
        // (another verdict or band) answering both, five as before answering neither. Cells of 11
        // and 5 under k = 10, so those breakdowns are withheld whole.
        for i in 0..5 {
            let req = with_returns(&format!("q{i}"), firm, 0.05, Some("higher"), Some("money"));
            app.persistence_client().submit_assessment(as_tenant("acme", req)).await.unwrap();
            let req = with_returns(&format!("r{i}"), firm, 0.5, None, None);
            app.persistence_client().submit_assessment(as_tenant("acme", req)).await.unwrap();
        }
        app.publish().await;
        let answer = app.benchmark_client().query_benchmark(query(firm)).await.unwrap().into_inner();
        let pay = answer.pay.unwrap();
        let all = pay.all.unwrap();
        assert_eq!((all.answered, all.cover_costs_share), (16, Some(10.0 / 16.0)), "{backend:?}");
        let withheld = |cells: Vec<pb::PayCell>| {
            cells.iter().all(|c| c.withheld && c.answered == 0 && c.cover_costs_share.is_none())
        };
        let bands: Vec<pb::PayCell> = pay.by_external_band.iter().map(|c| c.cell.unwrap()).collect();
        let verdicts: Vec<pb::PayCell> = pay.by_verdict.iter().map(|c| c.cell.unwrap()).collect();
        assert!(
            withheld(bands) || withheld(verdicts.clone()),
            "{backend:?}: a cell of 5 answering firms shown: {pay:?}"
        );
        assert!(
            verdicts.iter().all(|c| c.withheld) || verdicts.iter().all(|c| !c.withheld),
            "{backend:?}: a breakdown in part"
        );
    }
}
