//! Conversions between `maturity.v1` wire types and the domain: the model in one locale, the
//! scored result, and the request's answers (with the field path of every problem).

use domain_model::model::Axis;
use domain_model::{Condition, Facet, FitVerdict, Locale, Model, RuledClass, ScaleKind, Text, ValueSource};
use domain_scoring::{Answer, AnswerField, AnswerValue, Assessment, DimensionResult, FirmField, Location, Problem};
use services_api::v1 as pb;
use services_common::errors::Violation;

/// The reference of a model.
pub fn model_ref(model: &Model) -> pb::ModelRef {
    pb::ModelRef { id: model.id.clone(), version: model.version }
}

fn dimension(id: &str, label: &Text, description: &Text, l: Locale) -> pb::Dimension {
    pb::Dimension { id: id.to_string(), label: label.get(l).to_string(), description: description.get(l).to_string() }
}

fn condition(c: &Condition) -> pb::RuleCondition {
    pb::RuleCondition {
        min_external_stage: c.min_external_stage.map(u32::from),
        max_external_stage: c.max_external_stage.map(u32::from),
        min_internal_stage: c.min_internal_stage.map(u32::from),
        max_internal_stage: c.max_internal_stage.map(u32::from),
        min_proposition: c.min_proposition,
        max_proposition: c.max_proposition,
        social_native: c.social_native,
    }
}

fn verdict(v: FitVerdict) -> pb::FitVerdict {
    match v {
        FitVerdict::Balanced => pb::FitVerdict::Balanced,
        FitVerdict::UnderInvested => pb::FitVerdict::UnderInvested,
        FitVerdict::OverInvested => pb::FitVerdict::OverInvested,
    }
}

fn stage_id(axis: Axis, stage: u8) -> String {
    format!("{}{stage}", axis.letter())
}

/// The whole model in locale `l`: everything a client needs to explain a score.
pub fn model_to_pb(m: &Model, l: Locale) -> pb::Model {
    let ruled = |r: &RuledClass| {
        (
            r.id.clone(),
            r.label.get(l).to_string(),
            r.description.get(l).to_string(),
            r.when_any.iter().map(condition).collect::<Vec<_>>(),
        )
    };
    pb::Model {
        model: Some(model_ref(m)),
        locale: l.tag().to_string(),
        title: m.title.get(l).to_string(),
        description: m.description.get(l).to_string(),
        provenance: m.provenance.get(l).to_string(),
        scoring: Some(pb::ScoringRules {
            attainment_threshold: m.scoring.attainment_threshold,
            min_answered_share: m.scoring.min_answered_share,
            stage_weights: m.scoring.stage_weights.to_vec(),
            external_weight: m.scoring.axis_weights[0],
            internal_weight: m.scoring.axis_weights[1],
            min_external_answers: m.scoring.min_answers.external,
            min_internal_answers: m.scoring.min_answers.internal,
            min_proposition_answers: m.scoring.min_answers.proposition,
        }),
        axes: m
            .axes
            .iter()
            .map(|a| pb::Axis {
                id: a.axis.id().to_string(),
                label: a.label.get(l).to_string(),
                stages: a
                    .stages
                    .iter()
                    .enumerate()
                    .map(|(n, s)| pb::Stage {
                        id: stage_id(a.axis, n as u8),
                        number: n as u32,
                        label: s.label.get(l).to_string(),
                        description: s.description.get(l).to_string(),
                    })
                    .collect(),
            })
            .collect(),
        value_sources: m.value_sources.iter().map(|d| dimension(&d.id, &d.label, &d.description, l)).collect(),
        business_value_facets: m.business_value.iter().map(|d| dimension(&d.id, &d.label, &d.description, l)).collect(),
        items: m
            .items
            .iter()
            .map(|it| {
                let scale = m.scale_of(it);
                pb::Item {
                    id: it.id.clone(),
                    text: it.text.get(l).to_string(),
                    help: it.help.as_ref().map(|h| h.get(l).to_string()).unwrap_or_default(),
                    scale: Some(pb::Scale {
                        id: scale.id.clone(),
                        kind: match scale.kind {
                            ScaleKind::Likert => pb::ScaleKind::Likert,
                            ScaleKind::YesNo => pb::ScaleKind::YesNo,
                            ScaleKind::Choice => pb::ScaleKind::Choice,
                        } as i32,
                        points: scale
                            .points
                            .iter()
                            .map(|p| pb::ScalePoint {
                                value: p.value.clone(),
                                label: p.label.get(l).to_string(),
                                score: p.score,
                            })
                            .collect(),
                        allows_dont_know: scale.dont_know,
                    }),
                    evidence: it
                        .evidence
                        .iter()
                        .map(|(t, w)| pb::Evidence { target: t.to_string(), weight: *w })
                        .collect(),
                }
            })
            .collect(),
        fit: Some(pb::FitRules {
            base: m.fit.base,
            slope: m.fit.slope,
            tolerance: m.fit.tolerance,
            verdicts: FitVerdict::ALL
                .iter()
                .map(|v| {
                    let lab = m.verdict(*v);
                    pb::FitVerdictLabel {
                        verdict: verdict(*v) as i32,
                        label: lab.label.get(l).to_string(),
                        description: lab.description.get(l).to_string(),
                    }
                })
                .collect(),
        }),
        archetypes: m
            .archetypes
            .iter()
            .map(ruled)
            .map(|(id, label, description, when_any)| pb::Archetype { id, label, description, when_any })
            .collect(),
        crosswalks: Some(pb::Crosswalks {
            forrester: m
                .forrester
                .iter()
                .map(|f| pb::ForresterStage {
                    id: f.id.clone(),
                    label: f.label.get(l).to_string(),
                    description: f.description.get(l).to_string(),
                    internal_stage: u32::from(f.internal_stage),
                    rogers_category: f.rogers_category.clone(),
                })
                .collect(),
            altimeter: m
                .altimeter
                .iter()
                .map(ruled)
                .map(|(id, label, description, when_any)| pb::AltimeterStage { id, label, description, when_any })
                .collect(),
        }),
        rogers_categories: m
            .rogers
            .iter()
            .map(|r| pb::RogersCategory {
                id: r.id.clone(),
                label: r.label.get(l).to_string(),
                min_percentile: r.min_percentile,
                share_percent: r.share_percent,
            })
            .collect(),
    }
}

