//! Sector volumes on both backends: one for a sector with published groups and one for a sector
//! where most cells are suppressed. Every figure either volume shows is a published group's (so
//! nothing in them can be derived that the releases, attacked in tests/e2e/attacker.rs, do not
//! already give); every suppressed cell says so, in both languages; the command refuses bad input.

use std::collections::BTreeMap;

use domain_model::{Locale, SbiSection};
use migrations::test_db::BACKENDS;
use report_gen::render::Format;
use report_gen::volume::{Cell, Subject, Volume, assemble};

use crate::{World, report_gen, text_of};

fn cells(v: &Volume) -> Vec<&Cell> {
    std::iter::once(&v.sector)
        .chain(std::iter::once(&v.national))
        .chain(v.by_size.iter().chain(&v.by_province).chain(&v.sectors).chain(&v.trend).map(|r| &r.cell))
        .collect()
}

#[tokio::test]
async fn sector_volumes_show_published_figures_only_and_say_what_is_suppressed() {
    for backend in BACKENDS {
        let world = World::new(backend, &[], 0).await;
        let model = world.registry.resolve("", 0).unwrap();
        let k = 10;
        // Every published group of every year, as (n, mean bits): what a volume may show.
        let mut published = std::collections::BTreeSet::new();
        // And the 2025 fit verdict shares of each published group, by section (national: "").
        let mut fit_2025: BTreeMap<(String, String), Vec<u64>> = BTreeMap::new();
        let mut per_section: BTreeMap<String, usize> = BTreeMap::new();
        // The (year, section) pairs with a published section group: the trend shows exactly those.
        let mut section_years = std::collections::BTreeSet::new();
        for year in 2013..=2025 {
            let Ok(release) = report_gen::export::release(&world.conn, &model, year, k).await else { continue };
            for g in &release.groups {
                let mean = g.distributions.iter().find(|d| d.metric == "maturity_index").unwrap().mean;
                published.insert((g.n, mean.to_bits()));
                if year == 2025 && !g.sbi_section.is_empty() {
                    *per_section.entry(g.sbi_section.clone()).or_default() += 1;
                }
                if g.level == "section" {
                    section_years.insert((year, g.sbi_section.clone()));
                }
                if year == 2025 && g.province.is_empty() && g.size_class.is_empty() {
                    let shares = g.fit_shares.iter().map(|f| f.share.to_bits()).collect();
                    fit_2025.insert((g.sbi_section.clone(), g.level.clone()), shares);
                }
            }
        }
        let rich = per_section.iter().max_by_key(|(_, n)| **n).unwrap().0.clone();
        let sparse = SbiSection::ALL.iter().find(|s| !per_section.contains_key(s.code())).unwrap();
        let renderer = report_gen::Renderer::new(report_gen::Templates::builtin().unwrap());
        let assembler =
            report_gen::Assembler::new(std::sync::Arc::clone(&world.registry), domain_anonymity::Policy::default())
                .unwrap();
        for (section, expect_sector) in [(SbiSection::parse(&rich).unwrap(), true), (*sparse, false)] {
            let subject = Subject { section, size: None, year: 2025 };
            for (locale, says) in
                [(Locale::En, "suppressed: fewer than k firms"), (Locale::Nl, "afgeschermd: minder dan k bedrijven")]
            {
                let context = assembler.context(section, locale);
                let v = assemble(&world.conn, &model, k, subject, locale, "2026-11-28".into(), context).await.unwrap();
                assert_eq!(v.sector.published, expect_sector, "{backend:?} {section:?}");
                for c in cells(&v).into_iter().filter(|c| c.published) {
                    let key = (c.n.unwrap(), c.mean.unwrap().to_bits());
                    assert!(published.contains(&key), "{backend:?} {section:?}: a figure no release publishes: {c:?}");
                }
                assert!(v.synthetic, "{backend:?}: the demo peers are synthetic and the volume must say so");
                let pdf = renderer.volume(&v, locale, Format::Pdf, (2026, 11, 28), "sector-test").unwrap();
                let text = text_of(&pdf);
                let suppressed_rows = cells(&v).iter().filter(|c| !c.published).count();
                assert_eq!(text.matches(says).count(), suppressed_rows, "{backend:?} {section:?} {locale:?}");
                assert_eq!(v.suppressed, suppressed_rows - usize::from(!v.national.published), "{backend:?}");
                let cbs = if locale == Locale::En { "used social networks" } else { "sociale netwerken" };
                assert!(text.contains(cbs), "{backend:?} {locale:?}: no CBS context");
                // The research's context figures, with their sources.
                for source in ["Newcom Research", "Thuiswinkel Markt Monitor", "Panteia, 2014", "Social Media Monitor"]
                {
                    assert!(text.contains(source), "{backend:?} {locale:?}: no {source}");
                }
                // Fit verdict shares: the published groups' own, for the sector and all firms.
                let fit_caption = if locale == Locale::En {
                    "Share of firms per fit verdict"
                } else {
                    "Aandeel bedrijven per oordeel over de aansluiting"
                };
                assert!(text.contains(fit_caption), "{backend:?} {locale:?}");
                assert_eq!(v.fit.len(), model.fit.verdicts.len(), "{backend:?}");
                let bits = |f: &dyn Fn(&report_gen::volume::FitRow) -> Option<f64>| -> Vec<u64> {
                    v.fit.iter().filter_map(|r| f(r).map(f64::to_bits)).collect()
                };
                assert_eq!(bits(&|r| r.national), fit_2025[&(String::new(), "all".to_string())], "{backend:?}");
                for r in &v.trend {
                    let y: i32 = r.label.parse().unwrap();
                    let published_then = section_years.contains(&(y, section.code().to_string()));
                    assert_eq!(r.cell.published, published_then, "{backend:?} {section:?}: the trend's {y}");
                }
                if expect_sector {
                    assert!(v.trend.iter().filter(|r| r.cell.published).count() > 1, "{backend:?}: no trend");
                    assert!(v.fit_published, "{backend:?}");
                    assert_eq!(bits(&|r| r.sector), fit_2025[&(section.code().to_string(), "section".to_string())]);
                    for r in &v.fit {
                        assert!(text.contains(&r.label), "{backend:?} {locale:?}: verdict {} not shown", r.label);
                    }
                } else {
                    assert!(v.fit.iter().all(|r| r.sector.is_none()), "{backend:?}: estimated verdict shares");
                }
                let (matrix_shown, matrix_absent) = if locale == Locale::En {
                    ("firms by external and internal stage", "is not published for this sector")
                } else {
                    ("De bedrijven van de sector naar externe en interne fase", "is voor deze sector niet gepubliceerd")
                };
                assert_eq!(v.matrix.len(), if expect_sector { 25 } else { 0 }, "{backend:?} {section:?}");
                assert!(
                    text.contains(if expect_sector { matrix_shown } else { matrix_absent }),
                    "{backend:?} {locale:?}"
                );
                if expect_sector {
                    let n = v.sector.n.unwrap().to_string();
                    assert!(text.contains(&n), "{backend:?}: the sector's n {n} is not shown");
                } else {
                    assert!(
                        v.suppressed * 2 > v.cells,
                        "{backend:?} {section:?}: {} of {} suppressed",
                        v.suppressed,
                        v.cells
                    );
                    assert!(v.sources.iter().all(|s| s.sector.is_none()), "{backend:?}: estimated value sources");
                    assert!(v.external.iter().all(|s| s.sector.is_none()), "{backend:?}: estimated stage shares");
                }
            }
        }

        // The volume of one size class reads its section's province groups (and only those): with
        // enough peers for provinces to be published (20 000 more), the (year, section, size) with
        // the most published provinces shows exactly those, by n and mean.
        services_persistence::seed::seed_demo(&world.app.persistence, &model, 20_000, 11).await.unwrap();
        let mut provinces: BTreeMap<(i32, String, String), Vec<(u32, u64)>> = BTreeMap::new();
        for year in 2013..=2025 {
            let Ok(release) = report_gen::export::release(&world.conn, &model, year, k).await else { continue };
            for g in release.groups.iter().filter(|g| g.level == "section_size_province") {
                let mean = g.distributions.iter().find(|d| d.metric == "maturity_index").unwrap().mean;
                let key = (year, g.sbi_section.clone(), g.size_class.clone());
                provinces.entry(key).or_default().push((g.n, mean.to_bits()));
            }
        }
        let ((p_year, p_section, p_size), mut expected) =
            provinces.into_iter().max_by_key(|(_, v)| v.len()).expect("no province group published in any year");
        let subject = Subject {
            section: SbiSection::parse(&p_section).unwrap(),
            size: domain_model::SizeClass::parse(&p_size),
            year: p_year,
        };
        let v = assemble(&world.conn, &model, k, subject, Locale::En, "2026-11-28".into(), None).await.unwrap();
        let mut shown: Vec<(u32, u64)> = v
            .by_province
            .iter()
            .filter(|r| r.cell.published)
            .map(|r| (r.cell.n.unwrap(), r.cell.mean.unwrap().to_bits()))
            .collect();
        shown.sort_unstable();
        expected.sort_unstable();
        assert!(!expected.is_empty(), "{backend:?}: no province published");
        assert_eq!(shown, expected, "{backend:?} {p_section}/{p_size}: the provinces shown are not the published ones");
    }
}

