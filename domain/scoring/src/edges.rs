//! Results one answer away (docs/method.md, "On the edge"): a stage or a fit verdict that changes
//! when a single answer moves one step on its scale is on the edge, and a client is told both
//! readings.
//!
//! A step is the nearest scale point above or below the given answer by score; an item not
//! answered, or answered "don't know", has no step. As for actions, each reading is the result of
//! scoring the changed answers, so sending the change to `ScoreAssessment` gives exactly it.

use domain_model::{Model, model::Axis};

use crate::actions::value_of;
use crate::{Answer, AnswerValue, Assessment, Given};

/// Another reading of the result: one answer moved one step, and what scoring then gives.
#[derive(Clone, Debug, PartialEq)]
pub struct Reading {
    /// The changed answer, as a client would send it.
    pub change: Given,
    /// The result of scoring the answers with `change` applied.
    pub after: Assessment,
}

/// The readings one answer step away that change a stage or the verdict.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Edges {
    /// Per axis (`Axis::ALL` order): one reading per other attained stage, the lower stage first.
    pub stages: [Vec<Reading>; 2],
    /// One reading per other fit verdict, in `FitVerdict::ALL` order.
    pub verdicts: Vec<Reading>,
}

impl Edges {
    /// Whether nothing is on the edge.
    pub fn is_empty(&self) -> bool {
        self.verdicts.is_empty() && self.stages.iter().all(Vec::is_empty)
    }
}

/// The edges of a firm whose answers scored `before` (empty for answers that do not score).
///
/// For every answered item, the nearest scale points below and above its answer are scored in its
/// place (items in model order, lower point first); the first change found for each other stage
/// and each other verdict is kept.
pub fn edges(model: &Model, answers: &[Answer<'_>], before: &Assessment) -> Edges {
    let mut problems = Vec::new();
    let (scores, dont_know) = crate::input::item_scores(model, answers, &mut problems);
    if !problems.is_empty() {
        return Edges::default();
    }
    let mut out = Edges::default();
    for a in answers {
        if a.value == AnswerValue::DontKnow {
            continue;
        }
        let Some((i, item)) = model.item(a.item_id) else { continue };
        let Some(now) = scores[i] else { continue };
        let scale = model.scale_of(item);
        let below = scale.points.iter().filter(|p| p.score < now).max_by(|a, b| a.score.total_cmp(&b.score));
        let above = scale.points.iter().filter(|p| p.score > now).min_by(|a, b| a.score.total_cmp(&b.score));
        for point in [below, above].into_iter().flatten() {
            let mut changed = scores.clone();
            changed[i] = Some(point.score);
            let after = crate::engine::compute(model, before.firm, &changed, dont_know);
            let reading = || Reading {
                change: Given { item_id: item.id.clone(), value: value_of(scale.kind, point) },
                after: after.clone(),
            };
            for axis in Axis::ALL {
                let stage = after.axis(axis).attained_stage;
                let found = &mut out.stages[axis.index()];
                if stage != before.axis(axis).attained_stage
                    && !found.iter().any(|r| r.after.axis(axis).attained_stage == stage)
                {
                    found.push(reading());
                }
            }
            if after.fit.verdict != before.fit.verdict
                && !out.verdicts.iter().any(|r| r.after.fit.verdict == after.fit.verdict)
            {
                out.verdicts.push(reading());
            }
        }
    }
    for axis in Axis::ALL {
        out.stages[axis.index()].sort_by_key(|r| r.after.axis(axis).attained_stage);
    }
    out.verdicts.sort_by_key(|r| domain_model::FitVerdict::ALL.iter().position(|v| *v == r.after.fit.verdict));
    out
}
