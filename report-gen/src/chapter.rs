//! What a chapter template sees: plain, already localised values (labels in the chapter's
//! language, numbers as numbers). Building it from an assessment and its peers is the caller's
//! job; the template decides only how it looks.

use serde::Serialize;

/// One stage of an axis.
#[derive(Clone, Debug, Serialize)]
pub struct StageView {
    /// Stage number 1-4.
    pub number: u8,
    /// Name.
    pub label: String,
    /// Capability 0-100.
    pub capability: f64,
    /// Attained.
    pub attained: bool,
    /// Skipped (below the attained stage).
    pub skipped: bool,
    /// Share of peers whose attained stage this is, 0-1, when peers are known.
    pub peer_share: Option<f64>,
}

/// One axis.
#[derive(Clone, Debug, Serialize)]
pub struct AxisView {
    /// Name of the axis.
    pub label: String,
    /// Index 0-100.
    pub index: f64,
    /// Attained stage 0-4.
    pub stage: u8,
    /// Name of the attained stage.
    pub stage_label: String,
    /// Stages 1-4.
    pub stages: Vec<StageView>,
}

/// A value source.
#[derive(Clone, Debug, Serialize)]
pub struct DimensionView {
    /// Name.
    pub label: String,
    /// Score 0-100, when answered.
    pub score: Option<f64>,
    /// Peers' median, when published.
    pub peer_median: Option<f64>,
}

/// The peer group actually used.
#[derive(Clone, Debug, Serialize)]
pub struct PeersView {
    /// Its name.
    pub group: String,
    /// Distinct firms.
    pub n: u32,
    /// The disclosure threshold.
    pub k: u32,
    /// Year.
    pub year: u32,
    /// Whether a wider group was used, and why.
    pub fallback: Option<String>,
    /// Share of synthetic demo data, in percent.
    pub synthetic_percent: f64,
    /// The firm's mid-rank percentile on the maturity index.
    pub percentile: f64,
    /// Its Rogers category.
    pub rogers: String,
    /// Peers' p25, p50, p75 of the maturity index.
    pub quartiles: [f64; 3],
}

/// Everything a chapter template needs.
#[derive(Clone, Debug, Serialize)]
pub struct Chapter {
    /// Chapter number in a book.
    pub number: u32,
    /// The firm's name, as the client gave it (user text: templates must use `typst_text`).
    pub firm_name: String,
    /// Sector (SBI section) name.
    pub sector: String,
    /// Size class name.
    pub size: String,
    /// Province name.
    pub province: String,
    /// Model id and version.
    pub model: String,
    /// The date on the chapter, written out.
    pub date: String,
    /// Maturity index 0-100.
    pub maturity_index: f64,
    /// External axis.
    pub external: AxisView,
    /// Internal axis.
    pub internal: AxisView,
    /// Value sources.
    pub value_sources: Vec<DimensionView>,
    /// Proposition centrality 0-100.
    pub proposition: f64,
    /// Fit verdict name.
    pub fit: String,
    /// Fit advice.
    pub fit_advice: String,
    /// Target maturity.
    pub fit_target: f64,
    /// Maturity minus target.
    pub fit_gap: f64,
    /// Archetype name.
    pub archetype: String,
    /// Forrester stage name.
    pub forrester: String,
    /// Altimeter stage name.
    pub altimeter: String,
    /// Peers, when a group is published.
    pub peers: Option<PeersView>,
    /// Whether the firm itself is synthetic demo data.
    pub synthetic: bool,
}
