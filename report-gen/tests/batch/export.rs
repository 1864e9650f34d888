//! Open figures on both backends: the export of a published year holds exactly the groups the
//! server publishes, with exactly the figures `QueryBenchmark` answers for each; `ExportReleases`
//! streams the same files; a year without releases is an error naming the years that have them.

use migrations::test_db::BACKENDS;
use services_api::v1 as pb;

use crate::{World, as_tenant};

#[tokio::test]
async fn the_export_of_a_year_equals_what_query_benchmark_answers() {
    for backend in BACKENDS {
        let world = World::new(backend, &[], 0).await;
        let model = world.registry.resolve("", 0).unwrap();
        let k = 10;
        let release = report_gen::export::release(&world.conn, &model, 2025, k).await.unwrap();
        assert!(release.groups.len() > 5, "{backend:?}: {} groups", release.groups.len());
        assert_eq!((release.model_version, release.year, release.k), (model.version, 2025, k), "{backend:?}");
        let mut client = world.app.benchmark_client();
        let mut pay_groups = 0;
        for group in &release.groups {
            assert!(group.n >= k, "{backend:?}: a group below k: {group:?}");
            let request = pb::QueryBenchmarkRequest {
                group: Some(pb::PeerGroup {
                    sbi_section: group.sbi_section.clone(),
                    size_class: group.size_class.clone(),
                    province: group.province.clone(),
                }),
                year: 2025,
                model: None,
                locale: "en".into(),
            };
            let answer = client.query_benchmark(as_tenant("analyst", request)).await.unwrap().into_inner();
            let used = answer.group_used.unwrap();
            assert!(!used.fallback, "{backend:?}: an exported group is not published: {group:?}");
            assert_eq!((used.level.as_str(), used.n, used.k), (group.level.as_str(), group.n, k), "{backend:?}");
            assert_eq!(used.synthetic_share.to_bits(), group.synthetic_share.to_bits(), "{backend:?}");
            let exported: Vec<pb::Distribution> = group
                .distributions
                .iter()
                .map(|d| {
                    let [p10, p25, p50, p75, p90] = d.percentiles;
                    pb::Distribution {
                        metric: d.metric.clone(),
                        n: d.n,
                        mean: d.mean,
                        sd: d.sd,
                        p10,
                        p25,
                        p50,
                        p75,
                        p90,
                    }
                })
                .collect();
            assert_eq!(exported, answer.distributions, "{backend:?}: {group:?}");
            let shares: Vec<pb::StageShares> = group
                .stage_shares
                .iter()
                .map(|s| pb::StageShares { axis: s.axis.clone(), shares: s.shares.to_vec() })
                .collect();
            assert_eq!(shares, answer.stage_shares, "{backend:?}: {group:?}");
            // The demo peers all carry their verdict: every group publishes the shares of the
            // verdicts the model gives, the same as the answer's, and they add up to the group.
            let verdicts: Vec<(String, u64)> =
                group.fit_shares.iter().map(|f| (format!("fit_{}", f.verdict), f.share.to_bits())).collect();
            let answered: Vec<(String, u64)> = answer
                .fit_verdicts
                .iter()
                .map(|f| {
                    let v = pb::FitVerdict::try_from(f.verdict).unwrap().as_str_name().to_lowercase();
                    (v.replace("fit_verdict_", "fit_"), f.share.to_bits())
                })
                .collect();
            assert_eq!(verdicts, answered, "{backend:?}: {group:?}");
            assert_eq!(verdicts.len(), model.fit.verdicts.len(), "{backend:?}: {group:?}");
            // The pay cells the answer publishes are exactly the exported ones, with their counts and
            // shares to the bit; a withheld cell is not exported.
            let exported_pay: Vec<(String, u32, Option<u64>, Option<u64>)> = group
                .pay
                .iter()
                .map(|p| {
                    let bits = |x: Option<f64>| x.map(f64::to_bits);
                    (
                        p.measure.clone(),
                        p.cell.answered,
                        bits(p.cell.cover_costs_share()),
                        bits(p.cell.measured_share()),
                    )
                })
                .collect();
            let mut answered_pay = Vec::new();
            if let Some(pay) = &answer.pay {
                let mut cells = vec![("pay".to_string(), pay.all.unwrap())];
                for c in &pay.by_verdict {
                    let v = pb::FitVerdict::try_from(c.verdict).unwrap().as_str_name().to_lowercase();
                    cells.push((v.replace("fit_verdict_", "pay_fit_"), c.cell.unwrap()));
                }
                for (axis, bands) in [("external", &pay.by_external_band), ("internal", &pay.by_internal_band)] {
                    cells.extend(
                        bands
                            .iter()
                            .map(|c| (format!("pay_{axis}_stage_{}", c.band.replace('-', "_")), c.cell.unwrap())),
                    );
                }
                for (measure, c) in cells.into_iter().filter(|(_, c)| !c.withheld) {
                    answered_pay.push((
                        measure,
                        c.answered,
                        c.cover_costs_share.map(f64::to_bits),
                        c.measured_share.map(f64::to_bits),
                    ));
                }
            }
            assert_eq!(exported_pay, answered_pay, "{backend:?}: {group:?}");
            pay_groups += usize::from(!group.pay.is_empty());
            let total: f64 = group.fit_shares.iter().map(|f| f.share).sum();
            assert!((total - 1.0).abs() < 1e-9, "{backend:?}: {group:?}");
        }
        // The demo peers answer the items on returns: groups publish pay figures.
        assert!(pay_groups > 0, "{backend:?}: no group publishes pay figures");
        // The rows a CSV and a Parquet file are written from: one per group, measure and statistic.
        let per_group: usize = release
            .groups
            .iter()
            .map(|g| {
                let pay: usize = g.pay.iter().map(|p| if p.cell.answered > 0 { 3 } else { 1 }).sum();
                g.distributions.len() * 8 + g.stage_shares.len() * 5 + g.fit_shares.len() + pay
            })
            .sum();
        assert_eq!(release.rows().len(), per_group, "{backend:?}");

        // ExportReleases streams the same files, metadata first, from the server's memory.
        for (format, bytes) in [
            (pb::ExportFormat::Csv, release.csv().unwrap()),
            (pb::ExportFormat::Parquet, release.parquet().unwrap()),
            (pb::ExportFormat::Dictionary, domain_open_figures::dictionary_csv().unwrap()),
        ] {
            let request = pb::ExportReleasesRequest { year: 2025, format: format.into(), ..Default::default() };
            let mut stream = client.export_releases(as_tenant("analyst", request)).await.unwrap().into_inner();
            let first = stream.message().await.unwrap().unwrap();
            let meta = first.metadata.unwrap();
            let mut served = first.data;
            while let Some(piece) = stream.message().await.unwrap() {
                assert!(piece.metadata.is_none() && piece.data.len() <= 64 * 1024, "{backend:?}");
                served.extend_from_slice(&piece.data);
            }
            assert!(served == bytes, "{backend:?} {format:?}: the served file differs from the release's");
            assert_eq!(meta.size, bytes.len() as u64, "{backend:?}");
            if format != pb::ExportFormat::Dictionary {
                assert_eq!((meta.year, meta.k, meta.groups as usize), (2025, k, release.groups.len()), "{backend:?}");
                assert_eq!(meta.rows, release.rows().len() as u64, "{backend:?}");
            }
        }
        let nothing =
            pb::ExportReleasesRequest { year: 1990, format: pb::ExportFormat::Csv.into(), ..Default::default() };
        let status = client.export_releases(as_tenant("analyst", nothing)).await.map(|_| ()).unwrap_err();
        assert_eq!(status.code(), tonic::Code::NotFound, "{backend:?}: {status:?}");
        let bad = pb::ExportReleasesRequest { year: 2025, format: 9, ..Default::default() };
        let status = client.export_releases(as_tenant("analyst", bad)).await.map(|_| ()).unwrap_err();
        assert_eq!(status.code(), tonic::Code::InvalidArgument, "{backend:?}: {status:?}");

        let none = report_gen::export::release(&world.conn, &model, 1990, k).await.unwrap_err().to_string();
        assert!(none.contains("no published figures for 1990") && none.contains("2025"), "{backend:?}: {none}");
    }
}
