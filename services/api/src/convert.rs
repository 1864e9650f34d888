//! Conversions between `maturity.v1` wire types and the domain: the model in one locale, the
//! scored result, a request to score (with the field path of every problem), and the one lookup
//! of a model with its one error shape.

use domain_model::model::Axis;
use domain_model::{
    Condition, Facet, FitVerdict, Locale, Model, ModelRegistry, ResolveError, RuledClass, ScaleKind, Text, ValueSource,
};
use domain_scoring::{
    AnswerField, Assessment, DimensionResult, Firm, FirmField, Given, Location, Problem, Refusal, Request, Scored,
    Value,
};

use crate::Violation;
use crate::v1 as pb;

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

/// A fit verdict as the API names it.
pub fn verdict(v: FitVerdict) -> pb::FitVerdict {
    match v {
        FitVerdict::Balanced => pb::FitVerdict::Balanced,
        FitVerdict::UnderInvested => pb::FitVerdict::UnderInvested,
        FitVerdict::OverInvested => pb::FitVerdict::OverInvested,
        FitVerdict::Restrained => pb::FitVerdict::Restrained,
    }
}

fn stage_id(axis: Axis, stage: u8) -> String {
    format!("{}{stage}", axis.letter())
}

/// The whole model in locale `l`: everything a client needs to explain a score.
pub fn model_to_pb(m: &Model, l: Locale) -> pb::Model {
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
        axes: m.axes.iter().map(|a| axis_to_pb(a, l)).collect(),
        value_sources: m.value_sources.iter().map(|d| dimension(&d.id, &d.label, &d.description, l)).collect(),
        business_value_facets: m.business_value.iter().map(|d| dimension(&d.id, &d.label, &d.description, l)).collect(),
        items: m.items.iter().map(|it| item_to_pb(m, it, l)).collect(),
        fit: Some(fit_rules_to_pb(m, l)),
        archetypes: m
            .archetypes
            .iter()
            .map(|r| {
                let (id, label, description, when_any) = ruled(r, l);
                pb::Archetype { id, label, description, when_any }
            })
            .collect(),
        crosswalks: Some(crosswalks_to_pb(m, l)),
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
        practices: m.practices.iter().map(|p| practice_to_pb(m, p, l)).collect(),
    }
}

fn fit_rules_to_pb(m: &Model, l: Locale) -> pb::FitRules {
    pb::FitRules {
        base: m.fit.base,
        slope: m.fit.slope,
        tolerance: m.fit.tolerance,
        verdicts: m
            .fit
            .verdicts
            .iter()
            .map(|(v, lab)| pb::FitVerdictLabel {
                verdict: verdict(*v) as i32,
                label: lab.label.get(l).to_string(),
                description: lab.description.get(l).to_string(),
            })
            .collect(),
        restraint_below: m.fit.restraint_below,
    }
}

fn crosswalks_to_pb(m: &Model, l: Locale) -> pb::Crosswalks {
    pb::Crosswalks {
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
            .map(|r| {
                let (id, label, description, when_any) = ruled(r, l);
                pb::AltimeterStage { id, label, description, when_any }
            })
            .collect(),
    }
}

/// A classification's id, label, description and conditions, in locale `l`.
fn ruled(r: &RuledClass, l: Locale) -> (String, String, String, Vec<pb::RuleCondition>) {
    (
        r.id.clone(),
        r.label.get(l).to_string(),
        r.description.get(l).to_string(),
        r.when_any.iter().map(condition).collect(),
    )
}

fn axis_to_pb(a: &domain_model::AxisDef, l: Locale) -> pb::Axis {
    pb::Axis {
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
    }
}

fn item_to_pb(m: &Model, it: &domain_model::Item, l: Locale) -> pb::Item {
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
                .map(|p| pb::ScalePoint { value: p.value.clone(), label: p.label.get(l).to_string(), score: p.score })
                .collect(),
            allows_dont_know: scale.dont_know,
        }),
        evidence: it.evidence.iter().map(|(t, w)| pb::Evidence { target: t.to_string(), weight: *w }).collect(),
    }
}

