//! The validated maturity model. A `Model` can only be built by the loader (`crate::load`), so
//! every value here has passed validation: the scoring engine may rely on it without checks.

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};

use crate::text::Text;

/// One of the two axes of maturity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Axis {
    /// Contact with the environment: listening to co-creating.
    External,
    /// How the organisation is arranged: experimenting to network organisation.
    Internal,
}

impl Axis {
    /// Both axes, external first.
    pub const ALL: [Axis; 2] = [Axis::External, Axis::Internal];

    /// `external` or `internal`.
    pub fn id(self) -> &'static str {
        match self {
            Axis::External => "external",
            Axis::Internal => "internal",
        }
    }

    /// `E` or `I`, the prefix of stage ids.
    pub fn letter(self) -> char {
        match self {
            Axis::External => 'E',
            Axis::Internal => 'I',
        }
    }

    /// Index into per-axis arrays.
    pub fn index(self) -> usize {
        self as usize
    }
}

/// Highest stage of either axis. Stage 0 is "absent" and is never scored from items.
pub const MAX_STAGE: u8 = 4;

/// One of the four value sources: a profile, not a ladder.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ValueSource {
    /// Ideas from outside acted on.
    CoCreation,
    /// Knowledge shared inside and outside.
    InformationSharing,
    /// Reaching and activating the networks of employees, customers and partners.
    NetworkMobilisation,
    /// Transparency, reputation, reviews answered, consistent presence.
    TrustBuilding,
}

impl ValueSource {
    /// Every value source, in the order of the model.
    pub const ALL: [ValueSource; 4] = [
        ValueSource::CoCreation,
        ValueSource::InformationSharing,
        ValueSource::NetworkMobilisation,
        ValueSource::TrustBuilding,
    ];

    /// The id used in model files and on the wire.
    pub fn id(self) -> &'static str {
        match self {
            ValueSource::CoCreation => "co_creation",
            ValueSource::InformationSharing => "information_sharing",
            ValueSource::NetworkMobilisation => "network_mobilisation",
            ValueSource::TrustBuilding => "trust_building",
        }
    }
}

/// One facet of business value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Facet {
    /// Revenue attributable to social media.
    Revenue,
    /// Costs saved (service, recruitment).
    CostsSaved,
    /// People and budget invested.
    Investment,
    /// Whether the return is measured.
    Measurement,
}

impl Facet {
    /// Every facet, in the order of the model.
    pub const ALL: [Facet; 4] = [Facet::Revenue, Facet::CostsSaved, Facet::Investment, Facet::Measurement];

    /// The id used in model files and on the wire.
    pub fn id(self) -> &'static str {
        match self {
            Facet::Revenue => "revenue",
            Facet::CostsSaved => "costs_saved",
            Facet::Investment => "investment",
            Facet::Measurement => "measurement",
        }
    }
}

/// What an item is evidence for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    /// A stage 1..=4 of an axis.
    Stage(Axis, u8),
    ValueSource(ValueSource),
    /// Proposition centrality P.
    Proposition,
    /// Whether the firm was built on social media from the start.
    SocialNative,
    /// A facet of business value.
    BusinessValue(Facet),
}

impl Target {
    /// Parses a target as written in model files: `E1`..`I4`, a value source id, `proposition`,
    /// `social_native` or a facet id.
    pub fn parse(s: &str) -> Option<Target> {
        let b = s.as_bytes();
        if b.len() == 2 && (b[0] == b'E' || b[0] == b'I') && (b'1'..=b'4').contains(&b[1]) {
            let axis = if b[0] == b'E' { Axis::External } else { Axis::Internal };
            return Some(Target::Stage(axis, b[1] - b'0'));
        }
        match s {
            "proposition" => return Some(Target::Proposition),
            "social_native" => return Some(Target::SocialNative),
            _ => {}
        }
        if let Some(v) = ValueSource::ALL.into_iter().find(|v| v.id() == s) {
            return Some(Target::ValueSource(v));
        }
        Facet::ALL.into_iter().find(|f| f.id() == s).map(Target::BusinessValue)
    }
}

impl Target {
    /// How many distinct targets there are.
    pub const COUNT: usize = 18;

