//! Fit first: for a restrained, an under-invested and an over-invested firm, in both languages, page
//! 1 names the verdict and the proposition's centrality P, the fit section with its figure comes
//! before the two axes, and a restrained firm's first page shows no percentile.

use std::sync::Arc;

use domain_model::{Locale, Target, model::Axis};
use migrations::test_db::BACKENDS;
use report_gen::render::Format;
use report_gen::{Assembler, Renderer};
use test_support::answers_by;

use crate::{World, submit_firm};

#[tokio::test]
async fn page_one_names_the_verdict_and_the_fit_section_comes_before_the_axes() {
    for backend in BACKENDS {
        let world = World::new(backend, &[], 0).await;
        let model = world.registry.resolve("", 0).unwrap();
        let firms = [
            ("restrained", answers_by(&model, |_, t| if t == Target::Stage(Axis::External, 1) { 0.75 } else { 0.0 })),
            (
                "under_invested",
                answers_by(&model, |_, t| match t {
                    Target::Proposition => 1.0,
                    Target::SocialNative => 0.0,
                    _ => 0.1,
                }),
            ),
            (
                "over_invested",
                answers_by(&model, |_, t| match t {
                    Target::Proposition | Target::SocialNative => 0.0,
                    _ => 1.0,
                }),
            ),
        ];
        let assembler = Assembler::new(Arc::clone(&world.registry), domain_anonymity::Policy::default()).unwrap();
        let renderer = Renderer::new(report_gen::Templates::builtin().unwrap());
        for (verdict, answers) in firms {
            let (request_id, name) = (format!("fit-{verdict}"), format!("Fit {verdict} BV"));
            let stored = submit_firm(&world, &request_id, &name, ("C", "small", "NL-NB"), answers).await;
            for (locale, fit_heading, axes_heading, p_label, percentile, caption) in [
                (
                    Locale::Nl,
                    "Aansluiting en investering",
                    "Extern: contact met de omgeving",
                    "Belang van social media voor de propositie (P)",
                    "percentiel",
                    "Aansluiting: de volwassenheidsindex (M) tegen het belang van social media voor de propositie (P)",
                ),
                (
                    Locale::En,
                    "Fit and investment",
                    "External: contact with the environment",
                    "Centrality of the proposition (P)",
                    "percentile",
                    "Fit: the maturity index (M) against the centrality of the proposition (P)",
                ),
            ] {
                let chapter = assembler.chapter(&world.conn, &stored, locale, (2025, 7, 2), 1).await.unwrap();
                assert_eq!(chapter.fit_id, verdict, "{backend:?}: the answers do not give {verdict}");
                assert!(chapter.peers.is_some(), "{backend:?}: no peer group for the comparison");
                assert_eq!(chapter.fit_shares.len(), model.fit.verdicts.len(), "{backend:?}");
                assert_eq!(chapter.fit_shares.iter().filter(|s| s.own).count(), 1, "{backend:?}");
                let pdf = renderer.chapter(&chapter, locale, Format::Pdf, (2025, 7, 2), "fit-first").unwrap();
                let pages: Vec<String> = pdf_extract::extract_text_from_mem_by_pages(&pdf)
                    .unwrap()
                    .iter()
                    .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
                    .collect();
                let first = &pages[0];
                assert!(first.contains(&chapter.fit), "{backend:?} {locale:?} {verdict}: page 1 lacks the verdict");
                let p = format!("{p_label} {:.0}", chapter.proposition);
                assert!(first.contains(&p), "{backend:?} {locale:?} {verdict}: page 1 lacks `{p}`: {first}");
                if verdict == "restrained" {
                    assert!(
                        !first.contains(percentile),
                        "{backend:?} {locale:?}: a percentile on a restrained firm's page 1"
                    );
                } else {
                    assert!(first.contains(percentile), "{backend:?} {locale:?} {verdict}: no position on page 1");
                }
                let text = pages.join(" ");
                let at = |s: &str| text.find(s).unwrap_or_else(|| panic!("{backend:?} {locale:?}: `{s}` missing"));
                assert!(at(fit_heading) < at(axes_heading), "{backend:?} {locale:?} {verdict}: the axes come first");
                assert!(
                    at(caption) < at(axes_heading),
                    "{backend:?} {locale:?} {verdict}: no fit figure before the axes"
                );
            }
        }
    }
}
