//! The chapter follows the verdict (model v2): a restrained firm is told that restraint fits and
//! gets no ladder push or investment advice (the other verdicts are named only as the peers' shares); a firm that skipped lower stages reads that skipping
//! is legitimate; an unknown stage is named as unknown with the questions that would settle it.

use std::sync::Arc;

use domain_model::{Locale, Target, model::Axis};
use migrations::test_db::BACKENDS;
use report_gen::render::Format;
use report_gen::{Assembler, Renderer};
use services_api::v1 as pb;
use test_support::answers_by;

use crate::{World, submit_firm, text_of};

async fn chapter_text(world: &World, name: &str, answers: Vec<pb::Answer>, locale: Locale) -> String {
    let request_id = format!("{name}-{}", locale.tag());
    let stored = submit_firm(world, &request_id, name, ("C", "small", "NL-NB"), answers).await;
    let assembler = Assembler::new(Arc::clone(&world.registry), domain_anonymity::Policy::default()).unwrap();
    let chapter = assembler.chapter(&world.conn, &stored, locale, (2025, 7, 2), 1).await.unwrap();
    let renderer = Renderer::new(report_gen::Templates::builtin().unwrap());
    text_of(&renderer.chapter(&chapter, locale, Format::Pdf, (2025, 7, 2), name).unwrap())
}

#[tokio::test]
async fn the_chapter_follows_the_verdict_and_calls_skipping_legitimate() {
    for backend in BACKENDS {
        let world = World::new(backend, &[], 0).await;
        let model = world.registry.resolve("", 0).unwrap();
        assert_eq!(model.version, 3);

        // Restrained: the proposition rests on nothing social, a little listening, nothing else.
        let restrained = answers_by(&model, |_, t| if t == Target::Stage(Axis::External, 1) { 0.75 } else { 0.0 });
        let says_and_never: [(Locale, [&str; 6], [&str; 3]); 2] = [
            (
                Locale::Nl,
                [
                    "Terughoudendheid past",
                    "Terughoudendheid past hier",
                    "Vasthouden wat werkt",
                    "hoeft dat geen tekort te zijn",
                    "Wat meten we van de opbrengst van social media?",
                    "Of het zichzelf terugverdient, is niet te zeggen",
                ],
                ["De volgende stap", "Inhalen wat de propositie vraagt", "Minder ver dan de propositie vraagt"],
            ),
            (
                Locale::En,
                [
                    "Restraint fits",
                    "Restraint fits here",
                    "What to keep",
                    "a choice, not a shortcoming",
                    "What do we measure of what social media return?",
                    "Whether it pays cannot be said",
                ],
                ["The next step", "Catch up with what the proposition needs", "Under-invested"],
            ),
        ];
        for (locale, says, never) in says_and_never {
            let text = chapter_text(&world, "Terughoudend BV", restrained.clone(), locale).await;
            for s in says {
                assert!(text.contains(s), "{backend:?} {locale:?}: `{s}` missing");
            }
            let [next, catch_up, under] = never;
            for s in [next, catch_up] {
                assert!(!text.contains(s), "{backend:?} {locale:?}: `{s}` in a restrained firm's chapter");
            }
            // The other verdict's name only once: as a row of the peers' verdict shares beside the
            // fit figure, never about the firm.
            assert_eq!(
                text.matches(under).count(),
                1,
                "{backend:?} {locale:?}: `{under}` in a restrained firm's chapter"
            );
        }

        // Social by nature: lower stages answered at the bottom, higher at the top, founded on
        // social media; I2 answered "don't know" throughout is unknown.
        let mut native = answers_by(&model, |_, t| match t {
            Target::Stage(_, s) if s >= 3 => 1.0,
            Target::Stage(..) => 0.0,
            Target::Proposition | Target::SocialNative => 1.0,
            _ => 0.75,
        });
        for a in &mut native {
            if a.item_id.starts_with("i2.") {
                a.value = Some(pb::answer::Value::DontKnow(true));
            }
        }
        let text = chapter_text(&world, "Van Nature BV", native, Locale::Nl).await;
        assert!(text.contains("overgeslagen") && text.contains("Dat is geen tekort"), "{backend:?}");
        assert!(!text.contains("fundament"), "{backend:?}: skipping called a missing foundation");
        assert!(text.contains("Fase 2, Functioneel, is onbekend"), "{backend:?}");
        assert!(text.contains("Er zijn schriftelijke richtlijnen voor medewerkers"), "{backend:?}: the open question");
        // The research's context figures, shared with the sector volumes, with their sources.
        assert!(
            text.contains("negen op de tien Nederlanders") && text.contains("Thuiswinkel Markt Monitor"),
            "{backend:?}"
        );
    }
}