fn dimension_result(id: &str, label: &Text, r: &DimensionResult, l: Locale) -> pb::DimensionResult {
    pb::DimensionResult {
        id: id.to_string(),
        label: label.get(l).to_string(),
        score: r.score,
        items_total: r.items_total,
        items_answered: r.items_answered,
        insufficient_evidence: r.insufficient_evidence,
    }
}

fn classification(id: &str, label: &Text, description: &Text, l: Locale) -> pb::Classification {
    pb::Classification {
        id: id.to_string(),
        label: label.get(l).to_string(),
        description: description.get(l).to_string(),
    }
}

/// The scored result in locale `l`.
pub fn result_to_pb(m: &Model, r: &Assessment, l: Locale) -> pb::AssessmentResult {
    let axis = |a: Axis| {
        let res = r.axis(a);
        let def = m.axis(a);
        pb::AxisResult {
            axis: a.id().to_string(),
            label: def.label.get(l).to_string(),
            index: res.index,
            attained_stage: u32::from(res.attained_stage),
            attained_label: def.stages[usize::from(res.attained_stage)].label.get(l).to_string(),
            stages: res
                .stages
                .iter()
                .map(|s| pb::StageResult {
                    id: stage_id(a, s.stage),
                    number: u32::from(s.stage),
                    label: def.stages[usize::from(s.stage)].label.get(l).to_string(),
                    capability: s.capability,
                    items_total: s.items_total,
                    items_answered: s.items_answered,
                    insufficient_evidence: s.insufficient_evidence,
                    attained: s.attained,
                    skipped: s.skipped,
                })
                .collect(),
        }
    };
    let archetype = &m.archetypes[r.archetype];
    let forrester = &m.forrester[r.forrester];
    let altimeter = &m.altimeter[r.altimeter];
    let fit_label = m.verdict(r.fit.verdict);
    pb::AssessmentResult {
        model: Some(pb::ModelRef { id: r.model_id.clone(), version: r.model_version }),
        locale: l.tag().to_string(),
        firm: Some(pb::FirmAttributes {
            sbi_section: r.firm.section.code().to_string(),
            size_class: r.firm.size.code().to_string(),
            province: r.firm.province.code().to_string(),
        }),
        external: Some(axis(Axis::External)),
        internal: Some(axis(Axis::Internal)),
        maturity_index: r.maturity_index,
        value_sources: ValueSource::ALL
            .iter()
            .zip(&r.value_sources)
            .zip(&m.value_sources)
            .map(|((v, res), def)| dimension_result(v.id(), &def.label, res, l))
            .collect(),
        proposition: Some(pb::PropositionResult {
            centrality: r.proposition.centrality,
            social_native: r.proposition.social_native,
            items_total: r.proposition.items_total,
            items_answered: r.proposition.items_answered,
            insufficient_evidence: r.proposition.insufficient_evidence,
        }),
        fit: Some(pb::FitResult {
            target: r.fit.target,
            gap: r.fit.gap,
            verdict: verdict(r.fit.verdict) as i32,
            label: fit_label.label.get(l).to_string(),
            description: fit_label.description.get(l).to_string(),
        }),
        archetype: Some(classification(&archetype.id, &archetype.label, &archetype.description, l)),
        forrester: Some(classification(&forrester.id, &forrester.label, &forrester.description, l)),
        altimeter: Some(classification(&altimeter.id, &altimeter.label, &altimeter.description, l)),
        business_value: Facet::ALL
            .iter()
            .zip(&r.business_value)
            .zip(&m.business_value)
            .map(|((f, res), def)| dimension_result(f.id(), &def.label, res, l))
            .collect(),
        answers: Some(pb::AnswerCounts {
            items_in_model: r.answers.items_in_model,
            answered: r.answers.answered,
            dont_know: r.answers.dont_know,
            unanswered: r.answers.unanswered,
        }),
    }
}

