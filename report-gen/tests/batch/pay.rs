//! "Does it pay?" in the chapter and the sector volume, on both backends: the cells a chapter and a
//! volume show are the published ones (as the open figures of the year hold them), the chapter
//! sets the firm's own answer beside them, and both say the figures are an association.

use std::sync::Arc;

use domain_anonymity::GroupKey;
use domain_model::{FirmProfile, Locale, Province, SbiSection, SizeClass};
use migrations::test_db::BACKENDS;
use report_gen::render::Format;
use report_gen::volume::{Subject, assemble};
use report_gen::{Assembler, Renderer};
use services_api::v1 as pb;

use crate::{World, submit_firm, text_of};

#[tokio::test]
async fn the_chapter_and_the_volume_show_the_published_pay_figures() {
    for backend in BACKENDS {
        let world = World::new(backend, &[], 0).await;
        let model = world.registry.resolve("", 0).unwrap();
        // A firm that measures its returns in money and finds them below the costs.
        let mut answers = test_support::answers_at(&model, 0.6);
        for a in &mut answers {
            match a.item_id.as_str() {
                "bv.return_against_cost" => a.value = Some(pb::answer::Value::Choice("lower".into())),
                "bv.return_measured" => a.value = Some(pb::answer::Value::Choice("money".into())),
                _ => {}
            }
        }
        let firm = FirmProfile { section: SbiSection::C, size: SizeClass::Small, province: Province::ALL[0] };
        let cell = (firm.section.code(), firm.size.code(), firm.province.code());
        let stored = submit_firm(&world, "pay-1", "Opbrengst BV", cell, answers).await;
        let assembler = Assembler::new(Arc::clone(&world.registry), domain_anonymity::Policy::default()).unwrap();
        let renderer = Renderer::new(report_gen::Templates::builtin().unwrap());
        let found = store::peers::find(&world.conn, &model, 2025, &GroupKey::of(&firm), 0).await.unwrap().unwrap();
        let published = found.figures().pay.clone().expect("the demo peers' group publishes pay figures");
        for (locale, heading, own, cause) in [
            (
                Locale::Nl,
                "Bij vergelijkbare bedrijven",
                "Bij het bedrijf zelf blijft de opbrengst onder de kosten",
                "Dit is een samenhang, geen oorzakelijk verband",
            ),
            (
                Locale::En,
                "Among comparable firms",
                "For the firm itself, returns stay below the costs",
                "This is an association, not a cause",
            ),
        ] {
            let chapter = assembler.chapter(&world.conn, &stored, locale, (2025, 7, 2), 1).await.unwrap();
            let pay = chapter.pay.as_ref().expect("pay figures in the chapter");
            // The rows the firm falls in: all, its verdict, one band per axis, each the published cell.
            assert_eq!(pay.rows.len(), 4, "{backend:?}: {:?}", pay.rows);
            assert_eq!(pay.rows[0].cell.answered, published.all.answered, "{backend:?}");
            assert_eq!(pay.rows[0].cell.cover_costs, published.all.cover_costs_share(), "{backend:?}");
            let verdict = domain_model::FitVerdict::parse(&chapter.fit_id).unwrap();
            match published.by_verdict[verdict.index()] {
                Some(cell) => assert_eq!(pay.rows[1].cell.answered, cell.answered, "{backend:?}"),
                None => assert!(pay.rows[1].cell.withheld, "{backend:?}"),
            }
            assert_eq!((pay.own_cover_costs, pay.own_measured), (Some(false), Some(true)), "{backend:?}");
            let text = text_of(&renderer.chapter(&chapter, locale, Format::Pdf, (2025, 7, 2), "pay").unwrap());
            for s in [heading, own, cause] {
                assert!(text.contains(s), "{backend:?} {locale:?}: `{s}` missing");
            }

            // The volume of the firm's section: its national column is the national release's
            // cells, its sector column the section's.
            let subject = Subject { section: firm.section, size: None, year: 2025 };
            let v = assemble(&world.conn, &model, 10, subject, locale, "2026-12-06".into(), None).await.unwrap();
            let release = report_gen::export::release(&world.conn, &model, 2025, 10).await.unwrap();
            let answered_of = |section: &str, level: &str| {
                release
                    .groups
                    .iter()
                    .find(|g| g.sbi_section == section && g.level == level)
                    .and_then(|g| g.pay.iter().find(|p| p.measure == "pay"))
                    .map(|p| p.cell.answered)
            };
            assert_eq!(v.pay[0].national.map(|c| c.answered), answered_of("", "all"), "{backend:?}");
            assert_eq!(v.pay[0].sector.map(|c| c.answered), answered_of(firm.section.code(), "section"), "{backend:?}");
            assert_eq!(v.pay.len(), 1 + model.fit.verdicts.len() + 6, "{backend:?}");
            let text = text_of(&renderer.volume(&v, locale, Format::Pdf, (2026, 12, 6), "pay").unwrap());
            let caption = if locale == Locale::Nl {
                "Hoe vaak social media zichzelf terugverdienen"
            } else {
                "How often social media pay"
            };
            assert!(text.contains(caption), "{backend:?} {locale:?}: no pay table in the volume");
            for row in &v.pay {
                assert!(text.contains(&row.label), "{backend:?} {locale:?}: row {} missing", row.label);
            }
        }
    }
}