    /// A dense index 0..COUNT, for per-target tables.
    pub fn dense(self) -> usize {
        match self {
            Target::Stage(axis, s) => axis.index() * 4 + usize::from(s.clamp(1, MAX_STAGE)) - 1,
            Target::ValueSource(v) => 8 + v as usize,
            Target::Proposition => 12,
            Target::SocialNative => 13,
            Target::BusinessValue(f) => 14 + f as usize,
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Stage(axis, stage) => write!(f, "{}{stage}", axis.letter()),
            Target::ValueSource(v) => f.write_str(v.id()),
            Target::Proposition => f.write_str("proposition"),
            Target::SocialNative => f.write_str("social_native"),
            Target::BusinessValue(facet) => f.write_str(facet.id()),
        }
    }
}

/// How an item is answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScaleKind {
    /// A Likert scale answered with a number.
    Likert,
    /// Yes or no.
    YesNo,
    /// One of a list of options.
    Choice,
}

impl ScaleKind {
    /// The name used in model files.
    pub fn id(self) -> &'static str {
        match self {
            ScaleKind::Likert => "likert",
            ScaleKind::YesNo => "yes_no",
            ScaleKind::Choice => "choice",
        }
    }
}

/// One possible answer on a scale.
#[derive(Clone, Debug, PartialEq)]
pub struct ScalePoint {
    /// `1`..`5` for Likert, `yes`/`no`, or a choice id.
    pub value: String,
    /// Item score, 0..=1.
    pub score: f64,
    /// What the answer means.
    pub label: Text,
    /// The value as a number, for Likert points (so that answers are matched without parsing).
    pub number: Option<u32>,
}

/// An answer scale.
#[derive(Clone, Debug, PartialEq)]
pub struct Scale {
    /// Its id in the model file.
    pub id: String,
    /// How it is answered.
    pub kind: ScaleKind,
    /// Possible answers; for Likert scales in ascending order of value and score.
    pub points: Vec<ScalePoint>,
    /// Whether "don't know" is accepted.
    pub dont_know: bool,
}

impl Scale {
    /// The point whose value is `value`.
    pub fn point(&self, value: &str) -> Option<&ScalePoint> {
        self.points.iter().find(|p| p.value == value)
    }

    /// The Likert point numbered `n`.
    pub fn likert_point(&self, n: u32) -> Option<&ScalePoint> {
        self.points.iter().find(|p| p.number == Some(n))
    }
}

/// One questionnaire item.
#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    /// Stable id, for example `e2.answer_within_a_day`.
    pub id: String,
    /// The question or statement.
    pub text: Text,
    /// Optional guidance for whoever answers.
    pub help: Option<Text>,
    /// Index into `Model::scales`.
    pub scale: usize,
    /// What the item is evidence for, with weights (> 0).
    pub evidence: Vec<(Target, f64)>,
}

/// Labels of one stage.
#[derive(Clone, Debug, PartialEq)]
pub struct StageDef {
    /// Short name.
    pub label: Text,
    /// What the stage means in practice.
    pub description: Text,
}

/// Labels of an axis and its stages 0..=4.
#[derive(Clone, Debug, PartialEq)]
pub struct AxisDef {
    /// Which axis.
    pub axis: Axis,
    /// Its name.
    pub label: Text,
    /// Stages 0..=4, indexed by stage number.
    pub stages: Vec<StageDef>,
}

/// Labels of a value source or a business value facet.
#[derive(Clone, Debug, PartialEq)]
pub struct DimensionDef {
    /// `ValueSource::id` or `Facet::id`, for example `co_creation`.
    pub id: String,
    /// Its name.
    pub label: Text,
    /// What it means.
    pub description: Text,
}

