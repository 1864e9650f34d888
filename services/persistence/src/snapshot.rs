//! A result as the API answered it, to and from the store's snapshot of it
//! (`store::records::ResultSnapshot`): the stored form is the store's, this is only the copy.

use services_api::v1 as pb;
use store::records::{
    AxisSnapshot, ClassSnapshot, CountsSnapshot, DimensionSnapshot, Firm, FitSnapshot, PropositionSnapshot,
    ResultSnapshot, StageSnapshot,
};

fn verdict_text(v: i32) -> String {
    match pb::FitVerdict::try_from(v) {
        Ok(pb::FitVerdict::Balanced) => "balanced",
        Ok(pb::FitVerdict::UnderInvested) => "under_invested",
        Ok(pb::FitVerdict::OverInvested) => "over_invested",
        Ok(pb::FitVerdict::Restrained) => "restrained",
        _ => "",
    }
    .to_string()
}

fn verdict_pb(text: &str) -> pb::FitVerdict {
    match text {
        "balanced" => pb::FitVerdict::Balanced,
        "under_invested" => pb::FitVerdict::UnderInvested,
        "over_invested" => pb::FitVerdict::OverInvested,
        "restrained" => pb::FitVerdict::Restrained,
        _ => pb::FitVerdict::Unspecified,
    }
}

fn axis(a: Option<&pb::AxisResult>) -> AxisSnapshot {
    let Some(a) = a else { return AxisSnapshot::default() };
    AxisSnapshot {
        axis: a.axis.clone(),
        label: a.label.clone(),
        index: a.index,
        attained_stage: a.attained_stage,
        attained_label: a.attained_label.clone(),
        stages: a
            .stages
            .iter()
            .map(|s| StageSnapshot {
                id: s.id.clone(),
                number: s.number,
                label: s.label.clone(),
                capability: s.capability,
                items_total: s.items_total,
                items_answered: s.items_answered,
                insufficient_evidence: s.insufficient_evidence,
                attained: s.attained,
                skipped: s.skipped,
            })
            .collect(),
    }
}

fn axis_pb(a: &AxisSnapshot) -> pb::AxisResult {
    pb::AxisResult {
        axis: a.axis.clone(),
        label: a.label.clone(),
        index: a.index,
        attained_stage: a.attained_stage,
        attained_label: a.attained_label.clone(),
        stages: a
            .stages
            .iter()
            .map(|s| pb::StageResult {
                id: s.id.clone(),
                number: s.number,
                label: s.label.clone(),
                capability: s.capability,
                items_total: s.items_total,
                items_answered: s.items_answered,
                insufficient_evidence: s.insufficient_evidence,
                attained: s.attained,
                skipped: s.skipped,
            })
            .collect(),
    }
}

fn dimension(d: &pb::DimensionResult) -> DimensionSnapshot {
    DimensionSnapshot {
        id: d.id.clone(),
        label: d.label.clone(),
        score: d.score,
        items_total: d.items_total,
        items_answered: d.items_answered,
        insufficient_evidence: d.insufficient_evidence,
    }
}

fn dimension_pb(d: &DimensionSnapshot) -> pb::DimensionResult {
    pb::DimensionResult {
        id: d.id.clone(),
        label: d.label.clone(),
        score: d.score,
        items_total: d.items_total,
        items_answered: d.items_answered,
        insufficient_evidence: d.insufficient_evidence,
    }
}

fn class(c: Option<&pb::Classification>) -> ClassSnapshot {
    c.map_or_else(ClassSnapshot::default, |c| ClassSnapshot {
        id: c.id.clone(),
        label: c.label.clone(),
        description: c.description.clone(),
    })
}

fn class_pb(c: &ClassSnapshot) -> pb::Classification {
    pb::Classification { id: c.id.clone(), label: c.label.clone(), description: c.description.clone() }
}

