//! The six sample firms of `make sample-pages` (examples/samples/): each gets the verdict and the
//! situation its file names, its chapter leads with fit (page 1 names the verdict and P, the fit
//! section comes before the axes, a restrained firm's page 1 shows no percentile), and the
//! rendered text follows the terms list (docs/terms.md), in both languages and on both backends.

use std::sync::Arc;

use domain_model::Locale;
use migrations::test_db::BACKENDS;
use report_gen::render::Format;
use report_gen::{Assembler, Renderer};
use test_support::terms::{self, Lang};

use crate::{World, submit_firm};

const SAMPLES: [&str; 6] =
    ["balanced", "restrained", "under-invested", "over-invested", "social-by-nature", "stage-unknown"];

#[tokio::test]
async fn each_sample_firm_gets_its_situation_leads_with_fit_and_follows_the_terms() {
    let folder = format!("{}/../examples/samples", env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<String> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().trim_end_matches(".toml").to_string())
        .collect();
    files.sort();
    let mut expected = SAMPLES.map(String::from).to_vec();
    expected.sort();
    assert_eq!(files, expected, "examples/samples/ holds exactly the six samples");
    let list = terms::load();
    for backend in BACKENDS {
        let world = World::new(backend, &[], 0).await;
        let assembler = Assembler::new(Arc::clone(&world.registry), domain_anonymity::Policy::default()).unwrap();
        let renderer = Renderer::new(report_gen::Templates::builtin().unwrap());
        for name in SAMPLES {
            let text = std::fs::read_to_string(format!("{folder}/{name}.toml")).unwrap();
            let sample = services_maturity::sample::parse(name, &text).unwrap();
            assert!(sample.firm_name.contains("(synthetisch)"), "{name}: the name says it is synthetic");
            let firm = sample.request.firm.clone().unwrap();
            let attributes = (firm.sbi_section.as_str(), firm.size_class.as_str(), firm.province.as_str());
            let stored = submit_firm(&world, name, &sample.firm_name, attributes, sample.request.answers.clone()).await;
            for (locale, lang, fit_heading, axes_heading, p_label, percentile) in [
                (
                    Locale::Nl,
                    Lang::Nl,
                    "Aansluiting en investering",
                    "Extern: contact met de omgeving",
                    "Belang van social media voor de propositie (P)",
                    "percentiel",
                ),
                (
                    Locale::En,
                    Lang::En,
                    "Fit and investment",
                    "External: contact with the environment",
                    "Centrality of the proposition (P)",
                    "percentile",
                ),
            ] {
                let c = assembler.chapter(&world.conn, &stored, locale, (2025, 7, 2), 1).await.unwrap();
                let situation = match name {
                    "balanced" => c.fit_id == "balanced",
                    "restrained" => c.fit_id == "restrained",
                    "under-invested" => c.fit_id == "under_invested",
                    "over-invested" => {
                        c.fit_id == "over_invested"
                            && c.business_case.as_ref().is_some_and(|b| b.returns_pay && b.measured_in_money)
                    }
                    "social-by-nature" => {
                        c.social_native && !c.external.skipped.is_empty() && !c.internal.skipped.is_empty()
                    }
                    _ => !c.internal.unknown.is_empty() || !c.external.unknown.is_empty(),
                };
                assert!(situation, "{backend:?} {name}: verdict {}, native {}", c.fit_id, c.social_native);
                assert!(c.peers.is_some(), "{backend:?} {name}: no peer group");
                let pdf = renderer.chapter(&c, locale, Format::Pdf, (2025, 7, 2), name).unwrap();
                let pages: Vec<String> = pdf_extract::extract_text_from_mem_by_pages(&pdf)
                    .unwrap()
                    .iter()
                    .map(|p| p.replace("-\n", "").split_whitespace().collect::<Vec<_>>().join(" "))
                    .collect();
                let first = &pages[0];
                assert!(first.contains(&c.fit), "{backend:?} {locale:?} {name}: page 1 lacks the verdict");
                let p = format!("{p_label} {:.0}", c.proposition);
                assert!(first.contains(&p), "{backend:?} {locale:?} {name}: page 1 lacks `{p}`");
                assert_eq!(
                    first.contains(percentile),
                    c.fit_id != "restrained",
                    "{backend:?} {locale:?} {name}: a percentile on page 1 only when not restrained"
                );
                let text = pages.join(" ");
                let at =
                    |s: &str| text.find(s).unwrap_or_else(|| panic!("{backend:?} {locale:?} {name}: `{s}` missing"));
                assert!(at(fit_heading) < at(axes_heading), "{backend:?} {locale:?} {name}: the axes come first");
                // The list of sources cites titles as they were published.
                let (sources, appendix) =
                    if lang == Lang::Nl { ("Bronnen", "Bijlage A") } else { ("Sources", "Appendix A") };
                let end = at(appendix);
                let start = text[..end].rfind(sources).unwrap_or(end);
                let prose = format!("{} {}", &text[..start], &text[end..]);
                let group = c.peers.as_ref().map(|p| p.group.clone()).unwrap_or_default();
                let found = list.check_rendered(&prose, lang, &[c.firm_name.as_str(), group.as_str()]);
                assert!(found.is_empty(), "{backend:?} {locale:?} {name}:\n{}", found.join("\n"));
            }
        }
    }
}