fn practice_to_pb(m: &Model, p: &domain_model::Practice, l: Locale) -> pb::Practice {
    let process = &m.processes[p.process];
    pb::Practice {
        id: p.id.clone(),
        label: p.label.get(l).to_string(),
        process_id: process.id.clone(),
        process: process.label.get(l).to_string(),
        measure: p.measure.get(l).to_string(),
        item_ids: p.items.iter().map(|&i| m.items[i].id.clone()).collect(),
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
            returns_pay: r.fit.returns_pay,
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

/// The name of the value field each answer set (for field paths).
fn value_fields(answers: &[pb::Answer]) -> Vec<&'static str> {
    use pb::answer::Value as V;
    answers
        .iter()
        .map(|a| match &a.value {
            Some(V::Likert(_)) => "likert",
            Some(V::Yes(_)) => "yes",
            Some(V::Choice(_)) => "choice",
            Some(V::DontKnow(_)) => "dont_know",
            None => "value",
        })
        .collect()
}

/// The domain request of a wire request, and what is wrong at the wire level only: a
/// `dont_know = false`, which is neither an answer nor "don't know" (the answer is then read as
/// "don't know", so that the rest is still checked and every violation is reported at once).
pub fn request_from_pb(req: &pb::ScoreAssessmentRequest) -> (Request, Vec<Violation>) {
    use pb::answer::Value as V;
    let mut violations = Vec::new();
    let answers = req
        .answers
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let value = match &a.value {
                Some(V::Likert(n)) => Value::Likert(*n),
                Some(V::Yes(b)) => Value::Yes(*b),
                Some(V::Choice(c)) => Value::Choice(c.clone()),
                Some(V::DontKnow(true)) => Value::DontKnow,
                Some(V::DontKnow(false)) => {
                    violations.push(Violation::new(
                        &format!("answers[{i}].dont_know"),
                        "INVALID_DONT_KNOW",
                        "dont_know must be true when set; leave the item out to not answer it",
                        "dont_know moet true zijn als het is gezet; laat het item weg om het niet te beantwoorden",
                    ));
                    Value::DontKnow
                }
                None => Value::Missing,
            };
            Given { item_id: a.item_id.clone(), value }
        })
        .collect();
    let firm = req.firm.as_ref().map_or_else(Firm::default, |f| Firm {
        sbi_section: f.sbi_section.clone(),
        size_class: f.size_class.clone(),
        province: f.province.clone(),
    });
    let (model_id, model_version) = req.model.as_ref().map_or((String::new(), 0), |m| (m.id.clone(), m.version));
    (Request { model_id, model_version, firm, answers }, violations)
}

impl TryFrom<&pb::ScoreAssessmentRequest> for Request {
    type Error = Vec<Violation>;

    /// The domain request, or the wire-level violations (`request_from_pb`).
    fn try_from(req: &pb::ScoreAssessmentRequest) -> Result<Request, Vec<Violation>> {
        let (request, violations) = request_from_pb(req);
        if violations.is_empty() { Ok(request) } else { Err(violations) }
    }
}

/// The wire form of a stored or converted request.
pub fn request_to_pb(r: &Request) -> pb::ScoreAssessmentRequest {
    pb::ScoreAssessmentRequest {
        model: Some(pb::ModelRef { id: r.model_id.clone(), version: r.model_version }),
        firm: Some(pb::FirmAttributes {
            sbi_section: r.firm.sbi_section.clone(),
            size_class: r.firm.size_class.clone(),
            province: r.firm.province.clone(),
        }),
        answers: r.answers.iter().map(answer_to_pb).collect(),
        locale: String::new(),
    }
}

/// The wire form of one answer.
pub fn answer_to_pb(g: &Given) -> pb::Answer {
    use pb::answer::Value as V;
    pb::Answer {
        item_id: g.item_id.clone(),
        value: match &g.value {
            Value::Likert(n) => Some(V::Likert(*n)),
            Value::Yes(b) => Some(V::Yes(*b)),
            Value::Choice(c) => Some(V::Choice(c.clone())),
            Value::DontKnow => Some(V::DontKnow(true)),
            Value::Missing => None,
        },
    }
}

/// The actions the model's practices give for a request scored as `assessment`, on the wire.
pub fn actions_to_pb(m: &Model, request: &Request, assessment: &Assessment, l: Locale) -> Vec<pb::RecommendedAction> {
    domain_scoring::actions(m, &request.answers(), assessment)
        .iter()
        .map(|a| {
            let practice = &m.practices[a.practice];
            let process = &m.processes[practice.process];
            pb::RecommendedAction {
                kind: match a.kind {
                    domain_scoring::ActionKind::Raise => pb::ActionKind::Raise,
                    domain_scoring::ActionKind::Keep => pb::ActionKind::Keep,
                    domain_scoring::ActionKind::Measure => pb::ActionKind::Measure,
                } as i32,
                practice_id: practice.id.clone(),
                practice: practice.label.get(l).to_string(),
                process_id: process.id.clone(),
                process: process.label.get(l).to_string(),
                measure: practice.measure.get(l).to_string(),
                changes: a.changes.iter().map(answer_to_pb).collect(),
                after: Some(result_to_pb(m, &a.after, l)),
            }
        })
        .collect()
}

