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

// The fields the wire messages and the store's snapshots share, each list written once and used
// both ways (`$from` is read, `$To` built): a field added to one form and not the other is a
// compile error here, never a value lost on the way.

macro_rules! stage {
    ($from:expr => $To:path) => {{
        let s = $from;
        $To {
            id: s.id.clone(),
            number: s.number,
            label: s.label.clone(),
            capability: s.capability,
            items_total: s.items_total,
            items_answered: s.items_answered,
            insufficient_evidence: s.insufficient_evidence,
            attained: s.attained,
            skipped: s.skipped,
        }
    }};
}

macro_rules! axis {
    ($from:expr => $To:path, $Stage:path) => {{
        let a = $from;
        $To {
            axis: a.axis.clone(),
            label: a.label.clone(),
            index: a.index,
            attained_stage: a.attained_stage,
            attained_label: a.attained_label.clone(),
            stages: a.stages.iter().map(|s| stage!(s => $Stage)).collect(),
        }
    }};
}

macro_rules! dimension {
    ($from:expr => $To:path) => {{
        let d = $from;
        $To {
            id: d.id.clone(),
            label: d.label.clone(),
            score: d.score,
            items_total: d.items_total,
            items_answered: d.items_answered,
            insufficient_evidence: d.insufficient_evidence,
        }
    }};
}

macro_rules! proposition {
    ($from:expr => $To:path) => {{
        let p = $from;
        $To {
            centrality: p.centrality,
            social_native: p.social_native,
            items_total: p.items_total,
            items_answered: p.items_answered,
            insufficient_evidence: p.insufficient_evidence,
        }
    }};
}

macro_rules! counts {
    ($from:expr => $To:path) => {{
        let c = $from;
        $To { items_in_model: c.items_in_model, answered: c.answered, dont_know: c.dont_know, unanswered: c.unanswered }
    }};
}

macro_rules! class {
    ($from:expr => $To:path) => {{
        let c = $from;
        $To { id: c.id.clone(), label: c.label.clone(), description: c.description.clone() }
    }};
}

fn axis(a: Option<&pb::AxisResult>) -> AxisSnapshot {
    a.map_or_else(AxisSnapshot::default, |a| axis!(a => AxisSnapshot, StageSnapshot))
}

fn axis_pb(a: &AxisSnapshot) -> pb::AxisResult {
    axis!(a => pb::AxisResult, pb::StageResult)
}

fn dimension(d: &pb::DimensionResult) -> DimensionSnapshot {
    dimension!(d => DimensionSnapshot)
}

fn dimension_pb(d: &DimensionSnapshot) -> pb::DimensionResult {
    dimension!(d => pb::DimensionResult)
}

fn class(c: Option<&pb::Classification>) -> ClassSnapshot {
    c.map_or_else(ClassSnapshot::default, |c| class!(c => ClassSnapshot))
}

fn class_pb(c: &ClassSnapshot) -> pb::Classification {
    class!(c => pb::Classification)
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
        proposition: proposition!(proposition => PropositionSnapshot),
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
        counts: counts!(counts => CountsSnapshot),
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
        proposition: Some(proposition!(&s.proposition => pb::PropositionResult)),
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
        answers: Some(counts!(&s.counts => pb::AnswerCounts)),
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
