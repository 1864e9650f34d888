//! Actions and what they move: the model's practices, changed in the firm's answers and scored
//! again (docs/method.md, "Actions and what they move").
//!
//! An action's effect is never estimated: it is the result of scoring the changed answers, so a
//! client that sends the same changes to `ScoreAssessment` gets exactly the stated effect.
//!
//! What is proposed follows the fit verdict. An under-invested firm gets the practices at most one
//! stage above where it stands on each ladder whose best answers bring it closest to its target
//! without passing the balanced band; a balanced or restrained firm gets what to keep: the
//! practices whose loss (every answer at its lowest) would leave it short of its target or drop a
//! stage; an over-invested firm gets the measurement of returns, when it does not yet measure them
//! in money, and the practices whose loss would drop a stage. Only an under-invested firm is ever
//! shown a step up a ladder.

use domain_model::{FitVerdict, Model, Practice, ScaleKind, ScalePoint, Target, model::Axis};

use crate::{Answer, AnswerValue, Assessment, Given, Value};

/// The most actions a result carries.
pub const MAX_ACTIONS: usize = 3;

/// What the firm is asked to do with a practice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActionKind {
    /// Take the practice up: its answers raised to their best (under-invested firms only).
    Raise,
    /// Keep the practice: the changes show what losing it would do.
    Keep,
    /// Measure returns in money (over-invested firms that do not yet).
    Measure,
}

impl ActionKind {
    /// The id used on the wire.
    pub fn id(self) -> &'static str {
        match self {
            ActionKind::Raise => "raise",
            ActionKind::Keep => "keep",
            ActionKind::Measure => "measure",
        }
    }
}

/// One action: a practice, the changed answers that express it, and the result they give.
#[derive(Clone, Debug, PartialEq)]
pub struct Action {
    /// Raise, keep or measure.
    pub kind: ActionKind,
    /// Index into `Model::practices`.
    pub practice: usize,
    /// The answers changed, as a client would send them: for `Keep`, the loss; otherwise the step.
    pub changes: Vec<Given>,
    /// The result of scoring the firm's answers with `changes` applied.
    pub after: Assessment,
}

/// The stage a practice's items are evidence for, if any (the loader allows one at most).
pub fn practice_stage(model: &Model, practice: &Practice) -> Option<(Axis, u8)> {
    practice.items.iter().flat_map(|&i| model.items[i].evidence.iter()).find_map(|(t, _)| match t {
        Target::Stage(axis, stage) => Some((*axis, *stage)),
        _ => None,
    })
}

/// The answers with `changes` applied: a changed item's answer is replaced where it stood, an item
/// not answered before is added at the end.
pub fn apply<'a>(answers: &[Answer<'a>], changes: &'a [Given]) -> Vec<Answer<'a>> {
    let borrowed = |g: &'a Given| Answer { item_id: &g.item_id, value: g.value.as_answer() };
    let mut out: Vec<Answer<'a>> =
        answers.iter().map(|a| changes.iter().find(|g| g.item_id == a.item_id).map_or(*a, borrowed)).collect();
    for g in changes {
        if !answers.iter().any(|a| a.item_id == g.item_id) {
            out.push(borrowed(g));
        }
    }
    out
}

pub(crate) fn value_of(kind: ScaleKind, point: &ScalePoint) -> Value {
    match (kind, point.number) {
        (ScaleKind::Likert, Some(n)) => Value::Likert(n),
        (ScaleKind::YesNo, _) => Value::Yes(point.value == "yes"),
        _ => Value::Choice(point.value.clone()),
    }
}

/// A candidate change: the changed answers and the item scores they give.
struct Candidate {
    changes: Vec<Given>,
    scores: Vec<Option<f64>>,
    dont_know: u32,
}

/// The practice's items moved to the point `pick` chooses on their scale, where `better` says the
/// move is one (from the item's current score; `None` for unanswered or "don't know").
fn moved(
    model: &Model,
    scores: &[Option<f64>],
    dont_know: &[bool],
    practice: &Practice,
    pick: fn(&ScalePoint, &ScalePoint) -> std::cmp::Ordering,
    better: fn(Option<f64>, f64) -> bool,
) -> Candidate {
    let mut out = Candidate { changes: Vec::new(), scores: scores.to_vec(), dont_know: 0 };
    for &i in &practice.items {
        let item = &model.items[i];
        let scale = model.scale_of(item);
        let Some(point) = scale.points.iter().max_by(|a, b| pick(a, b)) else { continue };
        if better(scores[i], point.score) {
            out.changes.push(Given { item_id: item.id.clone(), value: value_of(scale.kind, point) });
            out.scores[i] = Some(point.score);
            out.dont_know += u32::from(dont_know[i]);
        }
    }
    out
}

/// The practice's items raised to their best answer (those not there yet).
fn raised(model: &Model, scores: &[Option<f64>], dont_know: &[bool], practice: &Practice) -> Candidate {
    moved(
        model,
        scores,
        dont_know,
        practice,
        |a, b| a.score.total_cmp(&b.score),
        |now, best| now.is_none_or(|s| s < best),
    )
}

