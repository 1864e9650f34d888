//! The chapter's actions: for an under-invested firm the steps the engine computed, each with its
//! practice, process, measure and the result of scoring its changes; for a balanced or restrained
//! firm only what to keep. The chapter states the same figures as `ScoreAssessment` with the
//! action's changes.

use std::sync::Arc;

use domain_model::{Locale, Target, model::Axis};
use migrations::test_db::BACKENDS;
use report_gen::render::Format;
use report_gen::{Assembler, Renderer};
use test_support::answers_by;

use crate::{World, submit_firm, text_of};

#[tokio::test]
async fn the_chapter_lists_the_actions_with_what_they_move() {
    for backend in BACKENDS {
        let world = World::new(backend, &[], 0).await;
        let model = world.registry.resolve("", 0).unwrap();
        let firms = [
            (
                "under_invested",
                answers_by(&model, |_, t| match t {
                    Target::Stage(Axis::External, 1) => 1.0,
                    Target::Stage(Axis::Internal, 1) | Target::Proposition => 0.75,
                    _ => 0.0,
                }),
            ),
            ("restrained", answers_by(&model, |_, t| if t == Target::Stage(Axis::External, 1) { 0.75 } else { 0.0 })),
        ];
        let assembler = Assembler::new(Arc::clone(&world.registry), domain_anonymity::Policy::default()).unwrap();
        let renderer = Renderer::new(report_gen::Templates::builtin().unwrap());
        for (verdict, answers) in firms {
            let id = format!("actions-{verdict}");
            let stored =
                submit_firm(&world, &id, &format!("Acties {verdict} BV"), ("C", "small", "NL-NB"), answers).await;
            // What the engine gives for the stored answers, scored afresh.
            let request = domain_scoring::Request::from(stored.answers().unwrap());
            let scored = request.score(&world.registry).unwrap();
            let expected = domain_scoring::actions(&model, &request.answers(), &scored.assessment);
            assert!(!expected.is_empty(), "{backend:?} {verdict}: no actions");
            for (locale, heading, step, keep) in [
                (Locale::Nl, "Maatregelen en hun uitwerking in het model", "Met deze stap", "; vasthouden)."),
                (Locale::En, "Actions and their effect in the model", "With this step", "; keep)."),
            ] {
                let chapter = assembler.chapter(&world.conn, &stored, locale, (2025, 7, 2), 1).await.unwrap();
                assert_eq!(chapter.fit_id, verdict, "{backend:?}");
                assert_eq!(chapter.actions.len(), expected.len(), "{backend:?} {verdict}");
                for (view, action) in chapter.actions.iter().zip(&expected) {
                    let practice = &model.practices[action.practice];
                    assert_eq!(view.practice, practice.label.get(locale));
                    assert_eq!(view.measure, practice.measure.get(locale));
                    assert_eq!(view.maturity, [scored.assessment.maturity_index, action.after.maturity_index]);
                    assert_eq!(view.gap, [scored.assessment.fit.gap, action.after.fit.gap]);
                    // A kept practice is shown whole; a step shows what it changes.
                    assert_eq!(view.changes.iter().filter(|c| c.changed).count(), action.changes.len());
                    if view.kind == "keep" {
                        assert_eq!(view.changes.len(), practice.items.len());
                    } else {
                        assert_eq!(view.changes.len(), action.changes.len());
                    }
                }
                // Page 1's priorities name the first actions' practices.
                assert_eq!(chapter.key_message.priorities[0], chapter.actions[0].practice, "{backend:?}");
                let text = text_of(&renderer.chapter(&chapter, locale, Format::Pdf, (2025, 7, 2), "actions").unwrap());
                assert!(text.contains(heading), "{backend:?} {locale:?} {verdict}");
                for view in &chapter.actions {
                    // Up to the first comma: a long label may be hyphenated where it wraps.
                    let label: String = view.practice.split(',').next().unwrap().to_string();
                    assert!(text.contains(&label), "{backend:?} {locale:?}: `{label}` not in the chapter");
                }
                match verdict {
                    "under_invested" => {
                        assert!(chapter.actions.iter().all(|a| a.kind == "raise"), "{backend:?}");
                        assert!(text.contains(step) && !text.contains(keep), "{backend:?} {locale:?}");
                    }
                    _ => {
                        assert!(chapter.actions.iter().all(|a| a.kind == "keep"), "{backend:?}");
                        assert!(!text.contains(step) && text.contains(keep), "{backend:?} {locale:?}");
                    }
                }
            }
        }
    }
}