/// Scoring thresholds and weights.
#[derive(Clone, Debug, PartialEq)]
pub struct ScoringRules {
    /// Capability a stage needs to be attained (0..=100).
    pub attainment_threshold: f64,
    /// Share of a stage's items that must be answered for its evidence to suffice.
    pub min_answered_share: f64,
    /// Weights of stages 1..=4 in the axis index; sum to 1.
    pub stage_weights: [f64; 4],
    /// Weights of the external and internal index in the maturity index; sum to 1.
    pub axis_weights: [f64; 2],
    /// Fewest substantive answers on the external axis, the internal axis and proposition items.
    pub min_answers: MinAnswers,
    /// When set, the most that changing one answer (all of a stage's items answered) may move that
    /// stage's capability; the loader refuses a file whose items or weights allow more.
    pub max_answer_swing: Option<f64>,
    /// When set, the same bound for each value source (model version 3 on).
    pub max_value_source_swing: Option<f64>,
}

/// Fewest substantive answers an assessment needs to be scored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MinAnswers {
    /// Items with evidence for an external stage.
    pub external: u32,
    /// Items with evidence for an internal stage.
    pub internal: u32,
    /// Items with evidence for proposition centrality.
    pub proposition: u32,
}

/// How the maturity index stands against the target its proposition centrality warrants
/// (`FitRules`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FitVerdict {
    /// Within the tolerance of the target.
    Balanced,
    /// Below the target by more than the tolerance.
    UnderInvested,
    /// Above the target by more than the tolerance.
    OverInvested,
    /// Below the target by more than the tolerance while the proposition hardly rests on social
    /// media (centrality under the model's `restraint_below`): fitting, not a shortfall.
    Restrained,
}

impl FitVerdict {
    /// Every verdict.
    pub const ALL: [FitVerdict; 4] =
        [FitVerdict::Balanced, FitVerdict::UnderInvested, FitVerdict::OverInvested, FitVerdict::Restrained];

    /// The id used in model files.
    pub fn id(self) -> &'static str {
        match self {
            FitVerdict::Balanced => "balanced",
            FitVerdict::UnderInvested => "under_invested",
            FitVerdict::OverInvested => "over_invested",
            FitVerdict::Restrained => "restrained",
        }
    }

    /// Its place in `FitVerdict::ALL`.
    pub fn index(self) -> usize {
        match self {
            FitVerdict::Balanced => 0,
            FitVerdict::UnderInvested => 1,
            FitVerdict::OverInvested => 2,
            FitVerdict::Restrained => 3,
        }
    }

    /// The verdict of an id used in model files.
    pub fn parse(id: &str) -> Option<FitVerdict> {
        FitVerdict::ALL.into_iter().find(|v| v.id() == id)
    }
}

/// Fit of maturity against what the proposition warrants.
#[derive(Clone, Debug, PartialEq)]
pub struct FitRules {
    /// Target at zero centrality.
    pub base: f64,
    /// Target increase per point of centrality.
    pub slope: f64,
    /// Half-width of the balanced band.
    pub tolerance: f64,
    /// Below this centrality a shortfall is restraint, not under-investment (model version 2 on);
    /// `None` in models without the restrained verdict.
    pub restraint_below: Option<f64>,
    /// When a lead pays off, by the firm's own answers; `None` in models without the rule.
    pub returns: Option<ReturnsRule>,
    /// Label and advice per verdict the model gives, in `FitVerdict::ALL` order.
    pub verdicts: Vec<(FitVerdict, Labelled)>,
}

impl FitRules {
    /// The target maturity for a proposition centrality.
    pub fn target(&self, centrality: f64) -> f64 {
        self.base + self.slope * centrality
    }

    /// The verdict on a maturity index against what a proposition centrality warrants: the
    /// scoring engine's rule, and the one the store's backfill of older contributions applies.
    pub fn verdict(&self, maturity_index: f64, centrality: f64) -> FitVerdict {
        let gap = maturity_index - self.target(centrality);
        if gap.abs() <= self.tolerance {
            FitVerdict::Balanced
        } else if gap > 0.0 {
            FitVerdict::OverInvested
        } else if self.restraint_below.is_some_and(|r| centrality < r) {
            FitVerdict::Restrained
        } else {
            FitVerdict::UnderInvested
        }
    }
}

/// The firm's own evidence that social media return at least what they cost: the return item
/// answered at or above `min_score`, and the measurement item at or above `min_measured`.
#[derive(Clone, Debug, PartialEq)]
pub struct ReturnsRule {
    /// Index of the item that compares returns with costs.
    pub item: usize,
    /// Lowest item score (0..=1) that counts as returns covering the costs.
    pub min_score: f64,
    /// Index of the item that says whether returns are measured.
    pub measured_item: usize,
    /// Lowest item score (0..=1) that counts as measured.
    pub min_measured: f64,
}

