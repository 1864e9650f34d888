//! Loading a model definition file (TOML) into a validated `Model`.
//!
//! Shaped in two steps: serde reads the file into raw structs that keep the byte span of every
//! record, then `validate` checks every rule and collects *all* problems, each with the line it
//! concerns, so that whoever edits a model file fixes everything in one round.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use crate::model::*;
use crate::text::Text;

/// One problem found in a model file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line the problem concerns, when known.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

/// A model file that could not be loaded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct LoadError {
    /// The file's name as the caller gave it.
    pub source_name: String,
    /// Every problem found, in file order.
    pub problems: Vec<Problem>,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "model file {} has {} problem(s):", self.source_name, self.problems.len())?;
        for p in &self.problems {
            match p.line {
                Some(line) => write!(f, "\n  {}:{line}: {}", self.source_name, p.message)?,
                None => write!(f, "\n  {}: {}", self.source_name, p.message)?,
            }
        }
        Ok(())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    model: Spanned<RawHeader>,
    scoring: Spanned<RawScoring>,
    fit: Spanned<RawFit>,
    axes: Vec<Spanned<RawAxis>>,
    value_sources: Vec<Spanned<RawDimension>>,
    business_value: Vec<Spanned<RawDimension>>,
    scales: BTreeMap<String, Spanned<RawScale>>,
    items: Vec<Spanned<RawItem>>,
    archetypes: Vec<Spanned<RawRuled>>,
    crosswalks: RawCrosswalks,
    rogers: Vec<Spanned<RawRogers>>,
    recommendations: Vec<Spanned<RawRecommendation>>,
    #[serde(default)]
    processes: BTreeMap<String, Spanned<RawProcess>>,
    #[serde(default)]
    practices: Vec<Spanned<RawPractice>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProcess {
    label: Text,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPractice {
    id: String,
    process: String,
    items: Vec<String>,
    label: Text,
    measure: Text,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHeader {
    id: String,
    version: u32,
    title: Text,
    description: Text,
    provenance: Text,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScoring {
    attainment_threshold: f64,
    min_answered_share: f64,
    stage_weights: Vec<f64>,
    axis_weights: RawAxisWeights,
    min_answers: RawMinAnswers,
    max_answer_swing: Option<f64>,
    max_value_source_swing: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAxisWeights {
    external: f64,
    internal: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMinAnswers {
    external: u32,
    internal: u32,
    proposition: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFit {
    base: f64,
    slope: f64,
    tolerance: f64,
    restraint_below: Option<f64>,
    returns: Option<RawReturns>,
    verdicts: BTreeMap<String, RawLabelled>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReturns {
    item: String,
    min_score: f64,
    measured_item: String,
    min_measured: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLabelled {
    label: Text,
    description: Text,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAxis {
    id: String,
    label: Text,
    stages: Vec<RawStage>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStage {
    number: u8,
    label: Text,
    description: Text,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDimension {
    id: String,
    label: Text,
    description: Text,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScale {
    kind: String,
    dont_know: bool,
    points: Vec<RawPoint>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPoint {
    value: String,
    score: f64,
    label: Text,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawItem {
    id: String,
    scale: String,
    text: Text,
    help: Option<Text>,
    evidence: BTreeMap<String, f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRuled {
    id: String,
    label: Text,
    description: Text,
    when_any: Vec<RawCondition>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawCondition {
    min_external_stage: Option<u8>,
    max_external_stage: Option<u8>,
    min_internal_stage: Option<u8>,
    max_internal_stage: Option<u8>,
    min_proposition: Option<f64>,
    max_proposition: Option<f64>,
    social_native: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCrosswalks {
    forrester: Vec<Spanned<RawForrester>>,
    altimeter: Vec<Spanned<RawRuled>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawForrester {
    id: String,
    internal_stage: u8,
    rogers_category: String,
    label: Text,
    description: Text,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRogers {
    id: String,
    min_percentile: f64,
    share_percent: f64,
    label: Text,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRecommendation {
    id: String,
    title: Text,
    text: Text,
    #[serde(default)]
    when: RawAdvice,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawAdvice {
    min_external_stage: Option<u8>,
    max_external_stage: Option<u8>,
    min_internal_stage: Option<u8>,
    max_internal_stage: Option<u8>,
    min_proposition: Option<f64>,
    max_proposition: Option<f64>,
    social_native: Option<bool>,
    #[serde(default)]
    fit: Vec<String>,
    value_source: Option<String>,
    max_score: Option<f64>,
    #[serde(default)]
    below_peer_median: bool,
    leading_axis: Option<String>,
    min_lead: Option<f64>,
    returns_pay: Option<bool>,
}

/// Fewest items each stage and each value source must have, so that one answer never decides it.
pub const MIN_ITEMS_PER_STAGE: usize = 3;

/// The most one answer can move the score of `target` when all its items are answered: the item
/// with the largest weighted score range, and that swing in points. Changing an answer to "don't
/// know" moves it by no more (the removed item's score is at most a full range from the others').
pub fn answer_swing(items: &[Item], scales: &[Scale], target: Target) -> (String, f64) {
    let weighted: Vec<(&Item, f64)> =
        items.iter().filter_map(|i| i.evidence.iter().find(|(t, _)| *t == target).map(|&(_, w)| (i, w))).collect();
    let total: f64 = weighted.iter().map(|(_, w)| w).sum();
    let mut worst = (String::new(), 0.0);
    for (item, w) in weighted {
        let points = &scales[item.scale].points;
        let hi = points.iter().map(|p| p.score).fold(f64::MIN, f64::max);
        let lo = points.iter().map(|p| p.score).fold(f64::MAX, f64::min);
        let swing = 100.0 * w * (hi - lo) / total;
        if swing > worst.1 {
            worst = (item.id.clone(), swing);
        }
    }
    worst
}

/// Parses and validates a model definition. `source_name` only labels the problems.
pub fn load_model(source_name: &str, source: &str) -> Result<Model, LoadError> {
    let mut c = Checker { source, problems: Vec::new() };
    let model = match toml::from_str::<RawFile>(source) {
        Ok(raw) => c.validate(raw),
        Err(e) => {
            let line = e.span().map(|s| c.line_of(s.start));
            c.problems.push(Problem { line, message: e.message().trim().to_string() });
            None
        }
    };
    match model {
        Some(model) if c.problems.is_empty() => Ok(model),
        _ => {
            c.problems.sort_by_key(|p| p.line.unwrap_or(0));
            Err(LoadError { source_name: source_name.to_string(), problems: c.problems })
        }
    }
}

struct Checker<'a> {
    source: &'a str,
    problems: Vec<Problem>,
}

impl Checker<'_> {
    fn line_of(&self, offset: usize) -> usize {
        let end = offset.min(self.source.len());
        self.source.as_bytes()[..end].iter().filter(|&&b| b == b'\n').count() + 1
    }

    fn problem(&mut self, span: &Range<usize>, message: impl Into<String>) {
        let line = Some(self.line_of(span.start));
        self.problems.push(Problem { line, message: message.into() });
    }

    fn general(&mut self, message: impl Into<String>) {
        self.problems.push(Problem { line: None, message: message.into() });
    }

    fn check_text(&mut self, span: &Range<usize>, what: &str, text: &Text) {
        if text.has_blank() {
            self.problem(span, format!("{what} needs a non-empty `nl` and `en` text"));
        }
    }

    fn check_unit(&mut self, span: &Range<usize>, what: &str, v: f64, lo: f64, hi: f64) {
        if !(v.is_finite() && v >= lo && v <= hi) {
            self.problem(span, format!("{what} must be between {lo} and {hi}, found {v}"));
        }
    }

    fn validate(&mut self, raw: RawFile) -> Option<Model> {
        let header_span = raw.model.span();
        let header = raw.model.into_inner();
        if header.id.trim().is_empty() || header.id.chars().any(char::is_whitespace) {
            self.problem(&header_span, "model id must be non-empty and without blanks");
        }
        if header.version == 0 {
            self.problem(&header_span, "model version must be at least 1");
        }
        self.check_text(&header_span, "model title", &header.title);
        self.check_text(&header_span, "model description", &header.description);
        self.check_text(&header_span, "model provenance", &header.provenance);

        let scales = self.scales(raw.scales);
        let scale_ids: HashMap<String, usize> = scales.iter().enumerate().map(|(i, s)| (s.id.clone(), i)).collect();
        let items = self.items(raw.items, &scale_ids, &scales);
        let scoring = self.scoring(raw.scoring, &items, &scales);
        let fit = self.fit(raw.fit, &items);
        let axes = self.axes(raw.axes);
        let value_sources = self.dimensions("value source", raw.value_sources, &ValueSource::ALL.map(|v| v.id()));
        let business_value = self.dimensions("business value facet", raw.business_value, &Facet::ALL.map(|f| f.id()));
        let archetypes = self.ruled("archetype", raw.archetypes);
        let altimeter = self.ruled("Altimeter stage", raw.crosswalks.altimeter);
        let rogers = self.rogers(raw.rogers);
        let forrester = self.forrester(raw.crosswalks.forrester, &rogers);
        let recommendations = self.recommendations(raw.recommendations, fit.as_ref());
        let processes = self.processes(raw.processes);
        let practices = self.practices(raw.practices, &processes, &items);

        let item_index = items.iter().enumerate().map(|(i, it)| (it.id.clone(), i)).collect();
        let mut by_target = vec![Vec::new(); Target::COUNT];
        for (i, item) in items.iter().enumerate() {
            for &(t, w) in &item.evidence {
                by_target[t.dense()].push((i, w));
            }
        }
        Some(Model {
            id: header.id,
            version: header.version,
            title: header.title,
            description: header.description,
            provenance: header.provenance,
            scoring: scoring?,
            fit: fit?,
            axes: axes?,
            value_sources: value_sources?,
            business_value: business_value?,
            scales,
            items,
            archetypes,
            forrester,
            altimeter,
            rogers,
            recommendations,
            processes,
            practices,
            item_index,
            by_target,
        })
    }

    fn scales(&mut self, raw: BTreeMap<String, Spanned<RawScale>>) -> Vec<Scale> {
        let mut out = Vec::new();
        for (id, spanned) in raw {
            let span = spanned.span();
            let s = spanned.into_inner();
            let kind = match s.kind.as_str() {
                "likert" => ScaleKind::Likert,
                "yes_no" => ScaleKind::YesNo,
                "choice" => ScaleKind::Choice,
                other => {
                    self.problem(&span, format!("scale `{id}`: unknown kind `{other}` (likert, yes_no or choice)"));
                    continue;
                }
            };
            if s.points.is_empty() {
                self.problem(&span, format!("scale `{id}` has no points"));
            }
            let mut seen = HashSet::new();
            for p in &s.points {
                if !seen.insert(p.value.as_str()) {
                    self.problem(&span, format!("scale `{id}`: value `{}` appears twice", p.value));
                }
                self.check_unit(&span, &format!("scale `{id}`: score of `{}`", p.value), p.score, 0.0, 1.0);
                self.check_text(&span, &format!("scale `{id}`: label of `{}`", p.value), &p.label);
            }
            self.check_order(&span, &id, kind, &s.points);
            let points = s
                .points
                .into_iter()
                .map(|p| {
                    let number = if kind == ScaleKind::Likert { p.value.parse().ok() } else { None };
                    ScalePoint { value: p.value, score: p.score, label: p.label, number }
                })
                .collect();
            out.push(Scale { id, kind, points, dont_know: s.dont_know });
        }
        out
    }

    /// The rules of a scale's kind: Likert values whole numbers, ascending in value and never
    /// descending in score; a yes/no scale exactly `yes` and `no`.
    fn check_order(&mut self, span: &Range<usize>, id: &str, kind: ScaleKind, points: &[RawPoint]) {
        match kind {
            ScaleKind::Likert => {
                let values: Vec<Option<u32>> = points.iter().map(|p| p.value.parse().ok()).collect();
                if values.iter().any(Option::is_none) {
                    self.problem(span, format!("scale `{id}`: Likert values must be whole numbers"));
                } else {
                    let ascending =
                        points.windows(2).zip(values.windows(2)).all(|(p, v)| v[0] < v[1] && p[0].score <= p[1].score);
                    if !ascending {
                        self.problem(
                            span,
                            format!("scale `{id}`: Likert points must ascend in value and never descend in score"),
                        );
                    }
                }
            }
            ScaleKind::YesNo => {
                let mut vals: Vec<&str> = points.iter().map(|p| p.value.as_str()).collect();
                vals.sort_unstable();
                if vals != ["no", "yes"] {
                    self.problem(span, format!("scale `{id}`: a yes_no scale has exactly the values `yes` and `no`"));
                }
            }
            ScaleKind::Choice => {}
        }
    }

    /// Coverage: every stage and value source needs several items, the other targets one.
    fn check_coverage(&mut self, items: &[Item]) {
        let count = |t: Target| items.iter().filter(|i| i.evidence.iter().any(|(e, _)| *e == t)).count();
        for axis in Axis::ALL {
            for stage in 1..=MAX_STAGE {
                let n = count(Target::Stage(axis, stage));
                if n < MIN_ITEMS_PER_STAGE {
                    self.general(format!(
                        "stage {}{stage} has {n} item(s); it needs at least {MIN_ITEMS_PER_STAGE}",
                        axis.letter()
                    ));
                }
            }
        }
        for v in ValueSource::ALL {
            let n = count(Target::ValueSource(v));
            if n < MIN_ITEMS_PER_STAGE {
                self.general(format!(
                    "value source `{}` has {n} item(s); it needs at least {MIN_ITEMS_PER_STAGE}",
                    v.id()
                ));
            }
        }
        let singles =
            [Target::Proposition, Target::SocialNative].into_iter().chain(Facet::ALL.map(Target::BusinessValue));
        for t in singles {
            if count(t) == 0 {
                self.general(format!("no item is evidence for `{t}`"));
            }
        }
    }

    fn items(&mut self, raw: Vec<Spanned<RawItem>>, scale_ids: &HashMap<String, usize>, scales: &[Scale]) -> Vec<Item> {
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        for spanned in raw {
            let span = spanned.span();
            let it = spanned.into_inner();
            let id = it.id.trim();
            if id.is_empty() || id != it.id {
                self.problem(&span, format!("item id `{}` must be non-empty and without surrounding blanks", it.id));
            }
            if !seen.insert(it.id.clone()) {
                self.problem(&span, format!("item `{}` is defined twice", it.id));
            }
            self.check_text(&span, &format!("item `{}`: text", it.id), &it.text);
            if let Some(help) = &it.help {
                self.check_text(&span, &format!("item `{}`: help", it.id), help);
            }
            let Some(&scale) = scale_ids.get(&it.scale) else {
                self.problem(&span, format!("item `{}`: unknown scale `{}`", it.id, it.scale));
                continue;
            };
            if it.evidence.is_empty() {
                self.problem(&span, format!("item `{}` is evidence for nothing", it.id));
            }
            let mut evidence = Vec::new();
            for (target, weight) in &it.evidence {
                let Some(t) = Target::parse(target) else {
                    self.problem(&span, format!("item `{}`: unknown evidence target `{target}`", it.id));
                    continue;
                };
                if !(weight.is_finite() && *weight > 0.0) {
                    self.problem(
                        &span,
                        format!("item `{}`: weight for `{target}` must be positive, found {weight}", it.id),
                    );
                    continue;
                }
                if t == Target::SocialNative && scales[scale].kind != ScaleKind::YesNo {
                    self.problem(
                        &span,
                        format!("item `{}`: only a yes_no item can be evidence for `social_native`", it.id),
                    );
                }
                evidence.push((t, *weight));
            }
            out.push(Item { id: it.id, text: it.text, help: it.help, scale, evidence });
        }
        self.check_coverage(&out);
        out
    }

    /// The bounds on what one answer may move: a stage's score (`max_answer_swing`) and a value
    /// source's (`max_value_source_swing`), each checked against the items that carry it.
    fn check_swings(&mut self, span: &Range<usize>, rules: &RawScoring, items: &[Item], scales: &[Scale]) {
        if let Some(bound) = rules.max_answer_swing {
            self.check_unit(span, "max_answer_swing", bound, 0.0, 100.0);
            for axis in Axis::ALL {
                for stage in 1..=MAX_STAGE {
                    let (item, swing) = answer_swing(items, scales, Target::Stage(axis, stage));
                    if swing > bound + 1e-9 {
                        self.problem(
                            span,
                            format!(
                                "stage {}{stage}: one answer to `{item}` can move its score by {swing:.1} points, \
                                 more than max_answer_swing {bound}; add items or use a graded scale",
                                axis.letter()
                            ),
                        );
                    }
                }
            }
        }
        if let Some(bound) = rules.max_value_source_swing {
            self.check_unit(span, "max_value_source_swing", bound, 0.0, 100.0);
            for v in ValueSource::ALL {
                let (item, swing) = answer_swing(items, scales, Target::ValueSource(v));
                if swing > bound + 1e-9 {
                    self.problem(
                        span,
                        format!(
                            "value source `{}`: one answer to `{item}` can move its score by {swing:.1} points, \
                             more than max_value_source_swing {bound}; add items or lower its weight",
                            v.id()
                        ),
                    );
                }
            }
        }
    }

    fn scoring(&mut self, raw: Spanned<RawScoring>, items: &[Item], scales: &[Scale]) -> Option<ScoringRules> {
        let span = raw.span();
        let s = raw.into_inner();
        self.check_unit(&span, "attainment_threshold", s.attainment_threshold, 0.0, 100.0);
        self.check_unit(&span, "min_answered_share", s.min_answered_share, 0.0, 1.0);
        let weights: Option<[f64; 4]> = s.stage_weights.as_slice().try_into().ok();
        if weights.is_none() {
            self.problem(&span, format!("stage_weights needs 4 weights (stages 1-4), found {}", s.stage_weights.len()));
        }
        let stage_sum: f64 = s.stage_weights.iter().sum();
        if s.stage_weights.iter().any(|w| !(w.is_finite() && *w > 0.0)) || (stage_sum - 1.0).abs() > 1e-9 {
            self.problem(&span, format!("stage_weights must be positive and sum to 1, found sum {stage_sum}"));
        }
        let aw = [s.axis_weights.external, s.axis_weights.internal];
        if aw.iter().any(|w| !(w.is_finite() && *w >= 0.0)) || (aw[0] + aw[1] - 1.0).abs() > 1e-9 {
            self.problem(&span, "axis_weights must be non-negative and sum to 1");
        }
        let available = |pred: &dyn Fn(&Target) -> bool| {
            items.iter().filter(|i| i.evidence.iter().any(|(t, _)| pred(t))).count() as u32
        };
        let parts = [
            ("external", s.min_answers.external, available(&|t| matches!(t, Target::Stage(Axis::External, _)))),
            ("internal", s.min_answers.internal, available(&|t| matches!(t, Target::Stage(Axis::Internal, _)))),
            ("proposition", s.min_answers.proposition, available(&|t| *t == Target::Proposition)),
        ];
        for (part, need, have) in parts {
            if need == 0 || need > have {
                self.problem(
                    &span,
                    format!("min_answers.{part} must be between 1 and the {have} item(s) of that part, found {need}"),
                );
            }
        }
        self.check_swings(&span, &s, items, scales);
        Some(ScoringRules {
            attainment_threshold: s.attainment_threshold,
            min_answered_share: s.min_answered_share,
            stage_weights: weights?,
            axis_weights: aw,
            min_answers: MinAnswers {
                external: s.min_answers.external,
                internal: s.min_answers.internal,
                proposition: s.min_answers.proposition,
            },
            max_answer_swing: s.max_answer_swing,
            max_value_source_swing: s.max_value_source_swing,
        })
    }

    fn fit(&mut self, raw: Spanned<RawFit>, items: &[Item]) -> Option<FitRules> {
        let span = raw.span();
        let mut f = raw.into_inner();
        self.check_unit(&span, "fit.base", f.base, 0.0, 100.0);
        self.check_unit(&span, "fit.slope", f.slope, 0.0, 1.0);
        self.check_unit(&span, "fit.tolerance", f.tolerance, 0.0, 100.0);
        if let Some(r) = f.restraint_below {
            self.check_unit(&span, "fit.restraint_below", r, 0.0, 100.0);
        }
        for key in f.verdicts.keys() {
            if !FitVerdict::ALL.iter().any(|v| v.id() == key) {
                self.problem(&span, format!("fit.verdicts: unknown verdict `{key}`"));
            }
        }
        let mut verdicts = Vec::new();
        for v in FitVerdict::ALL {
            let given = f.restraint_below.is_some() || v != FitVerdict::Restrained;
            match (f.verdicts.remove(v.id()), given) {
                (Some(l), true) => {
                    self.check_text(&span, &format!("fit verdict `{}` label", v.id()), &l.label);
                    self.check_text(&span, &format!("fit verdict `{}` description", v.id()), &l.description);
                    verdicts.push((v, Labelled { label: l.label, description: l.description }));
                }
                (None, true) => self.problem(&span, format!("fit.verdicts.{} is missing", v.id())),
                (Some(_), false) => {
                    self.problem(&span, "fit.verdicts.restrained needs fit.restraint_below, which decides it")
                }
                (None, false) => {}
            }
        }
        let returns = f.returns.and_then(|r| {
            let mut find = |id: &str| {
                let found = items.iter().position(|i| i.id == id);
                if found.is_none() {
                    self.problem(&span, format!("fit.returns: unknown item `{id}`"));
                }
                found
            };
            let (item, measured_item) = (find(&r.item), find(&r.measured_item));
            self.check_unit(&span, "fit.returns.min_score", r.min_score, 0.0, 1.0);
            self.check_unit(&span, "fit.returns.min_measured", r.min_measured, 0.0, 1.0);
            Some(ReturnsRule {
                item: item?,
                min_score: r.min_score,
                measured_item: measured_item?,
                min_measured: r.min_measured,
            })
        });
        Some(FitRules {
            base: f.base,
            slope: f.slope,
            tolerance: f.tolerance,
            restraint_below: f.restraint_below,
            returns,
            verdicts,
        })
    }

    fn axes(&mut self, raw: Vec<Spanned<RawAxis>>) -> Option<[AxisDef; 2]> {
        let mut found: [Option<AxisDef>; 2] = [None, None];
        for spanned in raw {
            let span = spanned.span();
            let a = spanned.into_inner();
            let Some(axis) = Axis::ALL.into_iter().find(|x| x.id() == a.id) else {
                self.problem(&span, format!("unknown axis `{}` (external or internal)", a.id));
                continue;
            };
            if found[axis.index()].is_some() {
                self.problem(&span, format!("axis `{}` is defined twice", a.id));
                continue;
            }
            self.check_text(&span, &format!("axis `{}` label", a.id), &a.label);
            let numbered = a.stages.iter().enumerate().all(|(i, s)| usize::from(s.number) == i);
            if a.stages.len() != usize::from(MAX_STAGE) + 1 || !numbered {
                self.problem(&span, format!("axis `{}` needs stages numbered 0 to {MAX_STAGE} in order", a.id));
            }
            for s in &a.stages {
                self.check_text(&span, &format!("axis `{}` stage {} label", a.id, s.number), &s.label);
                self.check_text(&span, &format!("axis `{}` stage {} description", a.id, s.number), &s.description);
            }
            let stages =
                a.stages.into_iter().map(|s| StageDef { label: s.label, description: s.description }).collect();
            found[axis.index()] = Some(AxisDef { axis, label: a.label, stages });
        }
        for axis in Axis::ALL {
            if found[axis.index()].is_none() {
                self.general(format!("axis `{}` is missing", axis.id()));
            }
        }
        let [e, i] = found;
        Some([e?, i?])
    }

    fn dimensions(
        &mut self,
        what: &str,
        raw: Vec<Spanned<RawDimension>>,
        ids: &[&str; 4],
    ) -> Option<[DimensionDef; 4]> {
        let mut found: [Option<DimensionDef>; 4] = Default::default();
        for spanned in raw {
            let span = spanned.span();
            let d = spanned.into_inner();
            let Some(pos) = ids.iter().position(|id| *id == d.id) else {
                self.problem(&span, format!("unknown {what} `{}` (expected one of {})", d.id, ids.join(", ")));
                continue;
            };
            if found[pos].is_some() {
                self.problem(&span, format!("{what} `{}` is defined twice", d.id));
                continue;
            }
            self.check_text(&span, &format!("{what} `{}` label", d.id), &d.label);
            self.check_text(&span, &format!("{what} `{}` description", d.id), &d.description);
            found[pos] = Some(DimensionDef { id: d.id, label: d.label, description: d.description });
        }
        for (pos, id) in ids.iter().enumerate() {
            if found[pos].is_none() {
                self.general(format!("{what} `{id}` is missing"));
            }
        }
        let [a, b, c, d] = found;
        Some([a?, b?, c?, d?])
    }

    fn condition(&mut self, span: &Range<usize>, owner: &str, c: RawCondition) -> Condition {
        for (name, v) in [
            ("min_external_stage", c.min_external_stage),
            ("max_external_stage", c.max_external_stage),
            ("min_internal_stage", c.min_internal_stage),
            ("max_internal_stage", c.max_internal_stage),
        ] {
            if v.is_some_and(|s| s > MAX_STAGE) {
                self.problem(span, format!("{owner}: {name} must be at most {MAX_STAGE}"));
            }
        }
        for (name, v) in [("min_proposition", c.min_proposition), ("max_proposition", c.max_proposition)] {
            if let Some(v) = v {
                self.check_unit(span, &format!("{owner}: {name}"), v, 0.0, 100.0);
            }
        }
        Condition {
            min_external_stage: c.min_external_stage,
            max_external_stage: c.max_external_stage,
            min_internal_stage: c.min_internal_stage,
            max_internal_stage: c.max_internal_stage,
            min_proposition: c.min_proposition,
            max_proposition: c.max_proposition,
            social_native: c.social_native,
        }
    }

    fn ruled(&mut self, what: &str, raw: Vec<Spanned<RawRuled>>) -> Vec<RuledClass> {
        let mut out: Vec<RuledClass> = Vec::new();
        let mut last_span = 0..0;
        for spanned in raw {
            let span = spanned.span();
            let r = spanned.into_inner();
            let owner = format!("{what} `{}`", r.id);
            if out.iter().any(|o| o.id == r.id) {
                self.problem(&span, format!("{owner} is defined twice"));
            }
            self.check_text(&span, &format!("{owner} label"), &r.label);
            self.check_text(&span, &format!("{owner} description"), &r.description);
            if r.when_any.is_empty() {
                self.problem(&span, format!("{owner} has no condition in when_any"));
            }
            let when_any = r.when_any.into_iter().map(|c| self.condition(&span, &owner, c)).collect();
            out.push(RuledClass { id: r.id, label: r.label, description: r.description, when_any });
            last_span = span;
        }
        match out.last() {
            None => self.general(format!("at least one {what} is needed")),
            Some(last) if !last.when_any.iter().any(Condition::is_catch_all) => self.problem(
                &last_span,
                format!("the last {what} (`{}`) must match every profile (when_any = [{{}}])", last.id),
            ),
            Some(_) => {}
        }
        out
    }

    /// A recommendation's condition, each part checked against the model's terms.
    fn advice_condition(&mut self, span: &Range<usize>, owner: &str, w: RawAdvice) -> AdviceCondition {
        let mut fit = Vec::new();
        for id in &w.fit {
            match FitVerdict::ALL.iter().find(|v| v.id() == id) {
                Some(v) => fit.push(*v),
                None => self.problem(span, format!("{owner}: unknown fit verdict `{id}`")),
            }
        }
        let value_source = w.value_source.as_deref().and_then(|id| {
            let found = ValueSource::ALL.into_iter().find(|v| v.id() == id);
            if found.is_none() {
                self.problem(span, format!("{owner}: unknown value source `{id}`"));
            }
            found
        });
        if (w.max_score.is_some() || w.below_peer_median) && w.value_source.is_none() {
            self.problem(span, format!("{owner}: max_score and below_peer_median need a value_source"));
        }
        if let Some(m) = w.max_score {
            self.check_unit(span, &format!("{owner}: max_score"), m, 0.0, 100.0);
        }
        let leading_axis = match (w.leading_axis.as_deref(), w.min_lead) {
            (None, None) => None,
            (Some(axis), Some(lead)) => {
                self.check_unit(span, &format!("{owner}: min_lead"), lead, 0.0, 100.0);
                match Axis::ALL.into_iter().find(|a| a.id() == axis) {
                    Some(a) => Some((a, lead)),
                    None => {
                        self.problem(span, format!("{owner}: unknown axis `{axis}`"));
                        None
                    }
                }
            }
            _ => {
                self.problem(span, format!("{owner}: leading_axis and min_lead go together"));
                None
            }
        };
        let profile = RawCondition {
            min_external_stage: w.min_external_stage,
            max_external_stage: w.max_external_stage,
            min_internal_stage: w.min_internal_stage,
            max_internal_stage: w.max_internal_stage,
            min_proposition: w.min_proposition,
            max_proposition: w.max_proposition,
            social_native: w.social_native,
        };
        let profile = self.condition(span, owner, profile);
        AdviceCondition {
            profile,
            fit,
            value_source,
            max_score: w.max_score,
            below_peer_median: w.below_peer_median,
            leading_axis,
            returns_pay: w.returns_pay,
        }
    }

    fn recommendations(
        &mut self,
        raw: Vec<Spanned<RawRecommendation>>,
        rules: Option<&FitRules>,
    ) -> Vec<Recommendation> {
        let mut out: Vec<Recommendation> = Vec::new();
        for spanned in raw {
            let span = spanned.span();
            let r = spanned.into_inner();
            let owner = format!("recommendation `{}`", r.id);
            if out.iter().any(|o| o.id == r.id) {
                self.problem(&span, format!("{owner} is defined twice"));
            }
            self.check_text(&span, &format!("{owner} title"), &r.title);
            self.check_text(&span, &format!("{owner} text"), &r.text);
            let returns_pay = r.when.returns_pay;
            let when = self.advice_condition(&span, &owner, r.when);
            if returns_pay.is_some() && rules.is_some_and(|f| f.returns.is_none()) {
                self.problem(&span, format!("{owner}: returns_pay needs fit.returns, which decides it"));
            }
            if rules.is_some_and(|f| f.restraint_below.is_none()) && when.fit.contains(&FitVerdict::Restrained) {
                self.problem(&span, format!("{owner}: fit `restrained` needs fit.restraint_below, which decides it"));
            }
            out.push(Recommendation { id: r.id, when, title: r.title, text: r.text });
        }
        // The chapter must be able to say, for every over-invested firm, that no further investment
        // is warranted (or that its lead pays); and for a restrained firm, that restraint fits.
        // "Alone": the verdict is the only condition, apart from whether returns pay.
        let alone = |v: FitVerdict, pays: Option<bool>| {
            out.iter().any(|r| {
                let w = &r.when;
                w.fit == [v]
                    && w.profile.is_catch_all()
                    && w.value_source.is_none()
                    && w.leading_axis.is_none()
                    && (w.returns_pay.is_none() || w.returns_pay == pays)
            })
        };
        if !(alone(FitVerdict::OverInvested, Some(true)) && alone(FitVerdict::OverInvested, Some(false))) {
            self.general(
                "a recommendation for fit = [\"over_invested\"] alone is needed (no further investment warranted), \
                 for firms whose returns pay and for those whose returns do not",
            );
        }
        if rules.is_some_and(|f| f.restraint_below.is_some()) && !alone(FitVerdict::Restrained, None) {
            self.general(
                "a recommendation for fit = [\"restrained\"] alone is needed (restraint fits the proposition)",
            );
        }
        out
    }

    fn processes(&mut self, raw: BTreeMap<String, Spanned<RawProcess>>) -> Vec<Process> {
        let mut out = Vec::new();
        for (id, spanned) in raw {
            let span = spanned.span();
            let p = spanned.into_inner();
            self.check_text(&span, &format!("process `{id}` label"), &p.label);
            out.push(Process { id, label: p.label });
        }
        out
    }

    fn practices(&mut self, raw: Vec<Spanned<RawPractice>>, processes: &[Process], items: &[Item]) -> Vec<Practice> {
        let mut out: Vec<Practice> = Vec::new();
        let mut owner_of: HashMap<usize, String> = HashMap::new();
        for spanned in raw {
            let span = spanned.span();
            let p = spanned.into_inner();
            let owner = format!("practice `{}`", p.id);
            if p.id.trim().is_empty() || out.iter().any(|o| o.id == p.id) {
                self.problem(&span, format!("{owner} needs an id of its own"));
            }
            self.check_text(&span, &format!("{owner} label"), &p.label);
            self.check_text(&span, &format!("{owner} measure"), &p.measure);
            let process = processes.iter().position(|x| x.id == p.process);
            if process.is_none() {
                self.problem(&span, format!("{owner}: unknown process `{}`", p.process));
            }
            if p.items.is_empty() {
                self.problem(&span, format!("{owner} names no item"));
            }
            let mut indices = Vec::new();
            for id in &p.items {
                match items.iter().position(|i| &i.id == id) {
                    None => self.problem(&span, format!("{owner}: unknown item `{id}`")),
                    Some(i) => match owner_of.insert(i, p.id.clone()) {
                        Some(first) => {
                            self.problem(&span, format!("{owner}: item `{id}` already belongs to `{first}`"))
                        }
                        None => indices.push(i),
                    },
                }
            }
            // A practice is one step of one ladder (or outside the ladders): what an action moves
            // must be sayable as one stage.
            let stages: HashSet<Target> = indices
                .iter()
                .flat_map(|&i| items[i].evidence.iter().map(|(t, _)| *t))
                .filter(|t| matches!(t, Target::Stage(..)))
                .collect();
            let unstaged =
                indices.iter().any(|&i| !items[i].evidence.iter().any(|(t, _)| matches!(t, Target::Stage(..))));
            if stages.len() > 1 || (!stages.is_empty() && unstaged) {
                self.problem(
                    &span,
                    format!("{owner}: its items must be evidence for one and the same stage, or for none"),
                );
            }
            out.push(Practice {
                id: p.id,
                process: process.unwrap_or(0),
                items: indices,
                label: p.label,
                measure: p.measure,
            });
        }
        out
    }

    fn rogers(&mut self, raw: Vec<Spanned<RawRogers>>) -> Vec<RogersCategory> {
        let mut out: Vec<RogersCategory> = Vec::new();
        for spanned in raw {
            let span = spanned.span();
            let r = spanned.into_inner();
            if out.iter().any(|o| o.id == r.id) {
                self.problem(&span, format!("Rogers category `{}` is defined twice", r.id));
            }
            self.check_unit(&span, &format!("Rogers category `{}` min_percentile", r.id), r.min_percentile, 0.0, 100.0);
            self.check_unit(&span, &format!("Rogers category `{}` share_percent", r.id), r.share_percent, 0.0, 100.0);
            self.check_text(&span, &format!("Rogers category `{}` label", r.id), &r.label);
            out.push(RogersCategory {
                id: r.id,
                min_percentile: r.min_percentile,
                share_percent: r.share_percent,
                label: r.label,
            });
        }
        out.sort_by(|a, b| b.min_percentile.total_cmp(&a.min_percentile));
        if out.last().is_none_or(|c| c.min_percentile != 0.0) {
            self.general("one Rogers category must start at min_percentile = 0");
        }
        let shares: f64 = out.iter().map(|c| c.share_percent).sum();
        if (shares - 100.0).abs() > 1e-6 {
            self.general(format!("Rogers shares must sum to 100, found {shares}"));
        }
        out
    }

    fn forrester(&mut self, raw: Vec<Spanned<RawForrester>>, rogers: &[RogersCategory]) -> Vec<ForresterStage> {
        let mut found: Vec<Option<ForresterStage>> = vec![None; usize::from(MAX_STAGE) + 1];
        for spanned in raw {
            let span = spanned.span();
            let f = spanned.into_inner();
            let owner = format!("Forrester stage `{}`", f.id);
            let Some(slot) = found.get_mut(usize::from(f.internal_stage)) else {
                self.problem(&span, format!("{owner}: internal_stage must be at most {MAX_STAGE}"));
                continue;
            };
            if slot.is_some() {
                self.problem(&span, format!("{owner}: internal stage {} is mapped twice", f.internal_stage));
                continue;
            }
            *slot = Some(ForresterStage {
                id: f.id.clone(),
                internal_stage: f.internal_stage,
                rogers_category: f.rogers_category.clone(),
                label: f.label.clone(),
                description: f.description.clone(),
            });
            if !rogers.iter().any(|r| r.id == f.rogers_category) {
                self.problem(&span, format!("{owner}: unknown Rogers category `{}`", f.rogers_category));
            }
            self.check_text(&span, &format!("{owner} label"), &f.label);
            self.check_text(&span, &format!("{owner} description"), &f.description);
        }
        let mut out = Vec::new();
        for (stage, f) in found.into_iter().enumerate() {
            match f {
                Some(f) => out.push(f),
                None => self.general(format!("no Forrester stage for internal stage {stage}")),
            }
        }
        out
    }
}