/// Domain answers from wire answers, with the name of the value field each one set (for field
/// paths). A `dont_know = false` is a violation here: it is neither an answer nor "don't know".
pub fn answers_from_pb<'a>(
    answers: &'a [pb::Answer],
    violations: &mut Vec<Violation>,
) -> (Vec<Answer<'a>>, Vec<&'static str>) {
    let mut out = Vec::with_capacity(answers.len());
    let mut fields = Vec::with_capacity(answers.len());
    for (i, a) in answers.iter().enumerate() {
        use pb::answer::Value;
        let (value, field) = match &a.value {
            Some(Value::Likert(n)) => (AnswerValue::Likert(*n), "likert"),
            Some(Value::Yes(b)) => (AnswerValue::Yes(*b), "yes"),
            Some(Value::Choice(c)) => (AnswerValue::Choice(c), "choice"),
            Some(Value::DontKnow(true)) => (AnswerValue::DontKnow, "dont_know"),
            Some(Value::DontKnow(false)) => {
                violations.push(Violation {
                    field: format!("answers[{i}].dont_know"),
                    reason: "INVALID_DONT_KNOW".to_string(),
                    en: "dont_know must be true when set; leave the item out to not answer it".to_string(),
                    nl: "dont_know moet true zijn als het is gezet; laat het item weg om het niet te beantwoorden"
                        .to_string(),
                });
                (AnswerValue::DontKnow, "dont_know")
            }
            None => (AnswerValue::Missing, "value"),
        };
        out.push(Answer { item_id: &a.item_id, value });
        fields.push(field);
    }
    (out, fields)
}

/// A domain problem as a field violation, with its path in `ScoreAssessmentRequest`.
pub fn violation(p: &Problem, value_fields: &[&str]) -> Violation {
    let field = match p.location() {
        Location::Firm(FirmField::SbiSection) => "firm.sbi_section".to_string(),
        Location::Firm(FirmField::SizeClass) => "firm.size_class".to_string(),
        Location::Firm(FirmField::Province) => "firm.province".to_string(),
        Location::Answer(i, AnswerField::ItemId) => format!("answers[{i}].item_id"),
        Location::Answer(i, AnswerField::Value) => match value_fields.get(i) {
            Some(&"value") | None => format!("answers[{i}]"),
            Some(f) => format!("answers[{i}].{f}"),
        },
        Location::Answers => "answers".to_string(),
    };
    Violation { field, reason: p.reason().to_string(), en: p.message(Locale::En), nl: p.message(Locale::Nl) }
}