/// A what-if scored: the assessment as sent and with the changes applied.
#[derive(Debug)]
pub struct WhatIf {
    /// The assessment as sent, scored.
    pub before: Scored,
    /// The request with the changes applied.
    pub changed: Request,
    /// The changed request, scored (with the same model).
    pub after: Scored,
}

/// The refusal of `n` changes when no model has that many items: more name an item twice, and
/// the bound keeps the work of a request linear in what a model can use.
fn too_many_changes(registry: &ModelRegistry, n: usize) -> Option<Violation> {
    let most = registry.all().map(|m| m.items.len()).max().unwrap_or(0);
    (n > most).then(|| {
        Violation::new(
            "changes",
            "TOO_MANY_CHANGES",
            format!("{n} changes; a model has at most {most} items to change"),
            format!("{n} wijzigingen; een model heeft ten hoogste {most} items om te wijzigen"),
        )
    })
}

/// Validates and scores a what-if: the assessment as sent, then with `changes` applied. Every
/// violation is returned at once, at `assessment`, `assessment.*`, `changes` or `changes[i].*`.
pub fn what_if(registry: &ModelRegistry, req: &pb::WhatIfRequest) -> Result<WhatIf, Vec<Violation>> {
    if let Some(too_many) = too_many_changes(registry, req.changes.len()) {
        return Err(vec![too_many]);
    }
    let mut violations = Vec::new();
    // The changes read as answers of their own request, so that their wire-level problems carry
    // their own positions.
    let (as_request, wire) =
        request_from_pb(&pb::ScoreAssessmentRequest { answers: req.changes.clone(), ..Default::default() });
    violations.extend(wire.into_iter().map(|v| Violation { field: v.field.replacen("answers", "changes", 1), ..v }));
    if as_request.answers.is_empty() {
        violations.push(Violation::new(
            "changes",
            "REQUIRED",
            "name at least one answer to change",
            "noem minstens één antwoord om te wijzigen",
        ));
    }
    let (first_of, changes) = first_changes(&as_request.answers, &mut violations);
    let Some(base) = req.assessment.as_ref() else {
        violations.push(Violation::new(
            "assessment",
            "REQUIRED",
            "the assessment to try changes on is required",
            "de beoordeling waarop wijzigingen worden geprobeerd is verplicht",
        ));
        return Err(violations);
    };
    let before = match score(registry, base) {
        Ok(s) => Some(s),
        Err(v) => {
            violations.extend(v.into_iter().map(|v| Violation { field: format!("assessment.{}", v.field), ..v }));
            None
        }
    };
    let base_too_few = violations.iter().any(|v| v.field == "assessment.answers");
    let (request, _) = request_from_pb(base);
    let changed = request.with_changes(&changes);
    // Which change each answer of the changed request came from (none: the assessment's own).
    let origin: Vec<Option<usize>> =
        changed.answers.iter().map(|a| first_of.get(a.item_id.as_str()).copied()).collect();
    let change_fields = value_fields(&req.changes);
    let after = match changed.score(registry) {
        Ok(s) => Some(s),
        // The assessment's own model problem is reported once, above.
        Err(Refusal::Model(_)) => None,
        Err(Refusal::Problems(problems)) => {
            violations.extend(change_violations(&problems, &origin, &change_fields, base_too_few));
            None
        }
    };
    match (before, after) {
        (Some(before), Some(after)) if violations.is_empty() => Ok(WhatIf { before, changed, after }),
        _ => Err(violations),
    }
}

/// Each item's first change (its index in the request's changes) and the changes to apply: a
/// later change of the same item is a violation and not applied.
fn first_changes<'a>(
    answers: &'a [Given],
    violations: &mut Vec<Violation>,
) -> (std::collections::HashMap<&'a str, usize>, Vec<Given>) {
    let mut first_of: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    let mut changes: Vec<Given> = Vec::new();
    for (j, c) in answers.iter().enumerate() {
        match first_of.get(c.item_id.as_str()) {
            Some(first) => violations.push(Violation::new(
                &format!("changes[{j}].item_id"),
                "DUPLICATE_CHANGE",
                format!("item `{}` is already changed in changes[{first}]", c.item_id),
                format!("item `{}` wordt al gewijzigd in changes[{first}]", c.item_id),
            )),
            None => {
                first_of.insert(&c.item_id, j);
                changes.push(c.clone());
            }
        }
    }
    (first_of, changes)
}

