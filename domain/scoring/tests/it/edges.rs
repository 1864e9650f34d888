//! On the edge (docs/method.md, "On the edge"): every stage and verdict one answer step away is
//! found, and each reading is exactly what scoring the changed answers gives.

use std::collections::BTreeSet;

use domain_model::{FitVerdict, Model, ModelRegistry, ScaleKind, model::Axis};
use domain_scoring::{Answer, AnswerValue, actions::apply, edges, score};

use crate::FIRM;
use crate::v3::firm;

fn v3() -> std::sync::Arc<Model> {
    ModelRegistry::builtin().unwrap().resolve("nl-social-business", 3).unwrap()
}

/// The answers one step from `a` on its scale, found by ranking the scale's distinct scores.
fn neighbours<'m>(m: &'m Model, a: &Answer<'m>) -> Vec<AnswerValue<'m>> {
    let (_, item) = m.item(a.item_id).unwrap();
    let scale = m.scale_of(item);
    let value = |p: &'m domain_model::ScalePoint| match scale.kind {
        ScaleKind::Likert => AnswerValue::Likert(p.number.unwrap()),
        ScaleKind::YesNo => AnswerValue::Yes(p.value == "yes"),
        ScaleKind::Choice => AnswerValue::Choice(&p.value),
    };
    let Some(now) = scale.points.iter().find(|p| value(p) == a.value).map(|p| p.score) else { return Vec::new() };
    let mut scores: Vec<f64> = scale.points.iter().map(|p| p.score).collect();
    scores.sort_by(f64::total_cmp);
    scores.dedup();
    let at = scores.iter().position(|s| *s == now).unwrap();
    [at.checked_sub(1), Some(at + 1)]
        .into_iter()
        .flatten()
        .filter_map(|j| scores.get(j))
        .filter_map(|s| scale.points.iter().find(|p| p.score == *s).map(value))
        .collect()
}

#[test]
fn every_other_reading_one_step_away_is_found_and_is_the_score_of_its_change() {
    let m = v3();
    let (mut firms, mut verdict_edges, mut stage_edges) = (0, 0, 0);
    for seed in 0..300 {
        let given = firm(&m, seed);
        let Ok(before) = score(&m, FIRM, &given) else { continue };
        firms += 1;
        let found = edges(&m, &given, &before);
        // Brute force, with `score` on whole answer lists.
        let (mut stages, mut verdicts) = ([BTreeSet::new(), BTreeSet::new()], BTreeSet::new());
        for (i, a) in given.iter().enumerate() {
            for value in neighbours(&m, a) {
                let mut changed = given.clone();
                changed[i] = Answer { item_id: a.item_id, value };
                let after = score(&m, FIRM, &changed).unwrap();
                for axis in Axis::ALL {
                    let s = after.axis(axis).attained_stage;
                    if s != before.axis(axis).attained_stage {
                        stages[axis.index()].insert(s);
                    }
                }
                if after.fit.verdict != before.fit.verdict {
                    verdicts.insert(after.fit.verdict.index());
                }
            }
        }
        for axis in Axis::ALL {
            let reported: BTreeSet<u8> =
                found.stages[axis.index()].iter().map(|r| r.after.axis(axis).attained_stage).collect();
            assert_eq!(reported, stages[axis.index()], "seed {seed}, {axis:?}");
            assert_eq!(reported.len(), found.stages[axis.index()].len(), "one reading per stage");
        }
        let reported: BTreeSet<usize> = found.verdicts.iter().map(|r| r.after.fit.verdict.index()).collect();
        assert_eq!(reported, verdicts, "seed {seed}");
        for r in found.verdicts.iter().chain(found.stages.iter().flatten()) {
            assert_eq!(score(&m, FIRM, &apply(&given, std::slice::from_ref(&r.change))).unwrap(), r.after);
        }
        verdict_edges += usize::from(!found.verdicts.is_empty());
        stage_edges += usize::from(found.stages.iter().any(|s| !s.is_empty()));
        assert_eq!(found.is_empty(), found.verdicts.is_empty() && !found.stages.iter().any(|s| !s.is_empty()));
    }
    assert!(firms > 250, "{firms} firms scored");
    // The sample holds firms on the edge and firms that are not.
    assert!(verdict_edges > 0 && verdict_edges < firms, "{verdict_edges} of {firms} with a verdict on the edge");
    assert!(stage_edges > 0 && stage_edges < firms, "{stage_edges} of {firms} with a stage on the edge");
}

#[test]
fn a_verdict_just_inside_the_band_is_on_the_edge_with_both_readings() {
    let m = v3();
    let tolerance = m.fit.tolerance;
    // Among generated firms, the balanced one closest to the band's lower edge.
    let (given, before) = (0..600)
        .filter_map(|seed| {
            let given = firm(&m, seed);
            let before = score(&m, FIRM, &given).ok()?;
            (before.fit.verdict == FitVerdict::Balanced && before.fit.gap < 0.0).then_some((given, before))
        })
        .min_by(|a, b| (a.1.fit.gap + tolerance).total_cmp(&(b.1.fit.gap + tolerance)))
        .unwrap();
    assert!(before.fit.gap + tolerance < 1.0, "closest to the edge: gap {}", before.fit.gap);
    let found = edges(&m, &given, &before);
    let other: Vec<FitVerdict> = found.verdicts.iter().map(|r| r.after.fit.verdict).collect();
    assert!(
        other.contains(&FitVerdict::UnderInvested) || other.contains(&FitVerdict::Restrained),
        "gap {} (band ±{tolerance}): other readings {other:?}",
        before.fit.gap
    );
    // The firm far from any boundary has no other verdict.
    let settled = (0..600)
        .filter_map(|seed| {
            let given = firm(&m, seed);
            let before = score(&m, FIRM, &given).ok()?;
            Some((given, before))
        })
        .max_by(|a, b| a.1.fit.gap.abs().total_cmp(&b.1.fit.gap.abs()))
        .unwrap();
    assert!(edges(&m, &settled.0, &settled.1).verdicts.is_empty(), "gap {}", settled.1.fit.gap);
}