/// The store's snapshot of a result as answered.
pub fn snapshot(r: &pb::AssessmentResult) -> ResultSnapshot {
    let model = r.model.clone().unwrap_or_default();
    let firm = r.firm.clone().unwrap_or_default();
    let proposition = r.proposition.unwrap_or_default();
    let fit = r.fit.clone().unwrap_or_default();
    let counts = r.answers.unwrap_or_default();
    ResultSnapshot {
        model_id: model.id,
        model_version: model.version,
        locale: r.locale.clone(),
        firm: Firm { sbi_section: firm.sbi_section, size_class: firm.size_class, province: firm.province },
        external: axis(r.external.as_ref()),
        internal: axis(r.internal.as_ref()),
        maturity_index: r.maturity_index,
        value_sources: r.value_sources.iter().map(dimension).collect(),
        proposition: PropositionSnapshot {
            centrality: proposition.centrality,
            social_native: proposition.social_native,
            items_total: proposition.items_total,
            items_answered: proposition.items_answered,
            insufficient_evidence: proposition.insufficient_evidence,
        },
        fit: FitSnapshot {
            target: fit.target,
            gap: fit.gap,
            verdict: verdict_text(fit.verdict),
            label: fit.label,
            description: fit.description,
            returns_pay: fit.returns_pay,
        },
        archetype: class(r.archetype.as_ref()),
        forrester: class(r.forrester.as_ref()),
        altimeter: class(r.altimeter.as_ref()),
        business_value: r.business_value.iter().map(dimension).collect(),
        counts: CountsSnapshot {
            items_in_model: counts.items_in_model,
            answered: counts.answered,
            dont_know: counts.dont_know,
            unanswered: counts.unanswered,
        },
    }
}

/// A stored snapshot as the API shows a result.
pub fn snapshot_pb(s: &ResultSnapshot) -> pb::AssessmentResult {
    pb::AssessmentResult {
        model: Some(pb::ModelRef { id: s.model_id.clone(), version: s.model_version }),
        locale: s.locale.clone(),
        firm: Some(pb::FirmAttributes {
            sbi_section: s.firm.sbi_section.clone(),
            size_class: s.firm.size_class.clone(),
            province: s.firm.province.clone(),
        }),
        external: Some(axis_pb(&s.external)),
        internal: Some(axis_pb(&s.internal)),
        maturity_index: s.maturity_index,
        value_sources: s.value_sources.iter().map(dimension_pb).collect(),
        proposition: Some(pb::PropositionResult {
            centrality: s.proposition.centrality,
            social_native: s.proposition.social_native,
            items_total: s.proposition.items_total,
            items_answered: s.proposition.items_answered,
            insufficient_evidence: s.proposition.insufficient_evidence,
        }),
        fit: Some(pb::FitResult {
            target: s.fit.target,
            gap: s.fit.gap,
            verdict: verdict_pb(&s.fit.verdict) as i32,
            label: s.fit.label.clone(),
            description: s.fit.description.clone(),
            returns_pay: s.fit.returns_pay,
        }),
        archetype: Some(class_pb(&s.archetype)),
        forrester: Some(class_pb(&s.forrester)),
        altimeter: Some(class_pb(&s.altimeter)),
        business_value: s.business_value.iter().map(dimension_pb).collect(),
        answers: Some(pb::AnswerCounts {
            items_in_model: s.counts.items_in_model,
            answered: s.counts.answered,
            dont_know: s.counts.dont_know,
            unanswered: s.counts.unanswered,
        }),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use domain_model::{Locale, ModelRegistry};
    use services_api::convert::{result_to_pb, score};

    use super::*;

    #[test]
    fn a_scored_result_survives_the_snapshot_unchanged() {
        let registry = Arc::new(ModelRegistry::builtin().unwrap());
        let model = registry.resolve("", 0).unwrap();
        let answers = model
            .items
            .iter()
            .enumerate()
            .map(|(i, it)| {
                let scale = model.scale_of(it);
                let p = &scale.points[(i * 3) % scale.points.len()];
                let value = match scale.kind {
                    domain_model::ScaleKind::Likert => pb::answer::Value::Likert(p.number.unwrap()),
                    domain_model::ScaleKind::YesNo => pb::answer::Value::Yes(p.value == "yes"),
                    domain_model::ScaleKind::Choice => pb::answer::Value::Choice(p.value.clone()),
                };
                pb::Answer { item_id: it.id.clone(), value: Some(value) }
            })
            .collect();
        let req = pb::ScoreAssessmentRequest {
            model: None,
            firm: Some(pb::FirmAttributes {
                sbi_section: "J".into(),
                size_class: "small".into(),
                province: "NL-UT".into(),
            }),
            answers,
            locale: String::new(),
        };
        let scored = score(&registry, &req).unwrap();
        let result = result_to_pb(&scored.model, &scored.assessment, Locale::Nl);
        let stored = store::records::ResultSnapshot::decode(&snapshot(&result).encode()).unwrap();
        assert_eq!(snapshot_pb(&stored), result);
    }
}