/// The problems of a what-if's changed request that its changes caused, at `changes[j]` (the
/// change each answer came from, `origin`), once per field and reason. Problems of the
/// assessment as sent are reported at `assessment.*` already and left out.
fn change_violations(
    problems: &[Problem],
    origin: &[Option<usize>],
    change_fields: &[&str],
    base_too_few: bool,
) -> Vec<Violation> {
    let mut seen: std::collections::HashSet<(String, &str)> = std::collections::HashSet::new();
    let mut out = Vec::new();
    for p in problems {
        let field = match (p, p.location()) {
            // An item the assessment answers twice: reported at assessment.* already.
            (Problem::DuplicateAnswer { .. }, _) => continue,
            (_, Location::Answer(k, part)) => match origin.get(k).copied().flatten() {
                Some(j) => match (part, change_fields.get(j)) {
                    (AnswerField::ItemId, _) => format!("changes[{j}].item_id"),
                    (AnswerField::Value, Some(&"value") | None) => format!("changes[{j}]"),
                    (AnswerField::Value, Some(f)) => format!("changes[{j}].{f}"),
                },
                // A problem of the assessment as sent.
                None => continue,
            },
            // Too few answers once the changes are applied (a change to "don't know"), unless
            // the assessment as sent already has too few.
            (_, Location::Answers) if !base_too_few => "changes".to_string(),
            _ => continue,
        };
        if seen.insert((field.clone(), p.reason())) {
            out.push(Violation {
                field,
                reason: p.reason().to_string(),
                en: p.message(Locale::En),
                nl: p.message(Locale::Nl),
            });
        }
    }
    out
}

/// The violation of a model reference that does not resolve, at `field` (`model` gives
/// `model.id` or `model.version`). Every RPC that names a model answers with this one shape.
pub fn model_violation(e: &ResolveError, field: &str) -> Violation {
    let (part, reason, nl) = match e {
        ResolveError::UnknownModel { id, known } => {
            ("id", "UNKNOWN_MODEL", format!("onbekend model `{id}` (bekend: {known})"))
        }
        ResolveError::UnknownVersion { id, version, known } => {
            ("version", "UNKNOWN_MODEL_VERSION", format!("model `{id}` heeft geen versie {version} (bekend: {known})"))
        }
    };
    Violation::new(&format!("{field}.{part}"), reason, e.to_string(), nl)
}

/// The model a reference names in `registry` (none: the default model, latest version), or its
/// violation at `field`.
pub fn resolve(
    registry: &ModelRegistry,
    r: Option<&pb::ModelRef>,
    field: &str,
) -> Result<std::sync::Arc<Model>, Violation> {
    let (id, version) = r.map_or(("", 0), |r| (r.id.as_str(), r.version));
    registry.resolve(id, version).map_err(|e| model_violation(&e, field))
}

/// Validates and scores a wire request with the models of `registry`: the shared path of
/// `ScoreAssessment` and of every service that scores before it stores or renders. Every
/// violation is returned at once, with its field path in `ScoreAssessmentRequest`.
pub fn score(registry: &ModelRegistry, req: &pb::ScoreAssessmentRequest) -> Result<Scored, Vec<Violation>> {
    let (request, mut violations) = request_from_pb(req);
    match request.score(registry) {
        Ok(scored) if violations.is_empty() => Ok(scored),
        Ok(_) => Err(violations),
        Err(Refusal::Model(e)) => {
            // Without a model the answers cannot be checked; the model violation says why.
            violations.insert(0, model_violation(&e, "model"));
            Err(violations)
        }
        Err(Refusal::Problems(problems)) => {
            let fields = value_fields(&req.answers);
            violations.extend(problems.iter().map(|p| violation(p, &fields)));
            Err(violations)
        }
    }
}

/// An optional firm code of a request (SBI section, size class or province): empty means none;
/// one that `parse` does not know is a violation of `field`, with the reason and the words scoring
/// gives for it (`unknown` builds that problem), so that every method answers an unknown code
/// alike.
pub fn firm_code<T>(
    raw: &str,
    field: &str,
    parse: fn(&str) -> Option<T>,
    unknown: fn(String) -> Problem,
    violations: &mut Vec<Violation>,
) -> Option<T> {
    if raw.is_empty() {
        return None;
    }
    let parsed = parse(raw);
    if parsed.is_none() {
        let p = unknown(raw.to_string());
        violations.push(Violation {
            field: field.to_string(),
            reason: p.reason().to_string(),
            en: p.message(Locale::En),
            nl: p.message(Locale::Nl),
        });
    }
    parsed
}

/// A domain problem as a field violation, with its path in `ScoreAssessmentRequest`.
fn violation(p: &Problem, value_fields: &[&str]) -> Violation {
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
