//! The scored result of one assessment. Plain data with the model's ids; labels are looked up in
//! the model by whoever presents the result, in the locale they need.

use domain_model::{AdviceFacts, Facts, FirmProfile, FitVerdict, model::Axis};

/// One stage 1..=4 of an axis.
#[derive(Clone, Debug, PartialEq)]
pub struct StageResult {
    /// Stage number, 1..=4.
    pub stage: u8,
    /// Weighted mean of the answered items' scores × 100; 0 when none is answered.
    pub capability: f64,
    /// Items with evidence for this stage.
    pub items_total: u32,
    /// Of those, answered (not "don't know").
    pub items_answered: u32,
    /// Fewer than the model's share of items answered; such a stage is never attained.
    pub insufficient_evidence: bool,
    /// Capability at or above the threshold with sufficient evidence.
    pub attained: bool,
    /// Below the attained stage, with sufficient evidence, and not attained itself.
    pub skipped: bool,
}

/// What is known about one stage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StageStatus {
    /// Sufficient evidence and a capability at or above the threshold.
    Attained,
    /// Below the attained stage, sufficient evidence, under the threshold: legitimately skipped.
    Skipped,
    /// Too few answers to say (don't know counts as no answer).
    Unknown,
    /// Above the attained stage, sufficient evidence, under the threshold.
    NotYet,
}

impl StageResult {
    /// Attained, skipped, unknown or not yet.
    pub fn status(&self) -> StageStatus {
        if self.insufficient_evidence {
            StageStatus::Unknown
        } else if self.attained {
            StageStatus::Attained
        } else if self.skipped {
            StageStatus::Skipped
        } else {
            StageStatus::NotYet
        }
    }
}

/// One axis.
#[derive(Clone, Debug, PartialEq)]
pub struct AxisResult {
    /// Which axis.
    pub axis: Axis,
    /// 0..=100: sum of stage weight × capability.
    pub index: f64,
    /// Highest attained stage, 0 when none.
    pub attained_stage: u8,
    /// Stages 1..=4.
    pub stages: [StageResult; 4],
}

impl AxisResult {
    /// The stages below the attained one that were not attained themselves.
    pub fn skipped_stages(&self) -> impl Iterator<Item = u8> + '_ {
        self.stages.iter().filter(|s| s.skipped).map(|s| s.stage)
    }
}

/// A value source or a business value facet.
#[derive(Clone, Debug, PartialEq)]
pub struct DimensionResult {
    /// 0..=100; `None` when no item of it was answered.
    pub score: Option<f64>,
    /// Items with evidence for it.
    pub items_total: u32,
    /// Of those, answered.
    pub items_answered: u32,
    /// Fewer than the model's share of items answered.
    pub insufficient_evidence: bool,
}

/// Proposition centrality and social nature.
#[derive(Clone, Debug, PartialEq)]
pub struct PropositionResult {
    /// 0..=100.
    pub centrality: f64,
    /// Built on social media from the start (answered yes).
    pub social_native: bool,
    /// Items with evidence for centrality.
    pub items_total: u32,
    /// Of those, answered.
    pub items_answered: u32,
    /// Fewer than the model's share of items answered.
    pub insufficient_evidence: bool,
}

/// Maturity against what the proposition warrants.
#[derive(Clone, Debug, PartialEq)]
pub struct FitResult {
    /// base + slope × centrality.
    pub target: f64,
    /// Maturity index − target.
    pub gap: f64,
    /// Balanced, restrained, under- or over-invested.
    pub verdict: FitVerdict,
    /// The firm's answers show measured returns at least equal to the costs (false when the model
    /// has no such rule).
    pub returns_pay: bool,
    /// The answers the `fit.returns` rule reads (nothing known when the model has no such rule).
    pub returns: domain_model::Returns,
}

/// How the questionnaire was answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AnswerCounts {
    /// Items in the model version used.
    pub items_in_model: u32,
    /// Items answered substantively.
    pub answered: u32,
    /// Items answered "don't know".
    pub dont_know: u32,
    /// Items not in the request.
    pub unanswered: u32,
}

/// The complete, explainable result of one assessment.
#[derive(Clone, Debug, PartialEq)]
pub struct Assessment {
    /// Model id the result was scored with.
    pub model_id: String,
    /// Model version the result was scored with.
    pub model_version: u32,
    /// The firm's attributes.
    pub firm: FirmProfile,
    /// External and internal axis, indexed by `Axis::index`.
    pub axes: [AxisResult; 2],
    /// 0..=100: weighted mean of the axis indices.
    pub maturity_index: f64,
    /// In `ValueSource::ALL` order.
    pub value_sources: [DimensionResult; 4],
    /// Proposition centrality.
    pub proposition: PropositionResult,
    /// Fit against what the proposition warrants: target, gap and verdict.
    pub fit: FitResult,
    /// Index into `Model::archetypes`.
    pub archetype: usize,
    /// Index into `Model::forrester` (the internal stage).
    pub forrester: usize,
    /// Index into `Model::altimeter`.
    pub altimeter: usize,
    /// In `Facet::ALL` order.
    pub business_value: [DimensionResult; 4],
    /// How the questionnaire was answered.
    pub answers: AnswerCounts,
}

impl Assessment {
    /// The result of one axis.
    pub fn axis(&self, axis: Axis) -> &AxisResult {
        &self.axes[axis.index()]
    }

    /// What the model's recommendation rules look at for this result, given the peers' medians
    /// of the value sources (`ValueSource::ALL` order; `None` where no group is published).
    pub fn advice_facts(&self, peer_medians: [Option<f64>; 4]) -> AdviceFacts {
        AdviceFacts {
            facts: Facts {
                external_stage: self.axes[0].attained_stage,
                internal_stage: self.axes[1].attained_stage,
                proposition: self.proposition.centrality,
                social_native: self.proposition.social_native,
            },
            verdict: self.fit.verdict,
            indexes: [self.axes[0].index, self.axes[1].index],
            value_sources: self.value_sources.clone().map(|v| v.score),
            peer_medians,
            returns_pay: self.fit.returns_pay,
        }
    }
}
