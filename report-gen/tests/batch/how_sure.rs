//! How sure (docs/method.md, "How sure the position is" and "On the edge"): the chapter gives the
//! position as the 90% interval of its group's n, and a verdict one answer step from the other
//! side of a boundary is said to be on the edge, with both readings, on both backends and in both
//! languages.

use std::sync::Arc;

use domain_model::{Locale, Model, ScaleKind, Target};
use domain_scoring::{Answer, AnswerValue, FirmInput};
use migrations::test_db::BACKENDS;
use report_gen::render::Format;
use report_gen::{Assembler, Renderer};
use test_support::answers_by;

use crate::{World, submit_firm};

const FIRM: (&str, &str, &str) = ("C", "small", "NL-NB");

/// The level of item `i` (model order) with the first `cut` stage items at their best and the rest
/// at their lowest, the proposition half way.
fn level(cut: usize, i: usize, t: Target) -> f64 {
    match t {
        Target::Stage(..) if i < cut => 1.0,
        Target::Stage(..) => 0.0,
        _ => 0.5,
    }
}

/// The first `cut` whose firm the engine puts on the edge of its verdict.
fn borderline_cut(model: &Model) -> usize {
    let firm = FirmInput { sbi_section: FIRM.0, size_class: FIRM.1, province: FIRM.2 };
    (0..model.items.len())
        .find(|&cut| {
            let answers: Vec<Answer<'_>> = model
                .items
                .iter()
                .enumerate()
                .map(|(i, it)| {
                    let scale = model.scale_of(it);
                    let last = scale.points.len() - 1;
                    let p = &scale.points[(level(cut, i, it.evidence[0].0) * last as f64).round() as usize];
                    let value = match scale.kind {
                        ScaleKind::Likert => AnswerValue::Likert(p.number.unwrap()),
                        ScaleKind::YesNo => AnswerValue::Yes(p.value == "yes"),
                        ScaleKind::Choice => AnswerValue::Choice(&p.value),
                    };
                    Answer { item_id: &it.id, value }
                })
                .collect();
            domain_scoring::score(model, firm, &answers)
                .is_ok_and(|before| !domain_scoring::edges(model, &answers, &before).verdicts.is_empty())
        })
        .expect("no firm of the family is on the edge of its verdict")
}

#[tokio::test]
async fn the_position_is_an_interval_and_a_verdict_on_the_edge_gives_both_readings() {
    for backend in BACKENDS {
        let world = World::new(backend, &[], 0).await;
        let model = world.registry.resolve("", 0).unwrap();
        let cut = borderline_cut(&model);
        let index = |it: &domain_model::Item| model.items.iter().position(|x| x.id == it.id).unwrap();
        let answers = answers_by(&model, |it, t| level(cut, index(it), t));
        let stored = submit_firm(&world, "edge", "Randgeval BV", FIRM, answers).await;
        let assembler = Assembler::new(Arc::clone(&world.registry), domain_anonymity::Policy::default()).unwrap();
        let renderer = Renderer::new(report_gen::Templates::builtin().unwrap());
        for (locale, between, edge, ord) in
            [(Locale::Nl, "tussen het", "Op het randje.", "e"), (Locale::En, "between the", "On the edge.", "th")]
        {
            let chapter = assembler.chapter(&world.conn, &stored, locale, (2025, 7, 2), 1).await.unwrap();
            // The interval, recomputed from the chapter's percentile and n by the documented method.
            let peers = chapter.peers.as_ref().expect("no peer group");
            let (low, high) =
                domain_statistics::wilson_interval(peers.percentile / 100.0, peers.n, domain_statistics::Z_90).unwrap();
            assert!(
                (peers.percentile_range[0] - 100.0 * low).abs() < 1e-9,
                "{backend:?}: {:?}",
                peers.percentile_range
            );
            assert!(
                (peers.percentile_range[1] - 100.0 * high).abs() < 1e-9,
                "{backend:?}: {:?}",
                peers.percentile_range
            );
            assert!(
                peers.percentile_range[1] - peers.percentile_range[0] > 1.0,
                "{backend:?}: no margin at n {}",
                peers.n
            );
            // Both readings of the verdict, the other one the engine's.
            assert!(!chapter.fit_edges.is_empty(), "{backend:?} {locale:?}: cut {cut} gives no edge");
            assert!(
                chapter.fit_edges.iter().all(|e| e.reading != chapter.fit && !e.question.is_empty() && e.from != e.to)
            );
            let pdf = renderer.chapter(&chapter, locale, Format::Pdf, (2025, 7, 2), "how-sure").unwrap();
            let text = pdf_extract::extract_text_from_mem_by_pages(&pdf)
                .unwrap()
                .iter()
                .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
                .collect::<Vec<_>>()
                .join(" ");
            let range = |r: f64| {
                let n = r.round() as i64;
                if ord == "e" { format!("{n}e") } else { format!("{n}") }
            };
            let page_one = format!("{between} {}", range(peers.percentile_range[0]));
            assert!(text.contains(&page_one), "{backend:?} {locale:?}: `{page_one}` missing");
            let at = text.find(edge).unwrap_or_else(|| panic!("{backend:?} {locale:?}: `{edge}` missing"));
            let paragraph: String = text[at..].chars().take(900).collect();
            assert!(paragraph.contains(&chapter.fit), "{backend:?} {locale:?}: {paragraph}");
            for e in &chapter.fit_edges {
                assert!(paragraph.contains(&e.reading), "{backend:?} {locale:?}: {paragraph}");
            }
        }
    }
}