impl ReturnsRule {
    /// What a firm's item scores (by model item index) say of its returns; an item not answered,
    /// or answered "don't know", says nothing.
    pub fn read(&self, scores: &[Option<f64>]) -> Returns {
        let at_least = |item: usize, min: f64| scores.get(item).copied().flatten().map(|s| s >= min);
        Returns {
            cover_costs: at_least(self.item, self.min_score),
            measured: at_least(self.measured_item, self.min_measured),
        }
    }
}

/// A firm's own answers on what social media return, as the model's `fit.returns` rule reads them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Returns {
    /// Returns at least equal to the costs; `None` without an answer.
    pub cover_costs: Option<bool>,
    /// Returns measured in money; `None` without an answer.
    pub measured: Option<bool>,
}

impl Returns {
    /// Both answers given: the firm counts in the published pay figures.
    pub fn answered(self) -> Option<(bool, bool)> {
        Some((self.cover_costs?, self.measured?))
    }

    /// Measured returns at least equal to the costs: what the rule calls paying.
    pub fn pay(self) -> bool {
        self.answered() == Some((true, true))
    }
}

/// A label with a description.
#[derive(Clone, Debug, PartialEq)]
pub struct Labelled {
    /// Short name.
    pub label: Text,
    /// Explanation.
    pub description: Text,
}

/// The facts a rule condition may look at.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Facts {
    /// Attained external stage.
    pub external_stage: u8,
    /// Attained internal stage.
    pub internal_stage: u8,
    /// Proposition centrality, 0..=100.
    pub proposition: f64,
    /// Built on social media from the start.
    pub social_native: bool,
}

/// A conjunction of bounds; an unset bound always holds.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Condition {
    /// Lowest external stage.
    pub min_external_stage: Option<u8>,
    /// Highest external stage.
    pub max_external_stage: Option<u8>,
    /// Lowest internal stage.
    pub min_internal_stage: Option<u8>,
    /// Highest internal stage.
    pub max_internal_stage: Option<u8>,
    /// Lowest proposition centrality.
    pub min_proposition: Option<f64>,
    /// Highest proposition centrality.
    pub max_proposition: Option<f64>,
    /// Required value of `social_native`.
    pub social_native: Option<bool>,
}

impl Condition {
    /// Whether every set bound holds for `facts`.
    pub fn matches(&self, facts: &Facts) -> bool {
        let ge = |bound: Option<u8>, v: u8| bound.is_none_or(|b| v >= b);
        let le = |bound: Option<u8>, v: u8| bound.is_none_or(|b| v <= b);
        ge(self.min_external_stage, facts.external_stage)
            && le(self.max_external_stage, facts.external_stage)
            && ge(self.min_internal_stage, facts.internal_stage)
            && le(self.max_internal_stage, facts.internal_stage)
            && self.min_proposition.is_none_or(|b| facts.proposition >= b)
            && self.max_proposition.is_none_or(|b| facts.proposition <= b)
            && self.social_native.is_none_or(|b| facts.social_native == b)
    }

    /// Whether no bound is set, so that it matches every profile.
    pub fn is_catch_all(&self) -> bool {
        *self == Condition::default()
    }
}

/// A classification decided by ordered rules (archetypes, Altimeter stages).
#[derive(Clone, Debug, PartialEq)]
pub struct RuledClass {
    /// Stable id.
    pub id: String,
    /// Short name.
    pub label: Text,
    /// What it means.
    pub description: Text,
    /// Matches when any of these matches.
    pub when_any: Vec<Condition>,
}

/// A Forrester Social Maturity stage, mapped from the internal stage.
#[derive(Clone, Debug, PartialEq)]
pub struct ForresterStage {
    /// Stable id.
    pub id: String,
    /// The internal stage that maps here.
    pub internal_stage: u8,
    /// Rogers category Forrester ties to the stage (an id of `Model::rogers`).
    pub rogers_category: String,
    /// Short name.
    pub label: Text,
    /// What it means.
    pub description: Text,
}