#[tokio::test]
async fn render_sector_volume_streams_the_volume_and_refuses_bad_input() {
    use services_api::v1 as pb;
    use services_api::v1::report_service_client::ReportServiceClient;
    for backend in BACKENDS {
        let world = World::new(backend, &[], 0).await;
        let mut client = ReportServiceClient::new(world.app.channel.clone());
        let ask = |section: &str, size: &str, year: u32| pb::RenderSectorVolumeRequest {
            sbi_section: section.into(),
            size_class: size.into(),
            year,
            locale: "en".into(),
            ..Default::default()
        };
        let mut stream =
            client.render_sector_volume(crate::as_tenant("analyst", ask("F", "small", 0))).await.unwrap().into_inner();
        let meta = stream.message().await.unwrap().unwrap().metadata.unwrap();
        let mut pdf = Vec::new();
        while let Some(piece) = stream.message().await.unwrap() {
            pdf.extend_from_slice(&piece.data);
        }
        assert!(crate::complete(&pdf), "{backend:?}: not a whole PDF");
        assert_eq!(
            (meta.size, meta.file_name.as_str()),
            (pdf.len() as u64, "sector-F-small-2025.en.pdf"),
            "{backend:?}"
        );
        let text = text_of(&pdf);
        assert!(text.contains("Construction (F)"), "{backend:?}");
        assert!(text.contains("The sector in this size class by province"), "{backend:?}");

        let refused = client.render_sector_volume(crate::as_tenant("analyst", ask("Z", "huge", 0))).await.map(|_| ());
        let status = refused.unwrap_err();
        assert_eq!(status.code(), tonic::Code::InvalidArgument, "{backend:?}");
        let details = tonic_types::StatusExt::get_details_bad_request(&status).unwrap();
        let fields: Vec<&str> = details.field_violations.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["sbi_section", "size_class"], "{backend:?}");
        // The same reason and words as ScoreAssessment and QueryBenchmark give an unknown code.
        let codes: Vec<&str> = details.field_violations.iter().map(|v| v.reason.as_str()).collect();
        assert_eq!(codes, ["UNKNOWN_SBI_SECTION", "UNKNOWN_SIZE_CLASS"], "{backend:?}");
        let words: Vec<&str> = details.field_violations.iter().map(|v| v.description.as_str()).collect();
        assert_eq!(
            words,
            [
                "unknown SBI section `Z`: expected a letter A to U",
                "unknown size class `huge`: expected micro, small, medium or large"
            ],
            "{backend:?}"
        );
        let none = client.render_sector_volume(crate::as_tenant("analyst", ask("F", "", 1990))).await.map(|_| ());
        assert_eq!(none.unwrap_err().code(), tonic::Code::NotFound, "{backend:?}");
    }
}