/// The practice's answered items dropped to their lowest answer (those above it).
fn lost(model: &Model, scores: &[Option<f64>], dont_know: &[bool], practice: &Practice) -> Candidate {
    moved(
        model,
        scores,
        dont_know,
        practice,
        |a, b| b.score.total_cmp(&a.score),
        |now, worst| now.is_some_and(|s| s > worst),
    )
}

fn stages_dropped(before: &Assessment, after: &Assessment) -> u8 {
    Axis::ALL.iter().map(|&a| before.axis(a).attained_stage.saturating_sub(after.axis(a).attained_stage)).sum()
}

/// The actions for a firm whose answers scored `before`: at most `MAX_ACTIONS`, the most telling
/// first. Empty for a model without practices (or answers that do not score).
///
/// Each candidate is scored from the item scores with the changes applied, which is what scoring
/// the changed answers does after validating them: the tests hold the two equal.
pub fn actions(model: &Model, answers: &[Answer<'_>], before: &Assessment) -> Vec<Action> {
    if model.practices.is_empty() {
        return Vec::new();
    }
    let mut problems = Vec::new();
    let (scores, dont_know_total) = crate::input::item_scores(model, answers, &mut problems);
    if !problems.is_empty() {
        return Vec::new();
    }
    let mut dont_know = vec![false; model.items.len()];
    for a in answers {
        if a.value == AnswerValue::DontKnow
            && let Some((i, _)) = model.item(a.item_id)
        {
            dont_know[i] = true;
        }
    }
    let score = |c: Candidate| -> Option<(Vec<Given>, Assessment)> {
        if c.changes.is_empty() {
            return None;
        }
        let after = crate::engine::compute(model, before.firm, &c.scores, dont_know_total - c.dont_know);
        Some((c.changes, after))
    };
    let staged = |p: &Practice| practice_stage(model, p);
    match before.fit.verdict {
        FitVerdict::UnderInvested => {
            // At most one stage above where the firm stands on the practice's axis (a weak or
            // skipped lower stage counts too): the next step, never a leap.
            let reachable = |p: &Practice| staged(p).is_some_and(|(axis, s)| s <= before.axis(axis).attained_stage + 1);
            let mut found: Vec<Action> = model
                .practices
                .iter()
                .enumerate()
                .filter(|(_, p)| reachable(p))
                .filter_map(|(i, p)| {
                    let (changes, after) = score(raised(model, &scores, &dont_know, p))?;
                    Some(Action { kind: ActionKind::Raise, practice: i, changes, after })
                })
                // Toward fit, never past the balanced band.
                .filter(|a| {
                    a.after.fit.gap > before.fit.gap
                        && a.after.fit.gap.abs() < before.fit.gap.abs()
                        && a.after.fit.verdict != FitVerdict::OverInvested
                })
                .collect();
            found.sort_by(|a, b| {
                a.after.fit.gap.abs().total_cmp(&b.after.fit.gap.abs()).then(a.practice.cmp(&b.practice))
            });
            found.truncate(MAX_ACTIONS);
            found
        }
        FitVerdict::Balanced | FitVerdict::Restrained | FitVerdict::OverInvested => {
            // A loss that leaves the firm short of what its proposition needs. For an over-invested
            // firm, a loss that only brings it into balance is what consolidating means, not a
            // reason to keep the practice.
            let falls_short = |a: &Action| {
                a.after.fit.verdict != before.fit.verdict
                    && matches!(a.after.fit.verdict, FitVerdict::UnderInvested | FitVerdict::Restrained)
            };
            let mut out = Vec::new();
            if before.fit.verdict == FitVerdict::OverInvested
                && let Some(rule) = &model.fit.returns
                && let Some(i) = model.practices.iter().position(|p| p.items.contains(&rule.measured_item))
                // Only the measurement item, whatever else its practice holds: measuring climbs no ladder.
                && let Some((changes, after)) = score(raised(
                    model,
                    &scores,
                    &dont_know,
                    &Practice { items: vec![rule.measured_item], ..model.practices[i].clone() },
                ))
            {
                out.push(Action { kind: ActionKind::Measure, practice: i, changes, after });
            }
            let mut keep: Vec<Action> = model
                .practices
                .iter()
                .enumerate()
                .filter(|(_, p)| staged(p).is_some())
                .filter_map(|(i, p)| {
                    let (changes, after) = score(lost(model, &scores, &dont_know, p))?;
                    Some(Action { kind: ActionKind::Keep, practice: i, changes, after })
                })
                .filter(|a| falls_short(a) || stages_dropped(before, &a.after) > 0)
                .collect();
            let weight = |a: &Action| {
                (falls_short(a), stages_dropped(before, &a.after), before.maturity_index - a.after.maturity_index)
            };
            keep.sort_by(|a, b| {
                let (wa, wb) = (weight(a), weight(b));
                (wb.0, wb.1).cmp(&(wa.0, wa.1)).then(wb.2.total_cmp(&wa.2)).then(a.practice.cmp(&b.practice))
            });
            out.extend(keep);
            out.truncate(MAX_ACTIONS);
            out
        }
    }
}