/// A Rogers adopter category.
#[derive(Clone, Debug, PartialEq)]
pub struct RogersCategory {
    /// Stable id.
    pub id: String,
    /// Lowest peer percentile in this category.
    pub min_percentile: f64,
    /// Share of adopters in this category in Rogers' curve, in percent.
    pub share_percent: f64,
    /// Name.
    pub label: Text,
}

/// What a recommendation rule may look at: the scored profile and, when a peer group is
/// published, the peers' medians of the value sources.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdviceFacts {
    /// Stages, proposition, social nature.
    pub facts: Facts,
    /// The fit verdict.
    pub verdict: FitVerdict,
    /// External and internal index, by `Axis::index`.
    pub indexes: [f64; 2],
    /// Value source scores in `ValueSource::ALL` order.
    pub value_sources: [Option<f64>; 4],
    /// The peers' medians of the value sources, when known.
    pub peer_medians: [Option<f64>; 4],
    /// The firm's answers show measured returns at least equal to the costs.
    pub returns_pay: bool,
}

/// When a recommendation applies: every set part must hold.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AdviceCondition {
    /// Bounds on stages, proposition and social nature.
    pub profile: Condition,
    /// The verdicts it applies to; empty means any.
    pub fit: Vec<FitVerdict>,
    /// The value source the score bounds below look at.
    pub value_source: Option<ValueSource>,
    /// The value source scores at most this (an unanswered source never matches).
    pub max_score: Option<f64>,
    /// The value source scores below the peers' median (never matches without peers).
    pub below_peer_median: bool,
    /// This axis leads the other by at least `min_lead` index points.
    pub leading_axis: Option<(Axis, f64)>,
    /// Required value of `AdviceFacts::returns_pay`.
    pub returns_pay: Option<bool>,
}

impl AdviceCondition {
    /// Whether every set part holds for `f`.
    pub fn matches(&self, f: &AdviceFacts) -> bool {
        let source = self.value_source.map(|v| {
            let i = ValueSource::ALL.iter().position(|x| *x == v).unwrap_or(0);
            (f.value_sources[i], f.peer_medians[i])
        });
        let score_ok = match (self.max_score, source) {
            (None, _) => true,
            (Some(max), Some((Some(score), _))) => score <= max,
            (Some(_), _) => false,
        };
        let median_ok =
            !self.below_peer_median || matches!(source, Some((Some(score), Some(median))) if score < median);
        let lead_ok = self.leading_axis.is_none_or(|(axis, lead)| {
            let i = axis.index();
            f.indexes[i] - f.indexes[1 - i] >= lead
        });
        self.profile.matches(&f.facts)
            && (self.fit.is_empty() || self.fit.contains(&f.verdict))
            && score_ok
            && median_ok
            && lead_ok
            && self.returns_pay.is_none_or(|b| b == f.returns_pay)
    }
}

/// A recommendation, given whenever its condition holds (in file order).
#[derive(Clone, Debug, PartialEq)]
pub struct Recommendation {
    /// Stable id.
    pub id: String,
    /// When it applies.
    pub when: AdviceCondition,
    /// Short title.
    pub title: Text,
    /// The advice.
    pub text: Text,
}

/// A business process a practice belongs to.
#[derive(Clone, Debug, PartialEq)]
pub struct Process {
    /// Stable id, for example `customer_service`.
    pub id: String,
    /// Its name.
    pub label: Text,
}

/// A practice: items of one stage (or of none) that together make one thing a firm does, with the
/// business process it belongs to and a measure to follow. What an action names.
#[derive(Clone, Debug, PartialEq)]
pub struct Practice {
    /// Stable id, for example `webcare`.
    pub id: String,
    /// Index into `Model::processes`.
    pub process: usize,
    /// Indices into `Model::items`; an item belongs to at most one practice.
    pub items: Vec<usize>,
    /// What the firm does.
    pub label: Text,
    /// What to follow to see whether it works.
    pub measure: Text,
}