#[tokio::test]
async fn the_night_writes_each_sector_volume_once() {
    for backend in BACKENDS {
        let world = World::new(backend, &[], 0).await;
        let out = crate::scratch("sectors");
        let night = |extra: &[&str]| {
            let run = report_gen()
                .args(["nightly", "--sectors", "--out"])
                .arg(&out)
                .args(["--date", crate::NIGHT, "--database-url", &world.app.db_url])
                .args(extra)
                .output()
                .unwrap();
            let stdout = String::from_utf8_lossy(&run.stdout).to_string();
            assert!(
                run.status.success(),
                "{backend:?}: {stdout}
{}",
                String::from_utf8_lossy(&run.stderr)
            );
            stdout
        };
        // The sectors with a published group in 2025 (the latest published year up to the night).
        let model = world.registry.resolve("", 0).unwrap();
        let release = report_gen::export::release(&world.conn, &model, 2025, 10).await.unwrap();
        let sectors: std::collections::BTreeSet<String> = release
            .groups
            .iter()
            .filter(|g| g.level == "section")
            .map(|g| format!("{}/sectors/{}.nl.pdf", crate::NIGHT, g.sbi_section))
            .collect();
        assert!(sectors.len() > 3, "{backend:?}: {sectors:?}");

        let first = night(&["--jobs", "2"]);
        let written = format!("sector volumes of 2025: {} written, 0 already there", sectors.len());
        assert!(first.contains(&written), "{backend:?}: {first}");
        assert_eq!(crate::files(&out), sectors.iter().cloned().collect::<Vec<_>>(), "{backend:?}");
        for file in &sectors {
            let pdf = std::fs::read(out.join(file)).unwrap();
            assert!(crate::complete(&pdf), "{backend:?}: {file} is not a complete PDF");
        }
        // A rerun writes nothing; a lost volume (and a killed run's partial file) is made good.
        let again = night(&[]);
        assert!(again.contains(&format!("0 written, {} already there", sectors.len())), "{backend:?}: {again}");
        let lost = sectors.iter().next().unwrap();
        std::fs::remove_file(out.join(lost)).unwrap();
        let partial = out.join(format!("{}/sectors/{}F.nl.pdf.1.1", crate::NIGHT, report_gen::render::TEMP_PREFIX));
        std::fs::write(&partial, b"%PDF-1.7 half").unwrap();
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
        std::fs::File::options().write(true).open(&partial).unwrap().set_modified(old).unwrap();
        let repaired = night(&[]);
        assert!(
            repaired.contains(&format!("1 written, {} already there", sectors.len() - 1)),
            "{backend:?}: {repaired}"
        );
        assert_eq!(crate::files(&out), sectors.iter().cloned().collect::<Vec<_>>(), "{backend:?}: leftovers");
        std::fs::remove_dir_all(&out).unwrap();
    }
}

#[test]
fn the_sector_command_refuses_bad_input() {
    for (args, says) in [
        (vec!["--section", "Z", "--year", "2025"], "is not an SBI section"),
        (vec!["--section", "F", "--size", "huge", "--year", "2025"], "--size must be"),
    ] {
        let out = report_gen().arg("sector").args(&args).args(["--out", "/tmp/never.pdf"]).output().unwrap();
        assert_eq!(out.status.code(), Some(64), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(says),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
