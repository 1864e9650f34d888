//! The scoring rules of docs/method.md, with every number taken from the model file.

use domain_model::{
    Facet, Facts, FirmProfile, Model, Province, SbiSection, SizeClass, Target, ValueSource,
    model::{Axis, MAX_STAGE},
};

use crate::input::{Answer, FirmInput, Problem, check_minimums, item_scores};
use crate::result::*;

/// Scores one assessment, or returns every problem with the request at once.
pub fn score(model: &Model, firm: FirmInput<'_>, answers: &[Answer<'_>]) -> Result<Assessment, Vec<Problem>> {
    let mut problems = Vec::new();
    let section = SbiSection::parse(firm.sbi_section);
    if section.is_none() {
        problems.push(Problem::UnknownSbiSection(firm.sbi_section.to_string()));
    }
    let size = SizeClass::parse(firm.size_class);
    if size.is_none() {
        problems.push(Problem::UnknownSizeClass(firm.size_class.to_string()));
    }
    let province = Province::parse(firm.province);
    if province.is_none() {
        problems.push(Problem::UnknownProvince(firm.province.to_string()));
    }
    let (scores, dont_know) = item_scores(model, answers, &mut problems);
    // The minimums are only meaningful once every answer is known to be valid: a request with an
    // unknown item would otherwise also be told it has too few answers.
    if !problems.iter().any(|p| matches!(p.location(), crate::Location::Answer(..))) {
        check_minimums(model, &scores, &mut problems);
    }
    match (section, size, province) {
        (Some(section), Some(size), Some(province)) if problems.is_empty() => {
            Ok(compute(model, FirmProfile { section, size, province }, &scores, dont_know))
        }
        _ => Err(problems),
    }
}

/// Weighted mean of the answered items with evidence for `target`.
struct Evidence {
    mean: Option<f64>,
    total: u32,
    answered: u32,
}

fn evidence(model: &Model, scores: &[Option<f64>], target: Target) -> Evidence {
    let (mut sum, mut weights, mut total, mut answered) = (0.0, 0.0, 0, 0);
    for (i, _, w) in model.items_for(target) {
        total += 1;
        if let Some(s) = scores[i] {
            answered += 1;
            sum += w * s;
            weights += w;
        }
    }
    let mean = (answered > 0).then(|| (100.0 * sum / weights).clamp(0.0, 100.0));
    Evidence { mean, total, answered }
}

fn insufficient(model: &Model, e: &Evidence) -> bool {
    f64::from(e.answered) < model.scoring.min_answered_share * f64::from(e.total)
}

fn dimension(model: &Model, scores: &[Option<f64>], target: Target) -> DimensionResult {
    let e = evidence(model, scores, target);
    DimensionResult {
        score: e.mean,
        items_total: e.total,
        items_answered: e.answered,
        insufficient_evidence: insufficient(model, &e),
    }
}

fn axis(model: &Model, scores: &[Option<f64>], axis: Axis) -> AxisResult {
    let rules = &model.scoring;
    let stages: [StageResult; 4] = std::array::from_fn(|i| {
        let stage = i as u8 + 1;
        let e = evidence(model, scores, Target::Stage(axis, stage));
        let capability = e.mean.unwrap_or(0.0);
        let insufficient_evidence = insufficient(model, &e);
        StageResult {
            stage,
            capability,
            items_total: e.total,
            items_answered: e.answered,
            insufficient_evidence,
            attained: !insufficient_evidence && capability >= rules.attainment_threshold,
            skipped: false,
        }
    });
    let attained_stage = stages.iter().rev().find(|s| s.attained).map_or(0, |s| s.stage);
    // Skipped means evidence that the stage is not practised; a stage without enough evidence is
    // unknown, never skipped (model version 2 made this explicit; it changes no score).
    let stages = stages
        .map(|s| StageResult { skipped: s.stage < attained_stage && !s.attained && !s.insufficient_evidence, ..s });
    let index = stages.iter().zip(rules.stage_weights).map(|(s, w)| w * s.capability).sum::<f64>().clamp(0.0, 100.0);
    debug_assert!(attained_stage <= MAX_STAGE);
    AxisResult { axis, index, attained_stage, stages }
}

pub(crate) fn compute(model: &Model, firm: FirmProfile, scores: &[Option<f64>], dont_know: u32) -> Assessment {
    let axes = Axis::ALL.map(|a| axis(model, scores, a));
    let [wx, wi] = model.scoring.axis_weights;
    let maturity_index = (wx * axes[0].index + wi * axes[1].index).clamp(0.0, 100.0);

    let p = evidence(model, scores, Target::Proposition);
    let native = evidence(model, scores, Target::SocialNative);
    let proposition = PropositionResult {
        // The minimums guarantee at least one answered proposition item.
        centrality: p.mean.unwrap_or(0.0),
        social_native: native.mean.is_some_and(|m| m >= 50.0),
        items_total: p.total,
        items_answered: p.answered,
        insufficient_evidence: insufficient(model, &p),
    };

    let fit_rules = &model.fit;
    let target = fit_rules.target(proposition.centrality);
    let gap = maturity_index - target;
    let verdict = fit_rules.verdict(maturity_index, proposition.centrality);
    let returns = fit_rules.returns.as_ref().map(|r| r.read(scores)).unwrap_or_default();

    let facts = Facts {
        external_stage: axes[0].attained_stage,
        internal_stage: axes[1].attained_stage,
        proposition: proposition.centrality,
        social_native: proposition.social_native,
    };
    let first_match = |rules: &[domain_model::RuledClass]| {
        // Validation guarantees that the last rule matches everything.
        rules.iter().position(|r| r.when_any.iter().any(|c| c.matches(&facts))).unwrap_or(rules.len() - 1)
    };
    let archetype = first_match(&model.archetypes);
    let altimeter = first_match(&model.altimeter);
    let forrester = usize::from(facts.internal_stage);

    let answered = scores.iter().filter(|s| s.is_some()).count() as u32;
    let items_in_model = model.items.len() as u32;
    Assessment {
        model_id: model.id.clone(),
        model_version: model.version,
        firm,
        axes,
        maturity_index,
        value_sources: ValueSource::ALL.map(|v| dimension(model, scores, Target::ValueSource(v))),
        proposition,
        fit: FitResult { target, gap, verdict, returns_pay: returns.pay(), returns },
        archetype,
        forrester,
        altimeter,
        business_value: Facet::ALL.map(|f| dimension(model, scores, Target::BusinessValue(f))),
        answers: AnswerCounts {
            items_in_model,
            answered,
            dont_know,
            unanswered: items_in_model - answered - dont_know,
        },
    }
}