/// A validated maturity model.
#[derive(Clone, Debug, PartialEq)]
pub struct Model {
    /// Model id, for example `nl-social-business`.
    pub id: String,
    /// Version, from 1.
    pub version: u32,
    pub title: Text,
    /// What the model measures.
    pub description: Text,
    /// Where the model comes from.
    pub provenance: Text,
    /// Thresholds and weights.
    pub scoring: ScoringRules,
    /// Fit parameters.
    pub fit: FitRules,
    /// Both axes, indexed by `Axis::index`.
    pub axes: [AxisDef; 2],
    /// Value sources in `ValueSource::ALL` order.
    pub value_sources: [DimensionDef; 4],
    /// Business value facets in `Facet::ALL` order.
    pub business_value: [DimensionDef; 4],
    /// Answer scales.
    pub scales: Vec<Scale>,
    /// Items in file order.
    pub items: Vec<Item>,
    /// Archetypes, tried in order; the last matches everything.
    pub archetypes: Vec<RuledClass>,
    /// Forrester stages, indexed by internal stage.
    pub forrester: Vec<ForresterStage>,
    /// Altimeter stages, tried in order; the last matches everything.
    pub altimeter: Vec<RuledClass>,
    /// Rogers categories, highest `min_percentile` first; the last starts at 0.
    pub rogers: Vec<RogersCategory>,
    /// Recommendation rules, in file order.
    pub recommendations: Vec<Recommendation>,
    /// Business processes, by id (models from version 3 on; empty before).
    pub processes: Vec<Process>,
    /// Practices, in file order (models from version 3 on; empty before).
    pub practices: Vec<Practice>,
    /// Item ids with their indices. FNV-1a rather than SipHash: the keys are the model's own ids,
    /// looked up once per answer, and SipHash is a measurable share of scoring.
    pub(crate) item_index: HashMap<String, usize, BuildHasherDefault<Fnv1a>>,
    /// Per target (by `Target::dense`), the items with evidence for it and their weights.
    pub(crate) by_target: Vec<Vec<(usize, f64)>>,
}

impl Model {
    /// The item with id `id` and its index.
    pub fn item(&self, id: &str) -> Option<(usize, &Item)> {
        self.item_index.get(id).map(|&i| (i, &self.items[i]))
    }

    /// The scale of `item`.
    pub fn scale_of(&self, item: &Item) -> &Scale {
        &self.scales[item.scale]
    }

    /// The items with evidence for `target`, with their indices and weights.
    pub fn items_for(&self, target: Target) -> impl Iterator<Item = (usize, &Item, f64)> + '_ {
        self.by_target[target.dense()].iter().map(move |&(i, w)| (i, &self.items[i], w))
    }

    /// The axis definition.
    pub fn axis(&self, axis: Axis) -> &AxisDef {
        &self.axes[axis.index()]
    }

    /// Label and advice of a fit verdict.
    /// Validation guarantees the balanced, under- and over-invested verdicts, and the restrained
    /// one whenever the model can give it; a verdict the model lacks gets the first label.
    pub fn verdict(&self, verdict: FitVerdict) -> &Labelled {
        let found = self.fit.verdicts.iter().find(|(v, _)| *v == verdict);
        &found.unwrap_or(&self.fit.verdicts[0]).1
    }

    /// The recommendations whose condition holds for `facts`, in file order.
    pub fn advice<'a>(&'a self, facts: &'a AdviceFacts) -> impl Iterator<Item = &'a Recommendation> + 'a {
        self.recommendations.iter().filter(move |r| r.when.matches(facts))
    }

    /// The Rogers category of a peer percentile (0..=100).
    pub fn rogers_category(&self, percentile: f64) -> &RogersCategory {
        // Validation guarantees a category starting at 0 and the descending order.
        self.rogers
            .iter()
            .find(|c| percentile >= c.min_percentile)
            .unwrap_or_else(|| &self.rogers[self.rogers.len() - 1])
    }
}

/// The 64-bit FNV-1a hash, for small maps of short keys whose contents the product controls (the
/// item map's keys come from the model file; a caller only chooses what to look up, which cannot
/// degrade the map).
#[derive(Clone, Copy, Debug)]
pub struct Fnv1a(u64);

impl Default for Fnv1a {
    fn default() -> Self {
        Fnv1a(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv1a {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}
